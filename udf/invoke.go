package udf

import (
	"fmt"
	"reflect"
	"time"

	"github.com/dop251/goja"
)

// InvokeContext is what a handler sees as Lambda's `context` argument.
type InvokeContext struct {
	FunctionName string
	RequestID    string
	FunctionARN  string
	Deadline     time.Time
}

// Invoke calls fn as Lambda's Node.js runtime calls a handler:
// fn(event, context, callback). Three styles work unchanged:
//
//	exports.handler = (event, context, callback) => { callback(null, result) }
//	exports.handler = async (event) => result
//	exports.handler = function (event) { return result }
//
// The result is the value given to callback(null, value), else the value a
// returned promise resolved to, else the returned value. callback(err), a
// rejected promise or a throw are errors (*ScriptError). A promise that is
// still pending when the call returns is an error: kda runs handlers
// without an event loop, so there are no timers or I/O to wait for.
func (rt *Runtime) Invoke(fn goja.Callable, event goja.Value, ic InvokeContext) (goja.Value, error) {
	vm := rt.VM
	var (
		called bool
		cbErr  goja.Value
		cbRes  goja.Value
	)
	callback := func(call goja.FunctionCall) goja.Value {
		if !called {
			called = true
			cbErr, cbRes = call.Argument(0), call.Argument(1)
		}
		return goja.Undefined()
	}
	ctx := vm.NewObject()
	_ = ctx.Set("functionName", ic.FunctionName)
	_ = ctx.Set("functionVersion", "$LATEST")
	_ = ctx.Set("invokedFunctionArn", ic.FunctionARN)
	_ = ctx.Set("awsRequestId", ic.RequestID)
	_ = ctx.Set("memoryLimitInMB", "0")
	_ = ctx.Set("callbackWaitsForEmptyEventLoop", true)
	_ = ctx.Set("getRemainingTimeInMillis", func() int64 {
		if ic.Deadline.IsZero() {
			return 0
		}
		return max(0, time.Until(ic.Deadline).Milliseconds())
	})
	// The legacy context.succeed / fail / done forms.
	_ = ctx.Set("succeed", func(v goja.Value) { callback(goja.FunctionCall{Arguments: []goja.Value{goja.Null(), v}}) })
	_ = ctx.Set("fail", func(v goja.Value) { callback(goja.FunctionCall{Arguments: []goja.Value{v}}) })
	_ = ctx.Set("done", callback)

	ret, err := fn(goja.Undefined(), event, ctx, vm.ToValue(callback))
	if err != nil {
		return nil, err
	}
	if called {
		if !isNullish(cbErr) {
			return nil, rt.thrownError(cbErr)
		}
		return cbRes, nil
	}
	// Only a promise is exported: exporting any other object would copy
	// the whole result (every record of a batch) into Go values.
	if p, ok := promise(ret); ok {
		switch p.State() {
		case goja.PromiseStateFulfilled:
			return p.Result(), nil
		case goja.PromiseStateRejected:
			return nil, rt.thrownError(p.Result())
		default:
			if called {
				return cbRes, nil
			}
			return nil, fmt.Errorf("%s: the handler returned a promise that never settled: kda runs handlers without timers or I/O, so nothing can resolve it later", rt.Name)
		}
	}
	return ret, nil
}

// thrownError turns a JavaScript error value (from callback(err) or a
// rejected promise) into a *ScriptError, with its stack when it has one.
func (rt *Runtime) thrownError(v goja.Value) error {
	se := &ScriptError{Function: rt.Name, Message: v.String()}
	if o, ok := v.(*goja.Object); ok {
		if s := o.Get("stack"); !isNullish(s) {
			se.Stack = s.String()
		}
	}
	return se
}

// promise is v as a *goja.Promise, when it is one.
func promise(v goja.Value) (*goja.Promise, bool) {
	if o, ok := v.(*goja.Object); !ok || o.ExportType() != promiseType {
		return nil, false
	}
	p, ok := v.Export().(*goja.Promise)
	return p, ok
}

var promiseType = reflect.TypeOf((*goja.Promise)(nil))

func isNullish(v goja.Value) bool {
	return v == nil || goja.IsUndefined(v) || goja.IsNull(v)
}
