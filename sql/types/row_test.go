package types

import (
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
)

func TestRowType(t *testing.T) {
	r := RowOf(Field{Name: "COLUMN1", Type: VarcharOf(1024)}, Field{Name: "at", Type: TTimestamp})
	if got, want := r.String(), `ROW(COLUMN1 VARCHAR(1024), "at" TIMESTAMP)`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	if r.FieldIndex("at") != 1 || r.FieldIndex("AT") != -1 || TInteger.FieldIndex("at") != -1 {
		t.Errorf("FieldIndex: %d %d", r.FieldIndex("at"), r.FieldIndex("AT"))
	}
	st, ok := r.Arrow().(*arrow.StructType)
	if !ok || st.NumFields() != 2 || st.Field(1).Name != "at" || !arrow.TypeEqual(st.Field(1).Type, TTimestamp.Arrow()) || !st.Field(0).Nullable {
		t.Errorf("Arrow() = %s", r.Arrow())
	}
	if r.Kind.String() != "ROW" {
		t.Errorf("kind %s", r.Kind)
	}
}
