package restapi

import "testing"

func TestDiscoverSamplesTheOldestOrTheNewestRecords(t *testing.T) {
	a := newAPI(t, Options{})
	a.must(t, "POST", "/v1/streams", `{"name":"s","shards":1}`, 201, nil)
	a.must(t, "POST", "/v1/streams/s/records", `{"records":[{"partitionKey":"a","data":"1,x"}]}`, 200, nil)
	a.must(t, "POST", "/v1/streams/s/records", `{"records":[{"partitionKey":"a","data":"{\"n\":2}"}]}`, 200, nil)
	var out DiscoverResponse
	for _, c := range []struct{ body, format string }{
		{`{"stream":"s","limit":1}`, "JSON"},
		{`{"stream":"s","limit":1,"from":"latest"}`, "JSON"},
		{`{"stream":"s","limit":1,"from":"trim-horizon"}`, "CSV"},
		{`{"stream":"s","limit":1,"from":"TRIM-HORIZON"}`, "CSV"},
	} {
		a.must(t, "POST", "/v1/discover", c.body, 200, &out)
		if out.Schema.RecordFormat.Type != c.format || out.Samples != 1 {
			t.Errorf("%s: discovered %s from %d samples, want %s from 1", c.body, out.Schema.RecordFormat.Type, out.Samples, c.format)
		}
	}
	a.wantError(t, "POST", "/v1/discover", `{"stream":"s","from":"now"}`, 400, "InvalidArgumentException", "trim-horizon")
}

func TestDiscoverDataTakesPrettyPrintedJSON(t *testing.T) {
	a := newAPI(t, Options{})
	var out DiscoverResponse
	a.must(t, "POST", "/v1/discover", `{"data":"{\n  \"a\": 1\n}\n{\n  \"a\": 2.5\n}\n"}`, 200, &out)
	if out.Samples != 2 || len(out.Schema.Columns) != 1 || out.Schema.Columns[0].SQLType != "DOUBLE" {
		t.Errorf("discovered %+v from %d samples", out.Schema, out.Samples)
	}
	a.must(t, "POST", "/v1/discover", `{"data":"{\"a\":1}\n{\"a\":2}\n{\"a\":3}","limit":2}`, 200, &out)
	if out.Samples != 2 {
		t.Errorf("limit 2 over data: %d samples", out.Samples)
	}
}
