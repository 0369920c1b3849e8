// Package engine is kda's embedding API: open a data directory and use its
// streams from your own Go program, with the same durable shard store that
// `kda serve` exposes over the Kinesis-compatible API.
//
//	eng, err := engine.Open("./kda-data", engine.Options{})
//	...
//	defer eng.Close()
//	eng.CreateStream(store.CreateStreamInput{StreamName: "clicks", ShardCount: 2})
//	eng.PutRecords("clicks", []store.PutRecordInput{{PartitionKey: "u1", Data: []byte(`{"page":"/"}`)}})
//
// Every store operation (create, describe, put, iterators, resharding,
// retention, consumers) is available on *Engine through the embedded
// *store.Store. SQL applications run inside the engine: eng.Apps() creates,
// updates, starts and stops them; the engine starts the ones meant to run
// when it opens and stops them after a final checkpoint when it closes.
package engine

import (
	"errors"
	"fmt"
	"os"

	"github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/engine/store"
)

// Options configures an Engine.
type Options struct {
	// Store configures the shard store; see store.Options for defaults.
	Store store.Options
	// Apps configures the application manager; see app.ManagerOptions.
	Apps app.ManagerOptions
}

// Engine is an open kda data directory.
type Engine struct {
	*store.Store
	dir  string
	apps *app.Manager
}

// Open opens (or creates) the data directory dir.
func Open(dir string, opts Options) (*Engine, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dir, err)
	}
	st, err := store.Open(dir+"/streams", opts.Store)
	if err != nil {
		return nil, err
	}
	apps, err := app.NewManager(st, opts.Apps)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("load applications: %w", err)
	}
	return &Engine{Store: st, dir: dir, apps: apps}, nil
}

// Apps is the engine's SQL application manager.
func (e *Engine) Apps() *app.Manager { return e.apps }

// Dir is the engine's data directory.
func (e *Engine) Dir() string { return e.dir }

// Close stops the running applications after a final checkpoint, then
// flushes and closes the store.
func (e *Engine) Close() error {
	return errors.Join(e.apps.Close(), e.Store.Close())
}
