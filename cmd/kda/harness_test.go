package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kdaproject/kda/connectors/kinesisapi"
	"github.com/kdaproject/kda/engine/store"
)

// testServer is `kda serve` in-process: the real store and Kinesis handler
// behind the real server handler, on an httptest listener.
type testServer struct {
	st  *store.Store
	srv *httptest.Server
	url string
}

type serverOpt func(*serverConfig, *kinesisapi.Options)

func withKeys(ak, sk string) serverOpt {
	return func(c *serverConfig, o *kinesisapi.Options) {
		c.accessKey, c.secretKey = ak, sk
		o.AccessKey, o.SecretKey = ak, sk
	}
}

func newTestServer(t *testing.T, opts ...serverOpt) *testServer {
	t.Helper()
	return newTestServerWithStore(t, store.Options{Throughput: store.ThroughputOptions{Disabled: true}}, opts...)
}

func newTestServerWithStore(t *testing.T, so store.Options, opts ...serverOpt) *testServer {
	t.Helper()
	st, err := store.Open(t.TempDir(), so)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	cfg := serverConfig{store: st, started: time.Now(), version: "test"}
	ho := kinesisapi.Options{Region: defaultRegion}
	for _, o := range opts {
		o(&cfg, &ho)
	}
	cfg.api = kinesisapi.New(st, ho)
	srv := httptest.NewServer(newServerHandler(cfg))
	t.Cleanup(func() {
		srv.Close()
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return &testServer{st: st, srv: srv, url: srv.URL}
}

// cliResult is one CLI run.
type cliResult struct {
	stdout, stderr string
	code           int
}

// target says where CLI commands go: a server URL or an embedded data dir.
type target struct {
	name string
	args []string // --endpoint URL or --data DIR
	env  map[string]string
}

func (tg target) run(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	return runCLI(t, tg.env, stdin, append(append([]string{}, tg.args...), args...)...)
}

// ok runs a command that must succeed and returns its stdout.
func (tg target) ok(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := tg.run(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("kda %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

func runCLI(t *testing.T, env map[string]string, stdin string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		// Keep the tests hermetic: sign with fixed keys, never the
		// machine's AWS configuration.
		switch k {
		case "KDA_ACCESS_KEY":
			return "test"
		case "KDA_SECRET_KEY":
			return "test"
		}
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := run(ctx, args, strings.NewReader(stdin), &out, &errb, getenv)
	return cliResult{stdout: out.String(), stderr: errb.String(), code: code}
}

// targets returns the two ways to reach a store: over HTTP and embedded.
func targets(t *testing.T) []target {
	t.Helper()
	ts := newTestServer(t)
	return []target{
		{name: "remote", args: []string{"--endpoint", ts.url}},
		{name: "embedded", args: []string{"--data", t.TempDir(), "--no-limits"}},
	}
}

// tailJSON runs tail -o json and decodes its lines.
func tailJSON(t *testing.T, tg target, args ...string) []tailRecord {
	t.Helper()
	out := tg.ok(t, "", append([]string{"tail", "-o", "json"}, args...)...)
	var recs []tailRecord
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var r tailRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("tail line %q is not JSON: %v", line, err)
		}
		recs = append(recs, r)
	}
	return recs
}

func dataOf(recs []tailRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		if r.Data != nil {
			out[i] = *r.Data
		} else {
			out[i] = "base64:" + r.DataBase64
		}
	}
	return out
}

func httpGet(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }
