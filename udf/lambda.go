package udf

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/dop251/goja"
)

// The two Lambda contracts of Kinesis Data Analytics, as kda runs them in
// JavaScript:
//
// A pre-processor (KDA's input pre-processing Lambda) receives
//
//	{invocationId, applicationArn, streamArn, records: [{recordId, data,
//	 kinesisStreamRecordMetadata: {shardId, partitionKey, sequenceNumber,
//	 approximateArrivalTimestamp}}]}
//
// and returns {records: [{recordId, result, data}]} with result Ok, Dropped
// or ProcessingFailed and data base64.
//
// A post-processor (KDA's Lambda output) receives
//
//	{invocationId, applicationArn, records: [{recordId,
//	 lambdaDeliveryRecordMetadata: {retryHint}, data}]}
//
// and returns {records: [{recordId, result, data?}]} with result Ok or
// DeliveryFailed.
//
// In both, every recordId of the event must come back exactly once. A
// response that breaks that rule is a *ContractError: the batch as a whole
// failed, and the caller decides what to do (kda retries it, then sends its
// records to error_stream). A record whose own entry is wrong (an unknown
// result, data that is not base64, Ok without data in a pre-processor)
// fails alone: its RecordResult carries a Problem.

// Record results.
const (
	ResultOk               = "Ok"
	ResultDropped          = "Dropped"
	ResultProcessingFailed = "ProcessingFailed"
	ResultDeliveryFailed   = "DeliveryFailed"
)

// KinesisRecord is one record of a pre-processor event.
type KinesisRecord struct {
	RecordID       string
	Data           []byte // raw; the handler sees it base64-encoded
	ShardID        string
	PartitionKey   string
	SequenceNumber string
	// ArrivalMs is approximateArrivalTimestamp, milliseconds since the epoch.
	ArrivalMs int64
}

// PreprocessEvent is what a pre-processor is invoked with.
type PreprocessEvent struct {
	InvocationID   string
	ApplicationARN string
	StreamARN      string
	Records        []KinesisRecord
}

// DeliveryRecord is one row of a post-processor event.
type DeliveryRecord struct {
	RecordID string
	// RetryHint counts earlier failed deliveries of this record (0 first).
	RetryHint int
	Data      []byte // the rendered row; the handler sees it base64-encoded
}

// PostprocessEvent is what a post-processor is invoked with.
type PostprocessEvent struct {
	InvocationID   string
	ApplicationARN string
	Records        []DeliveryRecord
}

// RecordResult is the handler's answer for the event's record at the same
// index.
type RecordResult struct {
	// Result is Ok, Dropped, ProcessingFailed (pre-processor) or Ok,
	// DeliveryFailed (post-processor). A record with a Problem has
	// ProcessingFailed or DeliveryFailed.
	Result string
	// Data is the decoded data of the answer; HasData says it was given.
	Data    []byte
	HasData bool
	// Problem says why kda failed the record although the batch was
	// answered (e.g. `result "Done" is not Ok, Dropped or ProcessingFailed`).
	Problem string
}

// ContractError is a response that does not answer the event: the batch
// failed as a whole.
type ContractError struct {
	Function string
	// Problem describes a response of the wrong shape; the id lists say
	// which recordIds were not answered, answered but never sent, or
	// answered more than once.
	Problem                     string
	Missing, Unknown, Duplicate []string
}

func (e *ContractError) Error() string {
	var parts []string
	if e.Problem != "" {
		parts = append(parts, e.Problem)
	}
	list := func(what string, ids []string) {
		if len(ids) == 0 {
			return
		}
		const show = 10
		s := strings.Join(ids[:min(len(ids), show)], ", ")
		if len(ids) > show {
			s += fmt.Sprintf(" and %d more", len(ids)-show)
		}
		parts = append(parts, fmt.Sprintf("%s recordId %s", what, s))
	}
	list("missing", e.Missing)
	list("unknown", e.Unknown)
	list("duplicate", e.Duplicate)
	return fmt.Sprintf("%s: the response does not answer every record exactly once: %s", e.Function, strings.Join(parts, "; "))
}

// InvokePreprocessor calls fn with a pre-processor event built directly in
// the runtime (no reflection of Go values) and checks the response. The
// results are in the order of ev.Records.
func (rt *Runtime) InvokePreprocessor(fn goja.Callable, ev *PreprocessEvent, ic InvokeContext) ([]RecordResult, error) {
	rt.useFastJSON()
	vm := rt.VM
	event := vm.NewObject()
	_ = event.Set("invocationId", ev.InvocationID)
	_ = event.Set("applicationArn", ev.ApplicationARN)
	_ = event.Set("streamArn", ev.StreamARN)
	recs := make([]any, len(ev.Records))
	ids := make([]string, len(ev.Records))
	var b64 []byte
	for i := range ev.Records {
		r := &ev.Records[i]
		ids[i] = r.RecordID
		b64 = base64.StdEncoding.AppendEncode(b64[:0], r.Data)
		meta := vm.NewObject()
		_ = meta.Set("shardId", r.ShardID)
		_ = meta.Set("partitionKey", r.PartitionKey)
		_ = meta.Set("sequenceNumber", r.SequenceNumber)
		_ = meta.Set("approximateArrivalTimestamp", r.ArrivalMs)
		o := vm.NewObject()
		_ = o.Set("recordId", r.RecordID)
		_ = o.Set("data", string(b64))
		_ = o.Set("kinesisStreamRecordMetadata", meta)
		recs[i] = o
	}
	_ = event.Set("records", vm.NewArray(recs...))
	ret, err := rt.Invoke(fn, event, ic)
	if err != nil {
		return nil, err
	}
	return rt.readResults(ret, ids, false)
}

