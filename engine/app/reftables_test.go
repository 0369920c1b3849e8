package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/kdaproject/kda/connectors/directory"
	"github.com/kdaproject/kda/connectors/servicetest"
	"github.com/kdaproject/kda/operators/input"
	"github.com/kdaproject/kda/operators/reftable"
)

// companySchema is the schema of the company-name tables of these tests.
func companySchema(format string) input.Schema {
	return input.Schema{RecordFormat: input.RecordFormat{Type: format}, Columns: []input.Column{
		{Name: "Ticker", SQLType: "VARCHAR(8)", Mapping: "$.ticker"},
		{Name: "Company", SQLType: "VARCHAR(64)", Mapping: "$.company"},
	}}
}

// snapshotRows renders a table's current rows as "col|col" lines.
func snapshotRows(t *testing.T, tab *reftable.Table) []string {
	t.Helper()
	s := tab.Current()
	if s == nil {
		t.Fatalf("table %s has no snapshot", tab.Name())
	}
	return recordRows(s.Rows)
}

func recordRows(rec arrow.Record) []string {
	var out []string
	for r := 0; r < int(rec.NumRows()); r++ {
		var cells []string
		for c := 0; c < int(rec.NumCols()); c++ {
			cells = append(cells, rec.Column(c).ValueStr(r))
		}
		out = append(out, strings.Join(cells, "|"))
	}
	return out
}

func TestReferenceTableDefinitionErrorsNameTheField(t *testing.T) {
	base := func(mod func(*ReferenceTable)) Definition {
		d := countDef("counts")
		rt := ReferenceTable{Name: "CompanyName", Source: ReferenceSource{File: "companies.csv"}, Schema: companySchema("CSV")}
		mod(&rt)
		d.ReferenceTables = []ReferenceTable{rt}
		return d.WithDefaults()
	}
	tests := []struct {
		name string
		mod  func(*ReferenceTable)
		want string
	}{
		{"a table needs a name", func(r *ReferenceTable) { r.Name = "" }, "referenceTables[0].name:"},
		{"a name is an SQL identifier", func(r *ReferenceTable) { r.Name = "company names" }, "referenceTables[0].name:"},
		{"a source is needed", func(r *ReferenceTable) { r.Source = ReferenceSource{} }, "referenceTables[0].source: set exactly one of file, s3 and postgres"},
		{"only one source", func(r *ReferenceTable) { r.Source.S3 = &S3Source{Bucket: "b", Key: "k"} }, "referenceTables[0].source: set exactly one"},
		{"an s3 source needs a key", func(r *ReferenceTable) { r.Source = ReferenceSource{S3: &S3Source{Bucket: "b"}} }, "referenceTables[0].source.s3.key: missing"},
		{"a postgres source needs a query", func(r *ReferenceTable) {
			r.Source = ReferenceSource{Postgres: &PostgresSource{DSN: "postgres://x@y/z"}}
		}, "referenceTables[0].source.postgres.query: missing"},
		{"the schema is checked", func(r *ReferenceTable) { r.Schema.Columns[1].SQLType = "VARCHAR(" }, "referenceTables[0].schema: input schema: columns[1].sqlType"},
		{"JSON columns need a mapping", func(r *ReferenceTable) {
			r.Schema = companySchema("JSON")
			r.Schema.Columns[0].Mapping = ""
		}, "referenceTables[0].schema: input schema: columns[0].mapping: missing"},
		{"refresh is at least a second", func(r *ReferenceTable) { r.Refresh = Duration{time.Millisecond} }, "referenceTables[0].refresh: 1ms"},
		{"maxBadRows is not negative", func(r *ReferenceTable) { r.MaxBadRows = -1 }, "referenceTables[0].maxBadRows"},
		{"only CSV has a header", func(r *ReferenceTable) { r.Schema = companySchema("JSON"); r.SkipHeader = true }, "referenceTables[0].skipHeader"},
		{"a table is not named like an input stream", func(r *ReferenceTable) { r.Name = "source_sql_stream_001" }, "is the name of an input stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := base(tt.mod).Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate: %v, want an error containing %q", err, tt.want)
			}
		})
	}
	d := base(func(*ReferenceTable) {})
	d.ReferenceTables = append(d.ReferenceTables, d.ReferenceTables[0])
	d.ReferenceTables[1].Name = "COMPANYNAME"
	if err := d.Validate(); err == nil || !strings.Contains(err.Error(), "referenceTables[1].name") {
		t.Errorf("two tables named alike: %v", err)
	}
	if err := base(func(*ReferenceTable) {}).Validate(); err != nil {
		t.Errorf("a valid table: %v", err)
	}
}

