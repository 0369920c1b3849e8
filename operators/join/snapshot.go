package join

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// A stream join's snapshot: "KDAJ" | version | clock | lastOut | per side:
// base, processed, dead, maxT, beat (varints), matched flags, and the
// side's held rows as an Arrow IPC stream.
const snapVersion = 1

// Snapshot implements operators.Stateful.
func (j *StreamJoin) Snapshot(w io.Writer) error {
	var b []byte
	b = append(b, "KDAJ"...)
	b = append(b, snapVersion)
	b = binary.AppendVarint(b, j.clock)
	b = binary.AppendVarint(b, j.lastOut)
	for _, s := range j.sides {
		for _, v := range []int64{s.base, s.processed, s.dead, s.maxT, s.beat} {
			b = binary.AppendVarint(b, v)
		}
		b = binary.AppendUvarint(b, uint64(len(s.t)))
		for _, m := range s.matched {
			if m {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		}
		seqs := make([]int64, len(s.t))
		for i := range seqs {
			seqs[i] = s.base + int64(i)
		}
		rec := j.sideRecord(s, seqs)
		var body bytes.Buffer
		iw := ipc.NewWriter(&body, ipc.WithSchema(rec.Schema()))
		err := iw.Write(rec)
		rec.Release()
		if err == nil {
			err = iw.Close()
		}
		if err != nil {
			return fmt.Errorf("join snapshot: %w", err)
		}
		b = binary.AppendUvarint(b, uint64(body.Len()))
		b = append(b, body.Bytes()...)
	}
	_, err := w.Write(b)
	return err
}

// sideRecord copies side s's rows seqs into one record of its schema.
func (j *StreamJoin) sideRecord(s *side, seqs []int64) arrow.Record {
	mem := memory.DefaultAllocator
	seg := make([]int32, len(seqs))
	row := make([]int32, len(seqs))
	for k, q := range seqs {
		i := q - s.base
		seg[k], row[k] = int32(s.sid[i]-s.segBase), s.row[i]
	}
	cols := make([]arrow.Array, len(s.schema.Fields))
	srcs := make([]arrow.Array, len(s.segs))
	for c, f := range s.schema.Fields {
		for g, r := range s.segs {
			srcs[g] = r.Column(c)
		}
		cols[c] = gather(mem, f.Type.Arrow(), srcs, seg, row)
	}
	out := array.NewRecord(s.schema.Arrow(), cols, int64(len(seqs)))
	for _, c := range cols {
		c.Release()
	}
	return out
}

// Restore implements operators.Stateful, into a join built from the same
// spec that has seen no rows.
func (j *StreamJoin) Restore(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return nil
	}
	rd := bytes.NewReader(data)
	head := make([]byte, 5)
	if _, err := io.ReadFull(rd, head); err != nil || string(head[:4]) != "KDAJ" || head[4] != snapVersion {
		return errors.New("join restore: not a join snapshot of this version")
	}
	bad := func(err error) error { return fmt.Errorf("join restore: truncated snapshot: %v", err) }
	if j.clock, err = binary.ReadVarint(rd); err != nil {
		return bad(err)
	}
	if j.lastOut, err = binary.ReadVarint(rd); err != nil {
		return bad(err)
	}
	for _, s := range j.sides {
		var vals [5]int64
		for i := range vals {
			if vals[i], err = binary.ReadVarint(rd); err != nil {
				return bad(err)
			}
		}
		s.base, s.processed, s.dead, s.maxT, s.beat = vals[0], vals[1], vals[2], vals[3], vals[4]
		n, err := binary.ReadUvarint(rd)
		if err != nil || n > uint64(rd.Len()) {
			return bad(err)
		}
		s.matched = make([]bool, n)
		for i := range s.matched {
			c, err := rd.ReadByte()
			if err != nil {
				return bad(err)
			}
			s.matched[i] = c == 1
		}
		size, err := binary.ReadUvarint(rd)
		if err != nil || size > uint64(rd.Len()) {
			return bad(err)
		}
		body := make([]byte, size)
		if _, err := io.ReadFull(rd, body); err != nil {
			return bad(err)
		}
		ir, err := ipc.NewReader(bytes.NewReader(body), ipc.WithSchema(s.schema.Arrow()))
		if err != nil {
			return fmt.Errorf("join restore: %w", err)
		}
		if !ir.Next() {
			ir.Release()
			return fmt.Errorf("join restore: no rows record: %v", ir.Err())
		}
		rec := ir.Record()
		rec.Retain()
		ir.Release()
		if int(rec.NumRows()) != int(n) {
			rec.Release()
			return errors.New("join restore: row count mismatch")
		}
		s.segs, s.segBase = []arrow.Record{rec}, 0
		s.t, s.sid, s.row, s.kid, s.next = make([]int64, n), make([]int64, n), make([]int32, n), make([]int32, n), make([]int64, n)
		if err := s.codec.eval(nil, rec, &s.kc); err != nil {
			return fmt.Errorf("join restore: %w", err)
		}
		times := rec.Column(0).(*array.Timestamp).TimestampValues()
		for i := range s.t {
			s.t[i], s.row[i] = int64(times[i]), int32(i)
			s.kid[i] = -1
			if s.kc.OK[i] {
				if s.codec.ints {
					s.kid[i] = j.keys.id(true, s.kc.I[i], "")
				} else {
					s.kid[i] = j.keys.id(false, 0, s.kc.S[i])
				}
				if seq := s.base + int64(i); seq < s.processed {
					j.keys.push(s, s.kid[i], seq)
				}
			}
		}
	}
	return nil
}
