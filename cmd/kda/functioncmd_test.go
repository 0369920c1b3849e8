package main

import (
	"encoding/json"
	"strings"
	"testing"

	kdaapp "github.com/kdaproject/kda/engine/app"
)

func TestFunctionCommandsManageTheCatalog(t *testing.T) {
	tg := target{name: "embedded", args: []string{"--data", t.TempDir(), "--no-limits"}}
	out := tg.ok(t, `CREATE FUNCTION fahrenheit(c DOUBLE) RETURNS DOUBLE LANGUAGE JAVASCRIPT AS 'return c * 9 / 5 + 32;';
CREATE AGGREGATE FUNCTION js_max(x DOUBLE) RETURNS DOUBLE LANGUAGE JAVASCRIPT AS $$
  ({ init: () => null, accumulate: (s, x) => s === null || x > s ? x : s, merge: (a, b) => a === null || b > a ? b : a, result: (s) => s })
$$;`, "function", "create", "-")
	if out != "Created scalar FAHRENHEIT (JAVASCRIPT).\nCreated aggregate JS_MAX (JAVASCRIPT).\n" {
		t.Fatalf("create: %q", out)
	}
	var list []kdaapp.FunctionInfo
	if err := json.Unmarshal([]byte(tg.ok(t, "", "function", "list", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "FAHRENHEIT" || !list[1].Aggregate {
		t.Fatalf("list: %+v", list)
	}
	if d := tg.ok(t, "", "function", "describe", "fahrenheit"); !strings.Contains(d, "return c * 9 / 5 + 32;") {
		t.Fatalf("describe: %s", d)
	}
	r := tg.run(t, "CREATE FUNCTION fahrenheit(c DOUBLE) RETURNS DOUBLE RETURN c;", "function", "create", "-")
	if r.code == 0 || !strings.Contains(r.stderr, "FAHRENHEIT: use CREATE OR REPLACE") {
		t.Fatalf("duplicate: exit %d, %s", r.code, r.stderr)
	}
	if got := tg.ok(t, "", "function", "delete", "js_max"); got != "Deleted function JS_MAX.\n" {
		t.Fatalf("delete: %q", got)
	}
	if r := tg.run(t, "", "function", "describe", "js_max"); r.code == 0 || !strings.Contains(r.stderr, "function not found: JS_MAX") {
		t.Fatalf("describe a deleted function: exit %d, %s", r.code, r.stderr)
	}
}
