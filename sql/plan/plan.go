// Package plan turns a parsed application (sql/dialect) into the operator
// DAG that operators/ executes: it binds names against stream schemas, checks
// types, and builds, for every pump, the chain of operators from its source
// stream to its target. Errors point at the user's text with a line, a
// column and a caret (the same *dialect.SyntaxError the parser returns).
//
// A pump's query is planned bottom-up: FROM (a stream, or a subquery planned
// the same way) → WHERE (Filter) → one of
//
//   - GROUP BY with a monotonic key (STEP/FLOOR of ROWTIME, MONOTONIC(x)) → Tumbling
//   - WINDOWED BY STAGGER → Stagger
//   - aggregates OVER windows → one Sliding per window
//
// → HAVING (Filter) → the SELECT list (Project) → the INSERT's column mapping
// with assignment casts (Project). A SELECT item that is ROWTIME itself is
// the row's time, not a column.
package plan

import (
	"fmt"
	"strconv"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/expr"
	"github.com/kdaproject/kda/operators/reftable"
	"github.com/kdaproject/kda/operators/relational"
	"github.com/kdaproject/kda/sql/dialect"
	"github.com/kdaproject/kda/sql/types"
	"github.com/kdaproject/kda/udf"
)

// Input is an in-application stream the application does not create: the
// input streams fed from the source.
type Input struct {
	Name   string
	Schema types.Schema
}

// Application is a planned application.
type Application struct {
	// Streams are every in-application stream: the inputs first, then the
	// created ones in order. Schemas start with ROWTIME.
	Streams []*Stream
	// Pumps are the CREATE PUMP statements, in order.
	Pumps []*Pump
	// Previews are bare SELECT STREAM statements (console previews), planned
	// like pumps without a target.
	Previews []*Pump
}

// Stream is an in-application stream.
type Stream struct {
	Name   string
	Schema types.Schema
	Input  bool
	// Lowered names the pump whose query kda turned into several pumps
	// with this stream between them (the steps of a join of several
	// streams, P$Jk; a UNION ALL in FROM, P$Uk; a subquery joined as an
	// input, P$Dk; a HOP window join, P$HOPk), or is "" for a stream the
	// program creates.
	Lowered string
}

// Lowering is what a bare SELECT was lowered into besides its own pump.
type Lowering struct {
	Streams []*Stream
	Pumps   []*Pump
}

// Pump is a planned INSERT ... SELECT: the operators that take Source's
// rows to Target.
type Pump struct {
	Name, Source, Target string
	// Schema is the schema of the rows the pump emits (the target's).
	Schema types.Schema
	ops    []opFactory
	// Explain describes the operators, source to target.
	Explain []string
	// Branches are the SELECTs of a UNION ALL, each a chain from its own
	// Source to rows of Schema, merged in ROWTIME order (union.go).
	Branches []*Pump
	// Lowered, on a preview, are the streams and pumps its query was
	// lowered into (its joins of three streams, unions in FROM and joined
	// subqueries: streamchain.go, union.go, derived.go), in order: a
	// runtime makes them only with the preview.
	Lowered *Lowering
}

// opFactory builds one operator of a pump.
type opFactory struct {
	describe string
	build    func() (operators.Operator, error)
	// join is set on a join pump's first operator (join.go).
	join *JoinPump
}

// emitter is the output side every operator of operators/relational and
// operators/window has.
type emitter interface {
	SetEmit(operators.Emit)
}

