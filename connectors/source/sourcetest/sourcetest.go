// Package sourcetest helps the tests of source connectors: it runs a real
// source.Bridge from a connector's source into a store, with short
// backoffs, and waits for conditions on it.
package sourcetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/kdaproject/kda/connectors/source"
)

// StartBridge opens c's source with config through a registry, as the
// engine does, and starts a bridge named name from it into stream. Unset
// backoffs are 20ms to 200ms and errors go to the test log. The bridge is
// closed when the test ends.
func StartBridge(t testing.TB, st source.Store, c source.Connector, config, name, stream string, opts source.Options) *source.Bridge {
	t.Helper()
	reg := source.NewRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	src, err := reg.Open(context.Background(), c.Kind, json.RawMessage(config))
	if err != nil {
		t.Fatal(err)
	}
	if opts.MinBackoff == 0 {
		opts.MinBackoff = 20 * time.Millisecond
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 200 * time.Millisecond
	}
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	b, err := source.NewBridge(st, name, src, stream, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// WaitUntil polls cond every 10ms and fails the test when it is still
// false after timeout.
func WaitUntil(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
