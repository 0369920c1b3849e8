package delivery

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/kdaproject/kda/engine/store"
)

// DestinationID is the id of a delivery stream's one destination, as
// Firehose numbers them.
const DestinationID = "destinationId-000000000001"

// CodeConcurrentModification is the error code of an update that names a
// version the delivery stream no longer has.
const CodeConcurrentModification = "ConcurrentModificationException"

// UpdateInput is Firehose's UpdateDestination request: the fields of
// ExtendedS3DestinationUpdate (or, a kda extension, SinkDestinationUpdate)
// are merged into the destination's configuration.
type UpdateInput struct {
	DeliveryStreamName string `json:"DeliveryStreamName"`
	// CurrentDeliveryStreamVersionId is the VersionId the caller last
	// described; an update of any other version fails with
	// ConcurrentModificationException. Required.
	CurrentDeliveryStreamVersionId string `json:"CurrentDeliveryStreamVersionId"`
	// DestinationId is DestinationID (the Firehose API requires it; the
	// Go API accepts it empty).
	DestinationId               string                              `json:"DestinationId,omitempty"`
	ExtendedS3DestinationUpdate *ExtendedS3DestinationConfiguration `json:"ExtendedS3DestinationUpdate,omitempty"`
	SinkDestinationUpdate       *SinkDestination                    `json:"SinkDestinationUpdate,omitempty"`
}

// UpdateDestination changes a delivery stream's destination as Firehose
// does: with the destination kind unchanged, every top-level field the
// update sets replaces the one in the configuration (a nested object such
// as BufferingHints is replaced whole) and the others are kept; with the
// other kind (object store ↔ record sink, or another sink type) the update
// is the whole new configuration. The version goes up by one. Secrets the
// update gives as Mask (as describe shows them), or leaves out, are kept
// (KeepSecrets).
//
// Nothing buffered is lost: the worker stops, and the records it had not
// delivered yet stay in the spill stream and go to the new destination,
// in order, once it starts.
func (m *Manager) UpdateDestination(in UpdateInput) (Description, error) {
	if in.DestinationId != "" && in.DestinationId != DestinationID {
		return Description{}, invalid("DestinationId: %q is not a destination of %s (its one destination is %s)", in.DestinationId, in.DeliveryStreamName, DestinationID)
	}
	if in.CurrentDeliveryStreamVersionId == "" {
		return Description{}, invalid("CurrentDeliveryStreamVersionId: required (describe the delivery stream for its VersionId)")
	}
	if (in.ExtendedS3DestinationUpdate == nil) == (in.SinkDestinationUpdate == nil) {
		return Description{}, invalid("give exactly one of ExtendedS3DestinationUpdate and SinkDestinationUpdate")
	}
	return m.update(in.DeliveryStreamName, in.CurrentDeliveryStreamVersionId, func(old Definition) (Definition, error) {
		def := Definition{DeliveryStreamName: old.DeliveryStreamName, DeliveryStreamType: old.DeliveryStreamType}
		var err error
		switch {
		case in.ExtendedS3DestinationUpdate != nil && old.ExtendedS3DestinationConfiguration != nil:
			def.ExtendedS3DestinationConfiguration, err = mergeFields(old.ExtendedS3DestinationConfiguration, in.ExtendedS3DestinationUpdate)
		case in.ExtendedS3DestinationUpdate != nil:
			def.ExtendedS3DestinationConfiguration = in.ExtendedS3DestinationUpdate
		case old.SinkDestination != nil && (in.SinkDestinationUpdate.Type == "" || in.SinkDestinationUpdate.Type == old.SinkDestination.Type):
			def.SinkDestination, err = mergeFields(old.SinkDestination, in.SinkDestinationUpdate)
		default:
			def.SinkDestination = in.SinkDestinationUpdate
		}
		return def, err
	})
}

// Replace gives a delivery stream a whole new definition (the declarative
// form of UpdateDestination, used by "kda delivery update"): def's
// destination replaces the old one. currentVersion, when not empty, must
// be the stream's VersionId. As with UpdateDestination, secrets given as
// Mask or left out are kept while the sink type stays the same.
func (m *Manager) Replace(def Definition, currentVersion string) (Description, error) {
	return m.update(def.DeliveryStreamName, currentVersion, func(old Definition) (Definition, error) {
		if def.DeliveryStreamType != "" && def.DeliveryStreamType != old.DeliveryStreamType && old.DeliveryStreamType != "" {
			return Definition{}, invalid("DeliveryStreamType: %s cannot change to %s", old.DeliveryStreamType, def.DeliveryStreamType)
		}
		return def, nil
	})
}

