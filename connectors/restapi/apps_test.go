package restapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	kdaapp "github.com/kdaproject/kda/engine/app"
)

func appDef(sql string, outputs string) string {
	b, _ := json.Marshal(sql)
	return `{"name":"counts","sql":` + string(b) + `,"input":{"stream":"in","schema":` + querySchema + `},"outputs":[` + outputs + `],"checkpointInterval":"20ms"}`
}

const countsSQL = `CREATE STREAM OUT_S (K VARCHAR(8), N INTEGER);
CREATE PUMP P AS INSERT INTO OUT_S SELECT STREAM K, N FROM SOURCE_SQL_STREAM_001 WHERE N > 0;`

func TestAppRoutesLifecycleErrorsAndOperators(t *testing.T) {
	a := newAPI(t, Options{})
	a.must(t, "POST", "/v1/streams", `{"name":"in","shards":1}`, 201, nil)
	a.must(t, "POST", "/v1/streams", `{"name":"out","shards":1}`, 201, nil)
	var d kdaapp.Description
	a.must(t, "POST", "/v1/apps?start=true", appDef(countsSQL, `{"name":"OUT_S","stream":"out"},{"name":"OUT_S","file":"counts/out.json"}`), 201, &d)
	if d.Status != "RUNNING" || d.Version != 1 {
		t.Fatalf("created %+v", d)
	}
	// Two good rows, one filtered out, one that does not decode.
	a.must(t, "POST", "/v1/streams/in/records", `{"records":[
		{"partitionKey":"a","data":"{\"k\":\"a\",\"n\":1}"},{"partitionKey":"a","data":"{\"k\":\"b\",\"n\":2}"},
		{"partitionKey":"a","data":"{\"k\":\"c\",\"n\":0}"},{"partitionKey":"a","data":"not json"}]}`, 200, nil)
	var errs struct{ Rows []map[string]any }
	deadline := time.Now().Add(5 * time.Second)
	for {
		a.must(t, "GET", "/v1/apps/counts/errors?limit=5", "", 200, &errs)
		a.must(t, "GET", "/v1/apps/counts", "", 200, &d)
		if len(errs.Rows) == 1 && d.Delivered["OUT_S"] >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(errs.Rows) != 1 || !strings.Contains(errs.Rows[0]["DATA_ROW"].(string), "not json") {
		t.Errorf("error rows %v", errs.Rows)
	}
	if len(d.Operators) == 0 {
		t.Fatalf("no operators in %+v", d)
	}
	first, last := d.Operators[0], d.Operators[len(d.Operators)-1]
	if first.Pump != "P" || first.Index != 0 || first.RowsIn != 3 || last.RowsOut != 2 || first.Name == "" {
		t.Errorf("operators %+v", d.Operators)
	}

	var list []kdaapp.Description
	a.must(t, "GET", "/v1/apps", "", 200, &list)
	if len(list) != 1 || list[0].Name != "counts" {
		t.Errorf("list %+v", list)
	}
	a.must(t, "POST", "/v1/apps/counts/stop", "", 200, &d)
	if d.Status != "READY" {
		t.Errorf("stopped: %s", d.Status)
	}
	a.must(t, "PUT", "/v1/apps/counts", appDef(countsSQL, `{"name":"OUT_S","stream":"out"}`), 200, &d)
	if d.Version != 2 {
		t.Errorf("updated version %d", d.Version)
	}
	a.must(t, "POST", "/v1/apps/counts/start?position=TRIM_HORIZON", "", 200, &d)
	a.must(t, "DELETE", "/v1/apps/counts", "", 204, nil)
	a.wantError(t, "GET", "/v1/apps/counts", "", 404, "ResourceNotFoundException", "counts")
}

func TestAppRoutesRejectBadDefinitions(t *testing.T) {
	a := newAPI(t, Options{})
	a.must(t, "POST", "/v1/streams", `{"name":"in","shards":1}`, 201, nil)

	e := a.wantError(t, "POST", "/v1/apps", appDef("CREATE STREAM OUT_S (K VARCHAR(8));\nCREATE PUMP P AS INSERT INTO OUT_S\n  SELECT STREAM NOPE FROM SOURCE_SQL_STREAM_001;", ""),
		400, CodeSQLError, "NOPE")
	if e.Line != 3 || e.Column < 1 {
		t.Errorf("SQL error at line %d column %d, want line 3", e.Line, e.Column)
	}
	a.wantError(t, "POST", "/v1/apps", `{"name":"x","sqlFile":"/etc/passwd","input":{"stream":"in","schema":`+querySchema+`}}`,
		400, "InvalidArgumentException", "sqlFile")
	for _, file := range []string{"/tmp/out.json", "../../escape.json"} {
		a.wantError(t, "POST", "/v1/apps", appDef(countsSQL, `{"name":"OUT_S","file":"`+file+`"}`), 400, "InvalidArgumentException", "outputs[0].file")
	}
	a.wantError(t, "POST", "/v1/apps", `{"name":`, 400, "InvalidArgumentException")
	a.wantError(t, "GET", "/v1/apps/nope", "", 404, "ResourceNotFoundException", "nope")
	a.wantError(t, "POST", "/v1/apps/nope/start", "", 404, "ResourceNotFoundException", "nope")
	a.wantError(t, "GET", "/v1/apps/nope/errors", "", 404, "ResourceNotFoundException", "nope")
	a.wantError(t, "POST", "/v1/apps/nope/frobnicate", "", 404, CodeNotFound)
	a.must(t, "POST", "/v1/apps", appDef(countsSQL, ""), 201, nil)
	a.wantError(t, "POST", "/v1/apps", appDef(countsSQL, ""), 409, "ResourceInUseException", "counts")
	a.wantError(t, "GET", "/v1/apps/counts/errors?limit=1000", "", 400, "InvalidArgumentException", "limit")
	var errs struct{ Rows []any }
	a.must(t, "GET", "/v1/apps/counts/errors", "", 200, &errs)
	if errs.Rows == nil || len(errs.Rows) != 0 {
		t.Errorf("a stopped application's errors: %v", errs.Rows)
	}
}

func TestTokenAuthAndClosedCORS(t *testing.T) {
	a := newAPI(t, Options{Token: "s3cret"})
	a.must(t, "GET", "/v1/streams", "", 200, nil)
	for name, header := range map[string]string{"no header": "", "wrong token": "Bearer nope", "basic auth": "Basic czNjcmV0"} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", a.srv.URL+"/v1/streams", nil)
			if header != "" {
				req.Header.Set("Authorization", header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e errorBody
			if resp.StatusCode != 401 || json.NewDecoder(resp.Body).Decode(&e) != nil || e.Error.Code != CodeUnauthorized {
				t.Errorf("%d %+v, want a JSON 401", resp.StatusCode, e)
			}
		})
	}
	req, _ := http.NewRequest("OPTIONS", a.srv.URL+"/v1/streams", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("preflight = %d, want 405", resp.StatusCode)
	}
	for k := range resp.Header {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Errorf("CORS header %s sent", k)
		}
	}
}

