package main

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/kdaproject/kda/connectors/kinesisapi"
)

func withToken(tok string) serverOpt {
	return func(c *serverConfig, _ *kinesisapi.Options) { c.token = tok }
}

func TestServeTokenGuardsRESTButNotHealthz(t *testing.T) {
	ts := newTestServer(t, withToken("T0k"), withApps(t))
	if code, _, _ := httpGet(t, ts.url+"/healthz"); code != 200 {
		t.Errorf("healthz = %d without a token", code)
	}
	if code, body, _ := httpGet(t, ts.url+"/v1/streams"); code != http.StatusUnauthorized {
		t.Errorf("GET /v1/streams without a token = %d %s", code, body)
	}
	// The CLI sends $KDA_TOKEN to the REST routes.
	tg := target{args: []string{"--endpoint", ts.url}, env: map[string]string{"KDA_TOKEN": "T0k"}}
	tg.ok(t, "", "app", "list")
	if r := (target{args: []string{"--endpoint", ts.url}}).run(t, "", "app", "list"); r.code == 0 {
		t.Errorf("app list without the token succeeded: %s", r.stdout)
	}
}

func TestServeTokenFlags(t *testing.T) {
	a := newApp(nil, nil, nil, func(string) string { return "" })
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if tok, err := a.serveToken(serveFlags{tokenFile: p}); err != nil || tok != "from-file" {
		t.Errorf("--token-file: %q %v", tok, err)
	}
	if _, err := a.serveToken(serveFlags{token: "a", tokenFile: p}); err == nil {
		t.Error("--token with --token-file accepted")
	}
	if _, err := a.serveToken(serveFlags{tokenFile: p + ".missing"}); err == nil {
		t.Error("a missing --token-file accepted")
	}
}
