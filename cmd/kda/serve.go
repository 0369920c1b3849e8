package main

import (
	"encoding/json"
	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/engine"

	"github.com/kdaproject/kda/connectors/firehose"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdaproject/kda/connectors/kinesisapi"
	kdaapp "github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/engine/store"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type serveFlags struct {
	listen          string
	accessKey       string
	secretKey       string
	token           string
	tokenFile       string
	transitionDelay time.Duration
	shutdownTimeout time.Duration
	demo            bool
	demoRate        float64
	demoRedis       string
	// s3 is the object store of ExtendedS3 destinations: empty for the
	// local directory under <data>/s3, else the s3 connector's JSON config.
	s3 string
}

func newServeCmd(a *app) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the kda server: Kinesis API, metrics and REST on one port",
		Long: `Run the kda server. One listener serves:

  POST / with X-Amz-Target   the Kinesis Data Streams API (point any AWS SDK here)
  GET  /healthz              200 with a JSON status
  GET  /metrics              Prometheus metrics, per stream
  GET|PUT /v1/streams/{stream}/consumers/{consumer}/checkpoints
                             consumer checkpoints (used by "kda tail --consumer")
  /v1/...                    the REST API: streams, records, schema discovery,
                             SQL queries as Server-Sent Events, applications
                             (used by "kda app"); GET /v1/openapi.json describes it

Applications run inside the server, reading kda streams; the ones left
running start again, from their last checkpoint, when the server starts.

Data lives under --data (default ./kda-data). SIGINT or SIGTERM stops
accepting connections, lets in-flight requests finish and syncs the store.

With --access-key/--secret-key (or KDA_ACCESS_KEY/KDA_SECRET_KEY) requests
must be SigV4-signed with those keys; otherwise any keys are accepted.

With --token (or --token-file, read once at start) every /v1 route needs
"Authorization: Bearer <token>" (SigV4-signed REST calls are still accepted
when the server has keys); /healthz stays open. The REST API never sends
CORS headers. Application output files are written under <data>/outputs/.`,
		Example: `  kda serve --demo
  kda serve --listen 0.0.0.0:4567 --data /var/lib/kda --no-limits`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.serve(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:4567", "address to listen on (host:port; port 0 picks a free one)")
	fl.StringVar(&f.accessKey, "access-key", "", "access key clients must sign with (default $KDA_ACCESS_KEY; empty accepts any)")
	fl.StringVar(&f.secretKey, "secret-key", "", "secret key clients must sign with (default $KDA_SECRET_KEY)")
	fl.StringVar(&f.token, "token", "", "bearer token every /v1 request must carry (default $KDA_TOKEN)")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the bearer token (read once at start)")
	fl.StringVar(&f.s3, "s3", "", `deliver ExtendedS3 destinations to S3-compatible storage instead of <data>/s3: the s3 connector's JSON config, e.g. '{"endpoint":"http://127.0.0.1:9000","accessKey":"…","secretKey":"…"}' (default $KDA_S3; see docs/delivery.md)`)
	fl.DurationVar(&f.transitionDelay, "transition-delay", 0, "how long streams stay CREATING/UPDATING/DELETING, as on AWS (e.g. 500ms)")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 15*time.Second, "how long to wait for in-flight requests on shutdown")
	fl.BoolVar(&f.demo, "demo", false, `create a stream "demo" (2 shards) fed with synthetic stock trades, and the demo applications demo-leaderboard and demo-alerts`)
	fl.Float64Var(&f.demoRate, "demo-rate", 20, "demo records per second")
	fl.StringVar(&f.demoRedis, "demo-redis", "127.0.0.1:6379", `Redis server of the demo's leaderboard path (left out when none answers; "" leaves it out)`)
	return cmd
}

