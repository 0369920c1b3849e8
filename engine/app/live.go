package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	firehose "github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/source"
	"github.com/kdaproject/kda/engine/store"
	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/input"
	"github.com/kdaproject/kda/operators/pipeline"
)

// A live application (a runner) reads its input kda stream and runs its SQL
// inside the server, exactly once:
//
//	shard readers (one goroutine per shard, parents before children)
//	    │ batches of records, GetRecordsDedicated + RecordsSignal (no polling)
//	    ▼
//	driver goroutine: Push (ROWTIME = processing time) · Advance every heartbeat
//	    │ rows of output streams are buffered, not delivered
//	    ▼ every checkpoint interval, ONE store.Commit:
//	output records (kda streams) + runtime snapshot + per-shard positions + counters
//
// Nothing the application computes is visible before the commit that also
// records the positions it was computed from. After a crash the application
// restores the snapshot and reads on from those positions: records after the
// checkpoint are read again and the rows they produced are produced again,
// but those rows had never been visible, so kda-stream outputs see every
// window result exactly once.
//
// File outputs are written (and fsynced) just before the commit, and the
// checkpoint records each file's length; on restart a file is cut back to
// its checkpointed length. That makes files exactly-once too, as long as
// nothing else writes to them.

// Keys of an application's state in the store, under "app/<name>/".
const (
	stateKeyPrefix = "app/"
	keyDefinition  = "def"
	keyCheckpoint  = "ckpt"
	keySnapshot    = "snap"
)

func appKey(name, what string) string { return stateKeyPrefix + name + "/" + what }

// maxPendingBytes makes the runner checkpoint early when its output buffer
// grows past it, so one commit stays a reasonable size.
const maxPendingBytes = 8 << 20

// checkpoint is the JSON an application's checkpoint stores beside its
// snapshot. It is always written together with the snapshot and the output
// records in one transaction.
type checkpoint struct {
	// Version is the application version that wrote it.
	Version int64 `json:"version"`
	// Stream is the input stream the positions belong to.
	Stream string `json:"stream"`
	// Positions is, per shard, the sequence number of the last record
	// pushed into the application (or the position just before the first
	// record to read).
	Positions map[string]string `json:"positions"`
	// Finished lists closed shards read to their end.
	Finished []string `json:"finished,omitempty"`
	// ClockMs is the last ROWTIME given out; ROWTIME never goes back, not
	// even across restarts on a machine whose clock did.
	ClockMs int64 `json:"clockMs"`
	// Files is, per output file, its length at this checkpoint.
	Files map[string]int64 `json:"files,omitempty"`
	// Time is when the checkpoint was taken.
	Time time.Time `json:"time"`
	// RecordsIn counts records read from the input stream; Rows counts
	// rows per in-application stream; Delivered counts rows sent per output.
	RecordsIn uint64            `json:"recordsIn"`
	Rows      map[string]uint64 `json:"rows,omitempty"`
	Delivered map[string]uint64 `json:"delivered,omitempty"`
}

// runConfig is what a runner needs.
type runConfig struct {
	store     *store.Store
	def       Definition // with defaults, validated
	version   int64
	logger    *slog.Logger
	now       func() time.Time
	heartbeat time.Duration
	// outputDir, when set, is where relative output files are written.
	outputDir string
	// reset discards the checkpoint and starts at position (NOW or
	// TRIM_HORIZON) without state.
	reset    bool
	position string
	// library is the engine's function catalog when the runner started.
	library Library
	// sources opens def.Input.Source (source.go).
	sources *source.Registry
	// refs says how reference tables load (reftables.go).
	refs ReferenceOptions
}

