package restapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	kdaapp "github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/engine/store"
	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/input"
	"github.com/kdaproject/kda/operators/pipeline"
)

// POST /v1/query runs SQL over a kda stream for a while and streams what it
// produces as Server-Sent Events, for the console's SQL editor:
//
//	shard readers (GetRecordsDedicated + RecordsSignal, children after parents)
//	    │ records
//	    ▼
//	the handler goroutine: an ephemeral runtime (never persisted):
//	Push with ROWTIME = processing time · Advance every heartbeat
//	    │ rows of the output streams, rendered as JSON
//	    ▼
//	event: rows, at least every FlushInterval, until maxRows, maxSeconds or
//	the client goes away.
//
// Problems with the request itself (malformed body, unknown stream, nothing
// to discover a schema from) are plain JSON 4xx answers; once the event
// stream has started, the status is 200 and problems arrive as an error
// event followed by end.

// queryRequest is the body of POST /v1/query.
type queryRequest struct {
	SQL    string        `json:"sql"`
	Stream string        `json:"stream"`
	Schema *input.Schema `json:"schema,omitempty"`
	// From is LATEST (default) or TRIM_HORIZON.
	From       string  `json:"from,omitempty"`
	MaxRows    int     `json:"maxRows,omitempty"`
	MaxSeconds float64 `json:"maxSeconds,omitempty"`
}

// Query defaults and bounds.
const (
	defaultMaxRows = 1000
	maxMaxRows     = 100000
	// flushRows sends rows without waiting for the flush interval once this
	// many are pending.
	flushRows = 500
	// discoverSamples is how many of the newest records a query without a
	// schema discovers one from.
	discoverSamples = 100
)

// Events of a query stream.
type (
	schemaEvent struct {
		Streams []streamColumns `json:"streams"`
	}
	streamColumns struct {
		Name    string         `json:"name"`
		Columns []columnSchema `json:"columns"`
	}
	columnSchema struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	rowsEvent struct {
		Stream string            `json:"stream"`
		Rows   []json.RawMessage `json:"rows"`
	}
	errorEvent struct {
		Message string `json:"message"`
		Line    int    `json:"line,omitempty"`
		Column  int    `json:"column,omitempty"`
	}
	endEvent struct {
		Reason string `json:"reason"`
	}
)

// End reasons.
const (
	endMaxRows    = "maxRows"
	endMaxSeconds = "maxSeconds"
	endClient     = "client"
	endError      = "error"
)

func (s *server) query(w http.ResponseWriter, r *http.Request) {
	var in queryRequest
	if !decodeBody(w, r, &in, `{"sql":"SELECT STREAM * FROM SOURCE_SQL_STREAM_001","stream":"clicks","from":"LATEST","maxRows":1000,"maxSeconds":600}`) {
		return
	}
	bad := func(format string, args ...any) {
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, fmt.Sprintf(format, args...))
	}
	switch {
	case strings.TrimSpace(in.SQL) == "":
		bad("sql: give a SELECT STREAM … or an application's CREATE STREAM/PUMP statements")
		return
	case in.Stream == "":
		bad("stream: name the kda stream the query reads")
		return
	case in.MaxRows < 0 || in.MaxRows > maxMaxRows:
		bad("maxRows: %d is not in 1..%d", in.MaxRows, maxMaxRows)
		return
	case in.MaxSeconds < 0:
		bad("maxSeconds: %g is negative", in.MaxSeconds)
		return
	}
	from := strings.ToUpper(in.From)
	switch from {
	case "":
		from = string(store.Latest)
	case string(store.Latest), string(store.TrimHorizon):
	default:
		bad("from: %q is not LATEST or TRIM_HORIZON", in.From)
		return
	}
	if in.MaxRows == 0 {
		in.MaxRows = defaultMaxRows
	}
	limit := s.opts.MaxQueryDuration
	if in.MaxSeconds > 0 {
		limit = min(limit, time.Duration(in.MaxSeconds*float64(time.Second)))
	}
	if _, err := s.deps.Store.DescribeStream(in.Stream); err != nil {
		writeStoreError(w, err)
		return
	}
	var schema input.Schema
	if in.Schema != nil {
		schema = *in.Schema
	} else {
		samples, ok := s.sampleStream(w, in.Stream, discoverSamples)
		if !ok {
			return
		}
		var err error
		if schema, err = input.Discover(samples, ""); err != nil {
			bad("schema: none given, and none could be discovered from the stream's newest records: %v", err)
			return
		}
	}

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	q := &queryRun{w: w, rc: http.NewResponseController(w), maxRows: in.MaxRows, pending: map[string][]json.RawMessage{}}
	q.flush()
	reason := s.runQuery(r.Context(), q, in, schema, from, limit)
	q.send("end", endEvent{Reason: reason})
}

