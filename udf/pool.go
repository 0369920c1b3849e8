package udf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja_nodejs/buffer"
	"github.com/dop251/goja_nodejs/console"
	"github.com/dop251/goja_nodejs/require"
)

// Defaults of Limits.
const (
	DefaultTimeout          = 5 * time.Second
	DefaultMemoryLimit      = 256 << 20
	DefaultMaxCallStackSize = 10_000
)

// Limits bound one call into JavaScript.
type Limits struct {
	// Timeout interrupts a call that runs longer (DefaultTimeout when 0).
	Timeout time.Duration
	// MemoryLimit interrupts a call while the process's live heap has grown
	// by more than this many bytes since the call began
	// (DefaultMemoryLimit when 0). goja allocates on the Go heap, so the
	// guard watches the whole heap: it catches a runaway script, not a
	// precise per-script budget.
	MemoryLimit uint64
	// MaxCallStackSize turns deep or infinite recursion into a RangeError
	// (DefaultMaxCallStackSize when 0).
	MaxCallStackSize int
}

func (l Limits) withDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.MemoryLimit == 0 {
		l.MemoryLimit = DefaultMemoryLimit
	}
	if l.MaxCallStackSize <= 0 {
		l.MaxCallStackSize = DefaultMaxCallStackSize
	}
	return l
}

// Options configure a Pool.
type Options struct {
	// Name is the function or handler name, used in log lines and errors.
	Name   string
	Limits Limits
	// Idle is how many runtimes are kept between calls (GOMAXPROCS when 0).
	Idle int
	// Log receives console output (slog.Default() when nil).
	Log *slog.Logger
}

// Runtime is one goja runtime with the script loaded. It belongs to one
// caller between Pool.Do's start and end; never keep it after.
type Runtime struct {
	VM *goja.Runtime
	// Module is the CommonJS `module` object the script ran with.
	Module *goja.Object
	// Completion is the value of the script's last expression statement
	// (a function when the script is a bare function expression).
	Completion goja.Value
	// Name is the pool's name.
	Name string
	// Deadline is when the current call will be interrupted.
	Deadline time.Time
}

// Exports is module.exports after the script ran.
func (rt *Runtime) Exports() goja.Value { return rt.Module.Get("exports") }

// Function finds the function called name the way Lambda's runtime finds a
// handler, then plain scripts: module.exports[name], module.exports itself
// when it is a function, a global function of that name, and the script's
// completion value when that is a function.
func (rt *Runtime) Function(name string) (goja.Callable, goja.Value, error) {
	if ex, ok := rt.Exports().(*goja.Object); ok && ex != nil {
		if v := ex.Get(name); v != nil {
			if f, ok := goja.AssertFunction(v); ok {
				return f, v, nil
			}
		}
		if f, ok := goja.AssertFunction(ex); ok {
			return f, ex, nil
		}
	}
	if v := rt.VM.Get(name); v != nil {
		if f, ok := goja.AssertFunction(v); ok {
			return f, v, nil
		}
	}
	if rt.Completion != nil {
		if f, ok := goja.AssertFunction(rt.Completion); ok {
			return f, rt.Completion, nil
		}
	}
	return nil, nil, fmt.Errorf("%s: no function %q: set exports.%s (or module.exports) to a function, or declare function %s", rt.Name, name, name, name)
}

// ScriptError is an exception thrown by JavaScript and not caught.
type ScriptError struct {
	Function string
	Message  string // the thrown value, e.g. "TypeError: x is undefined"
	Stack    string // the JavaScript stack, one "at ..." frame per line
}

func (e *ScriptError) Error() string {
	return fmt.Sprintf("%s: %s", e.Function, e.Message)
}

// ErrTimeout and ErrMemoryLimit are what an interrupted call's error wraps.
var (
	ErrTimeout     = errors.New("JavaScript call timed out")
	ErrMemoryLimit = errors.New("JavaScript call exceeded its memory limit")
)

// InterruptedError is a call that kda stopped: on timeout, on the memory
// guard or because its context ended. The runtime it ran in is discarded.
type InterruptedError struct {
	Function string
	Cause    error // ErrTimeout, ErrMemoryLimit or the context's error
	Limit    string
	Stack    string // where the script was when it was stopped
}

func (e *InterruptedError) Error() string {
	if e.Limit != "" {
		return fmt.Sprintf("%s: %v (limit %s)", e.Function, e.Cause, e.Limit)
	}
	return fmt.Sprintf("%s: %v", e.Function, e.Cause)
}