// runner is one running application.
type runner struct {
	cfg      runConfig
	rt       *Runtime
	consumer string
	restored bool // state came from a snapshot
	// bridge feeds the input stream from def.Input.Source (nil without
	// one); started after the readers, closed first by the driver.
	bridge *source.Bridge
	// refs loads the reference tables before the first record and
	// refreshes them on their schedules until the driver ends.
	refs *refLoader

	ctx    context.Context // readers stop when it is cancelled
	cancel context.CancelFunc
	msgs   chan readerMsg
	rwg    sync.WaitGroup // the shard readers
	stop   chan bool      // true: final checkpoint
	done   chan struct{}
	err    error // why the driver ended; read after done

	// Owned by the driver goroutine.
	positions map[string]string
	finished  map[string]bool
	readers   map[string]*reader
	clockMs   int64
	pending   map[string][]store.PutRecordInput // by destination stream
	pendBytes int
	files     []*fileSink
	sinks     []*outputSink
	recordsIn uint64

	// Counters read by Describe from other goroutines.
	rows      map[string]*atomic.Uint64 // rows per in-application stream
	delivered map[string]*atomic.Uint64 // rows delivered per output
	readIn    atomic.Uint64
	statMu    sync.Mutex
	lastCkpt  time.Time
	ckptErr   string
	readerSet []*reader // every reader started, for lag
	errRing   errorRing // the latest error_stream rows
	opRate    opRateSample

	// advancing is set while a heartbeat advances the runtime, so output
	// sinks with a post-processor know a window fired (driver only).
	advancing bool
}

// opRateSample is the operator counts Describe saw last, to turn counts
// into rows per second. Guarded by statMu.
type opRateSample struct {
	at      time.Time
	in, out []uint64
	inRate  []float64
	outRate []float64
}

// readerMsg is what a shard reader hands the driver.
type readerMsg struct {
	shard string
	recs  []store.Record
	end   bool // the shard is closed and was read to its end
}

// reader reads one shard.
type reader struct {
	shard   string
	lagMs   atomic.Int64
	done    atomic.Bool
	lastErr atomic.Value // string
}

// consumerName is the registered consumer an application reads through.
func consumerName(app string) string {
	n := "kda-app-" + app
	if len(n) <= 128 {
		return n
	}
	h := fnv.New64a()
	h.Write([]byte(app))
	return fmt.Sprintf("kda-app-%s-%016x", app[:100], h.Sum64())
}

