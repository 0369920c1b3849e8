package kinesisapi

import (
	"slices"
	"strings"
	"time"

	"github.com/kdaproject/kda/engine/store"
)

// Stream lifecycle, description and listing operations.

const (
	defaultDescribeStreamLimit = 100
	defaultListStreamsLimit    = 100
	defaultListShardsLimit     = 1000
	maxListLimit               = 10000
)

// ---- CreateStream

type createStreamInput struct {
	StreamName                 *string            `json:"StreamName"`
	ShardCount                 *int               `json:"ShardCount"`
	StreamModeDetails          *streamModeDetails `json:"StreamModeDetails"`
	Tags                       map[string]string  `json:"Tags"`
	MaxRecordSizeInKiB         *int               `json:"MaxRecordSizeInKiB"`
	WarmThroughputMiBps        *int               `json:"WarmThroughputMiBps"`
	RecordDistributionStrategy *string            `json:"RecordDistributionStrategy"`
}

func (in *createStreamInput) validate(v *violations) {
	v.notNull("streamName", in.StreamName == nil)
	// ShardCount is optional only for ON_DEMAND streams.
	onDemand := in.StreamModeDetails != nil && in.StreamModeDetails.StreamMode != nil &&
		*in.StreamModeDetails.StreamMode == string(store.ModeOnDemand)
	v.notNull("shardCount", in.ShardCount == nil && !onDemand)
	v.intRange("shardCount", in.ShardCount, 1, 100000)
	if in.StreamModeDetails != nil {
		in.StreamModeDetails.check(v, "streamModeDetails")
	}
}

func (h *handler) createStream(in *createStreamInput) (any, error) {
	if in.MaxRecordSizeInKiB != nil && *in.MaxRecordSizeInKiB != 1024 {
		return nil, unsupported("MaxRecordSizeInKiB other than 1024")
	}
	if in.WarmThroughputMiBps != nil {
		return nil, unsupported("WarmThroughputMiBps")
	}
	if in.RecordDistributionStrategy != nil {
		return nil, unsupported("RecordDistributionStrategy")
	}
	csi := store.CreateStreamInput{
		StreamName: *in.StreamName,
		ShardCount: deref(in.ShardCount),
		Tags:       in.Tags,
	}
	if in.StreamModeDetails != nil {
		csi.Mode = store.StreamMode(*in.StreamModeDetails.StreamMode)
	}
	return nil, h.st.CreateStream(csi)
}

// ---- DeleteStream

type deleteStreamInput struct {
	streamRef
	EnforceConsumerDeletion *bool `json:"EnforceConsumerDeletion"`
}

func (in *deleteStreamInput) validate(v *violations) { in.check(v) }

func (h *handler) deleteStream(in *deleteStreamInput) (any, error) {
	name, err := h.streamName(in.streamRef)
	if err != nil {
		return nil, err
	}
	return nil, h.st.DeleteStream(name, deref(in.EnforceConsumerDeletion))
}

// ---- DescribeStream

type describeStreamInput struct {
	streamRef
	Limit                 *int    `json:"Limit"`
	ExclusiveStartShardID *string `json:"ExclusiveStartShardId"`
}

func (in *describeStreamInput) validate(v *violations) {
	in.check(v)
	v.intRange("limit", in.Limit, 1, maxListLimit)
	v.strLen("exclusiveStartShardId", in.ExclusiveStartShardID, 1, 128)
}

type streamDescriptionOut struct {
	StreamName           string               `json:"StreamName"`
	StreamARN            string               `json:"StreamARN"`
	StreamStatus         string               `json:"StreamStatus"`
	StreamModeDetails    streamModeOut        `json:"StreamModeDetails"`
	Shards               []shardOut           `json:"Shards"`
	HasMoreShards        bool                 `json:"HasMoreShards"`
	RetentionPeriodHours int                  `json:"RetentionPeriodHours"`
	CreationTimestamp    wireTime             `json:"StreamCreationTimestamp"`
	EnhancedMonitoring   []enhancedMetricsOut `json:"EnhancedMonitoring"`
	EncryptionType       string               `json:"EncryptionType"`
}

type describeStreamOutput struct {
	StreamDescription streamDescriptionOut `json:"StreamDescription"`
}

