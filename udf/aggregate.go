package udf

// JavaScript aggregate functions (CREATE AGGREGATE FUNCTION ... LANGUAGE
// JAVASCRIPT, docs/javascript.md "Aggregate functions").
//
// The script is an object with init(), accumulate(state, x...),
// merge(a, b), result(state) and optionally retract(state, x...). An
// operator that aggregates opens AggregateStates: one pinned runtime
// (Instance) in which a small driver keeps one state per group id in a
// JavaScript array. The operator never crosses into JavaScript per row:
// it queues operations (accumulate row r into group g, retract, result,
// clear) with their argument values in Go slices, and Run hands the whole
// queue to the driver in one call, the numbers as typed arrays over the Go
// slices' memory. The driver calls the user's functions, catches their
// exceptions per operation, and writes results into typed arrays that are
// again the Go slices' memory.
//
// States cross checkpoints as JSON (JSON.stringify / JSON.parse, see Save
// and Load), so they must be JSON-serialisable: objects, arrays, strings,
// finite numbers, booleans and null. Cycles and BigInts fail the
// checkpoint; Map, Set, typed arrays, functions, undefined members and
// non-finite numbers do not survive it unchanged.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/dop251/goja"
)

// AggValue is how a SQL value crosses into and out of JavaScript.
type AggValue uint8

const (
	// AggNumber is a JavaScript number (DOUBLE, REAL, DECIMAL; integers
	// as arguments, exact up to 2^53).
	AggNumber AggValue = iota
	// AggInteger is a number that must be an integer as a result.
	AggInteger
	// AggBoolean is a JavaScript boolean.
	AggBoolean
	// AggString is a JavaScript string.
	AggString
)

// AggOp is one queued operation of an AggBatch.
type AggOp int32

const (
	// AggAccumulate folds the op's argument values into its group's state
	// (init() first when the group is empty).
	AggAccumulate AggOp = iota
	// AggRetract takes them back out with retract().
	AggRetract
	// AggResult computes result(state) of the group, NULL when the group
	// has no rows.
	AggResult
	// AggClear empties the group.
	AggClear
)

// ScratchGroup is a group id the driver keeps apart from the numbered
// groups, for states that are built and thrown away within one call.
const ScratchGroup = -1

// AggColumn is the values of one parameter, one per accumulate or retract
// operation of a batch, in order: Nums for numbers and booleans (0 or 1),
// Strs for strings.
type AggColumn struct {
	Nums []float64
	Strs []string
}

// AggBatch is a queue of operations for Run. The caller fills Ops, Groups,
// Tags and Args; Run fills the results and Errors.
type AggBatch struct {
	Ops    []AggOp
	Groups []int32 // group id per op, >= 0 or ScratchGroup
	// Tags are the caller's, one per op; a retract whose tag and group
	// match an accumulate that threw earlier in the same batch is skipped.
	Tags []int64
	Args []AggColumn

	// One entry per AggResult op, in order: OK false is NULL.
	Nums []float64 // number, integer and boolean (0/1) results
	Strs []string  // string results
	OK   []bool
	// Errors are the ops whose function threw, or whose result had the
	// wrong type (those results are NULL).
	Errors []AggError
}

// Reset empties the batch for reuse.
func (b *AggBatch) Reset() {
	b.Ops, b.Groups, b.Tags = b.Ops[:0], b.Groups[:0], b.Tags[:0]
	for i := range b.Args {
		b.Args[i].Nums, b.Args[i].Strs = b.Args[i].Nums[:0], b.Args[i].Strs[:0]
	}
	b.Nums, b.Strs, b.OK, b.Errors = b.Nums[:0], b.Strs[:0], b.OK[:0], b.Errors[:0]
}

// Add queues one operation.
func (b *AggBatch) Add(op AggOp, group int32, tag int64) {
	b.Ops = append(b.Ops, op)
	b.Groups = append(b.Groups, group)
	b.Tags = append(b.Tags, tag)
}

// AggError is an exception thrown by one operation of a batch.
type AggError struct {
	Op      int    // index into the batch's Ops
	Message string // e.g. "TypeError: Cannot read property 'x' of undefined"
	Stack   string // JavaScript frames of the user's script, one per line
}

