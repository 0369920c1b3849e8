package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fastjson"

	"github.com/kdaproject/kda/engine/store"
	"github.com/kdaproject/kda/udf"
)

// A worker delivers one delivery stream, in one goroutine:
//
//	spill stream ──GetRecordsDedicated + RecordsSignal (no polling)──► buffer
//	    │ until SizeInMBs (uncompressed) or IntervalInSeconds since the first buffered record
//	    ▼ flush
//	transformation (JavaScript) ─► partitioning ─► Parquet | concatenation ─► compression
//	    │
//	    ▼ PutObject / Deliver, retried with backoff for ever (Permanent errors and
//	    │ failed records go to the error output instead)
//	    ▼ then, and only then:
//	SetCheckpoint(spill, "kda-delivery", shard, last flushed sequence number)
//
// Guarantees: a record acknowledged by Put is delivered or written to the
// error output at least once. A crash (or Close) between a destination's
// acknowledgement and the checkpoint delivers that flush again after the
// restart: object stores get a second object with a new random name,
// record sinks get the records again with the same Record.ID. Records of
// one spill shard are flushed in order, so records with one partition key
// reach the destination in put order.

// spilled is one record read from the spill stream.
type spilled struct {
	shard, seq, key string
	data            []byte
	arrival         time.Time
}

// cursor reads one shard of the spill.
type cursor struct {
	shard    string
	iter     string
	from     string // the checkpoint at start ("" for TRIM_HORIZON)
	lastRead string // the last sequence number buffered
	done     bool
}

type worker struct {
	m     *Manager
	s     stored
	name  string
	spill string
	log   *slog.Logger

	p      *plan
	obj    ObjectStore
	sink   RecordSink
	tr     *transformer
	parser fastjson.Parser
	comp   compressor
	items  []item // reused from one flush to the next (see transform)

	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{}
	flushReq chan chan error
	started  bool

	startErr                            string
	delivered, retried, failed, dropped atomic.Uint64
	oldestMs                            atomic.Int64 // arrival of the oldest buffered record, 0 when empty
	errMu                               sync.Mutex
	lastErr                             string
	lastErrTime                         time.Time
}

func (m *Manager) newWorker(s stored) *worker {
	name := s.Definition.DeliveryStreamName
	return &worker{m: m, s: s, name: name, spill: SpillStreamName(name),
		log: m.opts.Logger.With("delivery_stream", name), done: make(chan struct{}), flushReq: make(chan chan error)}
}

