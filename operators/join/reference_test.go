package join

import (
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/reftable"
	"github.com/kdaproject/kda/sql/types"
)

var companySchema = types.Schema{Fields: []types.Field{
	{Name: "Ticker", Type: types.VarcharOf(8)},
	{Name: "Company", Type: types.VarcharOf(32)},
}}

func companies(t *testing.T, rows ...string) arrow.Record {
	t.Helper()
	kb := array.NewStringBuilder(memory.DefaultAllocator)
	cb := array.NewStringBuilder(memory.DefaultAllocator)
	defer kb.Release()
	defer cb.Release()
	for i := 0; i+1 < len(rows); i += 2 {
		if rows[i] == "" {
			kb.AppendNull()
		} else {
			kb.Append(rows[i])
		}
		cb.Append(rows[i+1])
	}
	k, c := kb.NewArray(), cb.NewArray()
	defer k.Release()
	defer c.Release()
	return array.NewRecord(companySchema.Arrow(), []arrow.Array{k, c}, int64(k.Len()))
}

var tradeSchema = types.Schema{Fields: []types.Field{
	{Name: types.RowtimeName, Type: types.Type{Kind: types.Timestamp, NotNull: true}},
	{Name: "TICKER", Type: types.VarcharOf(8)},
	{Name: "PRICE", Type: types.TInteger},
}}

func trades(ts []int64, tickers []string, prices []int32) arrow.Record {
	mem := memory.DefaultAllocator
	tb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Millisecond})
	kb := array.NewStringBuilder(mem)
	pb := array.NewInt32Builder(mem)
	for i := range ts {
		tb.Append(arrow.Timestamp(ts[i]))
		if tickers[i] == "" {
			kb.AppendNull()
		} else {
			kb.Append(tickers[i])
		}
		pb.Append(prices[i])
	}
	cols := []arrow.Array{tb.NewArray(), kb.NewArray(), pb.NewArray()}
	rec := array.NewRecord(tradeSchema.Arrow(), cols, int64(len(ts)))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

func rowsOf(rec arrow.Record) []string {
	var out []string
	for i := 0; i < int(rec.NumRows()); i++ {
		out = append(out, operators.RowJSON(rec, i))
	}
	return out
}

// TestReferenceJoin probes a table with duplicate and NULL keys, INNER and
// LEFT, with and without a residual condition, across a reload.
func TestReferenceJoin(t *testing.T) {
	tab, err := reftable.New("CompanyName", companySchema)
	if err != nil {
		t.Fatal(err)
	}
	reg := expr.NewRegistry()
	ten, err := expr.Lit(int64(6), types.TInteger)
	if err != nil {
		t.Fatal(err)
	}
	cheap, err := reg.Call("<", expr.Col(2, types.TInteger, "PRICE"), ten)
	if err != nil {
		t.Fatal(err)
	}
	in := trades([]int64{1, 2, 3, 4}, []string{"AMZN", "ORCL", "", "MSFT"}, []int32{5, 20, 7, 8})
	defer in.Release()
	cases := []struct {
		name     string
		outer    bool
		residual expr.Expr
		want     []string
	}{
		{"inner", false, nil, []string{
			`{"ROWTIME":"1970-01-01 00:00:00.001","TICKER":"AMZN","PRICE":5,"Ticker":"AMZN","Company":"Amazon"}`,
			`{"ROWTIME":"1970-01-01 00:00:00.001","TICKER":"AMZN","PRICE":5,"Ticker":"AMZN","Company":"Amazon.com"}`,
			`{"ROWTIME":"1970-01-01 00:00:00.004","TICKER":"MSFT","PRICE":8,"Ticker":"MSFT","Company":"Microsoft"}`}},
		{"left", true, nil, []string{
			`{"ROWTIME":"1970-01-01 00:00:00.001","TICKER":"AMZN","PRICE":5,"Ticker":"AMZN","Company":"Amazon"}`,
			`{"ROWTIME":"1970-01-01 00:00:00.001","TICKER":"AMZN","PRICE":5,"Ticker":"AMZN","Company":"Amazon.com"}`,
			`{"ROWTIME":"1970-01-01 00:00:00.002","TICKER":"ORCL","PRICE":20,"Ticker":null,"Company":null}`,
			`{"ROWTIME":"1970-01-01 00:00:00.003","TICKER":null,"PRICE":7,"Ticker":null,"Company":null}`,
			`{"ROWTIME":"1970-01-01 00:00:00.004","TICKER":"MSFT","PRICE":8,"Ticker":"MSFT","Company":"Microsoft"}`}},
		{"left with a condition", true, cheap, []string{
			`{"ROWTIME":"1970-01-01 00:00:00.001","TICKER":"AMZN","PRICE":5,"Ticker":"AMZN","Company":"Amazon"}`,
			`{"ROWTIME":"1970-01-01 00:00:00.001","TICKER":"AMZN","PRICE":5,"Ticker":"AMZN","Company":"Amazon.com"}`,
			`{"ROWTIME":"1970-01-01 00:00:00.002","TICKER":"ORCL","PRICE":20,"Ticker":null,"Company":null}`,
			`{"ROWTIME":"1970-01-01 00:00:00.003","TICKER":null,"PRICE":7,"Ticker":null,"Company":null}`,
			`{"ROWTIME":"1970-01-01 00:00:00.004","TICKER":"MSFT","PRICE":8,"Ticker":null,"Company":null}`}},
	}
	if _, err := tab.Replace(companies(t, "AMZN", "Amazon", "MSFT", "Microsoft", "", "Nobody", "AMZN", "Amazon.com"), "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j, err := NewRef(RefSpec{Input: tradeSchema, Table: tab, Outer: c.outer, Residual: c.residual,
				StreamKeys: []expr.Expr{expr.Col(1, types.VarcharOf(8), "TICKER")},
				TableKeys:  []expr.Expr{expr.Col(0, types.VarcharOf(8), "Ticker")}})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			j.SetEmit(func(rec arrow.Record) error { got = append(got, rowsOf(rec)...); return nil })
			if err := j.Process(&operators.Context{}, in); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("got\n%s\nwant\n%s", join(got), join(c.want))
			}
		})
	}
	// A reload: later batches see the new rows.
	j, _ := NewRef(RefSpec{Input: tradeSchema, Table: tab,
		StreamKeys: []expr.Expr{expr.Col(1, types.VarcharOf(8), "TICKER")},
		TableKeys:  []expr.Expr{expr.Col(0, types.VarcharOf(8), "Ticker")}})
	var got []string
	j.SetEmit(func(rec arrow.Record) error { got = append(got, rowsOf(rec)...); return nil })
	if _, err := tab.Replace(companies(t, "ORCL", "Oracle"), "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := j.Process(&operators.Context{}, in); err != nil {
		t.Fatal(err)
	}
	want := []string{`{"ROWTIME":"1970-01-01 00:00:00.002","TICKER":"ORCL","PRICE":20,"Ticker":"ORCL","Company":"Oracle"}`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the reload got %v", got)
	}
}

