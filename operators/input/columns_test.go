package input

import (
	"fmt"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/decimal128"

	"github.com/kdaproject/kda/sql/types"
)

// TestColumnsBuildWhatTheyWereGiven appends values and NULLs in patterns
// that cross bitmap bytes (the first NULL early, late, or never) to a
// column of each kind, over two batches, and reads the arrays back.
func TestColumnsBuildWhatTheyWereGiven(t *testing.T) {
	kinds := []types.Type{
		types.TBoolean, {Kind: types.TinyInt}, {Kind: types.SmallInt}, types.TInteger, types.TBigInt,
		{Kind: types.Real}, types.TDouble, {Kind: types.Decimal, Precision: 10, Scale: 2},
		types.VarcharOf(8), {Kind: types.Varbinary, Length: 8}, {Kind: types.Date}, {Kind: types.Time}, types.TTimestamp,
	}
	patterns := map[string]func(i int) bool{ // is value i NULL?
		"no NULL":         func(int) bool { return false },
		"NULL first":      func(i int) bool { return i == 0 },
		"NULL at 13":      func(i int) bool { return i == 13 },
		"every third":     func(i int) bool { return i%3 == 2 },
		"all NULL":        func(int) bool { return true },
		"NULL at the end": func(i int) bool { return i == 19 },
	}
	for _, typ := range kinds {
		for name, isNull := range patterns {
			t.Run(fmt.Sprintf("%s/%s", typ, name), func(t *testing.T) {
				col := newColumn(typ.Kind, typ.Arrow())
				for batch := range 2 {
					n := 20 + batch*7
					col.reserve(n / 2) // less than needed: appends must grow
					var want []string
					for i := range n {
						v := i + batch*100
						if isNull(i) {
							col.appendNull()
							want = append(want, "(null)")
							continue
						}
						c := cell{valid: true, i: int64(v), f: float64(v) / 2, d: decimal128.FromI64(int64(v)), s: []byte(fmt.Sprint("v", v))}
						if typ.Kind == types.Boolean {
							c.i = int64(v % 2)
						}
						col.appendCell(&c)
						want = append(want, "")
					}
					arr := col.finish()
					if arr.Len() != n || !arrow.TypeEqual(arr.DataType(), typ.Arrow()) {
						t.Fatalf("batch %d: %d values of %s, want %d of %s", batch, arr.Len(), arr.DataType(), n, typ.Arrow())
					}
					nulls := 0
					for i := range n {
						if got := arr.IsNull(i); got != (want[i] == "(null)") {
							t.Fatalf("batch %d value %d: IsNull %v", batch, i, got)
						}
						if arr.IsNull(i) {
							nulls++
							continue
						}
						v := i + batch*100
						var exp string
						switch typ.Kind {
						case types.Boolean:
							exp = fmt.Sprint(v%2 == 1)
						case types.Real, types.Double:
							exp = fmt.Sprint(float64(v) / 2)
						case types.Varchar:
							exp = fmt.Sprint("v", v)
						case types.TinyInt, types.SmallInt, types.Integer, types.BigInt:
							exp = fmt.Sprint(v)
						}
						var got string
						switch a := arr.(type) {
						case *array.Decimal128:
							got, exp = a.Value(i).BigInt().String(), fmt.Sprint(v)
						case *array.Binary:
							got, exp = string(a.Value(i)), fmt.Sprint("v", v)
						case *array.Date32:
							got, exp = fmt.Sprint(int(a.Value(i))), fmt.Sprint(v)
						case *array.Time32:
							got, exp = fmt.Sprint(int(a.Value(i))), fmt.Sprint(v)
						case *array.Timestamp:
							got, exp = fmt.Sprint(int(a.Value(i))), fmt.Sprint(v)
						default:
							got = arr.ValueStr(i)
						}
						if exp == "" {
							t.Fatalf("no expected value for %s", typ)
						}
						if got != exp {
							t.Fatalf("batch %d value %d = %s, want %s", batch, i, got, exp)
						}
					}
					if arr.NullN() != nulls {
						t.Fatalf("batch %d: null count %d, want %d", batch, arr.NullN(), nulls)
					}
					arr.Release()
				}
			})
		}
	}
}
