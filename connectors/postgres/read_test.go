package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kdaproject/kda/connectors/servicetest"
)

func TestReadRowsGivesEachRowAsAJSONArray(t *testing.T) {
	servicetest.Require(t, "PostgreSQL", pgAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var names []string
	var rows []string
	err := ReadRows(ctx, testDSN(), `SELECT 'AMZN'::text AS "Ticker", 42::int AS n, 1.50::numeric(5,2) AS price,
		TIMESTAMPTZ '2026-12-07 10:11:12.345+00' AS at, DATE '2026-12-07' AS day, TIME '10:11:12.5' AS t,
		'\x0aff'::bytea AS raw, '{"a":[1,2]}'::jsonb AS doc, NULL::text AS nothing, true AS yes,
		'0e5a1a43-7c08-4f8f-9b5e-2f2bd5a1e7f0'::uuid AS id, 'NaN'::float8 AS nan`,
		func(n []string) error { names = n; return nil },
		func(v []byte) error { rows = append(rows, string(v)); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names, ","); got != "Ticker,n,price,at,day,t,raw,doc,nothing,yes,id,nan" {
		t.Errorf("columns %s", got)
	}
	want := `["AMZN",42,1.50,"2026-12-07 10:11:12.345","2026-12-07","10:11:12.500","X'0aff'",{"a":[1,2]},null,true,"0e5a1a43-7c08-4f8f-9b5e-2f2bd5a1e7f0","NaN"]`
	if len(rows) != 1 || rows[0] != want {
		t.Errorf("rows %q, want [%s]", rows, want)
	}
}

func TestReadRowsIsReadOnly(t *testing.T) {
	servicetest.Require(t, "PostgreSQL", pgAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	table := testTable(t)
	err := ReadRows(ctx, testDSN(), "CREATE TABLE "+table+" (x int)",
		func([]string) error { return nil }, func([]byte) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("a statement that writes: %v, want a read-only transaction error", err)
	}
}
