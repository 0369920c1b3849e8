package input

import (
	"bytes"
	"fmt"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/sql/types"
)

// DecoderOptions are kda extensions to KDA's input mapping.
type DecoderOptions struct {
	// ExtraColumns appends PARTITION_KEY VARCHAR(256), SEQUENCE_NUMBER
	// VARCHAR(128) and SHARD_ID VARCHAR(64) to the output, filled from each
	// record's Kinesis metadata. KDA exposed these only to a Lambda
	// pre-processor; here SQL can read them directly.
	ExtraColumns bool
}

// Record is one stream record as the source operator hands it over.
type Record struct {
	Data []byte
	// Rowtime becomes ROWTIME of every row the record produces.
	Rowtime time.Time
	// ArrivalTime becomes APPROXIMATE_ARRIVAL_TIME; the zero time gives NULL.
	ArrivalTime    time.Time
	PartitionKey   string
	SequenceNumber string
	ShardID        string
}

// Error names of the rows a Decoder sends to error_stream.
const (
	// ErrParse: the record is not JSON, or not well-formed CSV.
	ErrParse = "PARSE_ERROR"
	// ErrCoercion: a value does not convert to its column's type.
	ErrCoercion = "COERCION_ERROR"
)

// Decoder turns raw records into Arrow batches of the input stream's schema.
// It reuses its staging and scratch memory between calls and is therefore
// not safe for concurrent use; run one decoder per input stream.
type Decoder struct {
	c      *compiled
	opts   DecoderOptions
	schema types.Schema
	arrow  *arrow.Schema
	csv    bool
	ncols  int // mapped columns

	// The batch being built: ROWTIME, APPROXIMATE_ARRIVAL_TIME, the mapped
	// columns and the extra columns (columns.go).
	rowtime *intColumn[int64]
	arrival *intColumn[int64]
	cols    []column
	extras  [3]*bytesColumn

	src      jsonSource
	fast     *extractor // nil when some mapping needs the parse tree
	fastCols []fastCol  // the fast path's appends (fastappend.go)
	cells    []cell
	scratch  []byte
	fields   [][]byte
	colDel   []byte
	rowDel   []byte
	rows     int // rows staged for the current record
}

// NewDecoder validates s (after defaults) and prepares a decoder for it.
func NewDecoder(s Schema, opts DecoderOptions) (*Decoder, error) {
	s = s.WithDefaults()
	c, err := compile(s, opts)
	if err != nil {
		return nil, err
	}
	d := &Decoder{c: c, opts: opts, ncols: len(c.cols), src: &fastSource{}}
	d.schema = outputSchema(c, opts)
	d.arrow = d.schema.Arrow()
	d.makeColumns()
	d.csv = s.RecordFormat.Type == FormatCSV
	d.colDel = []byte(s.RecordFormat.ColumnDelimiter)
	d.rowDel = []byte(s.RecordFormat.RowDelimiter)
	if !d.csv {
		if p := newExtractPlan(c); p != nil {
			d.fast = newExtractor(p, d.ncols)
			d.fastCols = newFastCols(d)
		}
	}
	return d, nil
}

// Schema is the schema of the decoder's batches: ROWTIME TIMESTAMP NOT NULL,
// APPROXIMATE_ARRIVAL_TIME TIMESTAMP, the mapped columns in order, then the
// extra columns when DecoderOptions.ExtraColumns is set.
func (d *Decoder) Schema() types.Schema { return d.schema }

// Decode converts recs into one batch. A record may produce several rows
// (several JSON documents or CSV rows in one payload, a flattened array) or
// none: a record that cannot be parsed, or one of whose values does not
// convert, produces no row at all and one RowError instead. The batch is
// never nil (it may have zero rows); the caller releases it. Its buffers
// are Go memory, which the collector frees.
func (d *Decoder) Decode(recs []Record) (arrow.Record, []operators.RowError) {
	d.reserve(len(recs))
	var errs []operators.RowError
	for i := range recs {
		rec := &recs[i]
		var name string
		var err error
		switch {
		case d.csv:
			name, err = d.stageCSV(rec.Data)
		case d.fast != nil:
			var ok bool
			if ok, name, err = d.appendFast(rec); ok {
				if err != nil {
					errs = append(errs, recordError(rec, name, err))
				}
				continue
			}
			name, err = d.stageJSON(rec.Data)
		default:
			name, err = d.stageJSON(rec.Data)
		}
		if err != nil {
			errs = append(errs, recordError(rec, name, err))
			continue
		}
		d.appendStaged(rec, d.cells, d.rows)
	}
	return d.finish(), errs
}