func (h *handler) describeStream(in *describeStreamInput) (any, error) {
	name, err := h.streamName(in.streamRef)
	if err != nil {
		return nil, err
	}
	d, err := h.st.DescribeStream(name)
	if err != nil {
		return nil, err
	}
	shards := d.Shards
	if in.ExclusiveStartShardID != nil {
		shards = shardsAfter(shards, *in.ExclusiveStartShardID)
	}
	limit := defaultDescribeStreamLimit
	if in.Limit != nil {
		limit = *in.Limit
	}
	more := len(shards) > limit
	if more {
		shards = shards[:limit]
	}
	return describeStreamOutput{StreamDescription: streamDescriptionOut{
		StreamName:           d.StreamName,
		StreamARN:            d.StreamARN,
		StreamStatus:         string(d.StreamStatus),
		StreamModeDetails:    modeOut(d.StreamMode),
		Shards:               shardsOut(shards),
		HasMoreShards:        more,
		RetentionPeriodHours: d.RetentionHours,
		CreationTimestamp:    newWireTime(d.CreatedAt),
		EnhancedMonitoring:   noEnhancedMonitoring(),
		EncryptionType:       "NONE",
	}}, nil
}

// shardsAfter returns the shards whose id sorts after id. Shard ids are
// fixed-width, so their order is creation order.
func shardsAfter(shards []store.Shard, id string) []store.Shard {
	for i, s := range shards {
		if s.ShardID > id {
			return shards[i:]
		}
	}
	return nil
}

// ---- DescribeStreamSummary

type describeStreamSummaryInput struct{ streamRef }

func (in *describeStreamSummaryInput) validate(v *violations) { in.check(v) }

type streamDescriptionSummaryOut struct {
	StreamName           string               `json:"StreamName"`
	StreamARN            string               `json:"StreamARN"`
	StreamStatus         string               `json:"StreamStatus"`
	StreamModeDetails    streamModeOut        `json:"StreamModeDetails"`
	RetentionPeriodHours int                  `json:"RetentionPeriodHours"`
	CreationTimestamp    wireTime             `json:"StreamCreationTimestamp"`
	EnhancedMonitoring   []enhancedMetricsOut `json:"EnhancedMonitoring"`
	EncryptionType       string               `json:"EncryptionType"`
	OpenShardCount       int                  `json:"OpenShardCount"`
	ConsumerCount        int                  `json:"ConsumerCount"`
}

type describeStreamSummaryOutput struct {
	StreamDescriptionSummary streamDescriptionSummaryOut `json:"StreamDescriptionSummary"`
}

func (h *handler) describeStreamSummary(in *describeStreamSummaryInput) (any, error) {
	name, err := h.streamName(in.streamRef)
	if err != nil {
		return nil, err
	}
	d, err := h.st.DescribeStream(name)
	if err != nil {
		return nil, err
	}
	return describeStreamSummaryOutput{StreamDescriptionSummary: streamDescriptionSummaryOut{
		StreamName:           d.StreamName,
		StreamARN:            d.StreamARN,
		StreamStatus:         string(d.StreamStatus),
		StreamModeDetails:    modeOut(d.StreamMode),
		RetentionPeriodHours: d.RetentionHours,
		CreationTimestamp:    newWireTime(d.CreatedAt),
		EnhancedMonitoring:   noEnhancedMonitoring(),
		EncryptionType:       "NONE",
		OpenShardCount:       d.OpenShardCount,
		ConsumerCount:        d.ConsumerCount,
	}}, nil
}

// ---- ListStreams

type listStreamsInput struct {
	Limit                    *int    `json:"Limit"`
	ExclusiveStartStreamName *string `json:"ExclusiveStartStreamName"`
	NextToken                *string `json:"NextToken"`
}

func (in *listStreamsInput) validate(v *violations) {
	v.intRange("limit", in.Limit, 1, maxListLimit)
	v.strLen("exclusiveStartStreamName", in.ExclusiveStartStreamName, 1, 128)
	v.strLen("nextToken", in.NextToken, 1, 1048576)
}

type streamSummaryOut struct {
	StreamName        string        `json:"StreamName"`
	StreamARN         string        `json:"StreamARN"`
	StreamStatus      string        `json:"StreamStatus"`
	StreamModeDetails streamModeOut `json:"StreamModeDetails"`
	CreationTimestamp wireTime      `json:"StreamCreationTimestamp,omitzero"`
}