// startRunner compiles the application, restores its last checkpoint and
// starts reading. It fails, with nothing started, when the definition does
// not compile or its input stream does not exist.
func startRunner(cfg runConfig) (*runner, error) {
	def := cfg.def
	st := cfg.store
	if def.Input.Source != nil {
		if err := ensureSourceStream(st, def); err != nil {
			return nil, err
		}
	}
	desc, err := st.DescribeStream(def.Input.Stream)
	if err != nil {
		return nil, fmt.Errorf("input.stream: %w (create the stream first)", err)
	}
	rt, err := compile(def, nil, compileOptions{log: cfg.logger, library: cfg.library})
	if err != nil {
		return nil, err
	}
	// Every reference table is loaded before the first record is read.
	refs := newRefLoader(def, rt.tables, cfg.refs)
	if err := refs.loadAll(context.Background()); err != nil {
		rt.Close()
		return nil, err
	}
	started := time.Now()
	rt.SetClock(started, time.Now)
	rt.SetARNs(appARNFor(desc.StreamARN, def.Name), desc.StreamARN)
	r := &runner{
		cfg: cfg, rt: rt, consumer: consumerName(def.Name), refs: refs,
		msgs: make(chan readerMsg, 16), stop: make(chan bool, 1), done: make(chan struct{}),
		positions: map[string]string{}, finished: map[string]bool{}, readers: map[string]*reader{},
		pending: map[string][]store.PutRecordInput{},
		rows:    map[string]*atomic.Uint64{}, delivered: map[string]*atomic.Uint64{},
	}
	fail := func(err error) (*runner, error) {
		if r.bridge != nil {
			r.bridge.Close()
		}
		for _, f := range r.files {
			f.fh.Close()
		}
		r.rt.Close()
		return nil, err
	}

	var cp *checkpoint
	if !cfg.reset {
		if cp, err = loadCheckpoint(st, def.Name); err != nil {
			return fail(err)
		}
	}
	if cp != nil && cp.Stream != def.Input.Stream {
		cfg.logger.Warn("the input stream changed: starting from the starting position without state",
			"app", def.Name, "was", cp.Stream, "now", def.Input.Stream)
		cp = nil
	}
	if cp != nil {
		snap, err := st.AppState(appKey(def.Name, keySnapshot))
		if err != nil {
			return fail(err)
		}
		if snap != nil {
			if err := rt.Restore(snap); err != nil {
				// An incompatible SQL or schema change: the old state means
				// nothing to the new plan. Keep the positions, drop the state.
				cfg.logger.Warn("application state not restored; continuing from the checkpointed positions without it",
					"app", def.Name, "reason", err)
				rt.Close()
				if r.rt, err = compile(def, nil, compileOptions{log: cfg.logger, library: cfg.library, tables: rt.tables}); err != nil {
					return nil, err
				}
				r.rt.SetClock(started, time.Now)
				r.rt.SetARNs(appARNFor(desc.StreamARN, def.Name), desc.StreamARN)
			} else {
				r.restored = true
			}
		}
		for k, v := range cp.Positions {
			r.positions[k] = v
		}
		for _, s := range cp.Finished {
			r.finished[s] = true
		}
		r.clockMs = cp.ClockMs
		r.recordsIn = cp.RecordsIn
	}
	r.readIn.Store(r.recordsIn)

	if err := r.rt.Subscribe(pipeline.ErrorStreamName, &r.errRing); err != nil {
		return fail(err)
	}
	// Count rows per stream (Describe), then attach the outputs.
	for _, name := range r.rt.StreamNames() {
		c := &atomic.Uint64{}
		if cp != nil {
			c.Store(cp.Rows[name])
		}
		r.rows[name] = c
		if err := r.rt.Subscribe(name, counter{c}); err != nil {
			return fail(err)
		}
	}
	for i, o := range def.Outputs {
		c := &atomic.Uint64{}
		if cp != nil {
			c.Store(cp.Delivered[o.Name])
		}
		r.delivered[o.Name] = c
		sink := &outputSink{r: r, out: o, post: r.rt.posts[i]}
		r.sinks = append(r.sinks, sink)
		if o.File != "" {
			var offset int64 = -1
			if cp != nil {
				if n, ok := cp.Files[o.File]; ok {
					offset = n
				}
			}
			path := o.File
			if cfg.outputDir != "" {
				if path, err = outputPath(cfg.outputDir, o.File); err != nil {
					return fail(fmt.Errorf("outputs[%d].file: %w", i, err))
				}
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					return fail(fmt.Errorf("outputs[%d].file: create its directory: %w", i, err))
				}
			}
			f, err := openFileSink(path, offset)
			if err != nil {
				return fail(fmt.Errorf("outputs[%d].file: %w", i, err))
			}
			r.files = append(r.files, f)
			sink.file = f
		}
		if o.Delivery != "" {
			sink.stream = firehose.SpillStreamName(o.Delivery)
			if _, err := st.DescribeStream(sink.stream); err != nil {
				return fail(fmt.Errorf("outputs[%d].delivery: delivery stream %s not found; create it first", i, o.Delivery))
			}
		} else {
			sink.stream = o.Stream
		}
		if err := r.rt.Subscribe(o.Name, sink); err != nil {
			return fail(fmt.Errorf("outputs[%d].name: %w; the application has %s", i, err, strings.Join(r.rt.StreamNames(), ", ")))
		}
	}

	if _, err := st.RegisterConsumer(desc.StreamARN, r.consumer); err != nil && store.ErrorCode(err) != store.CodeResourceInUse {
		return fail(fmt.Errorf("register consumer %s on stream %s: %w", r.consumer, def.Input.Stream, err))
	}
	if def.Input.Source != nil {
		if r.bridge, err = newSourceBridge(cfg); err != nil {
			return fail(err)
		}
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	first := cp == nil
	position := def.Input.StartingPosition
	if cfg.reset && cfg.position != "" {
		position = cfg.position
	}
	if err := r.startReaders(desc, first, position); err != nil {
		r.cancel()
		r.rwg.Wait()
		return fail(err)
	}
	if r.bridge != nil {
		if err := r.bridge.Start(); err != nil {
			r.cancel()
			r.rwg.Wait()
			return fail(err)
		}
	}
	r.refs.start()
	go r.drive()
	return r, nil
}

