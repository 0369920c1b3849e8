package app

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kdaproject/kda/operators/input"
	"github.com/kdaproject/kda/operators/pipeline"
)

// staffSchema is a CSV table whose second column rejects non-numbers.
func staffSchema() input.Schema {
	return input.Schema{RecordFormat: input.RecordFormat{Type: "CSV"}, Columns: []input.Column{
		{Name: "Ticker", SQLType: "VARCHAR(8)"},
		{Name: "Staff", SQLType: "INTEGER"},
	}}
}

// errorRow is the part of an error_stream row these tests read.
type errorRow struct {
	Name    string `json:"ERROR_NAME"`
	Message string `json:"MESSAGE"`
	Data    string `json:"DATA_ROW"`
	Rowtime string `json:"ROWTIME"`
}

// badTableRows returns the REFERENCE_TABLE_BAD_ROW rows of the running
// application's error_stream once there are want of them.
func (e *refEnv) badTableRows(want int) []errorRow {
	e.t.Helper()
	var got []errorRow
	for deadline := time.Now().Add(5 * time.Second); ; {
		raw, err := e.m.Errors("counts", 0)
		if err != nil {
			e.t.Fatal(err)
		}
		got = got[:0]
		for _, r := range raw {
			var row errorRow
			if err := json.Unmarshal(r, &row); err != nil {
				e.t.Fatal(err)
			}
			if row.Name == ErrReferenceBadRow {
				got = append(got, row)
			}
		}
		if len(got) >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(got) != want {
		e.t.Fatalf("error_stream has %d bad table rows, want %d: %+v", len(got), want, got)
	}
	return got
}

func checkBadRow(t *testing.T, got errorRow, prefix, data string) {
	t.Helper()
	if !strings.HasPrefix(got.Message, prefix) || !strings.Contains(got.Message, "(COERCION_ERROR)") || got.Data != data {
		t.Errorf("error_stream row %+v, want a message starting %q and DATA_ROW %q", got, prefix, data)
	}
}

func TestReferenceTableBadRowsGoToErrorStreamOnEveryLoad(t *testing.T) {
	e := newRefEnv(t)
	file := filepath.Join(e.dir, "staff.csv")
	write(t, file, "Ticker,Staff\nAMZN,1500000\nMSFT,many\nORCL,160000\nIBM,lots\n")
	def := refDef(ReferenceTable{Name: "Staff", Source: ReferenceSource{File: "staff.csv"}, Schema: staffSchema(), SkipHeader: true, MaxBadRows: 2})
	if _, err := e.m.Create(def); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Start("counts", ""); err != nil {
		t.Fatal(err)
	}

	// The first load skips lines 3 and 5, and each is a row of error_stream.
	rows := e.badTableRows(2)
	checkBadRow(t, rows[0], "reference table Staff (file staff.csv): line 3: ", "MSFT,many")
	checkBadRow(t, rows[1], "reference table Staff (file staff.csv): line 5: ", "IBM,lots")
	if s := e.table("Staff"); s.Rows != 2 || s.BadRows != 2 || len(s.BadRowErrors) != 2 {
		t.Errorf("describe after the first load: %+v", s)
	}

	// A reload reports its own bad rows.
	write(t, file, "Ticker,Staff\nAMZN,x1\nMSFT,221000\n")
	if _, err := e.m.RefreshReferenceTables("counts", "Staff"); err != nil {
		t.Fatal(err)
	}
	rows = e.badTableRows(3)
	checkBadRow(t, rows[2], "reference table Staff (file staff.csv): line 2: ", "AMZN,x1")
	if s := e.table("Staff"); s.Version != 2 || s.Rows != 1 || s.BadRows != 1 {
		t.Errorf("describe after the reload: %+v", s)
	}

	// A reload with one bad row too many fails and keeps version 2; its
	// bad rows, the one that tipped it over included, go to error_stream.
	write(t, file, "Ticker,Staff\nA,1\nB,b\nC,c\nD,d\nE,5\n")
	if _, err := e.m.RefreshReferenceTables("counts", "Staff"); err == nil || !strings.Contains(err.Error(), "more than 2 bad rows; the last one: line 5") {
		t.Errorf("a reload with 3 bad rows: %v", err)
	}
	rows = e.badTableRows(6)
	for i, line := range []string{"3", "4", "5"} {
		checkBadRow(t, rows[3+i], "reference table Staff (file staff.csv): line "+line+": ", string(rune('B'+i))+","+string(rune('b'+i)))
	}
	if s := e.table("Staff"); s.Version != 2 || s.Rows != 1 || s.BadRows != 1 || !strings.Contains(s.LastError, "version 2 stays in use") {
		t.Errorf("describe after the failed reload: %+v", s)
	}
	if got := strings.Join(snapshotRows(t, e.current("Staff")), ","); got != "MSFT|221000" {
		t.Errorf("the failed reload changed the rows: %s", got)
	}
}

func TestLoadReferenceTablesWritesBadRowsToErrorStream(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "staff.csv"), "AMZN,1\nMSFT,many\n")
	def := refDef(ReferenceTable{Name: "Staff", Source: ReferenceSource{File: "staff.csv"}, Schema: staffSchema(), MaxBadRows: 1})
	def.Dir = dir
	rt, err := Compile(def.WithDefaults(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if err := rt.LoadReferenceTables(context.Background(), ReferenceOptions{}); err != nil {
		t.Fatal(err)
	}
	// Subscribed after the load, like kda run's outputs: the rows still
	// arrive, with the first Advance and at its stream time.
	var buf bytes.Buffer
	if err := rt.Subscribe(pipeline.ErrorStreamName, &JSONLines{W: &buf}); err != nil {
		t.Fatal(err)
	}
	if err := rt.Advance(time.Unix(60, 0)); err != nil {
		t.Fatal(err)
	}
	var row errorRow
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &row); err != nil {
		t.Fatalf("error_stream %q: %v", buf.String(), err)
	}
	if row.Name != ErrReferenceBadRow || row.Rowtime != "1970-01-01 00:01:00.000" {
		t.Errorf("ERROR_NAME %q, ROWTIME %q: want %s at the stream time of the Advance", row.Name, row.Rowtime, ErrReferenceBadRow)
	}
	checkBadRow(t, row, "reference table Staff (file staff.csv): line 2: ", "MSFT,many")
}