type listStreamsOutput struct {
	StreamNames     []string           `json:"StreamNames"`
	HasMoreStreams  bool               `json:"HasMoreStreams"`
	NextToken       string             `json:"NextToken,omitempty"`
	StreamSummaries []streamSummaryOut `json:"StreamSummaries"`
}

func (h *handler) listStreams(in *listStreamsInput) (any, error) {
	after := deref(in.ExclusiveStartStreamName)
	if in.NextToken != nil {
		t, err := h.decodeToken(*in.NextToken, tokenStreams)
		if err != nil {
			return nil, err
		}
		after = t.After
	}
	all := h.st.ListStreams()
	slices.SortFunc(all, func(a, b store.StreamSummary) int { return strings.Compare(a.StreamName, b.StreamName) })
	start := 0
	if after != "" {
		start, _ = slices.BinarySearchFunc(all, after, func(s store.StreamSummary, name string) int {
			if s.StreamName <= name {
				return -1
			}
			return 1
		})
	}
	page := all[start:]
	limit := defaultListStreamsLimit
	if in.Limit != nil {
		limit = *in.Limit
	}
	more := len(page) > limit
	if more {
		page = page[:limit]
	}
	out := listStreamsOutput{
		StreamNames:     make([]string, len(page)),
		HasMoreStreams:  more,
		StreamSummaries: make([]streamSummaryOut, len(page)),
	}
	for i, s := range page {
		out.StreamNames[i] = s.StreamName
		out.StreamSummaries[i] = streamSummaryOut{
			StreamName:        s.StreamName,
			StreamARN:         s.StreamARN,
			StreamStatus:      string(s.StreamStatus),
			StreamModeDetails: modeOut(s.StreamMode),
			CreationTimestamp: newWireTime(s.CreatedAt),
		}
	}
	if more {
		out.NextToken = h.encodeToken(pageToken{Kind: tokenStreams, After: page[len(page)-1].StreamName})
	}
	return out, nil
}

// ---- ListShards

// Shard filter types.
const (
	filterAfterShardID    = "AFTER_SHARD_ID"
	filterAtTrimHorizon   = "AT_TRIM_HORIZON"
	filterFromTrimHorizon = "FROM_TRIM_HORIZON"
	filterAtLatest        = "AT_LATEST"
	filterAtTimestamp     = "AT_TIMESTAMP"
	filterFromTimestamp   = "FROM_TIMESTAMP"
)

type shardFilterIn struct {
	Type      *string   `json:"Type"`
	ShardID   *string   `json:"ShardId"`
	Timestamp *wireTime `json:"Timestamp"`
}

type listShardsInput struct {
	streamRef
	NextToken               *string        `json:"NextToken"`
	ExclusiveStartShardID   *string        `json:"ExclusiveStartShardId"`
	MaxResults              *int           `json:"MaxResults"`
	ShardFilter             *shardFilterIn `json:"ShardFilter"`
	StreamCreationTimestamp *wireTime      `json:"StreamCreationTimestamp"`
}

func (in *listShardsInput) validate(v *violations) {
	v.strLen("nextToken", in.NextToken, 1, 1048576)
	v.strLen("exclusiveStartShardId", in.ExclusiveStartShardID, 1, 128)
	v.intRange("maxResults", in.MaxResults, 1, maxListLimit)
	if f := in.ShardFilter; f != nil {
		v.notNull("shardFilter.type", f.Type == nil)
		v.enum("shardFilter.type", f.Type, filterAfterShardID, filterAtTrimHorizon, filterFromTrimHorizon,
			filterAtLatest, filterAtTimestamp, filterFromTimestamp)
		v.strLen("shardFilter.shardId", f.ShardID, 1, 128)
	}
}

type listShardsOutput struct {
	Shards    []shardOut `json:"Shards"`
	NextToken string     `json:"NextToken,omitempty"`
}

