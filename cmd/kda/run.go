package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/valyala/fastjson"
	"golang.org/x/term"

	"github.com/kdaproject/kda/connectors/directory"
	kdaapp "github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/operators/input"
)

type runFlags struct {
	config       string
	input        string
	arrivalField string
	out          string
	batch        int
	sample       int
	progress     bool
}

func newRunCmd(a *app) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run APP.sql --input FILE",
		Short: "Replay a file through a SQL application and print every stream",
		Long: `Run a Kinesis Data Analytics SQL application over a file of records,
deterministically, for tests and for trying queries.

The input file holds one record per line: JSON documents or CSV rows. With
--config the input schema (and the SQL, if APP.sql is omitted) come from an
application definition (YAML or JSON, see "kda explain --help"); without it
the input stream is SOURCE_SQL_STREAM_001 and its columns are discovered from
the first --sample records by KDA's schema-discovery rules (column names keep
the file's case, so quote them in SQL: "ticker").

Each record's arrival time — its ROWTIME and APPROXIMATE_ARRIVAL_TIME — is
the field named by --arrival-field (RFC 3339 text or epoch milliseconds; for
CSV a column name or 1-based position) or, without it, records arrive 1 ms
apart from the Unix epoch. After the last record the clock runs on until
every window has closed.

Every in-application stream the application creates, and error_stream, is
written as JSON lines: to DIR/<STREAM>.jsonl with --out DIR, else to
standard output with a "stream" field on each line. The streams kda makes
between the pumps it runs one query as (P$J1, P$U1, P$D1, P$HOP1...)
are not written.`,
		Example: `  kda run app.sql --input trades.jsonl --arrival-field ts
  kda run app.sql --input trades.csv --out results/
  kda run --config app.yaml --input trades.jsonl`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runApp(args, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "application definition (YAML or JSON): input schema, name prefix, SQL")
	fl.StringVar(&f.input, "input", "", "file of records, one per line (JSON or CSV); - for standard input")
	fl.StringVar(&f.arrivalField, "arrival-field", "", "field holding each record's arrival time (RFC 3339 or epoch ms)")
	fl.StringVar(&f.out, "out", "", "directory for <STREAM>.jsonl files (default: standard output)")
	fl.IntVar(&f.batch, "batch", 4096, "records decoded and processed together (results do not depend on it)")
	fl.IntVar(&f.sample, "sample", 1000, "records read to discover the input schema when there is no --config")
	fl.BoolVar(&f.progress, "progress", false, "show a progress bar even when standard error is not a terminal")
	return cmd
}

func newExplainCmd(a *app) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "explain APP.sql",
		Short: "Print the operator DAG of a SQL application",
		Long: `Parse and plan a SQL application and print its in-application streams
and, for every pump, the operators from its source stream to its target.

The input schema comes from --config (an application definition) or is
discovered from --input; without either, the input stream is assumed to have
the columns the SQL uses... which kda cannot know, so one of them is needed.

An application definition looks like:

  name: trades
  sqlFile: app.sql
  input:
    stream: trades                 # the kda stream (for kda serve)
    namePrefix: SOURCE_SQL_STREAM  # in-application input stream prefix
    startingPosition: TRIM_HORIZON # NOW | TRIM_HORIZON | LAST_STOPPED_POINT
    schema:
      recordFormat: {type: JSON}
      columns:
        - {name: TICKER, sqlType: VARCHAR(8), mapping: $.ticker}
        - {name: PRICE,  sqlType: DOUBLE,     mapping: $.price}
  outputs:
    - {name: DESTINATION_SQL_STREAM, stream: results, format: JSON}`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			def, _, err := a.loadDefinition(args, f)
			if err != nil {
				return err
			}
			rt, err := kdaapp.Compile(def, nil)
			if err != nil {
				return err
			}
			defer rt.Close()
			return printPlan(a.stdout, rt)
		},
	}
	cmd.Flags().StringVar(&f.config, "config", "", "application definition (YAML or JSON)")
	cmd.Flags().StringVar(&f.input, "input", "", "sample records to discover the input schema from")
	cmd.Flags().IntVar(&f.sample, "sample", 1000, "records read to discover the input schema")
	return cmd
}