// start compiles the definition, opens the destination and starts the
// goroutine.
func (w *worker) start() error {
	err := w.open()
	if err != nil {
		w.startErr = err.Error()
		close(w.done)
		return err
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.started = true
	go w.run()
	return nil
}

func (w *worker) open() error {
	p, err := compile(w.s.Definition)
	if err != nil {
		return err
	}
	if err := w.m.checkConnector(p); err != nil {
		return err
	}
	w.p = p
	ctx := context.Background()
	if p.sink != nil {
		c, _ := w.m.opts.Registry.Lookup(p.sink.Type)
		if w.sink, err = c.OpenSink(ctx, p.sink.Config); err != nil {
			return fmt.Errorf("SinkDestination.Config: %w", err)
		}
	} else {
		c, _ := w.m.opts.Registry.Lookup(w.m.opts.ObjectStoreKind)
		if w.obj, err = c.OpenStore(ctx, w.m.opts.ObjectStoreConfig); err != nil {
			return fmt.Errorf("open the object store %s: %w", w.m.opts.ObjectStoreKind, err)
		}
	}
	if p.transform != nil {
		if w.tr, err = newTransformer(p.transform, w.m.arn(w.name), w.m.opts.Region, w.log); err != nil {
			w.closeDest()
			return err
		}
	}
	return nil
}

func (w *worker) stop() {
	if w.started {
		w.cancel()
	}
	<-w.done
}

func (w *worker) closeDest() error {
	var err error
	if w.obj != nil {
		err = w.obj.Close()
	}
	if w.sink != nil {
		err = w.sink.Close()
	}
	if w.tr != nil {
		w.tr.close()
	}
	return err
}

func (w *worker) flushNow(ctx context.Context) error {
	if !w.started {
		return &Error{Code: CodeServiceUnavailable, Message: fmt.Sprintf("delivery stream %s is not running: %s", w.name, w.startErr)}
	}
	ch := make(chan error, 1)
	select {
	case w.flushReq <- ch:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.done:
		return &Error{Code: CodeServiceUnavailable, Message: "the delivery stream stopped"}
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-w.done:
		return &Error{Code: CodeServiceUnavailable, Message: "the delivery stream stopped"}
	}
}

func (w *worker) noteError(err error) {
	w.errMu.Lock()
	w.lastErr, w.lastErrTime = err.Error(), w.m.opts.Clock.Now()
	w.errMu.Unlock()
}

// retry runs f until it succeeds, fails permanently (*Permanent) or the
// worker stops, with exponential backoff between attempts.
func (w *worker) retry(what string, f func(ctx context.Context) error) error {
	backoff := w.m.opts.RetryMin
	for {
		err := f(w.ctx)
		if err == nil {
			return nil
		}
		if w.ctx.Err() != nil {
			return w.ctx.Err()
		}
		var perm *Permanent
		if errors.As(err, &perm) {
			w.noteError(err)
			return err
		}
		w.retried.Add(1)
		w.noteError(err)
		w.log.Warn("delivery failed; retrying", "what", what, "in", backoff, "err", err)
		if err := sleepCtx(w.ctx, backoff); err != nil {
			return err
		}
		backoff = min(backoff*2, w.m.opts.RetryMax)
	}
}

// openCursors positions a cursor on every shard of the spill, after its
// checkpoint.
func (w *worker) openCursors() ([]*cursor, error) {
	desc, err := w.m.st.DescribeStream(w.spill)
	if err != nil {
		return nil, err
	}
	cps, err := w.m.st.Checkpoints(w.spill, consumerName)
	if err != nil {
		return nil, err
	}
	var out []*cursor
	for _, sh := range desc.Shards {
		c := &cursor{shard: sh.ShardID, from: cps[sh.ShardID]}
		if c.iter, err = w.iterator(c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (w *worker) iterator(c *cursor) (string, error) {
	in := store.GetShardIteratorInput{StreamName: w.spill, ShardID: c.shard, Type: store.TrimHorizon}
	if seq := c.lastRead; seq != "" || c.from != "" {
		if seq == "" {
			seq = c.from
		}
		in.Type, in.SequenceNumber = store.AfterSequenceNumber, seq
	}
	return w.m.st.GetShardIterator(in)
}

func (w *worker) run() {
	defer close(w.done)
	var cursors []*cursor
	if err := w.retry("open the spill stream", func(context.Context) error {
		var err error
		cursors, err = w.openCursors()
		return err
	}); err != nil {
		return
	}
	clock := w.m.opts.Clock
	var (
		buf      []*spilled
		bufBytes int
		bufStart time.Time
		waiters  []chan error
	)
	for w.ctx.Err() == nil {
		sigs := make([]<-chan struct{}, 0, len(cursors))
		for _, c := range cursors {
			if !c.done {
				if sig, err := w.m.st.RecordsSignal(c.iter); err == nil {
					sigs = append(sigs, sig)
				}
			}
		}
		read := 0
		for _, c := range cursors {
			if c.done || bufBytes >= w.p.size {
				continue
			}
			out, err := w.m.st.GetRecordsDedicated(c.iter, 0)
			if err != nil {
				if it, ierr := w.iterator(c); store.IsCode(err, store.CodeExpiredIterator) && ierr == nil {
					c.iter = it
					read++ // go round again
					continue
				}
				w.noteError(err)
				w.log.Error("read the spill stream", "shard", c.shard, "err", err)
				if sleepCtx(w.ctx, w.m.opts.RetryMin) != nil {
					return
				}
				continue
			}
			// One allocation for the records of a read, not one per record.
			recs := make([]spilled, len(out.Records))
			for i, r := range out.Records {
				if len(buf) == 0 {
					bufStart = clock.Now()
					w.oldestMs.Store(r.ArrivalTime.UnixMilli())
				}
				recs[i] = spilled{shard: c.shard, seq: r.SequenceNumber, key: r.PartitionKey, data: r.Data, arrival: r.ArrivalTime}
				buf = append(buf, &recs[i])
				bufBytes += len(r.Data)
			}
			if n := len(out.Records); n > 0 {
				c.lastRead = out.Records[n-1].SequenceNumber
				read += n
			}
			if out.NextShardIterator == "" {
				c.done = true
			} else {
				c.iter = out.NextShardIterator
			}
		}
		now := clock.Now()
		full := bufBytes >= w.p.size
		due := len(buf) > 0 && (full || w.p.interval == 0 || now.Sub(bufStart) >= w.p.interval)
		if due || (len(waiters) > 0 && read == 0) {
			for len(buf) > 0 && (due || len(waiters) > 0) {
				// Flush at most SizeInMBs; the rest waits for the next object.
				n, size := 0, 0
				for n < len(buf) && (n == 0 || size < w.p.size) {
					size += len(buf[n].data)
					n++
				}
				// The rest's interval starts when this flush starts.
				flushStart := clock.Now()
				if err := w.flush(buf[:n]); err != nil {
					return // stopping
				}
				// Keep the rest at the front of the same array and drop
				// the flushed records' pointers so they can be collected.
				rest := copy(buf, buf[n:])
				clear(buf[rest:])
				buf = buf[:rest]
				bufBytes -= size
				if len(buf) > 0 {
					bufStart = flushStart
					w.oldestMs.Store(buf[0].arrival.UnixMilli())
				} else {
					w.oldestMs.Store(0)
				}
				due = bufBytes >= w.p.size
			}
			if len(buf) == 0 && read == 0 {
				for _, ch := range waiters {
					ch <- nil
				}
				waiters = nil
			}
			continue
		}
		if read > 0 {
			continue
		}
		// Wait for records, the buffer's deadline, a flush request or stop.
		cases := []reflect.SelectCase{
			{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(w.ctx.Done())},
			{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(w.flushReq)},
		}
		if len(buf) > 0 {
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(clock.After(w.p.interval - now.Sub(bufStart)))})
		}
		for _, s := range sigs {
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(s)})
		}
		chosen, v, _ := reflect.Select(cases)
		switch chosen {
		case 0:
			return
		case 1:
			waiters = append(waiters, v.Interface().(chan error))
		}
	}
}

