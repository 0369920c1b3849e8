package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	firehose "github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/source"
	"github.com/kdaproject/kda/engine/store"
)

// Application states, as Kinesis Data Analytics names them where it can.
const (
	// StatusReady: created (or stopped) and not running.
	StatusReady = "READY"
	// StatusRunning: reading its input and checkpointing.
	StatusRunning = "RUNNING"
	// StatusFailed: meant to run but could not start or stopped on an
	// error (see Description.Error); the manager retries it.
	StatusFailed = "FAILED"
)

// Errors the manager's callers tell apart (errors.Is).
var (
	ErrNotFound = errors.New("application not found")
	ErrExists   = errors.New("application already exists")
	ErrInvalid  = errors.New("invalid application")
	// ErrCannotStart: the definition is fine but the application cannot
	// run now, e.g. its input stream does not exist.
	ErrCannotStart = errors.New("cannot start application")
	// ErrNotRunning: the request needs a running application.
	ErrNotRunning = errors.New("application not running")
	// ErrReferenceLoad: a reference table did not load; its previous
	// snapshot stays in use.
	ErrReferenceLoad = errors.New("reference table not loaded")
)

// ManagerOptions configures a Manager.
type ManagerOptions struct {
	// Logger receives warnings and errors of running applications
	// (default: discarded).
	Logger *slog.Logger
	// Now is the wall clock ROWTIME comes from (default time.Now).
	Now func() time.Time
	// Heartbeat is how often running applications advance their clock so
	// idle windows close (default 100ms).
	Heartbeat time.Duration
	// RetryInterval is how often an application that should run but
	// failed is started again (default 5s).
	RetryInterval time.Duration
	// Paused records desired states but runs nothing: for tools that edit
	// a data directory's applications without serving it.
	Paused bool
	// OutputDir, when set, confines file outputs: outputs[].file must be a
	// relative path that stays inside it, and is written there. A server
	// sets it to <data>/outputs so no request writes elsewhere.
	OutputDir string
	// Sources are the source kinds input.source may name (source.go); the
	// engine registers every kind it knows. Nil: no application can
	// have a source.
	Sources *source.Registry
	// Deliveries runs the delivery streams outputs[].deliveryStream
	// declares inline (deliverystream.go). Nil: such outputs are refused.
	Deliveries *firehose.Manager
	// ReferenceDir, when set, confines reference table file sources:
	// source.file must be a relative path inside it, read there. A server
	// sets it to <data>/reference so no request reads other files.
	ReferenceDir string
	// Objects reads reference tables' s3 sources. Nil: the object store of
	// Deliveries (the directory store <data>/s3 or S3), opened on first use.
	Objects ObjectReader
	// MaxReferenceBytes is the largest source a reference table may load
	// (default DefaultMaxReferenceBytes, 1 GiB, KDA's limit).
	MaxReferenceBytes int64
}

// EnsureDefaults fills unset options.
func (o *ManagerOptions) EnsureDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 100 * time.Millisecond
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = 5 * time.Second
	}
}

// Manager keeps the applications of a store: their definitions and version
// ids persist in the store's application state, and the applications meant
// to run are started when the manager opens. It is safe for concurrent use.
type Manager struct {
	st   *store.Store
	opts ManagerOptions

	mu   sync.Mutex // serializes lifecycle changes
	apps map[string]*managed
	// fmu guards funcs, the function catalog by upper-case name
	// (functions.go). Taken after mu when both are.
	fmu    sync.RWMutex
	funcs  map[string]*functionRecord
	closed bool
	quit   chan struct{}
	wg     sync.WaitGroup

	// omu guards objects, the object store s3 reference sources are read
	// from, opened on first use when ManagerOptions.Objects is nil.
	omu     sync.Mutex
	objects firehose.ObjectStore
}

type managed struct {
	rec     appRecord
	run     *runner
	failure string // why it is not running although it should
}