func TestPanicIsA500(t *testing.T) {
	s := &server{deps: Deps{Logger: discardLogger()}}
	h := s.recoverer(func(http.ResponseWriter, *http.Request) { panic("boom") })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/x", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), CodeInternal) {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

// TestOpenAPIDocumentsEveryRoute walks the route table the handler is built
// from: every route must be in openapi.json and answer (not the fallback
// 404 or a 405), and every documented operation must be a route.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	a := newAPI(t, Options{})
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	a.must(t, "GET", "/v1/openapi.json", "", 200, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.0") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method != "parameters" {
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	served := map[string]bool{}
	s := &server{}
	for _, rt := range s.routeTable() {
		key := rt.method + " " + rt.pattern
		served[key] = true
		if !documented[key] {
			t.Errorf("%s is served but not in openapi.json", key)
		}
		// The route answers: it is registered with the mux under this method.
		path := strings.NewReplacer("{name}", "zz", "{consumer}", "c").Replace(rt.pattern)
		code, body := a.call(t, rt.method, path, "{}")
		var e errorBody
		_ = json.Unmarshal([]byte(body), &e)
		if code == 405 || (code == 404 && e.Error.Code == CodeNotFound && strings.Contains(e.Error.Message, "no route")) {
			t.Errorf("%s: not served: %d %s", key, code, body)
		}
	}
	for key := range documented {
		if !served[key] {
			t.Errorf("%s is in openapi.json but not served", key)
		}
	}
}
