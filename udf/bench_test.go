package udf

import (
	"context"
	"runtime/debug"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/engine/gctune"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/sql/types"
)

const benchRows = 4096 // the engine's batch size

func benchColumn() arrow.Array {
	fb := array.NewFloat64Builder(memory.NewGoAllocator())
	defer fb.Release()
	for i := range benchRows {
		fb.Append(float64(i) * 0.5)
	}
	return fb.NewArray()
}

// BenchmarkScalarUDF is `x * 2 + 1` on DOUBLE: through the batched
// JavaScript path with a body that is one return (inlined into the batch
// loop), with a body that needs a call per row, and as native SQL, for the
// ratio.
func BenchmarkScalarUDF(b *testing.B) {
	serverGC(b)
	col := benchColumn()
	defer col.Release()
	for _, c := range []struct{ name, src string }{
		{"javascript", "return x * 2 + 1;"},
		{"javascript-call", "var y = x * 2; return y + 1;"},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, err := NewScalar(ScalarSpec{Name: "F", Params: []types.Field{{Name: "X", Type: types.TDouble}}, Returns: types.TDouble, Source: c.src}, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx, mem := context.Background(), memory.NewGoAllocator()
			fail := func(row int, msg, _ string) { b.Fatalf("row %d: %s", row, msg) }
			runRows(b, func() {
				out, err := s.Eval(ctx, mem, []arrow.Array{col}, benchRows, fail)
				if err != nil {
					b.Fatal(err)
				}
				out.Release()
			})
		})
	}
	b.Run("native-sql", func(b *testing.B) {
		x := expr.Col(0, types.TDouble, "X")
		two, _ := expr.Lit(2.0, types.TDouble)
		one, _ := expr.Lit(1.0, types.TDouble)
		mul, err := expr.Call("*", x, two)
		if err != nil {
			b.Fatal(err)
		}
		e, err := expr.Call("+", mul, one)
		if err != nil {
			b.Fatal(err)
		}
		rec := array.NewRecord(arrow.NewSchema([]arrow.Field{{Name: "X", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil), []arrow.Array{col}, benchRows)
		defer rec.Release()
		ec := &expr.EvalContext{Mem: memory.NewGoAllocator(), Errors: &expr.RowErrors{}}
		runRows(b, func() {
			out, err := e.Eval(ec, rec)
			if err != nil {
				b.Fatal(err)
			}
			out.Release()
		})
	})
}

// serverGC runs a benchmark with the garbage collector set as kda's CLI
// sets it (engine/gctune), and puts the settings back after.
func serverGC(b *testing.B) {
	gc, limit := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1)
	debug.SetGCPercent(gc)
	gctune.Apply()
	b.Cleanup(func() {
		debug.SetGCPercent(gc)
		debug.SetMemoryLimit(limit)
	})
}

// runRows times batch b.N times and reports rows per second of wall time
// and per second of CPU time (steadier on a loaded machine).
func runRows(b *testing.B, batch func()) {
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		batch()
	}
	b.ReportMetric(float64(b.N)*benchRows/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.N)*benchRows/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