// failure is a record on its way to the error output.
type failure struct {
	rec      *spilled
	typ      string // error output type
	code     string
	msg      string
	attempts int
}

// errorDocument is Firehose's error output record.
type errorDocument struct {
	AttemptsMade           int    `json:"attemptsMade"`
	ArrivalTimestamp       int64  `json:"arrivalTimestamp"`
	ErrorCode              string `json:"errorCode"`
	ErrorMessage           string `json:"errorMessage"`
	AttemptEndingTimestamp int64  `json:"attemptEndingTimestamp"`
	RawData                []byte `json:"rawData"`
}

func (w *worker) errorJSON(f failure) []byte {
	b, _ := json.Marshal(errorDocument{AttemptsMade: max(f.attempts, 1), ArrivalTimestamp: f.rec.arrival.UnixMilli(),
		ErrorCode: f.code, ErrorMessage: f.msg, AttemptEndingTimestamp: w.m.opts.Clock.Now().UnixMilli(), RawData: f.rec.data})
	return b
}

// item is a record after the transformation.
type item struct {
	rec    *spilled
	data   []byte
	lambda map[string]string
}

// transform runs the transformation (when there is one) and returns the
// records to deliver; failures are appended to fails.
func (w *worker) transform(recs []*spilled, fails *[]failure) ([]item, error) {
	// The slice is reused from one flush to the next: nothing keeps it
	// once flush returns (flush clears it).
	if cap(w.items) < len(recs) {
		w.items = make([]item, 0, len(recs))
	}
	items := w.items[:0]
	if w.tr == nil {
		for _, r := range recs {
			items = append(items, item{rec: r, data: r.data})
		}
		return items, nil
	}
	res, err := w.tr.run(w.ctx, recs)
	if err != nil {
		return nil, err
	}
	for i, r := range res {
		switch r.result {
		case udf.ResultOk:
			items = append(items, item{rec: recs[i], data: r.data, lambda: r.keys})
		case udf.ResultDropped:
			w.dropped.Add(1)
		default:
			code := codeProcessingFailed
			if r.attempts > 1 || strings.Contains(r.problem, "\n") {
				code = codeFunctionError
			}
			*fails = append(*fails, failure{rec: recs[i], typ: ErrProcessingFailed, code: code, msg: r.problem, attempts: r.attempts})
		}
	}
	return items, nil
}

