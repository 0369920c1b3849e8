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
//
// Delivery streams (kda's Firehose) run inside the engine too:
// eng.Delivery() creates them and puts records into them; their workers
// start when the engine opens and stop when it closes. Without an S3
// endpoint, ExtendedS3 destinations write to <dir>/s3/<bucket>/<key>.
package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/directory"
	"github.com/kdaproject/kda/connectors/kafka"
	"github.com/kdaproject/kda/connectors/mqtt"
	"github.com/kdaproject/kda/connectors/nats"
	"github.com/kdaproject/kda/connectors/nexmark"
	"github.com/kdaproject/kda/connectors/postgres"
	"github.com/kdaproject/kda/connectors/rabbitmq"
	"github.com/kdaproject/kda/connectors/redis"
	"github.com/kdaproject/kda/connectors/s3"
	"github.com/kdaproject/kda/connectors/source"
	"github.com/kdaproject/kda/connectors/webhook"
	"github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/engine/store"
)

// Options configures an Engine.
type Options struct {
	// Store configures the shard store; see store.Options for defaults.
	Store store.Options
	// Apps configures the application manager; see app.ManagerOptions.
	// Unset, Apps.Sources holds the engine's source kinds (Sources).
	Apps app.ManagerOptions
	// Delivery configures the delivery stream manager; see
	// delivery.ManagerOptions. Unset, it uses the engine's connectors
	// (Connectors) and the local directory object store under <dir>/s3.
	Delivery delivery.ManagerOptions
}

// Connectors are the destination connectors every engine registers.
// Adding a connector is one line here.
func Connectors() []delivery.Connector {
	return []delivery.Connector{
		directory.Connector(),
		postgres.Connector(),
		redis.Connector(),
		webhook.Connector(),
		nats.Connector(),
		mqtt.Connector(),
		rabbitmq.Connector(),
		kafka.Connector(),
		s3.Connector(),
	}
}

// Sources are the source kinds every engine registers: what an
// application's input.source may name. Adding a kind is one line here.
func Sources() []source.Connector {
	return []source.Connector{
		kafka.SourceConnector(),
		nats.SourceConnector(),
		mqtt.SourceConnector(),
		nexmark.SourceConnector(),
	}
}

// NewSourceRegistry returns a registry holding Sources.
func NewSourceRegistry() (*source.Registry, error) {
	reg := source.NewRegistry()
	for _, c := range Sources() {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// Engine is an open kda data directory.
type Engine struct {
	*store.Store
	dir      string
	apps     *app.Manager
	delivery *delivery.Manager
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
	dopts := opts.Delivery
	if dopts.Registry == nil {
		dopts.Registry = delivery.NewRegistry()
		for _, c := range Connectors() {
			if err := dopts.Registry.Register(c); err != nil {
				st.Close()
				return nil, err
			}
		}
	}
	if dopts.ObjectStoreKind == "" || dopts.ObjectStoreKind == "directory" && len(dopts.ObjectStoreConfig) == 0 {
		dopts.ObjectStoreKind = "directory"
		dopts.ObjectStoreConfig, _ = json.Marshal(directory.Config{Root: filepath.Join(dir, "s3")})
	}
	if dopts.Region == "" {
		dopts.Region = opts.Store.Region
	}
	if dopts.AccountID == "" {
		dopts.AccountID = opts.Store.AccountID
	}
	dm, err := delivery.NewManager(st, dopts)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("load delivery streams: %w", err)
	}
	aopts := opts.Apps
	if aopts.Deliveries == nil {
		aopts.Deliveries = dm
	}
	if aopts.Sources == nil {
		if aopts.Sources, err = NewSourceRegistry(); err != nil {
			dm.Close()
			st.Close()
			return nil, err
		}
	}
	apps, err := app.NewManager(st, aopts)
	if err != nil {
		dm.Close()
		st.Close()
		return nil, fmt.Errorf("load applications: %w", err)
	}
	return &Engine{Store: st, dir: dir, apps: apps, delivery: dm}, nil
}

// Delivery is the engine's delivery stream manager (kda's Firehose).
func (e *Engine) Delivery() *delivery.Manager { return e.delivery }

// Apps is the engine's SQL application manager.
func (e *Engine) Apps() *app.Manager { return e.apps }

// Dir is the engine's data directory.
func (e *Engine) Dir() string { return e.dir }

// Close stops the running applications after a final checkpoint, then
// the delivery workers (what they buffer stays in the spill streams and is
// delivered after the next Open), then flushes and closes the store.
func (e *Engine) Close() error {
	return errors.Join(e.apps.Close(), e.delivery.Close(), e.Store.Close())
}
