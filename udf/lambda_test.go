package udf

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func preprocess(t testing.TB, p *Pool, ev *PreprocessEvent) ([]RecordResult, error) {
	t.Helper()
	var out []RecordResult
	err := p.Do(context.Background(), func(rt *Runtime) error {
		fn, _, err := rt.Function("handler")
		if err != nil {
			return err
		}
		out, err = rt.InvokePreprocessor(fn, ev, InvokeContext{FunctionName: p.Name(), Deadline: rt.Deadline})
		return err
	})
	return out, err
}

func threeRecords() *PreprocessEvent {
	ev := &PreprocessEvent{InvocationID: "inv-1", ApplicationARN: "arn:aws:kinesisanalytics:us-east-1:000000000000:application/a",
		StreamARN: "arn:aws:kinesis:us-east-1:000000000000:stream/in"}
	for i, d := range []string{`{"n":1}`, `{"n":2}`, `{"n":3}`} {
		ev.Records = append(ev.Records, KinesisRecord{RecordID: strconv.Itoa(i), Data: []byte(d), ShardID: "shardId-000000000000",
			PartitionKey: "pk" + strconv.Itoa(i), SequenceNumber: "4900" + strconv.Itoa(i), ArrivalMs: 1767225600000 + int64(i)})
	}
	return ev
}

func TestPreprocessorSeesTheKinesisAnalyticsEvent(t *testing.T) {
	p := newTestPool(t, `exports.handler = (event) => ({records: event.records.map(r => ({
  recordId: r.recordId, result: 'Ok',
  data: Buffer.from(JSON.stringify([event.invocationId, event.applicationArn, event.streamArn, r.kinesisStreamRecordMetadata,
    JSON.parse(Buffer.from(r.data, 'base64').toString())])).toString('base64')}))});`, Options{Name: "pre"})
	got, err := preprocess(t, p, threeRecords())
	if err != nil {
		t.Fatal(err)
	}
	want := `["inv-1","arn:aws:kinesisanalytics:us-east-1:000000000000:application/a","arn:aws:kinesis:us-east-1:000000000000:stream/in",` +
		`{"shardId":"shardId-000000000000","partitionKey":"pk1","sequenceNumber":"49001","approximateArrivalTimestamp":1767225600001},{"n":2}]`
	if len(got) != 3 || got[1].Result != ResultOk || string(got[1].Data) != want {
		t.Fatalf("got %+v\nrecord 1: %s\nwant      %s", got, got[1].Data, want)
	}
}

func TestPreprocessorResultsPerRecord(t *testing.T) {
	p := newTestPool(t, `exports.handler = async (event) => ({records: event.records.map((r, i) => {
  switch (i) {
  case 0: return {recordId: r.recordId, result: 'Dropped'};
  case 1: return {recordId: r.recordId, result: 'ProcessingFailed'};
  default: return {recordId: r.recordId, result: 'Ok', data: Buffer.from('{"a":1}\n{"a":2}').toString('base64')};
  }
}).reverse()});`, Options{Name: "pre"})
	got, err := preprocess(t, p, threeRecords())
	if err != nil {
		t.Fatal(err)
	}
	// Results come back in the event's order whatever order the response has.
	if got[0].Result != ResultDropped || got[1].Result != ResultProcessingFailed || got[2].Result != ResultOk || string(got[2].Data) != "{\"a\":1}\n{\"a\":2}" {
		t.Fatalf("got %+v", got)
	}
}

func TestPreprocessorRecordProblemsFailOnlyThatRecord(t *testing.T) {
	p := newTestPool(t, `exports.handler = (event) => ({records: [
  {recordId: '0', result: 'Done', data: 'e30='},
  {recordId: '1', result: 'Ok', data: '*not base64*'},
  {recordId: '2', result: 'Ok'}]});`, Options{Name: "pre"})
	got, err := preprocess(t, p, threeRecords())
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{`result "Done" is not Ok, Dropped or ProcessingFailed`, "data is not base64", "result Ok without data"} {
		if got[i].Result != ResultProcessingFailed || !strings.Contains(got[i].Problem, want) {
			t.Errorf("record %d: got %+v, want ProcessingFailed with %q", i, got[i], want)
		}
	}
}

