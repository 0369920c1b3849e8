package kinesisapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kdaproject/kda/engine/store"
)

// TargetPrefix starts the X-Amz-Target header of every Kinesis request
// ("Kinesis_20131202.PutRecords"). A server that shares its port with other
// faces routes the requests whose target has this prefix to New's handler.
const TargetPrefix = "Kinesis_20131202."

// request is a decoded operation input that can check its own shape.
type request interface {
	validate(v *violations)
}

// operation is one entry of the dispatch table.
type operation struct {
	name     string
	newInput func() request
	// decodeJSON, when set, replaces the generic JSON decoder (hot paths).
	decodeJSON func(body []byte) (request, error)
	run        func(h *handler, in request) (any, error)
}

// op builds a table entry for an input type T whose pointer is a request.
func op[T any, P interface {
	*T
	request
}](name string, run func(*handler, P) (any, error)) operation {
	return operation{
		name:     name,
		newInput: func() request { return P(new(T)) },
		run:      func(h *handler, in request) (any, error) { return run(h, in.(P)) },
	}
}

// handler serves the Kinesis-compatible API over one store.
type handler struct {
	st     *store.Store
	opts   Options
	codecs codecs
	ops    map[string]operation
	// notYet lists operations kda knows but does not implement.
	notYet map[string]bool

	subs subscriptions // live SubscribeToShard streams

	reqIDPrefix string
	reqCounter  atomic.Uint64
	bodies      sync.Pool // *[]byte request bodies
}

// New returns the HTTP handler of the Kinesis-compatible API over st. It
// serves POST requests whose X-Amz-Target names a Kinesis_20131202 operation;
// the caller mounts it where it routes such requests (kda serve dispatches on
// the X-Amz-Target header).
func New(st *store.Store, opts Options) http.Handler {
	return newHandler(st, opts)
}

func newHandler(st *store.Store, opts Options) *handler {
	opts.EnsureDefaults()
	c, err := newCodecs()
	if err != nil {
		// The codec options are constants; failing here is a programming error.
		panic(fmt.Sprintf("kinesisapi: %v", err))
	}
	h := &handler{
		st:          st,
		opts:        opts,
		codecs:      c,
		ops:         make(map[string]operation),
		notYet:      make(map[string]bool),
		reqIDPrefix: newRequestIDPrefix(),
	}
	for _, o := range operations() {
		h.ops[o.name] = o
	}
	for _, name := range unsupportedOperations {
		h.notYet[name] = true
	}
	return h
}

// operations is the dispatch table.
func operations() []operation {
	putRecords := op("PutRecords", (*handler).putRecords)
	putRecords.decodeJSON = decodePutRecordsJSON
	putRecord := op("PutRecord", (*handler).putRecord)
	putRecord.decodeJSON = decodePutRecordJSON
	getRecords := op("GetRecords", (*handler).getRecords)
	getRecords.decodeJSON = decodeGetRecordsJSON
	return []operation{
		op("CreateStream", (*handler).createStream),
		op("DeleteStream", (*handler).deleteStream),
		op("DescribeStream", (*handler).describeStream),
		op("DescribeStreamSummary", (*handler).describeStreamSummary),
		op("ListStreams", (*handler).listStreams),
		op("ListShards", (*handler).listShards),
		putRecord,
		putRecords,
		op("GetShardIterator", (*handler).getShardIterator),
		getRecords,
		op("SplitShard", (*handler).splitShard),
		op("MergeShards", (*handler).mergeShards),
		op("UpdateShardCount", (*handler).updateShardCount),
		op("IncreaseStreamRetentionPeriod", (*handler).increaseRetention),
		op("DecreaseStreamRetentionPeriod", (*handler).decreaseRetention),
		op("UpdateStreamMode", (*handler).updateStreamMode),
		op("AddTagsToStream", (*handler).addTags),
		op("RemoveTagsFromStream", (*handler).removeTags),
		op("ListTagsForStream", (*handler).listTags),
		op("TagResource", (*handler).tagResource),
		op("UntagResource", (*handler).untagResource),
		op("ListTagsForResource", (*handler).listTagsForResource),
		op("RegisterStreamConsumer", (*handler).registerConsumer),
		op("DeregisterStreamConsumer", (*handler).deregisterConsumer),
		op("DescribeStreamConsumer", (*handler).describeConsumer),
		op("ListStreamConsumers", (*handler).listConsumers),
		op("DescribeLimits", (*handler).describeLimits),
	}
}

