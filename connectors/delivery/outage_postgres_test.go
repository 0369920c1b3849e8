package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/internal/servicetest"
	"github.com/kdaproject/kda/connectors/internal/testproxy"
	"github.com/kdaproject/kda/connectors/postgres"
	"github.com/kdaproject/kda/engine/store"
)

// TestAPostgresOutageInTheMiddleOfADeliveryLosesNothing runs the whole
// path — puts into a delivery stream, its spill, the worker, the
// PostgreSQL sink — against the machine's PostgreSQL behind a proxy that
// is cut while records keep arriving and restored later. With an upsert
// key every record is in the table exactly once, and rows of one partition
// key first arrived in the order they were put.
func TestAPostgresOutageInTheMiddleOfADeliveryLosesNothing(t *testing.T) {
	const pgAddr = "127.0.0.1:5432"
	servicetest.Require(t, "PostgreSQL", pgAddr)
	proxy := testproxy.Start(t, pgAddr)
	table := fmt.Sprintf("kda_delivery_outage_%08x", rand.Uint32())
	direct := "postgres://root@" + pgAddr + "/test?sslmode=disable"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, direct); err == nil {
			_, _ = c.Exec(ctx, "DROP TABLE IF EXISTS "+table)
			c.Close(ctx)
		}
	})

	// The table records the order rows first arrive in.
	{
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := pgx.Connect(ctx, direct)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Exec(ctx, "CREATE TABLE "+table+" (id BIGINT PRIMARY KEY, k TEXT, seq BIGINT, arrived BIGSERIAL)")
		c.Close(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "data"), store.Options{Throughput: store.ThroughputOptions{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	reg := delivery.NewRegistry()
	if err := reg.Register(postgres.Connector()); err != nil {
		t.Fatal(err)
	}
	m, err := delivery.NewManager(st, delivery.ManagerOptions{Registry: reg, RetryMin: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); st.Close() })

	cfg, _ := json.Marshal(map[string]any{
		"dsn": "postgres://root@" + proxy.Addr + "/test?sslmode=disable&connect_timeout=2", "table": table,
		"columns": []map[string]string{{"name": "id", "type": "BIGINT"}, {"name": "k", "type": "TEXT"}, {"name": "seq", "type": "BIGINT"}},
		"key":     []string{"id"}, "timeout": "3s",
	})
	zero, one := 0, 1
	if _, err := m.Create(delivery.Definition{DeliveryStreamName: "orders", SinkDestination: &delivery.SinkDestination{
		Type: "postgres", Config: cfg, BufferingHints: &delivery.BufferingHints{SizeInMBs: &one, IntervalInSeconds: &zero}}}); err != nil {
		t.Fatal(err)
	}

	const total, keys = 600, 7
	lastSeq := map[string]int{}
	put := func(from, to int) {
		var batch []delivery.PutInput
		for i := from; i < to; i++ {
			k := fmt.Sprintf("k%d", i%keys)
			lastSeq[k] = i
			batch = append(batch, delivery.PutInput{PartitionKey: k, Data: []byte(fmt.Sprintf(`{"ID":%d,"K":"%s","SEQ":%d}`, i, k, i))})
			if len(batch) == 50 {
				if _, err := m.Put("orders", batch); err != nil {
					t.Fatal(err)
				}
				batch = nil
			}
		}
		if len(batch) > 0 {
			if _, err := m.Put("orders", batch); err != nil {
				t.Fatal(err)
			}
		}
	}
	put(0, 200)
	proxy.Cut() // the destination goes away while records keep coming
	put(200, 450)
	time.Sleep(300 * time.Millisecond)
	if d, _ := m.Describe("orders"); d.Metrics.Spilled == 0 {
		t.Logf("nothing waited during the outage: %+v", d.Metrics)
	}
	proxy.Restore()
	put(450, total)

	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := m.Describe("orders")
		if err != nil {
			t.Fatal(err)
		}
		if d.Metrics.Spilled == 0 && d.Metrics.Delivered >= total {
			if d.Metrics.Retried == 0 {
				t.Errorf("the outage caused no retry: %+v", d.Metrics)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not delivered after the outage: %+v", d.Metrics)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c, err := pgx.Connect(ctx, direct)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n, distinct int
	if err := c.QueryRow(ctx, "SELECT count(*), count(DISTINCT id) FROM "+table).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != total || distinct != total {
		t.Fatalf("%d rows, %d distinct ids; want %d each (exactly once)", n, distinct, total)
	}
	rows, err := c.Query(ctx, "SELECT k, seq FROM "+table+" ORDER BY arrived")
	if err != nil {
		t.Fatal(err)
	}
	prev := map[string]int{}
	for rows.Next() {
		var k string
		var seq int
		if err := rows.Scan(&k, &seq); err != nil {
			t.Fatal(err)
		}
		if p, ok := prev[k]; ok && seq < p {
			t.Errorf("key %s: seq %d arrived after %d", k, seq, p)
		}
		prev[k] = seq
	}
	for k, seq := range lastSeq {
		if prev[k] != seq {
			t.Errorf("key %s: the last row to arrive has seq %d, want %d", k, prev[k], seq)
		}
	}
}
