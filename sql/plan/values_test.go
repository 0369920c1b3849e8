package plan

import (
	"strings"
	"testing"

	"github.com/kdaproject/kda/sql/dialect"
)

// valuesFirst rewrites the query's nodes in place; planning the same
// parsed program again must give the same plan.
func TestVALUESBeforeTheStreamPlansAlikeEveryTime(t *testing.T) {
	tests := []struct{ name, sql, explain, schema string }{
		{"JOIN and *", `SELECT STREAM * FROM (VALUES ('MSFT', 1)) AS v(t, n) JOIN SOURCE_SQL_STREAM_001 AS s ON s.ticker = v.t`,
			"Reference join INNER", "ROWTIME, T, N, TICKER, PRICE"},
		{"RIGHT JOIN", `SELECT STREAM s.price, v.n FROM (VALUES ('MSFT', 1)) AS v(t, n) RIGHT JOIN SOURCE_SQL_STREAM_001 AS s ON s.ticker = v.t`,
			"Reference join LEFT", "ROWTIME, PRICE, N"},
		{"a FROM list", `SELECT STREAM * FROM (VALUES ('MSFT', 1)) AS v(t, n), SOURCE_SQL_STREAM_001 WHERE ticker = v.t`,
			"Reference join INNER", "ROWTIME, T, N, TICKER, PRICE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog, err := dialect.Parse(tt.sql)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ {
				app, err := Plan(prog, []Input{refTestInput}, Options{})
				if err != nil {
					t.Fatalf("plan %d: %v", i+1, err)
				}
				p := app.Previews[0]
				if p.Source != "SOURCE_SQL_STREAM_001" || !strings.HasPrefix(p.Explain[0], tt.explain) {
					t.Errorf("plan %d: source %s, explain %q", i+1, p.Source, p.Explain)
				}
				var names []string
				for _, f := range p.Schema.Fields {
					names = append(names, f.Name)
				}
				if got := strings.Join(names, ", "); got != tt.schema {
					t.Errorf("plan %d: columns %s, want %s", i+1, got, tt.schema)
				}
			}
		})
	}
}
