package restapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/kdaproject/kda/engine/store"
	"github.com/kdaproject/kda/operators/input"
)

// discoverRequest is the body of POST /v1/discover: a stream to sample, or
// sample records, one per line.
type discoverRequest struct {
	Stream string `json:"stream,omitempty"`
	Limit  int    `json:"limit,omitempty"`
	// From says which records of Stream to sample: "latest" (default,
	// the newest Limit records) or "trim-horizon" (the oldest).
	From string `json:"from,omitempty"`
	// Data holds sample records: one JSON document or one CSV row each
	// (see input.SampleRecords).
	Data string `json:"data,omitempty"`
	// Format forces JSON or CSV; empty guesses.
	Format string `json:"format,omitempty"`
}

// Where discover samples a stream (discoverRequest.From).
const (
	DiscoverFromLatest      = "latest"
	DiscoverFromTrimHorizon = "trim-horizon"
)

// DiscoverResponse is the answer of POST /v1/discover.
type DiscoverResponse struct {
	Schema input.Schema `json:"schema"`
	// Samples is how many records the schema was discovered from.
	Samples int `json:"samples"`
}

// maxDiscoverSamples bounds discover's limit.
const maxDiscoverSamples = 10000

func (s *server) discover(w http.ResponseWriter, r *http.Request) {
	var in discoverRequest
	if !decodeBody(w, r, &in, `{"stream":"clicks","limit":100} or {"data":"{\"a\":1}\n{\"a\":2}"}`) {
		return
	}
	if (in.Stream == "") == (in.Data == "") {
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, "set exactly one of stream (a stream to sample) and data (sample records, one per line)")
		return
	}
	var samples [][]byte
	if in.Stream != "" {
		if in.Limit == 0 {
			in.Limit = 100
		}
		if in.Limit < 1 || in.Limit > maxDiscoverSamples {
			writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, fmt.Sprintf("limit: %d is not in 1..%d", in.Limit, maxDiscoverSamples))
			return
		}
		var ok bool
		switch strings.ToLower(in.From) {
		case "", DiscoverFromLatest:
			samples, ok = s.sampleStream(w, in.Stream, in.Limit)
		case DiscoverFromTrimHorizon:
			samples, ok = s.sampleOldest(w, in.Stream, in.Limit)
		default:
			writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, fmt.Sprintf("from: %q is not %s or %s", in.From, DiscoverFromLatest, DiscoverFromTrimHorizon))
			return
		}
		if !ok {
			return
		}
	} else {
		samples = input.SampleRecords([]byte(in.Data), in.Limit)
		if len(samples) == 0 {
			writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, "data: no sample records (give one record per line)")
			return
		}
	}
	schema, err := input.Discover(samples, in.Format)
	if err != nil {
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, DiscoverResponse{Schema: schema, Samples: len(samples)})
}

// sampleStream returns the data of a stream's newest records; it answers
// the request itself when there are none.
func (s *server) sampleStream(w http.ResponseWriter, stream string, limit int) ([][]byte, bool) {
	return s.sample(w, stream, limit, latestRecords)
}

// sampleOldest is sampleStream for the oldest records (from the trim
// horizon).
func (s *server) sampleOldest(w http.ResponseWriter, stream string, limit int) ([][]byte, bool) {
	return s.sample(w, stream, limit, oldestRecords)
}

func (s *server) sample(w http.ResponseWriter, stream string, limit int, read func(*store.Store, string, int) ([]shardRecord, error)) ([][]byte, bool) {
	recs, err := read(s.deps.Store, stream, limit)
	if err != nil {
		writeStoreError(w, err)
		return nil, false
	}
	if len(recs) == 0 {
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument,
			fmt.Sprintf("stream %s has no records to discover a schema from; put some records first, or send a schema", stream))
		return nil, false
	}
	samples := make([][]byte, len(recs))
	for i, rec := range recs {
		samples[i] = rec.Data
	}
	return samples, true
}

// oldestRecords returns the oldest n records of a stream across its shards
// (closed ones included), oldest first by arrival time.
func oldestRecords(st *store.Store, stream string, n int) ([]shardRecord, error) {
	all, err := readShards(st, stream, n, func(shardID string) (string, error) {
		return st.GetShardIterator(store.GetShardIteratorInput{StreamName: stream, ShardID: shardID, Type: store.TrimHorizon})
	})
	if err != nil {
		return nil, err
	}
	return all[:min(n, len(all))], nil
}
