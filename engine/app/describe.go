package app

import (
	"sort"
	"time"
)

// Description is what Describe and List report of an application.
type Description struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Version int64  `json:"version"`
	// Error says why a FAILED application is not running.
	Error       string    `json:"error,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	InputStream string    `json:"inputStream"`
	// Pumps lists each pump's operators, source to target (kda explain).
	Pumps []PumpDescription `json:"pumps,omitempty"`
	// Operators counts each pump operator's rows in and out since the
	// application started, with rates over the time since the previous
	// Describe (while running).
	Operators []OperatorStats `json:"operators,omitempty"`
	// Streams counts the rows that entered each in-application stream
	// (inputs, pumps' targets and error_stream) since the application was
	// created, as of the last checkpoint when it is not running.
	Streams []StreamRows `json:"streams,omitempty"`
	// RecordsIn counts records read from the input stream; Delivered,
	// rows made durable per output.
	RecordsIn uint64            `json:"recordsIn"`
	Delivered map[string]uint64 `json:"delivered,omitempty"`
	// LastCheckpoint is when the last checkpoint was committed.
	LastCheckpoint     *time.Time `json:"lastCheckpoint,omitempty"`
	CheckpointInterval string     `json:"checkpointInterval"`
	CheckpointError    string     `json:"checkpointError,omitempty"`
	// LagMillis is how far the slowest shard reader is behind the tip of
	// its shard (MillisBehindLatest), while running.
	LagMillis int64 `json:"lagMillis"`
	// Shards reports each shard being read, while running.
	Shards []ShardStatus `json:"shards,omitempty"`
	// StateRestored says the running application resumed its windows from
	// a snapshot (false on a first start or after an incompatible update).
	StateRestored bool `json:"stateRestored"`
	// Source reports the bridge feeding the input stream from
	// input.source: counts, lag and last error while running, the saved
	// positions otherwise.
	Source *SourceStatus `json:"source,omitempty"`
	// ReferenceTables reports each reference table: its snapshot (rows,
	// version, when and from where it loaded) and the last load error,
	// while running; only names and sources otherwise.
	ReferenceTables []ReferenceTableStatus `json:"referenceTables,omitempty"`
	Definition      Definition             `json:"definition"`
}

// PumpDescription is one pump of a Description.
type PumpDescription struct {
	Name      string   `json:"name"`
	Source    string   `json:"source"`
	Target    string   `json:"target"`
	Operators []string `json:"operators"`
}

// OperatorStats is one operator of a running application.
type OperatorStats struct {
	OperatorRows
	// RowsInPerSec and RowsOutPerSec are rates between the last two
	// Describe calls at least a second apart (0 until there are two).
	RowsInPerSec  float64 `json:"rowsInPerSec"`
	RowsOutPerSec float64 `json:"rowsOutPerSec"`
}

// operatorStats adds rates to the runtime's operator counts. Caller holds
// r.statMu.
func (r *runner) operatorStats(now time.Time) []OperatorStats {
	rows := r.rt.OperatorRows()
	s := &r.opRate
	if s.at.IsZero() || len(s.in) != len(rows) {
		s.at, s.in, s.out = now, make([]uint64, len(rows)), make([]uint64, len(rows))
		s.inRate, s.outRate = make([]float64, len(rows)), make([]float64, len(rows))
		for i, o := range rows {
			s.in[i], s.out[i] = o.RowsIn, o.RowsOut
		}
	} else if dt := now.Sub(s.at).Seconds(); dt >= 1 {
		for i, o := range rows {
			s.inRate[i] = float64(o.RowsIn-s.in[i]) / dt
			s.outRate[i] = float64(o.RowsOut-s.out[i]) / dt
			s.in[i], s.out[i] = o.RowsIn, o.RowsOut
		}
		s.at = now
	}
	out := make([]OperatorStats, len(rows))
	for i, o := range rows {
		out[i] = OperatorStats{OperatorRows: o, RowsInPerSec: s.inRate[i], RowsOutPerSec: s.outRate[i]}
	}
	return out
}

// StreamRows counts the rows of one in-application stream.
type StreamRows struct {
	Name string `json:"name"`
	Rows uint64 `json:"rows"`
}

// ShardStatus is one shard reader of a running application.
type ShardStatus struct {
	ShardID   string `json:"shardId"`
	LagMillis int64  `json:"lagMillis"`
	Error     string `json:"error,omitempty"`
}

// describe builds a Description. Caller holds m.mu.
func (m *Manager) describe(a *managed) Description {
	def := a.rec.Definition
	d := Description{
		Name: def.Name, Version: a.rec.Version, CreatedAt: a.rec.CreatedAt, UpdatedAt: a.rec.UpdatedAt,
		InputStream: def.Input.Stream, CheckpointInterval: def.CheckpointInterval.String(), Definition: def,
		Status: StatusReady,
	}
	if a.rec.Desired == StatusRunning {
		d.Status = StatusRunning
		if a.run == nil && !m.opts.Paused {
			d.Status, d.Error = StatusFailed, a.failure
		}
	}
	rows := map[string]uint64{}
	if a.run != nil {
		d.Source = m.sourceStatus(def, a.run.bridge)
		d.ReferenceTables = a.run.refs.status()
	} else {
		d.Source = m.sourceStatus(def, nil)
		d.ReferenceTables = definedReferenceTables(def)
	}
	if r := a.run; r != nil {
		for _, p := range r.rt.Plan().Pumps {
			d.Pumps = append(d.Pumps, PumpDescription{Name: p.Name, Source: p.Source, Target: p.Target, Operators: p.Explain})
		}
		for name, c := range r.rows {
			rows[name] = c.Load()
		}
		d.Delivered = map[string]uint64{}
		for name, c := range r.delivered {
			d.Delivered[name] = c.Load()
		}
		d.RecordsIn = r.readIn.Load()
		d.StateRestored = r.restored
		r.statMu.Lock()
		if !r.lastCkpt.IsZero() {
			t := r.lastCkpt
			d.LastCheckpoint = &t
		}
		d.CheckpointError = r.ckptErr
		d.Operators = r.operatorStats(time.Now())
		for _, rd := range r.readerSet {
			if rd.done.Load() {
				continue
			}
			s := ShardStatus{ShardID: rd.shard, LagMillis: rd.lagMs.Load(), Error: rd.lastErr.Load().(string)}
			d.LagMillis = max(d.LagMillis, s.LagMillis)
			d.Shards = append(d.Shards, s)
		}
		r.statMu.Unlock()
		sort.Slice(d.Shards, func(i, j int) bool { return d.Shards[i].ShardID < d.Shards[j].ShardID })
	} else {
		if rt, err := CompileWith(def, nil, m.Library()); err == nil {
			for _, p := range rt.Plan().Pumps {
				d.Pumps = append(d.Pumps, PumpDescription{Name: p.Name, Source: p.Source, Target: p.Target, Operators: p.Explain})
			}
			for _, n := range rt.StreamNames() {
				rows[n] = 0
			}
			rt.Close()
		}
		if cp, err := loadCheckpoint(m.st, def.Name); err == nil && cp != nil {
			for n, v := range cp.Rows {
				rows[n] = v
			}
			d.Delivered = cp.Delivered
			d.RecordsIn = cp.RecordsIn
			t := cp.Time
			d.LastCheckpoint = &t
		}
	}
	for n, v := range rows {
		d.Streams = append(d.Streams, StreamRows{Name: n, Rows: v})
	}
	sort.Slice(d.Streams, func(i, j int) bool { return d.Streams[i].Name < d.Streams[j].Name })
	return d
}
