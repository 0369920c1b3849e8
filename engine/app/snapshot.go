package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/kdaproject/kda/operators"
)

// A runtime snapshot holds, for a definition identified by a fingerprint of
// its SQL and input schema: every stream's ROWTIME floor and the state of
// every stateful operator, pump by pump. It is restored into a freshly
// compiled runtime of the same definition.
//
//	"KDAS" | version:1 | fingerprint:32 | streams:uvarint × (name, lastMs:varint, has:1)
//	       | pumps:uvarint × (name, ops:uvarint × (stateLen:uvarint, state))
const snapshotVersion = 1

// Fingerprint identifies what a snapshot can be restored into: the SQL and
// the input schema. Any change makes old snapshots unusable.
func (r *Runtime) Fingerprint() [32]byte {
	h := sha256.New()
	h.Write([]byte(r.def.SQL))
	fmt.Fprintf(h, "\x00%+v\x00%d\x00%s\x00%v\x00%+v", r.def.Input.Schema, r.def.Input.Parallelism, r.def.Input.NamePrefix, r.def.Input.ExtraColumns, r.def.EventTime)
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// Snapshot writes the runtime's state. Call it between Push and Advance
// calls, never during one.
func (r *Runtime) Snapshot(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString("KDAS")
	b.WriteByte(snapshotVersion)
	fp := r.Fingerprint()
	b.Write(fp[:])
	writeUvarint(&b, uint64(len(r.plan.Streams)))
	for _, s := range r.plan.Streams {
		writeString(&b, s.Name)
		t, ok := r.streams[s.Name].LastRowtime()
		writeVarint(&b, t.UnixMilli())
		if ok {
			b.WriteByte(1)
		} else {
			b.WriteByte(0)
		}
	}
	writeUvarint(&b, uint64(len(r.pumps)))
	for _, p := range r.pumps {
		writeString(&b, p.name)
		writeUvarint(&b, uint64(len(p.ops)))
		for _, op := range p.ops {
			var state bytes.Buffer
			if st, ok := op.(operators.Stateful); ok {
				if err := st.Snapshot(&state); err != nil {
					return fmt.Errorf("snapshot pump %s: %w", p.name, err)
				}
			}
			writeUvarint(&b, uint64(state.Len()))
			b.Write(state.Bytes())
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// Restore loads a snapshot taken from a runtime of the same definition.
func (r *Runtime) Restore(data []byte) error {
	rd := bytes.NewReader(data)
	head := make([]byte, 5+32)
	if _, err := io.ReadFull(rd, head); err != nil || string(head[:4]) != "KDAS" {
		return errors.New("restore: not a kda application snapshot")
	}
	if head[4] != snapshotVersion {
		return fmt.Errorf("restore: snapshot version %d, this kda reads %d", head[4], snapshotVersion)
	}
	if fp := r.Fingerprint(); !bytes.Equal(head[5:], fp[:]) {
		return errors.New("restore: the snapshot is of a different SQL or input schema")
	}
	n, err := binary.ReadUvarint(rd)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	for i := uint64(0); i < n; i++ {
		name, err := readString(rd)
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		ms, err := binary.ReadVarint(rd)
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		has, err := rd.ReadByte()
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		if s, ok := r.streams[name]; ok && has == 1 {
			s.SetLastRowtime(time.UnixMilli(ms))
		}
	}
	np, err := binary.ReadUvarint(rd)
	if err != nil || int(np) != len(r.pumps) {
		return fmt.Errorf("restore: the snapshot has %d pumps, the application %d", np, len(r.pumps))
	}
	for _, p := range r.pumps {
		name, err := readString(rd)
		if err != nil || name != p.name {
			return fmt.Errorf("restore: pump %q in the snapshot, %q in the application", name, p.name)
		}
		nops, err := binary.ReadUvarint(rd)
		if err != nil || int(nops) != len(p.ops) {
			return fmt.Errorf("restore: pump %s has %d operators in the snapshot, %d now", p.name, nops, len(p.ops))
		}
		for _, op := range p.ops {
			size, err := binary.ReadUvarint(rd)
			if err != nil || size > uint64(rd.Len()) {
				return fmt.Errorf("restore: pump %s: truncated snapshot", p.name)
			}
			state := make([]byte, size)
			if _, err := io.ReadFull(rd, state); err != nil {
				return fmt.Errorf("restore: pump %s: %w", p.name, err)
			}
			if st, ok := op.(operators.Stateful); ok {
				if err := st.Restore(bytes.NewReader(state)); err != nil {
					return fmt.Errorf("restore: pump %s: %w", p.name, err)
				}
			}
		}
	}
	return nil
}

func writeUvarint(b *bytes.Buffer, v uint64) { b.Write(binary.AppendUvarint(nil, v)) }
func writeVarint(b *bytes.Buffer, v int64)   { b.Write(binary.AppendVarint(nil, v)) }
func writeString(b *bytes.Buffer, s string) {
	writeUvarint(b, uint64(len(s)))
	b.WriteString(s)
}

func readString(rd *bytes.Reader) (string, error) {
	n, err := binary.ReadUvarint(rd)
	if err != nil || n > uint64(rd.Len()) {
		return "", errors.New("truncated snapshot")
	}
	buf := make([]byte, n)
	_, err = io.ReadFull(rd, buf)
	return string(buf), err
}
