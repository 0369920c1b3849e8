package input

import (
	"bytes"

	"github.com/kdaproject/kda/sql/types"
)

// The fast path appends a record's values straight into the columns, with
// no staged row in between: the kinds of value a JSON stream mostly holds
// — integers for integer columns, strings for string and datetime columns,
// missing or null for nullable ones — are converted and stored in one step
// by the column's own typed code; any other value goes through coerce and a
// cell, as the tree-based path does, so both give the same rows and errors.
// When a value fails to convert, the values of the record already appended
// to earlier columns are dropped again (column.dropLast), so the record
// leaves no row behind.

// fastCol is how the fast path appends to one mapped column.
type fastCol struct {
	typ *types.Type
	col column

	// At most one of these is set: the typed column a common value goes
	// straight into.
	i64 *intColumn[int64] // BIGINT, TIMESTAMP
	i32 *intColumn[int32] // INTEGER, DATE, TIME
	str *bytesColumn      // CHAR, VARCHAR
}

// newFastCols prepares the fast appends of d's mapped columns.
func newFastCols(d *Decoder) []fastCol {
	fc := make([]fastCol, d.ncols)
	for i := range fc {
		t := &d.c.cols[i].typ
		f := fastCol{typ: t, col: d.cols[i]}
		switch c := d.cols[i].(type) {
		case *intColumn[int64]:
			f.i64 = c
		case *intColumn[int32]:
			f.i32 = c
		case *bytesColumn:
			if t.Kind == types.Char || t.Kind == types.Varchar {
				f.str = c
			}
		}
		fc[i] = f
	}
	return fc
}

// appendFast decodes rec by the fast path and appends its row. ok is false
// when the fast path gives up on the record and nothing was appended; a
// conversion error leaves nothing appended either.
func (d *Decoder) appendFast(rec *Record) (ok bool, name string, err error) {
	x, data := d.fast, rec.Data
	if !x.extract(data) {
		return false, "", nil
	}
	for i := range d.fastCols {
		if err := d.fastCols[i].append(x, data, i); err != nil {
			for j := range i {
				d.cols[j].dropLast()
			}
			return true, ErrCoercion, d.colErr(i, err)
		}
	}
	d.appendRowMeta(rec, 1)
	return true, "", nil
}

// append converts the value x found for column i of data and appends it.
func (f *fastCol) append(x *extractor, data []byte, i int) error {
	v := x.vals[i]
	switch v.kind {
	case jMissing, jNull:
		if !f.typ.NotNull {
			f.col.appendNull()
			return nil
		}
	case jNumber:
		raw := data[v.lo:v.hi]
		switch {
		case f.i64 != nil && f.typ.Kind == types.BigInt:
			if n, ok := parseSmallInt(raw, 64); ok {
				f.i64.appendValue(n)
				return nil
			}
		case f.i32 != nil && f.typ.Kind == types.Integer:
			if n, ok := parseSmallInt(raw, 32); ok {
				f.i32.appendValue(int32(n))
				return nil
			}
		}
	case jString:
		raw := data[v.lo:v.hi]
		if v.esc {
			raw = x.scratch[v.lo:v.hi]
		}
		switch {
		case f.str != nil:
			// A string taken unescaped from a record of valid UTF-8 is
			// valid; an unescaped one is checked by coerce.
			if x.utf8 && !v.esc {
				f.str.appendBytes(truncateRunes(raw, f.typ.Length))
				return nil
			}
		case f.i64 != nil && f.typ.Kind == types.Timestamp:
			if ms, err := parseDatetime(bytes.TrimSpace(raw), f.typ.Kind); err == nil {
				f.i64.appendValue(ms)
				return nil
			}
		case f.i32 != nil && (f.typ.Kind == types.Date || f.typ.Kind == types.Time):
			if ms, err := parseDatetime(bytes.TrimSpace(raw), f.typ.Kind); err == nil {
				f.i32.appendValue(int32(ms))
				return nil
			}
		}
	}
	var c cell
	if err := coerceFast(f.typ, x.value(data, i), &c); err != nil {
		return err
	}
	if c.valid {
		f.col.appendCell(&c)
	} else {
		f.col.appendNull()
	}
	return nil
}