func printPlan(w io.Writer, rt *kdaapp.Runtime) error {
	p := rt.Plan()
	var b strings.Builder
	b.WriteString("Streams:\n")
	for _, s := range p.Streams {
		kind := ""
		if s.Input {
			kind = " (input)"
		}
		var cols []string
		for _, f := range s.Schema.Fields {
			cols = append(cols, f.Name+" "+f.Type.String())
		}
		fmt.Fprintf(&b, "  %s%s (%s)\n", s.Name, kind, strings.Join(cols, ", "))
	}
	for _, pm := range p.Pumps {
		fmt.Fprintf(&b, "Pump %s: %s -> %s\n", pm.Name, pm.Source, pm.Target)
		for i, e := range pm.Explain {
			fmt.Fprintf(&b, "  %d. %s\n", i+1, e)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// loadDefinition builds the application definition from --config, the SQL
// file and, without a config, schema discovery over --input. It returns the
// records read for discovery so they are not read twice.
func (a *app) loadDefinition(args []string, f runFlags) (kdaapp.Definition, []byte, error) {
	var def kdaapp.Definition
	if f.config != "" {
		b, err := os.ReadFile(f.config)
		if err != nil {
			return def, nil, fmt.Errorf("read --config: %w", err)
		}
		if def, err = kdaapp.ParseDefinition(b, filepath.Dir(f.config)); err != nil {
			return def, nil, err
		}
	}
	if len(args) == 1 {
		b, err := os.ReadFile(args[0])
		if err != nil {
			return def, nil, fmt.Errorf("read SQL: %w", err)
		}
		def.SQL = string(b)
	}
	if def.SQL == "" {
		return def, nil, usagef("give the application's SQL file (or a --config with sql/sqlFile)")
	}
	if def.Name == "" {
		def.Name = "run"
	}
	var data []byte
	if f.input != "" {
		var err error
		if data, err = readInput(a.stdin, f.input, "--input"); err != nil {
			return def, nil, err
		}
	}
	if f.config == "" {
		if data == nil {
			return def, nil, usagef("without --config, --input is needed to discover the input schema")
		}
		samples := splitRecords(data, f.sample)
		s, err := input.Discover(samples, "")
		if err != nil {
			return def, nil, fmt.Errorf("discover the input schema from %s: %w", f.input, err)
		}
		def.Input.Schema = s
	}
	return def.WithDefaults(), data, nil
}

// readInput reads the file at path, or standard input when path is "-";
// what names the file in errors ("--input", "functions").
func readInput(stdin io.Reader, path, what string) ([]byte, error) {
	if path == "-" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("read standard input: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	return b, nil
}

// splitRecords returns up to max non-empty lines (all with max <= 0).
func splitRecords(data []byte, max int) [][]byte {
	var out [][]byte
	for len(data) > 0 && (max <= 0 || len(out) < max) {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) > 0 {
			out = append(out, line)
		}
	}
	return out
}

func (a *app) runApp(args []string, f runFlags) error {
	if f.input == "" {
		return usagef("--input FILE is required (- reads standard input)")
	}
	def, data, err := a.loadDefinition(args, f)
	if err != nil {
		return err
	}
	rt, err := kdaapp.Compile(def, nil)
	if err != nil {
		return err
	}
	defer rt.Close()
	if err := rt.LoadReferenceTables(context.Background(), a.referenceOptions()); err != nil {
		return err
	}
	lines := splitRecords(data, 0)
	recs, err := arrivalTimes(def.Input.Schema, lines, f.arrivalField)
	if err != nil {
		return err
	}

	var files []*os.File
	defer func() {
		for _, fh := range files {
			fh.Close()
		}
	}()
	var outs []*bufio.Writer
	lowered := map[string]bool{} // the streams between the pumps kda made of one (P$J1, P$U1, P$D1, P$HOP1)
	for _, s := range rt.Plan().Streams {
		lowered[s.Name] = s.Lowered != ""
	}
	for _, name := range rt.StreamNames() {
		if strings.HasPrefix(name, def.Input.NamePrefix+"_") || lowered[name] {
			continue
		}
		var w *bufio.Writer
		var sink *kdaapp.JSONLines
		if f.out != "" {
			if err := os.MkdirAll(f.out, 0o755); err != nil {
				return fmt.Errorf("create --out directory: %w", err)
			}
			fh, err := os.Create(filepath.Join(f.out, name+".jsonl"))
			if err != nil {
				return fmt.Errorf("create output: %w", err)
			}
			files = append(files, fh)
			w = bufio.NewWriterSize(fh, 1<<16)
			sink = &kdaapp.JSONLines{W: w}
		} else {
			w = bufio.NewWriterSize(a.stdout, 1<<16)
			sink = &kdaapp.JSONLines{W: w, Stream: name}
		}
		outs = append(outs, w)
		if err := rt.Subscribe(name, sink); err != nil {
			return err
		}
	}
	var bar *progressbar.ProgressBar
	if fh, ok := a.stderr.(*os.File); f.progress || (ok && term.IsTerminal(int(fh.Fd())) && len(recs) > 100000) {
		bar = progressbar.NewOptions(len(recs), progressbar.OptionSetWriter(a.stderr), progressbar.OptionSetDescription("replay"),
			progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish(),
			progressbar.OptionSetSpinnerChangeInterval(0))
	}
	done := 0
	err = rt.Replay(recs, kdaapp.ReplayOptions{BatchSize: f.batch, Progress: func(n int) {
		if bar != nil {
			_ = bar.Add(n - done)
		}
		done = n
	}})
	for _, w := range outs {
		if ferr := w.Flush(); ferr != nil && err == nil {
			err = fmt.Errorf("write output: %w", ferr)
		}
	}
	if bar != nil {
		_ = bar.Finish()
	}
	return err
}

// referenceOptions say where kda run reads reference tables: files
// relative to the definition, s3 sources from the directory store of
// --data (<data>/s3/<bucket>/<key>) when it is given.
func (a *app) referenceOptions() kdaapp.ReferenceOptions {
	var o kdaapp.ReferenceOptions
	if a.dataDir != "" {
		root := filepath.Join(a.dataDir, "s3")
		o.Objects = func(context.Context) (kdaapp.ObjectReader, error) {
			s, err := directory.Open(root)
			if err != nil {
				return nil, err
			}
			return s, nil
		}
	}
	return o
}

// arrivalTimes turns lines into records with arrival times.
func arrivalTimes(s input.Schema, lines [][]byte, field string) ([]input.Record, error) {
	recs := make([]input.Record, len(lines))
	col := -1
	if field != "" && s.RecordFormat.Type == input.FormatCSV {
		if n, err := strconv.Atoi(field); err == nil && n >= 1 {
			col = n - 1
		} else {
			for i, c := range s.Columns {
				if c.Name == field {
					col = i
				}
			}
			if col < 0 {
				return nil, usagef("--arrival-field %q is not a column of the input (give a column name or a 1-based position)", field)
			}
		}
	}
	// A CSV header row, when discovery used one, is not a record.
	if s.RecordFormat.Type == input.FormatCSV && len(lines) > 0 && isHeader(s, lines[0]) {
		lines = lines[1:]
		recs = recs[1:]
	}
	var p fastjson.Parser
	var prev time.Time
	for i, l := range lines {
		at := time.UnixMilli(int64(i + 1)).UTC()
		if field != "" {
			var raw string
			if col >= 0 {
				fields := strings.Split(string(l), s.RecordFormat.ColumnDelimiter)
				if col < len(fields) {
					raw = strings.Trim(strings.TrimSpace(fields[col]), `"`)
				}
			} else {
				v, err := p.ParseBytes(l)
				if err != nil {
					return nil, fmt.Errorf("record %d: not JSON, so --arrival-field cannot be read: %v", i+1, err)
				}
				f := v.Get(field)
				if f == nil {
					return nil, fmt.Errorf("record %d has no field %q for its arrival time", i+1, field)
				}
				if f.Type() == fastjson.TypeString {
					raw = string(f.GetStringBytes())
				} else {
					raw = f.String()
				}
			}
			t, err := parseArrival(raw)
			if err != nil {
				return nil, fmt.Errorf("record %d: arrival time %q: %w", i+1, raw, err)
			}
			at = t
		}
		if at.Before(prev) {
			// Arrival times never go back in a stream; a record that claims
			// to have arrived earlier arrives with the previous one.
			at = prev
		}
		prev = at
		recs[i] = input.Record{Data: l, Rowtime: at, ArrivalTime: at, ShardID: "shardId-000000000000", SequenceNumber: strconv.Itoa(i + 1)}
	}
	return recs, nil
}

func isHeader(s input.Schema, line []byte) bool {
	fields := strings.Split(string(line), s.RecordFormat.ColumnDelimiter)
	if len(fields) != len(s.Columns) {
		return false
	}
	for i, f := range fields {
		if strings.Trim(strings.TrimSpace(f), `"`) != s.Columns[i].Name {
			return false
		}
	}
	return true
}

func parseArrival(s string) (time.Time, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("want RFC 3339 text or epoch milliseconds")
}