// mergeFields returns old with every top-level field that upd sets (not
// absent, null or "") replaced by upd's.
func mergeFields[T any](old, upd *T) (*T, error) {
	base, err := json.Marshal(old)
	if err != nil {
		return nil, err
	}
	over, err := json.Marshal(upd)
	if err != nil {
		return nil, err
	}
	var fields, set map[string]json.RawMessage
	if err := json.Unmarshal(base, &fields); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(over, &set); err != nil {
		return nil, err
	}
	for k, v := range set {
		if string(v) != `""` && string(v) != "null" {
			fields[k] = v
		}
	}
	merged, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	out := new(T)
	if err := json.Unmarshal(merged, out); err != nil {
		return nil, fmt.Errorf("merge the destination update: %w", err)
	}
	return out, nil
}

// update swaps a delivery stream's definition for next(old) and restarts
// its worker on it; currentVersion, unless empty, must be the stream's
// version. The definition is validated and the connector opened
// before anything changes: an update that fails leaves the stream as it
// was.
func (m *Manager) update(name, currentVersion string, next func(Definition) (Definition, error)) (Description, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Description{}, &Error{Code: CodeServiceUnavailable, Message: "the delivery manager is closed"}
	}
	old, ok := m.workers[name]
	if !ok {
		return Description{}, &Error{Code: CodeResourceNotFound, Message: fmt.Sprintf("Firehose %s under account %s not found.", name, m.opts.AccountID)}
	}
	if current := fmt.Sprint(old.s.Version); currentVersion != "" && currentVersion != current {
		return Description{}, &Error{Code: CodeConcurrentModification, Message: fmt.Sprintf(
			"Cannot update firehose: %s since the current version id: %s and the specified version id: %s do not match", name, current, currentVersion)}
	}
	def, err := next(old.s.Definition)
	if err != nil {
		return Description{}, err
	}
	// Describe shows secrets masked: an update that sends the mask back,
	// or leaves a secret out, keeps the stored one.
	if def, err = KeepSecrets(old.s.Definition, def); err != nil {
		return Description{}, err
	}
	def.DeliveryStreamName = name
	if def.DeliveryStreamType == "" {
		def.DeliveryStreamType = old.s.Definition.DeliveryStreamType
	}
	p, err := compile(def)
	if err != nil {
		return Description{}, err
	}
	if err := m.checkConnector(p); err != nil {
		return Description{}, err
	}
	if p.sink != nil {
		if err := m.ensureStream(ErrorStreamName(name), 1); err != nil {
			return Description{}, err
		}
	}
	s := stored{Definition: def, Version: old.s.Version + 1, CreatedMs: old.s.CreatedMs}
	b, err := json.Marshal(s)
	if err != nil {
		return Description{}, err
	}
	// Open the new destination before stopping the old one, so that a
	// configuration the connector refuses changes nothing.
	w := m.newWorker(s)
	if err := w.open(); err != nil {
		return Description{}, err
	}
	old.stop()
	if err := old.closeDest(); err != nil {
		m.opts.Logger.Warn("close the replaced destination", "delivery_stream", name, "err", err)
	}
	if err := m.st.Commit(store.Txn{State: map[string][]byte{defKey(name): b}}); err != nil {
		// The old definition is still the stored one: run it again.
		_ = w.closeDest()
		again := m.newWorker(old.s)
		again.carryMetrics(old)
		m.workers[name] = again
		_ = again.start()
		return Description{}, fmt.Errorf("save delivery stream %s: %w", name, err)
	}
	w.carryMetrics(old)
	m.workers[name] = w
	w.launch()
	return w.describe(), nil
}

// launch starts the goroutine of a worker whose destination is open.
func (w *worker) launch() {
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.started = true
	go w.run()
}

// carryMetrics starts w's counters where the worker it replaces left them.
func (w *worker) carryMetrics(old *worker) {
	w.delivered.Store(old.delivered.Load())
	w.retried.Store(old.retried.Load())
	w.failed.Store(old.failed.Load())
	w.dropped.Store(old.dropped.Load())
}