func (e *InterruptedError) Unwrap() error { return e.Cause }

// Pool lends runtimes of one script to callers, one caller per runtime.
// It is safe for concurrent use.
type Pool struct {
	script *Script
	opts   Options
	reg    *require.Registry
	idle   chan *Runtime

	mu       sync.Mutex
	active   map[*call]struct{}
	watching bool // a watch goroutine runs
}

// call is one Do in progress, watched for its deadline and memory.
type call struct {
	rt       *Runtime
	deadline time.Time
	ctx      context.Context
	heapBase uint64 // 0 until the watchdog first sees the call
	stopped  error
}

// NewPool loads script into a first runtime, so that errors thrown while
// the script loads are reported now, and returns the pool.
func NewPool(script *Script, opts Options) (*Pool, error) {
	opts.Limits = opts.Limits.withDefaults()
	if opts.Name == "" {
		opts.Name = script.Name
	}
	if opts.Idle <= 0 {
		opts.Idle = runtime.GOMAXPROCS(0)
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	p := &Pool{
		script: script,
		opts:   opts,
		idle:   make(chan *Runtime, opts.Idle),
		active: map[*call]struct{}{},
	}
	p.reg = require.NewRegistry(require.WithLoader(func(path string) ([]byte, error) {
		return nil, fmt.Errorf("%s: require(%q): kda runs scripts without a file system; the built-in modules are buffer, util, zlib and console", opts.Name, path)
	}))
	p.reg.RegisterNativeModule("console", console.RequireWithPrinter(logPrinter{log: opts.Log.With("function", opts.Name)}))
	p.reg.RegisterNativeModule("zlib", requireZlib)
	err := p.Do(context.Background(), func(*Runtime) error { return nil })
	if err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Name is the pool's function or handler name.
func (p *Pool) Name() string { return p.opts.Name }

// Limits are the limits every call runs under.
func (p *Pool) Limits() Limits { return p.opts.Limits }

// Close drops the idle runtimes. Calls in progress finish normally. A
// pool holds no goroutine while no call is in progress, so an unclosed
// pool costs only its idle runtimes' memory until it is collected.
func (p *Pool) Close() {
	for {
		select {
		case <-p.idle:
		default:
			return
		}
	}
}

// Do lends a runtime to f for one call. JavaScript exceptions come back as
// *ScriptError; a call stopped by its limits or by ctx as
// *InterruptedError, and its runtime is thrown away.
func (p *Pool) Do(ctx context.Context, f func(*Runtime) error) error {
	var rt *Runtime
	select {
	case rt = <-p.idle:
	default:
	}
	c := &call{rt: rt, deadline: time.Now().Add(p.opts.Limits.Timeout), ctx: ctx}
	p.begin(c)
	err := p.run(c, f)
	stopped := p.end(c)
	if stopped != nil {
		return p.interrupted(stopped, err)
	}
	if c.rt != nil {
		select {
		case p.idle <- c.rt:
		default:
		}
	}
	return p.scriptError(err)
}

// interrupted is the error of a call its limits or its context stopped;
// err is what the call returned.
func (p *Pool) interrupted(stopped, err error) *InterruptedError {
	ie := &InterruptedError{Function: p.opts.Name, Cause: stopped}
	switch stopped {
	case ErrTimeout:
		ie.Limit = p.opts.Limits.Timeout.String()
	case ErrMemoryLimit:
		ie.Limit = fmt.Sprintf("%d MiB", p.opts.Limits.MemoryLimit>>20)
	}
	var gi *goja.InterruptedError
	if errors.As(err, &gi) {
		ie.Stack = frames(&gi.Exception)
	}
	return ie
}

// run makes the runtime if needed and calls f, turning panics into errors.
func (p *Pool) run(c *call, f func(*Runtime) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = e
			} else {
				err = fmt.Errorf("%s: panic: %v", p.opts.Name, r)
			}
			p.setRuntime(c, nil) // never reuse a runtime that panicked
		}
	}()
	if c.rt == nil {
		if _, err := p.newRuntime(c); err != nil {
			p.setRuntime(c, nil)
			return err
		}
	}
	c.rt.Deadline = c.deadline
	return f(c.rt)
}

