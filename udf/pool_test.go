package udf

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dop251/goja"
)

func newTestPool(t *testing.T, src string, opts Options) *Pool {
	t.Helper()
	s, err := Compile("test.js", src)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPool(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// callString calls the function name with args and returns its result as a string.
func callString(p *Pool, name string, args ...any) (string, error) {
	var out string
	err := p.Do(context.Background(), func(rt *Runtime) error {
		f, _, err := rt.Function(name)
		if err != nil {
			return err
		}
		vs := make([]goja.Value, len(args))
		for i, a := range args {
			vs[i] = rt.VM.ToValue(a)
		}
		v, err := f(goja.Undefined(), vs...)
		if err != nil {
			return err
		}
		out = v.String()
		return nil
	})
	return out, err
}

func TestCompileReportsLineAndColumn(t *testing.T) {
	_, err := Compile("bad.js", "function f() {\n  return 1 +;\n}")
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("want *SyntaxError, got %v", err)
	}
	if se.Line != 2 || se.Column != 13 || se.Script != "bad.js" {
		t.Fatalf("position: got %s:%d:%d, want bad.js:2:13 (%v)", se.Script, se.Line, se.Column, err)
	}
	if !strings.Contains(err.Error(), "bad.js:2:13") {
		t.Fatalf("message does not name the position: %v", err)
	}
}

func TestFunctionLookupStyles(t *testing.T) {
	cases := map[string]string{
		"exports":        "exports.handler = function (x) { return 'e' + x }",
		"module.exports": "module.exports.handler = (x) => 'm' + x",
		"module fn":      "module.exports = function (x) { return 'f' + x }",
		"global":         "function handler(x) { return 'g' + x }",
		"expression":     "(function (x) { return 'x' + x })",
	}
	want := map[string]string{"exports": "e1", "module.exports": "m1", "module fn": "f1", "global": "g1", "expression": "x1"}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := callString(newTestPool(t, src, Options{}), "handler", 1)
			if err != nil || got != want[name] {
				t.Fatalf("got %q, %v; want %q", got, err, want[name])
			}
		})
	}
	_, err := callString(newTestPool(t, "var x = 1;", Options{Name: "h"}), "handler")
	if err == nil || !strings.Contains(err.Error(), `no function "handler"`) {
		t.Fatalf("missing handler: %v", err)
	}
}

func TestExceptionCarriesStack(t *testing.T) {
	p := newTestPool(t, "function inner() { throw new TypeError('bad value'); }\nfunction handler() { return inner(); }", Options{Name: "fn"})
	_, err := callString(p, "handler")
	var se *ScriptError
	if !errors.As(err, &se) {
		t.Fatalf("want *ScriptError, got %T %v", err, err)
	}
	if se.Message != "TypeError: bad value" || se.Function != "fn" {
		t.Fatalf("got %+v", se)
	}
	if !strings.Contains(se.Stack, "inner (test.js:1:") || !strings.Contains(se.Stack, "handler (test.js:2:") {
		t.Fatalf("stack lacks frames:\n%s", se.Stack)
	}
	// The runtime is still usable after an ordinary exception.
	if _, err := callString(p, "handler"); !errors.As(err, &se) {
		t.Fatalf("second call: %v", err)
	}
}

func TestLoadTimeExceptionFailsNewPool(t *testing.T) {
	s, err := Compile("load.js", "throw new Error('no config');")
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewPool(s, Options{})
	if err == nil || !strings.Contains(err.Error(), "loading the script") || !strings.Contains(err.Error(), "no config") {
		t.Fatalf("got %v", err)
	}
}

func TestTimeoutInterruptsAndDiscardsRuntime(t *testing.T) {
	p := newTestPool(t, `var calls = 0;
function count() { return ++calls; }
function spin() { calls = 100; while (true) {} }`, Options{Name: "spin", Limits: Limits{Timeout: 50 * time.Millisecond}, Idle: 1})
	if got, _ := callString(p, "count"); got != "1" {
		t.Fatalf("count: %s", got)
	}
	start := time.Now()
	_, err := callString(p, "spin")
	var ie *InterruptedError
	if !errors.As(err, &ie) || !errors.Is(err, ErrTimeout) {
		t.Fatalf("want timeout, got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("interrupt took %s", d)
	}
	// The runtime that looped (with calls = 100) is gone: a fresh one
	// starts from the script's initial state.
	if got, err := callString(p, "count"); got != "1" || err != nil {
		t.Fatalf("after timeout: got %s, %v; want a fresh runtime", got, err)
	}
}

func TestContextCancelInterrupts(t *testing.T) {
	p := newTestPool(t, "function spin() { while (true) {} }", Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := p.Do(ctx, func(rt *Runtime) error {
		f, _, _ := rt.Function("spin")
		_, err := f(goja.Undefined())
		return err
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
}

func TestMemoryGuard(t *testing.T) {
	p := newTestPool(t, "function grow() { var a = []; while (true) { a.push('x'.repeat(1024) + a.length); } }",
		Options{Limits: Limits{MemoryLimit: 32 << 20, Timeout: time.Minute}})
	_, err := callString(p, "grow")
	if !errors.Is(err, ErrMemoryLimit) {
		t.Fatalf("want the memory guard, got %v", err)
	}
}

func TestDeepRecursionIsAnError(t *testing.T) {
	p := newTestPool(t, "function r(n) { return r(n + 1) + 1; }", Options{})
	_, err := callString(p, "r", 0)
	if err == nil || !strings.Contains(err.Error(), "Maximum call stack size exceeded") {
		t.Fatalf("got %v", err)
	}
}

func TestConsoleGoesToLogWithFunctionName(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	p := newTestPool(t, "function h(x) { console.log('seen %d', x); console.error('oops'); return x; }", Options{Name: "enrich", Log: log})
	if _, err := callString(p, "h", 7); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, `msg="seen 7" function=enrich`) || !strings.Contains(out, "level=ERROR msg=oops function=enrich") {
		t.Fatalf("log:\n%s", out)
	}
}

func TestBufferZlibAndRequire(t *testing.T) {
	p := newTestPool(t, `
const zlib = require('zlib');
function roundtrip(s) {
  const packed = zlib.gzipSync(Buffer.from(s, 'utf8')).toString('base64');
  return zlib.gunzipSync(Buffer.from(packed, 'base64')).toString('utf8') + '|' + zlib.unzipSync(zlib.deflateSync(Buffer.from(s))).toString();
}
function fs() { return require('fs'); }`, Options{})
	got, err := callString(p, "roundtrip", "héllo, wörld")
	if err != nil || got != "héllo, wörld|héllo, wörld" {
		t.Fatalf("got %q, %v", got, err)
	}
	_, err = callString(p, "fs")
	if err == nil || !strings.Contains(err.Error(), "without a file system") {
		t.Fatalf("require('fs'): %v", err)
	}
}

func TestConcurrentCallsUseSeparateRuntimes(t *testing.T) {
	p := newTestPool(t, "var n = 0; function inc(k) { for (var i = 0; i < k; i++) n++; var v = n; n = 0; return v; }", Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				got, err := callString(p, "inc", 1000)
				if err != nil || got != "1000" {
					errs <- errors.New("shared runtime: got " + got)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
