package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdaproject/kda/connectors/delivery"
)

// noSecretIn fails when out shows one of the secrets these tests store.
func noSecretIn(t *testing.T, what, out string) {
	t.Helper()
	for _, s := range []string{"hookpass", "hmac-secret", "Bearer tok", "pgpass"} {
		if strings.Contains(out, s) {
			t.Errorf("%s shows the secret %q:\n%s", what, s, out)
		}
	}
}

// TestDeliveryCommandsShowNoSecrets: kda delivery create, describe and list
// mask a webhook's secrets, and a definition saved from describe and sent
// back with kda delivery update keeps them.
func TestDeliveryCommandsShowNoSecrets(t *testing.T) {
	dir := t.TempDir()
	srv, dm := deliveryServer(t, dir)
	tg := target{name: "server", args: []string{"--endpoint", srv.URL}}

	def := filepath.Join(dir, "hook.yaml")
	if err := os.WriteFile(def, []byte(`DeliveryStreamName: hook
SinkDestination:
  Type: webhook
  Config:
    url: http://alerts:hookpass@127.0.0.1:1/hook
    secret: hmac-secret
    headers: {Authorization: Bearer tok}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	noSecretIn(t, "delivery create", tg.ok(t, "", "delivery", "create", def))
	out := tg.ok(t, "", "delivery", "describe", "hook")
	noSecretIn(t, "delivery describe", out)
	if !strings.Contains(out, `"secret": "`+delivery.Mask+`"`) {
		t.Errorf("describe shows no mask:\n%s", out)
	}
	noSecretIn(t, "delivery list -o json", tg.ok(t, "", "delivery", "list", "-o", "json"))
	js := tg.ok(t, "", "delivery", "describe", "hook", "-o", "json")
	noSecretIn(t, "delivery describe -o json", js)

	// The described definition, saved and sent back, keeps the secrets.
	var d delivery.Description
	if err := json.Unmarshal([]byte(js), &d); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(d.Definition)
	if err := os.WriteFile(def, b, 0o644); err != nil {
		t.Fatal(err)
	}
	noSecretIn(t, "delivery update", tg.ok(t, "", "delivery", "update", def, "--version", "1"))
	stored, err := dm.Describe("hook")
	if err != nil {
		t.Fatal(err)
	}
	if c := string(stored.Definition.SinkDestination.Config); stored.VersionID != "2" ||
		!strings.Contains(c, "hmac-secret") || !strings.Contains(c, "Bearer tok") || !strings.Contains(c, "alerts:hookpass@") {
		t.Errorf("after the update: version %s, config %s", stored.VersionID, c)
	}
}

// TestAppDescribeShowsNoSecrets: kda app describe -o json masks a
// postgres reference table's password.
func TestAppDescribeShowsNoSecrets(t *testing.T) {
	ts := newTestServer(t, withApps(t))
	tg := target{name: "remote", args: []string{"--endpoint", ts.url}}
	tg.ok(t, "", "stream", "create", "in", "--shards", "1")
	tg.ok(t, "", "stream", "create", "out", "--shards", "1")
	file := writeAppFiles(t, appSQL)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, []byte(`referenceTables:
  - name: CompanyName
    source: {postgres: {dsn: "postgres://kda:pgpass@127.0.0.1:1/kda", query: "SELECT 1"}}
    schema:
      columns:
        - {name: Ticker, sqlType: VARCHAR(8)}
`)...)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	noSecretIn(t, "app create", tg.ok(t, "", "app", "create", file))
	noSecretIn(t, "app describe", tg.ok(t, "", "app", "describe", "counts"))
	out := tg.ok(t, "", "app", "describe", "counts", "-o", "json")
	noSecretIn(t, "app describe -o json", out)
	if !strings.Contains(out, "postgres://kda:"+delivery.Mask+"@127.0.0.1:1/kda") {
		t.Errorf("describe shows no masked DSN:\n%s", out)
	}
	noSecretIn(t, "app list -o json", tg.ok(t, "", "app", "list", "-o", "json"))
}
