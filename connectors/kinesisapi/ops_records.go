package kinesisapi

import (
	"strconv"

	"github.com/kdaproject/kda/engine/store"
)

// Record operations: the data path.

const (
	maxPutRecordsEntries   = 500
	defaultGetRecordsLimit = 10000
	maxGetRecordsLimit     = 10000
	sequenceNumberPattern  = `0|([1-9]\d{0,128})`
)

func isSequenceNumber(s string) bool { return isDecimal(s, 129) }

func checkDryRun(dryRun *bool) error {
	if dryRun != nil && *dryRun {
		return unsupported("DryRun")
	}
	return nil
}

// ---- PutRecord

type putRecordInput struct {
	streamRef
	Data                      []byte  `json:"Data"`
	PartitionKey              *string `json:"PartitionKey"`
	ExplicitHashKey           *string `json:"ExplicitHashKey"`
	SequenceNumberForOrdering *string `json:"SequenceNumberForOrdering"`
	DryRun                    *bool   `json:"DryRun"`
}

func (in *putRecordInput) validate(v *violations) {
	in.check(v)
	v.notNull("data", in.Data == nil)
	v.notNull("partitionKey", in.PartitionKey == nil)
	v.pattern("explicitHashKey", in.ExplicitHashKey, isHashKey, hashKeyPattern)
	v.pattern("sequenceNumberForOrdering", in.SequenceNumberForOrdering, isSequenceNumber, sequenceNumberPattern)
}

type putRecordOutput struct {
	ShardID        string `json:"ShardId"`
	SequenceNumber string `json:"SequenceNumber"`
	EncryptionType string `json:"EncryptionType"`
}

// putRecord stores one record. SequenceNumberForOrdering is checked for
// shape and otherwise needs nothing: a shard's sequence numbers already
// increase in the order puts are acknowledged.
func (h *handler) putRecord(in *putRecordInput) (any, error) {
	if err := checkDryRun(in.DryRun); err != nil {
		return nil, err
	}
	name, err := h.streamName(in.streamRef)
	if err != nil {
		return nil, err
	}
	res, err := h.st.PutRecord(name, store.PutRecordInput{
		PartitionKey:    *in.PartitionKey,
		ExplicitHashKey: deref(in.ExplicitHashKey),
		Data:            in.Data,
	})
	if err != nil {
		return nil, err
	}
	if res.ErrorCode != "" {
		return nil, &apiError{Code: res.ErrorCode, Message: res.ErrorMessage}
	}
	return putRecordOutput{ShardID: res.ShardID, SequenceNumber: res.SequenceNumber, EncryptionType: "NONE"}, nil
}

// ---- PutRecords

type putRecordsEntry struct {
	Data            []byte  `json:"Data"`
	PartitionKey    *string `json:"PartitionKey"`
	ExplicitHashKey *string `json:"ExplicitHashKey"`
}

type putRecordsInput struct {
	streamRef
	Records []putRecordsEntry `json:"Records"`
	DryRun  *bool             `json:"DryRun"`
}

func (in *putRecordsInput) validate(v *violations) {
	in.check(v)
	v.notNull("records", in.Records == nil)
	if in.Records == nil {
		return
	}
	if n := len(in.Records); n < 1 {
		v.add("'[]'", "records", "Member must have length greater than or equal to 1")
	} else if n > maxPutRecordsEntries {
		v.add("'["+strconv.Itoa(n)+" records]'", "records", "Member must have length less than or equal to 500")
	}
	for i := range in.Records {
		if len(*v) >= 10 {
			return
		}
		r := &in.Records[i]
		if r.Data != nil && r.PartitionKey != nil && r.ExplicitHashKey == nil {
			continue // the common case, with nothing to report
		}
		p := "records." + strconv.Itoa(i+1) + ".member."
		v.notNull(p+"data", r.Data == nil)
		v.notNull(p+"partitionKey", r.PartitionKey == nil)
		v.pattern(p+"explicitHashKey", r.ExplicitHashKey, isHashKey, hashKeyPattern)
	}
}

