package app

import (
	"strings"
	"testing"
	"time"
)

// forwardScript fails every row of key c, and rows of key b on their first
// delivery; it forwards the others, transformed, with what it saw.
const forwardScript = `exports.handler = async (event) => ({
  records: event.records.map((r) => {
    const row = JSON.parse(Buffer.from(r.data, 'base64').toString());
    const hint = r.lambdaDeliveryRecordMetadata.retryHint;
    if (row.K === 'c' || (row.K === 'b' && hint === 0)) {
      return { recordId: r.recordId, result: 'DeliveryFailed' };
    }
    const out = { key: row.K, n: row.N, hint: hint, batch: event.records.length, app: event.applicationArn };
    return { recordId: r.recordId, result: 'Ok', data: Buffer.from(JSON.stringify(out)).toString('base64') };
  }),
});`

func TestPostprocessorGetsWindowResultsRetriesAndForwards(t *testing.T) {
	e := newLiveEnv(t)
	def := countDef("counts")
	def.Outputs[0].Postprocessor = &Processor{Script: forwardScript, MaxRetries: intPtr(2)}
	if _, err := e.m.Create(def); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Start("counts", ""); err != nil {
		t.Fatal(err)
	}
	e.put(`{"k":"a","v":1}`, `{"k":"b","v":2}`, `{"k":"a","v":3}`, `{"k":"c","v":5}`)
	e.consumed(4)
	e.clock.Add(10 * time.Second)
	e.waitFor("the first window is delivered", func(d Description) bool { return d.Delivered["OUT_S"] == 2 })
	e.put(`{"k":"a","v":10}`)
	e.consumed(5)
	e.clock.Add(10 * time.Second)
	e.waitFor("the second window is delivered", func(d Description) bool { return d.Delivered["OUT_S"] == 3 })
	e.consumed(5) // and checkpointed
	var rows, errs []string
	for _, r := range e.output() {
		if strings.Contains(r, "ERROR_NAME") {
			errs = append(errs, r)
		} else {
			rows = append(rows, r)
		}
	}
	// The first window's three rows arrive in one invocation; b's retry
	// (retryHint 1) comes with c's, which fails every attempt.
	const arn = `"app":"arn:aws:kinesisanalytics:us-east-1:000000000000:application/counts"`
	want := []string{
		`{"key":"a","n":1,"hint":0,"batch":1,` + arn + `}`,
		`{"key":"a","n":2,"hint":0,"batch":3,` + arn + `}`,
		`{"key":"b","n":1,"hint":1,"batch":2,` + arn + `}`,
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Fatalf("forwarded:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	if len(errs) != 1 || !strings.Contains(errs[0], `"ERROR_NAME":"DELIVERY_FAILED","MESSAGE":"output OUT_S: the post-processor answered DeliveryFailed (after 3 attempts)"`) ||
		!strings.Contains(errs[0], `"DATA_ROW":"{\"ROWTIME\":\"2026-03-01 10:00:10.000\",\"K\":\"c\",\"N\":1,\"TOTAL\":5}"`) {
		t.Fatalf("error_stream: %v", errs)
	}
}

func TestPostprocessorWithoutDestinationOnlyDelivers(t *testing.T) {
	e := newLiveEnv(t)
	def := countDef("counts")
	def.Outputs[0] = Output{Name: "OUT_S", Postprocessor: &Processor{
		Script: "exports.handler = (e) => { if (e.records.some(r => !r.data)) throw new Error('no data'); return {records: e.records.map(r => ({recordId: r.recordId, result: 'Ok'}))}; }"}}
	if _, err := e.m.Create(def); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Start("counts", ""); err != nil {
		t.Fatal(err)
	}
	e.put(`{"k":"a","v":1}`, `{"k":"b","v":2}`)
	e.consumed(2)
	e.clock.Add(10 * time.Second)
	e.waitFor("the window is delivered", func(d Description) bool { return d.Delivered["OUT_S"] == 2 })
	e.consumed(2)
	if got := e.output(); len(got) != 0 {
		t.Fatalf("nothing should be forwarded: %v", got)
	}
}
