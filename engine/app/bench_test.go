package app

import (
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/kdaproject/kda/engine/store"
	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/input"
)

// countRows is an output that counts rows.
type countRows struct{ n int64 }

func (c *countRows) Process(_ *operators.Context, rec arrow.Record) error {
	c.n += rec.NumRows()
	return nil
}
func (c *countRows) Advance(*operators.Context, time.Time) error { return nil }

// BenchmarkEndToEndTumbling reads ~100-byte JSON records from the shard
// store, decodes them and runs them through a tumbling GROUP BY with five
// aggregates over 1,000 keys. records/s is the figure to quote (-cpu 1).
func BenchmarkEndToEndTumbling(b *testing.B) {
	st, err := store.Open(b.TempDir(), store.Options{Throughput: store.ThroughputOptions{Disabled: true}})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateStream(store.CreateStreamInput{StreamName: "trades", ShardCount: 1}); err != nil {
		b.Fatal(err)
	}
	const total = 200_000
	recs := make([]store.PutRecordInput, 500)
	for i := 0; i < total; i += len(recs) {
		for j := range recs {
			n := i + j
			recs[j] = store.PutRecordInput{PartitionKey: "k", Data: []byte(fmt.Sprintf(
				`{"ticker":"T%03d","price":%d.%02d,"qty":%d,"side":"BUY","ts":"2026-01-02T03:04:05.678Z"}`, n%1000, n%500, n%100, n%97))}
		}
		if _, err := st.PutRecords("trades", recs); err != nil {
			b.Fatal(err)
		}
	}
	def := Definition{Name: "bench", SQL: `
CREATE STREAM OUT_S (ticker VARCHAR(8), n BIGINT, total DOUBLE, mean DOUBLE, lo DOUBLE, hi DOUBLE);
CREATE PUMP P AS INSERT INTO OUT_S
  SELECT STREAM "ticker", COUNT(*), SUM("price"), AVG("price"), MIN("price"), MAX("price")
  FROM SOURCE_SQL_STREAM_001
  GROUP BY "ticker", STEP(SOURCE_SQL_STREAM_001.ROWTIME BY INTERVAL '1' SECOND);`}
	def.Input.Schema = input.Schema{RecordFormat: input.RecordFormat{Type: "JSON"}, Columns: []input.Column{
		{Name: "ticker", SQLType: "VARCHAR(8)", Mapping: "$.ticker"},
		{Name: "price", SQLType: "DOUBLE", Mapping: "$.price"},
		{Name: "qty", SQLType: "INTEGER", Mapping: "$.qty"},
		{Name: "side", SQLType: "VARCHAR(4)", Mapping: "$.side"},
	}}
	b.ResetTimer()
	var read int64
	for i := 0; i < b.N; i++ {
		rt, err := Compile(def, nil)
		if err != nil {
			b.Fatal(err)
		}
		out := &countRows{}
		if err := rt.Subscribe("OUT_S", out); err != nil {
			b.Fatal(err)
		}
		it, err := st.GetShardIterator(store.GetShardIteratorInput{StreamName: "trades", ShardID: "shardId-000000000000", Type: store.TrimHorizon})
		if err != nil {
			b.Fatal(err)
		}
		batch := make([]input.Record, 0, 4096)
		// Rows are spread over 50 one-second windows by their position.
		base := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
		for it != "" {
			got, err := st.GetRecordsDedicated(it, 4096)
			if err != nil {
				b.Fatal(err)
			}
			if len(got.Records) == 0 {
				break
			}
			batch = batch[:0]
			for _, r := range got.Records {
				at := base.Add(time.Duration(read%total) * 250 * time.Microsecond)
				batch = append(batch, input.Record{Data: r.Data, Rowtime: at, ArrivalTime: r.ArrivalTime})
				read++
			}
			if err := rt.Push(batch); err != nil {
				b.Fatal(err)
			}
			if err := rt.Advance(batch[len(batch)-1].Rowtime); err != nil {
				b.Fatal(err)
			}
			it = got.NextShardIterator
		}
		if err := rt.Advance(EndOfTime); err != nil {
			b.Fatal(err)
		}
		if out.n != 50*1000 {
			b.Fatalf("%d output rows, want 50,000 (50 windows × 1,000 tickers)", out.n)
		}
		rt.Close()
	}
	b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "records/s")
}