// InvokePostprocessor calls fn with a post-processor event and checks the
// response. The results are in the order of ev.Records.
func (rt *Runtime) InvokePostprocessor(fn goja.Callable, ev *PostprocessEvent, ic InvokeContext) ([]RecordResult, error) {
	rt.useFastJSON()
	vm := rt.VM
	event := vm.NewObject()
	_ = event.Set("invocationId", ev.InvocationID)
	_ = event.Set("applicationArn", ev.ApplicationARN)
	recs := make([]any, len(ev.Records))
	ids := make([]string, len(ev.Records))
	for i := range ev.Records {
		r := &ev.Records[i]
		ids[i] = r.RecordID
		meta := vm.NewObject()
		_ = meta.Set("retryHint", r.RetryHint)
		o := vm.NewObject()
		_ = o.Set("recordId", r.RecordID)
		_ = o.Set("lambdaDeliveryRecordMetadata", meta)
		_ = o.Set("data", base64.StdEncoding.EncodeToString(r.Data))
		recs[i] = o
	}
	_ = event.Set("records", vm.NewArray(recs...))
	ret, err := rt.Invoke(fn, event, ic)
	if err != nil {
		return nil, err
	}
	return rt.readResults(ret, ids, true)
}

// readResults reads {records: [...]} and matches it to ids.
func (rt *Runtime) readResults(ret goja.Value, ids []string, delivery bool) ([]RecordResult, error) {
	cerr := func(format string, args ...any) error {
		return &ContractError{Function: rt.Name, Problem: fmt.Sprintf(format, args...)}
	}
	obj, ok := ret.(*goja.Object)
	if !ok || isNullish(ret) {
		return nil, cerr("the handler returned %s; return {records: [{recordId, result, data}, ...]}", describe(ret))
	}
	rv := obj.Get("records")
	arr, ok := rv.(*goja.Object)
	if !ok || arr.ClassName() != "Array" {
		return nil, cerr("the response has no records array (records is %s)", describe(rv))
	}
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		index[id] = i
	}
	out := make([]RecordResult, len(ids))
	seen := make([]bool, len(ids))
	var ce ContractError
	n := int(arr.Get("length").ToInteger())
	for k := 0; k < n; k++ {
		e, ok := arr.Get(strconv.Itoa(k)).(*goja.Object)
		if !ok {
			return nil, cerr("records[%d] is not an object", k)
		}
		idv := e.Get("recordId")
		if isNullish(idv) {
			return nil, cerr("records[%d] has no recordId", k)
		}
		id := idv.String()
		i, ok := index[id]
		switch {
		case !ok:
			ce.Unknown = append(ce.Unknown, id)
			continue
		case seen[i]:
			ce.Duplicate = append(ce.Duplicate, id)
			continue
		}
		seen[i] = true
		out[i] = readResult(e, delivery)
	}
	for i, s := range seen {
		if !s {
			ce.Missing = append(ce.Missing, ids[i])
		}
	}
	if len(ce.Missing)+len(ce.Unknown)+len(ce.Duplicate) > 0 {
		ce.Function = rt.Name
		sort.Strings(ce.Duplicate)
		return nil, &ce
	}
	return out, nil
}

// readResult reads one entry of the response's records.
func readResult(e *goja.Object, delivery bool) RecordResult {
	failed, allowed := ResultProcessingFailed, "Ok, Dropped or ProcessingFailed"
	if delivery {
		failed, allowed = ResultDeliveryFailed, "Ok or DeliveryFailed"
	}
	var r RecordResult
	rv := e.Get("result")
	r.Result = ""
	if !isNullish(rv) {
		r.Result = rv.String()
	}
	switch r.Result {
	case ResultOk, failed:
	case ResultDropped:
		if delivery {
			return RecordResult{Result: failed, Problem: fmt.Sprintf("result %q is not %s", r.Result, allowed)}
		}
	default:
		return RecordResult{Result: failed, Problem: fmt.Sprintf("result %q is not %s", r.Result, allowed)}
	}
	dv := e.Get("data")
	if !isNullish(dv) {
		s, ok := dv.Export().(string)
		if !ok {
			return RecordResult{Result: failed, Problem: fmt.Sprintf("data is %s, not a base64 string", describe(dv))}
		}
		data, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return RecordResult{Result: failed, Problem: fmt.Sprintf("data is not base64: %v", err)}
		}
		r.Data, r.HasData = data, true
	}
	if !delivery && r.Result == ResultOk && !r.HasData {
		return RecordResult{Result: failed, Problem: "result Ok without data: return the record's new content, base64-encoded, in data"}
	}
	return r
}

// describe names a JavaScript value's kind for error messages.
func describe(v goja.Value) string {
	switch {
	case v == nil || goja.IsUndefined(v):
		return "undefined"
	case goja.IsNull(v):
		return "null"
	}
	if o, ok := v.(*goja.Object); ok {
		if o.ClassName() == "Array" {
			return "an array"
		}
		return "an object"
	}
	return fmt.Sprintf("%s %s", v.ExportType(), v.String())
}
