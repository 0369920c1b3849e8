package restapi

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/delivery/deliverytest"
	kdaapp "github.com/kdaproject/kda/engine/app"
)

// secretsAPI is a REST API with delivery streams (a "fake" sink kind
// that takes any config) and applications that may declare them inline.
func secretsAPI(t *testing.T) (*api, *delivery.Manager) {
	t.Helper()
	st, dm := deliverytest.NewManager(t)
	am, err := kdaapp.NewManager(st, kdaapp.ManagerOptions{Heartbeat: 5 * time.Millisecond, Deliveries: dm})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Deps{Store: st, Apps: am, Deliveries: dm}, Options{}))
	t.Cleanup(func() { srv.Close(); am.Close() })
	return &api{st: st, apps: am, srv: srv}, dm
}

// The secrets these tests store, which no answer may show.
var secrets = []string{"urlpass", "hmac-secret", "Bearer tok", "pgpass"}

func noSecrets(t *testing.T, what, body string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(body, s) {
			t.Errorf("%s shows the secret %q: %s", what, s, body)
		}
	}
	if !strings.Contains(body, delivery.Mask) {
		t.Errorf("%s shows no mask: %s", what, body)
	}
}

const secretSinkConfig = `{"url":"amqp://u:urlpass@h/","secret":"hmac-secret","headers":{"Authorization":"Bearer tok"},"timeout":"1s"}`

