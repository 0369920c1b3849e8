package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kdaproject/kda/connectors/restapi"
	"github.com/kdaproject/kda/operators/input"
)

// discoverPath is the REST route that discovers schemas.
const discoverPath = "/v1/discover"

// `kda discover stream NAME` asks the server's POST /v1/discover (with
// --data, the same handler in-process) to sample a stream, so the CLI, the
// REST API and the console share one implementation: input.SampleRecords
// and input.Discover behind that route. `kda discover file PATH` runs the
// same two functions locally, with no server.
func newDiscoverCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "discover",
		Short: "Infer an application's input schema from a stream's records or a file",
		Long: `Sample records and print the input configuration KDA's schema discovery
would give them: the record format (JSON with its row path, or CSV with its
delimiters) and the columns, with names made valid by KDA's rules, SQL types
wide enough for every sample, and JSONPath mappings (CSV columns are
positional). The output is YAML to paste into an application definition
(input.schema), or with -o json the schema as the REST API returns it.

Naming rules: characters other than letters, digits and '_' are removed and
the name gets the prefix COL_ (user@domain → COL_userdomain), as do SQL
reserved words (USER → COL_USER) and names starting with a digit (1st →
COL_1st); an empty name, or one longer than 100 characters, becomes
COL_<position>; repeated names get _2, _3…. Names keep their case: KDA
creates input columns quoted, so SQL quotes them too ("ticker").`,
		Example: `  kda discover stream clicks
  kda discover stream clicks --limit 1000 --from trim-horizon
  kda discover file events.jsonl
  kda --data ./kda-data discover stream clicks -o json`,
	}
	cmd.AddCommand(newDiscoverStreamCmd(a), newDiscoverFileCmd(a))
	return cmd
}

func newDiscoverStreamCmd(a *app) *cobra.Command {
	req := struct {
		Stream string `json:"stream"`
		Limit  int    `json:"limit"`
		From   string `json:"from"`
		Format string `json:"format,omitempty"`
	}{}
	cmd := &cobra.Command{
		Use:   "stream NAME",
		Short: "Discover the schema of a stream's records (on --endpoint, or embedded with --data)",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if req.Limit < 1 || req.Limit > 10000 {
				return usagef("--limit must be between 1 and 10000")
			}
			switch req.From {
			case restapi.DiscoverFromLatest, restapi.DiscoverFromTrimHorizon:
			default:
				return usagef("--from must be %s or %s, not %q", restapi.DiscoverFromLatest, restapi.DiscoverFromTrimHorizon, req.From)
			}
			if err := checkFormat(req.Format); err != nil {
				return err
			}
			req.Stream = args[0]
			body, err := json.Marshal(req)
			if err != nil {
				return err
			}
			var out restapi.DiscoverResponse
			if err := a.appCall(cmd.Context(), "discover the schema of stream "+req.Stream, http.MethodPost, discoverPath, body, &out); err != nil {
				return err
			}
			which := "newest"
			if req.From == restapi.DiscoverFromTrimHorizon {
				which = "oldest"
			}
			return a.printDiscovered(out, fmt.Sprintf("the %s %d record(s) of stream %s", which, out.Samples, req.Stream))
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&req.Limit, "limit", 100, "records to sample (1–10000)")
	fl.StringVar(&req.From, "from", restapi.DiscoverFromLatest, "which records: latest (the newest) or trim-horizon (the oldest)")
	fl.StringVar(&req.Format, "format", "", "JSON or CSV (default: guess from the records)")
	return cmd
}

