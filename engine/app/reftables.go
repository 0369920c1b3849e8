package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/kdaproject/kda/connectors/postgres"
	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/input"
	"github.com/kdaproject/kda/operators/reftable"
)

// Reference tables (KDA's reference data, docs/reference-tables.md) are
// named tables of rows an application's queries join with, e.g. company
// names joined to a ticker stream:
//
//	definition.referenceTables[i] ─► fetch (file · s3 object · postgres query)
//	    ─► input.DecodeTable (the input schema's column mapping) ─► reftable.Table.Replace
//
// compile makes one empty reftable.Table per definition entry and gives
// them to the planner (plan.Options.Tables); a runner loads every table
// before it reads its first record (a failed load fails the start), then
// reloads a table on its refresh schedule and on demand
// (Manager.RefreshReferenceTables). A reload swaps the snapshot
// atomically; a failed reload keeps the old one and is reported by
// Describe.
//
// A row a load skips (maxBadRows), or that fails it, is also a row of the
// application's error_stream (REFERENCE_TABLE_BAD_ROW). Loads run on the
// refresh timers and on requests, not on the goroutine that drives the
// runtime, so the loader queues these rows and the driver writes them
// (runner.reportReferenceErrors, Runtime.LoadReferenceTables).

// ReferenceTable is a named table of rows the application's SQL joins
// with (KDA's ReferenceDataSource).
type ReferenceTable struct {
	// Name is the table's name in SQL, exact case (KDA's TableName):
	// FROM s JOIN "CompanyName" AS c ON ...
	Name string `json:"name"`
	// Source is where the rows come from.
	Source ReferenceSource `json:"source"`
	// Schema maps the source's rows to columns, as input.schema maps
	// records (recordFormat JSON or CSV, columns with name, sqlType and a
	// JSONPath mapping for JSON). A postgres source ignores recordFormat;
	// its columns' mapping, when set, names the query's result column.
	Schema input.Schema `json:"schema"`
	// Refresh, when set, reloads the table this often (a kda extension;
	// KDA reloaded only on UpdateApplication). At least 1s.
	Refresh Duration `json:"refresh,omitempty"`
	// SkipHeader drops the first row of a CSV source (a header line).
	SkipHeader bool `json:"skipHeader,omitempty"`
	// MaxBadRows is how many rows that do not fit the schema a load skips
	// (reported by describe) before it fails; default 0: any bad row fails
	// the load.
	MaxBadRows int `json:"maxBadRows,omitempty"`
	// MaxBytes bounds the source's size (default and at most the engine's
	// limit, 1 GiB unless ManagerOptions.MaxReferenceBytes says otherwise).
	MaxBytes int64 `json:"maxBytes,omitempty"`
	// MaxRows bounds the table's rows (default 0: no bound but MaxBytes).
	MaxRows int `json:"maxRows,omitempty"`
}

// ReferenceSource names where a reference table's rows come from; exactly
// one field is set.
type ReferenceSource struct {
	// File is a local CSV, JSON-lines or JSON-array file. In a definition
	// file it is relative to the definition's directory; a server reads
	// files only under its reference directory (<data>/reference), to
	// which the path is then relative.
	File string `json:"file,omitempty"`
	// S3 is an object of the engine's object store: the directory store
	// <data>/s3/<bucket>/<key>, or S3 when kda serve runs with --s3.
	S3 *S3Source `json:"s3,omitempty"`
	// Postgres is a query whose result is the table.
	Postgres *PostgresSource `json:"postgres,omitempty"`
}

// S3Source is an object in the engine's object store.
type S3Source struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}

// PostgresSource is a query run in a read-only transaction.
type PostgresSource struct {
	// DSN is a PostgreSQL connection string, e.g.
	// postgres://user:pass@host:5432/db?sslmode=disable.
	DSN string `json:"dsn"`
	// Query is the SELECT whose rows form the table. Its result columns
	// map to the table's by name (a column's mapping, else its name,
	// matched exactly, else ignoring case) when every table column finds
	// one; when none does, they map by position.
	Query string `json:"query"`
	// Timeout bounds one load (default 1m).
	Timeout Duration `json:"timeout,omitempty"`
}