func TestPreprocessorContractViolationsFailTheBatch(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"a recordId is missing", `return {records: event.records.slice(1).map(ok)};`, "missing recordId 0"},
		{"an unknown recordId", `return {records: event.records.map(ok).concat([{recordId: 'x9', result: 'Ok', data: ''}])};`, "unknown recordId x9"},
		{"a recordId twice", `return {records: event.records.map(ok).concat([ok(event.records[2])])};`, "duplicate recordId 2"},
		{"no records array", `return {items: []};`, "no records array (records is undefined)"},
		{"nothing returned", `return;`, "the handler returned undefined"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newTestPool(t, "const ok = r => ({recordId: r.recordId, result: 'Ok', data: r.data});\nexports.handler = (event) => { "+c.body+" };", Options{Name: "pre"})
			_, err := preprocess(t, p, threeRecords())
			var ce *ContractError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v; want a *ContractError with %q", err, c.want)
			}
		})
	}
}

func TestPostprocessorSeesRetryHintAndMayForwardData(t *testing.T) {
	p := newTestPool(t, `exports.handler = (event) => ({records: event.records.map(r => {
  const row = JSON.parse(Buffer.from(r.data, 'base64').toString());
  if (row.k === 'b' && r.lambdaDeliveryRecordMetadata.retryHint === 0) return {recordId: r.recordId, result: 'DeliveryFailed'};
  return {recordId: r.recordId, result: 'Ok', data: Buffer.from(row.k + '@' + r.lambdaDeliveryRecordMetadata.retryHint).toString('base64')};
})});`, Options{Name: "post"})
	ev := &PostprocessEvent{InvocationID: "i", ApplicationARN: "arn", Records: []DeliveryRecord{
		{RecordID: "0", Data: []byte(`{"k":"a"}`)}, {RecordID: "1", Data: []byte(`{"k":"b"}`)}, {RecordID: "2", Data: []byte(`{"k":"b"}`), RetryHint: 1}}}
	var got []RecordResult
	err := p.Do(context.Background(), func(rt *Runtime) error {
		fn, _, err := rt.Function("handler")
		if err != nil {
			return err
		}
		got, err = rt.InvokePostprocessor(fn, ev, InvokeContext{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s := fmt.Sprintf("%s:%s %s %s:%s", got[0].Result, got[0].Data, got[1].Result, got[2].Result, got[2].Data)
	if s != "Ok:a@0 DeliveryFailed Ok:b@1" {
		t.Fatalf("got %s", s)
	}
}

// BenchmarkPreprocessJSON runs the typical pre-processor — parse each
// record's JSON, add a field, serialise it again — over batches of 1,000
// ~100-byte records. records/s is the figure to quote (-cpu 1).
func BenchmarkPreprocessJSON(b *testing.B) {
	serverGC(b)
	s, err := Compile("enrich.js", `exports.handler = (event) => ({records: event.records.map(r => {
  const o = JSON.parse(Buffer.from(r.data, 'base64').toString());
  o.source = r.kinesisStreamRecordMetadata.shardId;
  return {recordId: r.recordId, result: 'Ok', data: Buffer.from(JSON.stringify(o)).toString('base64')};
})});`)
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewPool(s, Options{Name: "enrich"})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	const batch = 1000
	ev := &PreprocessEvent{InvocationID: "bench", ApplicationARN: "arn:app", StreamARN: "arn:stream"}
	for i := range batch {
		ev.Records = append(ev.Records, KinesisRecord{RecordID: strconv.Itoa(i), ShardID: "shardId-000000000000",
			PartitionKey: "k", SequenceNumber: "49000000000000000000000000000000000000000000" + strconv.Itoa(i), ArrivalMs: 1767225600000,
			Data: []byte(fmt.Sprintf(`{"ticker":"T%03d","price":%d.%02d,"qty":%d,"side":"BUY","ts":"2026-01-02T03:04:05.678Z"}`, i%1000, i%500, i%100, i%97))})
	}
	cpu0 := cpuTime()
	for b.Loop() {
		got, err := preprocess(b, p, ev)
		if err != nil || len(got) != batch || got[0].Result != ResultOk {
			b.Fatalf("%v %v", err, got[:1])
		}
	}
	b.ReportMetric(float64(b.N)*batch/b.Elapsed().Seconds(), "records/s")
	// On a shared machine the wall clock undercounts: records per second
	// of CPU the process actually got (GC included) is the per-core figure.
	if d := cpuTime() - cpu0; d > 0 {
		b.ReportMetric(float64(b.N)*batch/d.Seconds(), "records/cpu-s")
	}
}
