package kinesisapi

import (
	"bytes"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/kdaproject/kda/engine/store"
)

// These tests drive every operation through the real AWS SDK for Go v2
// against an httptest server over a real store.

func TestSDKStreamLifecycle(t *testing.T) {
	e := newEnv(t, envConfig{})
	before := time.Now().Add(-time.Second)
	_, err := e.client.CreateStream(e.ctx, &kinesis.CreateStreamInput{
		StreamName: aws.String("orders"),
		ShardCount: aws.Int32(3),
		Tags:       map[string]string{"team": "payments"},
	})
	if err != nil {
		t.Fatalf("CreateStream: %v", err)
	}

	t.Run("DescribeStream reports the stream and every shard", func(t *testing.T) {
		out, err := e.client.DescribeStream(e.ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("orders")})
		if err != nil {
			t.Fatalf("DescribeStream: %v", err)
		}
		d := out.StreamDescription
		if got := aws.ToString(d.StreamName); got != "orders" {
			t.Errorf("StreamName = %q", got)
		}
		if got, want := aws.ToString(d.StreamARN), "arn:aws:kinesis:us-east-1:000000000000:stream/orders"; got != want {
			t.Errorf("StreamARN = %q, want %q", got, want)
		}
		if d.StreamStatus != types.StreamStatusActive {
			t.Errorf("StreamStatus = %s", d.StreamStatus)
		}
		if d.StreamModeDetails == nil || d.StreamModeDetails.StreamMode != types.StreamModeProvisioned {
			t.Errorf("StreamModeDetails = %+v", d.StreamModeDetails)
		}
		if aws.ToInt32(d.RetentionPeriodHours) != 24 {
			t.Errorf("RetentionPeriodHours = %d", aws.ToInt32(d.RetentionPeriodHours))
		}
		if aws.ToBool(d.HasMoreShards) {
			t.Error("HasMoreShards = true for a 3-shard stream")
		}
		if d.EncryptionType != types.EncryptionTypeNone {
			t.Errorf("EncryptionType = %q", d.EncryptionType)
		}
		if len(d.EnhancedMonitoring) != 1 || len(d.EnhancedMonitoring[0].ShardLevelMetrics) != 0 {
			t.Errorf("EnhancedMonitoring = %+v", d.EnhancedMonitoring)
		}
		created := aws.ToTime(d.StreamCreationTimestamp)
		if created.Before(before) || created.After(time.Now().Add(time.Second)) {
			t.Errorf("StreamCreationTimestamp = %v, want about now", created)
		}
		checkShardsCoverHashSpace(t, d.Shards)
		for i, s := range d.Shards {
			if want := fmt.Sprintf("shardId-%012d", i); aws.ToString(s.ShardId) != want {
				t.Errorf("shard %d id = %q, want %q", i, aws.ToString(s.ShardId), want)
			}
			if s.SequenceNumberRange == nil || aws.ToString(s.SequenceNumberRange.StartingSequenceNumber) == "" {
				t.Errorf("shard %d has no starting sequence number", i)
			}
		}
	})

	t.Run("DescribeStream pages shards with Limit and ExclusiveStartShardId", func(t *testing.T) {
		first, err := e.client.DescribeStream(e.ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("orders"), Limit: aws.Int32(2)})
		if err != nil {
			t.Fatalf("DescribeStream: %v", err)
		}
		if n := len(first.StreamDescription.Shards); n != 2 || !aws.ToBool(first.StreamDescription.HasMoreShards) {
			t.Fatalf("first page has %d shards, HasMoreShards=%v; want 2, true", n, aws.ToBool(first.StreamDescription.HasMoreShards))
		}
		second, err := e.client.DescribeStream(e.ctx, &kinesis.DescribeStreamInput{
			StreamName: aws.String("orders"), Limit: aws.Int32(2),
			ExclusiveStartShardId: first.StreamDescription.Shards[1].ShardId,
		})
		if err != nil {
			t.Fatalf("DescribeStream page 2: %v", err)
		}
		s := second.StreamDescription.Shards
		if len(s) != 1 || aws.ToString(s[0].ShardId) != "shardId-000000000002" || aws.ToBool(second.StreamDescription.HasMoreShards) {
			t.Errorf("second page = %d shards (%v), HasMoreShards=%v", len(s), shardIDs(s), aws.ToBool(second.StreamDescription.HasMoreShards))
		}
	})

	t.Run("DescribeStreamSummary counts open shards and consumers", func(t *testing.T) {
		out, err := e.client.DescribeStreamSummary(e.ctx, &kinesis.DescribeStreamSummaryInput{
			StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/orders"),
		})
		if err != nil {
			t.Fatalf("DescribeStreamSummary: %v", err)
		}
		d := out.StreamDescriptionSummary
		if aws.ToString(d.StreamName) != "orders" || aws.ToInt32(d.OpenShardCount) != 3 || aws.ToInt32(d.ConsumerCount) != 0 ||
			d.StreamStatus != types.StreamStatusActive || aws.ToInt32(d.RetentionPeriodHours) != 24 {
			t.Errorf("summary = name %q open %d consumers %d status %s retention %d", aws.ToString(d.StreamName),
				aws.ToInt32(d.OpenShardCount), aws.ToInt32(d.ConsumerCount), d.StreamStatus, aws.ToInt32(d.RetentionPeriodHours))
		}
	})

	t.Run("DeleteStream removes the stream", func(t *testing.T) {
		if _, err := e.client.DeleteStream(e.ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("orders")}); err != nil {
			t.Fatalf("DeleteStream: %v", err)
		}
		_, err := e.client.DescribeStream(e.ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("orders")})
		if code := errorCode(err); code != "ResourceNotFoundException" {
			t.Errorf("DescribeStream after delete: code %q, want ResourceNotFoundException", code)
		}
	})
}