// Build instantiates the pump's operators, each connected to the next and
// the last to emit. The first one is where the source stream's batches go.
// ctx is the pump's context: operators emit from inside Process and Advance
// calls made with it.
func (p *Pump) Build(ctx *operators.Context, emit operators.Emit) ([]operators.Operator, error) {
	ops := make([]operators.Operator, len(p.ops))
	for i, f := range p.ops {
		op, err := f.build()
		if err != nil {
			return nil, fmt.Errorf("pump %s: %s: %w", p.Name, f.describe, err)
		}
		ops[i] = op
	}
	for i, op := range ops {
		if f, ok := op.(*relational.FilterOp); ok && i+1 < len(ops) {
			if proj, ok := ops[i+1].(*relational.ProjectOp); ok {
				f.FeedProject(proj)
			}
		}
		e, ok := op.(emitter)
		if !ok {
			return nil, fmt.Errorf("pump %s: operator %T cannot be connected", p.Name, op)
		}
		if i+1 < len(ops) {
			next := ops[i+1]
			e.SetEmit(func(rec arrow.Record) error { return next.Process(ctx, rec) })
		} else {
			e.SetEmit(emit)
		}
	}
	return ops, nil
}

// Options tune planning.
type Options struct {
	// Functions resolves function names; default the built-in registry.
	Functions *expr.Registry
	// EventTime configures GROUP BY TUMBLE/HOP/SESSION (see eventtime.go).
	EventTime EventTimeOptions
	// Aggregates are user aggregates made in Go, callable like the ones
	// CREATE AGGREGATE FUNCTION makes (see aggfunc.go).
	Aggregates []UserAggregate
	// Library holds function libraries: programs of CREATE [AGGREGATE]
	// FUNCTION statements planned before the application, in order, so its
	// statements can call their functions (see library.go).
	Library []*dialect.Program
	// JavaScript configures LANGUAGE JAVASCRIPT functions: their limits and
	// where their console output goes (see jsfunction.go).
	JavaScript udf.Options
	// Tables are the application's reference tables by name, as queries
	// spell them; a join with one probes its current snapshot.
	Tables map[string]*reftable.Table
}

// planner holds what planning one program needs.
type planner struct {
	prog    *dialect.Program
	opts    Options
	streams map[string]*Stream
	app     *Application
	pumps   map[string]bool
	// userAggs are the user aggregates by upper-case name (aggfunc.go).
	userAggs map[string]*userAgg
	// chains are the streams and pumps generated for the query being
	// planned and for earlier pumps (streamchain.go).
	chains chainState
}

// Plan plans prog over the given input streams.
func Plan(prog *dialect.Program, inputs []Input, opts Options) (*Application, error) {
	if opts.Functions == nil {
		opts.Functions = expr.NewRegistry()
	} else {
		opts.Functions = opts.Functions.Clone() // CREATE FUNCTION adds to it
	}
	p := &planner{prog: prog, opts: opts, streams: map[string]*Stream{}, app: &Application{}, pumps: map[string]bool{},
		chains: chainState{lowered: map[string][]string{}, pending: map[string][]string{}}}
	if err := p.registerAggregates(); err != nil {
		return nil, err
	}
	for _, lib := range opts.Library {
		if err := p.planLibrary(lib); err != nil {
			return nil, err
		}
	}
	for _, in := range inputs {
		s := &Stream{Name: in.Name, Schema: in.Schema, Input: true}
		p.streams[in.Name] = s
		p.app.Streams = append(p.app.Streams, s)
	}
	for _, st := range prog.Statements {
		var err error
		switch s := st.(type) {
		case *dialect.CreateStream:
			err = p.createStream(s)
			p.chains.note(s.Lowered, s.Name)
		case *dialect.CreatePump:
			err = p.createPump(s)
			p.chains.note(s.Lowered, s.Name)
		case *dialect.SelectStatement:
			// A preview's query is lowered like a pump's, into
			// generated pumps named after its stream: PREVIEW$J1,
			// PREVIEW_2$U1, ... (as engine/app names the streams).
			var pump *Pump
			p.chains.pump, p.chains.made = previewName(len(p.app.Previews)), nil
			p.chains.preview = &Lowering{}
			pump, err = p.planPump("SELECT", s.Query, nil, nil)
			if err == nil && len(p.chains.preview.Pumps) > 0 {
				pump.Lowered = p.chains.preview
			}
			for _, st := range p.chains.preview.Streams {
				delete(p.streams, st.Name) // the preview's own: no later statement reads them
			}
			p.chains.pump, p.chains.preview = "", nil
			if err == nil {
				p.app.Previews = append(p.app.Previews, pump)
			}
		case *dialect.CreateFunction:
			err = p.createFunction(s)
		case *dialect.CreateAggregateFunction:
			err = p.createAggregateFunction(s)
		default:
			err = fmt.Errorf("unknown statement %T", st)
		}
		if err != nil {
			return nil, err
		}
	}
	return p.app, nil
}

func (p *planner) errAt(pos dialect.Pos, format string, args ...any) error {
	return &dialect.SyntaxError{Pos: pos, Msg: fmt.Sprintf(format, args...), Source: p.prog.Source}
}

func (p *planner) createStream(s *dialect.CreateStream) error {
	if old, ok := p.streams[s.Name]; ok && (old.Input || !s.OrReplace) {
		return p.errAt(s.Pos, "stream %s already exists", quoteName(s.Name))
	}
	if len(s.Columns) == 0 {
		return p.errAt(s.Pos, "stream %s has no columns", quoteName(s.Name))
	}
	schema := types.Schema{Fields: []types.Field{{Name: types.RowtimeName, Type: types.Type{Kind: types.Timestamp, NotNull: true}}}}
	seen := map[string]bool{}
	for _, c := range s.Columns {
		if c.Name == types.RowtimeName {
			return p.errAt(c.Pos, "ROWTIME is implicit in every stream and cannot be declared")
		}
		if seen[c.Name] {
			return p.errAt(c.Pos, "column %s is declared twice", quoteName(c.Name))
		}
		if c.Type.Kind == types.Interval {
			return p.errAt(c.Pos, "INTERVAL cannot be a column type")
		}
		seen[c.Name] = true
		schema.Fields = append(schema.Fields, types.Field{Name: c.Name, Type: c.Type})
	}
	st := &Stream{Name: s.Name, Schema: schema, Lowered: s.Lowered}
	if _, ok := p.streams[s.Name]; !ok {
		p.app.Streams = append(p.app.Streams, st)
	} else {
		for i, o := range p.app.Streams {
			if o.Name == s.Name {
				p.app.Streams[i] = st
			}
		}
	}
	p.streams[s.Name] = st
	return nil
}

func (p *planner) createPump(s *dialect.CreatePump) error {
	if p.pumps[s.Name] && !s.OrReplace {
		return p.errAt(s.Pos, "pump %s already exists", quoteName(s.Name))
	}
	target, ok := p.streams[s.Target]
	if !ok {
		return p.errAt(s.Pos, "pump %s inserts into stream %s, which does not exist: create it first with CREATE STREAM", quoteName(s.Name), quoteName(s.Target))
	}
	if target.Input {
		return p.errAt(s.Pos, "pump %s cannot insert into the input stream %s", quoteName(s.Name), quoteName(s.Target))
	}
	p.chains.pump, p.chains.made = s.Name, nil
	pump, err := p.planPump(s.Name, s.Query, target, s.Columns)
	p.chains.pump = ""
	if err != nil {
		return err
	}
	pump.Target = target.Name
	p.putPump(pump)
	return p.replaceLowered(s) // streamchain.go
}

// previewName is the name of the stream of the k-th bare SELECT (from 0),
// as engine/app's CompilePreview names it.
func previewName(k int) string {
	if k == 0 {
		return "PREVIEW"
	}
	return "PREVIEW_" + strconv.Itoa(k+1)
}

// putPump adds pump to the application last, in place of an earlier pump
// of its name (CREATE OR REPLACE PUMP, a generated pump made again).
func (p *planner) putPump(pump *Pump) {
	for i, o := range p.app.Pumps {
		if o.Name == pump.Name {
			p.app.Pumps = append(p.app.Pumps[:i], p.app.Pumps[i+1:]...)
			break
		}
	}
	p.app.Pumps = append(p.app.Pumps, pump)
	p.pumps[pump.Name] = true
}

// quoteName writes an identifier as the user would (dialect.QuoteName).
func quoteName(n string) string { return dialect.QuoteName(n) }
