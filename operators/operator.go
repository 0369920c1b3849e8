package operators

import (
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/sql/types"
)

// Emit receives an operator's output batch. The callee must Retain the
// record if it keeps it after returning; the caller releases it.
type Emit func(rec arrow.Record) error

// Operator is one node of an application's DAG.
type Operator interface {
	// Schema is the operator's output schema (column 0 is ROWTIME).
	Schema() types.Schema
	// Process consumes one input batch and emits zero or more batches. The
	// caller keeps ownership of rec.
	Process(ctx *Context, rec arrow.Record) error
	// Advance tells the operator that stream time has reached now: no row
	// with an earlier ROWTIME will arrive. Windows that end at or before now
	// close and emit.
	Advance(ctx *Context, now time.Time) error
}

// Holder is an operator that may keep rows past the heartbeat that reached
// it and emit them later with an earlier ROWTIME (a T-sort, an event-time
// window, a sort group, a union's merge). Whoever drives a chain of
// operators advances the operators after a Holder, and the stream it
// feeds, no further than Hold, so that an operator never advances its
// downstream past the ROWTIME of a row it may still emit.
type Holder interface {
	// Hold reports the earliest ROWTIME the operator may still emit, at
	// most now (the stream time it has processed its input to). The zero
	// time means it cannot tell yet: its downstream is not advanced.
	Hold(now time.Time) time.Time
}

// Hold is op's Hold(now) if op is a Holder, now otherwise.
func Hold(op Operator, now time.Time) time.Time {
	if h, ok := op.(Holder); ok {
		return h.Hold(now)
	}
	return now
}

// Stateful is an operator whose state survives restarts through the
// application's checkpoints. Snapshot is called between batches, never
// concurrently with Process or Advance.
type Stateful interface {
	Operator
	Snapshot(w io.Writer) error
	Restore(r io.Reader) error
}

// Context carries what operators share while running.
type Context struct {
	Mem    memory.Allocator
	Errors ErrorSink
	// Pump names the pump being executed, for error_stream's PUMP_NAME.
	Pump string
	// QueryStart is the value of CURRENT_TIMESTAMP and its kin: the time
	// the application started (in a replay, its first record's ROWTIME).
	QueryStart time.Time
	// Now is the engine clock CURRENT_ROW_TIMESTAMP reads: the wall clock
	// when live, stream time in a replay. Nil means the wall clock.
	Now func() time.Time
}

// Alloc is the context's allocator, or the default one (c may be nil).
func (c *Context) Alloc() memory.Allocator {
	if c != nil && c.Mem != nil {
		return c.Mem
	}
	return memory.DefaultAllocator
}

// CheckSchema reports an error unless s starts with ROWTIME TIMESTAMP, as
// the schema of every batch between operators must.
func CheckSchema(s types.Schema) error {
	if len(s.Fields) == 0 || s.Fields[0].Name != types.RowtimeName || s.Fields[0].Type.Kind != types.Timestamp {
		return fmt.Errorf("the schema must start with ROWTIME TIMESTAMP")
	}
	return nil
}

// Eval returns the expression context for one batch of an operator:
// the allocator, the clocks and the operator's row-error collector.
func (c *Context) Eval(errs *expr.RowErrors) *expr.EvalContext {
	if c == nil {
		return &expr.EvalContext{Mem: memory.DefaultAllocator, Errors: errs, Now: time.Now}
	}
	mem := c.Alloc()
	now := c.Now
	if now == nil {
		now = time.Now
	}
	return &expr.EvalContext{Mem: mem, Errors: errs, QueryStart: c.QueryStart, Now: now}
}

// ErrorSink receives rows that could not be processed.
type ErrorSink interface {
	RowError(e RowError)
}

// RowError is one row of error_stream (KDA-SQL.md §6):
// ERROR_TIME, ERROR_LEVEL, ERROR_NAME, MESSAGE, DATA_ROWTIME, DATA_ROW, PUMP_NAME.
type RowError struct {
	Time        time.Time // stream time at which the error happened
	Level       string    // "ERROR" or "WARNING"
	Name        string    // e.g. "DIVISION_BY_ZERO", "COERCION", "OUT_OF_ORDER"
	Message     string
	DataRowtime time.Time
	DataRow     string // the offending row (JSON of its columns, or the raw record)
	Pump        string
}
