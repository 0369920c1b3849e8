package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/input"
	"github.com/kdaproject/kda/udf"
)

// A pre-processor is the JavaScript stand-in for Kinesis Data Analytics'
// input pre-processing Lambda. Runtime.Push hands it every batch of raw
// records, up to batchSize per invocation, before they are decoded:
//
//	records ─► pre-processor ─► Ok data ─► input.Decoder ─► SOURCE_SQL_STREAM_001
//	               ├─ Dropped: gone (counted)
//	               └─ ProcessingFailed, failed invocations ─► error_stream
//
// The handler's Ok data replaces the record's data; it may hold several
// JSON documents (concatenated or one per line) or several CSV rows, and
// each becomes a row, as the decoder reads any record. The record keeps
// its metadata (ROWTIME, arrival time, partition key, sequence number,
// shard).
//
// The batch rule: an invocation fails as a whole when the handler throws,
// runs past its timeout, or answers with a response that does not name
// every recordId of the event exactly once (a *udf.ContractError naming the
// missing, unknown and duplicate ids). A failed invocation is retried
// maxRetries times with exponential backoff (100ms, 200ms, ...); if it
// still fails, every record of the batch goes to error_stream with the
// reason and the JavaScript stack, and the application reads on. Nothing
// is silently lost.
//
// Exactly-once: the pre-processor runs inside Push, before any state is
// touched, so it is a function of the records read. After a restart the
// records since the last checkpoint are read again and the handler is
// invoked again for them; a deterministic handler gives the same rows.

// Error names of the rows processors send to error_stream.
const (
	// ErrProcessingFailed: the pre-processor answered a record
	// ProcessingFailed, or answered it with something kda cannot use.
	ErrProcessingFailed = "PROCESSING_FAILED"
	// ErrPreprocessor: the pre-processor's invocation for the record's
	// batch failed every attempt.
	ErrPreprocessor = "PREPROCESSOR_ERROR"
	// ErrDeliveryFailed: the post-processor did not answer a row Ok within
	// its attempts.
	ErrDeliveryFailed = "DELIVERY_FAILED"
)

// Script names of inline scripts, in errors and JavaScript stacks.
const (
	preprocessorScriptName  = "preprocessor.js"
	postprocessorScriptName = "postprocessor.js"
)

// retryBackoff is the wait before a processor's first retry; it doubles
// with every further attempt.
const retryBackoff = 100 * time.Millisecond

// PreprocessorCounts counts what a runtime's pre-processor did with the
// records it was given.
type PreprocessorCounts struct {
	Invocations uint64 `json:"invocations"`
	// Ok, Dropped and Failed count records by result; Failed includes the
	// records of invocations that failed every attempt.
	Ok      uint64 `json:"ok"`
	Dropped uint64 `json:"dropped"`
	Failed  uint64 `json:"failed"`
}

// invoker is what both processors share: a pool running one handler, with
// the ARNs its events carry.
type invoker struct {
	cfg     *Processor // with defaults
	pool    *udf.Pool
	appARN  string
	backoff time.Duration
	sleep   func(time.Duration)
}

func newInvoker(cfg *Processor, at, fallbackName string, log *slog.Logger) (*invoker, error) {
	script, err := cfg.compile(at, fallbackName)
	if err != nil {
		return nil, err
	}
	pool, err := udf.NewPool(script, udf.Options{Name: at, Limits: udf.Limits{Timeout: cfg.Timeout.Duration}, Idle: 1, Log: log})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", at, err)
	}
	return &invoker{cfg: cfg, pool: pool, backoff: retryBackoff, sleep: time.Sleep}, nil
}

// wait sleeps before retry number attempt (1, 2, ...).
func (v *invoker) wait(attempt int) {
	d := v.backoff << (attempt - 1)
	if d > 10*time.Second || d <= 0 {
		d = 10 * time.Second
	}
	v.sleep(d)
}

// do runs one invocation of the handler.
func (v *invoker) do(f func(rt *udf.Runtime, fn udf.InvokeContext) error) error {
	return v.pool.Do(context.Background(), func(rt *udf.Runtime) error {
		return f(rt, udf.InvokeContext{FunctionName: v.pool.Name(), RequestID: newInvocationID(),
			FunctionARN: v.appARN, Deadline: rt.Deadline})
	})
}

func (v *invoker) close() { v.pool.Close() }

// preprocessor runs an application's input pre-processor.
type preprocessor struct {
	*invoker
	streamARN string
	counts    struct{ invocations, ok, dropped, failed atomic.Uint64 }
}

func newPreprocessor(def Definition, log *slog.Logger) (*preprocessor, error) {
	v, err := newInvoker(def.Input.Preprocessor, "input.preprocessor", preprocessorScriptName, log)
	if err != nil {
		return nil, err
	}
	v.appARN = defaultAppARN(def.Name)
	return &preprocessor{invoker: v, streamARN: defaultStreamARN(def.Input.Stream)}, nil
}

