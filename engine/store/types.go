package store

import "time"

// StreamMode is a stream's capacity mode.
type StreamMode string

// Capacity modes.
const (
	ModeProvisioned StreamMode = "PROVISIONED"
	ModeOnDemand    StreamMode = "ON_DEMAND"
)

// StreamStatus is a stream's lifecycle state.
type StreamStatus string

// Lifecycle states: CREATING → ACTIVE ⇄ UPDATING, then DELETING.
const (
	StatusCreating StreamStatus = "CREATING"
	StatusActive   StreamStatus = "ACTIVE"
	StatusUpdating StreamStatus = "UPDATING"
	StatusDeleting StreamStatus = "DELETING"
)

// IteratorType says where a shard iterator starts.
type IteratorType string

// Iterator types, as Kinesis names them.
const (
	TrimHorizon         IteratorType = "TRIM_HORIZON"
	Latest              IteratorType = "LATEST"
	AtSequenceNumber    IteratorType = "AT_SEQUENCE_NUMBER"
	AfterSequenceNumber IteratorType = "AFTER_SEQUENCE_NUMBER"
	AtTimestamp         IteratorType = "AT_TIMESTAMP"
)

// HashKeyRange is an inclusive range of the 128-bit hash-key space, written
// as decimal strings as Kinesis writes them.
type HashKeyRange struct {
	StartingHashKey string
	EndingHashKey   string
}

// SequenceNumberRange is the range of sequence numbers a shard may hold.
// EndingSequenceNumber is empty while the shard is open.
type SequenceNumberRange struct {
	StartingSequenceNumber string
	EndingSequenceNumber   string
}

// Shard describes one shard of a stream.
type Shard struct {
	ShardID               string
	ParentShardID         string // empty when none
	AdjacentParentShardID string // set on the child of a merge
	HashKeyRange          HashKeyRange
	SequenceNumberRange   SequenceNumberRange
	// CreatedAt is when the shard opened; ClosedAt when a split, merge or
	// rescale closed it (zero while open). ListShards' timestamp filters use them.
	CreatedAt time.Time
	ClosedAt  time.Time
}

// Open reports whether the shard still accepts records.
func (s Shard) Open() bool { return s.SequenceNumberRange.EndingSequenceNumber == "" }

// StreamDescription is what DescribeStream returns: the stream and all of its
// shards that still hold data within retention (closed ones included), in
// creation order.
type StreamDescription struct {
	StreamName     string
	StreamARN      string
	StreamStatus   StreamStatus
	StreamMode     StreamMode
	Shards         []Shard
	RetentionHours int
	CreatedAt      time.Time
	OpenShardCount int
	ConsumerCount  int
}

// StreamSummary is one entry of ListStreams.
type StreamSummary struct {
	StreamName   string
	StreamARN    string
	StreamStatus StreamStatus
	StreamMode   StreamMode
	CreatedAt    time.Time
}

// CreateStreamInput describes a new stream.
type CreateStreamInput struct {
	StreamName string
	// ShardCount is required for PROVISIONED streams; for ON_DEMAND streams a
	// zero value means Options.OnDemand.InitialShards.
	ShardCount int
	Mode       StreamMode // empty means PROVISIONED
	Tags       map[string]string
}

// PutRecordInput is one record to put.
type PutRecordInput struct {
	PartitionKey string // 1–256 Unicode characters
	// ExplicitHashKey, when set, is a decimal in [0, 2^128-1] that chooses the
	// shard instead of the MD5 of PartitionKey.
	ExplicitHashKey string
	Data            []byte
}

// PutRecordResult is the outcome for one record, in request order. Either
// ShardID and SequenceNumber are set, or ErrorCode and ErrorMessage are.
type PutRecordResult struct {
	ShardID        string
	SequenceNumber string
	ErrorCode      string
	ErrorMessage   string
}

// PutRecordsOutput is the result of PutRecords.
type PutRecordsOutput struct {
	FailedRecordCount int
	Records           []PutRecordResult
}

// Record is a stored record as readers see it.
type Record struct {
	SequenceNumber string
	PartitionKey   string
	Data           []byte
	ArrivalTime    time.Time // ApproximateArrivalTimestamp, millisecond precision
}

// ChildShard names a shard that continues a closed one.
type ChildShard struct {
	ShardID      string
	ParentShards []string
	HashKeyRange HashKeyRange
}

// GetRecordsOutput is the result of GetRecords.
type GetRecordsOutput struct {
	Records []Record
	// NextShardIterator is empty once a closed shard has been read to its end.
	NextShardIterator  string
	MillisBehindLatest int64
	// ChildShards is set when the shard is closed and fully read.
	ChildShards []ChildShard
}

// GetShardIteratorInput says where to start reading a shard.
type GetShardIteratorInput struct {
	StreamName     string
	ShardID        string
	Type           IteratorType
	SequenceNumber string    // AT_/AFTER_SEQUENCE_NUMBER
	Timestamp      time.Time // AT_TIMESTAMP
}

// ConsumerStatus is a registered consumer's state.
type ConsumerStatus string

// Consumer states.
const (
	ConsumerCreating ConsumerStatus = "CREATING"
	ConsumerActive   ConsumerStatus = "ACTIVE"
	ConsumerDeleting ConsumerStatus = "DELETING"
)

// Consumer is a registered stream consumer.
type Consumer struct {
	ConsumerName string
	ConsumerARN  string
	Status       ConsumerStatus
	CreatedAt    time.Time
	StreamARN    string
}

// AccountLimits is what DescribeLimits returns.
type AccountLimits struct {
	ShardLimit               int
	OpenShardCount           int
	OnDemandStreamCount      int
	OnDemandStreamCountLimit int
}

// UpdateShardCountOutput is the result of UpdateShardCount.
type UpdateShardCountOutput struct {
	StreamName        string
	StreamARN         string
	CurrentShardCount int
	TargetShardCount  int
}

// StreamStats are a stream's running counters since the store opened.
type StreamStats struct {
	StreamName          string
	RecordsIn, BytesIn  uint64
	RecordsOut          uint64
	BytesOut            uint64
	WriteThrottles      uint64
	ReadThrottles       uint64
	MaxIteratorAgeMilli int64 // largest MillisBehindLatest of the last GetRecords per shard
	OpenShards          int
}
