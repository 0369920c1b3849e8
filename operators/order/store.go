package order

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/decimal128"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// ref is one buffered row: the chunk that holds it and its position there.
type ref struct {
	chunk int32
	row   int32
}

// chunk is a retained input batch and how many of its rows are still
// buffered.
type chunk struct {
	rec  arrow.Record
	live int
}

// store keeps the batches that buffered rows live in. Chunk ids are reused
// once a chunk has been released.
type store struct {
	chunks []chunk
	free   []int32
}

// add retains rec and returns its chunk id; live rows are counted by the
// caller with hold.
func (s *store) add(rec arrow.Record) int32 {
	rec.Retain()
	if n := len(s.free); n > 0 {
		id := s.free[n-1]
		s.free = s.free[:n-1]
		s.chunks[id] = chunk{rec: rec}
		return id
	}
	s.chunks = append(s.chunks, chunk{rec: rec})
	return int32(len(s.chunks) - 1)
}

func (s *store) hold(id int32) { s.chunks[id].live++ }

// drop releases a chunk that holds no buffered row (after add without hold).
func (s *store) dropIfEmpty(id int32) {
	if s.chunks[id].live == 0 && s.chunks[id].rec != nil {
		s.chunks[id].rec.Release()
		s.chunks[id].rec = nil
		s.free = append(s.free, id)
	}
}

// done says that the row r has been emitted or discarded.
func (s *store) done(r ref) {
	c := &s.chunks[r.chunk]
	c.live--
	s.dropIfEmpty(r.chunk)
}

// reset releases every chunk.
func (s *store) reset() {
	for i := range s.chunks {
		if s.chunks[i].rec != nil {
			s.chunks[i].rec.Release()
		}
	}
	s.chunks, s.free = nil, nil
}

// gather builds one record of schema from the rows refs, in that order.
// With rowtime set, column 0 (ROWTIME) takes those values instead.
// emit gathers the rows of refs (with the given ROWTIMEs) into one batch,
// marks them done and sends the batch. The caller clears its pending lists.
func (s *store) emit(mem memory.Allocator, schema *arrow.Schema, refs []ref, rowtime []int64, send func(arrow.Record) error) error {
	if len(refs) == 0 {
		return nil
	}
	out, err := s.gather(mem, schema, refs, rowtime)
	if err != nil {
		return err
	}
	defer out.Release()
	for _, r := range refs {
		s.done(r)
	}
	return send(out)
}

func (s *store) gather(mem memory.Allocator, schema *arrow.Schema, refs []ref, rowtime []int64) (arrow.Record, error) {
	cols := make([]arrow.Array, schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for c, f := range schema.Fields() {
		b := array.NewBuilder(mem, f.Type)
		b.Reserve(len(refs))
		if c == 0 && rowtime != nil {
			tb := b.(*array.TimestampBuilder)
			for _, t := range rowtime {
				tb.Append(arrow.Timestamp(t))
			}
		} else {
			for _, r := range refs {
				if err := appendValue(b, s.chunks[r.chunk].rec.Column(c), int(r.row)); err != nil {
					b.Release()
					return nil, fmt.Errorf("column %s: %w", f.Name, err)
				}
			}
		}
		cols[c] = b.NewArray()
		b.Release()
	}
	return array.NewRecord(schema, cols, int64(len(refs))), nil
}

// appendValue appends src[i] to b, which builds src's type.
func appendValue(b array.Builder, src arrow.Array, i int) error {
	if src.IsNull(i) {
		b.AppendNull()
		return nil
	}
	switch a := src.(type) {
	case *array.Boolean:
		b.(*array.BooleanBuilder).Append(a.Value(i))
	case *array.Int8:
		b.(*array.Int8Builder).Append(a.Value(i))
	case *array.Int16:
		b.(*array.Int16Builder).Append(a.Value(i))
	case *array.Int32:
		b.(*array.Int32Builder).Append(a.Value(i))
	case *array.Int64:
		b.(*array.Int64Builder).Append(a.Value(i))
	case *array.Float32:
		b.(*array.Float32Builder).Append(a.Value(i))
	case *array.Float64:
		b.(*array.Float64Builder).Append(a.Value(i))
	case *array.Decimal128:
		b.(*array.Decimal128Builder).Append(a.Value(i))
	case *array.String:
		b.(*array.StringBuilder).Append(a.Value(i))
	case *array.Binary:
		b.(*array.BinaryBuilder).Append(a.Value(i))
	case *array.Timestamp:
		b.(*array.TimestampBuilder).Append(a.Value(i))
	case *array.Date32:
		b.(*array.Date32Builder).Append(a.Value(i))
	case *array.Time32:
		b.(*array.Time32Builder).Append(a.Value(i))
	case *array.Duration:
		b.(*array.DurationBuilder).Append(a.Value(i))
	default:
		return fmt.Errorf("unsupported column type %s", src.DataType())
	}
	return nil
}

// writeRows writes the rows refs as one Arrow IPC stream, length-prefixed.
func (s *store) writeRows(w *bytes.Buffer, schema *arrow.Schema, refs []ref) error {
	rec, err := s.gather(memory.DefaultAllocator, schema, refs, nil)
	if err != nil {
		return err
	}
	defer rec.Release()
	var body bytes.Buffer
	iw := ipc.NewWriter(&body, ipc.WithSchema(schema))
	if err := iw.Write(rec); err != nil {
		return fmt.Errorf("write buffered rows: %w", err)
	}
	if err := iw.Close(); err != nil {
		return fmt.Errorf("write buffered rows: %w", err)
	}
	writeUvarint(w, uint64(body.Len()))
	w.Write(body.Bytes())
	return nil
}

// readRows reads what writeRows wrote as a new chunk (nil when empty).
func readRows(r *bytes.Reader, schema *arrow.Schema) (arrow.Record, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, fmt.Errorf("read buffered rows: %w", err)
	}
	if n > uint64(r.Len()) {
		return nil, fmt.Errorf("read buffered rows: %d bytes announced, %d left", n, r.Len())
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("read buffered rows: %w", err)
	}
	ir, err := ipc.NewReader(bytes.NewReader(body), ipc.WithSchema(schema))
	if err != nil {
		return nil, fmt.Errorf("read buffered rows: %w", err)
	}
	defer ir.Release()
	if !ir.Next() {
		if err := ir.Err(); err != nil {
			return nil, fmt.Errorf("read buffered rows: %w", err)
		}
		return nil, fmt.Errorf("read buffered rows: no record")
	}
	rec := ir.Record()
	if !rec.Schema().Equal(schema) {
		return nil, fmt.Errorf("read buffered rows: schema %s, expected %s", rec.Schema(), schema)
	}
	rec.Retain()
	return rec, nil
}

