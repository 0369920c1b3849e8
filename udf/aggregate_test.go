package udf

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

const geoMean = `{
  init() { return { logs: 0, n: 0 }; },
  accumulate(s, x) { if (x <= 0) throw new RangeError('geomean needs positive values, got ' + x); s.logs += Math.log(x); s.n++; return s; },
  retract(s, x) { s.logs -= Math.log(x); s.n--; return s; },
  merge(a, b) { return { logs: a.logs + b.logs, n: a.n + b.n }; },
  result(s) { return Math.exp(s.logs / s.n); },
};`

func newTestAggregate(t *testing.T, src string, spec AggregateSpec, lim Limits) *Aggregate {
	t.Helper()
	s, err := CompileAggregate("agg.js", src)
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAggregate(s, spec, Options{Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

func accumulate(b *AggBatch, g int32, tag int64, xs ...float64) {
	for _, x := range xs {
		b.Add(AggAccumulate, g, tag)
		b.Args[0].Nums = append(b.Args[0].Nums, x)
	}
}

func TestAggregateRunsOneBatchPerCallAndKeepsStatesAcrossCalls(t *testing.T) {
	a := newTestAggregate(t, geoMean, AggregateSpec{Params: []AggValue{AggNumber}, Result: AggNumber}, Limits{})
	if !a.CanRetract() {
		t.Fatal("retract not seen")
	}
	st := a.Open()
	b := &AggBatch{Args: make([]AggColumn, 1)}
	accumulate(b, 0, 0, 2, 8)
	accumulate(b, 1, 1, 3)
	if err := st.Run(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	accumulate(b, 1, 2, 12)
	b.Add(AggResult, 0, 0)
	b.Add(AggResult, 1, 0)
	b.Add(AggResult, 2, 0) // never accumulated: NULL
	if err := st.Run(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if len(b.OK) != 3 || !b.OK[0] || !b.OK[1] || b.OK[2] {
		t.Fatalf("OK = %v", b.OK)
	}
	if d := b.Nums[0] - 4; d > 1e-9 || d < -1e-9 {
		t.Fatalf("geomean(2, 8) = %v", b.Nums[0])
	}
	if d := b.Nums[1] - 6; d > 1e-9 || d < -1e-9 {
		t.Fatalf("geomean(3, 12) = %v", b.Nums[1])
	}
}

func TestAggregateExceptionsAreErrorsOfTheirOperationWithTheUserStack(t *testing.T) {
	a := newTestAggregate(t, geoMean, AggregateSpec{Params: []AggValue{AggNumber}, Result: AggNumber}, Limits{})
	st := a.Open()
	b := &AggBatch{Args: make([]AggColumn, 1)}
	accumulate(b, 0, 7, 4, -1, 9)
	b.Add(AggRetract, 0, 7) // the row that threw is not retracted
	b.Args[0].Nums = append(b.Args[0].Nums, -1)
	b.Add(AggResult, 0, 0)
	if err := st.Run(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if len(b.Errors) != 1 || b.Errors[0].Op != 1 {
		t.Fatalf("errors = %+v", b.Errors)
	}
	e := b.Errors[0]
	if !strings.HasPrefix(e.Message, "RangeError: geomean needs positive values, got -1") || !strings.Contains(e.Stack, "agg.js:3") || strings.Contains(e.Stack, aggDriverName) {
		t.Fatalf("message %q stack %q", e.Message, e.Stack)
	}
	if !b.OK[0] || b.Nums[0] < 5.999 || b.Nums[0] > 6.001 {
		t.Fatalf("result %v %v", b.OK, b.Nums)
	}
}

func TestAggregateStatesSurviveSaveAndLoadAsJSON(t *testing.T) {
	src := `{
	  init() { return []; },
	  accumulate(s, x) { s.push(x); return s.slice(-3); },
	  merge(a, b) { return a.concat(b).slice(-3); },
	  result(s) { return s.join(','); },
	}`
	a := newTestAggregate(t, src, AggregateSpec{Params: []AggValue{AggString}, Result: AggString}, Limits{})
	st := a.Open()
	b := &AggBatch{Args: make([]AggColumn, 1)}
	for i, s := range []string{"a", "b", "c", "d"} {
		b.Add(AggAccumulate, int32(i%2), 0)
		b.Args[0].Strs = append(b.Args[0].Strs, s)
	}
	if err := st.Run(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	saved, err := st.Save(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(saved) != 2 || saved[0].JSON != `["a","c"]` || saved[1].Count != 2 {
		t.Fatalf("saved %+v", saved)
	}
	other := a.Open()
	if err := other.Load(context.Background(), saved); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	b.Add(AggAccumulate, 1, 0)
	b.Args[0].Strs = append(b.Args[0].Strs, "e")
	b.Add(AggResult, 0, 0)
	b.Add(AggResult, 1, 0)
	if err := other.Run(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if b.Strs[0] != "a,c" || b.Strs[1] != "b,d,e" {
		t.Fatalf("results %q", b.Strs)
	}
}

func TestAggregateStateThatIsNotJSONFailsTheSave(t *testing.T) {
	src := `{ init() { var o = {}; o.self = o; return o; }, accumulate(s, x) { return s; }, merge(a, b) { return a; }, result(s) { return 1; } }`
	a := newTestAggregate(t, src, AggregateSpec{Params: []AggValue{AggNumber}, Result: AggNumber}, Limits{})
	st := a.Open()
	b := &AggBatch{Args: make([]AggColumn, 1)}
	accumulate(b, 3, 0, 1)
	if err := st.Run(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	_, err := st.Save(context.Background())
	if err == nil || !strings.Contains(err.Error(), "state of group 3 is not JSON-serialisable") {
		t.Fatalf("got %v", err)
	}
}

func TestAggregateLoopIsInterruptedAndTheStatesStartAfresh(t *testing.T) {
	src := `{ init() { return 0; }, accumulate(s, x) { while (x > 100) {} return s + x; }, merge(a, b) { return a + b; }, result(s) { return s; } }`
	a := newTestAggregate(t, src, AggregateSpec{Params: []AggValue{AggNumber}, Result: AggNumber}, Limits{Timeout: 50 * time.Millisecond})
	st := a.Open()
	b := &AggBatch{Args: make([]AggColumn, 1)}
	accumulate(b, 0, 0, 1, 1000)
	b.Add(AggResult, 0, 0)
	err := st.Run(context.Background(), b)
	var ie *InterruptedError
	if !errors.Is(err, ErrStatesLost) || !errors.As(err, &ie) || !errors.Is(ie, ErrTimeout) {
		t.Fatalf("got %v", err)
	}
	if len(b.OK) != 1 || b.OK[0] {
		t.Fatalf("OK %v", b.OK)
	}
	b.Reset()
	accumulate(b, 0, 0, 5)
	b.Add(AggResult, 0, 0)
	if err := st.Run(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if !b.OK[0] || b.Nums[0] != 5 {
		t.Fatalf("after the interruption: %v %v", b.OK, b.Nums)
	}
}

func TestAggregateNeedsItsFunctions(t *testing.T) {
	s, err := CompileAggregate("agg.js", `{ init() { return 0 }, accumulate(s, x) { return s + x } }`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewAggregate(s, AggregateSpec{Params: []AggValue{AggNumber}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "has no merge function") {
		t.Fatalf("got %v", err)
	}
	_, err = CompileAggregate("agg.js", "{\n  init() { return 0 },\n  accumulate(s, x) { return s + }\n}")
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line != 3 {
		t.Fatalf("got %v", err)
	}
}

func TestAggregateGlobalFunctionsAndExportsWork(t *testing.T) {
	for _, src := range []string{
		"function init() { return 0 }\nfunction accumulate(s, x) { return s + x }\nfunction merge(a, b) { return a + b }\nfunction result(s) { return s }",
		"module.exports = { init: () => 0, accumulate: (s, x) => s + x, merge: (a, b) => a + b, result: s => s };",
	} {
		a := newTestAggregate(t, src, AggregateSpec{Params: []AggValue{AggInteger}, Result: AggInteger, ResultMin: -1 << 31, ResultMax: 1<<31 - 1}, Limits{})
		st := a.Open()
		b := &AggBatch{Args: make([]AggColumn, 1)}
		accumulate(b, 0, 0, 2, 3)
		b.Add(AggResult, 0, 0)
		if err := st.Run(context.Background(), b); err != nil || b.Nums[0] != 5 {
			t.Fatalf("%v %v", err, b.Nums)
		}
	}
}
