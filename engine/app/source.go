package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/kdaproject/kda/connectors/source"
	"github.com/kdaproject/kda/engine/store"
)

// Applications reading another system (input.source, a kda extension).
//
//	Kafka topic ──source.Bridge "<app>"──▶ kda stream input.stream ──shard readers──▶ application
//
// The bridge is part of the application's runner: it starts after the
// runner has started reading and is closed first when the runner stops
// (on Stop, Update, Delete, an error, or the manager's Close), before the
// final checkpoint. Both halves are exactly once on their own: the bridge
// commits the copied records together with the source positions
// (source.StateKey(name)), and the application commits its outputs
// together with its input stream positions. So nothing is lost or
// repeated whichever half stops first, and the stream in between is the
// replayable copy. One runner per application runs at a time and its
// bridge is closed before the runner ends, so one bridge per application
// runs at a time, as source.Bridge requires.
//
// A down source is an outage, not a definition error: Create and Update
// only open the configuration (source.Connector.Open does not connect),
// and the running bridge retries with backoff, reporting its last error
// in Description.Source.

// SourceStreamPrefix prefixes the default input stream of an application
// with input.source and no input.stream.
const SourceStreamPrefix = "kda-source-"

// sourceStreamShards is the shard count of an input stream the manager
// creates for a source: one is enough to start with. For more, create the
// stream yourself and name it in input.stream.
const sourceStreamShards = 1

// SourceStreamName is the input stream the engine feeds from an
// application's source when input.stream is not set.
func SourceStreamName(app string) string { return SourceStreamPrefix + app }

// SourceStatus is what Describe reports of an application's source bridge.
type SourceStatus struct {
	// Kind is the source kind; Bridge names the bridge (the application)
	// and Stream the kda stream it copies into.
	Kind   string `json:"kind"`
	Bridge string `json:"bridge"`
	Stream string `json:"stream"`
	// Running says the bridge is copying (the application is running).
	Running bool `json:"running"`
	// Copied, Commits and Errors count since the bridge started.
	Copied  int64 `json:"copied"`
	Commits int64 `json:"commits"`
	Errors  int64 `json:"errors"`
	// Lag is the messages the source holds beyond what was read, or -1
	// when unknown (or not running).
	Lag int64 `json:"lag"`
	// LastError is the latest error, "" after a success.
	LastError   string     `json:"lastError,omitempty"`
	LastErrorAt *time.Time `json:"lastErrorAt,omitempty"`
	LastCopyAt  *time.Time `json:"lastCopyAt,omitempty"`
	// Positions are the committed source positions (partition → position).
	Positions source.Positions `json:"positions"`
}

// validate checks what can be checked without the engine's registry.
func (s *InputSource) validate() error {
	if s == nil {
		return nil
	}
	if s.Kind == "" {
		return fmt.Errorf("input.source.kind: name the source kind, e.g. \"kafka\"")
	}
	switch s.PartitionKey {
	case source.KeyByMessageKey, source.KeyBySourcePartition:
	default:
		return fmt.Errorf("input.source.partitionKey: %q is not %q or %q", s.PartitionKey, source.KeyByMessageKey, source.KeyBySourcePartition)
	}
	if c := bytes.TrimSpace(s.Config); len(c) > 0 && (c[0] != '{' || !json.Valid(c)) {
		return fmt.Errorf("input.source.config: want a JSON object (the %s source's configuration)", s.Kind)
	}
	return nil
}

// config is the source's configuration, {} when unset.
func (s *InputSource) config() json.RawMessage {
	if len(bytes.TrimSpace(s.Config)) == 0 {
		return json.RawMessage(`{}`)
	}
	return s.Config
}

// openSource opens an application's source from the registry, naming the
// definition's field at fault. Opening validates the configuration and
// does not connect.
func openSource(reg *source.Registry, s *InputSource) (source.Source, error) {
	if reg == nil {
		return nil, fmt.Errorf("input.source.kind: %q is not a source kind (this engine has no sources registered)", s.Kind)
	}
	if _, ok := reg.Lookup(s.Kind); !ok {
		return nil, fmt.Errorf("input.source.kind: %q is not a source kind (%s)", s.Kind, strings.Join(reg.Kinds(), ", "))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	src, err := reg.Open(ctx, s.Kind, s.config())
	if err != nil {
		return nil, fmt.Errorf("input.source.config: %w", err)
	}
	return src, nil
}

// checkSource validates def's source configuration by opening it.
func checkSource(reg *source.Registry, def Definition) error {
	if def.Input.Source == nil {
		return nil
	}
	src, err := openSource(reg, def.Input.Source)
	if err != nil {
		return err
	}
	return src.Close()
}

// ensureSourceStream creates the input stream of an application with a
// source when it does not exist.
func ensureSourceStream(st *store.Store, def Definition) error {
	if _, err := st.DescribeStream(def.Input.Stream); err == nil {
		return nil
	}
	err := st.CreateStream(store.CreateStreamInput{StreamName: def.Input.Stream, ShardCount: sourceStreamShards})
	if err != nil && store.ErrorCode(err) != store.CodeResourceInUse {
		return fmt.Errorf("input.stream: create %s for input.source: %w", def.Input.Stream, err)
	}
	return nil
}

// newSourceBridge opens the application's source and prepares (does not
// start) its bridge into the input stream.
func newSourceBridge(cfg runConfig) (*source.Bridge, error) {
	def := cfg.def
	src, err := openSource(cfg.sources, def.Input.Source)
	if err != nil {
		return nil, err
	}
	logger := cfg.logger
	b, err := source.NewBridge(cfg.store, def.Name, src, def.Input.Stream, source.Options{
		PartitionKey: def.Input.Source.PartitionKey,
		Logf: func(format string, args ...any) {
			logger.Warn("source bridge: "+fmt.Sprintf(format, args...), "app", def.Name)
		},
	})
	if err != nil {
		src.Close()
		return nil, fmt.Errorf("input.source: %w", err)
	}
	return b, nil
}

// sourceStatus describes an application's bridge: live stats while b
// runs, the saved positions otherwise. Caller holds m.mu.
func (m *Manager) sourceStatus(def Definition, b *source.Bridge) *SourceStatus {
	if def.Input.Source == nil {
		return nil
	}
	s := &SourceStatus{Kind: def.Input.Source.Kind, Bridge: def.Name, Stream: def.Input.Stream, Lag: -1}
	if b == nil {
		if pos, err := source.SavedPositions(m.st, def.Name); err == nil {
			s.Positions = pos
		} else {
			s.LastError = err.Error()
		}
		return s
	}
	st := b.Stats()
	s.Running = true
	s.Copied, s.Commits, s.Errors, s.Lag = st.Copied, st.Commits, st.Errors, st.Lag
	s.LastError, s.Positions = st.LastError, st.Positions
	if !st.LastErrorAt.IsZero() {
		t := st.LastErrorAt
		s.LastErrorAt = &t
	}
	if !st.LastCopyAt.IsZero() {
		t := st.LastCopyAt
		s.LastCopyAt = &t
	}
	return s
}