// AggregateSpec describes an aggregate's signature.
type AggregateSpec struct {
	Params []AggValue
	Result AggValue
	// ResultMin and ResultMax bound an AggInteger result (the SQL type's
	// range).
	ResultMin, ResultMax float64
}

// Aggregate is a compiled JavaScript aggregate with its pool of runtimes.
type Aggregate struct {
	spec    AggregateSpec
	pool    *Pool
	retract bool
}

// CompileAggregate compiles the text of an aggregate: an object literal
// ({ init() {...}, accumulate(s, x) {...}, ... }) or a script that leaves
// such an object as its value, assigns it to module.exports, or declares
// the functions globally. A syntax error is a *SyntaxError positioned in
// src.
func CompileAggregate(name, src string) (*Script, error) {
	body := strings.TrimRight(src, " \t\r\n;")
	if strings.HasPrefix(strings.TrimLeft(body, " \t\r\n"), "{") {
		s, err := compileWithOffset(name, "("+body+"\n)", 0, 1)
		if err != nil {
			return nil, err
		}
		s.Source = src
		return s, nil
	}
	return Compile(name, src)
}

// aggDriverName names the driver's frames, which are dropped from stacks.
const aggDriverName = "kda:aggregate"

// aggDriverSrc is the driver: a function of the user's object, the
// parameters' kinds, the result's kind and range, returning run, save and
// load.
const aggDriverSrc = `(function (agg, pk, rk, rlo, rhi) {
  var np = pk.length, st = [], cnt = [], sst, scnt = 0, acc0 = agg.accumulate;
  function msg(e) {
    if (e instanceof Error) return String(e);
    try { return 'uncaught ' + JSON.stringify(e); } catch (_) { return 'uncaught ' + String(e); }
  }
  function stk(e) { return (e instanceof Error && typeof e.stack === 'string') ? e.stack : ''; }
  function get(i, cols, c) { var v = cols[i][c]; return pk[i] === 2 ? v !== 0 : v; }
  function call(f, s, cols, c) {
    if (np === 1 && pk[0] !== 2) return f === acc0 ? agg.accumulate(s, cols[0][c]) : f.call(agg, s, cols[0][c]);
    switch (np) {
    case 0: return f.call(agg, s);
    case 1: return f.call(agg, s, get(0, cols, c));
    case 2: return f.call(agg, s, get(0, cols, c), get(1, cols, c));
    case 3: return f.call(agg, s, get(0, cols, c), get(1, cols, c), get(2, cols, c));
    }
    var a = [s];
    for (var i = 0; i < np; i++) a.push(get(i, cols, c));
    return f.apply(agg, a);
  }
  function bad(errs, j, v, want) {
    errs.push(j, 'TypeError: result() returned ' + (v === null ? 'null' : typeof v) + ' ' + String(v).slice(0, 40) + ', not ' + want, '');
  }
  function run(ops, groups, tags, cols, onum, ook) {
    var errs = [], strs = rk === 3 ? [] : null, failed = null;
    var acc = agg.accumulate, ret = agg.retract, c = 0, r = 0, n = ops.length;
    for (var j = 0; j < n; j++) {
      var g = groups[j], s, ci;
      switch (ops[j]) {
      case 0:
        ci = c++;
        try {
          if (g < 0) {
            s = call(acc, scnt === 0 ? agg.init() : sst, cols, ci);
            sst = s; scnt++;
          } else {
            s = call(acc, cnt[g] ? st[g] : agg.init(), cols, ci);
            st[g] = s; cnt[g] = (cnt[g] || 0) + 1;
          }
        } catch (e) {
          errs.push(j, msg(e), stk(e));
          if (failed === null) failed = new Set();
          failed.add(g + ':' + tags[j]);
        }
        break;
      case 1:
        ci = c++;
        if (!(g >= 0 && cnt[g])) break;
        if (failed !== null && failed.has(g + ':' + tags[j])) break;
        try {
          s = call(ret, st[g], cols, ci);
          if (--cnt[g] === 0) st[g] = undefined; else st[g] = s;
        } catch (e) { errs.push(j, msg(e), stk(e)); }
        break;
      case 2:
        var ri = r++, k = g < 0 ? scnt : (cnt[g] || 0), v;
        ook[ri] = 0;
        if (strs !== null) strs.push('');
        if (k === 0) break;
        try { v = agg.result(g < 0 ? sst : st[g]); } catch (e) { errs.push(j, msg(e), stk(e)); break; }
        if (v === null || v === undefined) break;
        switch (rk) {
        case 0:
          if (typeof v !== 'number') { bad(errs, j, v, 'a number'); break; }
          onum[ri] = v; ook[ri] = 1; break;
        case 1:
          if (typeof v !== 'number' || !Number.isInteger(v) || v < rlo || v > rhi) { bad(errs, j, v, 'an integer in [' + rlo + ', ' + rhi + ']'); break; }
          onum[ri] = v; ook[ri] = 1; break;
        case 2:
          if (typeof v !== 'boolean') { bad(errs, j, v, 'a boolean'); break; }
          onum[ri] = v ? 1 : 0; ook[ri] = 1; break;
        default:
          if (typeof v === 'object' || typeof v === 'function' || typeof v === 'symbol') { bad(errs, j, v, 'a string'); break; }
          strs[ri] = String(v); ook[ri] = 1;
        }
        break;
      case 3:
        if (g < 0) { sst = undefined; scnt = 0; } else { st[g] = undefined; cnt[g] = 0; }
        break;
      }
    }
    return [errs, strs];
  }
  function save() {
    var out = [];
    for (var g = 0; g < cnt.length; g++) {
      if (!cnt[g]) continue;
      var j;
      try { j = JSON.stringify(st[g]); } catch (e) {
        throw new TypeError('the state of group ' + g + ' is not JSON-serialisable (' + String(e) + ')');
      }
      out.push(g, cnt[g], j === undefined ? '' : j);
    }
    return out;
  }
  function load(list) {
    st = []; cnt = []; sst = undefined; scnt = 0;
    for (var i = 0; i < list.length; i += 3) {
      cnt[list[i]] = list[i + 1];
      st[list[i]] = list[i + 2] === '' ? undefined : JSON.parse(list[i + 2]);
    }
  }
  return { run: run, save: save, load: load };
})`