func loadCheckpoint(st *store.Store, name string) (*checkpoint, error) {
	b, err := st.AppState(appKey(name, keyCheckpoint))
	if err != nil || b == nil {
		return nil, err
	}
	var cp checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return nil, fmt.Errorf("read checkpoint of application %s: %w", name, err)
	}
	return &cp, nil
}

// startReaders starts a reader for every shard that is not yet read and
// whose parents are finished (or gone with retention). first says the
// application has no checkpoint, so position applies.
func (r *runner) startReaders(desc store.StreamDescription, first bool, position string) error {
	listed := map[string]bool{}
	for _, sh := range desc.Shards {
		listed[sh.ShardID] = true
	}
	if first && position == StartNow {
		// NOW: what closed shards held is history.
		for _, sh := range desc.Shards {
			if !sh.Open() {
				r.finished[sh.ShardID] = true
			}
		}
	}
	for _, sh := range desc.Shards {
		id := sh.ShardID
		if r.finished[id] || r.readers[id] != nil {
			continue
		}
		ready := true
		for _, p := range []string{sh.ParentShardID, sh.AdjacentParentShardID} {
			if p != "" && listed[p] && !r.finished[p] {
				ready = false
			}
		}
		if !ready {
			continue
		}
		in := store.GetShardIteratorInput{StreamName: desc.StreamName, ShardID: id, Type: store.TrimHorizon}
		if pos, ok := r.positions[id]; ok {
			in.Type, in.SequenceNumber = store.AfterSequenceNumber, pos
		} else if first && position == StartNow {
			in.Type = store.Latest
		}
		iter, err := r.cfg.store.GetShardIterator(in)
		if err != nil && in.Type == store.AfterSequenceNumber && store.ErrorCode(err) == store.CodeInvalidArgument {
			// The position belongs to an earlier incarnation of the stream.
			r.cfg.logger.Warn("checkpointed position does not fit the stream; reading the shard from its start",
				"app", r.cfg.def.Name, "shard", id, "position", in.SequenceNumber)
			in.Type, in.SequenceNumber = store.TrimHorizon, ""
			iter, err = r.cfg.store.GetShardIterator(in)
		}
		if err != nil {
			return fmt.Errorf("read shard %s of stream %s: %w", id, desc.StreamName, err)
		}
		if _, ok := r.positions[id]; !ok || in.Type == store.TrimHorizon {
			seq, err := r.cfg.store.IteratorSequenceNumber(iter)
			if err != nil {
				return err
			}
			r.positions[id] = seq
		}
		rd := &reader{shard: id}
		rd.lastErr.Store("")
		r.readers[id] = rd
		r.statMu.Lock()
		r.readerSet = append(r.readerSet, rd)
		r.statMu.Unlock()
		r.rwg.Add(1)
		go r.read(rd, iter, r.positions[id])
	}
	return nil
}

