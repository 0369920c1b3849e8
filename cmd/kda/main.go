// Command kda is the kda command-line tool: it runs the server and is a client
// of the Kinesis Data Streams API.
//
// `kda serve` opens the shard store under one data directory and serves, on
// one listener, the Kinesis-compatible API (requests carrying X-Amz-Target),
// health (/healthz), Prometheus metrics (/metrics) and kda's REST routes
// (/v1/...).
//
// Every other command (stream, put, tail, bench) speaks the Kinesis API
// through the AWS SDK for Go v2, so it works against `kda serve`, against
// any other Kinesis endpoint and against AWS itself. With --data DIR the
// same commands run embedded instead: the store is opened in-process and the
// SDK client calls the HTTP handler directly, so there is one code path.
//
//	kda serve --demo                        # server with a demo stream
//	kda stream create clicks --shards 4     # client, over HTTP
//	kda put clicks --json --key-field user < events.jsonl
//	kda tail clicks --follow --consumer me
//	kda --data ./kda-data stream list       # embedded, no server needed
package main

import (
	"github.com/kdaproject/kda/engine/gctune"

	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	gctune.Apply()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal asks for a clean stop; after it, a second one kills
	// the process the default way.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the process exit code: 0 on
// success, 1 on any error, 2 on a usage error. getenv reads the environment
// (tests pass their own).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	a := newApp(stdin, stdout, stderr, getenv)
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if cerr := a.close(); cerr != nil && err == nil {
		err = cerr
	}
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "Error:", err)
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// usageError marks a command line the user must fix (bad flag values, wrong
// argument count), so run exits with status 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "kda",
		Short: "kda: a self-hosted, Kinesis-compatible stream store",
		Long: `kda is a self-hosted, Kinesis-compatible stream store.

Run a server with "kda serve"; every other command is a Kinesis client that
talks to --endpoint (default http://127.0.0.1:4567, env KDA_ENDPOINT) through
the AWS SDK, so it also works against AWS ("--endpoint aws") or any other
Kinesis-compatible service. With --data DIR the client commands run embedded
on the data directory instead, with no server.

Credentials: KDA_ACCESS_KEY/KDA_SECRET_KEY if set, else the AWS environment
and shared config, else static dummy keys (kda accepts any keys unless
"kda serve" was given --access-key/--secret-key).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return a.validateGlobal()
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &usageError{err: err}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&a.endpoint, "endpoint", "", `Kinesis endpoint URL, or "aws" for AWS itself (default $KDA_ENDPOINT or `+defaultEndpoint+`)`)
	pf.StringVar(&a.region, "region", "", "AWS region (default $AWS_REGION or us-east-1)")
	pf.StringVar(&a.dataDir, "data", "", "data directory: for serve, where data lives (default ./kda-data); for client commands, run embedded on it instead of calling --endpoint")
	pf.StringVarP(&a.output, "output", "o", "table", "output format: table or json")
	pf.BoolVar(&a.noLimits, "no-limits", false, "disable per-shard throughput limits (serve and embedded mode)")
	pf.DurationVar(&a.timeout, "timeout", defaultCallTimeout, "give up on one call to the endpoint after this long")

	root.AddCommand(
		newServeCmd(a),
		newStreamCmd(a),
		newPutCmd(a),
		newTailCmd(a),
		newBenchCmd(a),
		newRunCmd(a),
		newExplainCmd(a),
		newAppCmd(a),
		newFunctionCmd(a),
		newDeliveryCmd(a),
		newDiscoverCmd(a),
	)
	return root
}
