package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"

	"github.com/kdaproject/kda/connectors/kinesisapi"
	"github.com/kdaproject/kda/engine/store"
)

const (
	defaultEndpoint = "http://127.0.0.1:4567"
	defaultRegion   = "us-east-1"
	defaultDataDir  = "./kda-data"
	// awsEndpoint as --endpoint means "let the SDK resolve AWS's endpoint".
	awsEndpoint = "aws"
	// defaultCallTimeout bounds one HTTP call to the endpoint.
	defaultCallTimeout = time.Minute
)

// app carries what every command shares: the standard streams, the global
// flags and, once a client command needs it, the backend it talks to. It is
// the only state of the CLI; commands receive it rather than reading globals.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	// Global flags.
	endpoint string
	region   string
	dataDir  string
	output   string
	noLimits bool
	timeout  time.Duration

	be *backend
}

func newApp(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
}

// validateGlobal checks the global flags and fills their defaults from the
// environment.
func (a *app) validateGlobal() error {
	switch a.output {
	case "table", "json":
	default:
		return usagef("--output must be table or json, not %q", a.output)
	}
	if a.timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	if a.endpoint == "" {
		a.endpoint = a.getenv("KDA_ENDPOINT")
	}
	if a.endpoint == "" {
		a.endpoint = defaultEndpoint
	}
	if a.endpoint != awsEndpoint {
		u, err := url.Parse(a.endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usagef("--endpoint must be an http(s) URL such as %s, or %q, not %q", defaultEndpoint, awsEndpoint, a.endpoint)
		}
	}
	if a.region == "" {
		a.region = firstNonEmpty(a.getenv("AWS_REGION"), a.getenv("AWS_DEFAULT_REGION"), defaultRegion)
	}
	return nil
}

func (a *app) jsonOutput() bool { return a.output == "json" }

// backend is what client commands talk to: a Kinesis client and a place to
// keep consumer checkpoints, either remote (over HTTP) or embedded (an
// in-process store).
type backend struct {
	client      *kinesis.Client
	checkpoints checkpointStore
	embedded    bool
	close       func() error
}

// backend opens the backend on first use: embedded on --data when set,
// otherwise a remote client of --endpoint.
func (a *app) backend(ctx context.Context) (*backend, error) {
	if a.be != nil {
		return a.be, nil
	}
	var err error
	if a.dataDir != "" {
		a.be, err = a.openEmbedded()
	} else {
		a.be, err = a.openRemote(ctx)
	}
	return a.be, err
}

// client is a shortcut for commands that need only the Kinesis client.
func (a *app) client(ctx context.Context) (*kinesis.Client, error) {
	be, err := a.backend(ctx)
	if err != nil {
		return nil, err
	}
	return be.client, nil
}

// close releases the backend (in embedded mode it closes, and so syncs, the
// store).
func (a *app) close() error {
	if a.be == nil || a.be.close == nil {
		return nil
	}
	err := a.be.close()
	a.be = nil
	return err
}

func (a *app) storeOptions() store.Options {
	return store.Options{
		Region:     a.region,
		Throughput: store.ThroughputOptions{Disabled: a.noLimits},
	}
}

func (a *app) openEmbedded() (*backend, error) {
	st, err := store.Open(a.dataDir, a.storeOptions())
	if err != nil {
		return nil, openDataErr(a.dataDir, err)
	}
	h := kinesisapi.New(st, kinesisapi.Options{Region: a.region})
	return &backend{
		client:      kinesisapi.NewInProcessClient(h, a.region),
		checkpoints: storeCheckpoints{st: st},
		embedded:    true,
		close: func() error {
			if err := st.Close(); err != nil {
				return fmt.Errorf("close data directory %s: %w", a.dataDir, err)
			}
			return nil
		},
	}, nil
}

func (a *app) openRemote(ctx context.Context) (*backend, error) {
	creds, err := a.credentials(ctx)
	if err != nil {
		return nil, err
	}
	cfg := aws.Config{
		Region:      a.region,
		Credentials: creds,
	}
	client := kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
		if a.endpoint != awsEndpoint {
			o.BaseEndpoint = aws.String(a.endpoint)
		}
		// No Kinesis call this CLI makes takes long; a server that does not
		// answer must not hang the command.
		o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(a.timeout)
	})
	return &backend{
		client: client,
		checkpoints: &restCheckpoints{
			endpoint: a.endpoint,
			region:   a.region,
			creds:    creds,
			client:   &http.Client{Timeout: a.timeout},
			errf:     a.apiErr,
			token:    a.getenv("KDA_TOKEN"),
		},
	}, nil
}