func (h *handler) listShards(in *listShardsInput) (any, error) {
	var (
		stream string
		after  string
		filter *tokenFilter
	)
	if in.NextToken != nil {
		switch {
		case in.StreamName != nil || in.StreamARN != nil:
			return nil, invalidArgument("NextToken and StreamName cannot be provided together.")
		case in.ExclusiveStartShardID != nil:
			return nil, invalidArgument("NextToken and ExclusiveStartShardId cannot be provided together.")
		case in.ShardFilter != nil:
			return nil, invalidArgument("NextToken and ShardFilter cannot be provided together.")
		}
		t, err := h.decodeToken(*in.NextToken, tokenShards)
		if err != nil {
			return nil, err
		}
		stream, after, filter = t.Stream, t.After, t.Filter
	} else {
		if in.StreamName == nil && in.StreamARN == nil {
			return nil, invalidArgument("Either NextToken or StreamName must be provided.")
		}
		name, err := h.streamName(in.streamRef)
		if err != nil {
			return nil, err
		}
		stream, after = name, deref(in.ExclusiveStartShardID)
		if f := in.ShardFilter; f != nil {
			filter = &tokenFilter{Type: *f.Type, ShardID: deref(f.ShardID)}
			switch *f.Type {
			case filterAfterShardID:
				if f.ShardID == nil {
					return nil, invalidArgument("ShardFilter of type AFTER_SHARD_ID requires a ShardId.")
				}
			case filterAtTimestamp, filterFromTimestamp:
				if f.Timestamp == nil || f.Timestamp.IsZero() {
					return nil, invalidArgument("ShardFilter of type %s requires a Timestamp.", *f.Type)
				}
				filter.Timestamp = f.Timestamp.UnixMilli()
			}
		}
	}
	d, err := h.st.DescribeStream(stream)
	if err != nil {
		return nil, err
	}
	shards := h.filterShards(d.Shards, filter)
	if after != "" {
		shards = shardsAfter(shards, after)
	}
	limit := defaultListShardsLimit
	if in.MaxResults != nil {
		limit = *in.MaxResults
	}
	out := listShardsOutput{}
	if len(shards) > limit {
		shards = shards[:limit]
		out.NextToken = h.encodeToken(pageToken{Kind: tokenShards, Stream: stream,
			After: shards[len(shards)-1].ShardID, Filter: filter})
	}
	out.Shards = shardsOut(shards)
	return out, nil
}

// filterShards applies a ShardFilter. AT_TIMESTAMP keeps the shards that
// were open at the time; FROM_TIMESTAMP also keeps every shard opened since.
func (h *handler) filterShards(shards []store.Shard, f *tokenFilter) []store.Shard {
	if f == nil {
		return shards
	}
	typ := f.Type
	switch typ {
	case filterAtTimestamp, filterFromTimestamp:
		at := time.UnixMilli(f.Timestamp)
		if len(shards) > 0 && shards[0].CreatedAt.After(at) {
			at = shards[0].CreatedAt // before the stream existed means at its start
		}
		closedBy := func(s store.Shard) bool { return !s.Open() && !s.ClosedAt.After(at) }
		if typ == filterFromTimestamp {
			return keepShards(shards, func(s store.Shard) bool { return !closedBy(s) })
		}
		return keepShards(shards, func(s store.Shard) bool { return !s.CreatedAt.After(at) && !closedBy(s) })
	}
	switch typ {
	case filterAfterShardID:
		return shardsAfter(shards, f.ShardID)
	case filterAtLatest:
		return keepShards(shards, func(s store.Shard) bool { return s.Open() })
	case filterAtTrimHorizon:
		// The shards open at the trim horizon are those whose parents have
		// been trimmed away (or that never had any).
		present := make(map[string]bool, len(shards))
		for _, s := range shards {
			present[s.ShardID] = true
		}
		return keepShards(shards, func(s store.Shard) bool {
			return !present[s.ParentShardID] && !present[s.AdjacentParentShardID]
		})
	}
	return shards // FROM_TRIM_HORIZON
}

