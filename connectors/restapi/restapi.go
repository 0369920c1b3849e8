package restapi

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/kdaproject/kda/connectors/delivery"
	kdaapp "github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/engine/store"
	"github.com/kdaproject/kda/sql/dialect"
)

// Deps are what the handlers work on.
type Deps struct {
	// Store holds the streams (required).
	Store *store.Store
	// Apps runs SQL applications; nil serves no /v1/apps routes but a 404
	// that says so.
	Apps *kdaapp.Manager
	// Deliveries runs delivery streams; nil serves no /v1/deliveries
	// routes but a 404 that says so.
	Deliveries *delivery.Manager
	// Logger receives handler panics and query failures (default: discarded).
	Logger *slog.Logger
	// Now is the clock SigV4 checks use (default time.Now).
	Now func() time.Time
}

// Options configures the API.
type Options struct {
	// Token, when set, must be sent as "Authorization: Bearer <token>" on
	// every route (compared in constant time).
	Token string
	// AccessKey and SecretKey, when set, also admit requests SigV4-signed
	// with them, as the kda CLI signs its REST calls (Region is not
	// checked, as on the Kinesis API without a region).
	AccessKey, SecretKey string
	// Heartbeat is how often a query's runtime advances its clock so idle
	// windows close (default 100ms).
	Heartbeat time.Duration
	// FlushInterval is the longest a query holds rows before sending them
	// (default 500ms).
	FlushInterval time.Duration
	// MaxQueryDuration caps a query's maxSeconds (default 10 minutes).
	MaxQueryDuration time.Duration
}

// EnsureDefaults fills unset options.
func (o *Options) EnsureDefaults() {
	if o.Heartbeat <= 0 {
		o.Heartbeat = 100 * time.Millisecond
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 500 * time.Millisecond
	}
	if o.MaxQueryDuration <= 0 {
		o.MaxQueryDuration = 10 * time.Minute
	}
}

// Error codes of the REST API beside the store's (InvalidArgumentException,
// ResourceNotFoundException, ResourceInUseException, LimitExceededException…).
const (
	CodeNotFound         = "NotFound"
	CodeMethodNotAllowed = "MethodNotAllowed"
	CodeUnauthorized     = "Unauthorized"
	CodeForbidden        = "Forbidden"
	CodeSQLError         = "SQLError"
	CodeInternal         = store.CodeInternalFailure
	// CodeNotRunning: the request needs a running application (409).
	CodeNotRunning = "NotRunning"
	// CodeReferenceLoadFailed: a reference table did not load; it keeps
	// its previous rows (422).
	CodeReferenceLoadFailed = "ReferenceLoadFailed"
)

// maxBodyBytes bounds a JSON request body (PutRecords' 5 MiB plus base64).
const maxBodyBytes = 8 << 20

// server is the API's state: its dependencies, options and routes.
type server struct {
	deps   Deps
	opts   Options
	routes []route
}

// route is one method on one path pattern.
type route struct {
	method  string
	pattern string // ServeMux syntax: /v1/streams/{name}
	handle  http.HandlerFunc
}

// routes is every route the API serves; the OpenAPI document must list
// exactly these (see TestOpenAPIDocumentsEveryRoute).
func (s *server) routeTable() []route {
	return []route{
		{"GET", "/v1/streams", s.listStreams},
		{"POST", "/v1/streams", s.createStream},
		{"GET", "/v1/streams/{name}", s.describeStream},
		{"DELETE", "/v1/streams/{name}", s.deleteStream},
		{"POST", "/v1/streams/{name}/records", s.putRecords},
		{"GET", "/v1/streams/{name}/records", s.tailRecords},
		{"GET", "/v1/streams/{name}/consumers/{consumer}/checkpoints", s.getCheckpoints},
		{"PUT", "/v1/streams/{name}/consumers/{consumer}/checkpoints", s.putCheckpoints},
		{"POST", "/v1/discover", s.discover},
		{"POST", "/v1/query", s.query},
		{"GET", "/v1/apps", s.listApps},
		{"POST", "/v1/apps", s.createApp},
		{"GET", "/v1/apps/{name}", s.describeApp},
		{"PUT", "/v1/apps/{name}", s.updateApp},
		{"DELETE", "/v1/apps/{name}", s.deleteApp},
		{"POST", "/v1/apps/{name}/start", s.startApp},
		{"POST", "/v1/apps/{name}/stop", s.stopApp},
		{"GET", "/v1/apps/{name}/errors", s.appErrors},
		{"POST", "/v1/apps/{name}/reference-tables/refresh", s.refreshReferenceTables},
		{"POST", "/v1/apps/{name}/reference-tables/{table}/refresh", s.refreshReferenceTables},
		{"GET", "/v1/deliveries", s.listDeliveries},
		{"POST", "/v1/deliveries", s.createDelivery},
		{"GET", "/v1/deliveries/{name}", s.describeDelivery},
		{"PUT", "/v1/deliveries/{name}", s.replaceDelivery},
		{"DELETE", "/v1/deliveries/{name}", s.deleteDelivery},
		{"POST", "/v1/deliveries/{name}/records", s.putDeliveryRecords},
		{"GET", "/v1/functions", s.listFunctions},
		{"POST", "/v1/functions", s.createFunctions},
		{"GET", "/v1/functions/{name}", s.describeFunction},
		{"DELETE", "/v1/functions/{name}", s.deleteFunction},
		{"GET", "/v1/openapi.json", s.openAPI},
	}
}

