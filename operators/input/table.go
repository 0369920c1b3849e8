package input

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/kdaproject/kda/sql/types"
)

// A reference table's source is one whole file (or object, or query
// result) rather than a stream of records. DecodeTable maps it with the
// same Schema, column mapping and coercions as stream records, row by row,
// into one Arrow record without ROWTIME:
//
//	CSV   rows split by the row delimiter (quoted fields may hold delimiters)
//	JSON  a JSON array of documents, or JSON lines (one document per line;
//	      TableOptions.JSONLines for lines that are arrays themselves)
//
// Every row (CSV row, array element or line) is one record for the
// decoder: a row that does not fit the schema is a BadRow with its line
// number, and yields nothing.

// TableOptions bound and tune DecodeTable.
type TableOptions struct {
	// MaxRows fails the decode once more rows than this were decoded
	// (0: no limit).
	MaxRows int
	// MaxBadRows is how many bad rows are skipped before the decode fails
	// (0: the first bad row fails it).
	MaxBadRows int
	// SkipHeader drops the first CSV row (a header line of column names).
	SkipHeader bool
	// JSONLines reads JSON as one document per line even when the first
	// one is an array (by default a source that starts with '[' is one
	// JSON array of rows).
	JSONLines bool
}

// BadRow is a row of a table source that does not fit its schema.
type BadRow struct {
	// Line is the 1-based line the row starts on (for a JSON array, the
	// line of the element's first byte).
	Line int
	// Name is ErrParse or ErrCoercion.
	Name string
	// Message says what is wrong.
	Message string
	// Data is the row as the source holds it (a CSV row without its row
	// delimiter, a JSON document, or a postgres row as a JSON array), so
	// error_stream can show it.
	Data string
}

func (b BadRow) String() string { return fmt.Sprintf("line %d: %s", b.Line, b.Message) }

// TooManyBadRowsError fails a decode with more bad rows than
// TableOptions.MaxBadRows; Rows lists them (the last one tipped it over).
type TooManyBadRowsError struct {
	Max  int
	Rows []BadRow
}

func (e *TooManyBadRowsError) Error() string {
	last := e.Rows[len(e.Rows)-1]
	if e.Max == 0 {
		return fmt.Sprintf("line %d: %s (%s; a reference table loads only when every row fits its schema, unless maxBadRows allows some)", last.Line, last.Message, last.Name)
	}
	return fmt.Sprintf("more than %d bad rows; the last one: line %d: %s (%s)", e.Max, last.Line, last.Message, last.Name)
}

// TableSchema is the schema of DecodeTable's records for s: the mapped
// columns, in order, without ROWTIME.
func TableSchema(s Schema) (types.Schema, error) {
	c, err := compile(s.WithDefaults(), DecoderOptions{})
	if err != nil {
		return types.Schema{}, err
	}
	fs := make([]types.Field, len(c.cols))
	for i, col := range c.cols {
		fs[i] = types.Field{Name: col.name, Type: col.typ}
	}
	return types.Schema{Fields: fs}, nil
}

// DecodeTable maps a whole table source onto s's columns and returns the
// rows (the caller releases them) and the bad rows it skipped. It fails
// with a *TooManyBadRowsError once there are more than opts.MaxBadRows bad
// rows, or when there are more than opts.MaxRows rows.
func DecodeTable(s Schema, data []byte, opts TableOptions) (arrow.Record, []BadRow, error) {
	d, err := NewDecoder(s, DecoderOptions{})
	if err != nil {
		return nil, nil, err
	}
	td := &tableDecoder{d: d, opts: opts}
	if d.csv {
		err = td.csvRows(data)
	} else {
		err = td.jsonRows(data)
	}
	full := d.finish()
	defer full.Release()
	if err != nil {
		return nil, td.bad, err
	}
	cols := full.Columns()[2 : 2+d.ncols]
	ts := types.Schema{Fields: d.schema.Fields[2 : 2+d.ncols]}
	return array.NewRecord(ts.Arrow(), cols, full.NumRows()), td.bad, nil
}

