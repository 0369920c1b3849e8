package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/servicetest"
)

// BenchmarkPostgresDeliver delivers 10,000-row batches of 5-column JSON
// records, appended with COPY ("append") and upserted on a two-column key
// ("upsert": the keys repeat every 10 batches, so after a warm-up most
// rows update). It reports rows/s, JSON decoding and conversion included.
func BenchmarkPostgresDeliver(b *testing.B) {
	servicetest.Require(b, "PostgreSQL", pgAddr)
	const size = 10_000
	batches := make([][]delivery.Record, 10)
	minute := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)
	for n := range batches {
		batches[n] = make([]delivery.Record, size)
		for i := range size {
			seq := n*size + i
			batches[n][i] = delivery.Record{ID: fmt.Sprint(seq), Data: fmt.Appendf(nil,
				`{"TICKER":"T%03d","MINUTE":"%s","TRADES":%d,"VOLUME":%d.25,"SECTOR":"S%d"}`,
				seq%500, minute.Add(time.Duration(seq/500)*time.Minute).Format("2006-01-02 15:04:05.000"), seq, seq*10, seq%11)}
		}
	}
	for _, bc := range []struct {
		name string
		key  string
	}{{"append", ""}, {"upsert", `"key": ["ticker", "minute"],`}} {
		b.Run(bc.name, func(b *testing.B) {
			table := testTable(b)
			s := open(b, fmt.Sprintf(`{"dsn": %q, "table": %q, %s "createTable": true, "batchSize": 10000,
				"columns": [{"name": "ticker", "type": "TEXT"}, {"name": "minute", "type": "TIMESTAMP"},
				{"name": "trades", "type": "BIGINT"}, {"name": "volume", "type": "DOUBLE PRECISION"},
				{"name": "sector", "type": "TEXT"}]}`, testDSN(), table, bc.key))
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := s.Deliver(ctx, batches[i%len(batches)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