// recordError is the error_stream row of a record that gave no row.
func recordError(rec *Record, name string, err error) operators.RowError {
	return operators.RowError{
		Time:        rec.Rowtime,
		Level:       "ERROR",
		Name:        name,
		Message:     err.Error(),
		DataRowtime: rec.Rowtime,
		DataRow:     string(rec.Data),
	}
}

// makeColumns makes a column for each field of the output schema.
func (d *Decoder) makeColumns() {
	fields := d.schema.Fields
	d.rowtime = newColumn(types.Timestamp, d.arrow.Field(0).Type).(*intColumn[int64])
	d.arrival = newColumn(types.Timestamp, d.arrow.Field(1).Type).(*intColumn[int64])
	d.cols = make([]column, d.ncols)
	for i := range d.cols {
		d.cols[i] = newColumn(fields[2+i].Type.Kind, d.arrow.Field(2+i).Type)
	}
	if d.opts.ExtraColumns {
		for i := range d.extras {
			d.extras[i] = newColumn(types.Varchar, d.arrow.Field(2+d.ncols+i).Type).(*bytesColumn)
		}
	}
}

// reserve makes room for n more rows in every column.
func (d *Decoder) reserve(n int) {
	d.rowtime.reserve(n)
	d.arrival.reserve(n)
	for _, c := range d.cols {
		c.reserve(n)
	}
	if d.opts.ExtraColumns {
		for _, c := range d.extras {
			c.reserve(n)
		}
	}
}