var aggDriverProg = goja.MustCompile(aggDriverName, aggDriverSrc, false)

// NewAggregate starts a pool for script, loads it once and checks that it
// defines init, accumulate, merge and result (retract is optional).
func NewAggregate(script *Script, spec AggregateSpec, opts Options) (*Aggregate, error) {
	pool, err := NewPool(script, opts)
	if err != nil {
		return nil, err
	}
	a := &Aggregate{spec: spec, pool: pool}
	err = pool.Do(context.Background(), func(rt *Runtime) error {
		obj, err := aggObject(rt)
		if err != nil {
			return err
		}
		a.retract = obj.Get("retract") != nil && !goja.IsUndefined(obj.Get("retract"))
		return nil
	})
	if err != nil {
		pool.Close()
		return nil, err
	}
	return a, nil
}

// aggObject finds the aggregate's object in a runtime and checks its
// functions.
func aggObject(rt *Runtime) (*goja.Object, error) {
	has := func(v goja.Value) (*goja.Object, bool) {
		o, ok := v.(*goja.Object)
		if !ok || o == nil {
			return nil, false
		}
		f := o.Get("accumulate")
		return o, f != nil && !goja.IsUndefined(f)
	}
	obj, ok := has(rt.Completion)
	if !ok {
		obj, ok = has(rt.Exports())
	}
	if !ok {
		// Functions declared globally.
		g := rt.VM.GlobalObject()
		if f := g.Get("accumulate"); f != nil && !goja.IsUndefined(f) {
			obj = rt.VM.NewObject()
			for _, n := range []string{"init", "accumulate", "merge", "result", "retract"} {
				if v := g.Get(n); v != nil && !goja.IsUndefined(v) {
					_ = obj.Set(n, v)
				}
			}
			ok = true
		}
	}
	if !ok {
		return nil, fmt.Errorf("%s: the script defines no aggregate: write an object { init() {...}, accumulate(state, x) {...}, merge(a, b) {...}, result(state) {...} }", rt.Name)
	}
	for _, n := range []string{"init", "accumulate", "merge", "result", "retract"} {
		v := obj.Get(n)
		if v == nil || goja.IsUndefined(v) {
			if n == "retract" {
				continue
			}
			return nil, fmt.Errorf("%s: the aggregate has no %s function: an aggregate needs init(), accumulate(state, x), merge(a, b) and result(state)", rt.Name, n)
		}
		if _, ok := goja.AssertFunction(v); !ok {
			return nil, fmt.Errorf("%s: %s is %s, not a function", rt.Name, n, v.ExportType())
		}
	}
	return obj, nil
}