// appRecord is what the store keeps of an application.
type appRecord struct {
	Definition Definition `json:"definition"`
	Version    int64      `json:"version"`
	// Desired is RUNNING or READY.
	Desired   string    `json:"desired"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// NewManager loads the store's applications and starts those meant to run.
// An application that cannot start is reported FAILED and retried.
func NewManager(st *store.Store, opts ManagerOptions) (*Manager, error) {
	opts.EnsureDefaults()
	m := &Manager{st: st, opts: opts, apps: map[string]*managed{}, funcs: map[string]*functionRecord{}, quit: make(chan struct{})}
	if err := m.loadFunctions(); err != nil {
		return nil, err
	}
	keys, err := st.AppStateKeys(stateKeyPrefix)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if !strings.HasSuffix(k, "/"+keyDefinition) {
			continue
		}
		b, err := st.AppState(k)
		if err != nil {
			return nil, err
		}
		var rec appRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, fmt.Errorf("read application definition %s: %w", k, err)
		}
		m.apps[rec.Definition.Name] = &managed{rec: rec}
	}
	if !opts.Paused {
		m.mu.Lock()
		for _, a := range m.apps {
			if a.rec.Desired == StatusRunning {
				m.launch(a, runConfig{})
			}
		}
		m.mu.Unlock()
		m.wg.Add(1)
		go m.retryLoop()
	}
	return m, nil
}

// retryLoop starts again the applications that should run but do not.
func (m *Manager) retryLoop() {
	defer m.wg.Done()
	t := time.NewTicker(m.opts.RetryInterval)
	defer t.Stop()
	for {
		select {
		case <-m.quit:
			return
		case <-t.C:
		}
		m.mu.Lock()
		// A tick taken just before Close may wait here while Close stops
		// the runners. Close keeps the desired states, so without this
		// check every application would look stopped-but-meant-to-run and
		// get a runner that nothing ever stops: beside the next manager's
		// runner it reads the same input and commits every window twice.
		if m.closed {
			m.mu.Unlock()
			return
		}
		for _, a := range m.apps {
			if a.rec.Desired == StatusRunning && !m.running(a) {
				m.launch(a, runConfig{})
			}
		}
		m.mu.Unlock()
	}
}

// running reports whether a's runner is alive; a runner that ended on an
// error is collected and its error kept. Caller holds m.mu.
func (m *Manager) running(a *managed) bool {
	if a.run == nil {
		return false
	}
	select {
	case <-a.run.done:
		if a.run.err != nil {
			a.failure = a.run.err.Error()
			m.opts.Logger.Error("application stopped on an error", "app", a.rec.Definition.Name, "err", a.run.err)
		}
		a.run = nil
		return false
	default:
		return true
	}
}

// launch starts a's runner; a failure is recorded, not returned. Caller
// holds m.mu.
func (m *Manager) launch(a *managed, rc runConfig) error {
	if m.opts.Paused {
		return nil
	}
	if m.closed {
		// Close has stopped every runner; one started now would outlive it.
		return errors.New("the application manager is closed")
	}
	rc.store, rc.def, rc.version = m.st, a.rec.Definition, a.rec.Version
	rc.logger, rc.now, rc.heartbeat = m.opts.Logger, m.opts.Now, m.opts.Heartbeat
	rc.outputDir = m.opts.OutputDir
	rc.library = m.Library()
	rc.sources = m.opts.Sources
	rc.refs = ReferenceOptions{Dir: m.opts.ReferenceDir, Objects: m.objectReader, MaxBytes: m.opts.MaxReferenceBytes,
		Logger: m.opts.Logger.With("app", a.rec.Definition.Name), Now: m.opts.Now}
	r, err := startRunner(rc)
	if err != nil {
		a.failure = err.Error()
		return err
	}
	a.run, a.failure = r, ""
	return nil
}

// halt stops a's runner, with a final checkpoint when final. Caller holds m.mu.
func (m *Manager) halt(a *managed, final bool) error {
	if a.run == nil {
		return nil
	}
	err := a.run.stopRunner(final)
	a.run = nil
	if err != nil {
		return fmt.Errorf("stop application %s: %w", a.rec.Definition.Name, err)
	}
	return nil
}

func (m *Manager) save(rec appRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode application %s: %w", rec.Definition.Name, err)
	}
	return m.st.Commit(store.Txn{State: map[string][]byte{appKey(rec.Definition.Name, keyDefinition): b}})
}

// check validates and compiles a definition, naming what is wrong.
func (m *Manager) check(def Definition) (Definition, error) {
	def = def.WithDefaults()
	if err := def.Validate(); err != nil {
		return def, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if m.opts.OutputDir != "" {
		for i, o := range def.Outputs {
			if o.File == "" {
				continue
			}
			if _, err := outputPath(m.opts.OutputDir, o.File); err != nil {
				return def, fmt.Errorf("%w: outputs[%d].file: %w", ErrInvalid, i, err)
			}
		}
	}
	if m.opts.ReferenceDir != "" {
		for i, t := range def.ReferenceTables {
			if f := t.Source.File; f != "" && !filepath.IsLocal(f) {
				return def, fmt.Errorf("%w: referenceTables[%d].source.file: %q must be a relative path inside the server's reference directory %s (no leading / and no ..); copy the file there, or use an s3 source",
					ErrInvalid, i, f, m.opts.ReferenceDir)
			}
		}
	}
	if def.Input.Stream == "" {
		return def, fmt.Errorf("%w: input.stream: name the kda stream the application reads", ErrInvalid)
	}
	if err := checkSource(m.opts.Sources, def); err != nil {
		return def, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	rt, err := CompileWith(def, nil, m.Library())
	if err != nil {
		return def, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	defer rt.Close()
	names := rt.StreamNames()
	for i, o := range def.Outputs {
		found := false
		for _, n := range names {
			found = found || n == o.Name
		}
		if !found {
			return def, fmt.Errorf("%w: outputs[%d].name: no in-application stream %q; the application has %s (names are case-sensitive)",
				ErrInvalid, i, o.Name, strings.Join(names, ", "))
		}
	}
	if err := m.ensureDeliveryStreams(def); err != nil {
		return def, err
	}
	return def, nil
}

func (m *Manager) get(name string) (*managed, error) {
	if m.closed {
		return nil, errors.New("the application manager is closed")
	}
	a, ok := m.apps[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return a, nil
}

// Create adds an application in state READY with version id 1.
func (m *Manager) Create(def Definition) (Description, error) {
	def, err := m.check(def)
	if err != nil {
		return Description{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Description{}, errors.New("the application manager is closed")
	}
	if _, ok := m.apps[def.Name]; ok {
		return Description{}, fmt.Errorf("%w: %q; update it or delete it first", ErrExists, def.Name)
	}
	now := m.opts.Now().UTC()
	rec := appRecord{Definition: def, Version: 1, Desired: StatusReady, CreatedAt: now, UpdatedAt: now}
	// A previous application of the same name may have left state behind.
	if err := m.st.DeleteAppState(stateKeyPrefix + def.Name + "/"); err != nil {
		return Description{}, err
	}
	if err := m.save(rec); err != nil {
		return Description{}, err
	}
	a := &managed{rec: rec}
	m.apps[def.Name] = a
	return m.describe(a), nil
}

// Start runs an application. from is "" to resume from its last checkpoint
// (or, without one, from its input's startingPosition), or NOW or
// TRIM_HORIZON to discard the checkpoint and start afresh there.
func (m *Manager) Start(name, from string) (Description, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, err := m.get(name)
	if err != nil {
		return Description{}, err
	}
	from = strings.ToUpper(from)
	switch from {
	case "", StartLastStoppedPoint:
		from = ""
	case StartNow, StartTrimHorizon:
	default:
		return Description{}, fmt.Errorf("%w: start position %q is not NOW, TRIM_HORIZON or LAST_STOPPED_POINT", ErrInvalid, from)
	}
	if m.running(a) {
		if from == "" {
			return m.describe(a), nil
		}
		if err := m.halt(a, false); err != nil {
			return Description{}, err
		}
	}
	if err := m.launch(a, runConfig{reset: from != "", position: from}); err != nil {
		return Description{}, fmt.Errorf("%w %s: %w", ErrCannotStart, name, err)
	}
	if a.rec.Desired != StatusRunning {
		a.rec.Desired = StatusRunning
		if err := m.save(a.rec); err != nil {
			return Description{}, err
		}
	}
	return m.describe(a), nil
}

// Stop takes a final checkpoint and stops an application; a later Start
// resumes where it stopped.
func (m *Manager) Stop(name string) (Description, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, err := m.get(name)
	if err != nil {
		return Description{}, err
	}
	m.running(a)
	herr := m.halt(a, true)
	a.failure = ""
	if a.rec.Desired != StatusReady {
		a.rec.Desired = StatusReady
		if err := m.save(a.rec); err != nil {
			return Description{}, err
		}
	}
	return m.describe(a), herr
}

// Update replaces an application's definition and increments its version
// id. A source bridge keeps its positions unless the source kind changes
// (or the source is removed). A running application is stopped (with a final checkpoint) and
// started again with the new definition. When the SQL and input schema are
// unchanged its state carries over; otherwise the old operator state cannot
// mean anything to the new plan, and the application continues from the
// checkpointed input positions with empty windows.
func (m *Manager) Update(name string, def Definition) (Description, error) {
	if def.Name == "" {
		def.Name = name
	}
	if def.Name != name {
		return Description{}, fmt.Errorf("%w: name: the definition names %q, the request %q; an application cannot be renamed", ErrInvalid, def.Name, name)
	}
	def, err := m.check(def)
	if err != nil {
		return Description{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a, err := m.get(name)
	if err != nil {
		return Description{}, err
	}
	m.running(a)
	if err := m.halt(a, true); err != nil {
		return Description{}, err
	}
	if old := a.rec.Definition.Input.Source; old != nil && (def.Input.Source == nil || def.Input.Source.Kind != old.Kind) {
		// Positions of another kind mean nothing to the new source.
		if err := m.st.DeleteAppState(source.StatePrefix(name)); err != nil {
			return Description{}, err
		}
	}
	a.rec.Definition = def
	a.rec.Version++
	a.rec.UpdatedAt = m.opts.Now().UTC()
	if err := m.save(a.rec); err != nil {
		return Description{}, err
	}
	if a.rec.Desired == StatusRunning {
		if err := m.launch(a, runConfig{}); err != nil {
			return m.describe(a), fmt.Errorf("%w %s (updated to version %d): %w", ErrCannotStart, name, a.rec.Version, err)
		}
	}
	return m.describe(a), nil
}

// Delete stops an application without a checkpoint and removes it, its
// state and its registered consumer. Output files and streams stay.
func (m *Manager) Delete(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, err := m.get(name)
	if err != nil {
		return err
	}
	m.running(a)
	_ = m.halt(a, false)
	if err := m.st.DeleteAppState(stateKeyPrefix + name + "/"); err != nil {
		return err
	}
	if a.rec.Definition.Input.Source != nil {
		// The bridge stopped with the runner; its positions go with the
		// application. The input stream and what it holds stay.
		if err := m.st.DeleteAppState(source.StatePrefix(name)); err != nil {
			return err
		}
	}
	delete(m.apps, name)
	if desc, err := m.st.DescribeStream(a.rec.Definition.Input.Stream); err == nil {
		_ = m.st.DeregisterConsumer(desc.StreamARN, consumerName(name), "")
	}
	return nil
}

// Errors returns up to limit of the latest error_stream rows of a running
// application (as JSON objects, oldest first); none when it is not running.
func (m *Manager) Errors(name string, limit int) ([]json.RawMessage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, err := m.get(name)
	if err != nil {
		return nil, err
	}
	if !m.running(a) {
		return []json.RawMessage{}, nil
	}
	return a.run.errRing.latest(limit), nil
}

// Describe reports an application's state.
func (m *Manager) Describe(name string) (Description, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, err := m.get(name)
	if err != nil {
		return Description{}, err
	}
	m.running(a)
	return m.describe(a), nil
}

// List describes every application, by name.
func (m *Manager) List() []Description {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Description, 0, len(m.apps))
	for _, a := range m.apps {
		m.running(a)
		out = append(out, m.describe(a))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Close stops every running application after a final checkpoint. Their
// desired states are kept, so they start again with the next manager.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.quit)
	var errs []error
	for _, a := range m.apps {
		m.running(a)
		if err := m.halt(a, true); err != nil {
			errs = append(errs, err)
		}
	}
	m.mu.Unlock()
	m.wg.Wait()
	m.omu.Lock()
	if m.objects != nil {
		errs = append(errs, m.objects.Close())
		m.objects = nil
	}
	m.omu.Unlock()
	return errors.Join(errs...)
}

// objectReader is the object store s3 reference sources are read from.
func (m *Manager) objectReader(ctx context.Context) (ObjectReader, error) {
	if m.opts.Objects != nil {
		return m.opts.Objects, nil
	}
	m.omu.Lock()
	defer m.omu.Unlock()
	if m.objects == nil {
		if m.opts.Deliveries == nil {
			return nil, errors.New("this engine has no object store to read s3 sources from")
		}
		s, err := m.opts.Deliveries.OpenObjectStore(ctx)
		if err != nil {
			return nil, err
		}
		m.objects = s
	}
	r, ok := m.objects.(ObjectReader)
	if !ok {
		return nil, fmt.Errorf("the engine's object store (%T) cannot read objects", m.objects)
	}
	return r, nil
}

// RefreshReferenceTables reloads a running application's reference table
// table, or all of them when table is "", and reports every table. A
// table that fails to load keeps its previous snapshot; the error (which
// wraps ErrReferenceLoad) says why, and Describe shows it too. Later rows
// are joined with the new snapshot; rows already joined stay as they were.
func (m *Manager) RefreshReferenceTables(name, table string) ([]ReferenceTableStatus, error) {
	m.mu.Lock()
	a, err := m.get(name)
	if err != nil {
		m.mu.Unlock()
		return nil, err
	}
	if !m.running(a) {
		m.mu.Unlock()
		return nil, fmt.Errorf("%w: %s: reference tables load when it starts; start it first", ErrNotRunning, name)
	}
	refs := a.run.refs
	// The load runs without m.mu: a large table may take a while, and the
	// runner's tables stay valid after it stops.
	m.mu.Unlock()
	if err := refs.refresh(context.Background(), table); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return refs.status(), fmt.Errorf("%w: %w", ErrReferenceLoad, err)
	}
	return refs.status(), nil
}