func TestAReferenceTableLoadsFromAFileBesideTheDefinition(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "data", "companies.json"), `[{"ticker": "AMZN", "company": "Amazon"},
 {"ticker": "MSFT", "company": "Microsoft"}]`)
	write(t, filepath.Join(dir, "app.yaml"), `
name: tickers
sql: |
  CREATE STREAM OUT_S (t VARCHAR(8));
  CREATE PUMP P AS INSERT INTO OUT_S SELECT STREAM T FROM SOURCE_SQL_STREAM_001;
input:
  schema:
    recordFormat: {type: JSON}
    columns: [{name: T, sqlType: VARCHAR(8), mapping: $.t}]
referenceTables:
  - name: CompanyName
    source: {file: data/companies.json}
    refresh: 5m
    schema:
      recordFormat: {type: JSON}
      columns:
        - {name: Ticker, sqlType: VARCHAR(8), mapping: $.ticker}
        - {name: Company, sqlType: VARCHAR(64), mapping: $.company}
`)
	b, _ := os.ReadFile(filepath.Join(dir, "app.yaml"))
	def, err := ParseDefinition(b, filepath.Join(dir))
	if err != nil {
		t.Fatal(err)
	}
	if def.ReferenceTables[0].Refresh.Duration != 5*time.Minute {
		t.Errorf("refresh %s", def.ReferenceTables[0].Refresh)
	}
	rt, err := Compile(def, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	tab := rt.ReferenceTables()["CompanyName"]
	if tab == nil || tab.Current() != nil {
		t.Fatalf("before loading: table %v, want an empty table", tab)
	}
	if got := fmt.Sprint(tab.Schema().Fields); !strings.Contains(got, "Ticker") || strings.Contains(got, "ROWTIME") {
		t.Errorf("table schema %s", got)
	}
	if err := rt.LoadReferenceTables(context.Background(), ReferenceOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(snapshotRows(t, tab), ","); got != "AMZN|Amazon,MSFT|Microsoft" {
		t.Errorf("rows %s", got)
	}
	if s := tab.Current(); s.Version != 1 || !strings.HasSuffix(s.Source, "data/companies.json") {
		t.Errorf("snapshot version %d source %q", s.Version, s.Source)
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// refEnv is a live environment whose manager reads reference files under
// dir and s3 objects from a directory store under objects.
type refEnv struct {
	*liveEnv
	dir     string
	objects *directory.Store
}

func newRefEnv(t *testing.T) *refEnv {
	e := &refEnv{liveEnv: newLiveEnv(t), dir: t.TempDir()}
	var err error
	if e.objects, err = directory.Open(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	e.m.Close()
	m, err := NewManager(e.st, ManagerOptions{Now: e.clock.Now, Heartbeat: 2 * time.Millisecond, RetryInterval: time.Hour,
		ReferenceDir: e.dir, Objects: e.objects})
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	return e
}

func refDef(tables ...ReferenceTable) Definition {
	d := countDef("counts")
	d.ReferenceTables = tables
	return d
}

func (e *refEnv) table(name string) ReferenceTableStatus {
	e.t.Helper()
	d, err := e.m.Describe("counts")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, s := range d.ReferenceTables {
		if s.Name == name {
			return s
		}
	}
	e.t.Fatalf("describe has no reference table %s: %+v", name, d.ReferenceTables)
	return ReferenceTableStatus{}
}

// current is the running application's table.
func (e *refEnv) current(name string) *reftable.Table {
	e.t.Helper()
	e.m.mu.Lock()
	defer e.m.mu.Unlock()
	a := e.m.apps["counts"]
	if a.run == nil {
		e.t.Fatal("the application is not running")
	}
	return a.run.rt.ReferenceTables()[name]
}

func TestAReferenceTableLoadsAtStartAndReloadsOnDemandAtomically(t *testing.T) {
	e := newRefEnv(t)
	write(t, filepath.Join(e.dir, "companies.csv"), "Ticker,Company\nAMZN,Amazon\nMSFT,Microsoft\n")
	def := refDef(ReferenceTable{Name: "CompanyName", Source: ReferenceSource{File: "companies.csv"}, Schema: companySchema("CSV"), SkipHeader: true})
	if _, err := e.m.Create(def); err != nil {
		t.Fatal(err)
	}
	if s := e.table("CompanyName"); s.Source != "file companies.csv" || s.Version != 0 {
		t.Errorf("before start: %+v", s)
	}
	if _, err := e.m.Start("counts", ""); err != nil {
		t.Fatal(err)
	}
	s := e.table("CompanyName")
	if s.Rows != 2 || s.Version != 1 || s.LoadedAt == nil || s.Bytes != int64(len("Ticker,Company\nAMZN,Amazon\nMSFT,Microsoft\n")) || s.LastError != "" {
		t.Errorf("after start: %+v", s)
	}
	first := e.current("CompanyName").Current()

	// A reload installs a new snapshot; the old one is untouched.
	write(t, filepath.Join(e.dir, "companies.csv"), "Ticker,Company\nAMZN,Amazon.com\nMSFT,Microsoft\nORCL,Oracle\n")
	st, err := e.m.RefreshReferenceTables("counts", "CompanyName")
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || st[0].Rows != 3 || st[0].Version != 2 {
		t.Errorf("after a refresh: %+v", st)
	}
	if got := strings.Join(snapshotRows(t, e.current("CompanyName")), ","); got != "AMZN|Amazon.com,MSFT|Microsoft,ORCL|Oracle" {
		t.Errorf("new rows %s", got)
	}
	if got := strings.Join(recordRows(first.Rows), ","); got != "AMZN|Amazon,MSFT|Microsoft" {
		t.Errorf("the first snapshot changed: %s", got)
	}

	// A failed reload keeps the snapshot and says why.
	write(t, filepath.Join(e.dir, "companies.csv"), "Ticker,Company\nAMZN,\"Amazon\n")
	_, err = e.m.RefreshReferenceTables("counts", "")
	if !errors.Is(err, ErrReferenceLoad) || !strings.Contains(err.Error(), "line 2: unterminated quoted field") || !strings.Contains(err.Error(), "version 2 stays in use") {
		t.Errorf("a broken file: %v", err)
	}
	s = e.table("CompanyName")
	if s.Rows != 3 || s.Version != 2 || !strings.Contains(s.LastError, "line 2") || s.LastAttempt == nil {
		t.Errorf("after a failed refresh: %+v", s)
	}
	if _, err := e.m.RefreshReferenceTables("counts", "Nope"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "CompanyName") {
		t.Errorf("an unknown table: %v", err)
	}

	// Update restarts the application, which loads the table again.
	write(t, filepath.Join(e.dir, "companies.csv"), "Ticker,Company\nAMZN,Amazon\n")
	if _, err := e.m.Update("counts", def); err != nil {
		t.Fatal(err)
	}
	if s := e.table("CompanyName"); s.Rows != 1 || s.Version != 1 || s.LastError != "" {
		t.Errorf("after an update: %+v", s)
	}

	// A start whose load fails fails, naming the table and the line.
	if _, err := e.m.Stop("counts"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.RefreshReferenceTables("counts", ""); !errors.Is(err, ErrNotRunning) {
		t.Errorf("refresh of a stopped application: %v", err)
	}
	write(t, filepath.Join(e.dir, "companies.csv"), "Ticker,Company\nAMZN,Amazon\nMSFT,Microsoft,too,many\nX\n")
	def.ReferenceTables[0].Schema.Columns = append(def.ReferenceTables[0].Schema.Columns, input.Column{Name: "Employees", SQLType: "INTEGER"})
	if _, err := e.m.Update("counts", def); err != nil {
		t.Fatal(err)
	}
	_, err = e.m.Start("counts", "")
	if !errors.Is(err, ErrCannotStart) || !strings.Contains(err.Error(), `reference table CompanyName (file companies.csv): line 3: column "Employees" (INTEGER), field 3`) {
		t.Errorf("a start with a bad row: %v", err)
	}
}

func TestReferenceTableSourcesAndLimits(t *testing.T) {
	e := newRefEnv(t)
	if err := e.objects.PutObject(context.Background(), "ref", "companies.json", []byte("{\"ticker\":\"AMZN\",\"company\":\"Amazon\"}\n{\"ticker\":\"MSFT\",\"company\":7}\n{\"ticker\":true}\n"), "", ""); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(e.dir, "big.csv"), strings.Repeat("AAAA,Company\n", 100))
	def := refDef(
		ReferenceTable{Name: "FromS3", Source: ReferenceSource{S3: &S3Source{Bucket: "ref", Key: "companies.json"}}, Schema: companySchema("JSON"), MaxBadRows: 5},
		ReferenceTable{Name: "Big", Source: ReferenceSource{File: "big.csv"}, Schema: companySchema("CSV"), MaxBytes: 1300},
	)
	if _, err := e.m.Create(def); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Start("counts", ""); err != nil {
		t.Fatal(err)
	}
	if s := e.table("FromS3"); s.Rows != 3 || s.Source != "s3://ref/companies.json" || s.BadRows != 0 {
		t.Errorf("s3 table: %+v", s)
	}
	if got := strings.Join(snapshotRows(t, e.current("FromS3")), ","); got != "AMZN|Amazon,MSFT|7,true|(null)" {
		t.Errorf("s3 rows %s", got)
	}
	// One byte over its limit: the reload fails, the old rows stay.
	write(t, filepath.Join(e.dir, "big.csv"), strings.Repeat("AAAA,Company\n", 100)+"B")
	if _, err := e.m.RefreshReferenceTables("counts", "Big"); err == nil || !strings.Contains(err.Error(), "1301 bytes, more than the limit of 1300 (maxBytes)") {
		t.Errorf("over maxBytes: %v", err)
	}
	if s := e.table("Big"); s.Rows != 100 || s.Version != 1 {
		t.Errorf("after a load over the limit: %+v", s)
	}
	// A file outside the reference directory is refused.
	def.ReferenceTables[1].Source.File = "../etc/passwd"
	if _, err := e.m.Update("counts", def); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "referenceTables[1].source.file: \"../etc/passwd\" must be a relative path inside the server's reference directory") {
		t.Errorf("a file outside the reference directory: %v", err)
	}
}

func TestReferenceTableBadRowsAreCountedAndListed(t *testing.T) {
	e := newRefEnv(t)
	write(t, filepath.Join(e.dir, "c.json"), "{\"ticker\":\"A\"}\n{\"ticker\":{}}\n{\"ticker\":\"B\"}\nnot json\n")
	def := refDef(ReferenceTable{Name: "C", Source: ReferenceSource{File: "c.json"}, Schema: companySchema("JSON"), MaxBadRows: 2})
	def.ReferenceTables[0].Schema.Columns[0].SQLType = "INTEGER"
	def.ReferenceTables[0].Schema.Columns[0].Mapping = "$.n"
	def.ReferenceTables[0].Schema.Columns[1].Mapping = "$.ticker"
	def.ReferenceTables[0].Schema.Columns[1].SQLType = "BOOLEAN"
	if _, err := e.m.Create(def); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Start("counts", ""); err != nil {
		t.Fatal(err)
	}
	s := e.table("C")
	if s.Rows != 2 || s.BadRows != 2 || len(s.BadRowErrors) != 2 || !strings.HasPrefix(s.BadRowErrors[0], "line 2: ") || !strings.HasPrefix(s.BadRowErrors[1], "line 4: ") {
		t.Errorf("status %+v", s)
	}
}

func TestAReferenceTableRefreshesOnItsSchedule(t *testing.T) {
	e := newRefEnv(t)
	write(t, filepath.Join(e.dir, "c.csv"), "AMZN,Amazon\n")
	def := refDef(ReferenceTable{Name: "C", Source: ReferenceSource{File: "c.csv"}, Schema: companySchema("CSV"), Refresh: Duration{time.Second}})
	if _, err := e.m.Create(def); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Start("counts", ""); err != nil {
		t.Fatal(err)
	}
	if s := e.table("C"); s.Refresh != "1s" || s.NextRefresh == nil {
		t.Errorf("status %+v", s)
	}
	write(t, filepath.Join(e.dir, "c.csv"), "AMZN,Amazon\nMSFT,Microsoft\n")
	deadline := time.Now().Add(10 * time.Second)
	for e.table("C").Rows != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("not refreshed: %+v", e.table("C"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s := e.table("C"); s.Version < 2 {
		t.Errorf("status %+v", s)
	}
}

func TestAReferenceTableLoadsFromAPostgresQuery(t *testing.T) {
	servicetest.Require(t, "PostgreSQL", "127.0.0.1:5432")
	dsn := os.Getenv("KDA_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = "postgres://root@127.0.0.1:5432/test?sslmode=disable"
	}
	tab := func(query string, cols ...input.Column) ReferenceTable {
		return ReferenceTable{Name: "C", Source: ReferenceSource{Postgres: &PostgresSource{DSN: dsn, Query: query}},
			Schema: input.Schema{Columns: cols}}
	}
	values := `FROM (VALUES ('AMZN', 'Amazon', 1500000), ('MSFT', 'Microsoft', NULL)) AS v(a, b, c)`
	tests := []struct {
		name  string
		table ReferenceTable
		want  string // rows, or the error
	}{
		{"columns map by name, ignoring case and order",
			tab(`SELECT c AS staff, b AS "company", a AS ticker `+values,
				input.Column{Name: "Ticker", SQLType: "VARCHAR(8)"}, input.Column{Name: "Company", SQLType: "VARCHAR(16)"}, input.Column{Name: "Staff", SQLType: "BIGINT"}),
			"AMZN|Amazon|1500000,MSFT|Microsoft|(null)"},
		{"a mapping names the result column",
			tab(`SELECT a, b `+values,
				input.Column{Name: "Ticker", SQLType: "VARCHAR(8)", Mapping: "a"}, input.Column{Name: "Company", SQLType: "VARCHAR(16)", Mapping: "b"}),
			"AMZN|Amazon,MSFT|Microsoft"},
		{"with no name in common, columns map by position",
			tab(`SELECT a, b `+values,
				input.Column{Name: "Ticker", SQLType: "VARCHAR(8)"}, input.Column{Name: "Company", SQLType: "VARCHAR(16)"}),
			"AMZN|Amazon,MSFT|Microsoft"},
		{"some names in common is an error",
			tab(`SELECT a AS ticker, b `+values,
				input.Column{Name: "Ticker", SQLType: "VARCHAR(8)"}, input.Column{Name: "Company", SQLType: "VARCHAR(16)"}),
			"has no column Company; name every table column"},
		{"a value that does not convert names its row",
			tab(`SELECT a, b `+values,
				input.Column{Name: "Ticker", SQLType: "VARCHAR(8)"}, input.Column{Name: "N", SQLType: "INTEGER"}),
			`line 1: column "N" (INTEGER)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := refDef(tt.table)
			if err := def.WithDefaults().Validate(); err != nil {
				t.Fatal(err)
			}
			rt, err := Compile(def, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Close()
			err = rt.LoadReferenceTables(context.Background(), ReferenceOptions{})
			if err != nil {
				if !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("load: %v, want %q", err, tt.want)
				}
				if strings.Contains(err.Error(), dsn) {
					t.Errorf("the error shows the DSN: %v", err)
				}
				return
			}
			if got := strings.Join(snapshotRows(t, rt.ReferenceTables()["C"]), ","); got != tt.want {
				t.Errorf("rows %s, want %s", got, tt.want)
			}
		})
	}
}

// TestReferenceTableMemoryPerRow measures the heap a loaded table holds
// per row, for docs/reference-tables.md:
//
//	go test ./engine/app -run TestReferenceTableMemoryPerRow -v
func TestReferenceTableMemoryPerRow(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a 200,000-row table")
	}
	const rows = 200_000
	var b strings.Builder
	for i := range rows {
		fmt.Fprintf(&b, "T%06d,Company number %d Inc.,%d,%d.25\n", i, i, i*7, i)
	}
	path := filepath.Join(t.TempDir(), "c.csv")
	write(t, path, b.String())
	def := refDef(ReferenceTable{Name: "C", Source: ReferenceSource{File: path}, Schema: input.Schema{
		RecordFormat: input.RecordFormat{Type: "CSV"}, Columns: []input.Column{
			{Name: "Ticker", SQLType: "VARCHAR(8)"}, {Name: "Company", SQLType: "VARCHAR(64)"},
			{Name: "Employees", SQLType: "BIGINT"}, {Name: "Price", SQLType: "DOUBLE"}}}})
	rt, err := Compile(def, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	// The peak while loading: the source, the builders and the rows.
	var peak uint64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	err = rt.LoadReferenceTables(context.Background(), ReferenceOptions{})
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	after := heap()
	snap := rt.ReferenceTables()["C"].Current()
	if snap.Rows.NumRows() != rows {
		t.Fatalf("%d rows", snap.Rows.NumRows())
	}
	perRow := float64(after-before) / rows
	srcPerRow := float64(b.Len()) / rows
	t.Logf("%d rows of (VARCHAR(8), VARCHAR(64), BIGINT, DOUBLE), %.1f source bytes per row: %.1f heap bytes per row retained (%.2f× the source), at most %.1f per row while loading (%.2f×)",
		rows, srcPerRow, perRow, perRow/srcPerRow, float64(peak-before)/rows, float64(peak-before)/rows/srcPerRow)
	if perRow > 4*srcPerRow {
		t.Errorf("%.1f bytes per row retained, more than 4× the %.1f source bytes", perRow, srcPerRow)
	}
}