// CanRetract says whether the script defines retract.
func (a *Aggregate) CanRetract() bool { return a.retract }

// Close stops the pool's watchdog. States opened before keep working until
// their next call fails.
func (a *Aggregate) Close() { a.pool.Close() }

// AggregateStates is the per-group states of one operator instance, in
// one pinned runtime. It is not safe for concurrent use.
type AggregateStates struct {
	a    *Aggregate
	in   *Instance
	run  goja.Callable
	save goja.Callable
	load goja.Callable
	ok   []byte
	tags []float64
}

// Open pins a runtime for one operator instance. The runtime is made at
// the first call.
func (a *Aggregate) Open() *AggregateStates {
	return &AggregateStates{a: a, in: a.pool.Pin()}
}

// ErrStatesLost wraps the error of a Run, Save or Load after which every
// group's state is gone: the call was interrupted (its runtime was thrown
// away) or failed halfway. The next call starts from empty states.
var ErrStatesLost = errors.New("the aggregate's states are lost")

// do runs f with the driver installed, resetting the instance when f fails
// in a way that leaves the states unknown.
func (s *AggregateStates) do(ctx context.Context, f func(rt *Runtime) error) error {
	err := s.in.Do(ctx, func(rt *Runtime, fresh bool) error {
		if fresh || s.run == nil {
			if err := s.install(rt); err != nil {
				return err
			}
		}
		return f(rt)
	})
	if err != nil {
		s.in.Reset()
		s.run = nil
		return fmt.Errorf("%w: %w", ErrStatesLost, err)
	}
	return nil
}

func (s *AggregateStates) install(rt *Runtime) error {
	obj, err := aggObject(rt)
	if err != nil {
		return err
	}
	fv, err := rt.VM.RunProgram(aggDriverProg)
	if err != nil {
		return err
	}
	factory, _ := goja.AssertFunction(fv)
	pk := make([]any, len(s.a.spec.Params))
	for i, p := range s.a.spec.Params {
		pk[i] = int(p)
	}
	d, err := factory(goja.Undefined(), obj, rt.VM.NewArray(pk...), rt.VM.ToValue(int(s.a.spec.Result)),
		rt.VM.ToValue(s.a.spec.ResultMin), rt.VM.ToValue(s.a.spec.ResultMax))
	if err != nil {
		return err
	}
	do := d.(*goja.Object)
	s.run, _ = goja.AssertFunction(do.Get("run"))
	s.save, _ = goja.AssertFunction(do.Get("save"))
	s.load, _ = goja.AssertFunction(do.Get("load"))
	return nil
}

// Run applies the batch's operations in order, in one call into
// JavaScript. Exceptions of single operations are b.Errors; an error
// returned wraps ErrStatesLost (and an *InterruptedError or *ScriptError):
// every state is gone and the batch's results are all NULL.
func (s *AggregateStates) Run(ctx context.Context, b *AggBatch) error {
	nres := 0
	for _, op := range b.Ops {
		if op == AggResult {
			nres++
		}
	}
	b.Nums = aggGrowF(b.Nums, nres)
	b.OK = b.OK[:0]
	if cap(s.ok) < nres {
		s.ok = make([]byte, nres)
	}
	s.ok = s.ok[:nres]
	clear(s.ok)
	b.Strs = b.Strs[:0]
	b.Errors = b.Errors[:0]
	if len(b.Ops) == 0 {
		return nil
	}
	err := s.do(ctx, func(rt *Runtime) error {
		vm := rt.VM
		cols := make([]any, len(b.Args))
		for i, c := range b.Args {
			if s.a.spec.Params[i] == AggString {
				vs := make([]any, len(c.Strs))
				for k, x := range c.Strs {
					vs[k] = x
				}
				cols[i] = vm.NewArray(vs...)
			} else {
				cols[i] = aggF64(vm, c.Nums)
			}
		}
		res, err := s.run(goja.Undefined(),
			aggTyped(vm, "Int32Array", aggI32Bytes(b.Ops)),
			aggTyped(vm, "Int32Array", aggI32Bytes(b.Groups)),
			aggF64(vm, s.tagFloats(b.Tags)),
			vm.NewArray(cols...),
			aggF64(vm, b.Nums),
			aggTyped(vm, "Uint8Array", s.ok))
		if err != nil {
			return err
		}
		pair := res.Export().([]any)
		errs, _ := pair[0].([]any)
		for k := 0; k+2 < len(errs); k += 3 {
			b.Errors = append(b.Errors, AggError{Op: int(aggInt(errs[k])), Message: fmt.Sprint(errs[k+1]), Stack: aggFrames(fmt.Sprint(errs[k+2]))})
		}
		if strs, ok := pair[1].([]any); ok {
			for _, x := range strs {
				str, _ := x.(string)
				b.Strs = append(b.Strs, str)
			}
		}
		return nil
	})
	for i := range nres {
		b.OK = append(b.OK, err == nil && s.ok[i] != 0)
	}
	if s.a.spec.Result == AggString {
		for len(b.Strs) < nres {
			b.Strs = append(b.Strs, "")
		}
	}
	return err
}

