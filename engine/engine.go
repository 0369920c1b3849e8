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
// *store.Store; SQL applications will hang off the engine as they arrive.
package engine

import (
	"fmt"
	"os"

	"github.com/kdaproject/kda/engine/store"
)

// Options configures an Engine.
type Options struct {
	// Store configures the shard store; see store.Options for defaults.
	Store store.Options
}

// Engine is an open kda data directory.
type Engine struct {
	*store.Store
	dir string
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
	return &Engine{Store: st, dir: dir}, nil
}

// Dir is the engine's data directory.
func (e *Engine) Dir() string { return e.dir }

// Close flushes and closes everything the engine holds.
func (e *Engine) Close() error { return e.Store.Close() }
