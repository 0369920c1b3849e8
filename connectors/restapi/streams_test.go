package restapi

import (
	"strings"
	"testing"
	"time"
)

func TestStreamRoutesCreateListDescribeDelete(t *testing.T) {
	a := newAPI(t, Options{})
	var created streamDetail
	a.must(t, "POST", "/v1/streams", `{"name":"clicks","shards":2}`, 201, &created)
	if created.Name != "clicks" || created.Mode != "PROVISIONED" || len(created.Shards) != 2 || created.OpenShards != 2 {
		t.Fatalf("created %+v", created)
	}

	var list struct{ Streams []streamSummary }
	a.must(t, "GET", "/v1/streams", "", 200, &list)
	if len(list.Streams) != 1 || list.Streams[0].Name != "clicks" || list.Streams[0].RetentionHours != 24 || list.Streams[0].Status == "" {
		t.Fatalf("list %+v", list)
	}

	a.must(t, "POST", "/v1/streams/clicks/records", `{"records":[{"partitionKey":"a","data":"hello"}]}`, 200, nil)
	var d streamDetail
	a.must(t, "GET", "/v1/streams/clicks", "", 200, &d)
	sh := d.Shards[0]
	if sh.ID != "shardId-000000000000" || !sh.Open || sh.StartingHashKey != "0" || sh.StartingSequence == "" || sh.EndingSequence != "" {
		t.Errorf("shard %+v", sh)
	}
	if d.Stats.RecordsIn != 1 || d.Stats.BytesIn == 0 || d.ARN == "" {
		t.Errorf("stats %+v arn %q", d.Stats, d.ARN)
	}

	a.must(t, "DELETE", "/v1/streams/clicks", "", 204, nil)
	a.wantError(t, "GET", "/v1/streams/clicks", "", 404, "ResourceNotFoundException", "clicks")
}

func TestStreamRoutesRejectBadInput(t *testing.T) {
	a := newAPI(t, Options{})
	cases := []struct {
		name, method, path, body string
		status                   int
		code                     string
		words                    []string
	}{
		{"malformed JSON", "POST", "/v1/streams", `{"name":`, 400, "InvalidArgumentException", []string{"malformed JSON", "POST /v1/streams"}},
		{"empty body", "POST", "/v1/streams", ``, 400, "InvalidArgumentException", []string{"empty"}},
		{"unknown field", "POST", "/v1/streams", `{"name":"x","shardz":1}`, 400, "InvalidArgumentException", []string{"shardz"}},
		{"wrong type", "POST", "/v1/streams", `{"name":"x","shards":"two"}`, 400, "InvalidArgumentException", []string{"shards"}},
		{"no name", "POST", "/v1/streams", `{"shards":1}`, 400, "InvalidArgumentException", []string{"name"}},
		{"bad mode", "POST", "/v1/streams", `{"name":"x","mode":"FAST"}`, 400, "InvalidArgumentException", []string{"mode", "FAST"}},
		{"unknown stream", "GET", "/v1/streams/nope", ``, 404, "ResourceNotFoundException", []string{"nope"}},
		{"delete unknown", "DELETE", "/v1/streams/nope", ``, 404, "ResourceNotFoundException", []string{"nope"}},
		{"wrong method", "PATCH", "/v1/streams", ``, 405, CodeMethodNotAllowed, []string{"GET or POST"}},
		{"unknown route", "GET", "/v1/nothing", ``, 404, CodeNotFound, []string{"/v1/nothing"}},
		{"put to unknown stream", "POST", "/v1/streams/nope/records", `{"records":[{"partitionKey":"k","data":"x"}]}`, 404, "ResourceNotFoundException", []string{"nope"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a.wantError(t, c.method, c.path, c.body, c.status, c.code, c.words...)
		})
	}
}

