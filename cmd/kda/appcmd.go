package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kdaproject/kda/engine"
	kdaapp "github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/engine/store"
)

// `kda app …` drives the SQL applications of a kda server through its REST
// routes (apps_rest.go). With --data it opens the data directory in-process
// and calls the same handler, so both ways share one code path; embedded,
// the commands edit the stored applications and their desired state, and
// the applications run when a server opens the directory.
func newAppCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "app",
		Short: "Create, update, start, stop and inspect SQL applications running in kda serve",
		Long: `SQL applications run inside "kda serve": each reads a kda stream through a
registered consumer (kda-app-NAME), runs its SQL and delivers the
in-application streams named in its outputs to kda streams or files. Every
checkpoint interval (default 10s) the application commits its output
records, its window state and its input positions in one atomic write, so a
stop/start, a server restart or a crash resumes with its windows intact and
no window result lost or repeated.

The definition file is the one "kda run" and "kda explain" read (YAML or
JSON; see "kda explain --help"); input.stream names the kda stream to read.
Every update increments the application's version id.`,
	}
	cmd.AddCommand(
		newAppCreateCmd(a),
		newAppUpdateCmd(a),
		newAppSimpleCmd(a, "start", "Start an application (it resumes from its last checkpoint)"),
		newAppSimpleCmd(a, "stop", "Stop an application after a final checkpoint"),
		newAppSimpleCmd(a, "describe", "Show an application's status, version, pumps, rows and lag"),
		newAppSimpleCmd(a, "delete", "Delete an application and its state (its outputs stay)"),
		newAppRefreshCmd(a),
		&cobra.Command{
			Use:   "list",
			Short: "List applications",
			Args:  exactArgs(),
			RunE: func(cmd *cobra.Command, _ []string) error {
				var out []kdaapp.Description
				if err := a.appCall(cmd.Context(), "list applications", http.MethodGet, appsPath, nil, &out); err != nil {
					return err
				}
				if a.jsonOutput() {
					return printJSON(a.stdout, out)
				}
				t := newTable(a.stdout, "NAME", "STATUS", "VERSION", "INPUT", "RECORDS IN", "LAG", "LAST CHECKPOINT")
				for _, d := range out {
					t.row(d.Name, d.Status, fmt.Sprint(d.Version), d.InputStream, fmt.Sprint(d.RecordsIn), lagText(d), ckptText(d))
				}
				return t.flush()
			},
		},
	)
	return cmd
}

func newAppCreateCmd(a *app) *cobra.Command {
	var start bool
	cmd := &cobra.Command{
		Use:     "create APP.yaml",
		Short:   "Create an application from a definition file (state READY, version 1)",
		Example: "  kda app create counts.yaml --start",
		Args:    exactArgs("APP.yaml"),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, name, err := definitionBody(args[0])
			if err != nil {
				return err
			}
			path := appsPath
			if start {
				path += "?start=true"
			}
			var d kdaapp.Description
			if err := a.appCall(cmd.Context(), "create application "+name, http.MethodPost, path, body, &d); err != nil {
				return err
			}
			return a.printApp(d)
		},
	}
	cmd.Flags().BoolVar(&start, "start", false, "start the application once created")
	return cmd
}

func newAppUpdateCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "update APP.yaml",
		Short: "Replace an application's definition (version id + 1); a running one restarts with it",
		Long: `Replace an application's definition; the application is named by the file.
A running application takes a final checkpoint, then starts again with the new
definition. If the SQL and input schema are unchanged its windows carry over;
otherwise it continues from the checkpointed input positions with empty
windows (the old state means nothing to the new SQL).`,
		Args: exactArgs("APP.yaml"),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, name, err := definitionBody(args[0])
			if err != nil {
				return err
			}
			var d kdaapp.Description
			if err := a.appCall(cmd.Context(), "update application "+name, http.MethodPut, appsPath+"/"+url.PathEscape(name), body, &d); err != nil {
				return err
			}
			return a.printApp(d)
		},
	}
}

