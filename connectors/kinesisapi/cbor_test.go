package kinesisapi

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/kdaproject/kda/engine/store"
)

// CBOR is what the Java SDKs (and so the KCL, Flink and the Kinesis Agent)
// send. The Go SDK only speaks JSON, so these requests are built by hand with
// fxamacker/cbor, as a Java client would build them: blobs as byte strings,
// timestamps as tag 1 carrying epoch milliseconds.

type cborPutRecordsEntry struct {
	Data         []byte
	PartitionKey string
}

type cborPutRecords struct {
	StreamName string
	Records    []cborPutRecordsEntry
}

type cborPutRecordsOutput struct {
	FailedRecordCount int
	Records           []struct{ SequenceNumber, ShardId, ErrorCode string }
	EncryptionType    string
}

type cborRecord struct {
	SequenceNumber              string
	ApproximateArrivalTimestamp cbor.RawMessage
	Data                        cbor.RawMessage
	PartitionKey                string
}

type cborGetRecordsOutput struct {
	Records            []cborRecord
	NextShardIterator  string
	MillisBehindLatest *int64
}

func decodeCBOR(t *testing.T, r rawResponse, v any) {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %x", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != contentTypeCBOR {
		t.Fatalf("Content-Type = %q, want %s", ct, contentTypeCBOR)
	}
	if err := cbor.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode CBOR response: %v (%x)", err, r.body)
	}
}