// read is a shard reader: it sends batches of records to the driver and
// sleeps on the shard's records signal when there is nothing to read.
func (r *runner) read(rd *reader, iter, lastSeq string) {
	defer r.rwg.Done()
	st := r.cfg.store
	const limit = 2000
	backoff := func() bool {
		select {
		case <-r.ctx.Done():
			return false
		case <-time.After(time.Second):
			return true
		}
	}
	for {
		if r.ctx.Err() != nil {
			return
		}
		sig, err := st.RecordsSignal(iter)
		var out store.GetRecordsOutput
		if err == nil {
			out, err = st.GetRecordsDedicated(iter, limit)
		}
		if store.ErrorCode(err) == store.CodeExpiredIterator {
			// Idle for longer than an iterator lives: take a new one.
			iter, err = st.GetShardIterator(store.GetShardIteratorInput{StreamName: r.cfg.def.Input.Stream,
				ShardID: rd.shard, Type: store.AfterSequenceNumber, SequenceNumber: lastSeq})
			if err == nil {
				continue
			}
		}
		if err != nil {
			if r.ctx.Err() != nil {
				return
			}
			rd.lastErr.Store(err.Error())
			if !backoff() {
				return
			}
			continue
		}
		rd.lastErr.Store("")
		rd.lagMs.Store(out.MillisBehindLatest)
		if n := len(out.Records); n > 0 {
			lastSeq = out.Records[n-1].SequenceNumber
			select {
			case r.msgs <- readerMsg{shard: rd.shard, recs: out.Records}:
			case <-r.ctx.Done():
				return
			}
		}
		if out.NextShardIterator == "" {
			rd.done.Store(true)
			rd.lagMs.Store(0)
			select {
			case r.msgs <- readerMsg{shard: rd.shard, end: true}:
			case <-r.ctx.Done():
			}
			return
		}
		iter = out.NextShardIterator
		if len(out.Records) == 0 {
			select {
			case <-sig:
			case <-r.ctx.Done():
				return
			}
		}
	}
}

// drive runs the application: records in, heartbeats, checkpoints.
func (r *runner) drive() {
	defer close(r.done)
	heartbeat := time.NewTicker(r.cfg.heartbeat)
	defer heartbeat.Stop()
	ckpt := time.NewTicker(r.cfg.def.CheckpointInterval.Duration)
	defer ckpt.Stop()
	finish := func(final bool) {
		if r.bridge != nil {
			// Everything it committed stays; the next runner's bridge
			// continues after its saved positions.
			if err := r.bridge.Close(); err != nil {
				r.cfg.logger.Warn("close the source bridge", "app", r.cfg.def.Name, "err", err)
			}
		}
		r.cancel()
		r.rwg.Wait() // no reader touches the store after the runner ends
		r.refs.stop()
		if final {
			if err := r.advance(); err != nil && r.err == nil {
				r.err = err
			}
			if r.err == nil {
				if err := r.checkpoint(); err != nil {
					r.err = fmt.Errorf("final checkpoint: %w", err)
				}
			}
		}
		for _, f := range r.files {
			f.fh.Close()
		}
		r.rt.Close()
	}
	for {
		select {
		case m := <-r.msgs:
			if err := r.handle(m); err != nil {
				r.err = err
				finish(false)
				return
			}
			if r.pendBytes > maxPendingBytes {
				if err := r.checkpoint(); err != nil {
					r.noteCheckpointError(err)
				}
			}
		case <-heartbeat.C:
			if err := r.reportReferenceErrors(); err != nil {
				r.err = err
				finish(false)
				return
			}
			if err := r.advance(); err != nil {
				r.err = err
				finish(false)
				return
			}
			if err := r.flushPostprocessors(false); err != nil {
				r.err = err
				finish(false)
				return
			}
		case <-ckpt.C:
			if err := r.checkpoint(); err != nil {
				r.noteCheckpointError(err)
			}
		case final := <-r.stop:
			finish(final)
			return
		}
	}
}

func (r *runner) noteCheckpointError(err error) {
	r.cfg.logger.Error("checkpoint failed; output is held back and retried", "app", r.cfg.def.Name, "err", err)
	r.statMu.Lock()
	r.ckptErr = err.Error()
	r.statMu.Unlock()
}

// tick is the processing time as a ROWTIME: the wall clock, never earlier
// than a time already given out.
func (r *runner) tick() time.Time {
	ms := r.cfg.now().UnixMilli()
	if ms < r.clockMs {
		ms = r.clockMs
	}
	r.clockMs = ms
	return time.UnixMilli(ms)
}

func (r *runner) advance() error {
	r.advancing = true
	defer func() { r.advancing = false }()
	if err := r.rt.Advance(r.tick()); err != nil {
		return fmt.Errorf("application %s: %w", r.cfg.def.Name, err)
	}
	return nil
}