// newRuntime makes a runtime and runs the script in it, under c's limits.
func (p *Pool) newRuntime(c *call) (*Runtime, error) {
	vm := goja.New()
	vm.SetMaxCallStackSize(p.opts.Limits.MaxCallStackSize)
	p.setRuntime(c, &Runtime{VM: vm, Name: p.opts.Name})
	p.reg.Enable(vm)
	buffer.Enable(vm)
	console.Enable(vm)
	module := vm.NewObject()
	if err := module.Set("exports", vm.NewObject()); err != nil {
		return nil, err
	}
	if err := vm.Set("module", module); err != nil {
		return nil, err
	}
	if err := vm.Set("exports", module.Get("exports")); err != nil {
		return nil, err
	}
	done, err := vm.RunProgram(p.script.prog)
	if err != nil {
		if se, ok := p.scriptError(err).(*ScriptError); ok {
			return nil, fmt.Errorf("%s: loading the script: %w", p.opts.Name, se)
		}
		return nil, err
	}
	c.rt.Module = module
	c.rt.Completion = done
	return c.rt, nil
}

func (p *Pool) scriptError(err error) error {
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		return &ScriptError{Function: p.opts.Name, Message: fmt.Sprintf("RangeError: Maximum call stack size exceeded (%d frames)", p.opts.Limits.MaxCallStackSize), Stack: frames(&so.Exception)}
	}
	var ex *goja.Exception
	if err == nil || !errors.As(err, &ex) {
		return err
	}
	msg := ""
	if v := ex.Value(); v != nil {
		msg = v.String()
	}
	return &ScriptError{Function: p.opts.Name, Message: msg, Stack: frames(ex)}
}

// maxFrames is how many frames of a stack are kept.
const maxFrames = 32

// frames is the JavaScript stack of an exception, one frame per line.
func frames(ex *goja.Exception) string {
	var b bytes.Buffer
	st := ex.Stack()
	for i, f := range st {
		if i == maxFrames {
			fmt.Fprintf(&b, "... %d more frames\n", len(st)-i)
			break
		}
		b.WriteString("at ")
		f.Write(&b)
		b.WriteByte('\n')
	}
	return cleanStack(b.String())
}

func (p *Pool) setRuntime(c *call, rt *Runtime) {
	p.mu.Lock()
	c.rt = rt
	p.mu.Unlock()
}

func (p *Pool) begin(c *call) {
	p.mu.Lock()
	p.active[c] = struct{}{}
	if !p.watching {
		p.watching = true
		go p.watch()
	}
	p.mu.Unlock()
}

// end unregisters c and reports why it was stopped, if it was.
func (p *Pool) end(c *call) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.active, c)
	if c.stopped != nil && c.rt != nil {
		c.rt.VM.ClearInterrupt()
		c.rt = nil
	}
	return c.stopped
}

// watchInterval is how often the watchdog looks at calls in progress.
const watchInterval = 10 * time.Millisecond

// watch interrupts calls past their deadline, over the memory guard or
// whose context ended. It runs while calls are in progress and exits when
// none is left.
func (p *Pool) watch() {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	for range t.C {
		p.mu.Lock()
		if len(p.active) == 0 {
			p.watching = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		metrics.Read(sample)
		heap := uint64(0)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			heap = sample[0].Value.Uint64()
		}
		p.check(time.Now(), heap)
	}
}

func (p *Pool) check(now time.Time, heap uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var oldest *call
	for c := range p.active {
		if c.stopped != nil || c.rt == nil {
			continue
		}
		switch {
		case now.After(c.deadline):
			p.interrupt(c, ErrTimeout)
			continue
		case c.ctx.Err() != nil:
			p.interrupt(c, c.ctx.Err())
			continue
		}
		if c.heapBase == 0 {
			c.heapBase = heap
			continue
		}
		if heap > c.heapBase+p.opts.Limits.MemoryLimit && (oldest == nil || c.deadline.Before(oldest.deadline)) {
			oldest = c
		}
	}
	if oldest != nil {
		// The heap is shared: stop the longest-running call over the
		// allowance, and measure the others from here.
		p.interrupt(oldest, ErrMemoryLimit)
		for c := range p.active {
			c.heapBase = heap
		}
	}
}

func (p *Pool) interrupt(c *call, why error) {
	c.stopped = why
	c.rt.VM.Interrupt(why)
}

// logPrinter sends console output to the application's log.
type logPrinter struct{ log *slog.Logger }

func (l logPrinter) Log(s string)   { l.log.Info(s, "source", "console") }
func (l logPrinter) Warn(s string)  { l.log.Warn(s, "source", "console") }
func (l logPrinter) Error(s string) { l.log.Error(s, "source", "console") }
