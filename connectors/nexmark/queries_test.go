package nexmark

import (
	"strings"
	"testing"

	"github.com/kdaproject/kda/engine/app"
)

// compileQuery compiles q as an application over Nexmark records.
func compileQuery(q Query) (*app.Runtime, error) {
	def := app.Definition{Name: "nexmark-" + q.Name, SQL: q.SQL}
	def.Input.Schema = InputSchema(q.Kinds...)
	return app.Compile(def, nil)
}

// TestQueriesPlan compiles every query. A query that needs joins may fail
// until the planner has them; it must then fail on the join, which
// `kda bench nexmark` reports as "needs joins".
func TestQueriesPlan(t *testing.T) {
	for _, q := range Queries() {
		t.Run(q.Name, func(t *testing.T) {
			rt, err := compileQuery(q)
			if err != nil {
				if q.Joins && IsJoinUnsupported(err) {
					t.Logf("%s needs joins, not available yet: %v", q.Name, err)
					return
				}
				t.Fatalf("%s does not plan: %v\n%s", q.Name, err, q.SQL)
			}
			defer rt.Close()
			if _, ok := rt.StreamSchema(q.Output); !ok {
				t.Errorf("%s: no output stream %s", q.Name, q.Output)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	if q, err := Lookup("Q5"); err != nil || q.Name != "q5" {
		t.Errorf("Lookup(Q5) = %v, %v", q.Name, err)
	}
	if _, err := Lookup("q99"); err == nil || !strings.Contains(err.Error(), "q0, q1") {
		t.Errorf("Lookup(q99): %v", err)
	}
}