// process runs recs through the handler, batchSize at a time, and returns
// the records to decode. Records that failed go to report.
func (p *preprocessor) process(recs []input.Record, report func(operators.RowError)) []input.Record {
	out := make([]input.Record, 0, len(recs))
	for start := 0; start < len(recs); start += p.cfg.BatchSize {
		batch := recs[start:min(start+p.cfg.BatchSize, len(recs))]
		results, err := p.invokeBatch(batch)
		if err != nil {
			p.counts.failed.Add(uint64(len(batch)))
			for i := range batch {
				report(rowError(&batch[i], ErrPreprocessor, err.Error()))
			}
			continue
		}
		for i, res := range results {
			switch res.Result {
			case udf.ResultOk:
				p.counts.ok.Add(1)
				rec := batch[i]
				rec.Data = res.Data
				out = append(out, rec)
			case udf.ResultDropped:
				p.counts.dropped.Add(1)
			default:
				p.counts.failed.Add(1)
				msg := "the pre-processor answered ProcessingFailed"
				if res.Problem != "" {
					msg = "the pre-processor's answer cannot be used: " + res.Problem
				}
				report(rowError(&batch[i], ErrProcessingFailed, msg))
			}
		}
	}
	return out
}

// invokeBatch invokes the handler for one batch, retrying a failed
// invocation; the error says why the last attempt failed.
func (p *preprocessor) invokeBatch(batch []input.Record) ([]udf.RecordResult, error) {
	ev := &udf.PreprocessEvent{ApplicationARN: p.appARN, StreamARN: p.streamARN, Records: make([]udf.KinesisRecord, len(batch))}
	for i := range batch {
		r := &batch[i]
		arrival := r.ArrivalTime
		if arrival.IsZero() {
			arrival = r.Rowtime
		}
		ev.Records[i] = udf.KinesisRecord{RecordID: strconv.Itoa(i), Data: r.Data, ShardID: r.ShardID,
			PartitionKey: r.PartitionKey, SequenceNumber: r.SequenceNumber, ArrivalMs: arrival.UnixMilli()}
	}
	var err error
	attempts := 1 + *p.cfg.MaxRetries
	for attempt := 0; attempt < attempts; attempt++ {
		if attempt > 0 {
			p.wait(attempt)
		}
		var results []udf.RecordResult
		p.counts.invocations.Add(1)
		err = p.do(func(rt *udf.Runtime, ic udf.InvokeContext) error {
			fn, _, err := rt.Function(p.cfg.Handler)
			if err != nil {
				return err
			}
			ev.InvocationID = ic.RequestID
			results, err = rt.InvokePreprocessor(fn, ev, ic)
			return err
		})
		if err == nil {
			return results, nil
		}
	}
	return nil, errors.New(describeScriptError(err, fmt.Sprintf("(the batch of %d records failed %d attempts)", len(batch), attempts)))
}

// Counts reports what the pre-processor did so far.
func (p *preprocessor) Counts() PreprocessorCounts {
	return PreprocessorCounts{Invocations: p.counts.invocations.Load(), Ok: p.counts.ok.Load(),
		Dropped: p.counts.dropped.Load(), Failed: p.counts.failed.Load()}
}

// rowError is an error_stream row for a raw record.
func rowError(r *input.Record, name, msg string) operators.RowError {
	return operators.RowError{Time: r.Rowtime, Level: "ERROR", Name: name, Message: msg,
		DataRowtime: r.Rowtime, DataRow: string(r.Data)}
}

// describeScriptError is err's message with note appended to its first
// line, then the JavaScript stack when it has one.
func describeScriptError(err error, note string) string {
	msg := err.Error()
	if note != "" {
		msg += " " + note
	}
	var se *udf.ScriptError
	var ie *udf.InterruptedError
	switch {
	case errors.As(err, &se) && se.Stack != "":
		return msg + "\n" + se.Stack
	case errors.As(err, &ie) && ie.Stack != "":
		return msg + "\n" + ie.Stack
	}
	return msg
}

// newInvocationID is a random UUID (version 4), as Lambda's request ids are.
func newInvocationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// The ARNs an event carries when the runtime is not told better (replays):
// those of the store's default region and account.
func defaultAppARN(app string) string {
	return "arn:aws:kinesisanalytics:us-east-1:000000000000:application/" + app
}

func defaultStreamARN(stream string) string {
	return "arn:aws:kinesis:us-east-1:000000000000:stream/" + stream
}

// appARNFor is the application's ARN in the region and account of its
// input stream's ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME).
func appARNFor(streamARN, app string) string {
	parts := strings.SplitN(streamARN, ":", 6)
	if len(parts) != 6 {
		return defaultAppARN(app)
	}
	return fmt.Sprintf("arn:aws:kinesisanalytics:%s:%s:application/%s", parts[3], parts[4], app)
}
