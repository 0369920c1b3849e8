package app

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// scaledDef is countDef with SUM over a catalog function.
func scaledDef(name string) Definition {
	d := countDef(name)
	d.SQL = strings.Replace(countSQL, "SUM(v)", "SUM(triple(v))", 1)
	return d
}

func TestFunctionCatalogFeedsApplications(t *testing.T) {
	e := newLiveEnv(t)
	if _, err := e.m.Create(scaledDef("counts")); err == nil || !strings.Contains(err.Error(), "no function named TRIPLE") {
		t.Fatalf("without the function the application should not compile: %v", err)
	}
	fns, err := e.m.CreateFunctions(`
CREATE FUNCTION triple(x INTEGER) RETURNS INTEGER LANGUAGE JAVASCRIPT AS 'return x * 3;';
CREATE AGGREGATE FUNCTION js_sum(x DOUBLE) RETURNS DOUBLE LANGUAGE JAVASCRIPT AS $$
  ({ init: () => 0, accumulate: (s, x) => s + x, merge: (a, b) => a + b, result: (s) => s })
$$;`)
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) != 2 || fns[0].Name != "TRIPLE" || fns[0].Language != "JAVASCRIPT" || !fns[1].Aggregate ||
		!strings.HasPrefix(fns[0].SQL, "CREATE FUNCTION triple") || !strings.HasSuffix(fns[0].SQL, "'return x * 3;';") {
		t.Fatalf("created: %+v", fns)
	}
	if _, err := e.m.CreateFunctions(`CREATE FUNCTION triple(x INTEGER) RETURNS INTEGER RETURN x;`); !errors.Is(err, ErrFunctionExists) {
		t.Fatalf("a second CREATE without OR REPLACE: %v", err)
	}
	if _, err := e.m.Create(scaledDef("counts")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Start("counts", ""); err != nil {
		t.Fatal(err)
	}
	e.put(`{"k":"a","v":1}`, `{"k":"a","v":2}`)
	e.consumed(2)
	e.clock.Add(20e9)
	e.waitOutput(`{"ROWTIME":"2026-03-01 10:00:10.000","K":"a","N":2,"TOTAL":9}`)

	// The application needs TRIPLE: it cannot be deleted.
	if err := e.m.DeleteFunction("triple"); !errors.Is(err, ErrFunctionInUse) || !strings.Contains(err.Error(), "application counts needs it") {
		t.Fatalf("delete a function in use: %v", err)
	}
	// The catalog survives a restart of the manager.
	e.m.Close()
	e.open()
	if got := e.m.Functions(); len(got) != 2 || got[0].Name != "JS_SUM" || got[1].Name != "TRIPLE" {
		t.Fatalf("after reopening: %+v", got)
	}
	if err := e.m.DeleteFunction("js_sum"); err != nil {
		t.Fatalf("delete an unused function: %v", err)
	}
	if _, err := e.m.Function("js_sum"); !errors.Is(err, ErrFunctionNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestFunctionCatalogKeepsCreationOrder(t *testing.T) {
	e := newLiveEnv(t)
	if _, err := e.m.CreateFunctions(`CREATE FUNCTION base(x INTEGER) RETURNS INTEGER RETURN x + 1;`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.CreateFunctions(`CREATE FUNCTION twice_base(x INTEGER) RETURNS INTEGER RETURN base(x) * 2;`); err != nil {
		t.Fatal(err)
	}
	// Replacing BASE keeps its place before TWICE_BASE, which calls it.
	if _, err := e.m.CreateFunctions(`CREATE OR REPLACE FUNCTION base(x INTEGER) RETURNS INTEGER RETURN x + 10;`); err != nil {
		t.Fatalf("replace a function another one calls: %v", err)
	}
	if err := e.m.DeleteFunction("BASE"); !errors.Is(err, ErrFunctionInUse) || !strings.Contains(err.Error(), "another catalog function needs it") {
		t.Fatalf("delete a function another one calls: %v", err)
	}
	_, err := e.m.CreateFunctions("CREATE FUNCTION bad(x DOUBLE) RETURNS DOUBLE LANGUAGE JAVASCRIPT AS $$\n  return x +;\n$$;")
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "line 2, column 13") {
		t.Fatalf("a syntax error: %v", err)
	}
	if _, err := e.m.CreateFunctions(`CREATE STREAM S (x INTEGER);`); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a stream in the catalog: %v", err)
	}
}

func TestDefinitionFunctionsFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "lib.sql"), []byte(`CREATE FUNCTION triple(x INTEGER) RETURNS INTEGER LANGUAGE JAVASCRIPT AS 'return x * 3;';`), 0o644); err != nil {
		t.Fatal(err)
	}
	def, err := ParseDefinition([]byte(`
name: scaled
functionsFile: lib.sql
sql: |
  CREATE STREAM O (y INTEGER);
  CREATE PUMP P AS INSERT INTO O SELECT STREAM triple(v) FROM SOURCE_SQL_STREAM_001;
input:
  schema:
    recordFormat: {type: JSON}
    columns: [{name: V, sqlType: INTEGER, mapping: $.v}]
`), dir)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := Compile(def, nil)
	if err != nil {
		t.Fatalf("compile with the functions file: %v", err)
	}
	rt.Close()
	if _, err := ParseDefinition([]byte("name: x\nfunctionsFile: lib.sql\nsql: SELECT 1\n"), ""); err == nil || !strings.Contains(err.Error(), "must carry the functions' SQL") {
		t.Fatalf("a server definition naming a file: %v", err)
	}
}