func checkShardsCoverHashSpace(t *testing.T, shards []types.Shard) {
	t.Helper()
	next := new(big.Int)
	for _, s := range shards {
		start, ok1 := new(big.Int).SetString(aws.ToString(s.HashKeyRange.StartingHashKey), 10)
		end, ok2 := new(big.Int).SetString(aws.ToString(s.HashKeyRange.EndingHashKey), 10)
		if !ok1 || !ok2 {
			t.Fatalf("shard %s has a non-decimal hash range %+v", aws.ToString(s.ShardId), s.HashKeyRange)
		}
		if start.Cmp(next) != 0 {
			t.Errorf("shard %s starts at %s, want %s", aws.ToString(s.ShardId), start, next)
		}
		next.Add(end, big.NewInt(1))
	}
	if want := new(big.Int).Lsh(big.NewInt(1), 128); next.Cmp(want) != 0 {
		t.Errorf("shards end at %s, want 2^128-1", new(big.Int).Sub(next, big.NewInt(1)))
	}
}

func shardIDs(shards []types.Shard) []string {
	ids := make([]string, len(shards))
	for i, s := range shards {
		ids[i] = aws.ToString(s.ShardId)
	}
	return ids
}

func TestSDKListStreamsPages(t *testing.T) {
	e := newEnv(t, envConfig{})
	for _, name := range []string{"c-stream", "a-stream", "b-stream"} {
		e.createStream(t, name, 1)
	}
	first, err := e.client.ListStreams(e.ctx, &kinesis.ListStreamsInput{Limit: aws.Int32(2)})
	if err != nil {
		t.Fatalf("ListStreams: %v", err)
	}
	if !slices.Equal(first.StreamNames, []string{"a-stream", "b-stream"}) || !aws.ToBool(first.HasMoreStreams) || first.NextToken == nil {
		t.Fatalf("first page = %v, HasMoreStreams=%v, NextToken=%v", first.StreamNames, aws.ToBool(first.HasMoreStreams), first.NextToken)
	}
	if len(first.StreamSummaries) != 2 || aws.ToString(first.StreamSummaries[1].StreamARN) != "arn:aws:kinesis:us-east-1:000000000000:stream/b-stream" ||
		first.StreamSummaries[0].StreamStatus != types.StreamStatusActive || first.StreamSummaries[0].StreamCreationTimestamp == nil {
		t.Errorf("StreamSummaries = %+v", first.StreamSummaries)
	}
	second, err := e.client.ListStreams(e.ctx, &kinesis.ListStreamsInput{NextToken: first.NextToken})
	if err != nil {
		t.Fatalf("ListStreams with NextToken: %v", err)
	}
	if !slices.Equal(second.StreamNames, []string{"c-stream"}) || aws.ToBool(second.HasMoreStreams) || second.NextToken != nil {
		t.Errorf("second page = %v, HasMoreStreams=%v, NextToken=%v", second.StreamNames, aws.ToBool(second.HasMoreStreams), second.NextToken)
	}
	legacy, err := e.client.ListStreams(e.ctx, &kinesis.ListStreamsInput{ExclusiveStartStreamName: aws.String("a-stream")})
	if err != nil {
		t.Fatalf("ListStreams with ExclusiveStartStreamName: %v", err)
	}
	if !slices.Equal(legacy.StreamNames, []string{"b-stream", "c-stream"}) {
		t.Errorf("after a-stream = %v", legacy.StreamNames)
	}
	// The SDK's paginator follows NextToken to the end.
	var all []string
	p := kinesis.NewListStreamsPaginator(e.client, &kinesis.ListStreamsInput{Limit: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatalf("paginator: %v", err)
		}
		all = append(all, page.StreamNames...)
	}
	if !slices.Equal(all, []string{"a-stream", "b-stream", "c-stream"}) {
		t.Errorf("paginator saw %v", all)
	}
}

