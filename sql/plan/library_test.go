package plan

import (
	"strings"
	"testing"

	"github.com/kdaproject/kda/sql/dialect"
	"github.com/kdaproject/kda/sql/types"
)

func mustParse(t *testing.T, src string) *dialect.Program {
	t.Helper()
	prog, err := dialect.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

func TestLibraryFunctionsAreVisibleToTheApplication(t *testing.T) {
	lib := mustParse(t, `CREATE FUNCTION twice(x DOUBLE) RETURNS DOUBLE LANGUAGE JAVASCRIPT AS 'return x * 2;';
CREATE FUNCTION plus_one(x DOUBLE) RETURNS DOUBLE RETURN x + 1;`)
	app := mustParse(t, `CREATE STREAM O (y DOUBLE);
CREATE PUMP P AS INSERT INTO O SELECT STREAM plus_one(twice(v)) FROM S;`)
	in := []Input{{Name: "S", Schema: types.Schema{Fields: []types.Field{
		{Name: types.RowtimeName, Type: types.Type{Kind: types.Timestamp, NotNull: true}},
		{Name: "V", Type: types.TDouble},
	}}}}
	if _, err := Plan(app, in, Options{Library: []*dialect.Program{lib}}); err != nil {
		t.Fatalf("plan with the library: %v", err)
	}
	if _, err := Plan(app, in, Options{}); err == nil || !strings.Contains(err.Error(), "no function named TWICE") {
		t.Fatalf("without the library the call should be unknown, got %v", err)
	}
	// The application may redefine a library function only with OR REPLACE.
	redefine := mustParse(t, `CREATE FUNCTION twice(x DOUBLE) RETURNS DOUBLE RETURN x;`)
	_, err := Plan(redefine, in, Options{Library: []*dialect.Program{lib}})
	if err == nil || !strings.Contains(err.Error(), "already exists: use CREATE OR REPLACE FUNCTION") {
		t.Fatalf("redefinition: %v", err)
	}
	replace := mustParse(t, `CREATE OR REPLACE FUNCTION twice(x DOUBLE) RETURNS DOUBLE RETURN x;`)
	if _, err := Plan(replace, in, Options{Library: []*dialect.Program{lib}}); err != nil {
		t.Fatalf("CREATE OR REPLACE over a library function: %v", err)
	}
}

func TestLibraryErrorsPointIntoTheLibrary(t *testing.T) {
	lib := mustParse(t, "CREATE FUNCTION f(x DOUBLE) RETURNS DOUBLE RETURN x;\nCREATE STREAM O (y DOUBLE);")
	err := CheckLibrary(lib, Options{})
	if err == nil || !strings.Contains(err.Error(), "line 2, column 1: a function library holds only CREATE FUNCTION") ||
		!strings.Contains(err.Error(), "CREATE STREAM O (y DOUBLE);") {
		t.Fatalf("got %v", err)
	}
	bad := mustParse(t, "CREATE FUNCTION g(x DOUBLE) RETURNS DOUBLE LANGUAGE JAVASCRIPT AS $$\n  return x +;\n$$;")
	err = CheckLibrary(bad, Options{})
	if err == nil || !strings.Contains(err.Error(), "line 2, column 13: function G: JavaScript syntax error") {
		t.Fatalf("got %v", err)
	}
}
