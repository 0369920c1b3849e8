package kinesisapi

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/kdaproject/kda/engine/store"
)

// The fuzz targets decode arbitrary bodies for every operation and check
// that decoding and shape validation never panic, that every failure is a
// SerializationException or ValidationException, and (JSON) that the
// hand-written decoders agree with encoding/json. Their seeds run in every
// `go test`; explore further with
//
//	go test ./connectors/kinesisapi -run '^$' -fuzz FuzzDecodeJSON -fuzztime 60s

// sortedOperations is the dispatch table in a stable order, so a fuzz
// input's operation index means the same thing on every run.
func sortedOperations() []operation {
	ops := operations()
	slices.SortFunc(ops, func(a, b operation) int { return strings.Compare(a.name, b.name) })
	return ops
}

func opIndex(ops []operation, name string) uint8 {
	for i, o := range ops {
		if o.name == name {
			return uint8(i)
		}
	}
	panic("no operation " + name)
}

// seedBodies are realistic requests for each operation, as JSON-like
// values: []byte becomes a blob and time.Time a timestamp in either format.
func seedBodies() map[string][]map[string]any {
	arn := "arn:aws:kinesis:us-east-1:000000000000:stream/s"
	ts := time.UnixMilli(1700000000123)
	return map[string][]map[string]any{
		"CreateStream":                  {{"StreamName": "s", "ShardCount": 2, "Tags": map[string]any{"a": "b"}}, {"StreamName": "s", "StreamModeDetails": map[string]any{"StreamMode": "ON_DEMAND"}}},
		"DeleteStream":                  {{"StreamName": "s", "EnforceConsumerDeletion": true}},
		"DescribeStream":                {{"StreamName": "s", "Limit": 10, "ExclusiveStartShardId": "shardId-000000000000"}},
		"DescribeStreamSummary":         {{"StreamARN": arn}},
		"ListStreams":                   {{"Limit": 5, "ExclusiveStartStreamName": "a", "NextToken": "t"}},
		"ListShards":                    {{"StreamName": "s", "MaxResults": 3, "ShardFilter": map[string]any{"Type": "AT_TIMESTAMP", "Timestamp": ts}}, {"NextToken": "t"}},
		"PutRecord":                     {{"StreamName": "s", "Data": []byte("hi"), "PartitionKey": "k", "ExplicitHashKey": "5", "SequenceNumberForOrdering": "1"}},
		"PutRecords":                    {{"StreamARN": arn, "Records": []any{map[string]any{"Data": []byte{0, 1}, "PartitionKey": "k"}, map[string]any{"Data": []byte{}, "PartitionKey": "j", "ExplicitHashKey": "0"}}}},
		"GetShardIterator":              {{"StreamName": "s", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": ts}, {"StreamName": "s", "ShardId": "x", "ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": "123"}},
		"GetRecords":                    {{"ShardIterator": "AAAA", "Limit": 1000}},
		"SplitShard":                    {{"StreamName": "s", "ShardToSplit": "shardId-000000000000", "NewStartingHashKey": "170141183460469231731687303715884105728"}},
		"MergeShards":                   {{"StreamName": "s", "ShardToMerge": "shardId-000000000000", "AdjacentShardToMerge": "shardId-000000000001"}},
		"UpdateShardCount":              {{"StreamName": "s", "TargetShardCount": 4, "ScalingType": "UNIFORM_SCALING"}},
		"IncreaseStreamRetentionPeriod": {{"StreamName": "s", "RetentionPeriodHours": 48}},
		"DecreaseStreamRetentionPeriod": {{"StreamName": "s", "RetentionPeriodHours": 24}},
		"UpdateStreamMode":              {{"StreamARN": arn, "StreamModeDetails": map[string]any{"StreamMode": "PROVISIONED"}}},
		"AddTagsToStream":               {{"StreamName": "s", "Tags": map[string]any{"k": "v"}}},
		"RemoveTagsFromStream":          {{"StreamName": "s", "TagKeys": []any{"k"}}},
		"ListTagsForStream":             {{"StreamName": "s", "Limit": 2, "ExclusiveStartTagKey": "a"}},
		"TagResource":                   {{"ResourceARN": arn, "Tags": map[string]any{"k": "v"}}},
		"UntagResource":                 {{"ResourceARN": arn, "TagKeys": []any{"k"}}},
		"ListTagsForResource":           {{"ResourceARN": arn}},
		"RegisterStreamConsumer":        {{"StreamARN": arn, "ConsumerName": "c"}},
		"DeregisterStreamConsumer":      {{"ConsumerARN": arn + "/consumer/c:1"}},
		"DescribeStreamConsumer":        {{"StreamARN": arn, "ConsumerName": "c"}},
		"ListStreamConsumers":           {{"StreamARN": arn, "MaxResults": 1, "StreamCreationTimestamp": ts}},
		"DescribeLimits":                {{}},
	}
}

// toJSONValue turns a seed into what encoding/json should write: blobs as
// base64 (encoding/json's []byte default) and timestamps as epoch seconds.
func toJSONValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = toJSONValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toJSONValue(e)
		}
		return out
	case time.Time:
		return json.RawMessage(appendEpochSeconds(nil, x))
	}
	return v
}