func newDiscoverFileCmd(a *app) *cobra.Command {
	var (
		limit  int
		format string
	)
	cmd := &cobra.Command{
		Use:   "file PATH",
		Short: `Discover the schema of sample records in a file ("-": standard input), with no server`,
		Long: `Read sample records from a file: JSON documents (one per line, or
pretty-printed) or CSV rows, one per line. Each document is one record, as
it would be on a stream; a document that is a JSON array is a record whose
elements are rows (recordRowPath "$[0:]").`,
		Args: exactArgs("PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 1 {
				return usagef("--limit must be at least 1")
			}
			if err := checkFormat(format); err != nil {
				return err
			}
			var data []byte
			var err error
			if args[0] == "-" {
				data, err = io.ReadAll(a.stdin)
			} else {
				data, err = os.ReadFile(args[0])
			}
			if err != nil {
				return fmt.Errorf("read sample records: %w", err)
			}
			samples := input.SampleRecords(data, limit)
			if len(samples) == 0 {
				return fmt.Errorf("%s holds no sample records: give one JSON document or CSV row per line", args[0])
			}
			schema, err := input.Discover(samples, format)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			return a.printDiscovered(restapi.DiscoverResponse{Schema: schema, Samples: len(samples)},
				fmt.Sprintf("%d record(s) of %s", len(samples), args[0]))
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 1000, "records to read from the start of the file")
	cmd.Flags().StringVar(&format, "format", "", "JSON or CSV (default: guess from the records)")
	return cmd
}

func checkFormat(f string) error {
	switch strings.ToUpper(f) {
	case "", input.FormatJSON, input.FormatCSV:
		return nil
	}
	return usagef("--format must be JSON or CSV, not %q", f)
}

// printDiscovered writes a discovered schema as YAML for an application
// definition, or as JSON.
func (a *app) printDiscovered(d restapi.DiscoverResponse, from string) error {
	if a.jsonOutput() {
		return printJSON(a.stdout, d)
	}
	_, err := io.WriteString(a.stdout, schemaYAML(d.Schema, "# Discovered from "+from+".\n"+
		"# Paste into the application definition; check the types and VARCHAR lengths,\n"+
		"# which fit the samples only.\n"))
	return err
}

// schemaYAML writes s as the input.schema block of an application
// definition, with the comment header first.
func schemaYAML(s input.Schema, header string) string {
	var b strings.Builder
	b.WriteString(header)
	b.WriteString("input:\n  schema:\n    recordFormat:\n")
	f := s.RecordFormat
	fmt.Fprintf(&b, "      type: %s\n", yamlString(f.Type))
	if f.RecordRowPath != "" {
		fmt.Fprintf(&b, "      recordRowPath: %s\n", yamlString(f.RecordRowPath))
	}
	if f.ColumnDelimiter != "" {
		fmt.Fprintf(&b, "      columnDelimiter: %s\n", yamlString(f.ColumnDelimiter))
	}
	if f.RowDelimiter != "" {
		fmt.Fprintf(&b, "      rowDelimiter: %s\n", yamlString(f.RowDelimiter))
	}
	if s.RecordEncoding != "" {
		fmt.Fprintf(&b, "    recordEncoding: %s\n", yamlString(s.RecordEncoding))
	}
	b.WriteString("    columns:\n")
	for i, c := range s.Columns {
		fmt.Fprintf(&b, "      - name: %s", yamlString(c.Name))
		if f.Type == input.FormatCSV {
			fmt.Fprintf(&b, "  # CSV field %d", i+1)
		}
		fmt.Fprintf(&b, "\n        sqlType: %s\n", yamlString(c.SQLType))
		if c.Mapping != "" {
			fmt.Fprintf(&b, "        mapping: %s\n", yamlString(c.Mapping))
		}
	}
	return b.String()
}

// yamlString writes s as a plain YAML scalar when that reads back as the
// same string, else double-quoted (JSON's escapes are YAML's).
func yamlString(s string) string {
	plain := s != ""
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '$':
		case c >= '0' && c <= '9', c == '.', c == '(', c == ')', c == '-':
			plain = i > 0
		default:
			plain = false
		}
	}
	switch strings.ToLower(s) {
	case "y", "n", "yes", "no", "on", "off", "true", "false", "null":
		plain = false
	}
	if plain {
		return s
	}
	q, _ := json.Marshal(s)
	return string(q)
}
