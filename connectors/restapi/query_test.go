package restapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

const querySchema = `{"recordFormat":{"type":"JSON"},"columns":[{"name":"K","sqlType":"VARCHAR(8)","mapping":"$.k"},{"name":"N","sqlType":"INTEGER","mapping":"$.n"}]}`

func putJSON(t *testing.T, a *api, stream string, n int) {
	t.Helper()
	var recs []string
	for i := range n {
		recs = append(recs, fmt.Sprintf(`{"partitionKey":"p%d","data":"{\"k\":\"%c\",\"n\":%d}"}`, i, 'a'+i%2, i))
	}
	a.must(t, "POST", "/v1/streams/"+stream+"/records", `{"records":[`+strings.Join(recs, ",")+`]}`, 200, nil)
}

func TestQueryPreviewOfBareSelectEndsAtMaxRows(t *testing.T) {
	a := newAPI(t, Options{})
	a.must(t, "POST", "/v1/streams", `{"name":"in","shards":2}`, 201, nil)
	putJSON(t, a, "in", 10)
	// No schema: discovered from the stream's newest records.
	code, evs := a.query(t, `{"sql":"SELECT STREAM \"k\", \"n\" * 10 AS TEN FROM SOURCE_SQL_STREAM_001 WHERE \"n\" >= 2","stream":"in","from":"TRIM_HORIZON","maxRows":3}`, nil)
	if code != 200 || evs[0].name != "schema" {
		t.Fatalf("events %v", evs)
	}
	var sch schemaEvent
	if err := json.Unmarshal([]byte(evs[0].data), &sch); err != nil {
		t.Fatal(err)
	}
	if len(sch.Streams) != 1 || sch.Streams[0].Name != "PREVIEW" || len(sch.Streams[0].Columns) != 3 ||
		sch.Streams[0].Columns[0].Name != "ROWTIME" || sch.Streams[0].Columns[2].Name != "TEN" {
		t.Fatalf("schema %s", evs[0].data)
	}
	rows := rowsOf(t, evs, "PREVIEW")
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3 (maxRows): %v", len(rows), evs)
	}
	for _, r := range rows {
		if r["ROWTIME"] == nil || r["TEN"].(float64) < 20 {
			t.Errorf("row %v", r)
		}
	}
	if e := lastEvent(evs); e.name != "end" || e.data != `{"reason":"maxRows"}` {
		t.Errorf("last event %v", e)
	}
}

func TestQueryTumblingApplicationOverLiveRecords(t *testing.T) {
	a := newAPI(t, Options{})
	a.must(t, "POST", "/v1/streams", `{"name":"in","shards":1}`, 201, nil)
	sql := `CREATE STREAM OUT_S (K VARCHAR(8), C BIGINT);
CREATE PUMP P AS INSERT INTO OUT_S
  SELECT STREAM K, COUNT(*) FROM SOURCE_SQL_STREAM_001
  GROUP BY K, STEP(SOURCE_SQL_STREAM_001.ROWTIME BY INTERVAL '1' SECOND);`
	body, _ := json.Marshal(map[string]any{"sql": sql, "stream": "in", "schema": json.RawMessage(querySchema), "maxRows": 2, "maxSeconds": 10})
	// LATEST: the records are put once the query runs.
	code, evs := a.query(t, string(body), func() { putJSON(t, a, "in", 6) })
	if code != 200 {
		t.Fatalf("%d %v", code, evs)
	}
	var sch schemaEvent
	_ = json.Unmarshal([]byte(evs[0].data), &sch)
	if len(sch.Streams) != 2 || sch.Streams[0].Name != "OUT_S" || sch.Streams[1].Name != "error_stream" {
		t.Fatalf("schema %s", evs[0].data)
	}
	rows := rowsOf(t, evs, "OUT_S")
	counts := map[string]float64{}
	for _, r := range rows {
		counts[r["K"].(string)] += r["C"].(float64)
	}
	if counts["a"] != 3 || counts["b"] != 3 {
		t.Errorf("window counts %v from %v", counts, evs)
	}
	if e := lastEvent(evs); e.data != `{"reason":"maxRows"}` {
		t.Errorf("last event %v", e)
	}
}

func TestQueryErrorsAndLimits(t *testing.T) {
	a := newAPI(t, Options{})
	a.must(t, "POST", "/v1/streams", `{"name":"in","shards":1}`, 201, nil)
	q := func(sql string, extra string) string {
		b, _ := json.Marshal(sql)
		return `{"sql":` + string(b) + `,"stream":"in","schema":` + querySchema + extra + `}`
	}

	t.Run("a SQL error is an error event with line and column, then end", func(t *testing.T) {
		code, evs := a.query(t, q("SELECT STREAM K\nFROM NOWHERE", ""), nil)
		if code != 200 || len(evs) != 2 || evs[0].name != "error" || lastEvent(evs).data != `{"reason":"error"}` {
			t.Fatalf("%d %v", code, evs)
		}
		var e errorEvent
		_ = json.Unmarshal([]byte(evs[0].data), &e)
		if e.Line != 2 || e.Column < 1 || !strings.Contains(e.Message, "NOWHERE") {
			t.Errorf("error event %+v", e)
		}
	})
	t.Run("maxSeconds ends an idle query", func(t *testing.T) {
		_, evs := a.query(t, q("SELECT STREAM * FROM SOURCE_SQL_STREAM_001", `,"maxSeconds":0.2`), nil)
		if lastEvent(evs).data != `{"reason":"maxSeconds"}` {
			t.Errorf("events %v", evs)
		}
	})
	t.Run("SQL that produces nothing", func(t *testing.T) {
		_, evs := a.query(t, q("CREATE FUNCTION F(X INTEGER) RETURNS INTEGER LANGUAGE SQL RETURN X + 1;", ""), nil)
		if evs[0].name != "error" {
			t.Errorf("events %v", evs)
		}
	})
	for _, c := range []struct {
		name, body string
		status     int
		word       string
	}{
		{"malformed body", `{"sql":`, 400, "malformed JSON"},
		{"no sql", `{"stream":"in"}`, 400, "sql"},
		{"no stream", `{"sql":"SELECT STREAM * FROM SOURCE_SQL_STREAM_001"}`, 400, "stream"},
		{"unknown stream", `{"sql":"SELECT STREAM * FROM SOURCE_SQL_STREAM_001","stream":"nope"}`, 404, "nope"},
		{"bad from", `{"sql":"SELECT STREAM * FROM SOURCE_SQL_STREAM_001","stream":"in","from":"YESTERDAY"}`, 400, "from"},
		{"negative maxRows", `{"sql":"SELECT STREAM * FROM SOURCE_SQL_STREAM_001","stream":"in","maxRows":-1}`, 400, "maxRows"},
		{"nothing to discover", `{"sql":"SELECT STREAM * FROM SOURCE_SQL_STREAM_001","stream":"in"}`, 400, "no records"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, evs := a.query(t, c.body, nil)
			if code != c.status || !strings.Contains(evs[0].data, c.word) || !strings.Contains(evs[0].data, `"error"`) {
				t.Errorf("%d %v, want %d naming %q", code, evs, c.status, c.word)
			}
		})
	}
}
