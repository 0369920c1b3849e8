package pipeline

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/sql/types"
)

var testSchema = types.Schema{Fields: []types.Field{
	{Name: "ROWTIME", Type: types.Type{Kind: types.Timestamp, NotNull: true}},
	{Name: "TICKER", Type: types.VarcharOf(8)},
	{Name: "PRICE", Type: types.TDouble},
}}

func batch(t *testing.T, mem memory.Allocator, rows ...[3]any) arrow.Record {
	t.Helper()
	b := array.NewRecordBuilder(mem, testSchema.Arrow())
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(r[0].(int)))
		if r[1] == nil {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(r[1].(string))
		}
		if r[2] == nil {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.Float64Builder).Append(r[2].(float64))
		}
	}
	return b.NewRecord()
}

// collect is a Subscriber that renders what it receives.
type collect struct {
	rows  []string
	beats []time.Time
}

func (c *collect) Process(_ *operators.Context, rec arrow.Record) error {
	for i := 0; i < int(rec.NumRows()); i++ {
		c.rows = append(c.rows, operators.RowJSON(rec, i))
	}
	return nil
}

func (c *collect) Advance(_ *operators.Context, now time.Time) error {
	c.beats = append(c.beats, now)
	return nil
}

func TestStreamInsertSendsOutOfOrderRowsToErrorStream(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	s, err := NewStream("S", testSchema)
	if err != nil {
		t.Fatal(err)
	}
	es, _ := NewStream(ErrorStreamName, ErrorSchema)
	errs := &collect{}
	es.Subscribe(errs)
	out := &collect{}
	s.Subscribe(out)
	ec := NewErrorCollector(es)
	ctx := &operators.Context{Mem: mem, Errors: ec, Pump: "P1"}

	first := batch(t, mem, [3]any{1000, "A", 1.5}, [3]any{2000, nil, nil})
	second := batch(t, mem, [3]any{1500, "LATE", 2.0}, [3]any{2000, "B", 3.25}, [3]any{500, "LATER", 4.0}, [3]any{3000, "C", 1e-9})
	defer first.Release()
	defer second.Release()
	if err := s.Insert(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := s.Insert(ctx, second); err != nil {
		t.Fatal(err)
	}
	if err := ec.Flush(mem); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"ROWTIME":"1970-01-01 00:00:01.000","TICKER":"A","PRICE":1.5}`,
		`{"ROWTIME":"1970-01-01 00:00:02.000","TICKER":null,"PRICE":null}`,
		`{"ROWTIME":"1970-01-01 00:00:02.000","TICKER":"B","PRICE":3.25}`,
		`{"ROWTIME":"1970-01-01 00:00:03.000","TICKER":"C","PRICE":1e-09}`,
	}
	if strings.Join(out.rows, "\n") != strings.Join(want, "\n") {
		t.Fatalf("stream rows:\n%s\nwant:\n%s", strings.Join(out.rows, "\n"), strings.Join(want, "\n"))
	}
	if len(errs.rows) != 2 {
		t.Fatalf("error_stream has %d rows: %v", len(errs.rows), errs.rows)
	}
	for i, ticker := range []string{"LATE", "LATER"} {
		r := errs.rows[i]
		if !strings.Contains(r, `"ERROR_NAME":"OUT_OF_ORDER"`) || !strings.Contains(r, `"PUMP_NAME":"P1"`) || !strings.Contains(r, `\"TICKER\":\"`+ticker+`\"`) {
			t.Errorf("error row %d = %s", i, r)
		}
	}
	if lt, ok := s.LastRowtime(); !ok || lt.UnixMilli() != 3000 {
		t.Errorf("last rowtime %v %v", lt, ok)
	}
}

func TestAdvanceIgnoresHeartbeatsThatGoBack(t *testing.T) {
	s, _ := NewStream("S", testSchema)
	c := &collect{}
	s.Subscribe(c)
	ctx := &operators.Context{Mem: memory.DefaultAllocator}
	for _, ms := range []int64{10, 5, 20} {
		if err := s.Advance(ctx, time.UnixMilli(ms)); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.beats) != 2 || c.beats[1].UnixMilli() != 20 {
		t.Fatalf("beats %v", c.beats)
	}
}

func TestNewStreamRequiresRowtimeFirst(t *testing.T) {
	if _, err := NewStream("S", types.Schema{Fields: []types.Field{{Name: "A", Type: types.TInteger}}}); err == nil {
		t.Fatal("a schema without ROWTIME was accepted")
	}
}
