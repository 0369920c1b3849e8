package kinesisapi

import (
	"github.com/kdaproject/kda/engine/store"

	"encoding/base64"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Hand-written JSON for the data path. Profiling BenchmarkSDKPutRecords
// showed encoding/json's reflection (and its separate validation pass) as the
// largest cost of a PutRecords call; these decoders read the body once and
// allocate only what they return. FuzzDecodeJSON checks that they agree with
// encoding/json on every input.

// decodePutRecordsJSON decodes a PutRecords body.
func decodePutRecordsJSON(body []byte) (request, error) {
	in := new(putRecordsInput)
	r := jsonReader{b: body}
	// Every blob is inside the body and base64 is 4/3 the size of its
	// content, so one slab of 3/4 the body holds all of them.
	slab := make([]byte, 0, len(body)*3/4+3)
	var scratch []byte
	err := r.document(func() error {
		return r.object(func(name []byte) error {
			switch {
			case fieldIs(name, "Records"):
				return readPutRecordsEntries(&r, &in.Records, &slab, &scratch)
			case fieldIs(name, "StreamName"):
				return r.readStringPtr("StreamName", &in.StreamName, &scratch)
			case fieldIs(name, "StreamARN"):
				return r.readStringPtr("StreamARN", &in.StreamARN, &scratch)
			case fieldIs(name, "DryRun"):
				return r.readBoolPtr("DryRun", &in.DryRun)
			}
			return r.skip()
		})
	})
	if err != nil {
		return nil, err
	}
	return in, nil
}

// readPutRecordsEntries decodes the Records array with encoding/json's
// semantics for a repeated member: elements are decoded into the existing
// ones, and the slice is cut to the new length.
func readPutRecordsEntries(r *jsonReader, dst *[]putRecordsEntry, slab, scratch *[]byte) error {
	if isNull, err := r.null(); isNull || err != nil {
		if isNull {
			*dst = nil
		}
		return err
	}
	if r.peek() != '[' {
		return r.mismatch("Records", "a list")
	}
	recs := *dst
	if recs == nil {
		recs = make([]putRecordsEntry, 0, 16)
	}
	i := 0
	err := r.array(func() error {
		// Like encoding/json, reuse elements left in the capacity by an
		// earlier, longer Records member instead of zeroing them.
		switch {
		case i < len(recs):
		case i < cap(recs):
			recs = recs[:i+1]
		default:
			recs = append(recs, putRecordsEntry{})
		}
		e := &recs[i]
		i++
		if isNull, err := r.null(); isNull || err != nil {
			return err // null leaves a structure unchanged
		}
		if r.peek() != '{' {
			return r.mismatch("Records", "a structure")
		}
		return r.object(func(name []byte) error {
			switch {
			case fieldIs(name, "Data"):
				return r.readBlob("Records.Data", &e.Data, slab, scratch)
			case fieldIs(name, "PartitionKey"):
				return r.readStringPtr("Records.PartitionKey", &e.PartitionKey, scratch)
			case fieldIs(name, "ExplicitHashKey"):
				return r.readStringPtr("Records.ExplicitHashKey", &e.ExplicitHashKey, scratch)
			}
			return r.skip()
		})
	})
	if err != nil {
		return err
	}
	if i == 0 {
		recs = []putRecordsEntry{}
	}
	*dst = recs[:i]
	return nil
}

// decodePutRecordJSON decodes a PutRecord body.
func decodePutRecordJSON(body []byte) (request, error) {
	in := new(putRecordInput)
	r := jsonReader{b: body}
	var slab, scratch []byte
	err := r.document(func() error {
		return r.object(func(name []byte) error {
			switch {
			case fieldIs(name, "Data"):
				return r.readBlob("Data", &in.Data, &slab, &scratch)
			case fieldIs(name, "PartitionKey"):
				return r.readStringPtr("PartitionKey", &in.PartitionKey, &scratch)
			case fieldIs(name, "ExplicitHashKey"):
				return r.readStringPtr("ExplicitHashKey", &in.ExplicitHashKey, &scratch)
			case fieldIs(name, "SequenceNumberForOrdering"):
				return r.readStringPtr("SequenceNumberForOrdering", &in.SequenceNumberForOrdering, &scratch)
			case fieldIs(name, "StreamName"):
				return r.readStringPtr("StreamName", &in.StreamName, &scratch)
			case fieldIs(name, "StreamARN"):
				return r.readStringPtr("StreamARN", &in.StreamARN, &scratch)
			case fieldIs(name, "DryRun"):
				return r.readBoolPtr("DryRun", &in.DryRun)
			}
			return r.skip()
		})
	})
	if err != nil {
		return nil, err
	}
	return in, nil
}

// decodeGetRecordsJSON decodes a GetRecords body.
func decodeGetRecordsJSON(body []byte) (request, error) {
	in := new(getRecordsInput)
	r := jsonReader{b: body}
	var scratch []byte
	err := r.document(func() error {
		return r.object(func(name []byte) error {
			switch {
			case fieldIs(name, "ShardIterator"):
				return r.readStringPtr("ShardIterator", &in.ShardIterator, &scratch)
			case fieldIs(name, "Limit"):
				return r.readIntPtr("Limit", &in.Limit)
			case fieldIs(name, "StreamARN"):
				return r.readStringPtr("StreamARN", &in.StreamARN, &scratch)
			case fieldIs(name, "DryRun"):
				return r.readBoolPtr("DryRun", &in.DryRun)
			}
			return r.skip()
		})
	})
	if err != nil {
		return nil, err
	}
	return in, nil
}

// fastEncoder is a result that writes its own body in both wire formats.
type fastEncoder interface {
	appendJSON(b []byte) []byte
	appendCBOR(b []byte) []byte
	sizeHint() int
}

// ---- PutRecords result

func (p putRecordsResult) sizeHint() int { return 64 + 96*len(p.Records) }

func (p putRecordsResult) appendJSON(b []byte) []byte {
	b = append(b, `{"FailedRecordCount":`...)
	b = strconv.AppendInt(b, int64(p.FailedRecordCount), 10)
	b = append(b, `,"Records":[`...)
	for i, r := range p.Records {
		if i > 0 {
			b = append(b, ',')
		}
		if r.ErrorCode != "" {
			b = append(b, `{"ErrorCode":`...)
			b = appendJSONString(b, r.ErrorCode)
			b = append(b, `,"ErrorMessage":`...)
			b = appendJSONString(b, r.ErrorMessage)
		} else {
			b = append(b, `{"SequenceNumber":`...)
			b = appendJSONString(b, r.SequenceNumber)
			b = append(b, `,"ShardId":`...)
			b = appendJSONString(b, r.ShardID)
		}
		b = append(b, '}')
	}
	return append(b, `],"EncryptionType":"NONE"}`...)
}

func (p putRecordsResult) appendCBOR(b []byte) []byte {
	b = appendCBORHead(b, 5, 3)
	b = appendCBORText(b, "FailedRecordCount")
	b = appendCBORHead(b, 0, uint64(max(p.FailedRecordCount, 0)))
	b = appendCBORText(b, "Records")
	b = appendCBORHead(b, 4, uint64(len(p.Records)))
	for _, r := range p.Records {
		b = appendCBORHead(b, 5, 2)
		if r.ErrorCode != "" {
			b = appendCBORText(b, "ErrorCode")
			b = appendCBORText(b, r.ErrorCode)
			b = appendCBORText(b, "ErrorMessage")
			b = appendCBORText(b, r.ErrorMessage)
		} else {
			b = appendCBORText(b, "SequenceNumber")
			b = appendCBORText(b, r.SequenceNumber)
			b = appendCBORText(b, "ShardId")
			b = appendCBORText(b, r.ShardID)
		}
	}
	b = appendCBORText(b, "EncryptionType")
	return appendCBORText(b, "NONE")
}

// ---- GetRecords result

func (g *getRecordsResult) sizeHint() int {
	n := 128
	for _, r := range g.Records {
		n += 128 + len(r.PartitionKey) + base64.StdEncoding.EncodedLen(len(r.Data))
	}
	return n + len(g.NextShardIterator)
}

func (g *getRecordsResult) appendJSON(b []byte) []byte {
	return appendRecordsJSON(b, (*store.GetRecordsOutput)(g), "NextShardIterator", g.NextShardIterator)
}

// appendRecordsJSON writes a batch of records with its position token:
// NextShardIterator for GetRecords, ContinuationSequenceNumber for a
// SubscribeToShard event. An empty token is left out.
func appendRecordsJSON(b []byte, g *store.GetRecordsOutput, tokenName, token string) []byte {
	b = append(b, `{"Records":[`...)
	for i, r := range g.Records {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"SequenceNumber":`...)
		b = appendJSONString(b, r.SequenceNumber)
		b = append(b, `,"ApproximateArrivalTimestamp":`...)
		b = appendEpochSeconds(b, r.ArrivalTime)
		b = append(b, `,"Data":"`...)
		b = base64.StdEncoding.AppendEncode(b, r.Data)
		b = append(b, `","PartitionKey":`...)
		b = appendJSONString(b, r.PartitionKey)
		b = append(b, '}')
	}
	b = append(b, ']')
	if token != "" {
		b = append(b, `,"`...)
		b = append(b, tokenName...)
		b = append(b, `":`...)
		b = appendJSONString(b, token)
	}
	b = append(b, `,"MillisBehindLatest":`...)
	b = strconv.AppendInt(b, g.MillisBehindLatest, 10)
	if cs := childShardsOut(g.ChildShards); cs != nil {
		enc, err := json.Marshal(cs)
		if err == nil { // strings and slices only: cannot fail
			b = append(b, `,"ChildShards":`...)
			b = append(b, enc...)
		}
	}
	return append(b, '}')
}

func (g *getRecordsResult) appendCBOR(b []byte) []byte {
	return appendRecordsCBOR(b, (*store.GetRecordsOutput)(g), "NextShardIterator", g.NextShardIterator)
}

// appendRecordsCBOR is appendRecordsJSON in CBOR.
func appendRecordsCBOR(b []byte, g *store.GetRecordsOutput, tokenName, token string) []byte {
	fields := uint64(2)
	if token != "" {
		fields++
	}
	cs := childShardsOut(g.ChildShards)
	if cs != nil {
		fields++
	}
	b = appendCBORHead(b, 5, fields)
	b = appendCBORText(b, "Records")
	b = appendCBORHead(b, 4, uint64(len(g.Records)))
	for _, r := range g.Records {
		b = appendCBORHead(b, 5, 4)
		b = appendCBORText(b, "SequenceNumber")
		b = appendCBORText(b, r.SequenceNumber)
		b = appendCBORText(b, "ApproximateArrivalTimestamp")
		b = appendCBORMillis(b, r.ArrivalTime)
		b = appendCBORText(b, "Data")
		b = appendCBORHead(b, 2, uint64(len(r.Data)))
		b = append(b, r.Data...)
		b = appendCBORText(b, "PartitionKey")
		b = appendCBORText(b, r.PartitionKey)
	}
	if token != "" {
		b = appendCBORText(b, tokenName)
		b = appendCBORText(b, token)
	}
	b = appendCBORText(b, "MillisBehindLatest")
	if g.MillisBehindLatest >= 0 {
		b = appendCBORHead(b, 0, uint64(g.MillisBehindLatest))
	} else {
		b = appendCBORHead(b, 1, uint64(-1-g.MillisBehindLatest))
	}
	if cs != nil {
		b = appendCBORText(b, "ChildShards")
		b = appendCBORHead(b, 4, uint64(len(cs)))
		for _, c := range cs {
			b = appendCBORHead(b, 5, 3)
			b = appendCBORText(b, "ShardId")
			b = appendCBORText(b, c.ShardID)
			b = appendCBORText(b, "ParentShards")
			b = appendCBORHead(b, 4, uint64(len(c.ParentShards)))
			for _, p := range c.ParentShards {
				b = appendCBORText(b, p)
			}
			b = appendCBORText(b, "HashKeyRange")
			b = appendCBORHead(b, 5, 2)
			b = appendCBORText(b, "StartingHashKey")
			b = appendCBORText(b, c.HashKeyRange.StartingHashKey)
			b = appendCBORText(b, "EndingHashKey")
			b = appendCBORText(b, c.HashKeyRange.EndingHashKey)
		}
	}
	return b
}

// appendCBORText appends a text string, repairing invalid UTF-8 (CBOR text
// must be valid UTF-8).
func appendCBORText(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = string([]rune(s)) // each invalid byte becomes U+FFFD
	}
	b = appendCBORHead(b, 3, uint64(len(s)))
	return append(b, s...)
}

// appendJSONString appends s as a JSON string, escaping as encoding/json
// does (without its HTML escaping) and writing invalid UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
