// Package reftable holds an application's reference tables: named,
// typed sets of rows that queries join with (KDA's reference data, such
// as a company-name table joined with a stock ticker stream).
//
// A Table is the meeting point of two sides. The engine loads rows from a
// file, an object store or a database and installs them with Replace; the
// join operator reads Current for every batch it probes. Replace swaps the
// whole snapshot atomically, so a batch sees either the old rows or the
// new ones, never half a reload.
package reftable

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/kdaproject/kda/sql/types"
)

// Snapshot is one loaded version of a table's rows. It is immutable once
// installed: its record is shared by every reader and released only when
// no reader can see it (see Table.Replace).
type Snapshot struct {
	// Rows holds the rows, columns as the table's Schema (no ROWTIME).
	Rows arrow.Record
	// Version counts the loads, from 1.
	Version uint64
	// LoadedAt is when the rows were installed.
	LoadedAt time.Time
	// Source says where the rows came from (a path, a URL, a query), for
	// describe and error messages.
	Source string

	// index is the join's lookup structure, built once per snapshot by
	// whoever needs it first (see Index).
	index atomic.Pointer[any]
}

// Index returns the value build makes for this snapshot, building it on
// the first call. Join operators keep their hash index here so that it is
// built once per load, not once per query. Concurrent first calls may
// each run build; one result wins and every caller gets that one.
func (s *Snapshot) Index(build func() any) any {
	if p := s.index.Load(); p != nil {
		return *p
	}
	v := build()
	s.index.CompareAndSwap(nil, &v)
	return *s.index.Load()
}

// Table is a named reference table with its current snapshot.
type Table struct {
	name   string
	schema types.Schema
	cur    atomic.Pointer[Snapshot]
	loads  atomic.Uint64
}

// New makes an empty table (no snapshot until the first Replace). The
// schema's columns are the table's; it has no ROWTIME.
func New(name string, schema types.Schema) (*Table, error) {
	if name == "" {
		return nil, fmt.Errorf("a reference table needs a name")
	}
	if len(schema.Fields) == 0 {
		return nil, fmt.Errorf("reference table %s: no columns", name)
	}
	return &Table{name: name, schema: schema}, nil
}

// Name is the table's name as queries spell it.
func (t *Table) Name() string { return t.name }

// Schema is the table's columns.
func (t *Table) Schema() types.Schema { return t.schema }

// Current returns the snapshot queries see now, or nil before the first
// load. Callers must not Release its record.
func (t *Table) Current() *Snapshot { return t.cur.Load() }

// Replace installs rows (columns as Schema) as the new snapshot and
// returns it. The table takes over the caller's reference to rows. The
// previous snapshot's record is not released: a batch being probed may
// still read it, and the garbage collector frees Go-allocated Arrow
// memory once no one does.
func (t *Table) Replace(rows arrow.Record, source string, now time.Time) (*Snapshot, error) {
	if int(rows.NumCols()) != len(t.schema.Fields) {
		return nil, fmt.Errorf("reference table %s: %d columns loaded, the table has %d", t.name, rows.NumCols(), len(t.schema.Fields))
	}
	s := &Snapshot{Rows: rows, Version: t.loads.Add(1), LoadedAt: now, Source: source}
	t.cur.Store(s)
	return s, nil
}
