package app

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/input"
	"github.com/kdaproject/kda/operators/pipeline"
	"github.com/kdaproject/kda/sql/dialect"
	"github.com/kdaproject/kda/sql/plan"
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
	// clock: CURRENT_TIMESTAMP is queryStart; CURRENT_ROW_TIMESTAMP reads
	// now (the wall clock live, stream time in a replay).
	queryStart time.Time
	now        func() time.Time
	streamTime time.Time
}

// Compile parses and plans def's SQL and wires its operators.
func Compile(def Definition, mem memory.Allocator) (*Runtime, error) {
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
	prog, err := dialect.Parse(def.SQL)
	if err != nil {
		return nil, err
	}
	ap, err := plan.Plan(prog, inputs, plan.Options{EventTime: plan.EventTimeOptions{
		MaxOutOfOrderness: def.EventTime.MaxOutOfOrderness.Duration,
		AllowedLateness:   def.EventTime.AllowedLateness.Duration,
		IdleTimeout:       def.EventTime.IdleTimeout.Duration,
	}})
	if err != nil {
		return nil, err
	}
	r := &Runtime{def: def, plan: ap, mem: mem, decoder: dec, streams: map[string]*pipeline.Stream{}}
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
	return r, nil
}

// pumpRun runs one pump's operators as a subscriber of its source stream.
type pumpRun struct {
	name   string
	ctx    *operators.Context
	ops    []operators.Operator
	target *pipeline.Stream
}

func (p *pumpRun) Process(_ *operators.Context, rec arrow.Record) error {
	return p.ops[0].Process(p.ctx, rec)
}

// Advance passes the heartbeat through the pump's operators in order; the
// target stream is advanced by the runtime once all its pumps have been.
func (p *pumpRun) Advance(_ *operators.Context, now time.Time) error {
	for _, op := range p.ops {
		if err := op.Advance(p.ctx, now); err != nil {
			return err
		}
	}
	return nil
}

func (r *Runtime) wirePump(p *plan.Pump) error {
	target := r.streams[p.Target]
	ctx := &operators.Context{Mem: r.mem, Errors: r.errors, Pump: p.Name, Now: r.clockNow}
	ops, err := p.Build(ctx, func(rec arrow.Record) error { return target.Insert(ctx, rec) })
	if err != nil {
		return err
	}
	run := &pumpRun{name: p.Name, ctx: ctx, ops: ops, target: target}
	r.pumps = append(r.pumps, run)
	r.streams[p.Source].Subscribe(run)
	return nil
}

// sortStreams orders the streams so that producers come first.
func (r *Runtime) sortStreams() error {
	feeds := map[string][]string{} // target -> sources
	for _, p := range r.plan.Pumps {
		feeds[p.Target] = append(feeds[p.Target], p.Source)
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

// Plan is the planned application (for kda explain).
func (r *Runtime) Plan() *plan.Application { return r.plan }

// StreamNames lists the in-application streams, inputs first, then
// error_stream last.
func (r *Runtime) StreamNames() []string {
	var out []string
	for _, s := range r.plan.Streams {
		out = append(out, s.Name)
	}
	return append(out, pipeline.ErrorStreamName)
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
	batch, errs := r.decoder.Decode(r.mem, recs)
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
	if now.After(r.streamTime) {
		r.streamTime = now
	}
	for _, s := range r.order {
		if err := s.Advance(r.srcCtx, now); err != nil {
			return err
		}
	}
	return r.errors.Flush(r.mem)
}

// Close releases the runtime's buffers.
func (r *Runtime) Close() { r.decoder.Release() }
