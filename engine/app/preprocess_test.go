package app

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kdaproject/kda/operators/input"
	"github.com/kdaproject/kda/operators/pipeline"
)

// passSQL copies every input row to OUT_S.
const passSQL = `
CREATE STREAM OUT_S (k VARCHAR(8), v INTEGER);
CREATE PUMP P AS INSERT INTO OUT_S SELECT STREAM K, V FROM SOURCE_SQL_STREAM_001;`

func kvSchema() input.Schema {
	return input.Schema{RecordFormat: input.RecordFormat{Type: "JSON"}, Columns: []input.Column{
		{Name: "K", SQLType: "VARCHAR(8)", Mapping: "$.k"},
		{Name: "V", SQLType: "INTEGER", Mapping: "$.v"},
	}}
}

func intPtr(n int) *int { return &n }

// replayed runs recs through def and returns the rows of OUT_S and
// error_stream as JSON lines, with the runtime for its counters.
func replayed(t *testing.T, def Definition, recs []input.Record) (rows, errs []string, rt *Runtime) {
	t.Helper()
	rt, err := Compile(def, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	if rt.pre != nil {
		rt.pre.backoff = time.Millisecond
	}
	var out, errOut bytes.Buffer
	if err := rt.Subscribe("OUT_S", &JSONLines{W: &out}); err != nil {
		t.Fatal(err)
	}
	if err := rt.Subscribe(pipeline.ErrorStreamName, &JSONLines{W: &errOut}); err != nil {
		t.Fatal(err)
	}
	if err := rt.Replay(recs, ReplayOptions{}); err != nil {
		t.Fatal(err)
	}
	lines := func(b *bytes.Buffer) []string {
		if b.Len() == 0 {
			return nil
		}
		return strings.Split(strings.TrimSpace(b.String()), "\n")
	}
	return lines(&out), lines(&errOut), rt
}

func records(data ...string) []input.Record {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	recs := make([]input.Record, len(data))
	for i, d := range data {
		recs[i] = input.Record{Data: []byte(d), Rowtime: at, ArrivalTime: at, ShardID: "shardId-000000000000",
			PartitionKey: "p", SequenceNumber: "4900" + string(rune('0'+i))}
	}
	return recs
}

func TestPreprocessorHandlers(t *testing.T) {
	in := []string{`{"k":"a","v":1}`, `{"k":"b","v":2}`, `{"k":"c","v":3}`}
	cases := []struct {
		name    string
		handler string
		// rows are the K values that reach OUT_S; errs the error names
		// and a part of each message.
		rows                             string
		errs                             []string
		ok, dropped, failed, invocations uint64
	}{
		{name: "Ok passes the new data on",
			handler: `const o = JSON.parse(Buffer.from(r.data, 'base64').toString()); o.k = o.k.toUpperCase();
			return {recordId: r.recordId, result: 'Ok', data: Buffer.from(JSON.stringify(o)).toString('base64')};`,
			rows: "A B C", ok: 3, invocations: 1},
		{name: "Dropped records disappear and are counted",
			handler: `return {recordId: r.recordId, result: r.recordId === '1' ? 'Dropped' : 'Ok', data: r.data};`,
			rows:    "a c", ok: 2, dropped: 1, invocations: 1},
		{name: "ProcessingFailed records go to error_stream with their data",
			handler: `return {recordId: r.recordId, result: r.recordId === '0' ? 'ProcessingFailed' : 'Ok', data: r.data};`,
			rows:    "b c", errs: []string{`"PROCESSING_FAILED","MESSAGE":"the pre-processor answered ProcessingFailed","DATA_ROWTIME":"2026-03-01 10:00:00.000","DATA_ROW":"{\"k\":\"a\",\"v\":1}"`},
			ok: 2, failed: 1, invocations: 1},
		{name: "one Ok record may hold several rows",
			handler: `const o = JSON.parse(Buffer.from(r.data, 'base64').toString());
			return {recordId: r.recordId, result: 'Ok', data: Buffer.from(JSON.stringify(o) + '\n' + JSON.stringify({k: o.k + '2', v: 0}) + JSON.stringify({k: o.k + '3', v: 0})).toString('base64')};`,
			rows: "a a2 a3 b b2 b3 c c2 c3", ok: 3, invocations: 1},
	}
	batchCases := []struct {
		name, script string
		timeout      time.Duration
		want         string
	}{
		{"a lost recordId fails the whole batch", `exports.handler = (e) => ({records: e.records.slice(1).map(ok)});`, 0, "missing recordId 0"},
		{"an unknown recordId fails the whole batch", `exports.handler = (e) => ({records: e.records.map(ok).concat([{recordId: 'zz', result: 'Ok', data: ''}])});`, 0, "unknown recordId zz"},
		{"an exception fails the batch with its stack", "function check(r) { throw new TypeError('no schema for ' + r.recordId); }\nexports.handler = (e) => ({records: e.records.map(r => check(r))});",
			0, "input.preprocessor: TypeError: no schema for 0 (the batch of 3 records failed 2 attempts)\nat check (preprocessor.js:1:27)"},
		{"an endless loop is stopped by the timeout", `exports.handler = (e) => { for (;;) {} };`, 50 * time.Millisecond, "JavaScript call timed out (limit 50ms) (the batch of 3 records failed 2 attempts)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			def := Definition{Name: "pre", SQL: passSQL, Input: Input{Schema: kvSchema(), Preprocessor: &Processor{
				Script: "exports.handler = async (event) => ({records: event.records.map(r => {\n" + c.handler + "\n})});"}}}
			rows, errs, rt := replayed(t, def, records(in...))
			var ks []string
			for _, r := range rows {
				ks = append(ks, r[strings.Index(r, `"K":"`)+5:][:strings.Index(r[strings.Index(r, `"K":"`)+5:], `"`)])
			}
			if strings.Join(ks, " ") != c.rows {
				t.Errorf("rows %v, want K %s", rows, c.rows)
			}
			if len(errs) != len(c.errs) {
				t.Fatalf("error_stream %v, want %d rows", errs, len(c.errs))
			}
			for i, want := range c.errs {
				if !strings.Contains(errs[i], want) {
					t.Errorf("error_stream row %s\nwant it to contain %s", errs[i], want)
				}
			}
			got := rt.PreprocessorCounts()
			if want := (PreprocessorCounts{Invocations: c.invocations, Ok: c.ok, Dropped: c.dropped, Failed: c.failed}); got != want {
				t.Errorf("counts %+v, want %+v", got, want)
			}
		})
	}
	for _, c := range batchCases {
		t.Run(c.name, func(t *testing.T) {
			def := Definition{Name: "pre", SQL: passSQL, Input: Input{Schema: kvSchema(), Preprocessor: &Processor{
				Script: c.script + "\nfunction ok(r) { return {recordId: r.recordId, result: 'Ok', data: r.data}; }", Timeout: Duration{c.timeout}, MaxRetries: intPtr(1)}}}
			rows, errs, rt := replayed(t, def, records(in...))
			if len(rows) != 0 || len(errs) != 3 {
				t.Fatalf("rows %v, error_stream %v: want every record of the batch in error_stream", rows, errs)
			}
			for i, e := range errs {
				if !strings.Contains(e, `"ERROR_NAME":"PREPROCESSOR_ERROR"`) || !strings.Contains(e, strings.ReplaceAll(c.want, "\n", `\n`)) || !strings.Contains(e, `"DATA_ROW":"{\"k\":\"`+string(rune('a'+i))) {
					t.Errorf("error_stream row %s\nwant PREPROCESSOR_ERROR with %q and the record's data", e, c.want)
				}
			}
			if got := rt.PreprocessorCounts(); got.Invocations != 2 || got.Failed != 3 {
				t.Errorf("counts %+v: want 2 invocations (one retry) and 3 failed records", got)
			}
		})
	}
}