// flush delivers recs and checkpoints them. It returns an error only when
// the worker stops.
func (w *worker) flush(recs []*spilled) error {
	var err error
	if w.sink != nil {
		err = w.flushSink(recs)
	} else {
		err = w.flushObjects(recs)
	}
	clear(w.items[:min(len(recs), cap(w.items))]) // let the records be collected
	if err != nil {
		return err
	}
	last := map[string]string{}
	for _, r := range recs {
		last[r.shard] = r.seq
	}
	shards := make([]string, 0, len(last))
	for s := range last {
		shards = append(shards, s)
	}
	sort.Strings(shards)
	for _, s := range shards {
		if err := w.retry("checkpoint", func(context.Context) error {
			return w.m.st.SetCheckpoint(w.spill, consumerName, s, last[s])
		}); err != nil {
			return err
		}
	}
	return nil
}

// group is the records of one object.
type group struct {
	query  map[string]string
	lambda map[string]string
	items  []item
}

func (w *worker) flushObjects(recs []*spilled) error {
	var fails []failure
	items, err := w.transform(recs, &fails)
	if err != nil {
		return err
	}
	groups := w.partition(items, &fails)
	p := w.p
	for _, g := range groups {
		oldest := g.items[0].rec.arrival
		for _, it := range g.items {
			if it.rec.arrival.Before(oldest) {
				oldest = it.rec.arrival
			}
		}
		var (
			body  []byte
			parts iter.Seq[[]byte] // the object in pieces, when not converted
			size  int              // their total length
		)
		if p.convert != nil {
			in := make([]*spilled, len(g.items))
			for i, it := range g.items {
				in[i] = &spilled{data: it.data, arrival: it.rec.arrival}
			}
			pq, reasons, err := p.convert.convert(in)
			kept := g.items[:0:0]
			for i, it := range g.items {
				switch {
				case err != nil:
					fails = append(fails, failure{rec: it.rec, typ: ErrFormatConversionFailed, code: codeConversion, msg: err.Error()})
				case reasons[i] != "":
					fails = append(fails, failure{rec: it.rec, typ: ErrFormatConversionFailed, code: codeConversion, msg: reasons[i]})
				default:
					kept = append(kept, it)
				}
			}
			g.items = kept
			if len(kept) == 0 || err != nil {
				continue
			}
			body = pq
		} else {
			// The records are concatenated while being compressed.
			items := g.items
			for _, it := range items {
				size += len(it.data)
			}
			parts = func(yield func([]byte) bool) {
				for _, it := range items {
					if !yield(it.data) {
						return
					}
				}
			}
		}
		t := oldest.In(p.loc)
		prefix, err := p.prefix.eval(&keyValues{time: t, query: g.query, lambda: g.lambda})
		if err != nil {
			for _, it := range g.items {
				fails = append(fails, failure{rec: it.rec, typ: ErrPartitioningFailed, code: codePartitioning, msg: err.Error()})
			}
			continue
		}
		name := objectName(w.name, w.s.Version, t, p.ext)
		var enc string
		if parts != nil {
			body, enc, err = w.comp.compressParts(p.compression, size, parts, name)
		} else {
			body, enc, err = w.comp.compress(p.compression, body, name)
		}
		if err != nil {
			return fmt.Errorf("compress: %w", err) // cannot happen with valid formats
		}
		key := prefix + name
		err = w.retry("put object "+key, func(ctx context.Context) error {
			return w.obj.PutObject(ctx, p.bucket, key, body, "application/octet-stream", enc)
		})
		var perm *Permanent
		switch {
		case errors.As(err, &perm):
			for _, it := range g.items {
				fails = append(fails, failure{rec: it.rec, typ: ErrDeliveryFailed, code: codePermanent, msg: err.Error(), attempts: 1})
			}
		case err != nil:
			return err
		default:
			w.delivered.Add(uint64(len(g.items)))
		}
	}
	return w.writeErrorObjects(fails)
}

