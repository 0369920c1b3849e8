package restapi

import (
	"encoding/json"
	"testing"

	kdaapp "github.com/kdaproject/kda/engine/app"
)

func TestFunctionRoutesFeedApplicationsAndQueries(t *testing.T) {
	a := newAPI(t, Options{})
	a.must(t, "POST", "/v1/streams", `{"name":"in","shards":1}`, 201, nil)
	a.must(t, "POST", "/v1/streams", `{"name":"out","shards":1}`, 201, nil)
	var fns []kdaapp.FunctionInfo
	a.must(t, "POST", "/v1/functions", `CREATE FUNCTION tenfold(n INTEGER) RETURNS INTEGER LANGUAGE JAVASCRIPT AS 'return n * 10;';`, 201, &fns)
	if len(fns) != 1 || fns[0].Name != "TENFOLD" || fns[0].Language != "JAVASCRIPT" {
		t.Fatalf("created %+v", fns)
	}
	body, _ := json.Marshal(map[string]string{"sql": "CREATE FUNCTION half(n INTEGER) RETURNS INTEGER RETURN n / 2;"})
	a.must(t, "POST", "/v1/functions", string(body), 201, nil)
	a.wantError(t, "POST", "/v1/functions", `CREATE FUNCTION half(n INTEGER) RETURNS INTEGER RETURN n;`, 409, "ResourceInUseException", "HALF", "CREATE OR REPLACE")
	d := a.wantError(t, "POST", "/v1/functions", "CREATE FUNCTION bad(n INTEGER) RETURNS INTEGER LANGUAGE JAVASCRIPT AS $$\n  return n +;\n$$", 400, CodeSQLError, "JavaScript syntax error")
	if d.Line != 2 || d.Column != 13 {
		t.Errorf("syntax error at %d:%d, want 2:13", d.Line, d.Column)
	}
	var list []kdaapp.FunctionInfo
	a.must(t, "GET", "/v1/functions", "", 200, &list)
	if len(list) != 2 || list[0].Name != "HALF" || list[1].Name != "TENFOLD" {
		t.Fatalf("list %+v", list)
	}

	// A console query sees the catalog.
	putJSON(t, a, "in", 3)
	code, evs := a.query(t, `{"sql":"SELECT STREAM TENFOLD(N) AS T FROM SOURCE_SQL_STREAM_001","stream":"in","from":"TRIM_HORIZON","maxRows":3,"schema":`+querySchema+`}`, nil)
	rows := rowsOf(t, evs, "PREVIEW")
	if code != 200 || len(rows) != 3 {
		t.Fatalf("query events %v", evs)
	}
	for i, r := range rows { // putJSON wrote n = 0, 1, 2 to one shard
		if r["T"].(float64) != float64(10*i) {
			t.Errorf("row %d: %v, want T = %d", i, r, 10*i)
		}
	}

	// An application uses a catalog function, which then cannot go.
	a.must(t, "POST", "/v1/apps", appDef("CREATE STREAM OUT_S (K VARCHAR(8), T INTEGER);\nCREATE PUMP P AS INSERT INTO OUT_S SELECT STREAM K, TENFOLD(N) FROM SOURCE_SQL_STREAM_001;", `{"name":"OUT_S","stream":"out"}`), 201, nil)
	a.wantError(t, "DELETE", "/v1/functions/tenfold", "", 409, "ResourceInUseException", "application counts needs it")
	a.must(t, "DELETE", "/v1/functions/half", "", 204, nil)
	a.wantError(t, "GET", "/v1/functions/half", "", 404, "ResourceNotFoundException", "HALF")
	var f kdaapp.FunctionInfo
	a.must(t, "GET", "/v1/functions/TenFold", "", 200, &f)
	if f.SQL != `CREATE FUNCTION tenfold(n INTEGER) RETURNS INTEGER LANGUAGE JAVASCRIPT AS 'return n * 10;';` {
		t.Errorf("describe: %+v", f)
	}
}