// tableDecoder feeds one source's rows through a Decoder.
type tableDecoder struct {
	d    *Decoder
	opts TableOptions
	bad  []BadRow
	rows int
	// line counting: newlines in data[:lineOff] is line-1.
	lineOff, line int
}

// lineAt returns the 1-based line of data[off]; offsets must not go back.
func (t *tableDecoder) lineAt(data []byte, off int) int {
	if t.line == 0 {
		t.line = 1
	}
	t.line += bytes.Count(data[t.lineOff:off], []byte{'\n'})
	t.lineOff = off
	return t.line
}

// row decodes one row's bytes that start on line.
func (t *tableDecoder) row(data []byte, line int) error {
	var name string
	var err error
	if t.d.csv {
		name, err = t.d.stageCSV(data)
	} else {
		name, err = t.d.stageJSON(data)
	}
	if err != nil {
		t.bad = append(t.bad, BadRow{Line: line, Name: name, Message: err.Error(), Data: string(data)})
		if len(t.bad) > t.opts.MaxBadRows {
			return &TooManyBadRowsError{Max: t.opts.MaxBadRows, Rows: t.bad}
		}
		return nil
	}
	t.rows += t.d.rows
	if t.opts.MaxRows > 0 && t.rows > t.opts.MaxRows {
		return fmt.Errorf("line %d: more than %d rows (maxRows)", line, t.opts.MaxRows)
	}
	t.d.appendStaged(&Record{}, t.d.cells, t.d.rows)
	return nil
}

// csvRows splits data into CSV rows; quoted fields may hold delimiters.
func (t *tableDecoder) csvRows(data []byte) error {
	colDel, rowDel := t.d.colDel, t.d.rowDel
	var fields [][]byte
	var scratch []byte
	skip := t.opts.SkipHeader
	for pos := 0; pos < len(data); {
		start := pos
		var err error
		var empty bool
		fields, scratch, pos, empty, err = splitCSVRow(data, pos, colDel, rowDel, fields[:0], scratch[:0])
		line := t.lineAt(data, start)
		if err != nil {
			// The row's end cannot be found: nothing after it can be split.
			return fmt.Errorf("line %d: %w; the rows after it cannot be told apart, so the source cannot be loaded", line, err)
		}
		if empty {
			continue
		}
		if skip {
			skip = false
			continue
		}
		end := pos
		if bytes.HasSuffix(data[start:end], rowDel) {
			end -= len(rowDel)
		}
		if err := t.row(data[start:end], line); err != nil {
			return err
		}
	}
	return nil
}

// jsonRows reads a JSON array of documents, or JSON lines.
func (t *tableDecoder) jsonRows(data []byte) error {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) > 0 && trimmed[0] == '[' && !t.opts.JSONLines {
		return t.jsonArray(data)
	}
	for pos := 0; pos < len(data); {
		end := bytes.IndexByte(data[pos:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += pos
		}
		line := t.lineAt(data, pos)
		if len(bytes.TrimSpace(data[pos:end])) > 0 {
			if err := t.row(data[pos:end], line); err != nil {
				return err
			}
		}
		pos = end + 1
	}
	return nil
}

// jsonArray reads the elements of one top-level JSON array.
func (t *tableDecoder) jsonArray(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return t.fatal(data, int(dec.InputOffset()), err)
	}
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return t.fatal(data, int(dec.InputOffset()), err)
		}
		// InputOffset is after the element; find where it started.
		end := int(dec.InputOffset())
		start := end - len(raw)
		if err := t.row(raw, t.lineAt(data, start)); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return t.fatal(data, int(dec.InputOffset()), err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return t.fatal(data, int(dec.InputOffset()), fmt.Errorf("text after the closing ']' of the array"))
	}
	return nil
}

// fatal reports malformed JSON that ends the decode: no later row can be
// found.
func (t *tableDecoder) fatal(data []byte, off int, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = int(se.Offset)
	}
	off = min(max(off, t.lineOff), len(data))
	return fmt.Errorf("line %d: invalid JSON: %w; the elements after it cannot be told apart, so the source cannot be loaded", t.lineAt(data, off), err)
}
