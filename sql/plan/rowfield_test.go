package plan

import (
	"testing"

	"github.com/kdaproject/kda/sql/dialect"
)

func TestInsideLiteral(t *testing.T) {
	at := dialect.Pos{Offset: 5, Line: 1, Col: 6}
	tests := []struct {
		name, src, text string
		off, col        int
	}{
		{"moves to the construct", `f(x, '(a)\1')`, `(a)\1`, 3, 10},
		{"counts characters, not bytes", `f(x, 'é(?=a)')`, `é(?=a)`, 2, 8},
		{"stays when a doubled quote comes before", `f(x, 'it''s(?=a)')`, `it's(?=a)`, 4, 6},
		{"stays when the source is not the literal", `f(x, y)`, `(?=a)`, 0, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := insideLiteral(tt.src, at, tt.text, tt.off); got.Col != tt.col {
				t.Errorf("column %d, want %d", got.Col, tt.col)
			}
		})
	}
}