func TestDeliveryRoutesMaskSecretsAndAPutOfTheMaskKeepsThem(t *testing.T) {
	a, dm := secretsAPI(t)
	body := a.must(t, "POST", "/v1/deliveries", `{"DeliveryStreamName":"hook","SinkDestination":{"Type":"fake","Config":`+secretSinkConfig+`}}`, 201, nil)
	noSecrets(t, "POST /v1/deliveries", body)
	noSecrets(t, "GET /v1/deliveries", a.must(t, "GET", "/v1/deliveries", "", 200, nil))
	var d delivery.Description
	noSecrets(t, "GET /v1/deliveries/hook", a.must(t, "GET", "/v1/deliveries/hook", "", 200, &d))

	// kda delivery describe -o json, edited and sent back: the masks keep
	// the stored secrets.
	d.Definition.SinkDestination.Config = json.RawMessage(strings.Replace(string(d.Definition.SinkDestination.Config), `"1s"`, `"2s"`, 1))
	def, _ := json.Marshal(d.Definition)
	noSecrets(t, "PUT /v1/deliveries/hook", a.must(t, "PUT", "/v1/deliveries/hook?version=1", string(def), 200, nil))
	stored, err := dm.Describe("hook")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"headers":{"Authorization":"Bearer tok"},"secret":"hmac-secret","timeout":"2s","url":"amqp://u:urlpass@h/"}`
	if got := string(stored.Definition.SinkDestination.Config); got != want {
		t.Errorf("stored config %s, want %s", got, want)
	}
}

func TestAppRoutesMaskSecretsAndAPutOfTheMaskKeepsThem(t *testing.T) {
	a, dm := secretsAPI(t)
	a.must(t, "POST", "/v1/streams", `{"name":"in","shards":1}`, 201, nil)
	def := map[string]any{}
	if err := json.Unmarshal([]byte(appDef(countsSQL, `{"name":"OUT_S","deliveryStream":{"DeliveryStreamName":"counts-hook","SinkDestination":{"Type":"fake","Config":`+secretSinkConfig+`}}}`)), &def); err != nil {
		t.Fatal(err)
	}
	def["referenceTables"] = []any{map[string]any{
		"name": "CompanyName", "source": map[string]any{"postgres": map[string]any{"dsn": "postgres://kda:pgpass@127.0.0.1:1/kda", "query": "SELECT 1"}},
		"schema": map[string]any{"columns": []any{map[string]any{"name": "Ticker", "sqlType": "VARCHAR(8)"}}},
	}}
	body, _ := json.Marshal(def)
	noSecrets(t, "POST /v1/apps", a.must(t, "POST", "/v1/apps", string(body), 201, nil))
	noSecrets(t, "GET /v1/apps", a.must(t, "GET", "/v1/apps", "", 200, nil))
	var d kdaapp.Description
	noSecrets(t, "GET /v1/apps/counts", a.must(t, "GET", "/v1/apps/counts", "", 200, &d))
	if dsn := d.Definition.ReferenceTables[0].Source.Postgres.DSN; dsn != "postgres://kda:****@127.0.0.1:1/kda" {
		t.Errorf("shown DSN %q", dsn)
	}

	// The described definition sent back keeps the secrets.
	d.Definition.CheckpointInterval = kdaapp.Duration{Duration: time.Second}
	body, _ = json.Marshal(d.Definition)
	noSecrets(t, "PUT /v1/apps/counts", a.must(t, "PUT", "/v1/apps/counts", string(body), 200, nil))
	stored, err := a.apps.Describe("counts")
	if err != nil {
		t.Fatal(err)
	}
	if dsn := stored.Definition.ReferenceTables[0].Source.Postgres.DSN; dsn != "postgres://kda:pgpass@127.0.0.1:1/kda" {
		t.Errorf("stored DSN %q", dsn)
	}
	if cfg := string(stored.Definition.Outputs[0].DeliveryStream.SinkDestination.Config); !strings.Contains(cfg, "hmac-secret") || !strings.Contains(cfg, "urlpass") {
		t.Errorf("stored inline delivery stream config %s", cfg)
	}
	if ds, err := dm.Describe("counts-hook"); err != nil || !strings.Contains(string(ds.Definition.SinkDestination.Config), "hmac-secret") {
		t.Errorf("the delivery stream: %v %s", err, ds.Definition.SinkDestination.Config)
	}
}

func TestAppRoutesMaskWebhookURLsAndS3AccessKeysAndAPutOfTheMaskKeepsThem(t *testing.T) {
	a, dm := secretsAPI(t)
	a.must(t, "POST", "/v1/streams", `{"name":"in","shards":1}`, 201, nil)
	const config = `{"url":"https://hooks.slack.com/services/T000/B000/XXXXXXXX","backup":"https://h.example.com/in?key=k1&n=1","accessKey":"AKIAEXAMPLE","secretKey":"s3secret"}`
	body := appDef(countsSQL, `{"name":"OUT_S","deliveryStream":{"DeliveryStreamName":"counts-hook","SinkDestination":{"Type":"fake","Config":`+config+`}}}`)
	shown := a.must(t, "POST", "/v1/apps", body, 201, nil)
	hidden := []string{"T000", "B000", "XXXXXXXX", "k1", "AKIAEXAMPLE", "s3secret"}
	for what, got := range map[string]string{
		"POST /v1/apps":                  shown,
		"GET /v1/apps/counts":            a.must(t, "GET", "/v1/apps/counts", "", 200, nil),
		"GET /v1/deliveries/counts-hook": a.must(t, "GET", "/v1/deliveries/counts-hook", "", 200, nil),
	} {
		for _, s := range hidden {
			if strings.Contains(got, s) {
				t.Errorf("%s shows the secret %q: %s", what, s, got)
			}
		}
		if !strings.Contains(got, "https://hooks.slack.com/services/****/****/****") || !strings.Contains(got, "?key=****") {
			t.Errorf("%s does not show the masked URLs: %s", what, got)
		}
	}

	var d kdaapp.Description
	a.must(t, "GET", "/v1/apps/counts", "", 200, &d)
	d.Definition.CheckpointInterval = kdaapp.Duration{Duration: time.Second}
	put, _ := json.Marshal(d.Definition)
	a.must(t, "PUT", "/v1/apps/counts", string(put), 200, nil)
	ds, err := dm.Describe("counts-hook")
	if err != nil {
		t.Fatal(err)
	}
	var got, want map[string]any
	if err := json.Unmarshal(ds.Definition.SinkDestination.Config, &got); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(config), &want)
	if g, w := mustJSON(got), mustJSON(want); g != w {
		t.Errorf("stored config after the PUT of the described app %s, want %s", g, w)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