func TestCBORPutRecordsAndGetRecords(t *testing.T) {
	clock := newFakeClock()
	e := newEnv(t, envConfig{store: store.Options{Now: clock.Now, Throughput: store.ThroughputOptions{Disabled: true}}})
	url := e.srv.URL
	if r := cborCall(t, url, "CreateStream", map[string]any{"StreamName": "java", "ShardCount": 1}); r.status != 200 || !bytes.Equal(r.body, []byte{0xa0}) {
		t.Fatalf("CreateStream over CBOR: %d %x", r.status, r.body)
	}
	putAt := clock.Now()

	payloads := [][]byte{[]byte("hello"), {0x00, 0xff, 0x80, 0x7f}, {}}
	in := cborPutRecords{StreamName: "java"}
	for i, p := range payloads {
		in.Records = append(in.Records, cborPutRecordsEntry{Data: p, PartitionKey: string(rune('a' + i))})
	}
	var put cborPutRecordsOutput
	decodeCBOR(t, cborCall(t, url, "PutRecords", in), &put)
	if put.FailedRecordCount != 0 || len(put.Records) != 3 || put.EncryptionType != "NONE" {
		t.Fatalf("PutRecords over CBOR = %+v", put)
	}
	for i, r := range put.Records {
		if r.SequenceNumber == "" || r.ShardId != "shardId-000000000000" || r.ErrorCode != "" {
			t.Errorf("record %d result = %+v", i, r)
		}
	}

	clock.Advance(10 * time.Second)
	// AT_TIMESTAMP with tag 1 milliseconds, one millisecond before the put.
	var it struct{ ShardIterator string }
	decodeCBOR(t, cborCall(t, url, "GetShardIterator", map[string]any{
		"StreamName": "java", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP",
		"Timestamp": cbor.Tag{Number: 1, Content: putAt.UnixMilli() - 1},
	}), &it)
	if it.ShardIterator == "" {
		t.Fatal("no ShardIterator")
	}

	var got cborGetRecordsOutput
	decodeCBOR(t, cborCall(t, url, "GetRecords", map[string]any{"ShardIterator": it.ShardIterator, "Limit": 10}), &got)
	if len(got.Records) != 3 {
		t.Fatalf("GetRecords over CBOR returned %d records", len(got.Records))
	}
	for i, r := range got.Records {
		if r.SequenceNumber != put.Records[i].SequenceNumber || r.PartitionKey != in.Records[i].PartitionKey {
			t.Errorf("record %d = seq %s key %q, want %s %q", i, r.SequenceNumber, r.PartitionKey, put.Records[i].SequenceNumber, in.Records[i].PartitionKey)
		}
		if major := r.Data[0] >> 5; major != 2 {
			t.Errorf("record %d Data has CBOR major type %d, want 2 (byte string)", i, major)
		}
		var data []byte
		if err := cbor.Unmarshal(r.Data, &data); err != nil || !bytes.Equal(data, payloads[i]) {
			t.Errorf("record %d Data = %x (%v), want %x", i, data, err, payloads[i])
		}
		var ts cbor.Tag
		if err := cbor.Unmarshal(r.ApproximateArrivalTimestamp, &ts); err != nil {
			t.Fatalf("record %d timestamp is not a tag: %v", i, err)
		}
		if ts.Number != 1 || ts.Content != uint64(putAt.UnixMilli()) {
			t.Errorf("record %d ApproximateArrivalTimestamp = tag %d %v, want tag 1 %d (epoch milliseconds)", i, ts.Number, ts.Content, putAt.UnixMilli())
		}
	}
	if got.NextShardIterator == "" {
		t.Error("no NextShardIterator for an open shard")
	}
	if got.MillisBehindLatest == nil || *got.MillisBehindLatest != 0 {
		t.Errorf("MillisBehindLatest = %v, want 0", got.MillisBehindLatest)
	}

	t.Run("AT_TIMESTAMP after the put, as an untagged millisecond number, reads nothing", func(t *testing.T) {
		var it struct{ ShardIterator string }
		decodeCBOR(t, cborCall(t, url, "GetShardIterator", map[string]any{
			"StreamName": "java", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP",
			"Timestamp": putAt.UnixMilli() + 1,
		}), &it)
		var out cborGetRecordsOutput
		decodeCBOR(t, cborCall(t, url, "GetRecords", map[string]any{"ShardIterator": it.ShardIterator}), &out)
		if len(out.Records) != 0 {
			t.Errorf("read %d records put before the timestamp", len(out.Records))
		}
	})

	t.Run("PutRecord answers in CBOR", func(t *testing.T) {
		var out struct{ ShardId, SequenceNumber, EncryptionType string }
		decodeCBOR(t, cborCall(t, url, "PutRecord", map[string]any{"StreamName": "java", "PartitionKey": "k", "Data": []byte{1, 2, 3}}), &out)
		if out.ShardId != "shardId-000000000000" || !less(put.Records[2].SequenceNumber, out.SequenceNumber) {
			t.Errorf("PutRecord = %+v", out)
		}
	})

	t.Run("DescribeStream writes the creation time as tag 1 milliseconds", func(t *testing.T) {
		var out struct {
			StreamDescription struct {
				StreamName              string
				StreamCreationTimestamp cbor.Tag
				Shards                  []struct{ ShardId string }
				HasMoreShards           bool
			}
		}
		decodeCBOR(t, cborCall(t, url, "DescribeStream", map[string]any{"StreamName": "java"}), &out)
		d := out.StreamDescription
		if d.StreamName != "java" || len(d.Shards) != 1 || d.HasMoreShards {
			t.Errorf("DescribeStream = %+v", d)
		}
		if d.StreamCreationTimestamp.Number != 1 || d.StreamCreationTimestamp.Content != uint64(putAt.UnixMilli()) {
			t.Errorf("StreamCreationTimestamp = tag %d %v, want tag 1 %d", d.StreamCreationTimestamp.Number, d.StreamCreationTimestamp.Content, putAt.UnixMilli())
		}
	})

	t.Run("an indefinite-length map, as Jackson writes, is accepted", func(t *testing.T) {
		// {_ "StreamName": "java"}
		body := append([]byte{0xbf, 0x6a}, "StreamName"...)
		body = append(body, 0x64)
		body = append(body, "java"...)
		body = append(body, 0xff)
		r := rawCall(t, url, contentTypeCBOR, TargetPrefix+"DescribeStreamSummary", body)
		var out struct{ StreamDescriptionSummary struct{ StreamName string } }
		decodeCBOR(t, r, &out)
		if out.StreamDescriptionSummary.StreamName != "java" {
			t.Errorf("got %+v", out)
		}
	})
}

