package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/internal/testproxy"
	"github.com/kdaproject/kda/connectors/servicetest"
)

const pgAddr = "127.0.0.1:5432"

// testDSN is the machine's PostgreSQL (trust auth, database test);
// KDA_TEST_POSTGRES_DSN overrides it.
func testDSN() string {
	if d := os.Getenv("KDA_TEST_POSTGRES_DSN"); d != "" {
		return d
	}
	return "postgres://root@" + pgAddr + "/test?sslmode=disable"
}

// testTable returns a table name unique to the test and drops the table
// when the test ends.
func testTable(t testing.TB) string {
	t.Helper()
	name := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "_"))
	if len(name) > 40 {
		name = name[:40]
	}
	name = fmt.Sprintf("kda_%s_%08x", name, rand.Uint32())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, testDSN())
		if err != nil {
			t.Errorf("drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	return name
}

// query runs sql on a fresh connection and returns every row as text.
func query(t testing.TB, sql string) [][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cc, err := pgx.ParseConfig(testDSN())
	if err != nil {
		t.Fatal(err)
	}
	cc.RuntimeParams["timezone"] = "UTC"
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals := rows.RawValues()
		row := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				row[i] = "NULL"
			} else {
				row[i] = string(v)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func open(t testing.TB, config string) *Sink {
	t.Helper()
	s, err := Open(context.Background(), json.RawMessage(config))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func recs(data ...string) []delivery.Record {
	out := make([]delivery.Record, len(data))
	for i, d := range data {
		out[i] = delivery.Record{Data: []byte(d), ID: fmt.Sprintf("r%d", i)}
	}
	return out
}

func tradesConfig(dsn, table string, key bool) string {
	k := ""
	if key {
		k = `"key": ["ticker", "minute"],`
	}
	return fmt.Sprintf(`{"dsn": %q, "table": %q, %s "createTable": true, "timeout": "5s",
		"columns": [{"name": "ticker", "type": "TEXT"}, {"name": "minute", "type": "TIMESTAMP"},
			{"name": "trades", "type": "BIGINT", "field": "TRADES"}]}`, dsn, table, k)
}

func TestInsertWithoutKeyAppendsEveryRecord(t *testing.T) {
	servicetest.Require(t, "PostgreSQL", pgAddr)
	table := testTable(t)
	s := open(t, tradesConfig(testDSN(), table, false))
	batch := recs(
		`{"TICKER":"AAPL","MINUTE":"2025-01-02 10:00:00.000","TRADES":3}`,
		`{"TICKER":"AAPL","MINUTE":"2025-01-02 10:00:00.000","TRADES":4}`,
		`{"TICKER":"MSFT","MINUTE":"2025-01-02 10:01:00.000","TRADES":5}`,
	)
	if err := s.Deliver(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(context.Background(), batch[:1]); err != nil {
		t.Fatal(err)
	}
	got := query(t, "SELECT ticker, minute, trades FROM "+table+" ORDER BY ticker, trades")
	want := [][]string{
		{"AAPL", "2025-01-02 10:00:00", "3"}, {"AAPL", "2025-01-02 10:00:00", "3"},
		{"AAPL", "2025-01-02 10:00:00", "4"}, {"MSFT", "2025-01-02 10:01:00", "5"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestUpsertKeepsTheLastRecordOfAKeyInAndAcrossBatches(t *testing.T) {
	servicetest.Require(t, "PostgreSQL", pgAddr)
	table := testTable(t)
	s := open(t, tradesConfig(testDSN(), table, true))
	ctx := context.Background()
	if err := s.Deliver(ctx, recs(
		`{"TICKER":"AAPL","MINUTE":"2025-01-02 10:00:00.000","TRADES":1}`,
		`{"TICKER":"MSFT","MINUTE":"2025-01-02 10:00:00.000","TRADES":7}`,
		`{"TICKER":"AAPL","MINUTE":"2025-01-02 10:00:00.000","TRADES":2}`, // replaces 1
		`{"TICKER":"AAPL","MINUTE":"2025-01-02 10:01:00.000","TRADES":9}`,
	)); err != nil {
		t.Fatal(err)
	}
	second := recs(
		`{"TICKER":"AAPL","MINUTE":"2025-01-02 10:00:00.000","TRADES":3}`, // replaces 2
		`{"TICKER":"IBM","MINUTE":"2025-01-02 10:00:00.000","TRADES":4}`,
		`{"TICKER":"IBM","MINUTE":"2025-01-02 10:00:00.000","TRADES":5}`,
	)
	for range 2 { // a redelivered batch changes nothing
		if err := s.Deliver(ctx, second); err != nil {
			t.Fatal(err)
		}
	}
	got := query(t, "SELECT ticker, minute, trades FROM "+table+" ORDER BY ticker, minute")
	want := [][]string{
		{"AAPL", "2025-01-02 10:00:00", "3"}, {"AAPL", "2025-01-02 10:01:00", "9"},
		{"IBM", "2025-01-02 10:00:00", "5"}, {"MSFT", "2025-01-02 10:00:00", "7"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestConvertsJSONValuesToColumnTypes(t *testing.T) {
	servicetest.Require(t, "PostgreSQL", pgAddr)
	table := testTable(t)
	s := open(t, fmt.Sprintf(`{"dsn": %q, "table": %q, "createTable": true, "columns": [
		{"name": "id", "type": "INTEGER"},
		{"name": "small", "type": "SMALLINT", "optional": true},
		{"name": "big", "type": "BIGINT", "optional": true},
		{"name": "price", "type": "DOUBLE PRECISION", "optional": true},
		{"name": "amount", "type": "NUMERIC(20,4)", "optional": true},
		{"name": "name", "type": "VARCHAR(20)", "optional": true},
		{"name": "flag", "type": "BOOLEAN", "optional": true},
		{"name": "at", "type": "TIMESTAMP", "optional": true},
		{"name": "attz", "type": "TIMESTAMPTZ", "optional": true},
		{"name": "day", "type": "DATE", "optional": true},
		{"name": "doc", "type": "JSONB", "optional": true},
		{"name": "raw", "type": "JSON", "optional": true}]}`, testDSN(), table))
	if err := s.Deliver(context.Background(), recs(
		`{"ID":1,"SMALL":-32768,"BIG":9223372036854775807,"PRICE":1.5e3,"AMOUNT":12345678901234.5678,"NAME":42,
		  "FLAG":true,"AT":"2025-01-02 10:00:00.123","ATTZ":"2025-01-02T12:00:00.5+02:00","DAY":"2025-01-02","DOC":{"a":[1,2]},"RAW":"x"}`,
		`{"id":2,"small":"7","big":"12","price":"2.25","amount":"0.1","name":{"k":1},
		  "flag":"false","at":1735812000000,"attz":"2025-01-02 10:00:00Z","day":"2025-01-02 23:59:59.000","doc":null,"raw":[true]}`,
		`{"ID":3,"BIG":3.0,"FLAG":1}`,
	)); err != nil {
		t.Fatal(err)
	}
	got := query(t, "SELECT * FROM "+table+" ORDER BY id")
	want := [][]string{
		{"1", "-32768", "9223372036854775807", "1500", "12345678901234.5678", "42", "t", "2025-01-02 10:00:00.123", "2025-01-02 10:00:00.5+00", "2025-01-02", `{"a": [1, 2]}`, `"x"`},
		{"2", "7", "12", "2.25", "0.1000", `{"k":1}`, "f", "2025-01-02 10:00:00", "2025-01-02 10:00:00+00", "2025-01-02", "NULL", "[true]"},
		{"3", "NULL", "3", "NULL", "NULL", "NULL", "t", "NULL", "NULL", "NULL", "NULL", "NULL"},
	}
	for i := range want {
		if i >= len(got) || fmt.Sprintf("%q", got[i]) != fmt.Sprintf("%q", want[i]) {
			t.Fatalf("row %d:\n got %q\nwant %q", i, got, want[i])
		}
	}
}

func TestRefusesABatchWithBadRecordsAndNamesThem(t *testing.T) {
	servicetest.Require(t, "PostgreSQL", pgAddr)
	table := testTable(t)
	s := open(t, tradesConfig(testDSN(), table, true))
	err := s.Deliver(context.Background(), recs(
		`{"TICKER":"AAPL","MINUTE":"2025-01-02 10:00:00.000","TRADES":1}`,
		`{"TICKER":"AAPL","TRADES":2}`,
		`[1,2]`,
		`{"TICKER":"AAPL","MINUTE":"2025-01-02 10:00:00.000","TRADES":1.5}`,
		`{"TICKER":null,"MINUTE":"2025-01-02 10:00:00.000","TRADES":1}`,
		`{"TICKER":"AAPL","MINUTE":"yesterday","TRADES":1}`,
	))
	var perm *delivery.Permanent
	var rej *delivery.RecordErrors
	if !errors.As(err, &perm) || !errors.As(err, &rej) {
		t.Fatalf("want a Permanent RecordErrors, got %v", err)
	}
	var idx []int
	for _, r := range rej.Records {
		idx = append(idx, r.Index)
	}
	if fmt.Sprint(idx) != "[1 2 3 4 5]" || rej.Total != 6 {
		t.Fatalf("refused %v of %d: %v", idx, rej.Total, err)
	}
	for _, want := range []string{"field minute (column minute) is not in the record", "not a JSON object", "1.5 is not an integer", "key column ticker) is null"} {
		if !strings.Contains(err.Error()+fmt.Sprint(rej.Records), want) {
			t.Errorf("%q is not in %v", want, rej.Records)
		}
	}
	if got := query(t, "SELECT count(*) FROM "+table); got[0][0] != "0" {
		t.Fatalf("a refused batch wrote %s rows", got[0][0])
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	// No server needed: these fail before connecting.
	for _, tc := range []struct{ config, want string }{
		{`{"dsn": "postgres://x/y", "table": "t", "columns": [{"name": "a"}], "colums": []}`, `unknown field "colums"`},
		{`{"table": "t", "columns": [{"name": "a"}]}`, "postgres: dsn: required"},
		{`{"dsn": "postgres://x/y", "columns": [{"name": "a"}]}`, "postgres: table: required"},
		{`{"dsn": "postgres://x/y", "table": "a.b.c", "columns": [{"name": "a"}]}`, "postgres: table:"},
		{`{"dsn": "postgres://x/y", "table": "t"}`, "postgres: columns: at least one"},
		{`{"dsn": "postgres://x/y", "table": "t", "columns": [{"name": "a"}, {"type": "TEXT"}]}`, "postgres: columns[1]: name: required"},
		{`{"dsn": "postgres://x/y", "table": "t", "columns": [{"name": "a"}, {"name": "a"}]}`, `postgres: columns[1]: "a" is also columns[0]`},
		{`{"dsn": "postgres://x/y", "table": "t", "columns": [{"name": "a", "type": "TEXT; DROP TABLE x"}]}`, "postgres: columns[0]: type:"},
		{`{"dsn": "postgres://x/y", "table": "t", "columns": [{"name": "a", "type": "UUID"}]}`, `postgres: columns[0]: type: "UUID" is not a supported type`},
		{`{"dsn": "postgres://x/y", "table": "t", "createTable": true, "columns": [{"name": "a"}]}`, "postgres: columns[0]: type: required with createTable"},
		{`{"dsn": "postgres://x/y", "table": "t", "columns": [{"name": "a"}, {"name": "id"}], "key": ["a", "ID"]}`, `postgres: key[1]: "ID" is not a column`},
		{`{"dsn": "postgres://x/y", "table": "t", "columns": [{"name": "a", "optional": true}], "key": ["a"]}`, `postgres: key[0]: "a" is optional`},
		{`{"dsn": "postgres://x/y", "table": "t", "columns": [{"name": "a"}], "batchSize": -1}`, "postgres: batchSize: -1"},
		{`{"dsn": "postgres://x/y", "table": "t", "columns": [{"name": "a"}], "timeout": "soon"}`, `postgres: timeout: "soon"`},
		{`{"dsn": "mysql://x", "table": "t", "columns": [{"name": "a"}]}`, "postgres: dsn:"},
	} {
		_, err := Open(context.Background(), json.RawMessage(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %q", tc.config, err, tc.want)
		}
	}
}

func TestOpenChecksTheTable(t *testing.T) {
	servicetest.Require(t, "PostgreSQL", pgAddr)
	table := testTable(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE "+table+" (id BIGINT, name TEXT, meta UUID)"); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf(`"dsn": %q, "table": %q`, testDSN(), table)
	for _, tc := range []struct{ config, want string }{
		{`{` + base + `, "columns": [{"name": "id"}, {"name": "nom"}]}`, `postgres: columns[1]: "nom" is not a column of table`},
		{`{` + base + `, "columns": [{"name": "id", "type": "TEXT"}]}`, `postgres: columns[0]: declared TEXT, but column "id"`},
		{`{` + base + `, "columns": [{"name": "meta"}]}`, `postgres: columns[0]: "meta" has type uuid`},
		{`{` + base + `, "columns": [{"name": "id"}], "key": ["id"]}`, "postgres: key:"},
		{fmt.Sprintf(`{"dsn": %q, "table": "kda_no_such_table", "columns": [{"name": "id"}]}`, testDSN()), "does not exist"},
	} {
		_, err := Open(ctx, json.RawMessage(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %q", tc.config, err, tc.want)
		}
	}
	// Without declared types the table's types rule.
	s := open(t, `{`+base+`, "columns": [{"name": "id"}, {"name": "name", "field": "N"}]}`)
	if err := s.Deliver(ctx, recs(`{"ID": "12", "n": 3.5}`)); err != nil {
		t.Fatal(err)
	}
	if got := query(t, "SELECT id, name FROM "+table); fmt.Sprint(got) != "[[12 3.5]]" {
		t.Fatalf("got %v", got)
	}
}

// batchOf returns records n*size ... n*size+size-1 of a keyed sequence:
// 50 tickers, each minute one record per ticker, TRADES = the sequence
// number, so that the expected table is easy to compute.
func batchOf(n, size int) []delivery.Record {
	out := make([]delivery.Record, size)
	for i := range out {
		seq := n*size + i
		out[i] = delivery.Record{
			ID: fmt.Sprint(seq),
			Data: fmt.Appendf(nil, `{"TICKER":"T%02d","MINUTE":"%s","TRADES":%d}`,
				seq%50, time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC).Add(time.Duration(seq/50)*time.Minute).Format("2006-01-02 15:04:05.000"), seq),
		}
	}
	return out
}

func TestOutageLosesNothingAndDuplicatesNothingWithAKey(t *testing.T) {
	servicetest.Require(t, "PostgreSQL", pgAddr)
	table := testTable(t)
	proxy := testproxy.Start(t, pgAddr)
	u, _ := url.Parse(testDSN())
	u.Host = proxy.Addr
	s := open(t, tradesConfig(u.String(), table, true))
	ctx := context.Background()
	const batches, size = 12, 500

	// deliver retries a batch the way the delivery worker does.
	deliver := func(n int) {
		t.Helper()
		for attempt := 0; ; attempt++ {
			err := s.Deliver(ctx, batchOf(n, size))
			if err == nil {
				return
			}
			if attempt == 50 {
				t.Fatalf("batch %d: still failing: %v", n, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for n := range 4 {
		deliver(n)
	}
	proxy.Cut()
	for n := 4; n < 6; n++ { // the outage: every attempt fails fast
		start := time.Now()
		if err := s.Deliver(ctx, batchOf(n, size)); err == nil {
			t.Fatalf("batch %d was delivered through a cut proxy", n)
		} else if errors.As(err, new(*delivery.Permanent)) {
			t.Fatalf("an outage is not permanent: %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Deliver took %v during the outage", d)
		}
	}
	proxy.Restore()
	deliver(4)
	deliver(3) // redelivered after a lost acknowledgement: harmless
	deliver(5)

	// A cut while a Deliver is in flight: it either commits or fails, and
	// the retry makes it right either way.
	done := make(chan error, 1)
	go func() { done <- s.Deliver(ctx, batchOf(6, size)) }()
	time.Sleep(2 * time.Millisecond)
	proxy.Cut()
	err := <-done
	t.Logf("Deliver cut in flight: %v", err)
	proxy.Restore()
	deliver(6)
	for n := 7; n < batches; n++ {
		deliver(n)
	}

	total := batches * size
	got := query(t, fmt.Sprintf("SELECT count(*), count(DISTINCT (ticker, minute)), sum(trades), min(trades), max(trades) FROM %s", table))
	want := []string{fmt.Sprint(total), fmt.Sprint(total), fmt.Sprint(total * (total - 1) / 2), "0", fmt.Sprint(total - 1)}
	if fmt.Sprint(got[0]) != fmt.Sprint(want) {
		t.Fatalf("count, keys, sum, min, max = %v, want %v", got[0], want)
	}
}

func TestConnectorRegistersAndItsExampleIsAValidConfig(t *testing.T) {
	r := delivery.NewRegistry()
	if err := r.Register(Connector()); err != nil {
		t.Fatal(err)
	}
	c, ok := r.Lookup("postgres")
	if !ok || c.Doc == "" {
		t.Fatalf("lookup: %v %+v", ok, c)
	}
	d := json.NewDecoder(strings.NewReader(string(c.Example)))
	d.DisallowUnknownFields()
	if err := d.Decode(new(Config)); err != nil {
		t.Fatalf("example: %v", err)
	}
}
