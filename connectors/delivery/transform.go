package delivery

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/dop251/goja"

	"github.com/kdaproject/kda/udf"
)

// The transformation is Firehose's data transformation Lambda, run as a
// JavaScript handler (udf's runtime: the same pool, limits and handler
// styles as applications' processors). It is invoked with Firehose's event
//
//	{invocationId, deliveryStreamArn, region,
//	 records: [{recordId, approximateArrivalTimestamp (ms), data (base64)}]}
//
// and answers {records: [{recordId, result, data, metadata: {partitionKeys}}]}
// where result is Ok, Dropped or ProcessingFailed. Every recordId must come
// back exactly once (udf.ContractError otherwise). A failed invocation
// (a throw, a timeout, a broken response) is retried NumberOfRetries times
// with exponential backoff; then its records, and every record answered
// ProcessingFailed or with unusable data, go to the error output as
// processing-failed. Ok and Dropped both count as success.

// Error codes in error output records.
const (
	codeFunctionError    = "Lambda.FunctionError"
	codeProcessingFailed = "Lambda.ProcessingFailed"
	codeConversion       = "DataFormatConversion.MalformedData"
	codePartitioning     = "DynamicPartitioning.MetadataExtractionFailed"
	codePermanent        = "Destination.PermanentError"
)

const transformScriptName = "transformation.js"

func compileScript(t *Transformation) (*udf.Script, error) {
	return udf.Compile(transformScriptName, t.Script)
}

// transformer runs one delivery stream's transformation.
type transformer struct {
	cfg       *Transformation
	pool      *udf.Pool
	streamARN string
	region    string
	backoff   time.Duration
	sleep     func(context.Context, time.Duration) error
}

func newTransformer(t *Transformation, streamARN, region string, log *slog.Logger) (*transformer, error) {
	script, err := compileScript(t)
	if err != nil {
		return nil, err
	}
	pool, err := udf.NewPool(script, udf.Options{Name: transformScriptName,
		Limits: udf.Limits{Timeout: time.Duration(t.TimeoutInSeconds) * time.Second}, Idle: 1, Log: log})
	if err != nil {
		return nil, err
	}
	return &transformer{cfg: t, pool: pool, streamARN: streamARN, region: region, backoff: 100 * time.Millisecond, sleep: sleepCtx}, nil
}

func (t *transformer) close() { t.pool.Close() }

// transformed is one record's outcome.
type transformed struct {
	result   string // Ok, Dropped or ProcessingFailed
	data     []byte
	keys     map[string]string // metadata.partitionKeys
	problem  string            // why it failed
	attempts int
}

// run transforms recs, BufferSizeInMBs of data per invocation.
func (t *transformer) run(ctx context.Context, recs []*spilled) ([]transformed, error) {
	out := make([]transformed, 0, len(recs))
	limit := t.cfg.BufferSizeInMBs << 20
	for start := 0; start < len(recs); {
		end, size := start, 0
		for end < len(recs) && (end == start || size+len(recs[end].data) <= limit) {
			size += len(recs[end].data)
			end++
		}
		res, err := t.batch(ctx, recs[start:end])
		if err != nil {
			return nil, err
		}
		out = append(out, res...)
		start = end
	}
	return out, nil
}

