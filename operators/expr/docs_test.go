package expr

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestEveryFunctionIsDocumented keeps docs/sql.md honest: every function of
// the built-in registry must appear there in backquotes. Operators and the
// internal names the dialect rewrites to (KDA_*, IS_*) are documented by
// their SQL syntax instead.
func TestEveryFunctionIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/sql.md")
	if err != nil {
		t.Fatal(err)
	}
	ident := regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	for _, f := range Functions() {
		n := f.Name
		if !ident.MatchString(n) || strings.HasPrefix(n, "KDA_") || strings.HasPrefix(n, "IS_") {
			continue
		}
		switch n {
		case "AND", "OR", "NOT", "NEG", "IN", "BETWEEN", "LIKE", "SIMILAR_TO", "CAST":
			continue // operators, documented by their syntax
		}
		if !strings.Contains(string(doc), "`"+n+"`") && !strings.Contains(string(doc), "`"+n+"(") && !strings.Contains(string(doc), "`"+n+"/") && !strings.Contains(string(doc), "/`"+n+"`") {
			t.Errorf("function %s is not in docs/sql.md", n)
		}
	}
}