// unsupportedOperations are Kinesis operations kda does not implement yet;
// they answer InvalidArgumentException saying so.
var unsupportedOperations = [...]string{
	"StartStreamEncryption",
	"StopStreamEncryption",
	"EnableEnhancedMonitoring",
	"DisableEnhancedMonitoring",
	"PutResourcePolicy",
	"GetResourcePolicy",
	"DeleteResourcePolicy",
	"DescribeAccountSettings",
	"UpdateAccountSettings",
	"UpdateMaxRecordSize",
	"UpdateStreamWarmThroughput",
	"UpdateStreamRecordDistributionStrategy",
	"CreateChannel",
	"DeleteChannel",
	"DescribeChannel",
	"ListChannels",
	"UpdateChannel",
}

func newRequestIDPrefix() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "00000000-0000-0000-0000"
	}
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20]
}

func (h *handler) nextRequestID() string {
	n := h.reqCounter.Add(1)
	var b [12]byte
	const digits = "0123456789abcdef"
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = digits[n&0xf]
		n >>= 4
	}
	return h.reqIDPrefix + "-" + string(b[:])
}

// exchange is one request in flight.
type exchange struct {
	ctx         context.Context
	w           http.ResponseWriter
	format      wireFormat
	contentType string
	opName      string
	requestID   string
	written     bool
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{ctx: r.Context(), w: w, format: formatJSON, contentType: contentTypeJSON11, requestID: h.nextRequestID()}
	defer func() {
		if p := recover(); p != nil {
			h.opts.Logger.Error("kinesis api: panic", "op", x.opName, "panic", p, "stack", string(debug.Stack()))
			if !x.written {
				h.writeError(x, &apiError{Code: store.CodeInternalFailure, Message: "internal failure"})
			}
		}
	}()
	w.Header().Set("X-Amzn-Requestid", x.requestID)

	if ct := r.Header.Get("Content-Type"); ct != "" {
		if f, answer, ok := parseContentType(ct); ok {
			x.format, x.contentType = f, answer
		} else {
			h.writeError(x, &apiError{Code: codeUnknownOperation, Status: http.StatusNotFound,
				Message: fmt.Sprintf("unsupported Content-Type %q: send %s or %s", ct, contentTypeJSON11, contentTypeCBOR)})
			return
		}
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.writeError(x, &apiError{Code: codeUnknownOperation, Status: http.StatusMethodNotAllowed,
			Message: "the Kinesis API accepts only POST requests"})
		return
	}

	body, release, err := h.readBody(r)
	if err != nil {
		h.writeError(x, err)
		return
	}
	defer release()

	if h.opts.verifySignatures() {
		if err := h.verifySigV4(r, body); err != nil {
			h.writeError(x, err)
			return
		}
	}

	target := r.Header.Get("X-Amz-Target")
	name, ok := strings.CutPrefix(target, TargetPrefix)
	if !ok || name == "" {
		h.writeError(x, newAPIError(codeUnknownOperation, "unknown operation %q: X-Amz-Target must be %s<Operation>", target, TargetPrefix))
		return
	}
	x.opName = name
	if name == "SubscribeToShard" {
		h.subscribeToShard(x, r, body)
		return
	}
	o, ok := h.ops[name]
	if !ok {
		if h.notYet[name] {
			h.writeError(x, unsupported("the "+name+" operation"))
			return
		}
		h.writeError(x, newAPIError(codeUnknownOperation, "unknown operation %q", name))
		return
	}

	out, err := h.call(o, x.format, body)
	if err != nil {
		h.writeError(x, err)
		return
	}
	h.writeResult(x, out)
}

