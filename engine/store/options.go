package store

import (
	"log/slog"
	"time"
)

// Options configures a Store. The zero value is usable: EnsureDefaults fills
// every unset field with the documented default.
type Options struct {
	// Region and AccountID appear in ARNs. Defaults: "us-east-1", "000000000000".
	Region    string
	AccountID string

	// Now returns the current time; tests inject a fake clock. Default time.Now.
	Now func() time.Time

	// Throughput sets the per-shard limits of PROVISIONED streams and the
	// on-demand autoscaler.
	Throughput ThroughputOptions

	// OnDemand configures ON_DEMAND streams.
	OnDemand OnDemandOptions

	// TransitionDelay is how long a stream stays CREATING, UPDATING or
	// DELETING before the change completes. Default 0: changes complete
	// before the call returns, though the status is still observable through
	// Describe when a delay is set.
	TransitionDelay time.Duration

	// RetentionCheckInterval is how often expired data is trimmed. Default 1m.
	RetentionCheckInterval time.Duration

	// IteratorTTL is how long a shard iterator stays valid. Default 5m.
	IteratorTTL time.Duration

	// ShardLimit is the most open shards across all streams. Default 10,000.
	ShardLimit int

	// Logger receives background events (trims, autoscaling). Default: discard.
	Logger *slog.Logger
}

// ThroughputOptions are per-shard capacity limits, enforced with token buckets.
type ThroughputOptions struct {
	// Disabled switches every limit off (development mode).
	Disabled bool
	// WriteBytesPerSecond per shard. Default 1 MiB.
	WriteBytesPerSecond int
	// WriteRecordsPerSecond per shard. Default 1,000.
	WriteRecordsPerSecond int
	// ReadBytesPerSecond per shard. Default 2 MiB.
	ReadBytesPerSecond int
	// ReadCallsPerSecond is GetRecords calls per shard per second. Default 5.
	ReadCallsPerSecond int
	// BurstSeconds is how many seconds of capacity a bucket holds, so short
	// bursts pass as they do on AWS. Default 1.
	BurstSeconds float64
}

// OnDemandOptions configures ON_DEMAND streams.
type OnDemandOptions struct {
	// InitialShards of a new on-demand stream (4 MiB/s, 4,000 records/s of
	// write capacity with the default limits). Default 4.
	InitialShards int
	// ScaleCheckInterval is how often shard load is evaluated. Default 10s.
	ScaleCheckInterval time.Duration
	// ScaleUpUtilisation is the fraction of a shard's write capacity that,
	// sustained over one interval, splits it. Default 0.8.
	ScaleUpUtilisation float64
}

const (
	defaultRetentionHours = 24
	minRetentionHours     = 24
	maxRetentionHours     = 8760
)

// EnsureDefaults fills unset fields with their defaults.
func (o *Options) EnsureDefaults() {
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.AccountID == "" {
		o.AccountID = "000000000000"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	t := &o.Throughput
	if t.WriteBytesPerSecond <= 0 {
		t.WriteBytesPerSecond = 1 << 20
	}
	if t.WriteRecordsPerSecond <= 0 {
		t.WriteRecordsPerSecond = 1000
	}
	if t.ReadBytesPerSecond <= 0 {
		t.ReadBytesPerSecond = 2 << 20
	}
	if t.ReadCallsPerSecond <= 0 {
		t.ReadCallsPerSecond = 5
	}
	if t.BurstSeconds <= 0 {
		t.BurstSeconds = 1
	}
	if o.OnDemand.InitialShards <= 0 {
		o.OnDemand.InitialShards = 4
	}
	if o.OnDemand.ScaleCheckInterval <= 0 {
		o.OnDemand.ScaleCheckInterval = 10 * time.Second
	}
	if o.OnDemand.ScaleUpUtilisation <= 0 {
		o.OnDemand.ScaleUpUtilisation = 0.8
	}
	if o.RetentionCheckInterval <= 0 {
		o.RetentionCheckInterval = time.Minute
	}
	if o.IteratorTTL <= 0 {
		o.IteratorTTL = 5 * time.Minute
	}
	if o.ShardLimit <= 0 {
		o.ShardLimit = 10000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}
