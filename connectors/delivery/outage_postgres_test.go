package delivery_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kdaproject/kda/connectors/internal/testproxy"
	"github.com/kdaproject/kda/connectors/postgres"
	"github.com/kdaproject/kda/connectors/servicetest"
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	c, err := pgx.Connect(ctx, direct)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = c.Exec(ctx, "DROP TABLE IF EXISTS "+table)
		c.Close(ctx)
	})
	// The table records the order rows first arrive in: an upsert keeps
	// a row's first arrived.
	if _, err := c.Exec(context.Background(), "CREATE TABLE "+table+" (id BIGINT PRIMARY KEY, k TEXT, seq BIGINT, arrived BIGSERIAL)"); err != nil {
		t.Fatal(err)
	}

	o := startOutage(t, postgres.Connector(), map[string]any{
		"dsn": "postgres://root@" + proxy.Addr + "/test?sslmode=disable&connect_timeout=2", "table": table,
		"columns": []map[string]string{{"name": "id", "type": "BIGINT"}, {"name": "k", "type": "TEXT"}, {"name": "seq", "type": "BIGINT"}},
		"key":     []string{"id"}, "timeout": "3s",
	})
	o.run(proxy.Cut, proxy.Restore)

	rows, err := c.Query(context.Background(), "SELECT id FROM "+table+" ORDER BY arrived")
	if err != nil {
		t.Fatal(err)
	}
	arrivals, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	o.checkArrivals(arrivals, true)
}