// toCBORValue turns a seed into what a Java SDK would send: timestamps as
// tag 1 milliseconds (blobs are byte strings already).
func toCBORValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = toCBORValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toCBORValue(e)
		}
		return out
	case time.Time:
		return cbor.Tag{Number: 1, Content: x.UnixMilli()}
	}
	return v
}

// checkDecodeAndValidate runs one operation's generic decoder and shape
// validation on body.
func checkDecodeAndValidate(t *testing.T, h *handler, o operation, f wireFormat, body []byte) {
	t.Helper()
	in := o.newInput()
	if err := h.codecs.decode(f, body, in); err != nil {
		if code := toAPIError(err).Code; code != codeSerialization {
			t.Fatalf("%s: decode error has code %s: %v", o.name, code, err)
		}
		return
	}
	var v violations
	in.validate(&v)
	if err := v.err(); err != nil {
		if code := toAPIError(err).Code; code != store.CodeValidation {
			t.Fatalf("%s: validation error has code %s", o.name, code)
		}
		if !strings.Contains(err.Error(), "validation error") {
			t.Fatalf("%s: validation message %q is not AWS-shaped", o.name, err)
		}
	}
}

func FuzzDecodeJSON(f *testing.F) {
	ops := sortedOperations()
	for name, bodies := range seedBodies() {
		for _, b := range bodies {
			enc, err := json.Marshal(toJSONValue(b))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(opIndex(ops, name), enc)
		}
		f.Add(opIndex(ops, name), []byte(`{}`))
	}
	for _, c := range fastDecodeCases {
		f.Add(opIndex(ops, c.op), []byte(c.body))
	}
	h := newHandler(nil, Options{})
	f.Fuzz(func(t *testing.T, idx uint8, body []byte) {
		o := ops[int(idx)%len(ops)]
		checkDecodeAndValidate(t, h, o, formatJSON, body)
		checkFastDecoder(t, h, o, body)
		if o.decodeJSON != nil {
			if in, err := o.decodeJSON(body); err == nil {
				var v violations
				in.validate(&v)
			}
		}
	})
}

func FuzzDecodeCBOR(f *testing.F) {
	ops := sortedOperations()
	for name, bodies := range seedBodies() {
		for _, b := range bodies {
			enc, err := cbor.Marshal(toCBORValue(b))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(opIndex(ops, name), enc)
		}
		f.Add(opIndex(ops, name), []byte{0xa0})                   // {}
		f.Add(opIndex(ops, name), []byte{0xbf, 0xff})             // {} of indefinite length, as Jackson writes
		f.Add(opIndex(ops, name), []byte{0x80})                   // []
		f.Add(opIndex(ops, name), []byte{0xa1, 0x61, 0x41, 0xf6}) // {"A": null}
	}
	h := newHandler(nil, Options{})
	f.Fuzz(func(t *testing.T, idx uint8, body []byte) {
		checkDecodeAndValidate(t, h, ops[int(idx)%len(ops)], formatCBOR, body)
	})
}
