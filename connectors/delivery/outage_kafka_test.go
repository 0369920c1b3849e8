package delivery_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kdaproject/kda/connectors/kafka"
)

// TestAKafkaOutageInTheMiddleOfADeliveryLosesNothing runs the whole path
// to an in-process Kafka cluster (franz-go's kfake, so no Kafka is
// needed) that is stopped while records keep arriving and started again
// on the same port from its data directory. The TCP proxy the other
// outage tests cut cannot stand in front of Kafka: a client asks the seed
// broker for the cluster's metadata and then connects to the address
// each broker advertises, the cluster's own, so cutting the proxy would
// only cut the first connection. Stopping the cluster is a real outage.
//
// The topic has three partitions and messages are keyed by partition key,
// so the records of one key are on one partition, in offset order: the
// arrival order. Delivery is at least once: a batch whose acks the outage
// lost is produced again on a new producer (the idempotent producer
// deduplicates its own retries only), and consumers deduplicate by the
// kda-record-id header.
func TestAKafkaOutageInTheMiddleOfADeliveryLosesNothing(t *testing.T) {
	dir := t.TempDir()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DataDir(dir), kfake.SeedTopics(3, "orders"))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	addr := c.ListenAddrs()[0]
	_, p, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(p)
	restart := func() {
		var err error
		for range 50 {
			var nc *kfake.Cluster
			if nc, err = kfake.NewCluster(kfake.NumBrokers(1), kfake.DataDir(dir), kfake.Ports(port)); err == nil {
				c = nc
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("restart kfake on port %d: %v", port, err)
	}

	o := startOutage(t, kafka.Connector(), map[string]any{"brokers": []string{addr}, "topic": "orders", "timeout": "1s"})
	o.run(func() { c.Close() }, restart)

	// Read every partition up to its high watermark.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var arrivals []int
	next, end := map[int32]int64{}, map[int32]int64{}
	caughtUp := func() bool {
		if len(end) < 3 {
			return false
		}
		for p, hw := range end {
			if next[p] < hw {
				return false
			}
		}
		return true
	}
	for !caughtUp() {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read back %d messages: %v", len(arrivals), ctx.Err())
		}
		f.EachPartition(func(p kgo.FetchTopicPartition) {
			end[p.Partition] = p.HighWatermark
			for _, r := range p.Records {
				arrivals = append(arrivals, outageID(r.Value))
				next[p.Partition] = r.Offset + 1
			}
		})
	}
	o.checkArrivals(arrivals, false)
}