// partition groups items by their partition keys, in order of first
// appearance; records whose keys cannot be found fail.
func (w *worker) partition(items []item, fails *[]failure) []*group {
	if len(items) == 0 {
		return nil
	}
	if !w.p.dynamic {
		return []*group{{items: items}}
	}
	var out []*group
	byKey := map[string]*group{}
	names := make([]string, 0, len(w.p.partKeys))
	for k := range w.p.partKeys {
		names = append(names, k)
	}
	sort.Strings(names)
	var id strings.Builder
	for _, it := range items {
		query := map[string]string{}
		var err error
		if len(names) > 0 {
			var v *fastjson.Value
			if v, err = w.parser.ParseBytes(it.data); err == nil {
				for _, k := range names {
					var s string
					if s, err = w.p.partKeys[k].extract(v); err != nil {
						break
					}
					query[k] = s
				}
			}
		}
		if err == nil {
			for _, pt := range w.p.prefix.parts {
				if _, ok := it.lambda[pt.text]; pt.kind == partLambdaKey && !ok {
					err = fmt.Errorf("the transformation returned no metadata.partitionKeys.%s", pt.text)
					break
				}
			}
		}
		if err != nil {
			*fails = append(*fails, failure{rec: it.rec, typ: ErrPartitioningFailed, code: codePartitioning, msg: err.Error()})
			continue
		}
		id.Reset()
		for _, k := range names {
			id.WriteString(query[k])
			id.WriteByte(0)
		}
		id.WriteByte(1)
		lk := make([]string, 0, len(it.lambda))
		for k := range it.lambda {
			lk = append(lk, k)
		}
		sort.Strings(lk)
		for _, k := range lk {
			id.WriteString(k + "\x00" + it.lambda[k] + "\x00")
		}
		g := byKey[id.String()]
		if g == nil {
			g = &group{query: query, lambda: it.lambda}
			byKey[id.String()] = g
			out = append(out, g)
		}
		g.items = append(g.items, it)
	}
	return out
}

// writeErrorObjects writes failed records under ErrorOutputPrefix, one
// object of JSON lines per error output type.
func (w *worker) writeErrorObjects(fails []failure) error {
	if len(fails) == 0 {
		return nil
	}
	w.failed.Add(uint64(len(fails)))
	var types []string
	byType := map[string][]failure{}
	for _, f := range fails {
		if byType[f.typ] == nil {
			types = append(types, f.typ)
		}
		byType[f.typ] = append(byType[f.typ], f)
	}
	for _, typ := range types {
		fs := byType[typ]
		oldest := fs[0].rec.arrival
		var body bytes.Buffer
		for _, f := range fs {
			if f.rec.arrival.Before(oldest) {
				oldest = f.rec.arrival
			}
			body.Write(w.errorJSON(f))
			body.WriteByte('\n')
		}
		t := oldest.In(w.p.loc)
		prefix, err := w.p.errPrefix.eval(&keyValues{time: t, errorType: typ})
		if err != nil {
			w.log.Error("error output prefix; records dropped", "type", typ, "records", len(fs), "err", err)
			continue
		}
		key := prefix + objectName(w.name, w.s.Version, t, "")
		err = w.retry("put error object "+key, func(ctx context.Context) error {
			return w.obj.PutObject(ctx, w.p.bucket, key, body.Bytes(), "application/x-ndjson", "")
		})
		var perm *Permanent
		if errors.As(err, &perm) {
			w.log.Error("the error output refused failed records; they are dropped", "type", typ, "records", len(fs), "err", err)
		} else if err != nil {
			return err
		}
	}
	return nil
}