// queryRun is one query's event stream; only the handler goroutine uses it.
type queryRun struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	broken  bool // a write failed: the client is gone
	maxRows int
	total   int
	outs    []string
	pending map[string][]json.RawMessage
	npend   int
}

// send writes one event and flushes it.
func (q *queryRun) send(event string, v any) {
	if q.broken {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(errorEvent{Message: "encode " + event + ": " + err.Error()})
		event = "error"
	}
	if _, err := fmt.Fprintf(q.w, "event: %s\ndata: %s\n\n", event, b); err != nil {
		q.broken = true
		return
	}
	q.flush()
}

func (q *queryRun) flush() {
	if err := q.rc.Flush(); err != nil {
		q.broken = true
	}
}

func (q *queryRun) sendError(err error) {
	ev := errorEvent{Message: err.Error()}
	if line, col, ok := sqlPosition(err); ok {
		ev.Line, ev.Column = line, col
	}
	q.send("error", ev)
}

// sendRows sends the pending rows, a rows event per stream.
func (q *queryRun) sendRows() {
	for _, name := range q.outs {
		if rows := q.pending[name]; len(rows) > 0 {
			q.send("rows", rowsEvent{Stream: name, Rows: rows})
			q.pending[name] = nil
		}
	}
	q.npend = 0
}

// full reports that maxRows rows have been produced.
func (q *queryRun) full() bool { return q.total >= q.maxRows }

// querySink collects one output stream's rows.
type querySink struct {
	q    *queryRun
	name string
}

func (k querySink) Process(_ *operators.Context, rec arrow.Record) error {
	for i := 0; i < int(rec.NumRows()) && !k.q.full(); i++ {
		k.q.pending[k.name] = append(k.q.pending[k.name], json.RawMessage(operators.RowJSON(rec, i)))
		k.q.total++
		k.q.npend++
	}
	return nil
}

func (querySink) Advance(*operators.Context, time.Time) error { return nil }

// runQuery compiles and runs the query until it ends; it returns why.
func (s *server) runQuery(ctx context.Context, q *queryRun, in queryRequest, schema input.Schema, from string, limit time.Duration) string {
	def := kdaapp.Definition{Name: "query", SQL: in.SQL, Input: kdaapp.Input{Stream: in.Stream, Schema: schema}}
	var lib kdaapp.Library
	if s.deps.Apps != nil {
		lib = s.deps.Apps.Library()
	}
	rt, err := kdaapp.CompilePreview(def, nil, lib)
	if err != nil {
		q.sendError(err)
		return endError
	}
	defer rt.Close()
	created, previews := rt.CreatedStreamNames(), rt.PreviewStreamNames()
	switch {
	case len(created) == 0 && len(previews) == 0:
		q.sendError(fmt.Errorf("the SQL produces nothing: give a SELECT STREAM …, or CREATE STREAM and CREATE PUMP statements"))
		return endError
	case len(created) == 0:
		q.outs = previews
	default:
		q.outs = append(append(created, previews...), pipeline.ErrorStreamName)
	}
	var ev schemaEvent
	for _, name := range q.outs {
		sc, _ := rt.StreamSchema(name)
		sc2 := streamColumns{Name: name, Columns: []columnSchema{}}
		for _, f := range sc.Fields {
			sc2.Columns = append(sc2.Columns, columnSchema{Name: f.Name, Type: f.Type.String()})
		}
		ev.Streams = append(ev.Streams, sc2)
		if err := rt.Subscribe(name, querySink{q: q, name: name}); err != nil {
			q.sendError(err)
			return endError
		}
	}
	started := time.Now()
	rt.SetClock(started, time.Now)
	q.send("schema", ev)

	ctx, cancel := context.WithCancel(ctx)
	feed := &shardFeed{st: s.deps.Store, stream: in.Stream, ctx: ctx, msgs: make(chan feedMsg, 16),
		readers: map[string]bool{}, finished: map[string]bool{}}
	defer func() {
		cancel()
		feed.wg.Wait()
	}()
	if err := feed.start(from); err != nil {
		q.sendError(err)
		return endError
	}

	heartbeat := time.NewTicker(s.opts.Heartbeat)
	defer heartbeat.Stop()
	flushT := time.NewTicker(s.opts.FlushInterval)
	defer flushT.Stop()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	var lastMs int64
	tick := func() time.Time {
		lastMs = max(lastMs, time.Now().UnixMilli())
		return time.UnixMilli(lastMs)
	}
	for {
		var err error
		select {
		case <-ctx.Done():
			return endClient
		case <-deadline.C:
			q.sendRows()
			return endMaxSeconds
		case m := <-feed.msgs:
			switch {
			case m.err != nil:
				err = m.err
			case m.end:
				err = feed.shardEnded(m.shard)
			default:
				now := tick()
				recs := make([]input.Record, len(m.recs))
				for i, rec := range m.recs {
					recs[i] = input.Record{Data: rec.Data, Rowtime: now, ArrivalTime: rec.ArrivalTime,
						PartitionKey: rec.PartitionKey, SequenceNumber: rec.SequenceNumber, ShardID: m.shard}
				}
				err = rt.Push(recs)
			}
		case <-heartbeat.C:
			err = rt.Advance(tick())
		case <-flushT.C:
			q.sendRows()
		}
		if err != nil {
			q.sendRows()
			q.sendError(err)
			return endError
		}
		if q.full() {
			q.sendRows()
			return endMaxRows
		}
		if q.npend >= flushRows {
			q.sendRows()
		}
		if q.broken {
			return endClient
		}
	}
}