// finish returns the rows appended since the last call as a batch.
func (d *Decoder) finish() arrow.Record {
	cols := make([]arrow.Array, 0, 2+d.ncols+len(d.extras))
	cols = append(cols, d.rowtime.finish(), d.arrival.finish())
	for _, c := range d.cols {
		cols = append(cols, c.finish())
	}
	if d.opts.ExtraColumns {
		for _, c := range d.extras {
			cols = append(cols, c.finish())
		}
	}
	rec := array.NewRecord(d.arrow, cols, int64(cols[0].Len()))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// startRecord clears the staging area.
func (d *Decoder) startRecord() {
	d.cells = d.cells[:0]
	d.scratch = d.scratch[:0]
	d.rows = 0
}

// newRow stages an all-NULL row and returns its cells.
func (d *Decoder) newRow() []cell {
	n := len(d.cells)
	for range d.ncols {
		d.cells = append(d.cells, cell{})
	}
	d.rows++
	return d.cells[n:]
}

// colErr formats a coercion failure of column i.
func (d *Decoder) colErr(i int, err error) error {
	col := &d.c.cols[i]
	if col.path != nil {
		return fmt.Errorf("column %q (%s) at %s: %w", col.name, col.typ, col.path.text, err)
	}
	return fmt.Errorf("column %q (%s), field %d: %w", col.name, col.typ, i+1, err)
}

// appendStaged appends the n rows of rec staged in cells to the columns,
// column by column.
func (d *Decoder) appendStaged(rec *Record, cells []cell, n int) {
	if n == 0 {
		return
	}
	for ci, b := range d.cols {
		for r := 0; r < n; r++ {
			c := &cells[r*d.ncols+ci]
			if !c.valid {
				b.appendNull()
				continue
			}
			b.appendCell(c)
		}
	}
	d.appendRowMeta(rec, n)
}

// appendRowMeta appends ROWTIME, APPROXIMATE_ARRIVAL_TIME and the extra
// columns of rec to n rows.
func (d *Decoder) appendRowMeta(rec *Record, n int) {
	rt, at := rec.Rowtime.UnixMilli(), rec.ArrivalTime.UnixMilli()
	for range n {
		d.rowtime.appendValue(rt)
		if rec.ArrivalTime.IsZero() {
			d.arrival.appendNull()
		} else {
			d.arrival.appendValue(at)
		}
	}
	if d.opts.ExtraColumns {
		for range n {
			d.extras[0].appendString(rec.PartitionKey)
			d.extras[1].appendString(rec.SequenceNumber)
			d.extras[2].appendString(rec.ShardID)
		}
	}
}

// stageJSON parses one payload of one or more concatenated JSON documents
// and stages its rows.
func (d *Decoder) stageJSON(data []byte) (string, error) {
	d.startRecord()
	d.src.init(data)
	docs := 0
	for {
		root, ok := d.src.next()
		if !ok {
			break
		}
		docs++
		row := d.walk(root, d.c.rowPath.head)
		if d.c.rowPath.all {
			n, isArray := d.src.length(row)
			if !isArray {
				return ErrParse, fmt.Errorf("document %d: no array at record row path %s", docs, d.c.rowPath.text)
			}
			for i := range n {
				if err := d.stageRow(d.src.index(row, i)); err != nil {
					return ErrCoercion, fmt.Errorf("row %d of document %d: %w", i+1, docs, err)
				}
			}
			continue
		}
		if row == nil {
			return ErrParse, fmt.Errorf("document %d: nothing at record row path %s", docs, d.c.rowPath.text)
		}
		if err := d.stageRow(row); err != nil {
			if docs > 1 {
				err = fmt.Errorf("document %d: %w", docs, err)
			}
			return ErrCoercion, err
		}
	}
	if err := d.src.err(); err != nil {
		return ErrParse, fmt.Errorf("invalid JSON in document %d: %w", docs+1, err)
	}
	if docs == 0 {
		return ErrParse, fmt.Errorf("empty record: no JSON document")
	}
	return "", nil
}

// walk follows segs from n; nil means missing.
func (d *Decoder) walk(n any, segs []segment) any {
	for i := range segs {
		if n == nil {
			return nil
		}
		if segs[i].kind == segKey {
			n = d.src.member(n, segs[i].key)
		} else {
			n = d.src.index(n, segs[i].index)
		}
	}
	return n
}

// stageRow stages the rows of one record row: one, or one per element of
// the flattened array.
func (d *Decoder) stageRow(row any) error {
	start := len(d.cells)
	base := d.newRow()
	var v jval
	for i := range d.c.cols {
		col := &d.c.cols[i]
		if col.path.flattens() {
			continue
		}
		v, d.scratch = d.src.value(d.walk(row, col.path.head), d.scratch)
		if err := coerce(col.typ, v, &base[i]); err != nil {
			return d.colErr(i, err)
		}
	}
	if len(d.c.flatten) == 0 {
		return nil
	}
	first := &d.c.cols[d.c.flatten[0]]
	arr := d.walk(row, first.path.head)
	n, isArray := d.src.length(arr)
	if !isArray && arr != nil {
		if v, _ := d.src.value(arr, nil); v.kind != jNull {
			return d.colErr(d.c.flatten[0], fmt.Errorf("cannot flatten a %s: not an array", jkindNames[v.kind]))
		}
	}
	if n == 0 {
		// An empty (or missing) array gives one row with NULL flattened
		// columns, which base already is.
		for _, i := range d.c.flatten {
			if d.c.cols[i].typ.NotNull {
				return d.colErr(i, fmt.Errorf("NULL for a NOT NULL column (empty array)"))
			}
		}
		return nil
	}
	for e := range n {
		cells := d.cells[start : start+d.ncols]
		if e > 0 {
			cells = d.newRow()
			copy(cells, d.cells[start:start+d.ncols])
		}
		elem := d.src.index(arr, e)
		for _, i := range d.c.flatten {
			col := &d.c.cols[i]
			v, d.scratch = d.src.value(d.walk(elem, col.path.tail), d.scratch)
			if err := coerce(col.typ, v, &cells[i]); err != nil {
				return fmt.Errorf("array element %d: %w", e, d.colErr(i, err))
			}
		}
	}
	return nil
}

// stageCSV splits one payload into rows and stages them. Fields map to
// columns by position; missing trailing fields are NULL, extra fields are
// ignored, and an empty field is NULL except in CHAR/VARCHAR columns where
// it is the empty string. Empty lines are skipped.
func (d *Decoder) stageCSV(data []byte) (string, error) {
	d.startRecord()
	pos, rowNum := 0, 0
	for pos < len(data) {
		var err error
		var empty bool
		rowNum++
		d.fields, d.scratch, pos, empty, err = splitCSVRow(data, pos, d.colDel, d.rowDel, d.fields[:0], d.scratch)
		if err != nil {
			return ErrParse, fmt.Errorf("row %d: %w", rowNum, err)
		}
		if empty {
			continue
		}
		cells := d.newRow()
		for i := range d.c.cols {
			v := jval{kind: jMissing}
			if i < len(d.fields) {
				v = jval{kind: jString, raw: d.fields[i]}
				if len(v.raw) == 0 && !d.c.cols[i].typ.IsString() {
					v.kind = jNull
				}
			}
			if err := coerce(d.c.cols[i].typ, v, &cells[i]); err != nil {
				err = d.colErr(i, err)
				if rowNum > 1 {
					err = fmt.Errorf("row %d: %w", rowNum, err)
				}
				return ErrCoercion, err
			}
		}
	}
	if d.rows == 0 {
		return ErrParse, fmt.Errorf("empty record: no CSV row")
	}
	return "", nil
}

// splitCSVRow reads the row starting at data[pos] into fields and returns
// the offset of the next row. Quoted fields ("a,b", "say ""hi""") may hold
// delimiters; their unquoted text is appended to scratch. With the row
// delimiter "\n", a "\r" before it is dropped. empty reports a row with no
// text at all.
func splitCSVRow(data []byte, pos int, colDel, rowDel []byte, fields [][]byte, scratch []byte) (_ [][]byte, _ []byte, next int, empty bool, err error) {
	crlf := len(rowDel) == 1 && rowDel[0] == '\n'
	i := pos
	for {
		if i < len(data) && data[i] == '"' {
			start := len(scratch)
			j := i + 1
			for {
				if j >= len(data) {
					return fields, scratch, 0, false, fmt.Errorf("unterminated quoted field starting at byte %d", i)
				}
				if data[j] == '"' {
					if j+1 < len(data) && data[j+1] == '"' {
						scratch = append(scratch, '"')
						j += 2
						continue
					}
					j++
					break
				}
				scratch = append(scratch, data[j])
				j++
			}
			fields = append(fields, scratch[start:len(scratch):len(scratch)])
			i = j
			if crlf && i < len(data) && data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
				i++
			}
			switch {
			case bytes.HasPrefix(data[i:], colDel):
				i += len(colDel)
				continue
			case i == len(data):
				return fields, scratch, i, false, nil
			case bytes.HasPrefix(data[i:], rowDel):
				return fields, scratch, i + len(rowDel), false, nil
			default:
				return fields, scratch, 0, false, fmt.Errorf("unexpected %q after the closing quote at byte %d", data[i], i)
			}
		}
		j := i
		for j < len(data) {
			if bytes.HasPrefix(data[j:], colDel) {
				fields = append(fields, data[i:j:j])
				i = j + len(colDel)
				break
			}
			if bytes.HasPrefix(data[j:], rowDel) {
				f := data[i:j:j]
				if crlf && len(f) > 0 && f[len(f)-1] == '\r' {
					f = f[:len(f)-1]
				}
				if len(fields) == 0 && len(f) == 0 {
					return fields, scratch, j + len(rowDel), true, nil
				}
				fields = append(fields, f)
				return fields, scratch, j + len(rowDel), false, nil
			}
			j++
		}
		if j == len(data) {
			f := data[i:j:j]
			if crlf && len(f) > 0 && f[len(f)-1] == '\r' {
				f = f[:len(f)-1]
			}
			if len(fields) == 0 && len(f) == 0 {
				return fields, scratch, j, true, nil
			}
			fields = append(fields, f)
			return fields, scratch, j, false, nil
		}
	}
}