// call decodes, validates and runs one operation.
func (h *handler) call(o operation, f wireFormat, body []byte) (any, error) {
	var (
		in  request
		err error
	)
	if f == formatJSON && o.decodeJSON != nil {
		in, err = o.decodeJSON(body)
	} else {
		in = o.newInput()
		err = h.codecs.decode(f, body, in)
	}
	if err != nil {
		return nil, err
	}
	var v violations
	in.validate(&v)
	if err := v.err(); err != nil {
		return nil, err
	}
	return o.run(h, in)
}

// readBody reads the request body into a pooled buffer. release returns it.
func (h *handler) readBody(r *http.Request) (body []byte, release func(), err error) {
	max := h.opts.MaxRequestBytes
	if r.ContentLength > max {
		return nil, nil, tooLarge(max)
	}
	bp, _ := h.bodies.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	buf := (*bp)[:0]
	if r.ContentLength > 0 && int64(cap(buf)) < r.ContentLength {
		buf = make([]byte, 0, r.ContentLength)
	}
	buf, err = readAllLimited(r.Body, buf, max)
	if err != nil {
		*bp = buf[:0]
		h.bodies.Put(bp)
		return nil, nil, err
	}
	release = func() {
		if cap(buf) <= 8<<20 {
			*bp = buf[:0]
			h.bodies.Put(bp)
		}
	}
	return buf, release, nil
}

func tooLarge(max int64) error {
	return &apiError{Code: codeRequestEntityTooLarge, Status: http.StatusRequestEntityTooLarge,
		Message: "request body is larger than " + strconv.FormatInt(max, 10) + " bytes"}
}

// readAllLimited appends r to buf, failing once more than max bytes arrive.
func readAllLimited(r io.Reader, buf []byte, max int64) ([]byte, error) {
	if r == nil {
		return buf, nil
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > max {
			return buf, tooLarge(max)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, &apiError{Code: codeSerialization, Message: "reading the request body: " + err.Error()}
		}
	}
}

// writeResult encodes a successful answer.
func (h *handler) writeResult(x *exchange, out any) {
	var (
		body []byte
		err  error
	)
	switch v := out.(type) {
	case nil:
		if x.format == formatCBOR {
			body = []byte{0xa0}
		} else {
			body = []byte("{}")
		}
	case fastEncoder:
		if x.format == formatJSON {
			body = v.appendJSON(make([]byte, 0, v.sizeHint()))
		} else {
			body = v.appendCBOR(make([]byte, 0, v.sizeHint()))
		}
	default:
		body, err = h.codecs.encode(x.format, out)
	}
	if err != nil {
		h.writeError(x, fmt.Errorf("%s: %w", x.opName, err))
		return
	}
	h.writeBody(x, http.StatusOK, body)
}

func (h *handler) writeBody(x *exchange, status int, body []byte) {
	hdr := x.w.Header()
	hdr.Set("Content-Type", x.contentType)
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	x.written = true
	x.w.WriteHeader(status)
	_, _ = x.w.Write(body) // the client went away; nothing left to tell it
}

// errorBody is the wire shape of every error.
type errorBody struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

func (h *handler) writeError(x *exchange, err error) {
	ae := toAPIError(err)
	status := ae.httpStatus()
	level := slog.LevelDebug
	if status >= 500 {
		level = slog.LevelError
	}
	h.opts.Logger.Log(x.ctx, level, "kinesis api: request failed",
		"op", x.opName, "code", ae.Code, "message", ae.Message, "request_id", x.requestID, "error", err)
	x.w.Header().Set("X-Amzn-Errortype", ae.Code)
	var body []byte
	eb := errorBody{Type: ae.Code, Message: ae.Message}
	if x.format == formatCBOR {
		body, err = h.codecs.cborEnc.Marshal(eb)
	} else {
		body, err = json.Marshal(eb)
	}
	if err != nil { // cannot happen for two strings; answer something anyway
		body = []byte(`{"__type":"InternalFailure"}`)
	}
	h.writeBody(x, status, body)
}