func TestPreprocessorInvokedPerBatch(t *testing.T) {
	var in []string
	for i := 0; i < 7; i++ {
		in = append(in, `{"k":"a","v":1}`)
	}
	def := Definition{Name: "pre", SQL: passSQL, Input: Input{Schema: kvSchema(), Preprocessor: &Processor{BatchSize: 3,
		Script: `exports.handler = (e) => ({records: e.records.map(r => ({recordId: r.recordId, result: 'Ok',
			data: Buffer.from(JSON.stringify({k: 'n' + e.records.length, v: r.kinesisStreamRecordMetadata.approximateArrivalTimestamp % 1000})).toString('base64')}))});`}}}
	rows, _, rt := replayed(t, def, records(in...))
	got := strings.Join(rows, "\n")
	if strings.Count(got, `"K":"n3"`) != 6 || strings.Count(got, `"K":"n1"`) != 1 || rt.PreprocessorCounts().Invocations != 3 {
		t.Fatalf("batches of 3, 3 and 1 expected:\n%s", got)
	}
}

// A pre-processor that unpacks gzip-compressed batches of JSON documents
// into rows the SQL aggregates.
const gunzipScript = `const zlib = require('zlib');
exports.handler = async (event) => ({
  records: event.records.map((r) => {
    try {
      const json = zlib.gunzipSync(Buffer.from(r.data, 'base64'));
      return { recordId: r.recordId, result: 'Ok', data: json.toString('base64') };
    } catch (e) {
      console.error('record ' + r.recordId + ': ' + e);
      return { recordId: r.recordId, result: 'ProcessingFailed' };
    }
  }),
});`