func (r *runner) handle(m readerMsg) error {
	if m.end {
		r.finished[m.shard] = true
		delete(r.positions, m.shard)
		delete(r.readers, m.shard)
		desc, err := r.cfg.store.DescribeStream(r.cfg.def.Input.Stream)
		if err != nil {
			return fmt.Errorf("follow the children of shard %s: %w", m.shard, err)
		}
		return r.startReaders(desc, false, "")
	}
	now := r.tick()
	recs := make([]input.Record, len(m.recs))
	for i, rec := range m.recs {
		recs[i] = input.Record{Data: rec.Data, Rowtime: now, ArrivalTime: rec.ArrivalTime,
			PartitionKey: rec.PartitionKey, SequenceNumber: rec.SequenceNumber, ShardID: m.shard}
	}
	if err := r.rt.Push(recs); err != nil {
		return fmt.Errorf("application %s: %w", r.cfg.def.Name, err)
	}
	r.positions[m.shard] = m.recs[len(m.recs)-1].SequenceNumber
	r.recordsIn += uint64(len(m.recs))
	r.readIn.Store(r.recordsIn)
	return nil
}

// checkpoint makes everything since the last checkpoint durable in one
// transaction: output records, the runtime snapshot, the positions.
func (r *runner) checkpoint() error {
	// Every row waiting for a post-processor is delivered now: the
	// checkpoint's positions are past the records that made it.
	if err := r.flushPostprocessors(true); err != nil {
		return err
	}
	var snap bytes.Buffer
	if err := r.rt.Snapshot(&snap); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	cp := checkpoint{
		Version: r.cfg.version, Stream: r.cfg.def.Input.Stream, Positions: r.positions,
		ClockMs: r.clockMs, Time: r.cfg.now().UTC(), RecordsIn: r.recordsIn,
		Rows: map[string]uint64{}, Delivered: map[string]uint64{},
	}
	for s := range r.finished {
		cp.Finished = append(cp.Finished, s)
	}
	for name, c := range r.rows {
		cp.Rows[name] = c.Load()
	}
	// File lines go to disk first; the checkpoint names the lengths that
	// belong to it (see openFileSink).
	if len(r.files) > 0 {
		cp.Files = map[string]int64{}
	}
	for _, f := range r.files {
		n, err := f.flush()
		if err != nil {
			return err
		}
		cp.Files[f.path] = n
	}
	counts := map[string]int{}
	for _, s := range r.sinks {
		counts[s.out.Name] += s.buffered
	}
	var tx store.Txn
	for stream, recs := range r.pending {
		tx.Records = append(tx.Records, store.StreamRecords{Stream: stream, Records: recs})
	}
	for name, c := range r.delivered {
		cp.Delivered[name] = c.Load() + uint64(counts[name])
	}
	cj, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	tx.State = map[string][]byte{appKey(r.cfg.def.Name, keyCheckpoint): cj, appKey(r.cfg.def.Name, keySnapshot): snap.Bytes()}
	if err := r.cfg.store.Commit(tx); err != nil {
		return fmt.Errorf("commit checkpoint of application %s: %w", r.cfg.def.Name, err)
	}
	r.pending = map[string][]store.PutRecordInput{}
	r.pendBytes = 0
	for name, c := range r.delivered {
		c.Store(cp.Delivered[name])
	}
	for _, s := range r.sinks {
		s.buffered = 0
	}
	r.statMu.Lock()
	r.lastCkpt = cp.Time
	r.ckptErr = ""
	r.statMu.Unlock()
	return nil
}

// stopRunner stops the application; with final it first takes a last
// checkpoint. It waits for the driver to end and returns why it ended.
func (r *runner) stopRunner(final bool) error {
	select {
	case r.stop <- final:
	default:
	}
	<-r.done
	return r.err
}

// counter counts the rows of an in-application stream.
type counter struct{ n *atomic.Uint64 }