// credentials picks the keys to sign with: KDA_ACCESS_KEY/KDA_SECRET_KEY
// when set (they match `kda serve --access-key/--secret-key`), else whatever
// the AWS environment and shared config provide, else static dummy keys,
// which kda accepts when it runs without keys.
func (a *app) credentials(ctx context.Context) (aws.CredentialsProvider, error) {
	ak, sk := a.getenv("KDA_ACCESS_KEY"), a.getenv("KDA_SECRET_KEY")
	if ak != "" || sk != "" {
		if ak == "" || sk == "" {
			return nil, usagef("set both KDA_ACCESS_KEY and KDA_SECRET_KEY, or neither")
		}
		return credentials.NewStaticCredentialsProvider(ak, sk, ""), nil
	}
	dummy := credentials.NewStaticCredentialsProvider("kda", "kda", "")
	opts := []func(*config.LoadOptions) error{config.WithRegion(a.region)}
	if a.endpoint != awsEndpoint {
		// Instance metadata means nothing to a local endpoint, and probing
		// for it off EC2 costs seconds.
		opts = append(opts, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		if a.endpoint == awsEndpoint {
			return nil, fmt.Errorf("load AWS configuration: %w", err)
		}
		return dummy, nil
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cfg.Credentials.Retrieve(rctx); err != nil {
		if a.endpoint == awsEndpoint {
			return nil, fmt.Errorf("no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE): %w", err)
		}
		return dummy, nil
	}
	return cfg.Credentials, nil
}

// cliError is an error whose message is already written for people; the
// wrapped error stays reachable for errors.As.
type cliError struct {
	msg string
	err error
}

func (e *cliError) Error() string { return e.msg }
func (e *cliError) Unwrap() error { return e.err }

// apiErr turns an SDK error into one line a person can act on: what we were
// doing, the AWS error code and message, and a hint when the endpoint could
// not be reached.
func (a *app) apiErr(what string, err error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		msg := fmt.Sprintf("%s: %s: %s", what, ae.ErrorCode(), ae.ErrorMessage())
		if ae.ErrorCode() == "UnknownOperationException" {
			msg += " (this endpoint does not implement the operation)"
		}
		return &cliError{msg: msg, err: err}
	}
	if errors.Is(err, context.Canceled) {
		return &cliError{msg: what + ": interrupted", err: err}
	}
	where := a.endpoint
	if a.dataDir != "" {
		where = a.dataDir
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return &cliError{
			msg: fmt.Sprintf("%s: cannot connect to %s (connection refused): is `kda serve` running? "+
				"Start it with `kda serve`, point --endpoint (or KDA_ENDPOINT) at a running server, or use --data DIR to run embedded", what, where),
			err: err,
		}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return &cliError{msg: fmt.Sprintf("%s: cannot resolve host %q of endpoint %s: check --endpoint", what, dnsErr.Name, where), err: err}
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return &cliError{msg: fmt.Sprintf("%s: %s did not answer in time: is the endpoint right and reachable?", what, where), err: err}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// apiCode returns the AWS error code carried by err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// exactArgs is cobra.ExactArgs that reports a usage error naming the
// expected arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return usagef("%s takes %d argument(s): %s (got %d)", cmd.CommandPath(), len(names), strings.Join(names, " "), len(args))
		}
		return nil
	}
}

// minArgs is cobra.MinimumNArgs that reports a usage error.
func minArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usagef("%s needs %s", cmd.CommandPath(), what)
		}
		return nil
	}
}

// openDataErr explains a failure to open a data directory; the usual cause
// is a server that holds it.
func openDataErr(dir string, err error) error {
	if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) {
		return &cliError{
			msg: fmt.Sprintf("open data directory %s: it is in use by another process (a running `kda serve`?); "+
				"talk to that server with --endpoint instead of --data", dir),
			err: err,
		}
	}
	return fmt.Errorf("open data directory %s: %w", dir, err)
}
