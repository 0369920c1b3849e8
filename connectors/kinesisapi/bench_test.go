package kinesisapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/fxamacker/cbor/v2"

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

// BenchmarkHandlerPutRecords measures the handler alone (decode, store,
// encode) with no SDK and no network, in both wire formats: JSON as the Go,
// JS and Python SDKs send it, CBOR as the Java SDKs do.
func BenchmarkHandlerPutRecords(b *testing.B) {
	const batchSize, recordBytes = 500, 100
	data := make([]byte, recordBytes)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	entries := make([]map[string]any, batchSize)
	for i := range entries {
		entries[i] = map[string]any{"Data": data, "PartitionKey": fmt.Sprintf("pk-%d", i)}
	}
	in := map[string]any{"StreamName": "bench", "Records": entries}
	jsonBody, err := json.Marshal(in)
	if err != nil {
		b.Fatal(err)
	}
	cborBody, err := cbor.Marshal(in)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name, contentType string
		body              []byte
	}{{"JSON", contentTypeJSON11, jsonBody}, {"CBOR", contentTypeCBOR, cborBody}} {
		b.Run(c.name, func(b *testing.B) {
			st, err := store.Open(b.TempDir(), store.Options{Throughput: store.ThroughputOptions{Disabled: true}})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			if err := st.CreateStream(store.CreateStreamInput{StreamName: "bench", ShardCount: 4}); err != nil {
				b.Fatal(err)
			}
			h := New(st, Options{})
			b.SetParallelism(8)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(c.body))
					req.Header.Set("Content-Type", c.contentType)
					req.Header.Set("X-Amz-Target", TargetPrefix+"PutRecords")
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Errorf("status %d: %s", w.Code, w.Body.Bytes())
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)*batchSize/b.Elapsed().Seconds(), "records/s")
		})
	}
}