func (c counter) Process(_ *operators.Context, rec arrow.Record) error {
	c.n.Add(uint64(rec.NumRows()))
	return nil
}
func (counter) Advance(*operators.Context, time.Time) error { return nil }

// outputSink renders an output stream's rows and buffers them until the
// next checkpoint. With a post-processor it holds them for the handler
// first (see postprocess.go).
type outputSink struct {
	r    *runner
	out  Output
	file *fileSink
	// stream is the kda stream rows are put into: Stream, or the spill
	// stream of Delivery ("" for neither).
	stream string
	// buffered counts rows rendered since the last checkpoint.
	buffered int

	post *postprocessor
	// held are rows waiting for the post-processor since heldSince;
	// fired says a heartbeat's Advance made some of them.
	held      []heldRow
	heldSince time.Time
	fired     bool
}

// heldRow is an output row waiting for a post-processor.
type heldRow struct {
	data    []byte
	key     string
	rowtime time.Time
}

func (o *outputSink) Process(_ *operators.Context, rec arrow.Record) error {
	for i := 0; i < int(rec.NumRows()); i++ {
		data, err := renderRow(rec, i, o.out.Format)
		if err != nil {
			return fmt.Errorf("output %s: %w", o.out.Name, err)
		}
		key := partitionKey(rec, i, o.out.Name)
		if o.post != nil {
			if len(o.held) == 0 {
				o.heldSince = time.Now()
			}
			o.held = append(o.held, heldRow{data: data, key: key, rowtime: rowtimeOf(rec, i)})
			o.fired = o.fired || o.r.advancing
			continue
		}
		o.write(data, key)
	}
	return nil
}

// write buffers one record or line for the output's destination.
func (o *outputSink) write(data []byte, key string) {
	if o.file != nil {
		o.file.buf = append(append(o.file.buf, data...), '\n')
		o.buffered++
		return
	}
	if o.stream == "" {
		o.buffered++ // delivered to the post-processor, forwarded nowhere
		return
	}
	if len(data)+len(key) > store.MaxRecordBytes {
		o.r.cfg.logger.Error("output row too large for a record; dropped", "app", o.r.cfg.def.Name, "output", o.out.Name, "bytes", len(data))
		return
	}
	if o.out.Delivery != "" {
		// Firehose adds no delimiter: a delivery output writes JSON lines.
		data = append(data[:len(data):len(data)], '\n')
	}
	o.r.pending[o.stream] = append(o.r.pending[o.stream], store.PutRecordInput{PartitionKey: key, Data: data})
	o.r.pendBytes += len(data) + len(key)
	o.buffered++
}

// postFlushInterval is how long a row waits for a post-processor at most
// when no window fires (and no checkpoint comes first).
const postFlushInterval = time.Second

// flushPostprocessors delivers the rows held for post-processors: all of
// them with force, else those of outputs where a window fired or whose
// oldest row waited postFlushInterval. Rows that could not be delivered go
// to error_stream; error_stream's own post-processor goes last, so it
// receives them.
func (r *runner) flushPostprocessors(force bool) error {
	now := time.Now()
	due := func(s *outputSink) bool {
		return s.post != nil && len(s.held) > 0 && (force || s.fired || now.Sub(s.heldSince) >= postFlushInterval)
	}
	var failed []operators.RowError
	for _, s := range r.sinks {
		if s.out.Name != pipeline.ErrorStreamName && due(s) {
			failed = append(failed, s.flushPost()...)
		}
	}
	if len(failed) > 0 {
		if err := r.rt.ReportErrors(failed); err != nil {
			return fmt.Errorf("application %s: %w", r.cfg.def.Name, err)
		}
	}
	for _, s := range r.sinks {
		if s.out.Name == pipeline.ErrorStreamName && due(s) {
			for _, e := range s.flushPost() {
				r.cfg.logger.Error("error_stream row not delivered by its post-processor; dropped",
					"app", r.cfg.def.Name, "output", s.out.Name, "reason", e.Message, "row", e.DataRow)
			}
		}
	}
	return nil
}