func gzipped(t testing.TB, s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func TestPreprocessorUnpacksGzipIntoRowsTheSQLAggregates(t *testing.T) {
	def := Definition{Name: "gz", SQL: `
CREATE STREAM OUT_S (k VARCHAR(8), n BIGINT, total BIGINT);
CREATE PUMP P AS INSERT INTO OUT_S
  SELECT STREAM k, COUNT(*), SUM(v) FROM SOURCE_SQL_STREAM_001
  GROUP BY k, STEP(SOURCE_SQL_STREAM_001.ROWTIME BY INTERVAL '10' SECOND);`,
		Input: Input{Schema: kvSchema(), Preprocessor: &Processor{Script: gunzipScript}}}
	recs := records(
		gzipped(t, `{"k":"a","v":1}`+"\n"+`{"k":"b","v":2}`+"\n"+`{"k":"a","v":3}`),
		gzipped(t, `{"k":"a","v":10}{"k":"b","v":20}`),
		"not gzip")
	rows, errs, _ := replayed(t, def, recs)
	want := `{"ROWTIME":"2026-03-01 10:00:10.000","K":"a","N":3,"TOTAL":14}` + "\n" + `{"ROWTIME":"2026-03-01 10:00:10.000","K":"b","N":2,"TOTAL":22}`
	if strings.Join(rows, "\n") != want {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(rows, "\n"), want)
	}
	if len(errs) != 1 || !strings.Contains(errs[0], `"ERROR_NAME":"PROCESSING_FAILED"`) || !strings.Contains(errs[0], `"DATA_ROW":"not gzip"`) {
		t.Fatalf("the record that is not gzip should go to error_stream: %v", errs)
	}
}

func TestPreprocessorDefinitionErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "decode.js"), []byte("exports.handler = (event) => {\n  return {records:\n    event.records.map(r => ({recordId: r.recordId,, result: 'Ok'}))};\n};\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := "name: a\nsql: \"CREATE STREAM OUT_S (k VARCHAR(8), v INTEGER);\"\ninput:\n  schema: {recordFormat: {type: JSON}, columns: [{name: K, sqlType: VARCHAR(8), mapping: $.k}]}\n"
	cases := []struct{ name, yaml, dir, want string }{
		{"a syntax error names the file, line and column", base + "  preprocessor: {scriptFile: decode.js}\n", dir,
			"input.preprocessor.scriptFile decode.js:3:53: JavaScript syntax error"},
		{"an inline syntax error names the field", base + "  preprocessor: {script: \"exports.handler = (e) => {\"}\n", dir,
			"input.preprocessor.script preprocessor.js:1:"},
		{"a missing script file", base + "  preprocessor: {scriptFile: nope.js}\n", dir, "input.preprocessor.scriptFile: open"},
		{"the server reads no script files", base + "  preprocessor: {scriptFile: decode.js}\n", "", "input.preprocessor.scriptFile: the server does not read files"},
		{"no script", base + "  preprocessor: {handler: h}\n", dir, "input.preprocessor: set script"},
		{"a bad batch size", base + "  preprocessor: {script: \"exports.handler = e => e\", batchSize: 20000}\n", dir, "input.preprocessor.batchSize: 20000 is not in 1..10000"},
		{"a bad handler name", base + "  preprocessor: {script: \"exports.handler = e => e\", handler: \"a.b\"}\n", dir, `input.preprocessor.handler: "a.b"`},
		{"a negative timeout", base + "  preprocessor: {script: \"exports.handler = e => e\", timeout: -1s}\n", dir, "input.preprocessor.timeout"},
		{"too many retries", base + "  preprocessor: {script: \"exports.handler = e => e\", maxRetries: 11}\n", dir, "input.preprocessor.maxRetries: 11"},
		{"a post-processor forwards to one place at most", base + "outputs: [{name: OUT_S, stream: s, file: f, postprocessor: {script: \"exports.handler = e => e\"}}]\n", dir,
			"outputs[0]: set at most one of stream and file"},
		{"a post-processor's syntax error", base + "outputs: [{name: OUT_S, postprocessor: {script: \"exports.handler = e =>\"}}]\n", dir,
			"outputs[0].postprocessor.script postprocessor.js:1:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			def, err := ParseDefinition([]byte(c.yaml), c.dir)
			if err == nil {
				err = def.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error with %q", err, c.want)
			}
		})
	}
	// A script that throws while it loads fails Compile.
	def := Definition{Name: "a", SQL: passSQL, Input: Input{Schema: kvSchema(), Preprocessor: &Processor{Script: "throw new Error('missing config');"}}}
	if _, err := Compile(def, nil); err == nil || !strings.Contains(err.Error(), "missing config") {
		t.Fatalf("load-time exception: %v", err)
	}
	// A script file is inlined; scriptFile keeps naming it.
	ok := base + "  preprocessor: {scriptFile: ok.js}\n"
	if err := os.WriteFile(filepath.Join(dir, "ok.js"), []byte(gunzipScript), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := ParseDefinition([]byte(ok), dir)
	if err != nil || d.Input.Preprocessor.Script != gunzipScript || d.Input.Preprocessor.Handler != "handler" ||
		d.Input.Preprocessor.Timeout.Duration != 5*time.Second || d.Input.Preprocessor.BatchSize != 1000 || *d.Input.Preprocessor.MaxRetries != 2 {
		t.Fatalf("got %+v, %v", d.Input.Preprocessor, err)
	}
}

