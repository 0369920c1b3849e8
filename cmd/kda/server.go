package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kdaproject/kda/connectors/kinesisapi"
	kdaapp "github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/engine/store"
	"github.com/kdaproject/kda/web"
)

// serverConfig is what the HTTP front of `kda serve` needs.
type serverConfig struct {
	store     *store.Store
	apps      *kdaapp.Manager // SQL applications; nil serves none
	api       http.Handler    // the Kinesis-compatible API
	accessKey string          // when set, /v1 routes need SigV4 with these keys
	secretKey string
	logger    *slog.Logger
	started   time.Time
	version   string
	now       func() time.Time
}

// newServerHandler puts the server's faces behind one handler: any request
// with an X-Amz-Target header goes to the Kinesis API; /healthz, /metrics and
// the /v1 REST routes are served here; GET and HEAD of any other path get
// the web console (package web); everything else is a JSON 404.
func newServerHandler(cfg serverConfig) http.Handler {
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", cfg.healthz)
	metrics := promhttp.HandlerFor(newMetricsRegistry(cfg.store.Stats), promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(cfg.logger.Handler(), slog.LevelError),
	})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeRESTError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use GET")
			return
		}
		metrics.ServeHTTP(w, r)
	})
	mux.HandleFunc("/v1/streams/{stream}/consumers/{consumer}/checkpoints", cfg.checkpoints)
	cfg.registerApps(mux)
	console := web.Handler() // the browser console answers GET and HEAD of unclaimed paths
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			console.ServeHTTP(w, r)
			return
		}
		writeRESTError(w, http.StatusNotFound, "NotFound", "no route for "+r.Method+" "+r.URL.Path+
			"; Kinesis API calls need an X-Amz-Target header")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "" {
			cfg.api.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// healthStatus is the body of GET /healthz.
type healthStatus struct {
	Status        string  `json:"status"`
	Version       string  `json:"version"`
	UptimeSeconds float64 `json:"uptimeSeconds"`
	Streams       int     `json:"streams"`
}

func (cfg serverConfig) healthz(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeRESTError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use GET")
		return
	}
	writeJSON(w, http.StatusOK, healthStatus{
		Status:        "ok",
		Version:       cfg.version,
		UptimeSeconds: cfg.now().Sub(cfg.started).Seconds(),
		Streams:       len(cfg.store.ListStreams()),
	})
}

func (cfg serverConfig) checkpoints(w http.ResponseWriter, r *http.Request) {
	if cfg.accessKey != "" {
		if err := verifyRESTSignature(r, cfg.accessKey, cfg.secretKey, cfg.now()); err != nil {
			code := kinesisapi.ErrorCode(err)
			writeRESTError(w, http.StatusForbidden, code, strings.TrimPrefix(err.Error(), code+": "))
			return
		}
	}
	stream, consumer := r.PathValue("stream"), r.PathValue("consumer")
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut:
		var in map[string]string
		dec := json.NewDecoder(io.LimitReader(r.Body, 4<<20))
		if err := dec.Decode(&in); err != nil {
			writeRESTError(w, http.StatusBadRequest, store.CodeInvalidArgument,
				`body must be a JSON object of shard id to sequence number, e.g. {"shardId-000000000000":"4960..."}: `+err.Error())
			return
		}
		for shard, seq := range in {
			if err := cfg.store.SetCheckpoint(stream, consumer, shard, seq); err != nil {
				writeStoreError(w, err)
				return
			}
		}
	default:
		writeRESTError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use GET or PUT")
		return
	}
	cps, err := cfg.store.Checkpoints(stream, consumer)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	if cps == nil {
		cps = map[string]string{}
	}
	writeJSON(w, http.StatusOK, cps)
}

func writeStoreError(w http.ResponseWriter, err error) {
	var se *store.Error
	if !errors.As(err, &se) {
		writeRESTError(w, http.StatusInternalServerError, store.CodeInternalFailure, err.Error())
		return
	}
	status := http.StatusBadRequest
	switch se.Code {
	case store.CodeResourceNotFound:
		status = http.StatusNotFound
	case store.CodeInternalFailure:
		status = http.StatusInternalServerError
	}
	writeRESTError(w, status, se.Code, se.Message)
}

func writeRESTError(w http.ResponseWriter, status int, code, msg string) {
	var body restError
	body.Error.Code, body.Error.Message = code, msg
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// verifyRESTSignature checks a REST request's SigV4 signature with the same
// verifier as the Kinesis API; the body is read and put back.
func verifyRESTSignature(r *http.Request, accessKey, secretKey string, now time.Time) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return kinesisapi.VerifySignature(r, body, kinesisapi.Options{
		AccessKey: accessKey, SecretKey: secretKey, Now: func() time.Time { return now },
	})
}
