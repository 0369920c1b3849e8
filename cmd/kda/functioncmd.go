package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	kdaapp "github.com/kdaproject/kda/engine/app"
)

const functionsPath = "/v1/functions"

// `kda function …` manages the server's function catalog through its REST
// routes, or a data directory in-process with --data, like `kda app`.
func newFunctionCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "function",
		Short: "Create, list, describe and delete the functions every application can call",
		Long: `The function catalog holds SQL and JavaScript functions and aggregates that
every application of the server can call, as if each application's SQL began
with their CREATE statements (functions are planned in creation order, so one
may call those created before it).

A file for "kda function create" holds CREATE [OR REPLACE] FUNCTION and
CREATE [OR REPLACE] AGGREGATE FUNCTION statements (see docs/javascript.md):

  CREATE FUNCTION fahrenheit(c DOUBLE) RETURNS DOUBLE
    LANGUAGE JAVASCRIPT AS 'return c * 9 / 5 + 32;';

A running application keeps the functions it started with; a changed catalog
reaches it when it is started again or updated. A function that an
application or another function needs cannot be deleted.`,
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:     "create FILE.sql",
			Short:   "Create (or, with OR REPLACE, replace) the functions a SQL file defines; - reads standard input",
			Example: "  kda function create udfs.sql --endpoint http://127.0.0.1:4567",
			Args:    exactArgs("FILE.sql"),
			RunE: func(cmd *cobra.Command, args []string) error {
				sql, err := readInput(a.stdin, args[0], "functions")
				if err != nil {
					return err
				}
				body, err := json.Marshal(map[string]string{"sql": string(sql)})
				if err != nil {
					return err
				}
				var out []kdaapp.FunctionInfo
				if err := a.appCall(cmd.Context(), "create functions from "+args[0], http.MethodPost, functionsPath, body, &out); err != nil {
					return err
				}
				if a.jsonOutput() {
					return printJSON(a.stdout, out)
				}
				for _, f := range out {
					fmt.Fprintf(a.stdout, "Created %s %s (%s).\n", functionKind(f), f.Name, f.Language)
				}
				return nil
			},
		},
		&cobra.Command{
			Use:   "list",
			Short: "List the catalog's functions",
			Args:  exactArgs(),
			RunE: func(cmd *cobra.Command, _ []string) error {
				var out []kdaapp.FunctionInfo
				if err := a.appCall(cmd.Context(), "list functions", http.MethodGet, functionsPath, nil, &out); err != nil {
					return err
				}
				if a.jsonOutput() {
					return printJSON(a.stdout, out)
				}
				t := newTable(a.stdout, "NAME", "KIND", "LANGUAGE", "UPDATED")
				for _, f := range out {
					t.row(f.Name, functionKind(f), f.Language, fmtTime(f.UpdatedAt))
				}
				return t.flush()
			},
		},
		&cobra.Command{
			Use:   "describe NAME",
			Short: "Show a function's CREATE statement",
			Args:  exactArgs("NAME"),
			RunE: func(cmd *cobra.Command, args []string) error {
				var f kdaapp.FunctionInfo
				if err := a.appCall(cmd.Context(), "describe function "+args[0], http.MethodGet, functionsPath+"/"+url.PathEscape(args[0]), nil, &f); err != nil {
					return err
				}
				if a.jsonOutput() {
					return printJSON(a.stdout, f)
				}
				fmt.Fprintf(a.stdout, "Name:     %s (%s, %s)\nUpdated:  %s\n%s\n", f.Name, functionKind(f), f.Language, fmtTime(f.UpdatedAt), strings.TrimSpace(f.SQL))
				return nil
			},
		},
		&cobra.Command{
			Use:   "delete NAME",
			Short: "Delete a function no application or function needs",
			Args:  exactArgs("NAME"),
			RunE: func(cmd *cobra.Command, args []string) error {
				if err := a.appCall(cmd.Context(), "delete function "+args[0], http.MethodDelete, functionsPath+"/"+url.PathEscape(args[0]), nil, nil); err != nil {
					return err
				}
				if !a.jsonOutput() {
					fmt.Fprintf(a.stdout, "Deleted function %s.\n", strings.ToUpper(args[0]))
				}
				return nil
			},
		},
	)
	return cmd
}

func functionKind(f kdaapp.FunctionInfo) string {
	if f.Aggregate {
		return "aggregate"
	}
	return "scalar"
}
