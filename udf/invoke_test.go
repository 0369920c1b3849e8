package udf

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func invoke(t *testing.T, src string) (string, error) {
	t.Helper()
	p := newTestPool(t, src, Options{Name: "h"})
	var out string
	err := p.Do(context.Background(), func(rt *Runtime) error {
		fn, _, err := rt.Function("handler")
		if err != nil {
			return err
		}
		v, err := rt.Invoke(fn, rt.VM.ToValue(map[string]any{"x": 20}), InvokeContext{FunctionName: "h", Deadline: rt.Deadline})
		if err != nil {
			return err
		}
		out = v.String()
		return nil
	})
	return out, err
}

func TestInvokeHandlerStyles(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"callback", "exports.handler = (event, context, callback) => { callback(null, event.x + 1); };", "21"},
		{"async", "exports.handler = async (event) => { const y = await Promise.resolve(event.x); return y * 2; };", "40"},
		{"promise", "exports.handler = (event) => new Promise((resolve) => resolve(event.x + 3));", "23"},
		{"plain", "function handler(event) { return event.x - 1; }", "19"},
		{"context.succeed", "exports.handler = function (event, context) { context.succeed(context.getRemainingTimeInMillis() > 0 ? 'ok' : 'late'); };", "ok"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := invoke(t, c.src)
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestInvokeErrors(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"callback error", "exports.handler = (e, c, cb) => cb(new Error('denied'));", "Error: denied"},
		{"rejected", "exports.handler = async () => { throw new RangeError('too big'); };", "RangeError: too big"},
		{"never settles", "exports.handler = () => new Promise(() => {});", "never settled"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := invoke(t, c.src)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v; want an error with %q", err, c.want)
			}
		})
	}
	_, err := invoke(t, "exports.handler = async () => { throw new Error('x'); };")
	var se *ScriptError
	if !errors.As(err, &se) || !strings.Contains(se.Stack, "test.js") {
		t.Fatalf("rejection should carry the JavaScript stack: %#v", err)
	}
}