// flushPost delivers the held rows to the post-processor, forwards the
// data of Ok answers and returns the rows that failed.
func (o *outputSink) flushPost() []operators.RowError {
	held := o.held
	o.held, o.fired = nil, false
	rows := make([][]byte, len(held))
	for i, h := range held {
		rows[i] = h.data
	}
	var failed []operators.RowError
	errTime := time.UnixMilli(o.r.clockMs)
	for i, d := range o.post.deliver(rows) {
		switch {
		case !d.ok:
			failed = append(failed, operators.RowError{Time: errTime, Level: "ERROR", Name: ErrDeliveryFailed,
				Message: "output " + o.out.Name + ": " + d.reason, DataRowtime: held[i].rowtime, DataRow: string(held[i].data)})
		case d.hasData:
			o.write(d.data, held[i].key)
		default:
			o.buffered++
		}
	}
	return failed
}

// rowtimeOf is ROWTIME (the first column) of row i, or the zero time.
func rowtimeOf(rec arrow.Record, i int) time.Time {
	if rec.NumCols() == 0 {
		return time.Time{}
	}
	if ts, ok := rec.Column(0).(*array.Timestamp); ok && ts.IsValid(i) {
		return time.UnixMilli(int64(ts.Value(i))).UTC()
	}
	return time.Time{}
}

func (*outputSink) Advance(*operators.Context, time.Time) error { return nil }

// renderRow writes one row as JSON (an object, ROWTIME first) or CSV.
func renderRow(rec arrow.Record, i int, format string) ([]byte, error) {
	if format != "CSV" {
		return []byte(operators.RowJSON(rec, i)), nil
	}
	fields := make([]string, rec.NumCols())
	for c := range fields {
		fields[c] = valueText(rec.Column(c), i)
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(fields); err != nil {
		return nil, err
	}
	w.Flush()
	return bytes.TrimRight(b.Bytes(), "\n"), w.Error()
}

// valueText is a value as plain text: JSON's rendering without quotes,
// NULL as the empty string.
func valueText(col arrow.Array, i int) string {
	if col.IsNull(i) {
		return ""
	}
	v := operators.ValueJSON(col, i)
	if strings.HasPrefix(v, `"`) {
		if s, err := strconv.Unquote(v); err == nil {
			return s
		}
	}
	return v
}

// partitionKey is the first column after ROWTIME as text (so rows of one
// key go to one shard, in order), or the output's name when it is empty.
func partitionKey(rec arrow.Record, i int, fallback string) string {
	k := ""
	if rec.NumCols() > 1 {
		k = valueText(rec.Column(1), i)
	}
	if k == "" {
		k = fallback
	}
	if utf8.RuneCountInString(k) > 256 {
		k = string([]rune(k)[:256])
	}
	return k
}

// fileSink appends JSON or CSV lines to a local file.
type fileSink struct {
	path string
	fh   *os.File
	size int64
	buf  []byte
}

// openFileSink opens an output file for appending. With offset ≥ 0 (the
// length at the last checkpoint) anything after it — lines of a run that
// crashed before its checkpoint — is cut off first.
func openFileSink(path string, offset int64) (*fileSink, error) {
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	fi, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	size := fi.Size()
	if offset >= 0 && size > offset {
		if err := fh.Truncate(offset); err != nil {
			fh.Close()
			return nil, fmt.Errorf("cut %s back to its checkpointed length: %w", path, err)
		}
		size = offset
	}
	return &fileSink{path: path, fh: fh, size: size}, nil
}

// flush appends the buffered lines at the file's checkpointed end, syncs,
// and returns the new length.
func (f *fileSink) flush() (int64, error) {
	if len(f.buf) > 0 {
		if _, err := f.fh.WriteAt(f.buf, f.size); err != nil {
			return 0, fmt.Errorf("write %s: %w", f.path, err)
		}
		if err := f.fh.Sync(); err != nil {
			return 0, fmt.Errorf("sync %s: %w", f.path, err)
		}
		f.size += int64(len(f.buf))
		f.buf = f.buf[:0]
	}
	return f.size, nil
}