func TestCBORErrors(t *testing.T) {
	e := newEnv(t, envConfig{})
	url := e.srv.URL
	cases := []struct {
		name string
		op   string
		body []byte
		code string
	}{
		{"a missing stream is ResourceNotFoundException", "DescribeStream", mustMarshalCBOR(t, map[string]any{"StreamName": "missing"}), "ResourceNotFoundException"},
		{"a missing required member is ValidationException", "PutRecords", mustMarshalCBOR(t, map[string]any{"StreamName": "s"}), "ValidationException"},
		{"an integer where a blob belongs is SerializationException", "PutRecord", mustMarshalCBOR(t, map[string]any{"StreamName": "s", "PartitionKey": "k", "Data": 5}), "SerializationException"},
		{"an integer where a string belongs is SerializationException", "DescribeStream", mustMarshalCBOR(t, map[string]any{"StreamName": 5}), "SerializationException"},
		{"a top-level array is SerializationException", "ListStreams", []byte{0x80}, "SerializationException"},
		{"truncated CBOR is SerializationException", "ListStreams", []byte{0xa1, 0x65, 'L', 'i'}, "SerializationException"},
		{"an empty body is SerializationException", "ListStreams", nil, "SerializationException"},
		{"trailing bytes are SerializationException", "ListStreams", []byte{0xa0, 0x00}, "SerializationException"},
		{"an unknown operation is UnknownOperationException", "Nope", []byte{0xa0}, "UnknownOperationException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rawCall(t, url, contentTypeCBOR, TargetPrefix+c.op, c.body)
			if r.status != 400 {
				t.Errorf("status %d", r.status)
			}
			if ct := r.header.Get("Content-Type"); ct != contentTypeCBOR {
				t.Errorf("error Content-Type = %q, want CBOR", ct)
			}
			eb := r.errorOf(t)
			if eb.Type != c.code || eb.Message == "" {
				t.Errorf("error = %+v, want __type %s with a message", eb, c.code)
			}
		})
	}
}

