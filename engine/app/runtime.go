package app

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/input"
	"github.com/kdaproject/kda/operators/pipeline"
	"github.com/kdaproject/kda/operators/reftable"
	"github.com/kdaproject/kda/sql/dialect"
	"github.com/kdaproject/kda/sql/plan"
	"github.com/kdaproject/kda/sql/types"
	"github.com/kdaproject/kda/udf"
)

// Runtime is a compiled application ready to take records. It is not safe
// for concurrent use: one goroutine pushes records and heartbeats.
type Runtime struct {
	def     Definition
	plan    *plan.Application
	mem     memory.Allocator
	decoder *input.Decoder
	streams map[string]*pipeline.Stream
	inputs  []*pipeline.Stream
	// order is every stream in topological order: a stream comes after
	// every stream that feeds it through a pump.
	order  []*pipeline.Stream
	errors *pipeline.ErrorCollector
	errStr *pipeline.Stream
	srcCtx *operators.Context
	pumps  []*pumpRun
	// previews are the streams bare SELECT STREAM statements feed, in
	// order (CompilePreview only).
	previews []*pipeline.Stream
	// clock: CURRENT_TIMESTAMP is queryStart; CURRENT_ROW_TIMESTAMP reads
	// now (the wall clock live, stream time in a replay).
	queryStart time.Time
	now        func() time.Time
	streamTime time.Time
	// pre is the input pre-processor (nil without one); posts[i] is
	// outputs[i]'s post-processor (nil without one). A live runner
	// delivers to the post-processors; the runtime only owns them.
	pre   *preprocessor
	posts []*postprocessor
	// tables are the reference tables by name (reftables.go), empty until
	// loaded; the planner's joins read their snapshots.
	tables map[string]*reftable.Table
	// loadErrors are the bad rows of LoadReferenceTables' loads, written
	// to error_stream by the first Push or Advance with its stream time.
	loadErrors []operators.RowError
}

// PreviewStreamName names the in-application stream a bare SELECT STREAM
// feeds in a runtime from CompilePreview; further SELECTs feed PREVIEW_2,
// PREVIEW_3…
const PreviewStreamName = "PREVIEW"

// Compile parses and plans def's SQL and wires its operators. Bare SELECT
// STREAM statements are planned (so they are checked) but not run.
func Compile(def Definition, mem memory.Allocator) (*Runtime, error) {
	return compile(def, mem, compileOptions{})
}

// CompileWith is Compile with a function library (an engine's function
// catalog, see Manager.Library) planned before the application.
func CompileWith(def Definition, mem memory.Allocator, lib Library) (*Runtime, error) {
	return compile(def, mem, compileOptions{library: lib})
}

// CompilePreview is Compile for an ephemeral query: each bare SELECT STREAM
// also runs, its rows going to a synthetic stream PREVIEW (PREVIEW_2… for
// later ones) that outputs can subscribe to.
func CompilePreview(def Definition, mem memory.Allocator, lib Library) (*Runtime, error) {
	return compile(def, mem, compileOptions{previews: true, library: lib})
}

// compileOptions are compile's settings beyond the definition.
type compileOptions struct {
	previews bool
	// log receives the JavaScript console output (slog.Default() when nil).
	log *slog.Logger
	// library is planned before the definition's own functions and SQL.
	library Library
	// tables are reference tables to plan with (a runner recompiling
	// keeps the ones it loaded); nil makes the definition's, empty.
	tables map[string]*reftable.Table
}