// shardFeed reads a stream's shards for a query: one goroutine per shard,
// children once their parents are read to the end.
type shardFeed struct {
	st     *store.Store
	stream string
	ctx    context.Context
	msgs   chan feedMsg
	wg     sync.WaitGroup
	// Used by the query goroutine only.
	readers  map[string]bool
	finished map[string]bool
}

// feedMsg is what a shard reader hands the query.
type feedMsg struct {
	shard string
	recs  []store.Record
	end   bool  // the closed shard was read to its end
	err   error // reading failed for good
}

// start starts reading at from: LATEST reads the open shards from their
// tips; TRIM_HORIZON reads everything, parents first.
func (f *shardFeed) start(from string) error {
	d, err := f.st.DescribeStream(f.stream)
	if err != nil {
		return fmt.Errorf("describe stream %s: %w", f.stream, err)
	}
	if from == string(store.Latest) {
		for _, sh := range d.Shards {
			if !sh.Open() {
				f.finished[sh.ShardID] = true
			}
		}
	}
	return f.startReady(d, store.IteratorType(from))
}

func (f *shardFeed) shardEnded(shard string) error {
	f.finished[shard] = true
	d, err := f.st.DescribeStream(f.stream)
	if err != nil {
		return fmt.Errorf("follow the children of shard %s: %w", shard, err)
	}
	// Children start at their beginning: they hold what follows the parent.
	return f.startReady(d, store.TrimHorizon)
}

// startReady starts a reader on every shard not yet read whose parents
// are finished or gone.
func (f *shardFeed) startReady(d store.StreamDescription, typ store.IteratorType) error {
	listed := map[string]bool{}
	for _, sh := range d.Shards {
		listed[sh.ShardID] = true
	}
	for _, sh := range d.Shards {
		id := sh.ShardID
		if f.readers[id] || f.finished[id] {
			continue
		}
		ready := true
		for _, p := range []string{sh.ParentShardID, sh.AdjacentParentShardID} {
			if p != "" && listed[p] && !f.finished[p] {
				ready = false
			}
		}
		if !ready {
			continue
		}
		iter, err := f.st.GetShardIterator(store.GetShardIteratorInput{StreamName: f.stream, ShardID: id, Type: typ})
		if err != nil {
			return fmt.Errorf("read shard %s of stream %s: %w", id, f.stream, err)
		}
		f.readers[id] = true
		f.wg.Add(1)
		go f.read(id, iter)
	}
	return nil
}

// read is one shard reader: it sleeps on the shard's records signal when
// there is nothing new.
func (f *shardFeed) read(shard, iter string) {
	defer f.wg.Done()
	send := func(m feedMsg) bool {
		select {
		case f.msgs <- m:
			return true
		case <-f.ctx.Done():
			return false
		}
	}
	lastSeq := ""
	for f.ctx.Err() == nil {
		sig, err := f.st.RecordsSignal(iter)
		var out store.GetRecordsOutput
		if err == nil {
			out, err = f.st.GetRecordsDedicated(iter, 1000)
		}
		if store.ErrorCode(err) == store.CodeExpiredIterator && lastSeq != "" {
			// Idle for longer than an iterator lives: take a new one.
			iter, err = f.st.GetShardIterator(store.GetShardIteratorInput{StreamName: f.stream, ShardID: shard,
				Type: store.AfterSequenceNumber, SequenceNumber: lastSeq})
			if err == nil {
				continue
			}
		}
		if err != nil {
			if f.ctx.Err() == nil {
				send(feedMsg{shard: shard, err: fmt.Errorf("read shard %s of stream %s: %w", shard, f.stream, err)})
			}
			return
		}
		if n := len(out.Records); n > 0 {
			lastSeq = out.Records[n-1].SequenceNumber
			if !send(feedMsg{shard: shard, recs: out.Records}) {
				return
			}
		}
		if out.NextShardIterator == "" {
			send(feedMsg{shard: shard, end: true})
			return
		}
		iter = out.NextShardIterator
		if len(out.Records) == 0 {
			select {
			case <-sig:
			case <-f.ctx.Done():
				return
			}
		}
	}
}
