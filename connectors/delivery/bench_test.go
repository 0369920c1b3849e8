package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/directory"
	"github.com/kdaproject/kda/engine/store"
)

func intp(n int) *int { return &n }

// BenchmarkDirectoryGzipDelivery puts ~100-byte JSON records into a
// delivery stream (500 per Put, each one synced write into the spill) and
// delivers them as GZIP objects to the local directory store, Flush
// included: records/s is the whole path, put to durable object, by the wall
// clock; records/cpu-s divides by the CPU time the process used meanwhile
// (every goroutine: puts, the worker, Pebble's background work, GC), which
// is what "per core" means and is far less noisy on a shared machine.
func BenchmarkDirectoryGzipDelivery(b *testing.B) {
	dir := b.TempDir()
	st, err := store.Open(filepath.Join(dir, "streams"), store.Options{Throughput: store.ThroughputOptions{Disabled: true}})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	reg := delivery.NewRegistry()
	if err := reg.Register(directory.Connector()); err != nil {
		b.Fatal(err)
	}
	cfg, _ := json.Marshal(directory.Config{Root: filepath.Join(dir, "s3")})
	m, err := delivery.NewManager(st, delivery.ManagerOptions{Registry: reg, ObjectStoreConfig: cfg})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Create(delivery.Definition{DeliveryStreamName: "bench", ExtendedS3DestinationConfiguration: &delivery.ExtendedS3DestinationConfiguration{
		BucketARN: "arn:aws:s3:::bench", CompressionFormat: delivery.GZIP,
		BufferingHints: &delivery.BufferingHints{SizeInMBs: intp(8), IntervalInSeconds: intp(900)}}}); err != nil {
		b.Fatal(err)
	}
	batch := make([]delivery.PutInput, 500)
	for i := range batch {
		batch[i] = delivery.PutInput{Data: []byte(fmt.Sprintf(`{"ticker":"T%03d","price":%d.25,"qty":%d,"side":"buy","ts":"2024-03-01T12:00:00Z"}`+"\n", i%250, 1000+i, i*3))}
	}
	b.SetBytes(int64(len(batch[0].Data)))
	b.ResetTimer()
	cpu0 := cpuTime()
	for n := 0; n < b.N; n += len(batch) {
		k := min(len(batch), b.N-n)
		if _, err := m.Put("bench", batch[:k]); err != nil {
			b.Fatal(err)
		}
	}
	if err := m.Flush(context.Background(), "bench"); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "records/cpu-s")
	d, _ := m.Describe("bench")
	if d.Metrics.Delivered != uint64(b.N) {
		b.Fatalf("delivered %d of %d", d.Metrics.Delivered, b.N)
	}
}

// cpuTime is the user plus system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
