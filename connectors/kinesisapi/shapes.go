package kinesisapi

import (
	"time"

	"github.com/kdaproject/kda/engine/store"
)

// This file holds the wire shapes shared by several operations and their
// conversions from store types. Field tags give the AWS member names; the
// CBOR encoder reads the same tags.

// streamRef names a stream by StreamName or StreamARN; every operation that
// takes a stream name embeds it.
type streamRef struct {
	StreamName *string `json:"StreamName"`
	StreamARN  *string `json:"StreamARN"`
}

// check requires one of the two.
func (s *streamRef) check(v *violations) {
	v.notNull("streamName", s.StreamName == nil && s.StreamARN == nil)
}

// streamName resolves the reference to a stream name. When both are given
// they must name the same stream.
func (h *handler) streamName(s streamRef) (string, error) {
	if s.StreamARN == nil {
		if s.StreamName == nil {
			return "", invalidArgument("Either StreamName or StreamARN must be provided.")
		}
		return *s.StreamName, nil
	}
	name, err := h.st.StreamNameFromARN(*s.StreamARN)
	if err != nil {
		return "", err
	}
	if s.StreamName != nil && *s.StreamName != name {
		return "", invalidArgument("StreamName %q and StreamARN %q name different streams.", *s.StreamName, *s.StreamARN)
	}
	return name, nil
}

type streamModeDetails struct {
	StreamMode *string `json:"StreamMode"`
}

func (m *streamModeDetails) check(v *violations, path string) {
	v.notNull(path+".streamMode", m.StreamMode == nil)
	v.enum(path+".streamMode", m.StreamMode, string(store.ModeProvisioned), string(store.ModeOnDemand))
}

type streamModeOut struct {
	StreamMode string `json:"StreamMode"`
}

func modeOut(m store.StreamMode) streamModeOut {
	if m == "" {
		m = store.ModeProvisioned
	}
	return streamModeOut{StreamMode: string(m)}
}

type hashKeyRangeOut struct {
	StartingHashKey string `json:"StartingHashKey"`
	EndingHashKey   string `json:"EndingHashKey"`
}

type sequenceNumberRangeOut struct {
	StartingSequenceNumber string `json:"StartingSequenceNumber"`
	EndingSequenceNumber   string `json:"EndingSequenceNumber,omitempty"`
}

type shardOut struct {
	ShardID               string                 `json:"ShardId"`
	ParentShardID         string                 `json:"ParentShardId,omitempty"`
	AdjacentParentShardID string                 `json:"AdjacentParentShardId,omitempty"`
	HashKeyRange          hashKeyRangeOut        `json:"HashKeyRange"`
	SequenceNumberRange   sequenceNumberRangeOut `json:"SequenceNumberRange"`
}

func shardsOut(shards []store.Shard) []shardOut {
	out := make([]shardOut, len(shards))
	for i, s := range shards {
		out[i] = shardOut{
			ShardID:               s.ShardID,
			ParentShardID:         s.ParentShardID,
			AdjacentParentShardID: s.AdjacentParentShardID,
			HashKeyRange:          hashKeyRangeOut(s.HashKeyRange),
			SequenceNumberRange:   sequenceNumberRangeOut(s.SequenceNumberRange),
		}
	}
	return out
}

type enhancedMetricsOut struct {
	ShardLevelMetrics []string `json:"ShardLevelMetrics"`
}

// noEnhancedMonitoring is what AWS reports for a stream without enhanced
// monitoring: one entry with an empty metric list.
func noEnhancedMonitoring() []enhancedMetricsOut {
	return []enhancedMetricsOut{{ShardLevelMetrics: []string{}}}
}

type tagOut struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type childShardOut struct {
	ShardID      string          `json:"ShardId"`
	ParentShards []string        `json:"ParentShards"`
	HashKeyRange hashKeyRangeOut `json:"HashKeyRange"`
}

func childShardsOut(cs []store.ChildShard) []childShardOut {
	if len(cs) == 0 {
		return nil
	}
	out := make([]childShardOut, len(cs))
	for i, c := range cs {
		parents := c.ParentShards
		if parents == nil {
			parents = []string{}
		}
		out[i] = childShardOut{ShardID: c.ShardID, ParentShards: parents, HashKeyRange: hashKeyRangeOut(c.HashKeyRange)}
	}
	return out
}

type consumerOut struct {
	ConsumerName      string   `json:"ConsumerName"`
	ConsumerARN       string   `json:"ConsumerARN"`
	ConsumerStatus    string   `json:"ConsumerStatus"`
	CreationTimestamp wireTime `json:"ConsumerCreationTimestamp,omitzero"`
	StreamARN         string   `json:"StreamARN,omitempty"`
}

func consumerToOut(c store.Consumer, withStream bool) consumerOut {
	out := consumerOut{
		ConsumerName:      c.ConsumerName,
		ConsumerARN:       c.ConsumerARN,
		ConsumerStatus:    string(c.Status),
		CreationTimestamp: newWireTime(c.CreatedAt),
	}
	if withStream {
		out.StreamARN = c.StreamARN
	}
	return out
}

// optTime converts an optional wire timestamp.
func optTime(t *wireTime) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
