package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kdaproject/kda/connectors/kinesisapi"
	kdaapp "github.com/kdaproject/kda/engine/app"
)

// withApps gives the test server an application manager.
func withApps(t *testing.T) serverOpt {
	return func(c *serverConfig, _ *kinesisapi.Options) {
		m, err := kdaapp.NewManager(c.store, kdaapp.ManagerOptions{Heartbeat: 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		c.apps = m
		t.Cleanup(func() { m.Close() })
	}
}

func writeAppFiles(t *testing.T, sql string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "counts.sql"), []byte(sql), 0o644); err != nil {
		t.Fatal(err)
	}
	def := `name: counts
sqlFile: counts.sql
input:
  stream: in
  schema:
    recordFormat: {type: JSON}
    columns:
      - {name: K, sqlType: VARCHAR(8), mapping: $.k}
outputs:
  - {name: OUT_S, stream: out}
checkpointInterval: 20ms
`
	p := filepath.Join(dir, "counts.yaml")
	if err := os.WriteFile(p, []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const appSQL = `CREATE STREAM OUT_S (k VARCHAR(8), n BIGINT);
CREATE PUMP P AS INSERT INTO OUT_S
  SELECT STREAM k, COUNT(*) FROM SOURCE_SQL_STREAM_001
  GROUP BY k, STEP(SOURCE_SQL_STREAM_001.ROWTIME BY INTERVAL '1' SECOND);`

func TestAppCommandsDriveApplicationsOverSignedREST(t *testing.T) {
	ts := newTestServer(t, withKeys("test", "test"), withApps(t))
	tg := target{name: "remote", args: []string{"--endpoint", ts.url}}
	tg.ok(t, "", "stream", "create", "in", "--shards", "1")
	tg.ok(t, "", "stream", "create", "out", "--shards", "1")
	file := writeAppFiles(t, appSQL)

	out := tg.ok(t, "", "app", "create", file, "--start")
	for _, want := range []string{"Name:        counts", "Status:      RUNNING", "Version:     1", "Pump P: SOURCE_SQL_STREAM_001 -> OUT_S", "Tumbling window"} {
		if !strings.Contains(out, want) {
			t.Fatalf("create output lacks %q:\n%s", want, out)
		}
	}
	tg.ok(t, `{"k":"a"}`+"\n"+`{"k":"a"}`+"\n", "put", "in", "--json", "--key-field", "k")
	var d kdaapp.Description
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := json.Unmarshal([]byte(tg.ok(t, "", "app", "describe", "counts", "--output", "json")), &d); err != nil {
			t.Fatal(err)
		}
		if d.Delivered["OUT_S"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the window was not delivered: %+v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if rows := tg.ok(t, "", "tail", "out", "--output", "json"); !strings.Contains(rows, `\"N\":2`) {
		t.Fatalf("output stream: %s", rows)
	}

	if out := tg.ok(t, "", "app", "update", file); !strings.Contains(out, "Version:     2") || !strings.Contains(out, "RUNNING") {
		t.Fatalf("update:\n%s", out)
	}
	if out := tg.ok(t, "", "app", "stop", "counts"); !strings.Contains(out, "Status:      READY") {
		t.Fatalf("stop:\n%s", out)
	}
	if out := tg.ok(t, "", "app", "list"); !strings.Contains(out, "counts  READY") {
		t.Fatalf("list:\n%s", out)
	}
	if out := tg.ok(t, "", "app", "start", "counts", "--position", "NOW"); !strings.Contains(out, "RUNNING") {
		t.Fatalf("start:\n%s", out)
	}
	tg.ok(t, "", "app", "delete", "counts")
	if r := tg.run(t, "", "app", "describe", "counts"); r.code != 1 || !strings.Contains(r.stderr, `application not found: "counts"`) {
		t.Fatalf("describe after delete: %+v", r)
	}

	bad := writeAppFiles(t, "CREATE STREAM OUT_S (k VARCHAR(8));\nCREATE PUMP P AS INSERT INTO OUT_S SELECT STREAM nope FROM SOURCE_SQL_STREAM_001;")
	if r := tg.run(t, "", "app", "create", bad); r.code != 1 || !strings.Contains(r.stderr, "line 2") {
		t.Fatalf("bad SQL: %+v", r)
	}

	resp, err := http.Get(ts.url + "/v1/apps")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unsigned request: HTTP %d", resp.StatusCode)
	}
}

func TestAppCommandsEditADataDirectoryEmbedded(t *testing.T) {
	tg := target{name: "embedded", args: []string{"--data", t.TempDir(), "--no-limits"}}
	file := writeAppFiles(t, appSQL)
	tg.ok(t, "", "app", "create", file)
	tg.ok(t, "", "app", "start", "counts")
	var list []kdaapp.Description
	if err := json.Unmarshal([]byte(tg.ok(t, "", "app", "list", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Status != kdaapp.StatusRunning || list[0].Version != 1 {
		t.Fatalf("list: %+v", list)
	}
}

func TestAppCommandsAcceptASourceEmbedded(t *testing.T) {
	tg := target{name: "embedded", args: []string{"--data", t.TempDir(), "--no-limits"}}
	dir := t.TempDir()
	def := filepath.Join(dir, "clicks.yaml")
	if err := os.WriteFile(def, []byte(`name: clicks
sql: |
  CREATE STREAM O (v INTEGER);
  CREATE PUMP P AS INSERT INTO O SELECT STREAM v FROM SOURCE_SQL_STREAM_001;
input:
  source:
    kind: kafka
    config: {brokers: ["127.0.0.1:1"], topic: clicks}
  schema:
    recordFormat: {type: JSON}
    columns: [{name: V, sqlType: INTEGER, mapping: $.v}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := tg.ok(t, "", "app", "create", def); !strings.Contains(out, "kda-source-clicks") {
		t.Fatalf("create: %s", out)
	}
	bad := strings.Replace(mustRead(t, def), "kind: kafka", "kind: kafak", 1)
	if err := os.WriteFile(def, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := tg.run(t, "", "app", "update", def); r.code == 0 || !strings.Contains(r.stderr, `input.source.kind: "kafak" is not a source kind`) {
		t.Fatalf("a bad kind: exit %d %s", r.code, r.stderr)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