// Reference table limits and defaults.
const (
	// DefaultMaxReferenceBytes is KDA's limit on a reference data object.
	DefaultMaxReferenceBytes = 1 << 30
	// minRefresh is the shortest refresh interval.
	minRefresh = time.Second
	// defaultLoadTimeout bounds one load of a file, object or query.
	defaultLoadTimeout = time.Minute
	// badRowsKept is how many bad rows a table's status lists.
	badRowsKept = 10
	// ErrReferenceBadRow is the error_stream ERROR_NAME of a reference
	// table row that does not fit the table's schema.
	ErrReferenceBadRow = "REFERENCE_TABLE_BAD_ROW"
	// maxQueuedBadRows bounds the bad rows waiting for the driver; a
	// table whose loads skip more between two heartbeats loses the rest
	// from error_stream (describe still counts them, the log says so).
	maxQueuedBadRows = 100_000
)

var tableNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,31}$`)

// String says where the rows come from, for describe and errors; it never
// shows a DSN (which may hold a password).
func (s ReferenceSource) String() string {
	switch {
	case s.File != "":
		return "file " + s.File
	case s.S3 != nil:
		return "s3://" + s.S3.Bucket + "/" + s.S3.Key
	case s.Postgres != nil:
		return "postgres query " + strings.Join(strings.Fields(s.Postgres.Query), " ")
	}
	return "no source"
}

// validate checks one reference table; at is e.g. "referenceTables[0]".
func (t ReferenceTable) validate(at string) error {
	if !tableNameRE.MatchString(t.Name) {
		return fmt.Errorf("%s.name: %q must be 1–32 letters, digits or '_', not starting with a digit", at, t.Name)
	}
	src, n := t.Source, 0
	if src.File != "" {
		n++
	}
	if src.S3 != nil {
		n++
		switch {
		case strings.TrimSpace(src.S3.Bucket) == "":
			return fmt.Errorf("%s.source.s3.bucket: missing", at)
		case strings.TrimSpace(src.S3.Key) == "":
			return fmt.Errorf("%s.source.s3.key: missing (the object's key in the bucket)", at)
		}
	}
	if src.Postgres != nil {
		n++
		switch {
		case strings.TrimSpace(src.Postgres.DSN) == "":
			return fmt.Errorf("%s.source.postgres.dsn: missing, e.g. postgres://user@127.0.0.1:5432/db", at)
		case strings.TrimSpace(src.Postgres.Query) == "":
			return fmt.Errorf("%s.source.postgres.query: missing (the SELECT whose rows form the table)", at)
		case src.Postgres.Timeout.Duration < 0:
			return fmt.Errorf("%s.source.postgres.timeout: must not be negative", at)
		}
	}
	if n != 1 {
		return fmt.Errorf("%s.source: set exactly one of file, s3 and postgres", at)
	}
	if err := t.decodeSchema(nil).Validate(); err != nil {
		return fmt.Errorf("%s.schema: %w", at, err)
	}
	switch {
	case t.Refresh.Duration < 0 || t.Refresh.Duration > 0 && t.Refresh.Duration < minRefresh:
		return fmt.Errorf("%s.refresh: %s: give an interval of at least %s, or none to load only at start and on demand", at, t.Refresh.Duration, minRefresh)
	case t.MaxBadRows < 0:
		return fmt.Errorf("%s.maxBadRows: must not be negative", at)
	case t.MaxBytes < 0:
		return fmt.Errorf("%s.maxBytes: must not be negative", at)
	case t.MaxRows < 0:
		return fmt.Errorf("%s.maxRows: must not be negative", at)
	case t.SkipHeader && (src.Postgres != nil || t.Schema.WithDefaults().RecordFormat.Type != input.FormatCSV):
		return fmt.Errorf("%s.skipHeader: only a CSV file or object has a header line", at)
	}
	return nil
}

// decodeSchema is the schema rows are decoded with. A postgres source's
// rows arrive as JSON arrays; byIndex[i] is the result column of table
// column i (nil: positions, for validation).
func (t ReferenceTable) decodeSchema(byIndex []int) input.Schema {
	if t.Source.Postgres == nil {
		return t.Schema
	}
	s := input.Schema{RecordFormat: input.RecordFormat{Type: input.FormatJSON}}
	for i, c := range t.Schema.Columns {
		k := i
		if byIndex != nil {
			k = byIndex[i]
		}
		s.Columns = append(s.Columns, input.Column{Name: c.Name, SQLType: c.SQLType, Mapping: fmt.Sprintf("$[%d]", k)})
	}
	return s
}

// validateReferenceTables checks the definition's reference tables.
func (d Definition) validateReferenceTables() error {
	seen := map[string]int{}
	for i, t := range d.ReferenceTables {
		at := fmt.Sprintf("referenceTables[%d]", i)
		if err := t.validate(at); err != nil {
			return err
		}
		if j, dup := seen[strings.ToUpper(t.Name)]; dup {
			return fmt.Errorf("%s.name: %q is already the name of referenceTables[%d] (names may not differ only in case)", at, t.Name, j)
		}
		seen[strings.ToUpper(t.Name)] = i
		for _, n := range d.InputStreamNames() {
			if strings.EqualFold(n, t.Name) {
				return fmt.Errorf("%s.name: %q is the name of an input stream", at, t.Name)
			}
		}
	}
	return nil
}

// newReferenceTables makes the definition's tables, empty.
func newReferenceTables(def Definition) (map[string]*reftable.Table, error) {
	out := make(map[string]*reftable.Table, len(def.ReferenceTables))
	for i, t := range def.ReferenceTables {
		s, err := input.TableSchema(t.decodeSchema(nil))
		if err != nil {
			return nil, fmt.Errorf("referenceTables[%d].schema: %w", i, err)
		}
		tab, err := reftable.New(t.Name, s)
		if err != nil {
			return nil, fmt.Errorf("referenceTables[%d]: %w", i, err)
		}
		out[t.Name] = tab
	}
	return out, nil
}

// ObjectReader reads objects of the engine's object store (the
// directory and s3 stores implement it).
type ObjectReader interface {
	// GetObject returns bucket/key, or an error when it is larger than
	// limit bytes (limit <= 0: no limit).
	GetObject(ctx context.Context, bucket, key string, limit int64) ([]byte, error)
}

// ReferenceOptions say how an application's reference tables load.
type ReferenceOptions struct {
	// Dir, when set, confines file sources: a file must be a relative path
	// that stays inside Dir, and is read there. A server sets it to
	// <data>/reference so no request reads other files.
	Dir string
	// Objects reads s3 sources (nil: s3 sources fail to load).
	Objects func(context.Context) (ObjectReader, error)
	// MaxBytes is the largest source any table may have (default
	// DefaultMaxReferenceBytes); a table's maxBytes may only lower it.
	MaxBytes int64
	// Logger receives failed and partial loads (default: discarded).
	Logger *slog.Logger
	// Now stamps loads (default time.Now).
	Now func() time.Time
}

func (o *ReferenceOptions) ensureDefaults() {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxReferenceBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// ReferenceTableStatus is what Describe reports of a reference table.
type ReferenceTableStatus struct {
	Name string `json:"name"`
	// Source says where the rows come from (never a DSN).
	Source string `json:"source"`
	// Refresh is the reload interval, if any.
	Refresh string `json:"refresh,omitempty"`
	// Rows, Version (loads since the application started, 0 before the
	// first), LoadedAt and Bytes (of the source) describe the snapshot
	// queries see.
	Rows     int64      `json:"rows"`
	Version  uint64     `json:"version"`
	LoadedAt *time.Time `json:"loadedAt,omitempty"`
	Bytes    int64      `json:"bytes"`
	// BadRows counts the rows the snapshot's load skipped (maxBadRows);
	// BadRowErrors lists the first of them with their lines.
	BadRows      int      `json:"badRows,omitempty"`
	BadRowErrors []string `json:"badRowErrors,omitempty"`
	// LastError is why the last load failed (empty when it succeeded);
	// the snapshot before it stays in use.
	LastError   string     `json:"lastError,omitempty"`
	LastAttempt *time.Time `json:"lastAttempt,omitempty"`
	// NextRefresh is when the table reloads next (with refresh set).
	NextRefresh *time.Time `json:"nextRefresh,omitempty"`
}

// refLoader loads and refreshes the reference tables of one runtime.
type refLoader struct {
	opts   ReferenceOptions
	dir    string // the definition's directory, for relative files
	tables []*refTable

	errMu   sync.Mutex
	errs    []operators.RowError // bad rows for error_stream, oldest first
	dropped int                  // bad rows not queued (maxQueuedBadRows)

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// refTable is one table with its load status.
type refTable struct {
	def   ReferenceTable
	at    string // "referenceTables[i]"
	table *reftable.Table

	load sync.Mutex // serializes loads of this table

	mu          sync.Mutex // guards the fields below
	bytes       int64
	bad         []input.BadRow
	badCount    int
	lastErr     string
	lastAttempt time.Time
	nextRefresh time.Time
}

// newRefLoader prepares loading def's tables (tables as compile made them).
func newRefLoader(def Definition, tables map[string]*reftable.Table, opts ReferenceOptions) *refLoader {
	opts.ensureDefaults()
	l := &refLoader{opts: opts, dir: def.Dir}
	for i, t := range def.ReferenceTables {
		l.tables = append(l.tables, &refTable{def: t, at: fmt.Sprintf("referenceTables[%d]", i), table: tables[t.Name]})
	}
	return l
}

// loadAll loads every table once, in order; the first failure is
// returned.
func (l *refLoader) loadAll(ctx context.Context) error {
	for _, t := range l.tables {
		if err := l.load(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

// refresh reloads the named table, or every table when name is "". Every
// table is tried; the failures are returned together.
func (l *refLoader) refresh(ctx context.Context, name string) error {
	var errs []error
	found := false
	for _, t := range l.tables {
		if name != "" && t.def.Name != name {
			continue
		}
		found = true
		if err := l.load(ctx, t); err != nil {
			errs = append(errs, err)
		}
	}
	if !found {
		var names []string
		for _, t := range l.tables {
			names = append(names, t.def.Name)
		}
		if len(names) == 0 {
			return fmt.Errorf("%w: no reference table %q: the application has none", ErrNotFound, name)
		}
		return fmt.Errorf("%w: no reference table %q: the application has %s (names are case-sensitive)", ErrNotFound, name, strings.Join(names, ", "))
	}
	return errors.Join(errs...)
}

// start runs the refresh schedules until stop.
func (l *refLoader) start() {
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	for _, t := range l.tables {
		if t.def.Refresh.Duration <= 0 {
			continue
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			every := t.def.Refresh.Duration
			tick := time.NewTicker(every)
			defer tick.Stop()
			t.setNext(l.opts.Now().Add(every))
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				// A failure is logged and shown by describe; the old rows stay.
				_ = l.load(ctx, t)
				t.setNext(l.opts.Now().Add(every))
			}
		}()
	}
}

// stop ends the refresh schedules and waits for a load in progress.
func (l *refLoader) stop() {
	if l == nil || l.cancel == nil {
		return
	}
	l.cancel()
	l.wg.Wait()
}

func (t *refTable) setNext(at time.Time) {
	t.mu.Lock()
	t.nextRefresh = at
	t.mu.Unlock()
}

// load fetches, decodes and installs one table. On failure the table keeps
// its snapshot and the error is recorded, logged and returned.
func (l *refLoader) load(ctx context.Context, t *refTable) error {
	t.load.Lock()
	defer t.load.Unlock()
	start := l.opts.Now()
	rows, n, bad, err := l.fetch(ctx, t)
	if err == nil {
		_, err = t.table.Replace(rows, t.def.Source.String(), l.opts.Now().UTC())
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastAttempt = start.UTC()
	if err != nil {
		err = fmt.Errorf("reference table %s (%s): %w", t.def.Name, t.def.Source, err)
		if cur := t.table.Current(); cur != nil {
			err = fmt.Errorf("%w; version %d stays in use", err, cur.Version)
		}
		t.lastErr = err.Error()
		l.opts.Logger.Error("reference table not loaded", "table", t.def.Name, "err", err)
		l.queueBadRows(t, bad, start)
		return err
	}
	l.queueBadRows(t, bad, start)
	t.lastErr, t.bytes, t.badCount = "", n, len(bad)
	t.bad = bad[:min(len(bad), badRowsKept)]
	if len(bad) > 0 {
		l.opts.Logger.Warn("reference table loaded without its bad rows", "table", t.def.Name, "badRows", len(bad), "first", bad[0].String())
	}
	return nil
}

// queueBadRows queues a load's bad rows for error_stream, stamped with
// the load's start.
func (l *refLoader) queueBadRows(t *refTable, bad []input.BadRow, at time.Time) {
	if len(bad) == 0 {
		return
	}
	unit := "line"
	if t.def.Source.Postgres != nil {
		unit = "row" // the query's rows, one JSON array each
	}
	l.errMu.Lock()
	defer l.errMu.Unlock()
	for _, b := range bad {
		if len(l.errs) >= maxQueuedBadRows {
			l.dropped++
			continue
		}
		l.errs = append(l.errs, operators.RowError{
			Time:    at.UTC(),
			Level:   "ERROR",
			Name:    ErrReferenceBadRow,
			Message: fmt.Sprintf("reference table %s (%s): %s %d: %s (%s)", t.def.Name, t.def.Source, unit, b.Line, b.Message, b.Name),
			DataRow: b.Data,
		})
	}
}

// takeErrors returns the queued bad rows and empties the queue.
func (l *refLoader) takeErrors() []operators.RowError {
	if l == nil {
		return nil
	}
	l.errMu.Lock()
	defer l.errMu.Unlock()
	errs, dropped := l.errs, l.dropped
	l.errs, l.dropped = nil, 0
	if dropped > 0 {
		l.opts.Logger.Warn("reference table bad rows not written to error_stream: too many waiting", "dropped", dropped)
	}
	return errs
}

// reportReferenceErrors writes the reference tables' queued bad rows to
// error_stream (driver only).
func (r *runner) reportReferenceErrors() error {
	errs := r.refs.takeErrors()
	if len(errs) == 0 {
		return nil
	}
	if err := r.rt.ReportErrors(errs); err != nil {
		return fmt.Errorf("application %s: %w", r.cfg.def.Name, err)
	}
	return nil
}

// reportLoadErrors hands LoadReferenceTables' bad rows to error_stream,
// stamped with at (the stream time of the first Push or Advance after the
// load: kda run's records may carry any time, and error_stream's ROWTIME
// must not jump ahead of them).
func (r *Runtime) reportLoadErrors(at time.Time) {
	if len(r.loadErrors) == 0 {
		return
	}
	for _, e := range r.loadErrors {
		e.Time = at
		r.errors.RowError(e)
	}
	r.loadErrors = nil
}

// maxBytes is the table's bound on its source's size.
func (l *refLoader) maxBytes(t *refTable) int64 {
	if t.def.MaxBytes > 0 && t.def.MaxBytes < l.opts.MaxBytes {
		return t.def.MaxBytes
	}
	return l.opts.MaxBytes
}

// fetch reads the source and decodes its rows.
func (l *refLoader) fetch(ctx context.Context, t *refTable) (rows arrow.Record, n int64, bad []input.BadRow, err error) {
	timeout := defaultLoadTimeout
	if p := t.def.Source.Postgres; p != nil && p.Timeout.Duration > 0 {
		timeout = p.Timeout.Duration
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	limit := l.maxBytes(t)
	schema := t.def.Schema
	var data []byte
	lines := false
	src := t.def.Source
	switch {
	case src.File != "":
		data, err = l.readFile(src.File, limit)
	case src.S3 != nil:
		if l.opts.Objects == nil {
			return nil, 0, nil, fmt.Errorf("this engine has no object store to read s3 sources from")
		}
		var obj ObjectReader
		if obj, err = l.opts.Objects(ctx); err == nil {
			data, err = obj.GetObject(ctx, src.S3.Bucket, src.S3.Key, limit)
		}
	case src.Postgres != nil:
		data, schema, err = queryRows(ctx, t.def, limit)
		lines = true
	}
	if err != nil {
		return nil, 0, nil, err
	}
	rec, bad, err := input.DecodeTable(schema, data, input.TableOptions{
		MaxRows: t.def.MaxRows, MaxBadRows: t.def.MaxBadRows, SkipHeader: t.def.SkipHeader, JSONLines: lines,
	})
	if err != nil {
		return nil, 0, bad, err
	}
	return rec, int64(len(data)), bad, nil
}

// readFile reads a file source, refusing one larger than limit.
func (l *refLoader) readFile(file string, limit int64) ([]byte, error) {
	path := file
	switch {
	case l.opts.Dir != "":
		if !filepath.IsLocal(file) {
			return nil, fmt.Errorf("%q must be a relative path inside the server's reference directory %s (no leading / and no ..); copy the file there, or use an s3 source", file, l.opts.Dir)
		}
		path = filepath.Join(l.opts.Dir, file)
	case !filepath.IsAbs(file) && l.dir != "":
		path = filepath.Join(l.dir, file)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than the limit of %d (maxBytes)", path, fi.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s grew past the limit of %d bytes (maxBytes) while it was read", path, limit)
	}
	return data, nil
}

// queryRows runs a postgres source's query and returns its rows as JSON
// lines (each a JSON array) with the schema that decodes them.
func queryRows(ctx context.Context, t ReferenceTable, limit int64) ([]byte, input.Schema, error) {
	var data []byte
	var schema input.Schema
	err := postgres.ReadRows(ctx, t.Source.Postgres.DSN, t.Source.Postgres.Query,
		func(names []string) error {
			byIndex, err := mapResultColumns(t.Schema.Columns, names)
			if err != nil {
				return err
			}
			schema = t.decodeSchema(byIndex)
			return nil
		},
		func(row []byte) error {
			if int64(len(data)+len(row)+1) > limit {
				return fmt.Errorf("the query's rows are more than the limit of %d bytes (maxBytes, counted as JSON)", limit)
			}
			data = append(append(data, row...), '\n')
			return nil
		})
	if err != nil {
		return nil, input.Schema{}, fmt.Errorf("postgres: %w", err)
	}
	return data, schema, nil
}

// mapResultColumns finds each table column's result column: by name when
// every column has one (its mapping or its name, exactly, else ignoring
// case), by position when none has.
func mapResultColumns(cols []input.Column, names []string) ([]int, error) {
	byIndex := make([]int, len(cols))
	var found, missing []string
	for i, c := range cols {
		want := c.Mapping
		if want == "" {
			want = c.Name
		}
		k := -1
		for j, n := range names {
			if n == want {
				k = j
				break
			}
		}
		if k < 0 {
			for j, n := range names {
				if strings.EqualFold(n, want) {
					k = j
					break
				}
			}
		}
		if k < 0 {
			missing = append(missing, want)
		} else {
			found = append(found, want)
		}
		byIndex[i] = k
	}
	switch {
	case len(missing) == 0:
		return byIndex, nil
	case len(found) == 0:
		if len(names) < len(cols) {
			return nil, fmt.Errorf("the query returns %d columns (%s) and the table has %d; no name matches, so they map by position and the query must return at least as many", len(names), strings.Join(names, ", "), len(cols))
		}
		for i := range byIndex {
			byIndex[i] = i
		}
		return byIndex, nil
	}
	return nil, fmt.Errorf("the query's result (%s) has no column %s; name every table column in the result (SELECT x AS \"Name\", or set the column's mapping) or none, so that they map by position", strings.Join(names, ", "), strings.Join(missing, ", "))
}

// status reports every table.
func (l *refLoader) status() []ReferenceTableStatus {
	if l == nil {
		return nil
	}
	out := make([]ReferenceTableStatus, 0, len(l.tables))
	for _, t := range l.tables {
		s := ReferenceTableStatus{Name: t.def.Name, Source: t.def.Source.String()}
		if t.def.Refresh.Duration > 0 {
			s.Refresh = t.def.Refresh.String()
		}
		if cur := t.table.Current(); cur != nil {
			s.Rows, s.Version = cur.Rows.NumRows(), cur.Version
			at := cur.LoadedAt
			s.LoadedAt = &at
		}
		t.mu.Lock()
		s.Bytes, s.BadRows, s.LastError = t.bytes, t.badCount, t.lastErr
		for _, b := range t.bad {
			s.BadRowErrors = append(s.BadRowErrors, b.String())
		}
		if !t.lastAttempt.IsZero() {
			at := t.lastAttempt
			s.LastAttempt = &at
		}
		if !t.nextRefresh.IsZero() {
			at := t.nextRefresh.UTC()
			s.NextRefresh = &at
		}
		t.mu.Unlock()
		out = append(out, s)
	}
	return out
}

// definedReferenceTables reports the tables of an application that is not
// running: their names, sources and refresh intervals.
func definedReferenceTables(def Definition) []ReferenceTableStatus {
	var out []ReferenceTableStatus
	for _, t := range def.ReferenceTables {
		s := ReferenceTableStatus{Name: t.Name, Source: t.Source.String()}
		if t.Refresh.Duration > 0 {
			s.Refresh = t.Refresh.String()
		}
		out = append(out, s)
	}
	return out
}