// putRecords stores a batch. Shape validation has already passed for every
// entry, so the store sees the whole batch or nothing; per-record failures
// (throttling) come back in the response with HTTP 200, as on AWS.
func (h *handler) putRecords(in *putRecordsInput) (any, error) {
	if err := checkDryRun(in.DryRun); err != nil {
		return nil, err
	}
	name, err := h.streamName(in.streamRef)
	if err != nil {
		return nil, err
	}
	recs := make([]store.PutRecordInput, len(in.Records))
	for i := range in.Records {
		r := &in.Records[i]
		recs[i] = store.PutRecordInput{PartitionKey: *r.PartitionKey, ExplicitHashKey: deref(r.ExplicitHashKey), Data: r.Data}
	}
	out, err := h.st.PutRecords(name, recs)
	if err != nil {
		return nil, err
	}
	return putRecordsResult(out), nil
}

// putRecordsResult is the PutRecords answer; it encodes itself (fastjson.go).
type putRecordsResult store.PutRecordsOutput

// ---- GetShardIterator

var iteratorTypes = []string{
	string(store.AtSequenceNumber), string(store.AfterSequenceNumber),
	string(store.TrimHorizon), string(store.Latest), string(store.AtTimestamp),
}

type getShardIteratorInput struct {
	streamRef
	ShardID                *string   `json:"ShardId"`
	ShardIteratorType      *string   `json:"ShardIteratorType"`
	StartingSequenceNumber *string   `json:"StartingSequenceNumber"`
	Timestamp              *wireTime `json:"Timestamp"`
	DryRun                 *bool     `json:"DryRun"`
}

func (in *getShardIteratorInput) validate(v *violations) {
	in.check(v)
	v.notNull("shardId", in.ShardID == nil)
	v.strLen("shardId", in.ShardID, 1, 128)
	v.notNull("shardIteratorType", in.ShardIteratorType == nil)
	v.enum("shardIteratorType", in.ShardIteratorType, iteratorTypes...)
	v.pattern("startingSequenceNumber", in.StartingSequenceNumber, isSequenceNumber, sequenceNumberPattern)
}

type getShardIteratorOutput struct {
	ShardIterator string `json:"ShardIterator"`
}

func (h *handler) getShardIterator(in *getShardIteratorInput) (any, error) {
	if err := checkDryRun(in.DryRun); err != nil {
		return nil, err
	}
	name, err := h.streamName(in.streamRef)
	if err != nil {
		return nil, err
	}
	it, err := h.st.GetShardIterator(store.GetShardIteratorInput{
		StreamName:     name,
		ShardID:        *in.ShardID,
		Type:           store.IteratorType(*in.ShardIteratorType),
		SequenceNumber: deref(in.StartingSequenceNumber),
		Timestamp:      optTime(in.Timestamp),
	})
	if err != nil {
		return nil, err
	}
	return getShardIteratorOutput{ShardIterator: it}, nil
}

// ---- GetRecords

type getRecordsInput struct {
	ShardIterator *string `json:"ShardIterator"`
	Limit         *int    `json:"Limit"`
	StreamARN     *string `json:"StreamARN"`
	DryRun        *bool   `json:"DryRun"`
}

func (in *getRecordsInput) validate(v *violations) {
	v.notNull("shardIterator", in.ShardIterator == nil)
	v.strLen("shardIterator", in.ShardIterator, 1, 4096)
	v.intRange("limit", in.Limit, 1, maxGetRecordsLimit)
}

// getRecords reads from an iterator. StreamARN, which newer SDKs send for
// endpoint routing, is accepted and not needed: the iterator names its stream.
func (h *handler) getRecords(in *getRecordsInput) (any, error) {
	if err := checkDryRun(in.DryRun); err != nil {
		return nil, err
	}
	limit := defaultGetRecordsLimit
	if in.Limit != nil {
		limit = *in.Limit
	}
	out, err := h.st.GetRecords(*in.ShardIterator, limit)
	if err != nil {
		return nil, err
	}
	return (*getRecordsResult)(&out), nil
}

// getRecordsResult is the GetRecords answer; it encodes itself (fastjson.go).
type getRecordsResult store.GetRecordsOutput