// AggState is one group's saved state.
type AggState struct {
	Group int32
	Count int64  // rows folded in
	JSON  string // JSON.stringify(state); "" for undefined
}

// Save returns every non-empty group's state. A state that JSON.stringify
// rejects (a cycle, a BigInt) is an error that says which group.
func (s *AggregateStates) Save(ctx context.Context) ([]AggState, error) {
	var out []AggState
	err := s.in.Do(ctx, func(rt *Runtime, fresh bool) error {
		if fresh || s.run == nil {
			// Nothing was ever accumulated in this runtime.
			return s.install(rt)
		}
		v, err := s.save(goja.Undefined())
		if err != nil {
			return err
		}
		list, _ := v.Export().([]any)
		for k := 0; k+2 < len(list); k += 3 {
			out = append(out, AggState{Group: int32(aggInt(list[k])), Count: aggInt(list[k+1]), JSON: fmt.Sprint(list[k+2])})
		}
		return nil
	})
	if err != nil {
		var ie *InterruptedError
		if errors.As(err, &ie) {
			s.in.Reset()
			s.run = nil
			return nil, fmt.Errorf("%w: %w", ErrStatesLost, err)
		}
		return nil, err
	}
	return out, nil
}

// Load replaces every state with the saved ones.
func (s *AggregateStates) Load(ctx context.Context, states []AggState) error {
	return s.do(ctx, func(rt *Runtime) error {
		list := make([]any, 0, 3*len(states))
		for _, st := range states {
			list = append(list, st.Group, st.Count, st.JSON)
		}
		_, err := s.load(goja.Undefined(), rt.VM.NewArray(list...))
		return err
	})
}

func aggInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	case int:
		return int64(x)
	}
	return 0
}

// userFrames drops the driver's frames from a JavaScript stack.
func aggFrames(stack string) string {
	if stack == "" {
		return ""
	}
	var lines []string
	for _, l := range strings.Split(stack, "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "at ") || strings.Contains(l, aggDriverName) {
			continue // the message line, the driver's frames
		}
		lines = append(lines, l)
	}
	// The driver calls the user's functions with Function.prototype.call.
	for len(lines) > 0 && (lines[len(lines)-1] == "at call (native)" || lines[len(lines)-1] == "at apply (native)") {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

func aggGrowF(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n)
	}
	b = b[:n]
	clear(b)
	return b
}

// typed makes a typed array of the named kind over data without copying.
func aggTyped(vm *goja.Runtime, kind string, data []byte) goja.Value {
	o, err := vm.New(vm.Get(kind), vm.ToValue(vm.NewArrayBuffer(data)))
	if err != nil {
		panic(err)
	}
	return o
}

func aggF64(vm *goja.Runtime, f []float64) goja.Value {
	if len(f) == 0 {
		return aggTyped(vm, "Float64Array", nil)
	}
	return aggTyped(vm, "Float64Array", unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), 8*len(f)))
}

func aggI32Bytes[T ~int32](v []T) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

// tagFloats converts tags to numbers (exact below 2^53) in a reused slice.
func (s *AggregateStates) tagFloats(tags []int64) []float64 {
	s.tags = s.tags[:0]
	for _, t := range tags {
		s.tags = append(s.tags, float64(t))
	}
	return s.tags
}
