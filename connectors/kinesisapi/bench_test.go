package kinesisapi

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/kdaproject/kda/engine/store"
)

// BenchmarkSDKPutRecords measures end-to-end ingest through the AWS SDK for
// Go v2: SDK serialisation and signing, HTTP over loopback, this handler, and
// the store's synced group commit. Records are 100 bytes, in batches of 500,
// sent by many concurrent producers.
//
//	go test ./connectors/kinesisapi -run '^$' -bench BenchmarkSDKPutRecords -benchtime 5s -count 5
func BenchmarkSDKPutRecords(b *testing.B) {
	const (
		batchSize   = 500
		recordBytes = 100
		shards      = 4
	)
	e := newEnv(b, envConfig{store: store.Options{Throughput: store.ThroughputOptions{Disabled: true}}})
	// The SDK's default transport keeps few idle connections per host; give
	// every producer its own so the benchmark measures kda, not reconnects.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	client := kinesis.New(e.client.Options(), func(o *kinesis.Options) { o.HTTPClient = &http.Client{Transport: tr} })
	e.createStream(b, "bench", shards)

	data := make([]byte, recordBytes)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		entries := make([]types.PutRecordsRequestEntry, batchSize)
		batch := 0
		for pb.Next() {
			for i := range entries {
				entries[i] = types.PutRecordsRequestEntry{
					Data:         data,
					PartitionKey: aws.String(fmt.Sprintf("pk-%d-%d", batch, i)),
				}
			}
			batch++
			out, err := client.PutRecords(e.ctx, &kinesis.PutRecordsInput{StreamName: aws.String("bench"), Records: entries})
			if err != nil {
				b.Error(err)
				return
			}
			if n := aws.ToInt32(out.FailedRecordCount); n != 0 {
				b.Errorf("%d records failed", n)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)*batchSize/b.Elapsed().Seconds(), "records/s")
}