// batch invokes the handler for one batch with retries. It returns an
// error only when ctx ends; a batch that fails every attempt comes back
// as ProcessingFailed records.
func (t *transformer) batch(ctx context.Context, recs []*spilled) ([]transformed, error) {
	attempts := 1 + *t.cfg.NumberOfRetries
	var err error
	for a := 0; a < attempts; a++ {
		if a > 0 {
			d := min(t.backoff<<(a-1), 10*time.Second)
			if d <= 0 {
				d = 10 * time.Second
			}
			if e := t.sleep(ctx, d); e != nil {
				return nil, e
			}
		}
		var res []transformed
		err = t.pool.Do(ctx, func(rt *udf.Runtime) error {
			fn, _, err := rt.Function(t.cfg.Handler)
			if err != nil {
				return err
			}
			id := newUUID()
			ret, err := rt.Invoke(fn, t.event(rt.VM, id, recs), udf.InvokeContext{FunctionName: transformScriptName,
				RequestID: id, FunctionARN: t.streamARN, Deadline: rt.Deadline})
			if err != nil {
				return err
			}
			res, err = readFirehoseResults(ret, len(recs))
			return err
		})
		if err == nil {
			for i := range res {
				res[i].attempts = a + 1
			}
			return res, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	msg := err.Error()
	var se *udf.ScriptError
	if errors.As(err, &se) && se.Stack != "" {
		msg += "\n" + se.Stack
	}
	out := make([]transformed, len(recs))
	for i := range out {
		out[i] = transformed{result: udf.ResultProcessingFailed, problem: msg, attempts: attempts}
	}
	return out, nil
}

func (t *transformer) event(vm *goja.Runtime, id string, recs []*spilled) goja.Value {
	ev := vm.NewObject()
	_ = ev.Set("invocationId", id)
	_ = ev.Set("deliveryStreamArn", t.streamARN)
	_ = ev.Set("region", t.region)
	arr := make([]any, len(recs))
	var b64 []byte
	for i, r := range recs {
		b64 = base64.StdEncoding.AppendEncode(b64[:0], r.data)
		o := vm.NewObject()
		_ = o.Set("recordId", strconv.Itoa(i))
		_ = o.Set("approximateArrivalTimestamp", r.arrival.UnixMilli())
		_ = o.Set("data", string(b64))
		arr[i] = o
	}
	_ = ev.Set("records", vm.NewArray(arr...))
	return ev
}

func nullish(v goja.Value) bool { return v == nil || goja.IsUndefined(v) || goja.IsNull(v) }

// readFirehoseResults checks the response against the n records sent
// (recordIds "0".."n-1").
func readFirehoseResults(ret goja.Value, n int) ([]transformed, error) {
	cerr := func(format string, args ...any) error {
		return &udf.ContractError{Function: transformScriptName, Problem: fmt.Sprintf(format, args...)}
	}
	obj, ok := ret.(*goja.Object)
	if !ok || nullish(ret) {
		return nil, cerr("the handler returned %v; return {records: [{recordId, result, data}, ...]}", ret)
	}
	arr, ok := obj.Get("records").(*goja.Object)
	if !ok || arr.ClassName() != "Array" {
		return nil, cerr("the response has no records array")
	}
	out := make([]transformed, n)
	seen := make([]bool, n)
	ce := udf.ContractError{Function: transformScriptName}
	m := int(arr.Get("length").ToInteger())
	for k := 0; k < m; k++ {
		e, ok := arr.Get(strconv.Itoa(k)).(*goja.Object)
		if !ok {
			return nil, cerr("records[%d] is not an object", k)
		}
		idv := e.Get("recordId")
		if nullish(idv) {
			return nil, cerr("records[%d] has no recordId", k)
		}
		id := idv.String()
		i, err := strconv.Atoi(id)
		switch {
		case err != nil || i < 0 || i >= n:
			ce.Unknown = append(ce.Unknown, id)
			continue
		case seen[i]:
			ce.Duplicate = append(ce.Duplicate, id)
			continue
		}
		seen[i] = true
		out[i] = readFirehoseResult(e)
	}
	for i, s := range seen {
		if !s {
			ce.Missing = append(ce.Missing, strconv.Itoa(i))
		}
	}
	if len(ce.Missing)+len(ce.Unknown)+len(ce.Duplicate) > 0 {
		return nil, &ce
	}
	return out, nil
}

func readFirehoseResult(e *goja.Object) transformed {
	fail := func(format string, args ...any) transformed {
		return transformed{result: udf.ResultProcessingFailed, problem: fmt.Sprintf(format, args...)}
	}
	var r transformed
	if rv := e.Get("result"); !nullish(rv) {
		r.result = rv.String()
	}
	switch r.result {
	case udf.ResultOk, udf.ResultDropped:
	case udf.ResultProcessingFailed:
		r.problem = "the transformation answered ProcessingFailed"
		return r
	default:
		return fail("result %q is not Ok, Dropped or ProcessingFailed", r.result)
	}
	if r.result == udf.ResultDropped {
		return r
	}
	dv := e.Get("data")
	s, ok := dv.Export().(string)
	if nullish(dv) || !ok {
		return fail("result Ok without base64 data: return the record's new content, base64-encoded, in data")
	}
	data, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return fail("data is not base64: %v", err)
	}
	r.data = data
	if md, ok := e.Get("metadata").(*goja.Object); ok {
		if pk, ok := md.Get("partitionKeys").(*goja.Object); ok {
			r.keys = map[string]string{}
			for _, k := range pk.Keys() {
				if v := pk.Get(k); !nullish(v) {
					r.keys[k] = v.String()
				}
			}
		}
	}
	return r
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