func keepShards(shards []store.Shard, keep func(store.Shard) bool) []store.Shard {
	out := make([]store.Shard, 0, len(shards))
	for _, s := range shards {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// ---- Resharding

type splitShardInput struct {
	streamRef
	ShardToSplit       *string `json:"ShardToSplit"`
	NewStartingHashKey *string `json:"NewStartingHashKey"`
}

func (in *splitShardInput) validate(v *violations) {
	in.check(v)
	v.notNull("shardToSplit", in.ShardToSplit == nil)
	v.notNull("newStartingHashKey", in.NewStartingHashKey == nil)
	v.pattern("newStartingHashKey", in.NewStartingHashKey, isHashKey, hashKeyPattern)
}

const hashKeyPattern = `0|([1-9]\d{0,38})`

func isHashKey(s string) bool { return isDecimal(s, 39) }

func (h *handler) splitShard(in *splitShardInput) (any, error) {
	name, err := h.streamName(in.streamRef)
	if err != nil {
		return nil, err
	}
	return nil, h.st.SplitShard(name, *in.ShardToSplit, *in.NewStartingHashKey)
}

type mergeShardsInput struct {
	streamRef
	ShardToMerge         *string `json:"ShardToMerge"`
	AdjacentShardToMerge *string `json:"AdjacentShardToMerge"`
}

func (in *mergeShardsInput) validate(v *violations) {
	in.check(v)
	v.notNull("shardToMerge", in.ShardToMerge == nil)
	v.notNull("adjacentShardToMerge", in.AdjacentShardToMerge == nil)
}

func (h *handler) mergeShards(in *mergeShardsInput) (any, error) {
	name, err := h.streamName(in.streamRef)
	if err != nil {
		return nil, err
	}
	return nil, h.st.MergeShards(name, *in.ShardToMerge, *in.AdjacentShardToMerge)
}

type updateShardCountInput struct {
	streamRef
	TargetShardCount *int    `json:"TargetShardCount"`
	ScalingType      *string `json:"ScalingType"`
}

func (in *updateShardCountInput) validate(v *violations) {
	in.check(v)
	v.notNull("targetShardCount", in.TargetShardCount == nil)
	v.intRange("targetShardCount", in.TargetShardCount, 1, 100000)
	v.notNull("scalingType", in.ScalingType == nil)
	v.enum("scalingType", in.ScalingType, "UNIFORM_SCALING")
}

type updateShardCountOutput struct {
	StreamName        string `json:"StreamName"`
	StreamARN         string `json:"StreamARN"`
	CurrentShardCount int    `json:"CurrentShardCount"`
	TargetShardCount  int    `json:"TargetShardCount"`
}

func (h *handler) updateShardCount(in *updateShardCountInput) (any, error) {
	name, err := h.streamName(in.streamRef)
	if err != nil {
		return nil, err
	}
	o, err := h.st.UpdateShardCount(name, *in.TargetShardCount)
	if err != nil {
		return nil, err
	}
	return updateShardCountOutput(o), nil
}

// ---- Retention and mode

type retentionInput struct {
	streamRef
	RetentionPeriodHours *int `json:"RetentionPeriodHours"`
}

func (in *retentionInput) validate(v *violations) {
	in.check(v)
	v.notNull("retentionPeriodHours", in.RetentionPeriodHours == nil)
}

func (h *handler) increaseRetention(in *retentionInput) (any, error) {
	name, err := h.streamName(in.streamRef)
	if err != nil {
		return nil, err
	}
	return nil, h.st.IncreaseRetention(name, *in.RetentionPeriodHours)
}

func (h *handler) decreaseRetention(in *retentionInput) (any, error) {
	name, err := h.streamName(in.streamRef)
	if err != nil {
		return nil, err
	}
	return nil, h.st.DecreaseRetention(name, *in.RetentionPeriodHours)
}

type updateStreamModeInput struct {
	streamRef
	StreamModeDetails   *streamModeDetails `json:"StreamModeDetails"`
	WarmThroughputMiBps *int               `json:"WarmThroughputMiBps"`
}

func (in *updateStreamModeInput) validate(v *violations) {
	v.notNull("streamARN", in.StreamARN == nil && in.StreamName == nil)
	v.notNull("streamModeDetails", in.StreamModeDetails == nil)
	if in.StreamModeDetails != nil {
		in.StreamModeDetails.check(v, "streamModeDetails")
	}
}

func (h *handler) updateStreamMode(in *updateStreamModeInput) (any, error) {
	if in.WarmThroughputMiBps != nil {
		return nil, unsupported("WarmThroughputMiBps")
	}
	name, err := h.streamName(in.streamRef)
	if err != nil {
		return nil, err
	}
	return nil, h.st.UpdateStreamMode(name, store.StreamMode(*in.StreamModeDetails.StreamMode))
}

// ---- DescribeLimits

type describeLimitsInput struct{}

func (in *describeLimitsInput) validate(*violations) {}

type describeLimitsOutput struct {
	ShardLimit               int `json:"ShardLimit"`
	OpenShardCount           int `json:"OpenShardCount"`
	OnDemandStreamCount      int `json:"OnDemandStreamCount"`
	OnDemandStreamCountLimit int `json:"OnDemandStreamCountLimit"`
}

func (h *handler) describeLimits(*describeLimitsInput) (any, error) {
	return describeLimitsOutput(h.st.DescribeLimits()), nil
}