func mustMarshalCBOR(t *testing.T, v any) []byte {
	t.Helper()
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCBORCoversEveryOperation runs every supported operation in CBOR, as a
// Java SDK client would, and checks a field of each answer.
func TestCBORCoversEveryOperation(t *testing.T) {
	e := newEnv(t, envConfig{})
	url := e.srv.URL
	type m = map[string]any
	dm, err := cbor.DecOptions{DefaultMapType: reflect.TypeOf(m(nil))}.DecMode()
	if err != nil {
		t.Fatal(err)
	}
	call := func(op string, in m) m {
		t.Helper()
		r := cborCall(t, url, op, in)
		if r.status != 200 || r.header.Get("Content-Type") != contentTypeCBOR {
			t.Fatalf("%s: status %d, %s: %x", op, r.status, r.header.Get("Content-Type"), r.body)
		}
		var out m
		if err := dm.Unmarshal(r.body, &out); err != nil {
			t.Fatalf("%s: decode: %v", op, err)
		}
		return out
	}
	get := func(v any, path ...string) any {
		for _, p := range path {
			v = v.(m)[p]
		}
		return v
	}
	call("CreateStream", m{"StreamName": "j", "ShardCount": 2})
	sum := call("DescribeStreamSummary", m{"StreamName": "j"})
	arn := get(sum, "StreamDescriptionSummary", "StreamARN").(string)
	if n := get(sum, "StreamDescriptionSummary", "OpenShardCount"); n != uint64(2) {
		t.Errorf("OpenShardCount = %v", n)
	}
	if names := get(call("ListStreams", m{}), "StreamNames").([]any); len(names) != 1 || names[0] != "j" {
		t.Errorf("ListStreams = %v", names)
	}
	if shards := get(call("ListShards", m{"StreamName": "j"}), "Shards").([]any); len(shards) != 2 {
		t.Errorf("ListShards returned %d shards", len(shards))
	}
	put := call("PutRecord", m{"StreamARN": arn, "PartitionKey": "k", "Data": []byte{0, 1, 2}})
	shard := put["ShardId"].(string)
	batch := call("PutRecords", m{"StreamName": "j", "Records": []m{{"PartitionKey": "k", "Data": []byte("x")}, {"PartitionKey": "k", "Data": []byte("y")}}})
	if batch["FailedRecordCount"] != uint64(0) {
		t.Errorf("PutRecords = %v", batch)
	}
	it := call("GetShardIterator", m{"StreamName": "j", "ShardId": shard, "ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": put["SequenceNumber"]})
	recs := get(call("GetRecords", m{"ShardIterator": it["ShardIterator"]}), "Records").([]any)
	if len(recs) != 3 || string(get(recs[0], "Data").([]byte)) != "\x00\x01\x02" || string(get(recs[2], "Data").([]byte)) != "y" {
		t.Errorf("GetRecords = %v", recs)
	}
	call("AddTagsToStream", m{"StreamName": "j", "Tags": m{"team": "data"}})
	if tags := get(call("ListTagsForStream", m{"StreamName": "j"}), "Tags").([]any); len(tags) != 1 || get(tags[0], "Value") != "data" {
		t.Errorf("ListTagsForStream = %v", tags)
	}
	call("RemoveTagsFromStream", m{"StreamName": "j", "TagKeys": []string{"team"}})
	call("IncreaseStreamRetentionPeriod", m{"StreamName": "j", "RetentionPeriodHours": 48})
	call("DecreaseStreamRetentionPeriod", m{"StreamName": "j", "RetentionPeriodHours": 36})
	if h := get(call("DescribeStream", m{"StreamName": "j"}), "StreamDescription", "RetentionPeriodHours"); h != uint64(36) {
		t.Errorf("retention = %v", h)
	}
	call("SplitShard", m{"StreamName": "j", "ShardToSplit": "shardId-000000000000", "NewStartingHashKey": "1000"})
	call("MergeShards", m{"StreamName": "j", "ShardToMerge": "shardId-000000000002", "AdjacentShardToMerge": "shardId-000000000003"})
	if n := call("UpdateShardCount", m{"StreamName": "j", "TargetShardCount": 4, "ScalingType": "UNIFORM_SCALING"})["TargetShardCount"]; n != uint64(4) {
		t.Errorf("UpdateShardCount = %v", n)
	}
	call("UpdateStreamMode", m{"StreamARN": arn, "StreamModeDetails": m{"StreamMode": "ON_DEMAND"}})
	cons := call("RegisterStreamConsumer", m{"StreamARN": arn, "ConsumerName": "c"})
	carn := get(cons, "Consumer", "ConsumerARN")
	if s := get(call("DescribeStreamConsumer", m{"ConsumerARN": carn}), "ConsumerDescription", "ConsumerStatus"); s != "ACTIVE" {
		t.Errorf("consumer status %v", s)
	}
	if cs := get(call("ListStreamConsumers", m{"StreamARN": arn}), "Consumers").([]any); len(cs) != 1 {
		t.Errorf("ListStreamConsumers = %v", cs)
	}
	call("DeregisterStreamConsumer", m{"ConsumerARN": carn})
	if n := call("DescribeLimits", m{})["OnDemandStreamCount"]; n != uint64(1) {
		t.Errorf("DescribeLimits OnDemandStreamCount = %v", n)
	}
	call("DeleteStream", m{"StreamName": "j"})
	if r := cborCall(t, url, "DescribeStream", m{"StreamName": "j"}); r.errorOf(t).Type != "ResourceNotFoundException" {
		t.Errorf("after delete: %s", r.body)
	}
}
