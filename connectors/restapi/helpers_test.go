package restapi

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	kdaapp "github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/engine/store"
)

// api is a REST API over a fresh store and application manager.
type api struct {
	st   *store.Store
	apps *kdaapp.Manager
	srv  *httptest.Server
	tok  string
}

func newAPI(t *testing.T, opts Options) *api {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{Throughput: store.ThroughputOptions{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := kdaapp.NewManager(st, kdaapp.ManagerOptions{Heartbeat: 5 * time.Millisecond, OutputDir: dir + "/outputs"})
	if err != nil {
		t.Fatal(err)
	}
	if opts.Heartbeat == 0 {
		opts.Heartbeat = 10 * time.Millisecond
	}
	if opts.FlushInterval == 0 {
		opts.FlushInterval = 50 * time.Millisecond
	}
	srv := httptest.NewServer(New(Deps{Store: st, Apps: m}, opts))
	t.Cleanup(func() {
		srv.Close()
		m.Close()
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return &api{st: st, apps: m, srv: srv, tok: opts.Token}
}

// call makes a request and returns the status and body.
func (a *api) call(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if a.tok != "" {
		req.Header.Set("Authorization", "Bearer "+a.tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// must calls and fails the test unless the status is want; it decodes the
// body into out when out is not nil.
func (a *api) must(t *testing.T, method, path, body string, want int, out any) string {
	t.Helper()
	code, got := a.call(t, method, path, body)
	if code != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, code, got, want)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(got), out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, got, err)
		}
	}
	return got
}

// wantError checks a JSON error answer: status, code and words of the message.
func (a *api) wantError(t *testing.T, method, path, body string, status int, code string, words ...string) errorDetail {
	t.Helper()
	var e errorBody
	a.must(t, method, path, body, status, &e)
	if e.Error.Code != code {
		t.Errorf("%s %s: code %q, want %q (%s)", method, path, e.Error.Code, code, e.Error.Message)
	}
	for _, w := range words {
		if !strings.Contains(e.Error.Message, w) {
			t.Errorf("%s %s: message %q lacks %q", method, path, e.Error.Message, w)
		}
	}
	return e.Error
}

// sse is one server-sent event.
type sse struct {
	name string
	data string
}

// query posts a query and reads events until end (or the stream closes).
// onSchema, if set, runs once the schema event has arrived.
func (a *api) query(t *testing.T, body string, onSchema func()) (int, []sse) {
	t.Helper()
	req, _ := http.NewRequest("POST", a.srv.URL+"/v1/query", strings.NewReader(body))
	if a.tok != "" {
		req.Header.Set("Authorization", "Bearer "+a.tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, []sse{{name: "http", data: string(b)}}
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("query content type %q", ct)
	}
	var out []sse
	var cur sse
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		case line == "":
			out = append(out, cur)
			if cur.name == "schema" && onSchema != nil {
				onSchema()
			}
			if cur.name == "end" {
				return 200, out
			}
			cur = sse{}
		}
	}
	t.Fatalf("the event stream ended without an end event: %v", out)
	return 0, nil
}

// rowsOf gathers the rows of every rows event for stream.
func rowsOf(t *testing.T, evs []sse, stream string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, e := range evs {
		if e.name != "rows" {
			continue
		}
		var re struct {
			Stream string           `json:"stream"`
			Rows   []map[string]any `json:"rows"`
		}
		if err := json.Unmarshal([]byte(e.data), &re); err != nil {
			t.Fatalf("rows event %s: %v", e.data, err)
		}
		if re.Stream == stream {
			out = append(out, re.Rows...)
		}
	}
	return out
}

func lastEvent(evs []sse) sse {
	if len(evs) == 0 {
		return sse{}
	}
	return evs[len(evs)-1]
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