// compile builds the runtime.
func compile(def Definition, mem memory.Allocator, co compileOptions) (*Runtime, error) {
	previews, log := co.previews, co.log
	def = def.WithDefaults()
	if err := def.Validate(); err != nil {
		return nil, err
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	dec, err := input.NewDecoder(def.Input.Schema, input.DecoderOptions{ExtraColumns: def.Input.ExtraColumns})
	if err != nil {
		return nil, fmt.Errorf("input.schema: %w", err)
	}
	var inputs []plan.Input
	for _, n := range def.InputStreamNames() {
		inputs = append(inputs, plan.Input{Name: n, Schema: dec.Schema()})
	}
	tables := co.tables
	if tables == nil {
		if tables, err = newReferenceTables(def); err != nil {
			return nil, err
		}
	}
	libs, err := co.library.with(def).programs()
	if err != nil {
		return nil, err
	}
	prog, err := dialect.Parse(def.SQL)
	if err != nil {
		return nil, err
	}
	jsLog := log
	if jsLog == nil {
		jsLog = slog.Default()
	}
	ap, err := plan.Plan(prog, inputs, plan.Options{
		EventTime: plan.EventTimeOptions{
			MaxOutOfOrderness: def.EventTime.MaxOutOfOrderness.Duration,
			AllowedLateness:   def.EventTime.AllowedLateness.Duration,
			IdleTimeout:       def.EventTime.IdleTimeout.Duration,
		},
		Library:    libs,
		JavaScript: udf.Options{Log: jsLog.With("application", def.Name)},
		Tables:     tables,
	})
	if err != nil {
		return nil, err
	}
	r := &Runtime{def: def, plan: ap, mem: mem, decoder: dec, streams: map[string]*pipeline.Stream{}, tables: tables}
	if err := r.startProcessors(log); err != nil {
		return nil, err
	}
	if r.errStr, err = pipeline.NewStream(pipeline.ErrorStreamName, pipeline.ErrorSchema); err != nil {
		return nil, err
	}
	r.errors = pipeline.NewErrorCollector(r.errStr)
	r.srcCtx = &operators.Context{Mem: mem, Errors: r.errors, Now: r.clockNow}
	for _, s := range ap.Streams {
		ps, err := pipeline.NewStream(s.Name, s.Schema)
		if err != nil {
			return nil, err
		}
		r.streams[s.Name] = ps
		if s.Input {
			r.inputs = append(r.inputs, ps)
		}
	}
	for _, p := range ap.Pumps {
		if err := r.wirePump(p); err != nil {
			return nil, err
		}
	}
	if err := r.sortStreams(); err != nil {
		return nil, err
	}
	if previews {
		for i, p := range ap.Previews {
			name := PreviewStreamName
			if i > 0 {
				name = fmt.Sprintf("%s_%d", PreviewStreamName, i+1)
			}
			if err := r.wireLowered(p.Lowered); err != nil {
				return nil, fmt.Errorf("preview %d: %w", i+1, err)
			}
			ps, err := pipeline.NewStream(name, p.Schema)
			if err != nil {
				return nil, fmt.Errorf("preview %d: %w", i+1, err)
			}
			r.streams[name] = ps
			r.previews = append(r.previews, ps)
			if err := r.wire(p, ps); err != nil {
				return nil, err
			}
			// Fed by streams already in order, so it goes last.
			r.order = append(r.order, ps)
		}
	}
	return r, nil
}

// wireLowered makes the streams a preview's query was lowered into and
// wires the pumps that fill them, each stream after its producers in
// r.order (they come in that order: P$J1 before the step that reads it).
func (r *Runtime) wireLowered(lw *plan.Lowering) error {
	if lw == nil {
		return nil
	}
	for _, s := range lw.Streams {
		ps, err := pipeline.NewStream(s.Name, s.Schema)
		if err != nil {
			return err
		}
		r.streams[s.Name] = ps
		r.order = append(r.order, ps)
	}
	for _, p := range lw.Pumps {
		if err := r.wirePump(p); err != nil {
			return err
		}
	}
	return nil
}

// pumpRun runs one pump's operators as a subscriber of its source stream.
type pumpRun struct {
	name   string
	ctx    *operators.Context
	ops    []operators.Operator
	target *pipeline.Stream
	// hold is how far target may be advanced: the earliest ROWTIME the
	// pump may still insert, as of its last heartbeat (zero: not yet).
	hold time.Time
	// rowsIn[i] and rowsOut[i] count the rows operator i took and emitted.
	rowsIn, rowsOut []atomic.Uint64
	// explain describes the operators (plan.Pump.Explain).
	explain []string
}

func (p *pumpRun) Process(_ *operators.Context, rec arrow.Record) error {
	p.rowsIn[0].Add(uint64(rec.NumRows()))
	return p.ops[0].Process(p.ctx, rec)
}

// Advance passes the heartbeat through the pump's operators in order; the
// target stream is advanced by the runtime once all its pumps have been.
func (p *pumpRun) Advance(_ *operators.Context, now time.Time) error {
	hold, err := advanceChain(p.ctx, p.ops, now)
	if err != nil {
		return err
	}
	p.hold = hold
	return nil
}

// advanceChain advances ops in order, each no further than the operators
// before it may still emit (operators.Holder), and returns how far their
// output may be advanced; the zero time means not at all. At EndOfTime no
// input is left to wait for, so every operator gets the heartbeat.
func advanceChain(ctx *operators.Context, ops []operators.Operator, now time.Time) (time.Time, error) {
	for _, op := range ops {
		if now.IsZero() {
			return now, nil
		}
		if err := op.Advance(ctx, now); err != nil {
			return time.Time{}, err
		}
		now = hold(op, now)
	}
	return now, nil
}

// hold is operators.Hold, except at EndOfTime.
func hold(op operators.Operator, now time.Time) time.Time {
	if !now.Before(EndOfTime) {
		return now
	}
	return operators.Hold(op, now)
}

func (r *Runtime) wirePump(p *plan.Pump) error { return r.wire(p, r.streams[p.Target]) }

// setEmitter is the output side of every operator a pump builds.
type setEmitter interface{ SetEmit(operators.Emit) }

// wire builds p's operators into target and counts each operator's rows in
// and out by wrapping the emit functions Build connected them with.
func (r *Runtime) wire(p *plan.Pump, target *pipeline.Stream) error {
	if len(p.Branches) > 0 {
		return r.wireUnion(p, target) // union.go
	}
	ctx := &operators.Context{Mem: r.mem, Errors: r.errors, Pump: p.Name, Now: r.clockNow}
	ops, err := p.Build(ctx, func(rec arrow.Record) error { return target.Insert(ctx, rec) })
	if err != nil {
		return err
	}
	run := &pumpRun{name: p.Name, ctx: ctx, ops: ops, target: target, explain: p.Explain,
		rowsIn: make([]atomic.Uint64, len(ops)), rowsOut: make([]atomic.Uint64, len(ops))}
	for i, op := range ops {
		e, ok := op.(setEmitter)
		if !ok {
			return fmt.Errorf("pump %s: operator %T cannot be connected", p.Name, op)
		}
		if i+1 < len(ops) {
			next := ops[i+1]
			e.SetEmit(func(rec arrow.Record) error {
				n := uint64(rec.NumRows())
				run.rowsOut[i].Add(n)
				run.rowsIn[i+1].Add(n)
				return next.Process(ctx, rec)
			})
		} else {
			e.SetEmit(func(rec arrow.Record) error {
				run.rowsOut[i].Add(uint64(rec.NumRows()))
				return target.Insert(ctx, rec)
			})
		}
	}
	r.pumps = append(r.pumps, run)
	return r.subscribe(p, run) // join.go: a join pump reads two streams
}

// OperatorRows counts the rows one operator of a pump took and emitted.
type OperatorRows struct {
	Pump    string `json:"pump"`
	Index   int    `json:"index"`
	Name    string `json:"name"`
	RowsIn  uint64 `json:"rowsIn"`
	RowsOut uint64 `json:"rowsOut"`
}

// OperatorRows reports every pump's operators, in pump order and source to
// target within a pump, with their row counts since the runtime was
// compiled. It may be called from any goroutine.
func (r *Runtime) OperatorRows() []OperatorRows {
	var out []OperatorRows
	for _, p := range r.pumps {
		explain := p.explain
		for i := range p.ops {
			name := fmt.Sprintf("%T", p.ops[i])
			if i < len(explain) {
				name = explain[i]
			}
			out = append(out, OperatorRows{Pump: p.name, Index: i, Name: name,
				RowsIn: p.rowsIn[i].Load(), RowsOut: p.rowsOut[i].Load()})
		}
	}
	return out
}

// sortStreams orders the streams so that producers come first.
func (r *Runtime) sortStreams() error {
	feeds := map[string][]string{} // target -> sources
	for _, p := range r.plan.Pumps {
		feeds[p.Target] = append(feeds[p.Target], p.Sources()...)
		for _, b := range p.Branches { // UNION ALL (union.go)
			feeds[p.Target] = append(feeds[p.Target], b.Source)
		}
	}
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("pumps form a cycle through streams %v: a stream cannot feed itself", append(path, name))
		case 2:
			return nil
		}
		state[name] = 1
		for _, src := range feeds[name] {
			if err := visit(src, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		r.order = append(r.order, r.streams[name])
		return nil
	}
	for _, s := range r.plan.Streams {
		if err := visit(s.Name, nil); err != nil {
			return err
		}
	}
	return nil
}

// SetClock fixes the time CURRENT_TIMESTAMP and its kin return and the
// clock CURRENT_ROW_TIMESTAMP reads. A live application passes its start
// time and time.Now; without a call, a replay uses its first record's
// ROWTIME and stream time, so it stays deterministic.
func (r *Runtime) SetClock(queryStart time.Time, now func() time.Time) {
	r.queryStart, r.now = queryStart, now
	r.srcCtx.QueryStart = queryStart
	for _, p := range r.pumps {
		p.ctx.QueryStart = queryStart
	}
}

// clockNow is what the operators' Now reads.
func (r *Runtime) clockNow() time.Time {
	if r.now != nil {
		return r.now()
	}
	return r.streamTime
}

// ReferenceTables are the application's reference tables by name. They
// are empty until loaded (LoadReferenceTables, or a live runner).
func (r *Runtime) ReferenceTables() map[string]*reftable.Table { return r.tables }

// LoadReferenceTables loads every reference table once, in definition
// order, before the first Push (kda run and tests; a live application
// loads and refreshes them itself). The first failure is returned. The
// rows the loads skipped (maxBadRows) are written to error_stream by the
// next Push or Advance, stamped with its stream time, so subscribers
// attached after the load see them.
func (r *Runtime) LoadReferenceTables(ctx context.Context, opts ReferenceOptions) error {
	l := newRefLoader(r.def, r.tables, opts)
	if err := l.loadAll(ctx); err != nil {
		return err
	}
	r.loadErrors = append(r.loadErrors, l.takeErrors()...)
	return nil
}

// Plan is the planned application (for kda explain).
func (r *Runtime) Plan() *plan.Application { return r.plan }

// StreamNames lists the in-application streams, inputs first, then the
// preview streams (CompilePreview), then error_stream last.
func (r *Runtime) StreamNames() []string {
	var out []string
	for _, s := range r.plan.Streams {
		out = append(out, s.Name)
	}
	for _, s := range r.previews {
		out = append(out, s.Name)
	}
	return append(out, pipeline.ErrorStreamName)
}

// CreatedStreamNames lists the streams the SQL creates (not the inputs,
// nor the streams kda put between the pumps it made of one, P$J1...), in
// order of creation.
func (r *Runtime) CreatedStreamNames() []string {
	var out []string
	for _, s := range r.plan.Streams {
		if !s.Input && s.Lowered == "" {
			out = append(out, s.Name)
		}
	}
	return out
}

// PreviewStreamNames lists the streams bare SELECTs feed (CompilePreview).
func (r *Runtime) PreviewStreamNames() []string {
	var out []string
	for _, s := range r.previews {
		out = append(out, s.Name)
	}
	return out
}

// StreamSchema is the schema of an in-application stream, preview stream
// or error_stream (ROWTIME first).
func (r *Runtime) StreamSchema(stream string) (types.Schema, bool) {
	if stream == pipeline.ErrorStreamName {
		return pipeline.ErrorSchema, true
	}
	s, ok := r.streams[stream]
	if !ok {
		return types.Schema{}, false
	}
	return s.Schema, true
}

// Subscribe attaches a reader (an output) to an in-application stream or
// error_stream.
func (r *Runtime) Subscribe(stream string, sub pipeline.Subscriber) error {
	if stream == pipeline.ErrorStreamName {
		r.errStr.Subscribe(sub)
		return nil
	}
	s, ok := r.streams[stream]
	if !ok {
		return fmt.Errorf("no in-application stream %q", stream)
	}
	s.Subscribe(sub)
	return nil
}

// Push decodes records into the input streams and runs them through the
// application. Records that cannot be decoded go to error_stream. With
// several input streams, a shard's records always go to the same one.
func (r *Runtime) Push(recs []input.Record) error {
	if len(recs) == 0 {
		return nil
	}
	r.reportLoadErrors(recs[0].Rowtime)
	if r.pre != nil {
		if last := recs[len(recs)-1].Rowtime; last.After(r.streamTime) {
			r.streamTime = last
		}
		if recs = r.pre.process(recs, r.errors.RowError); len(recs) == 0 {
			return r.errors.Flush(r.mem)
		}
	}
	if len(r.inputs) == 1 {
		if err := r.pushTo(r.inputs[0], recs); err != nil {
			return err
		}
	} else {
		// Runs of consecutive records bound for the same input stream are
		// pushed in order, so rows enter the streams in ROWTIME order and a
		// stream fed by pumps from several inputs sees them in order too.
		start, cur := 0, -1
		for i, rec := range recs {
			in := r.inputFor(rec.ShardID)
			if cur >= 0 && in != cur {
				if err := r.pushTo(r.inputs[cur], recs[start:i]); err != nil {
					return err
				}
				start = i
			}
			cur = in
		}
		if err := r.pushTo(r.inputs[cur], recs[start:]); err != nil {
			return err
		}
	}
	return r.errors.Flush(r.mem)
}

// inputFor chooses the input stream of a shard's records.
func (r *Runtime) inputFor(shardID string) int {
	h := fnv.New32a()
	h.Write([]byte(shardID))
	return int(h.Sum32() % uint32(len(r.inputs)))
}

func (r *Runtime) pushTo(s *pipeline.Stream, recs []input.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if last := recs[len(recs)-1].Rowtime; last.After(r.streamTime) {
		r.streamTime = last
	}
	batch, errs := r.decoder.Decode(recs)
	for _, e := range errs {
		r.errors.RowError(e)
	}
	if batch == nil {
		return nil
	}
	defer batch.Release()
	return s.Insert(r.srcCtx, batch)
}

// Advance tells the application that stream time has reached now, so
// windows that end by then close and emit, stream by stream from the inputs
// down.
func (r *Runtime) Advance(now time.Time) error {
	r.reportLoadErrors(now)
	if now.After(r.streamTime) {
		r.streamTime = now
	}
	for _, s := range r.order {
		// A stream goes no further than its pumps may still insert.
		at := now
		for _, p := range r.pumps {
			if p.target == s && p.hold.Before(at) && now.Before(EndOfTime) {
				at = p.hold
			}
		}
		if at.IsZero() {
			continue
		}
		if err := s.Advance(r.srcCtx, at); err != nil {
			return err
		}
	}
	return r.errors.Flush(r.mem)
}

// Close releases the pre- and post-processors' JavaScript runtimes.
func (r *Runtime) Close() {
	if r.pre != nil {
		r.pre.close()
	}
	for _, p := range r.posts {
		if p != nil {
			p.close()
		}
	}
}

// startProcessors loads the pre- and post-processors' scripts, so that a
// script that throws while it loads fails Compile.
func (r *Runtime) startProcessors(log *slog.Logger) (err error) {
	if log == nil {
		log = slog.Default()
	}
	log = log.With("app", r.def.Name)
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	if r.def.Input.Preprocessor != nil {
		if r.pre, err = newPreprocessor(r.def, log); err != nil {
			return err
		}
	}
	r.posts = make([]*postprocessor, len(r.def.Outputs))
	for i, o := range r.def.Outputs {
		if o.Postprocessor != nil {
			if r.posts[i], err = newPostprocessor(r.def, i, log); err != nil {
				return err
			}
		}
	}
	return nil
}

// SetARNs sets the ARNs the processors' events carry (by default those of
// the store's default region and account).
func (r *Runtime) SetARNs(appARN, streamARN string) {
	if r.pre != nil {
		r.pre.appARN, r.pre.streamARN = appARN, streamARN
	}
	for _, p := range r.posts {
		if p != nil {
			p.appARN = appARN
		}
	}
}

// PreprocessorCounts reports what the input pre-processor did so far (all
// zero without one). It may be called from any goroutine.
func (r *Runtime) PreprocessorCounts() PreprocessorCounts {
	if r.pre == nil {
		return PreprocessorCounts{}
	}
	return r.pre.Counts()
}

// ReportErrors writes rows that failed outside the operators (e.g. rows a
// post-processor could not deliver) to error_stream.
func (r *Runtime) ReportErrors(errs []operators.RowError) error {
	for _, e := range errs {
		r.errors.RowError(e)
	}
	return r.errors.Flush(r.mem)
}