func join(s []string) string {
	out := ""
	for _, x := range s {
		out += "  " + x + "\n"
	}
	return out
}

// TestIntIndex checks both layouts of the integer index against a map.
func TestIntIndex(t *testing.T) {
	for _, spread := range []int64{1, 7, 1 << 40, -977} {
		var keys []int64
		var ok []bool
		for i := 0; i < 3000; i++ {
			keys = append(keys, int64(i%1700)*spread)
			ok = append(ok, i%11 != 0)
		}
		x := newIntIndex(keys, ok)
		want := map[int64]int32{}
		for i, k := range keys {
			if ok[i] {
				x.put(k, int32(i))
				want[k] = int32(i)
			}
		}
		for _, k := range append(keys, 5555555, -3, 1<<50) {
			w, found := want[k]
			if !found {
				w = -1
			}
			if got := x.get(k); got != w {
				t.Fatalf("spread %d dense %v: key %d: got %d want %d", spread, x.dense, k, got, w)
			}
		}
	}
}

// TestReferenceJoinIntKeys: integer keys, one repeated, through the
// direct index.
func TestReferenceJoinIntKeys(t *testing.T) {
	schema := types.Schema{Fields: []types.Field{{Name: "ID", Type: types.TBigInt}, {Name: "N", Type: types.TInteger}}}
	tab, _ := reftable.New("T", schema)
	ib := array.NewInt64Builder(memory.DefaultAllocator)
	nb := array.NewInt32Builder(memory.DefaultAllocator)
	ib.AppendValues([]int64{1, 2, 1, 3}, nil)
	nb.AppendValues([]int32{10, 20, 11, 30}, nil)
	if _, err := tab.Replace(array.NewRecord(schema.Arrow(), []arrow.Array{ib.NewArray(), nb.NewArray()}, 4), "t", time.Now()); err != nil {
		t.Fatal(err)
	}
	k1, k3, k4 := int64(1), int64(3), int64(4)
	in := sideBatch([]trow{{t: 1, k: &k1, v: 100}, {t: 2, k: &k3, v: 101}, {t: 3, k: &k4, v: 102}})
	defer in.Release()
	j, err := NewRef(RefSpec{Input: sideSchema, Table: tab,
		StreamKeys: []expr.Expr{expr.Col(1, types.TInteger, "K")}, TableKeys: []expr.Expr{expr.Col(0, types.TBigInt, "ID")}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	j.SetEmit(func(rec arrow.Record) error {
		for i := 0; i < int(rec.NumRows()); i++ {
			got = append(got, fmt.Sprint(operators.ValueJSON(rec.Column(2), i), "-", operators.ValueJSON(rec.Column(4), i)))
		}
		return nil
	})
	if err := j.Process(&operators.Context{}, in); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[100-10 100-11 101-30]" {
		t.Fatalf("got %v", got)
	}
}