// New returns the REST API handler; serve mounts it at /v1/.
func New(deps Deps, opts Options) http.Handler {
	opts.EnsureDefaults()
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	s := &server{deps: deps, opts: opts}
	s.routes = s.routeTable()
	// ServeMux matches paths; methods are dispatched here so that a wrong
	// method gets a JSON 405 naming the right ones.
	mux := http.NewServeMux()
	byPattern := map[string][]route{}
	var order []string
	for _, rt := range s.routes {
		if _, ok := byPattern[rt.pattern]; !ok {
			order = append(order, rt.pattern)
		}
		byPattern[rt.pattern] = append(byPattern[rt.pattern], rt)
	}
	for _, p := range order {
		rts := byPattern[p]
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			var allowed []string
			for _, rt := range rts {
				if rt.method == r.Method || (rt.method == http.MethodGet && r.Method == http.MethodHead) {
					rt.handle(w, r)
					return
				}
				allowed = append(allowed, rt.method)
			}
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeError(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed,
				fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, strings.Join(allowed, " or ")))
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, CodeNotFound, "no route for "+r.Method+" "+r.URL.Path+"; GET /v1/openapi.json lists them")
	})
	return s.recoverer(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			// No CORS: browsers get no preflight approval.
			writeError(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed,
				"OPTIONS is not served: the API does not allow cross-origin requests")
			return
		}
		if !s.authorize(w, r) {
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// recoverer turns a handler panic into a 500 (when nothing was written yet)
// and a log line, so one bad request never takes the connection's server
// goroutine down with an empty reply.
func (s *server) recoverer(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &recordingWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.deps.Logger.Error("REST handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v)
				if !rw.wrote {
					writeError(rw, http.StatusInternalServerError, CodeInternal, "internal error; the server log has details")
				}
			}
		}()
		next(rw, r)
	})
}

// recordingWriter notes whether the header was written.
type recordingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *recordingWriter) WriteHeader(code int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush.
func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// authorize admits the request or answers it: 401 without valid
// credentials, 403 for a bad SigV4 signature.
func (s *server) authorize(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.Token == "" && s.opts.AccessKey == "" {
		return true
	}
	authz := r.Header.Get("Authorization")
	if s.opts.Token != "" {
		if tok, ok := strings.CutPrefix(authz, "Bearer "); ok {
			if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.opts.Token)) == 1 {
				return true
			}
			writeError(w, http.StatusUnauthorized, CodeUnauthorized, "the bearer token is not this server's")
			return false
		}
	}
	if s.opts.AccessKey != "" && (s.opts.Token == "" || authz != "" && !strings.HasPrefix(authz, "Bearer ")) {
		if err := verifySignature(r, s.opts.AccessKey, s.opts.SecretKey, s.deps.Now()); err != nil {
			code, msg := signatureError(err)
			writeError(w, http.StatusForbidden, code, msg)
			return false
		}
		return true
	}
	msg := "this server needs credentials: send Authorization: Bearer <token> (the token kda serve was started with)"
	w.Header().Set("WWW-Authenticate", `Bearer realm="kda"`)
	writeError(w, http.StatusUnauthorized, CodeUnauthorized, msg)
	return false
}

// errorBody is the JSON of every failed call.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{errorDetail{Code: code, Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeStoreError maps a store error to its HTTP status.
func writeStoreError(w http.ResponseWriter, err error) {
	var se *store.Error
	if !errors.As(err, &se) {
		writeError(w, http.StatusInternalServerError, CodeInternal, err.Error())
		return
	}
	status := http.StatusBadRequest
	switch se.Code {
	case store.CodeResourceNotFound:
		status = http.StatusNotFound
	case store.CodeResourceInUse:
		status = http.StatusConflict
	case store.CodeProvisionedThroughputExceeded, store.CodeLimitExceeded:
		status = http.StatusTooManyRequests
	case store.CodeInternalFailure:
		status = http.StatusInternalServerError
	}
	writeError(w, status, se.Code, se.Message)
}

// sqlPosition finds the line and column of a SQL error, if it has them.
func sqlPosition(err error) (line, col int, ok bool) {
	var se *dialect.SyntaxError
	if errors.As(err, &se) {
		return se.Pos.Line, se.Pos.Col, true
	}
	return 0, 0, false
}

// decodeBody reads a JSON request body into v, answering 400 (naming the
// problem) or 413 itself when it cannot.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, example string) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, "read body: "+err.Error())
		return false
	}
	if len(body) > maxBodyBytes {
		writeError(w, http.StatusRequestEntityTooLarge, store.CodeInvalidArgument, fmt.Sprintf("the body is larger than %d MiB", maxBodyBytes>>20))
		return false
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument,
			fmt.Sprintf("body of %s %s: %s; expected JSON like %s", r.Method, r.URL.Path, jsonErrorText(body, err), example))
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument,
			fmt.Sprintf("body of %s %s: more than one JSON value", r.Method, r.URL.Path))
		return false
	}
	return true
}

// jsonErrorText says what is wrong with a JSON body, with the byte offset
// of a syntax error.
func jsonErrorText(body []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q: %s is not a %s", te.Field, te.Value, te.Type)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return "the body is empty"
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Sprintf("malformed JSON: the body ends at byte %d before the value does", len(body))
	}
	return err.Error()
}