func TestSDKPutAndGetRecords(t *testing.T) {
	// Throughput limits are tested with errors; here they would only make
	// the many reads of one shard flaky.
	e := newEnv(t, envConfig{store: store.Options{Throughput: store.ThroughputOptions{Disabled: true}}})
	e.createStream(t, "events", 2)
	start := time.Now().Add(-time.Second)

	one, err := e.client.PutRecord(e.ctx, &kinesis.PutRecordInput{
		StreamName: aws.String("events"), PartitionKey: aws.String("first"), Data: []byte("record zero"),
	})
	if err != nil {
		t.Fatalf("PutRecord: %v", err)
	}
	if aws.ToString(one.SequenceNumber) == "" || aws.ToString(one.ShardId) == "" || one.EncryptionType != types.EncryptionTypeNone {
		t.Errorf("PutRecord answer = %+v", one)
	}

	entries := make([]types.PutRecordsRequestEntry, 20)
	for i := range entries {
		entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("key-%d", i)), Data: []byte(fmt.Sprintf("record %d", i+1))}
	}
	// Binary data survives base64 both ways.
	entries[19].Data = []byte{0, 1, 2, 0xff, 0xfe, '"', '\\', '\n'}
	batch, err := e.client.PutRecords(e.ctx, &kinesis.PutRecordsInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/events"), Records: entries})
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	if aws.ToInt32(batch.FailedRecordCount) != 0 || len(batch.Records) != 20 {
		t.Fatalf("PutRecords: %d failed, %d results", aws.ToInt32(batch.FailedRecordCount), len(batch.Records))
	}
	want := map[string][]byte{aws.ToString(one.SequenceNumber): []byte("record zero")}
	wantKey := map[string]string{aws.ToString(one.SequenceNumber): "first"}
	shardOf := map[string]string{aws.ToString(one.SequenceNumber): aws.ToString(one.ShardId)}
	for i, r := range batch.Records {
		if r.ErrorCode != nil || aws.ToString(r.SequenceNumber) == "" {
			t.Fatalf("record %d: %+v", i, r)
		}
		want[aws.ToString(r.SequenceNumber)] = entries[i].Data
		wantKey[aws.ToString(r.SequenceNumber)] = aws.ToString(entries[i].PartitionKey)
		shardOf[aws.ToString(r.SequenceNumber)] = aws.ToString(r.ShardId)
	}

	got := map[string]types.Record{}
	for _, shard := range []string{"shardId-000000000000", "shardId-000000000001"} {
		it, err := e.client.GetShardIterator(e.ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String("events"), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			t.Fatalf("GetShardIterator %s: %v", shard, err)
		}
		out, err := e.client.GetRecords(e.ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil {
			t.Fatalf("GetRecords %s: %v", shard, err)
		}
		if out.NextShardIterator == nil {
			t.Errorf("%s: an open shard must give a NextShardIterator", shard)
		}
		if out.MillisBehindLatest == nil || *out.MillisBehindLatest != 0 {
			t.Errorf("%s: MillisBehindLatest = %v, want 0 after reading everything", shard, out.MillisBehindLatest)
		}
		for _, r := range out.Records {
			seq := aws.ToString(r.SequenceNumber)
			if shardOf[seq] != shard {
				t.Errorf("record %s read from %s, PutRecords said %s", seq, shard, shardOf[seq])
			}
			got[seq] = r
		}
	}
	if len(got) != len(want) {
		t.Fatalf("read %d records, wrote %d", len(got), len(want))
	}
	for seq, data := range want {
		r := got[seq]
		if !bytes.Equal(r.Data, data) || aws.ToString(r.PartitionKey) != wantKey[seq] {
			t.Errorf("record %s = (%q, %q), want (%q, %q)", seq, r.Data, aws.ToString(r.PartitionKey), data, wantKey[seq])
		}
		at := aws.ToTime(r.ApproximateArrivalTimestamp)
		if at.Before(start) || at.After(time.Now().Add(time.Second)) {
			t.Errorf("record %s arrived at %v, want about now", seq, at)
		}
	}

	t.Run("iterators start where their type says", func(t *testing.T) {
		shard := aws.ToString(batch.Records[0].ShardId)
		var seqs []string
		for seq, s := range shardOf {
			if s == shard {
				seqs = append(seqs, seq)
			}
		}
		sort.Slice(seqs, func(i, j int) bool { return less(seqs[i], seqs[j]) })
		if len(seqs) < 3 {
			t.Skip("the hash spread left fewer than 3 records in one shard")
		}
		read := func(in *kinesis.GetShardIteratorInput) []string {
			t.Helper()
			in.StreamName, in.ShardId = aws.String("events"), aws.String(shard)
			it, err := e.client.GetShardIterator(e.ctx, in)
			if err != nil {
				t.Fatalf("GetShardIterator %s: %v", in.ShardIteratorType, err)
			}
			out, err := e.client.GetRecords(e.ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(100)})
			if err != nil {
				t.Fatalf("GetRecords: %v", err)
			}
			var s []string
			for _, r := range out.Records {
				s = append(s, aws.ToString(r.SequenceNumber))
			}
			return s
		}
		if got := read(&kinesis.GetShardIteratorInput{ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: aws.String(seqs[1])}); !slices.Equal(got, seqs[1:]) {
			t.Errorf("AT_SEQUENCE_NUMBER read %v, want %v", got, seqs[1:])
		}
		if got := read(&kinesis.GetShardIteratorInput{ShardIteratorType: types.ShardIteratorTypeAfterSequenceNumber, StartingSequenceNumber: aws.String(seqs[1])}); !slices.Equal(got, seqs[2:]) {
			t.Errorf("AFTER_SEQUENCE_NUMBER read %v, want %v", got, seqs[2:])
		}
		if got := read(&kinesis.GetShardIteratorInput{ShardIteratorType: types.ShardIteratorTypeLatest}); len(got) != 0 {
			t.Errorf("LATEST read %v, want nothing", got)
		}
		if got := read(&kinesis.GetShardIteratorInput{ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(start)}); !slices.Equal(got, seqs) {
			t.Errorf("AT_TIMESTAMP before the first put read %v, want %v", got, seqs)
		}
	})

	t.Run("GetRecords Limit caps the batch and the next iterator continues", func(t *testing.T) {
		it, err := e.client.GetShardIterator(e.ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String("events"), ShardId: batch.Records[0].ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			t.Fatal(err)
		}
		first, err := e.client.GetRecords(e.ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		if len(first.Records) != 1 {
			t.Fatalf("Limit 1 gave %d records", len(first.Records))
		}
		if aws.ToInt64(first.MillisBehindLatest) < 0 {
			t.Errorf("MillisBehindLatest = %d", aws.ToInt64(first.MillisBehindLatest))
		}
		next, err := e.client.GetRecords(e.ctx, &kinesis.GetRecordsInput{ShardIterator: first.NextShardIterator})
		if err != nil {
			t.Fatal(err)
		}
		if len(next.Records) == 0 || !less(aws.ToString(first.Records[0].SequenceNumber), aws.ToString(next.Records[0].SequenceNumber)) {
			t.Errorf("the next iterator did not continue after %s", aws.ToString(first.Records[0].SequenceNumber))
		}
	})

	t.Run("ExplicitHashKey chooses the shard", func(t *testing.T) {
		out, err := e.client.PutRecord(e.ctx, &kinesis.PutRecordInput{
			StreamName: aws.String("events"), PartitionKey: aws.String("any"), Data: []byte("x"),
			ExplicitHashKey: aws.String("340282366920938463463374607431768211455"), // 2^128-1: the last shard
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.ShardId) != "shardId-000000000001" {
			t.Errorf("ExplicitHashKey 2^128-1 went to %s", aws.ToString(out.ShardId))
		}
	})
}

// less compares decimal sequence numbers.
func less(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func TestSDKResharding(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.createStream(t, "reshard", 2)
	if _, err := e.client.PutRecord(e.ctx, &kinesis.PutRecordInput{
		StreamName: aws.String("reshard"), PartitionKey: aws.String("p"), Data: []byte("before split"), ExplicitHashKey: aws.String("0"),
	}); err != nil {
		t.Fatal(err)
	}
	parentIt, err := e.client.GetShardIterator(e.ctx, &kinesis.GetShardIteratorInput{
		StreamName: aws.String("reshard"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		t.Fatal(err)
	}
	// 2^127 / 2 splits shard 0 (which covers [0, 2^127-1]) in the middle.
	if _, err := e.client.SplitShard(e.ctx, &kinesis.SplitShardInput{
		StreamName: aws.String("reshard"), ShardToSplit: aws.String("shardId-000000000000"),
		NewStartingHashKey: aws.String("85070591730234615865843651857942052864"),
	}); err != nil {
		t.Fatalf("SplitShard: %v", err)
	}

	t.Run("ListShards shows the closed parent and its children", func(t *testing.T) {
		out, err := e.client.ListShards(e.ctx, &kinesis.ListShardsInput{StreamName: aws.String("reshard")})
		if err != nil {
			t.Fatalf("ListShards: %v", err)
		}
		if got := shardIDs(out.Shards); !slices.Equal(got, []string{"shardId-000000000000", "shardId-000000000001", "shardId-000000000002", "shardId-000000000003"}) {
			t.Fatalf("shards = %v", got)
		}
		if out.Shards[0].SequenceNumberRange.EndingSequenceNumber == nil {
			t.Error("the split parent has no EndingSequenceNumber")
		}
		for _, c := range out.Shards[2:] {
			if aws.ToString(c.ParentShardId) != "shardId-000000000000" {
				t.Errorf("child %s has parent %q", aws.ToString(c.ShardId), aws.ToString(c.ParentShardId))
			}
		}
	})

	t.Run("reading the closed parent to its end gives ChildShards and no next iterator", func(t *testing.T) {
		out, err := e.client.GetRecords(e.ctx, &kinesis.GetRecordsInput{ShardIterator: parentIt.ShardIterator})
		if err != nil {
			t.Fatalf("GetRecords: %v", err)
		}
		if len(out.Records) != 1 || string(out.Records[0].Data) != "before split" {
			t.Fatalf("parent records = %+v", out.Records)
		}
		if out.NextShardIterator != nil {
			// Some stores need one more read to notice the end.
			out, err = e.client.GetRecords(e.ctx, &kinesis.GetRecordsInput{ShardIterator: out.NextShardIterator})
			if err != nil {
				t.Fatal(err)
			}
		}
		if out.NextShardIterator != nil {
			t.Error("NextShardIterator is set at the end of a closed shard")
		}
		var children []string
		for _, c := range out.ChildShards {
			children = append(children, aws.ToString(c.ShardId))
			if !slices.Equal(c.ParentShards, []string{"shardId-000000000000"}) || c.HashKeyRange == nil {
				t.Errorf("child %s: parents %v, range %+v", aws.ToString(c.ShardId), c.ParentShards, c.HashKeyRange)
			}
		}
		if !slices.Equal(children, []string{"shardId-000000000002", "shardId-000000000003"}) {
			t.Errorf("ChildShards = %v", children)
		}
	})

	t.Run("ListShards filters", func(t *testing.T) {
		cases := []struct {
			name   string
			filter types.ShardFilter
			want   []string
		}{
			{"AT_LATEST lists the open shards", types.ShardFilter{Type: types.ShardFilterTypeAtLatest},
				[]string{"shardId-000000000001", "shardId-000000000002", "shardId-000000000003"}},
			{"AT_TRIM_HORIZON lists the shards open at the trim horizon", types.ShardFilter{Type: types.ShardFilterTypeAtTrimHorizon},
				[]string{"shardId-000000000000", "shardId-000000000001"}},
			{"FROM_TRIM_HORIZON lists every shard", types.ShardFilter{Type: types.ShardFilterTypeFromTrimHorizon},
				[]string{"shardId-000000000000", "shardId-000000000001", "shardId-000000000002", "shardId-000000000003"}},
			{"AFTER_SHARD_ID lists the shards after the given one", types.ShardFilter{Type: types.ShardFilterTypeAfterShardId, ShardId: aws.String("shardId-000000000001")},
				[]string{"shardId-000000000002", "shardId-000000000003"}},
			{"AT_TIMESTAMP in the future lists the open shards", types.ShardFilter{Type: types.ShardFilterTypeAtTimestamp, Timestamp: aws.Time(time.Now().Add(time.Hour))},
				[]string{"shardId-000000000001", "shardId-000000000002", "shardId-000000000003"}},
			{"FROM_TIMESTAMP in the past lists every shard", types.ShardFilter{Type: types.ShardFilterTypeFromTimestamp, Timestamp: aws.Time(time.Now().Add(-time.Hour))},
				[]string{"shardId-000000000000", "shardId-000000000001", "shardId-000000000002", "shardId-000000000003"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				out, err := e.client.ListShards(e.ctx, &kinesis.ListShardsInput{StreamName: aws.String("reshard"), ShardFilter: &c.filter})
				if err != nil {
					t.Fatalf("ListShards: %v", err)
				}
				if got := shardIDs(out.Shards); !slices.Equal(got, c.want) {
					t.Errorf("got %v, want %v", got, c.want)
				}
			})
		}
	})

	t.Run("ListShards pages with MaxResults and NextToken", func(t *testing.T) {
		var all []string
		in := &kinesis.ListShardsInput{StreamName: aws.String("reshard"), MaxResults: aws.Int32(3)}
		for pages := 0; ; pages++ {
			if pages > 3 {
				t.Fatal("ListShards never stopped returning NextToken")
			}
			out, err := e.client.ListShards(e.ctx, in)
			if err != nil {
				t.Fatalf("ListShards: %v", err)
			}
			all = append(all, shardIDs(out.Shards)...)
			if out.NextToken == nil {
				break
			}
			in = &kinesis.ListShardsInput{NextToken: out.NextToken, MaxResults: aws.Int32(3)}
		}
		if len(all) != 4 {
			t.Errorf("paged through %v", all)
		}
	})

	t.Run("MergeShards joins two adjacent children", func(t *testing.T) {
		if _, err := e.client.MergeShards(e.ctx, &kinesis.MergeShardsInput{
			StreamName: aws.String("reshard"), ShardToMerge: aws.String("shardId-000000000002"), AdjacentShardToMerge: aws.String("shardId-000000000003"),
		}); err != nil {
			t.Fatalf("MergeShards: %v", err)
		}
		out, err := e.client.ListShards(e.ctx, &kinesis.ListShardsInput{StreamName: aws.String("reshard"), ShardFilter: &types.ShardFilter{Type: types.ShardFilterTypeAtLatest}})
		if err != nil {
			t.Fatal(err)
		}
		if got := shardIDs(out.Shards); !slices.Equal(got, []string{"shardId-000000000001", "shardId-000000000004"}) {
			t.Fatalf("open shards after merge = %v", got)
		}
		merged := out.Shards[1]
		if aws.ToString(merged.ParentShardId) != "shardId-000000000002" || aws.ToString(merged.AdjacentParentShardId) != "shardId-000000000003" {
			t.Errorf("merged shard parents = %q, %q", aws.ToString(merged.ParentShardId), aws.ToString(merged.AdjacentParentShardId))
		}
	})

	t.Run("UpdateShardCount rescales uniformly", func(t *testing.T) {
		out, err := e.client.UpdateShardCount(e.ctx, &kinesis.UpdateShardCountInput{
			StreamName: aws.String("reshard"), TargetShardCount: aws.Int32(4), ScalingType: types.ScalingTypeUniformScaling,
		})
		if err != nil {
			t.Fatalf("UpdateShardCount: %v", err)
		}
		if aws.ToInt32(out.CurrentShardCount) != 2 || aws.ToInt32(out.TargetShardCount) != 4 || aws.ToString(out.StreamName) != "reshard" ||
			aws.ToString(out.StreamARN) != "arn:aws:kinesis:us-east-1:000000000000:stream/reshard" {
			t.Errorf("UpdateShardCount answer = current %d target %d name %q arn %q", aws.ToInt32(out.CurrentShardCount),
				aws.ToInt32(out.TargetShardCount), aws.ToString(out.StreamName), aws.ToString(out.StreamARN))
		}
		sum, err := e.client.DescribeStreamSummary(e.ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("reshard")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToInt32(sum.StreamDescriptionSummary.OpenShardCount) != 4 {
			t.Errorf("OpenShardCount after rescale = %d", aws.ToInt32(sum.StreamDescriptionSummary.OpenShardCount))
		}
	})
}

func TestSDKRetentionAndMode(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.createStream(t, "kept", 1)
	retention := func() int32 {
		t.Helper()
		out, err := e.client.DescribeStreamSummary(e.ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("kept")})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToInt32(out.StreamDescriptionSummary.RetentionPeriodHours)
	}
	if _, err := e.client.IncreaseStreamRetentionPeriod(e.ctx, &kinesis.IncreaseStreamRetentionPeriodInput{
		StreamName: aws.String("kept"), RetentionPeriodHours: aws.Int32(72),
	}); err != nil {
		t.Fatalf("IncreaseStreamRetentionPeriod: %v", err)
	}
	if got := retention(); got != 72 {
		t.Errorf("retention after increase = %d, want 72", got)
	}
	if _, err := e.client.DecreaseStreamRetentionPeriod(e.ctx, &kinesis.DecreaseStreamRetentionPeriodInput{
		StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/kept"), RetentionPeriodHours: aws.Int32(48),
	}); err != nil {
		t.Fatalf("DecreaseStreamRetentionPeriod: %v", err)
	}
	if got := retention(); got != 48 {
		t.Errorf("retention after decrease = %d, want 48", got)
	}

	if _, err := e.client.UpdateStreamMode(e.ctx, &kinesis.UpdateStreamModeInput{
		StreamARN:         aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/kept"),
		StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand},
	}); err != nil {
		t.Fatalf("UpdateStreamMode: %v", err)
	}
	out, err := e.client.DescribeStream(e.ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("kept")})
	if err != nil {
		t.Fatal(err)
	}
	if out.StreamDescription.StreamModeDetails.StreamMode != types.StreamModeOnDemand {
		t.Errorf("mode after UpdateStreamMode = %s", out.StreamDescription.StreamModeDetails.StreamMode)
	}

	t.Run("an ON_DEMAND stream can be created without a shard count", func(t *testing.T) {
		if _, err := e.client.CreateStream(e.ctx, &kinesis.CreateStreamInput{
			StreamName: aws.String("elastic"), StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand},
		}); err != nil {
			t.Fatalf("CreateStream ON_DEMAND: %v", err)
		}
		sum, err := e.client.DescribeStreamSummary(e.ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("elastic")})
		if err != nil {
			t.Fatal(err)
		}
		if sum.StreamDescriptionSummary.StreamModeDetails.StreamMode != types.StreamModeOnDemand || aws.ToInt32(sum.StreamDescriptionSummary.OpenShardCount) != 4 {
			t.Errorf("on-demand stream: mode %s, %d open shards", sum.StreamDescriptionSummary.StreamModeDetails.StreamMode, aws.ToInt32(sum.StreamDescriptionSummary.OpenShardCount))
		}
	})

	t.Run("DescribeLimits reports the account's shards", func(t *testing.T) {
		out, err := e.client.DescribeLimits(e.ctx, &kinesis.DescribeLimitsInput{})
		if err != nil {
			t.Fatalf("DescribeLimits: %v", err)
		}
		if aws.ToInt32(out.ShardLimit) != 10000 || aws.ToInt32(out.OpenShardCount) != 5 ||
			aws.ToInt32(out.OnDemandStreamCount) != 2 || aws.ToInt32(out.OnDemandStreamCountLimit) <= 0 {
			t.Errorf("DescribeLimits = limit %d open %d on-demand %d/%d", aws.ToInt32(out.ShardLimit), aws.ToInt32(out.OpenShardCount),
				aws.ToInt32(out.OnDemandStreamCount), aws.ToInt32(out.OnDemandStreamCountLimit))
		}
	})
}

func TestSDKTags(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.createStream(t, "tagged", 1)
	if _, err := e.client.AddTagsToStream(e.ctx, &kinesis.AddTagsToStreamInput{
		StreamName: aws.String("tagged"), Tags: map[string]string{"b": "2", "a": "1", "c": "3"},
	}); err != nil {
		t.Fatalf("AddTagsToStream: %v", err)
	}
	first, err := e.client.ListTagsForStream(e.ctx, &kinesis.ListTagsForStreamInput{StreamName: aws.String("tagged"), Limit: aws.Int32(2)})
	if err != nil {
		t.Fatalf("ListTagsForStream: %v", err)
	}
	if got := tagList(first.Tags); got != "a=1,b=2" || !aws.ToBool(first.HasMoreTags) {
		t.Errorf("first page = %s, HasMoreTags=%v", got, aws.ToBool(first.HasMoreTags))
	}
	rest, err := e.client.ListTagsForStream(e.ctx, &kinesis.ListTagsForStreamInput{StreamName: aws.String("tagged"), ExclusiveStartTagKey: aws.String("b")})
	if err != nil {
		t.Fatal(err)
	}
	if got := tagList(rest.Tags); got != "c=3" || aws.ToBool(rest.HasMoreTags) {
		t.Errorf("after b = %s, HasMoreTags=%v", got, aws.ToBool(rest.HasMoreTags))
	}
	if _, err := e.client.RemoveTagsFromStream(e.ctx, &kinesis.RemoveTagsFromStreamInput{StreamName: aws.String("tagged"), TagKeys: []string{"a", "c"}}); err != nil {
		t.Fatalf("RemoveTagsFromStream: %v", err)
	}

	arn := aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/tagged")
	if _, err := e.client.TagResource(e.ctx, &kinesis.TagResourceInput{ResourceARN: arn, Tags: map[string]string{"d": "4"}}); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	if _, err := e.client.UntagResource(e.ctx, &kinesis.UntagResourceInput{ResourceARN: arn, TagKeys: []string{"b"}}); err != nil {
		t.Fatalf("UntagResource: %v", err)
	}
	out, err := e.client.ListTagsForResource(e.ctx, &kinesis.ListTagsForResourceInput{ResourceARN: arn})
	if err != nil {
		t.Fatalf("ListTagsForResource: %v", err)
	}
	if got := tagList(out.Tags); got != "d=4" {
		t.Errorf("tags = %s, want d=4", got)
	}
}

func tagList(tags []types.Tag) string {
	var b bytes.Buffer
	for i, t := range tags {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%s", aws.ToString(t.Key), aws.ToString(t.Value))
	}
	return b.String()
}

func TestSDKConsumers(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.createStream(t, "fanout", 1)
	streamARN := aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/fanout")
	var arns []string
	for _, name := range []string{"beta", "alpha"} {
		out, err := e.client.RegisterStreamConsumer(e.ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: streamARN, ConsumerName: aws.String(name)})
		if err != nil {
			t.Fatalf("RegisterStreamConsumer %s: %v", name, err)
		}
		c := out.Consumer
		if aws.ToString(c.ConsumerName) != name || aws.ToString(c.ConsumerARN) == "" || c.ConsumerStatus == "" || c.ConsumerCreationTimestamp == nil {
			t.Errorf("registered consumer = %+v", c)
		}
		arns = append(arns, aws.ToString(c.ConsumerARN))
	}

	byARN, err := e.client.DescribeStreamConsumer(e.ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: aws.String(arns[0])})
	if err != nil {
		t.Fatalf("DescribeStreamConsumer by ARN: %v", err)
	}
	if d := byARN.ConsumerDescription; aws.ToString(d.ConsumerName) != "beta" || aws.ToString(d.StreamARN) != aws.ToString(streamARN) {
		t.Errorf("described = %+v", d)
	}
	byName, err := e.client.DescribeStreamConsumer(e.ctx, &kinesis.DescribeStreamConsumerInput{StreamARN: streamARN, ConsumerName: aws.String("alpha")})
	if err != nil {
		t.Fatalf("DescribeStreamConsumer by name: %v", err)
	}
	if aws.ToString(byName.ConsumerDescription.ConsumerARN) != arns[1] {
		t.Errorf("alpha's ARN = %q, want %q", aws.ToString(byName.ConsumerDescription.ConsumerARN), arns[1])
	}

	first, err := e.client.ListStreamConsumers(e.ctx, &kinesis.ListStreamConsumersInput{StreamARN: streamARN, MaxResults: aws.Int32(1)})
	if err != nil {
		t.Fatalf("ListStreamConsumers: %v", err)
	}
	if len(first.Consumers) != 1 || aws.ToString(first.Consumers[0].ConsumerName) != "alpha" || first.NextToken == nil {
		t.Fatalf("first page = %+v, NextToken %v", first.Consumers, first.NextToken)
	}
	second, err := e.client.ListStreamConsumers(e.ctx, &kinesis.ListStreamConsumersInput{StreamARN: streamARN, NextToken: first.NextToken})
	if err != nil {
		t.Fatalf("ListStreamConsumers page 2: %v", err)
	}
	if len(second.Consumers) != 1 || aws.ToString(second.Consumers[0].ConsumerName) != "beta" || second.NextToken != nil {
		t.Errorf("second page = %+v, NextToken %v", second.Consumers, second.NextToken)
	}

	sum, err := e.client.DescribeStreamSummary(e.ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("fanout")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(sum.StreamDescriptionSummary.ConsumerCount) != 2 {
		t.Errorf("ConsumerCount = %d, want 2", aws.ToInt32(sum.StreamDescriptionSummary.ConsumerCount))
	}

	if _, err := e.client.DeregisterStreamConsumer(e.ctx, &kinesis.DeregisterStreamConsumerInput{StreamARN: streamARN, ConsumerName: aws.String("alpha")}); err != nil {
		t.Fatalf("DeregisterStreamConsumer by name: %v", err)
	}
	if _, err := e.client.DeregisterStreamConsumer(e.ctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: aws.String(arns[0])}); err != nil {
		t.Fatalf("DeregisterStreamConsumer by ARN: %v", err)
	}
	left, err := e.client.ListStreamConsumers(e.ctx, &kinesis.ListStreamConsumersInput{StreamARN: streamARN})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range left.Consumers {
		if c.ConsumerStatus != types.ConsumerStatusDeleting {
			t.Errorf("consumer %s still listed as %s after deregistering", aws.ToString(c.ConsumerName), c.ConsumerStatus)
		}
	}
}

