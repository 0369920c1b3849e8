package store

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// BenchmarkPutRecords measures synced embedded puts of 100-byte records in
// batches of 500 from many goroutines (group commit shares the syncs).
// records/s is the figure to quote.
func BenchmarkPutRecords(b *testing.B) {
	s, err := Open(b.TempDir(), Options{Throughput: ThroughputOptions{Disabled: true}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateStream(CreateStreamInput{StreamName: "bench", ShardCount: 4}); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 100)
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		id := n.Add(1)
		recs := make([]PutRecordInput, 500)
		for i := range recs {
			recs[i] = PutRecordInput{PartitionKey: fmt.Sprintf("key-%d-%d", id, i), Data: data}
		}
		for pb.Next() {
			out, err := s.PutRecords("bench", recs)
			if err != nil || out.FailedRecordCount != 0 {
				b.Fatalf("put: %v (%d failed)", err, out.FailedRecordCount)
			}
		}
	})
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkGetRecords measures embedded read-back of 100-byte records,
// 10,000 per GetRecords call. records/s is the figure to quote.
func BenchmarkGetRecords(b *testing.B) {
	s, err := Open(b.TempDir(), Options{Throughput: ThroughputOptions{Disabled: true}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateStream(CreateStreamInput{StreamName: "bench", ShardCount: 1}); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 100)
	recs := make([]PutRecordInput, 500)
	for i := range recs {
		recs[i] = PutRecordInput{PartitionKey: fmt.Sprintf("key-%d", i), Data: data}
	}
	const total = 200_000
	for i := 0; i < total/500; i++ {
		if _, err := s.PutRecords("bench", recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	read := 0
	for i := 0; i < b.N; i++ {
		it, err := s.GetShardIterator(GetShardIteratorInput{StreamName: "bench", ShardID: "shardId-000000000000", Type: TrimHorizon})
		if err != nil {
			b.Fatal(err)
		}
		for it != "" {
			out, err := s.GetRecords(it, MaxGetRecordsCount)
			if err != nil {
				b.Fatal(err)
			}
			if len(out.Records) == 0 {
				break
			}
			read += len(out.Records)
			it = out.NextShardIterator
		}
	}
	if read != b.N*total {
		b.Fatalf("read %d records, want %d", read, b.N*total)
	}
	b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "records/s")
}
