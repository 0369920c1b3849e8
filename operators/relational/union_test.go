package relational

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators"
)

// rowsAt builds a batch of schema's rows at the given ROWTIMEs (ms), S
// naming each row.
func rowsAt(names []string, at ...int64) arrow.Record {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema.Arrow())
	defer b.Release()
	for i, t := range at {
		b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(t))
		b.Field(1).(*array.StringBuilder).Append(names[i])
		b.Field(2).(*array.Int64Builder).Append(int64(i))
	}
	return b.NewRecord()
}

func names(rows []string) string {
	var out []string
	for _, r := range rows {
		i := strings.Index(r, `"S":"`)
		out = append(out, r[i+5:i+5+strings.Index(r[i+5:], `"`)])
	}
	return strings.Join(out, " ")
}

func TestMergeReleasesRowsEveryBranchIsPastInRowtimeOrder(t *testing.T) {
	m, err := NewMerge(schema, 2)
	if err != nil {
		t.Fatal(err)
	}
	out := &sink{}
	m.SetEmit(out.emit)
	ctx := &operators.Context{Mem: memory.DefaultAllocator, Errors: out}
	send := func(branch int, rec arrow.Record) {
		defer rec.Release()
		if err := m.Branch(branch)(rec); err != nil {
			t.Fatal(err)
		}
	}
	send(0, rowsAt([]string{"a1", "a5"}, 1, 5))
	if err := m.Progress(ctx, 0, 5); err != nil {
		t.Fatal(err)
	}
	if len(out.rows) != 0 {
		t.Fatalf("released %v before branch 2 made progress", names(out.rows))
	}
	send(1, rowsAt([]string{"b1", "b3", "b5"}, 1, 3, 5))
	if err := m.Progress(ctx, 1, 5); err != nil {
		t.Fatal(err)
	}
	// Rows at 5 wait: either branch may still emit another row at 5.
	if got := names(out.rows); got != "a1 b1 b3" {
		t.Fatalf("released %q, want a1 b1 b3", got)
	}

	// A restored Merge holds the same rows and progress.
	var snap bytes.Buffer
	if err := m.Snapshot(&snap); err != nil {
		t.Fatal(err)
	}
	m2, _ := NewMerge(schema, 2)
	if err := m2.Restore(bytes.NewReader(snap.Bytes())); err != nil {
		t.Fatal(err)
	}
	out2 := &sink{}
	m2.SetEmit(out2.emit)
	for _, mm := range []*Merge{m, m2} {
		if err := mm.Advance(ctx, time.UnixMilli(9)); err != nil {
			t.Fatal(err)
		}
		if err := mm.Progress(ctx, 0, 9); err != nil {
			t.Fatal(err)
		}
		if err := mm.Progress(ctx, 1, 9); err != nil {
			t.Fatal(err)
		}
	}
	if got := names(out.rows[3:]); got != "a5 b5" {
		t.Fatalf("released %q after the heartbeat, want a5 b5", got)
	}
	if got := names(out2.rows); got != "a5 b5" {
		t.Fatalf("the restored merge released %q, want a5 b5", got)
	}
}

func TestMergeNeedsTwoBranches(t *testing.T) {
	if _, err := NewMerge(schema, 1); err == nil {
		t.Fatal("a merge of one branch was accepted")
	}
}
