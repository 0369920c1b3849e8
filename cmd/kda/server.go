package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/firehose"
	"github.com/kdaproject/kda/connectors/restapi"
	kdaapp "github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/engine/store"
	"github.com/kdaproject/kda/web"
)

// serverConfig is what the HTTP front of `kda serve` needs.
type serverConfig struct {
	store *store.Store
	apps  *kdaapp.Manager // SQL applications; nil serves none
	// deliveries runs delivery streams and firehose is the Firehose API
	// over them; nil serves none.
	deliveries *delivery.Manager
	firehose   http.Handler
	api        http.Handler // the Kinesis-compatible API
	accessKey  string       // when set, /v1 routes also admit SigV4 with these keys
	secretKey  string
	token      string          // when set, /v1 routes need "Authorization: Bearer <token>"
	rest       restapi.Options // tuning of the REST API (tests shorten its query heartbeat)
	// demoInbox, when set, receives the demo's alerts at demoInboxPath.
	demoInbox http.Handler
	logger    *slog.Logger
	started   time.Time
	version   string
	now       func() time.Time
}

// newServerHandler puts the server's faces behind one handler: any request
// with an X-Amz-Target header goes to the Kinesis API; /healthz, /metrics and
// the /v1 REST routes (package restapi) are served here; GET and HEAD of any other path get
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
	metrics := promhttp.HandlerFor(newMetricsRegistry(cfg.store.Stats, cfg.deliveries), promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(cfg.logger.Handler(), slog.LevelError),
	})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeRESTError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "use GET")
			return
		}
		metrics.ServeHTTP(w, r)
	})
	ropts := cfg.rest
	ropts.Token, ropts.AccessKey, ropts.SecretKey = cfg.token, cfg.accessKey, cfg.secretKey
	mux.Handle("/v1/", restapi.New(restapi.Deps{
		Store: cfg.store, Apps: cfg.apps, Deliveries: cfg.deliveries, Logger: cfg.logger.With("component", "restapi"), Now: cfg.now,
	}, ropts))
	if cfg.demoInbox != nil {
		mux.Handle(demoInboxPath, cfg.demoInbox)
	}
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
		if target := r.Header.Get("X-Amz-Target"); target != "" {
			if strings.HasPrefix(target, firehose.TargetPrefix) {
				if cfg.firehose == nil {
					writeRESTError(w, http.StatusNotFound, "ResourceNotFoundException", "this server runs no delivery streams")
					return
				}
				cfg.firehose.ServeHTTP(w, r)
				return
			}
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