func (a *app) serve(ctx context.Context, f serveFlags) error {
	f.accessKey = firstNonEmpty(f.accessKey, a.getenv("KDA_ACCESS_KEY"))
	f.secretKey = firstNonEmpty(f.secretKey, a.getenv("KDA_SECRET_KEY"))
	if (f.accessKey == "") != (f.secretKey == "") {
		return usagef("give both --access-key and --secret-key, or neither")
	}
	token, err := a.serveToken(f)
	if err != nil {
		return err
	}
	if f.demoRate <= 0 {
		return usagef("--demo-rate must be positive")
	}
	dataDir := firstNonEmpty(a.dataDir, defaultDataDir)
	if abs, err := filepath.Abs(dataDir); err == nil {
		dataDir = abs
	}
	logger := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	opts := a.storeOptions()
	opts.TransitionDelay = f.transitionDelay
	opts.Logger = logger.With("component", "store")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	st, err := store.Open(dataDir, opts)
	if err != nil {
		return openDataErr(dataDir, err)
	}
	// SQL applications meant to run start now, from their last checkpoint;
	// those with an input.source start their source bridge with them.
	sources, err := engine.NewSourceRegistry()
	if err != nil {
		_ = st.Close()
		return err
	}
	// Delivery streams resume delivering what their spill streams hold.
	deliveries, err := newDeliveryManager(st, dataDir, firstNonEmpty(f.s3, a.getenv("KDA_S3")), a.region, logger.With("component", "delivery"))
	if err != nil {
		_ = st.Close()
		return fmt.Errorf("load delivery streams in %s: %w", dataDir, err)
	}
	apps, err := kdaapp.NewManager(st, kdaapp.ManagerOptions{
		Logger:     logger.With("component", "apps"),
		OutputDir:  filepath.Join(dataDir, "outputs"),
		Sources:    sources,
		Deliveries: deliveries,
		// Reference table files are read only from here; s3 sources from
		// the delivery streams' object store.
		ReferenceDir: filepath.Join(dataDir, "reference"),
	})
	if err != nil {
		_ = deliveries.Close()
		_ = st.Close()
		return fmt.Errorf("load applications in %s: %w", dataDir, err)
	}
	closeStore := func() error {
		// Applications take a final checkpoint (which may put rows into
		// delivery streams) before the delivery workers and the store close.
		aerr := apps.Close()
		derr := deliveries.Close()
		if err := st.Close(); err != nil {
			return errors.Join(aerr, derr, fmt.Errorf("close store in %s: %w", dataDir, err))
		}
		return errors.Join(aerr, derr)
	}

	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		_ = closeStore()
		return fmt.Errorf("listen on %s: %w (is another kda already running? choose another port with --listen)", f.listen, err)
	}
	apiOpts := kinesisapi.Options{
		AccessKey: f.accessKey,
		SecretKey: f.secretKey,
		Logger:    logger.With("component", "kinesisapi"),
	}
	if f.accessKey != "" {
		// With keys, signatures must also name this server's region, as on
		// AWS; without them any client is welcome whatever its region.
		apiOpts.Region = a.region
	}
	api := kinesisapi.New(st, apiOpts)
	var demoInbox http.Handler
	if f.demo {
		demoInbox = newDemoInbox(deliveries, logger.With("component", "demo"))
	}
	// Requests run under reqCtx, cancelled late in shutdown so that
	// long-lived streams (event-stream subscriptions) end too.
	reqCtx, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	// HTTP/1.1 and cleartext HTTP/2 (h2c with prior knowledge), which some
	// Kinesis clients use for SubscribeToShard against http:// endpoints.
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Protocols:   &protocols,
		BaseContext: func(net.Listener) context.Context { return reqCtx },
		Handler: newServerHandler(serverConfig{
			store:      st,
			apps:       apps,
			deliveries: deliveries,
			api:        api,
			firehose: firehose.New(deliveries, firehose.Options{AccessKey: f.accessKey, SecretKey: f.secretKey,
				Logger: logger.With("component", "firehose")}),
			accessKey: f.accessKey,
			secretKey: f.secretKey,
			token:     token,
			demoInbox: demoInbox,
			logger:    logger,
			started:   time.Now(),
			version:   version,
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	auth := "any keys accepted"
	if f.accessKey != "" {
		auth = "SigV4 with access key " + f.accessKey
	}
	if token != "" {
		auth += "; REST needs the bearer token"
	}
	logger.Info("kda listening",
		"url", "http://"+ln.Addr().String(),
		"data", dataDir,
		"region", a.region,
		"limits", !a.noLimits,
		"auth", auth,
		"version", version)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	demoCtx, stopDemo := context.WithCancel(ctx)
	demoDone := make(chan struct{})
	if f.demo {
		go func() {
			defer close(demoDone)
			runDemo(demoCtx, st, apps, deliveries, demoConfig{rate: f.demoRate, redisAddr: f.demoRedis,
				hookURL: "http://" + loopbackAddr(ln.Addr()) + demoInboxPath}, logger.With("component", "demo"))
		}()
	} else {
		close(demoDone)
	}

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down: finishing in-flight requests", "timeout", f.shutdownTimeout)
	case err := <-serveErr:
		runErr = fmt.Errorf("serve: %w", err)
	}
	stopDemo()
	<-demoDone
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
	defer cancel()
	// Ordinary requests finish on their own; after a grace period the
	// requests still running (streams) are told to end.
	grace := time.AfterFunc(min(2*time.Second, f.shutdownTimeout/2), cancelRequests)
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		runErr = errors.Join(runErr, fmt.Errorf("shut down HTTP server: %w", err))
	}
	grace.Stop()
	if err := closeStore(); err != nil {
		runErr = errors.Join(runErr, err)
	}
	if runErr == nil {
		logger.Info("stopped; data synced", "data", dataDir)
	}
	return runErr
}

// serveToken is the REST API's bearer token from --token, --token-file or
// $KDA_TOKEN ("" for none).
func (a *app) serveToken(f serveFlags) (string, error) {
	if f.token != "" && f.tokenFile != "" {
		return "", usagef("give --token or --token-file, not both")
	}
	if f.tokenFile != "" {
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return "", fmt.Errorf("read --token-file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", usagef("--token-file %s is empty", f.tokenFile)
		}
		return tok, nil
	}
	return firstNonEmpty(f.token, a.getenv("KDA_TOKEN")), nil
}

// newDeliveryManager opens the delivery streams of a data directory with
// every connector the engine knows; ExtendedS3 destinations write to the
// local directory store under <data>/s3, or with s3Config (the s3
// connector's JSON) to S3-compatible storage.
func newDeliveryManager(st *store.Store, dataDir, s3Config, region string, logger *slog.Logger) (*delivery.Manager, error) {
	reg := delivery.NewRegistry()
	for _, c := range engine.Connectors() {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	root, err := json.Marshal(map[string]string{"root": filepath.Join(dataDir, "s3")})
	if err != nil {
		return nil, err
	}
	kind, cfg := "directory", json.RawMessage(root)
	if s3Config != "" {
		if !json.Valid([]byte(s3Config)) {
			return nil, usagef("--s3: not a JSON object: %s", s3Config)
		}
		kind, cfg = "s3", json.RawMessage(s3Config)
	}
	return delivery.NewManager(st, delivery.ManagerOptions{Registry: reg, ObjectStoreKind: kind, ObjectStoreConfig: cfg,
		Region: region, Logger: logger})
}