func newAppSimpleCmd(a *app, verb, short string) *cobra.Command {
	var position string
	cmd := &cobra.Command{
		Use:   verb + " NAME",
		Short: short,
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := appsPath + "/" + url.PathEscape(args[0])
			method := http.MethodPost
			switch verb {
			case "start":
				path += "/start"
				if position != "" {
					path += "?position=" + url.QueryEscape(position)
				}
			case "stop":
				path += "/stop"
			case "describe":
				method = http.MethodGet
			case "delete":
				method = http.MethodDelete
			}
			var d kdaapp.Description
			if err := a.appCall(cmd.Context(), verb+" application "+args[0], method, path, nil, &d); err != nil {
				return err
			}
			if verb == "delete" {
				if !a.jsonOutput() {
					fmt.Fprintf(a.stdout, "Deleted application %s.\n", args[0])
				}
				return nil
			}
			return a.printApp(d)
		},
	}
	if verb == "start" {
		cmd.Flags().StringVar(&position, "position", "", "NOW or TRIM_HORIZON: discard the checkpoint and start afresh there (default: resume)")
	}
	return cmd
}

func newAppRefreshCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "refresh NAME [TABLE]",
		Short: "Reload a running application's reference tables (or one of them) now",
		Long: `Reload the reference tables of a running application from their sources, or
only TABLE (exact case). Each reload is atomic: rows read after it are joined
with the new rows, rows already joined stay as they were. A table that fails to
load keeps its previous rows; the error names the reason (e.g. the bad line) and
"kda app describe" shows it until a load succeeds.`,
		Example: "  kda app refresh tickers\n  kda app refresh tickers CompanyName",
		Args:    cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := appsPath + "/" + url.PathEscape(args[0]) + "/reference-tables"
			what := "refresh the reference tables of " + args[0]
			if len(args) == 2 {
				path += "/" + url.PathEscape(args[1])
				what = "refresh reference table " + args[1] + " of " + args[0]
			}
			var out struct {
				Tables []kdaapp.ReferenceTableStatus `json:"tables"`
			}
			if err := a.appCall(cmd.Context(), what, http.MethodPost, path+"/refresh", nil, &out); err != nil {
				return err
			}
			if a.jsonOutput() {
				return printJSON(a.stdout, out)
			}
			var b strings.Builder
			writeReferenceTables(&b, out.Tables)
			_, err := io.WriteString(a.stdout, b.String())
			return err
		},
	}
}

// writeReferenceTables lists reference tables for people.
func writeReferenceTables(b *strings.Builder, tables []kdaapp.ReferenceTableStatus) {
	for _, t := range tables {
		loaded := "not loaded"
		if t.LoadedAt != nil {
			loaded = fmt.Sprintf("version %d, %d rows (%d bytes), loaded %s", t.Version, t.Rows, t.Bytes, fmtTime(*t.LoadedAt))
		}
		fmt.Fprintf(b, "  %s <- %s: %s\n", t.Name, t.Source, loaded)
		if t.Refresh != "" {
			next := ""
			if t.NextRefresh != nil {
				next = ", next " + fmtTime(*t.NextRefresh)
			}
			fmt.Fprintf(b, "    refresh every %s%s\n", t.Refresh, next)
		}
		if t.BadRows > 0 {
			fmt.Fprintf(b, "    %d bad rows skipped: %s\n", t.BadRows, strings.Join(t.BadRowErrors, "; "))
		}
		if t.LastError != "" {
			fmt.Fprintf(b, "    last load failed: %s\n", t.LastError)
		}
	}
}

// definitionBody reads a definition file, inlines its sqlFile and returns
// it as JSON with the application's name.
func definitionBody(path string) ([]byte, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("read application definition: %w", err)
	}
	def, err := kdaapp.ParseDefinition(data, filepath.Dir(path))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	def.SQLFile = ""
	body, err := json.Marshal(def)
	if err != nil {
		return nil, "", fmt.Errorf("encode application definition: %w", err)
	}
	return body, def.Name, nil
}

