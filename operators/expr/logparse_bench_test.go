package expr

import (
	"fmt"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/sql/types"
)

// BenchmarkLogParse parses batches of 4,096 access-log lines; lines/s is
// the figure to watch.
func BenchmarkLogParse(b *testing.B) {
	mem := memory.NewGoAllocator()
	sb := array.NewStringBuilder(mem)
	for i := range 4096 {
		sb.Append(fmt.Sprintf(`192.0.2.%d - user%d [07/Dec/2026:10:%02d:%02d +0000] "GET /item/%d HTTP/1.1" 200 %d`, i%250, i%17, i/60%60, i%60, i, 512+i))
	}
	col := sb.NewArray()
	sb.Release()
	rec := array.NewRecord(arrow.NewSchema([]arrow.Field{{Name: "LINE", Type: arrow.BinaryTypes.String}}, nil), []arrow.Array{col}, 4096)
	col.Release()
	defer rec.Release()
	line := Col(0, types.Type{Kind: types.Varchar}, "LINE")
	for _, c := range []struct {
		name string
		e    Expr
	}{
		{"W3C_LOG_PARSE COMMON", must(Call("W3C_LOG_PARSE", line, s("COMMON")))},
		{"REGEX_LOG_PARSE", must(Call("REGEX_LOG_PARSE", line, s(`(\S+) \S+ (\S+) \[([^\]]+)\] "([^"]*)" (\d+) (\d+)`)))},
		{"VARIABLE_COLUMN_LOG_PARSE", must(Call("VARIABLE_COLUMN_LOG_PARSE", line, i32(10), s(" ")))},
	} {
		b.Run(c.name, func(b *testing.B) {
			ec := &EvalContext{Mem: mem, Errors: &RowErrors{}}
			for range b.N {
				a, err := c.e.Eval(ec, rec)
				if err != nil {
					b.Fatal(err)
				}
				a.Release()
			}
			b.ReportMetric(float64(b.N)*4096/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
