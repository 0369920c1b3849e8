package delivery

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestRedactStringMasksPasswordsOfURLsAndDSNs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://app:s3cret@db:5432/kda?sslmode=disable", "postgres://app:****@db:5432/kda?sslmode=disable"},
		{"amqp://guest:guest@127.0.0.1:5672/", "amqp://guest:****@127.0.0.1:5672/"},
		{"redis://:pw@127.0.0.1:6379/0", "redis://:****@127.0.0.1:6379/0"},
		{"nats://a:b@h1:4222,nats://c:d@h2:4222", "nats://a:****@h1:4222,nats://c:****@h2:4222"},
		{"host=db user=app password='it''s' dbname=kda", "host=db user=app password=**** dbname=kda"},
		{"host=db password=s3cret", "host=db password=****"},
		{"postgres://db/kda?user=app&password=s3cret", "postgres://db/kda?user=app&password=****"},
		{"https://hooks.example.com/x?token=abc&a=1", "https://hooks.example.com/x?token=****&a=1"},
		{"amqp://guest@127.0.0.1/", "amqp://guest@127.0.0.1/"},
		{"http://127.0.0.1:8080/hook", "http://127.0.0.1:8080/hook"},
		{"{TICKER}", "{TICKER}"},
	}
	for _, tt := range tests {
		if got := RedactString(tt.in); got != tt.want {
			t.Errorf("RedactString(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedactStringMasksSecretsInWebhookPathsAndQueryStrings(t *testing.T) {
	tests := []struct{ in, want string }{
		// Slack: the workspace, the channel and the token after /services/.
		{"https://hooks.slack.com/services/T000/B000/XXXXXXXX", "https://hooks.slack.com/services/****/****/****"},
		{"https://discord.com/api/webhooks/1234567890/AbC-dEf_gh", "https://discord.com/api/webhooks/****/****"},
		{"https://chat.example.com/hooks/xj3k9q1/", "https://chat.example.com/hooks/****/"},
		{"https://n8n.example.com/Webhook/0b1c2d3e?x=1", "https://n8n.example.com/Webhook/****?x=1"},
		{"https://acme.webhook.office.com/webhookb2/g@t/IncomingWebhook/abc123/u1", "https://acme.webhook.office.com/webhookb2/****/IncomingWebhook/****/****"},
		{`Post "https://hooks.slack.com/services/T1/B2/s3": dial tcp: refused`, `Post "https://hooks.slack.com/services/****/****/****": dial tcp: refused`},
		// Query parameters that carry a token, a key or a signature.
		{"https://h.example.com/x?key=k1&token=t1&sig=s1&access_token=a1&n=1", "https://h.example.com/x?key=****&token=****&sig=****&access_token=****&n=1"},
		{"https://b.s3.amazonaws.com/o?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=ff&X-Amz-Expires=60", "https://b.s3.amazonaws.com/o?X-Amz-Credential=****&X-Amz-Signature=****&X-Amz-Expires=60"},
		{"https://f.azurewebsites.net/api/ingest?code=c0de&api-key=k2&client_secret=cs", "https://f.azurewebsites.net/api/ingest?code=****&api-key=****&client_secret=****"},
		// Not secrets: no marker segment, "services" on a host that is not
		// a hooks host, parameters that only contain "key", a marker with
		// nothing after it, an empty value.
		{"https://api.example.com/services/orders?keyspace=k&sortkey=s", "https://api.example.com/services/orders?keyspace=k&sortkey=s"},
		{"https://hooks.example.com/ingest", "https://hooks.example.com/ingest"},
		{"http://127.0.0.1:8080/hooks", "http://127.0.0.1:8080/hooks"},
		{"https://h.example.com/x?token=&a=1", "https://h.example.com/x?token=&a=1"},
	}
	for _, tt := range tests {
		if got := RedactString(tt.in); got != tt.want {
			t.Errorf("RedactString(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedactConfigMasksEverySecretOfEverySink(t *testing.T) {
	tests := []struct {
		name, config string
		secrets      []string // must not appear
		keep         []string // must still appear
	}{
		{"webhook secret and Authorization header", `{"url":"https://h.example.com/k","secret":"hmac-key","headers":{"Authorization":"Bearer tok","X-Api-Key":"k1","Content-Type":"application/json"},"signatureHeader":"X-Sig"}`,
			[]string{"hmac-key", "Bearer tok", "k1"}, []string{"https://h.example.com/k", "application/json", "X-Sig"}},
		{"postgres DSN", `{"dsn":"postgres://kda:pgpass@127.0.0.1/kda","table":"t","key":["id"]}`, []string{"pgpass"}, []string{"postgres://kda:****@127.0.0.1/kda", `"id"`}},
		{"redis password", `{"addr":"127.0.0.1:6379","password":"redispass","key":"top:{K}"}`, []string{"redispass"}, []string{"top:{K}"}},
		{"rabbitmq URL", `{"url":"amqp://u:rabbitpass@h/","exchange":"x","routingKey":"{K}"}`, []string{"rabbitpass"}, []string{"amqp://u:****@h/"}},
		{"nats URL", `{"url":"nats://u:natspass@h:4222","subject":"s"}`, []string{"natspass"}, nil},
		{"mqtt password", `{"broker":"tcp://h:1883","username":"u","password":"mqttpass"}`, []string{"mqttpass"}, []string{`"u"`}},
		{"s3 access key and secret key", `{"endpoint":"http://h:9000","accessKey":"AKIAEXAMPLE","secretKey":"s3secret","bucketPrefix":"kda-"}`,
			[]string{"AKIAEXAMPLE", "s3secret"}, []string{"http://h:9000", "kda-"}},
		{"aws-style access key id", `{"aws_access_key_id":"AKIAEXAMPLE","AccessKeyId":"AKIAOTHER","region":"eu-west-1"}`,
			[]string{"AKIAEXAMPLE", "AKIAOTHER"}, []string{"eu-west-1"}},
		{"slack webhook URL", `{"url":"https://hooks.slack.com/services/T000/B000/XXXXXXXX","timeout":"5s"}`,
			[]string{"T000", "B000", "XXXXXXXX"}, []string{"https://hooks.slack.com/services/****/****/****"}},
		{"webhook URL with a token parameter", `{"url":"https://h.example.com/in?sig=abc&v=2"}`, []string{"abc"}, []string{"https://h.example.com/in?sig=****&v=2"}},
		{"a nested token", `{"auth":{"token":"tkn","user":"u"},"list":[{"password":"p1"}]}`, []string{"tkn", "p1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(RedactConfig(json.RawMessage(tt.config)))
			for _, s := range tt.secrets {
				if strings.Contains(got, s) {
					t.Errorf("%s shows the secret %q", got, s)
				}
			}
			for _, s := range append(tt.keep, Mask) {
				if !strings.Contains(got, s) {
					t.Errorf("%s lost %q", got, s)
				}
			}
		})
	}
	if got := string(RedactConfig(json.RawMessage(`{"secret":""}`))); got != `{"secret":""}` {
		t.Errorf("an empty secret is shown as empty, got %s", got)
	}
}

func TestDescribeMasksSecretsAndAnUpdateThatEchoesTheMaskKeepsThem(t *testing.T) {
	f := newFixture(t)
	var opened []string
	if err := f.reg.Register(Connector{Kind: "fake", OpenSink: func(_ context.Context, cfg json.RawMessage) (RecordSink, error) {
		opened = append(opened, string(cfg))
		return &fakeSink{}, nil
	}}); err != nil {
		t.Fatal(err)
	}
	config := `{"url":"amqp://u:urlpass@h/","secret":"hmac","headers":{"Authorization":"Bearer tok"},"timeout":"1s"}`
	f.create(Definition{DeliveryStreamName: "s", SinkDestination: &SinkDestination{Type: "fake", Config: json.RawMessage(config)}})
	d, err := f.m.Describe("s")
	if err != nil {
		t.Fatal(err)
	}
	if string(d.Definition.SinkDestination.Config) != config {
		t.Fatalf("the manager's own describe must keep the secrets: %s", d.Definition.SinkDestination.Config)
	}
	shown := d.Redacted()
	masked := string(shown.Definition.SinkDestination.Config)
	for _, s := range []string{"urlpass", "hmac", "Bearer tok"} {
		if strings.Contains(masked, s) {
			t.Errorf("Redacted shows %q: %s", s, masked)
		}
	}
	if string(d.Definition.SinkDestination.Config) != config {
		t.Fatalf("Redacted changed the description it copied")
	}

	// Replace with the described (masked) definition, a timeout changed.
	var cfg map[string]any
	if err := json.Unmarshal(shown.Definition.SinkDestination.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["timeout"] = "2s"
	b, _ := json.Marshal(cfg)
	echoed := shown.Definition
	echoed.SinkDestination = &SinkDestination{Type: "fake", Config: b}
	if _, err := f.m.Replace(echoed, "1"); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"url": "amqp://u:urlpass@h/", "secret": "hmac", "headers": map[string]any{"Authorization": "Bearer tok"}, "timeout": "2s"}
	f.checkStoredConfig("s", want)

	// UpdateDestination without the secret fields keeps them; an empty
	// secret removes it.
	if _, err := f.m.UpdateDestination(UpdateInput{DeliveryStreamName: "s", CurrentDeliveryStreamVersionId: "2",
		SinkDestinationUpdate: &SinkDestination{Config: json.RawMessage(`{"url":"amqp://u:****@h/","headers":{"Authorization":"****"},"timeout":"3s"}`)}}); err != nil {
		t.Fatal(err)
	}
	want["timeout"] = "3s"
	f.checkStoredConfig("s", want)
	if _, err := f.m.UpdateDestination(UpdateInput{DeliveryStreamName: "s", CurrentDeliveryStreamVersionId: "3",
		SinkDestinationUpdate: &SinkDestination{Config: json.RawMessage(`{"url":"amqp://u:****@h2/","secret":"","timeout":"3s"}`)}}); err != nil {
		t.Fatal(err)
	}
	f.checkStoredConfig("s", map[string]any{"url": "amqp://u:urlpass@h2/", "secret": "", "timeout": "3s"})
	if last := opened[len(opened)-1]; !strings.Contains(last, "urlpass") {
		t.Errorf("the sink was opened without the kept password: %s", last)
	}

	// A mask with nothing stored behind it is refused, naming the field.
	if _, err := f.m.UpdateDestination(UpdateInput{DeliveryStreamName: "s", CurrentDeliveryStreamVersionId: "4",
		SinkDestinationUpdate: &SinkDestination{Config: json.RawMessage(`{"url":"amqp://u:urlpass@h2/","password":"****"}`)}}); err == nil ||
		!strings.Contains(err.Error(), "SinkDestination.Config.password") {
		t.Errorf("a mask with no stored secret: %v", err)
	}
	if _, err := f.m.Create(Definition{DeliveryStreamName: "copy", SinkDestination: &SinkDestination{Type: "fake", Config: json.RawMessage(masked)}}); err == nil ||
		!strings.Contains(err.Error(), "no stored secret") {
		t.Errorf("a new delivery stream made from a masked description: %v", err)
	}
}

func TestRestoreStringPutsBackEachMaskedSecretInOrder(t *testing.T) {
	const slack = "https://hooks.slack.com/services/T000/B000/XXXXXXXX"
	tests := []struct {
		name, old, upd, want, err string
	}{
		{"the masked webhook URL echoed", slack, RedactString(slack), slack, ""},
		{"a masked URL with a query token", "https://h/x/hooks/abc?token=t1&a=1", "https://h/x/hooks/****?token=****&a=2", "https://h/x/hooks/abc?token=t1&a=2", ""},
		{"a new path segment given, the others masked", slack, "https://hooks.slack.com/services/****/B999/****", "https://hooks.slack.com/services/T000/B999/XXXXXXXX", ""},
		{"a new webhook URL replaces the old one", slack, "https://hooks.slack.com/services/T1/B1/new", "https://hooks.slack.com/services/T1/B1/new", ""},
		{"passwords and path secrets together", "amqp://u:pw@h/ https://h/hooks/k", "amqp://u:****@h/ https://h/hooks/****", "amqp://u:pw@h/ https://h/hooks/k", ""},
		{"a masked segment the stored URL lacks", "https://h/hooks/a", "https://h/hooks/****/****", "", "no stored secret"},
		{"a masked webhook URL with nothing stored", "", RedactString(slack), "", "no stored secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RestoreString(tt.old, tt.upd)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("RestoreString(%q, %q) = %q, %v; want an error with %q", tt.old, tt.upd, got, err, tt.err)
				}
				if strings.Contains(err.Error(), "XXXXXXXX") {
					t.Errorf("the error shows the secret: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("RestoreString(%q, %q) = %q, %v; want %q", tt.old, tt.upd, got, err, tt.want)
			}
		})
	}
}

func TestAnUpdateEchoingAMaskedWebhookURLAndS3KeysKeepsTheStoredOnes(t *testing.T) {
	f := newFixture(t)
	if err := f.reg.Register(Connector{Kind: "fake", OpenSink: func(context.Context, json.RawMessage) (RecordSink, error) {
		return &fakeSink{}, nil
	}}); err != nil {
		t.Fatal(err)
	}
	const hook = "https://hooks.slack.com/services/T000/B000/XXXXXXXX"
	config := `{"url":"` + hook + `?sig=s1","accessKey":"AKIAEXAMPLE","secretKey":"s3secret","timeout":"1s"}`
	f.create(Definition{DeliveryStreamName: "s", SinkDestination: &SinkDestination{Type: "fake", Config: json.RawMessage(config)}})
	d, err := f.m.Describe("s")
	if err != nil {
		t.Fatal(err)
	}
	shown := string(d.Redacted().Definition.SinkDestination.Config)
	for _, s := range []string{"T000", "B000", "XXXXXXXX", "s1", "AKIAEXAMPLE", "s3secret"} {
		if strings.Contains(shown, s) {
			t.Errorf("Redacted shows %q: %s", s, shown)
		}
	}
	want := `{"accessKey":"****","secretKey":"****","timeout":"1s","url":"https://hooks.slack.com/services/****/****/****?sig=****"}`
	if shown != want {
		t.Errorf("shown %s, want %s", shown, want)
	}

	// The described config sent back, the timeout changed, keeps all.
	echoed := d.Redacted().Definition
	echoed.SinkDestination.Config = json.RawMessage(strings.Replace(shown, `"1s"`, `"2s"`, 1))
	if _, err := f.m.Replace(echoed, "1"); err != nil {
		t.Fatal(err)
	}
	stored := map[string]any{"url": hook + "?sig=s1", "accessKey": "AKIAEXAMPLE", "secretKey": "s3secret", "timeout": "2s"}
	f.checkStoredConfig("s", stored)

	// An access key left out keeps its value, like the secret key; a new
	// access key is taken.
	if _, err := f.m.UpdateDestination(UpdateInput{DeliveryStreamName: "s", CurrentDeliveryStreamVersionId: "2",
		SinkDestinationUpdate: &SinkDestination{Config: json.RawMessage(`{"url":"https://hooks.slack.com/services/****/****/****?sig=****","timeout":"3s"}`)}}); err != nil {
		t.Fatal(err)
	}
	stored["timeout"] = "3s"
	f.checkStoredConfig("s", stored)
	if _, err := f.m.UpdateDestination(UpdateInput{DeliveryStreamName: "s", CurrentDeliveryStreamVersionId: "3",
		SinkDestinationUpdate: &SinkDestination{Config: json.RawMessage(`{"url":"https://hooks.slack.com/services/T000/B000/NEWTOKEN","accessKey":"AKIANEW","timeout":"3s"}`)}}); err != nil {
		t.Fatal(err)
	}
	f.checkStoredConfig("s", map[string]any{"url": "https://hooks.slack.com/services/T000/B000/NEWTOKEN", "accessKey": "AKIANEW", "secretKey": "s3secret", "timeout": "3s"})

	// A masked webhook URL with no stored one behind it is refused.
	if _, err := f.m.Create(Definition{DeliveryStreamName: "copy", SinkDestination: &SinkDestination{Type: "fake", Config: json.RawMessage(`{"url":"https://hooks.slack.com/services/****/****/****"}`)}}); err == nil ||
		!strings.Contains(err.Error(), "SinkDestination.Config.url") || !strings.Contains(err.Error(), "no stored secret") {
		t.Errorf("a new delivery stream with a masked webhook URL: %v", err)
	}
}

func (f *fixture) checkStoredConfig(name string, want map[string]any) {
	f.t.Helper()
	d, err := f.m.Describe(name)
	if err != nil {
		f.t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(d.Definition.SinkDestination.Config, &got); err != nil {
		f.t.Fatal(err)
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		f.t.Errorf("stored config %s, want %s", g, w)
	}
}