// appCall makes one REST call about applications: to --endpoint, or with
// --data to the same handler in-process.
func (a *app) appCall(ctx context.Context, what, method, path string, body []byte, out any) error {
	var (
		base   string
		client *http.Client
		sign   func(*http.Request, []byte) error
	)
	if a.dataDir != "" {
		st, err := store.Open(a.dataDir, a.storeOptions())
		if err != nil {
			return openDataErr(a.dataDir, err)
		}
		defer st.Close()
		sources, err := engine.NewSourceRegistry()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		// As kda serve will: reference files only under <data>/reference.
		mgr, err := kdaapp.NewManager(st, kdaapp.ManagerOptions{Paused: true, Sources: sources,
			ReferenceDir: filepath.Join(a.dataDir, "reference")})
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		defer mgr.Close()
		h := newServerHandler(serverConfig{store: st, apps: mgr, now: time.Now})
		base, client = "http://embedded", &http.Client{Transport: handlerTransport{h}}
	} else {
		if a.endpoint == awsEndpoint {
			return usagef("%s: SQL applications need a kda server (--endpoint URL) or --data DIR", what)
		}
		creds, err := a.credentials(ctx)
		if err != nil {
			return err
		}
		signer := &restCheckpoints{region: a.region, creds: creds, token: a.getenv("KDA_TOKEN")}
		base, client = strings.TrimRight(a.endpoint, "/"), &http.Client{Timeout: a.timeout}
		sign = func(r *http.Request, b []byte) error { return signer.sign(ctx, r, b) }
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if sign != nil {
		if err := sign(req, body); err != nil {
			return fmt.Errorf("%s: sign request: %w", what, err)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return &cliError{msg: fmt.Sprintf("%s: %v (is kda serve running at %s?)", what, err, a.endpoint), err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s: read response: %w", what, err)
	}
	if resp.StatusCode >= 300 {
		var re restError
		if json.Unmarshal(data, &re) == nil && re.Error.Code != "" {
			return &cliError{msg: fmt.Sprintf("%s: %s", what, re.Error.Message)}
		}
		return &cliError{msg: fmt.Sprintf("%s: HTTP %d: %s", what, resp.StatusCode, strings.TrimSpace(string(data)))}
	}
	if resp.StatusCode == http.StatusNoContent || out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: decode response: %w", what, err)
	}
	return nil
}

// handlerTransport answers HTTP requests with an in-process handler.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func lagText(d kdaapp.Description) string {
	if d.Status != kdaapp.StatusRunning {
		return "-"
	}
	return fmt.Sprintf("%d ms", d.LagMillis)
}

func ckptText(d kdaapp.Description) string {
	if d.LastCheckpoint == nil {
		return "-"
	}
	return fmtTime(*d.LastCheckpoint)
}

// printApp writes one application for people, or as JSON.
func (a *app) printApp(d kdaapp.Description) error {
	if a.jsonOutput() {
		return printJSON(a.stdout, d)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Name:        %s\n", d.Name)
	fmt.Fprintf(&b, "Status:      %s\n", d.Status)
	if d.Error != "" {
		fmt.Fprintf(&b, "Error:       %s\n", d.Error)
	}
	fmt.Fprintf(&b, "Version:     %d (updated %s)\n", d.Version, fmtTime(d.UpdatedAt))
	fmt.Fprintf(&b, "Input:       stream %s, %d records read, lag %s\n", d.InputStream, d.RecordsIn, lagText(d))
	fmt.Fprintf(&b, "Checkpoint:  every %s, last %s\n", d.CheckpointInterval, ckptText(d))
	if d.CheckpointError != "" {
		fmt.Fprintf(&b, "             failing: %s\n", d.CheckpointError)
	}
	if len(d.Definition.Outputs) > 0 {
		b.WriteString("Outputs:\n")
		for _, o := range d.Definition.Outputs {
			dest := "stream " + o.Stream
			if o.File != "" {
				dest = "file " + o.File
			}
			fmt.Fprintf(&b, "  %s -> %s (%s), %d rows delivered\n", o.Name, dest, o.Format, d.Delivered[o.Name])
		}
	}
	if len(d.ReferenceTables) > 0 {
		b.WriteString("Reference tables:\n")
		writeReferenceTables(&b, d.ReferenceTables)
	}
	for _, p := range d.Pumps {
		fmt.Fprintf(&b, "Pump %s: %s -> %s\n", p.Name, p.Source, p.Target)
		for i, op := range p.Operators {
			fmt.Fprintf(&b, "  %d. %s\n", i+1, op)
		}
	}
	if len(d.Streams) > 0 {
		b.WriteString("Rows per in-application stream:\n")
		for _, s := range d.Streams {
			fmt.Fprintf(&b, "  %-28s %d\n", s.Name, s.Rows)
		}
	}
	_, err := io.WriteString(a.stdout, b.String())
	return err
}