func TestPutRecordsAndTailNewestLast(t *testing.T) {
	a := newAPI(t, Options{})
	a.must(t, "POST", "/v1/streams", `{"name":"s","shards":3}`, 201, nil)
	var res struct {
		Failed  int
		Records []putResult
	}
	a.must(t, "POST", "/v1/streams/s/records",
		`{"records":[{"partitionKey":"a","data":"one"},{"partitionKey":"b","data":"two"}]}`, 200, &res)
	if res.Failed != 0 || len(res.Records) != 2 || res.Records[0].ShardID == "" || res.Records[0].SequenceNumber == "" {
		t.Fatalf("put %+v", res)
	}
	// Arrival times order the tail across shards: a few ms apart.
	time.Sleep(3 * time.Millisecond)
	a.must(t, "POST", "/v1/streams/s/records", `{"records":[{"partitionKey":"c","dataBase64":"/wA="}]}`, 200, nil)
	time.Sleep(3 * time.Millisecond)
	a.must(t, "POST", "/v1/streams/s/records", `{"records":[{"partitionKey":"d","data":"four"}]}`, 200, nil)

	var tail struct{ Records []tailRecord }
	a.must(t, "GET", "/v1/streams/s/records?limit=2", "", 200, &tail)
	if len(tail.Records) != 2 {
		t.Fatalf("tail %+v", tail)
	}
	if tail.Records[0].DataBase64 == nil || *tail.Records[0].DataBase64 != "/wA=" || tail.Records[0].Data != nil {
		t.Errorf("binary record %+v, want dataBase64 /wA=", tail.Records[0])
	}
	if r := tail.Records[1]; r.Data == nil || *r.Data != "four" || r.PartitionKey != "d" || r.ArrivalTime.IsZero() {
		t.Errorf("newest record %+v, want four last", r)
	}
	a.must(t, "GET", "/v1/streams/s/records", "", 200, &tail)
	if len(tail.Records) != 4 || tail.Records[0].Data == nil || tail.Records[1].Data == nil || *tail.Records[3].Data != "four" {
		t.Errorf("default tail %d records", len(tail.Records))
	}

	for name, c := range map[string]struct{ body, word string }{
		"no records":       {`{"records":[]}`, "at least one"},
		"both data forms":  {`{"records":[{"partitionKey":"k","data":"x","dataBase64":"eA=="}]}`, "records[0]"},
		"no data":          {`{"records":[{"partitionKey":"k"}]}`, "exactly one of data"},
		"bad base64":       {`{"records":[{"partitionKey":"k","data":"x"},{"partitionKey":"k","dataBase64":"%%"}]}`, "records[1].dataBase64"},
		"no partition key": {`{"records":[{"data":"x"}]}`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			e := a.wantError(t, "POST", "/v1/streams/s/records", c.body, 400, e400(c.word), c.word)
			_ = e
		})
	}
	a.wantError(t, "GET", "/v1/streams/s/records?limit=0", "", 400, "InvalidArgumentException", "limit")
	a.wantError(t, "GET", "/v1/streams/s/records?limit=x", "", 400, "InvalidArgumentException", "limit")
	a.wantError(t, "GET", "/v1/streams/nope/records", "", 404, "ResourceNotFoundException")
}

// e400 is the code of a 400: the store's validation for a missing key.
func e400(word string) string {
	if word == "" {
		return "ValidationException"
	}
	return "InvalidArgumentException"
}

func TestDiscoverFromDataAndFromStream(t *testing.T) {
	a := newAPI(t, Options{})
	var out struct {
		Schema struct {
			RecordFormat struct{ Type string }
			Columns      []struct{ Name, SQLType, Mapping string }
		}
	}
	a.must(t, "POST", "/v1/discover", `{"data":"{\"page\":\"/a\",\"n\":1}\n{\"page\":\"/b\",\"n\":2}\n"}`, 200, &out)
	if out.Schema.RecordFormat.Type != "JSON" || len(out.Schema.Columns) != 2 || out.Schema.Columns[0].Name != "page" || out.Schema.Columns[1].SQLType != "INTEGER" {
		t.Errorf("discovered from data: %+v", out.Schema)
	}

	a.must(t, "POST", "/v1/streams", `{"name":"s","shards":2}`, 201, nil)
	a.wantError(t, "POST", "/v1/discover", `{"stream":"s"}`, 400, "InvalidArgumentException", "no records")
	a.must(t, "POST", "/v1/streams/s/records", `{"records":[{"partitionKey":"a","data":"1,x"},{"partitionKey":"b","data":"2,y"}]}`, 200, nil)
	a.must(t, "POST", "/v1/discover", `{"stream":"s","limit":10}`, 200, &out)
	if out.Schema.RecordFormat.Type != "CSV" || len(out.Schema.Columns) != 2 {
		t.Errorf("discovered from stream: %+v", out.Schema)
	}

	a.wantError(t, "POST", "/v1/discover", `{"stream":"nope"}`, 404, "ResourceNotFoundException", "nope")
	a.wantError(t, "POST", "/v1/discover", `{}`, 400, "InvalidArgumentException", "exactly one of stream")
	a.wantError(t, "POST", "/v1/discover", `{"stream":"s","data":"x"}`, 400, "InvalidArgumentException", "exactly one of stream")
	a.wantError(t, "POST", "/v1/discover", `{"data":"\n\n"}`, 400, "InvalidArgumentException", "no sample records")
	a.wantError(t, "POST", "/v1/discover", `{"stream":"s","limit":-1}`, 400, "InvalidArgumentException", "limit")
	a.wantError(t, "POST", "/v1/discover", `{"data":"x","format":"XML"}`, 400, "InvalidArgumentException", "XML")
	a.wantError(t, "POST", "/v1/discover", `[`, 400, "InvalidArgumentException", "malformed JSON")
	if !strings.Contains(a.must(t, "GET", "/v1/openapi.json", "", 200, nil), `"/v1/discover"`) {
		t.Error("openapi.json lacks /v1/discover")
	}
}