func (w *worker) flushSink(recs []*spilled) error {
	var fails []failure
	items, err := w.transform(recs, &fails)
	if err != nil {
		return err
	}
	batch := make([]Record, len(items))
	for i, it := range items {
		batch[i] = Record{Data: it.data, PartitionKey: it.rec.key, Arrival: it.rec.arrival, ID: it.rec.seq}
	}
	if len(batch) > 0 {
		err = w.retry("deliver", func(ctx context.Context) error { return w.sink.Deliver(ctx, batch) })
		var perm *Permanent
		switch {
		case errors.As(err, &perm) && len(batch) > 1:
			// Find the records at fault: deliver them one by one.
			for i := range batch {
				err := w.retry("deliver", func(ctx context.Context) error { return w.sink.Deliver(ctx, batch[i:i+1]) })
				switch {
				case errors.As(err, &perm):
					fails = append(fails, failure{rec: items[i].rec, typ: ErrDeliveryFailed, code: codePermanent, msg: err.Error(), attempts: 2})
				case err != nil:
					return err
				default:
					w.delivered.Add(1)
				}
			}
		case errors.As(err, &perm):
			fails = append(fails, failure{rec: items[0].rec, typ: ErrDeliveryFailed, code: codePermanent, msg: err.Error(), attempts: 1})
		case err != nil:
			return err
		default:
			w.delivered.Add(uint64(len(batch)))
		}
	}
	if len(fails) == 0 {
		return nil
	}
	w.failed.Add(uint64(len(fails)))
	out := make([]store.PutRecordInput, len(fails))
	for i, f := range fails {
		out[i] = store.PutRecordInput{PartitionKey: f.rec.key, Data: w.errorJSON(f)}
	}
	return w.retry("write the error stream", func(context.Context) error {
		return w.m.st.Commit(store.Txn{Records: []store.StreamRecords{{Stream: ErrorStreamName(w.name), Records: out}}})
	})
}

// describe builds the Description with current metrics.
func (w *worker) describe() Description {
	d := Description{
		DeliveryStreamName: w.name, DeliveryStreamARN: w.m.arn(w.name), DeliveryStreamStatus: "ACTIVE",
		DeliveryStreamType: "DirectPut", VersionID: fmt.Sprint(w.s.Version),
		CreateTimestamp: time.UnixMilli(w.s.CreatedMs).UTC(), Definition: w.s.Definition, SpillStream: w.spill,
	}
	if w.s.Definition.SinkDestination != nil {
		d.ErrorStream = ErrorStreamName(w.name)
	}
	if w.startErr != "" {
		d.DeliveryStreamStatus = "CREATING_FAILED"
		d.FailureDescription = w.startErr
	}
	mt := &d.Metrics
	mt.Delivered, mt.Retried, mt.Failed, mt.Dropped = w.delivered.Load(), w.retried.Load(), w.failed.Load(), w.dropped.Load()
	if ms := w.oldestMs.Load(); ms > 0 {
		mt.DeliveryAge = max(0, w.m.opts.Clock.Now().Sub(time.UnixMilli(ms)))
	}
	w.errMu.Lock()
	mt.LastError, mt.LastErrorTime = w.lastErr, w.lastErrTime
	w.errMu.Unlock()
	mt.Spilled = w.backlog()
	return d
}

// backlog counts the records in the spill after the checkpoint.
func (w *worker) backlog() uint64 {
	desc, err := w.m.st.DescribeStream(w.spill)
	if err != nil {
		return 0
	}
	cps, _ := w.m.st.Checkpoints(w.spill, consumerName)
	var n uint64
	for _, sh := range desc.Shards {
		it, err := w.m.st.GetShardIterator(store.GetShardIteratorInput{StreamName: w.spill, ShardID: sh.ShardID, Type: store.Latest})
		if err != nil {
			continue
		}
		tip, err := w.m.st.IteratorSequenceNumber(it)
		if err != nil {
			continue
		}
		t, c := seqCounter(tip), uint64(0)
		if cp, ok := cps[sh.ShardID]; ok {
			c = seqCounter(cp)
		}
		if t > c {
			n += t - c
		}
	}
	return n
}
