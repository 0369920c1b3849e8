package restapi

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	kdaapp "github.com/kdaproject/kda/engine/app"
)

func TestReferenceTableRefreshRoutes(t *testing.T) {
	a := newAPI(t, Options{})
	a.must(t, "POST", "/v1/streams", `{"name":"in","shards":1}`, 201, nil)
	a.must(t, "POST", "/v1/streams", `{"name":"out","shards":1}`, 201, nil)
	file := filepath.Join(t.TempDir(), "companies.csv")
	if err := os.WriteFile(file, []byte("AMZN,Amazon\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	def := map[string]any{}
	if err := json.Unmarshal([]byte(appDef(countsSQL, `{"name":"OUT_S","stream":"out"}`)), &def); err != nil {
		t.Fatal(err)
	}
	def["referenceTables"] = []any{map[string]any{
		"name": "CompanyName", "source": map[string]any{"file": file},
		"schema": map[string]any{"recordFormat": map[string]any{"type": "CSV"}, "columns": []any{
			map[string]any{"name": "Ticker", "sqlType": "VARCHAR(8)"}, map[string]any{"name": "Company", "sqlType": "VARCHAR(32)"}}},
	}}
	body, _ := json.Marshal(def)
	var d kdaapp.Description
	a.must(t, "POST", "/v1/apps?start=true", string(body), 201, &d)
	if len(d.ReferenceTables) != 1 || d.ReferenceTables[0].Rows != 1 || d.ReferenceTables[0].Version != 1 {
		t.Fatalf("created: %+v", d.ReferenceTables)
	}

	if err := os.WriteFile(file, []byte("AMZN,Amazon\nMSFT,Microsoft\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out struct{ Tables []kdaapp.ReferenceTableStatus }
	a.must(t, "POST", "/v1/apps/counts/reference-tables/CompanyName/refresh", "", 200, &out)
	if len(out.Tables) != 1 || out.Tables[0].Rows != 2 || out.Tables[0].Version != 2 {
		t.Errorf("refreshed: %+v", out.Tables)
	}
	a.must(t, "POST", "/v1/apps/counts/reference-tables/refresh", "", 200, &out)
	if out.Tables[0].Version != 3 {
		t.Errorf("refreshed all: %+v", out.Tables)
	}

	if err := os.WriteFile(file, []byte("AMZN,\"Amazon\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a.wantError(t, "POST", "/v1/apps/counts/reference-tables/CompanyName/refresh", "", 422, CodeReferenceLoadFailed, "version 3 stays in use")
	a.must(t, "GET", "/v1/apps/counts", "", 200, &d)
	if s := d.ReferenceTables[0]; s.Rows != 2 || s.LastError == "" {
		t.Errorf("after a failed refresh: %+v", s)
	}
	a.wantError(t, "POST", "/v1/apps/counts/reference-tables/Nope/refresh", "", 404, "ResourceNotFoundException", "CompanyName")
	a.wantError(t, "POST", "/v1/apps/nope/reference-tables/refresh", "", 404, "ResourceNotFoundException", "nope")
	a.must(t, "POST", "/v1/apps/counts/stop", "", 200, nil)
	a.wantError(t, "POST", "/v1/apps/counts/reference-tables/refresh", "", 409, CodeNotRunning, "start it first")
}