func TestLivePreprocessorSurvivesRestarts(t *testing.T) {
	e := newLiveEnv(t)
	def := countDef("counts")
	def.Input.Preprocessor = &Processor{Script: gunzipScript}
	if _, err := e.m.Create(def); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Start("counts", ""); err != nil {
		t.Fatal(err)
	}
	e.put(gzipped(t, `{"k":"a","v":1}{"k":"a","v":2}`))
	e.consumed(1)
	if _, err := e.m.Stop("counts"); err != nil {
		t.Fatal(err)
	}
	e.put(gzipped(t, `{"k":"a","v":4}`))
	if _, err := e.m.Start("counts", ""); err != nil {
		t.Fatal(err)
	}
	e.consumed(2)
	e.clock.Add(10 * time.Second)
	e.waitOutput(`{"ROWTIME":"2026-03-01 10:00:10.000","K":"a","N":3,"TOTAL":7}`)
}

// TestDocumentedProcessorExamplesRun loads the definition and the two
// handlers of docs/javascript.md's section on processors and runs them.
func TestDocumentedProcessorExamplesRun(t *testing.T) {
	doc, err := os.ReadFile("../../docs/javascript.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(doc[bytes.Index(doc, []byte("## Pre-processors and post-processors")):])
	block := func(lang string, n int) string {
		parts := strings.Split(section, "```"+lang+"\n")
		if len(parts) <= n+1 {
			t.Fatalf("no %s block %d in the section", lang, n)
		}
		return parts[n+1][:strings.Index(parts[n+1], "```")]
	}
	dir := t.TempDir()
	for name, text := range map[string]string{
		"decode.js": block("js", 0), "notify.js": block("js", 1),
		"orders.sql": `CREATE STREAM DEST_SQL_STREAM (ticker VARCHAR(8), n BIGINT);
CREATE PUMP P AS INSERT INTO DEST_SQL_STREAM SELECT STREAM "ticker", COUNT(*) FROM SOURCE_SQL_STREAM_001
  GROUP BY "ticker", STEP(SOURCE_SQL_STREAM_001.ROWTIME BY INTERVAL '10' SECOND);`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	def, err := ParseDefinition([]byte(block("yaml", 0)), dir)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := Compile(def, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	var out, errOut bytes.Buffer
	rt.Subscribe("DEST_SQL_STREAM", &JSONLines{W: &out})
	rt.Subscribe(pipeline.ErrorStreamName, &JSONLines{W: &errOut})
	recs := records(gzipped(t, `{"ticker":"T1","price":1}`+"\n"+`{"ticker":"T1","price":2}`+"\n"+`{"note":"no price"}`),
		gzipped(t, `{"note":"no price"}`), "plain text")
	if err := rt.Replay(recs, ReplayOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != `{"ROWTIME":"2026-03-01 10:00:10.000","TICKER":"T1","N":2}` {
		t.Errorf("rows: %s", got)
	}
	if c := rt.PreprocessorCounts(); c.Ok != 1 || c.Dropped != 1 || c.Failed != 1 || !strings.Contains(errOut.String(), `"DATA_ROW":"plain text"`) {
		t.Errorf("counts %+v, error_stream %s", c, errOut.String())
	}
	got := rt.posts[0].deliver([][]byte{[]byte(`{"ROWTIME":"2026-03-01 10:00:10.000","TICKER":"T1","N":2}`)})
	if len(got) != 1 || !got[0].ok || string(got[0].data) != `{"symbol":"T1","trades":2,"at":"2026-03-01 10:00:10.000","attempt":0}` {
		t.Errorf("post-processor: %+v %s", got, got[0].data)
	}
}