func TestInProcessClientServesTheHandlerDirectly(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	client := NewInProcessClient(New(st, Options{}), "eu-west-1")
	ctx := t.Context()
	if _, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("local"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	put, err := client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("local"), PartitionKey: aws.String("k"), Data: []byte("hello")})
	if err != nil {
		t.Fatalf("PutRecord: %v", err)
	}
	it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("local"), ShardId: put.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatalf("GetShardIterator: %v", err)
	}
	out, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatalf("GetRecords: %v", err)
	}
	if len(out.Records) != 1 || string(out.Records[0].Data) != "hello" {
		t.Errorf("records = %+v", out.Records)
	}
	_, err = client.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("missing")})
	if code := errorCode(err); code != "ResourceNotFoundException" {
		t.Errorf("errors cross the in-process client as API errors: got %q", code)
	}

	t.Run("a signing handler accepts the in-process client's dummy credentials", func(t *testing.T) {
		c := NewInProcessClient(New(st, Options{AccessKey: "kda", SecretKey: "kda"}), "")
		if _, err := c.ListStreams(ctx, &kinesis.ListStreamsInput{}); err != nil {
			t.Errorf("ListStreams: %v", err)
		}
	})
}

func TestListShardsTimestampFiltersUseShardOpenAndCloseTimes(t *testing.T) {
	clock := newFakeClock()
	e := newEnv(t, envConfig{store: store.Options{Now: clock.Now}, api: Options{Now: clock.Now}})
	t0 := clock.Now()
	e.createStream(t, "timed", 1)
	clock.Advance(time.Minute)
	if _, err := e.client.SplitShard(e.ctx, &kinesis.SplitShardInput{StreamName: aws.String("timed"),
		ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("1000000")}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		typ  types.ShardFilterType
		at   time.Time
		want []string
	}{
		{"AT_TIMESTAMP before the split lists the parent", types.ShardFilterTypeAtTimestamp, t0.Add(30 * time.Second), []string{"shardId-000000000000"}},
		{"AT_TIMESTAMP after the split lists the children", types.ShardFilterTypeAtTimestamp, t0.Add(2 * time.Minute), []string{"shardId-000000000001", "shardId-000000000002"}},
		{"AT_TIMESTAMP before the stream existed lists its first shards", types.ShardFilterTypeAtTimestamp, t0.Add(-time.Hour), []string{"shardId-000000000000"}},
		{"FROM_TIMESTAMP before the split lists the parent and its children", types.ShardFilterTypeFromTimestamp, t0.Add(30 * time.Second), []string{"shardId-000000000000", "shardId-000000000001", "shardId-000000000002"}},
		{"FROM_TIMESTAMP after the split leaves the closed parent out", types.ShardFilterTypeFromTimestamp, t0.Add(2 * time.Minute), []string{"shardId-000000000001", "shardId-000000000002"}},
	}
	for _, c := range cases {
		out, err := e.client.ListShards(e.ctx, &kinesis.ListShardsInput{StreamName: aws.String("timed"), ShardFilter: &types.ShardFilter{Type: c.typ, Timestamp: aws.Time(c.at)}})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := shardIDs(out.Shards); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
