package delivery

import (
	"fmt"
	"testing"
	"time"

	"github.com/kdaproject/kda/operators/input"
)

// BenchmarkJSONToParquet converts ~100-byte JSON records to Parquet
// (SNAPPY), 10,000 records per object.
func BenchmarkJSONToParquet(b *testing.B) {
	c, err := compileConversion(&DataFormatConversionConfiguration{KdaSchema: &KdaSchema{Columns: []input.Column{
		{Name: "ticker", SQLType: "VARCHAR(8)", Mapping: "$.ticker"},
		{Name: "price", SQLType: "DOUBLE", Mapping: "$.price"},
		{Name: "qty", SQLType: "BIGINT", Mapping: "$.qty"},
		{Name: "side", SQLType: "VARCHAR(4)", Mapping: "$.side"},
		{Name: "ts", SQLType: "TIMESTAMP", Mapping: "$.ts"},
	}}}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	const per = 10000
	recs := make([]*spilled, per)
	now := time.Now()
	for i := range recs {
		recs[i] = &spilled{data: []byte(fmt.Sprintf(`{"ticker":"T%03d","price":%d.25,"qty":%d,"side":"buy","ts":"2024-03-01 12:00:00"}`, i%250, 1000+i, i*3)), arrival: now}
	}
	b.ResetTimer()
	for n := 0; n < b.N; n += per {
		k := min(per, b.N-n)
		out, failed, err := c.convert(recs[:k])
		if err != nil || len(out) == 0 || failed[0] != "" {
			b.Fatal(err, failed[0])
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