func writeUvarint(w *bytes.Buffer, v uint64) { w.Write(binary.AppendUvarint(nil, v)) }
func writeVarint(w *bytes.Buffer, v int64)   { w.Write(binary.AppendVarint(nil, v)) }

// keyVals holds one sort key's values for buffered rows, in a form that
// compares quickly: integers and datetimes as int64, floats as float64,
// strings and binaries as string, decimals as decimal128.
type keyVals struct {
	i    []int64
	f    []float64
	s    []string
	d    []decimal128.Num
	null []bool
}

func (k *keyVals) reset() {
	k.i, k.f, k.s, k.d, k.null = k.i[:0], k.f[:0], k.s[:0], k.d[:0], k.null[:0]
}

// appendFrom appends arr[i].
func (k *keyVals) appendFrom(arr arrow.Array, i int) error {
	null := arr.IsNull(i)
	k.null = append(k.null, null)
	var iv int64
	var fv float64
	var sv string
	var dv decimal128.Num
	if !null {
		switch a := arr.(type) {
		case *array.Boolean:
			if a.Value(i) {
				iv = 1
			}
		case *array.Int8:
			iv = int64(a.Value(i))
		case *array.Int16:
			iv = int64(a.Value(i))
		case *array.Int32:
			iv = int64(a.Value(i))
		case *array.Int64:
			iv = a.Value(i)
		case *array.Float32:
			fv = float64(a.Value(i))
		case *array.Float64:
			fv = a.Value(i)
		case *array.Decimal128:
			dv = a.Value(i)
		case *array.String:
			sv = a.Value(i)
		case *array.Binary:
			sv = string(a.Value(i))
		case *array.Timestamp:
			iv = int64(a.Value(i))
		case *array.Date32:
			iv = int64(a.Value(i))
		case *array.Time32:
			iv = int64(a.Value(i))
		case *array.Duration:
			iv = int64(a.Value(i))
		case *array.Null:
		default:
			return fmt.Errorf("cannot sort by a %s", arr.DataType())
		}
	}
	k.i, k.f, k.s, k.d = append(k.i, iv), append(k.f, fv), append(k.s, sv), append(k.d, dv)
	return nil
}

// cmp orders positions a and b, NULL first.
func (k *keyVals) cmp(a, b int) int {
	na, nb := k.null[a], k.null[b]
	switch {
	case na && nb:
		return 0
	case na:
		return -1
	case nb:
		return 1
	}
	if r := cmp3(k.i[a], k.i[b]); r != 0 {
		return r
	}
	if r := cmpFloat(k.f[a], k.f[b]); r != 0 {
		return r
	}
	if r := cmp3(k.s[a], k.s[b]); r != 0 {
		return r
	}
	return k.d[a].Cmp(k.d[b])
}

func cmp3[T int64 | string](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpFloat orders floats with NaN after every number.
func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	case a == b:
		return 0
	case a != a && b != b:
		return 0
	case a != a:
		return 1
	}
	return -1
}
