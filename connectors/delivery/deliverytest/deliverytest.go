// Package deliverytest helps the tests that need delivery streams but no
// real destination: a store in a temporary folder and a delivery manager
// whose sink kind "fake" takes any configuration and every record.
package deliverytest

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/engine/store"
)

// FakeKind is the sink kind NewManager registers, also its object store.
const FakeKind = "fake"

// nopSink takes every record.
type nopSink struct{}

func (nopSink) Deliver(context.Context, []delivery.Record) error { return nil }
func (nopSink) Close() error                                     { return nil }

// NewManager opens a store (throughput limits off) and a delivery manager
// with the sink kind FakeKind. Both are closed when the test ends, after
// whatever the test registers with t.Cleanup later.
func NewManager(t testing.TB) (*store.Store, *delivery.Manager) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "data"), store.Options{Throughput: store.ThroughputOptions{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := delivery.NewRegistry()
	if err := reg.Register(delivery.Connector{Kind: FakeKind, OpenSink: func(context.Context, json.RawMessage) (delivery.RecordSink, error) {
		return nopSink{}, nil
	}}); err != nil {
		t.Fatal(err)
	}
	m, err := delivery.NewManager(st, delivery.ManagerOptions{Registry: reg, ObjectStoreKind: FakeKind})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return st, m
}
