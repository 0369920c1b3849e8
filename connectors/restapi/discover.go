package restapi

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/kdaproject/kda/engine/store"
	"github.com/kdaproject/kda/operators/input"
)

// discoverRequest is the body of POST /v1/discover: a stream to sample, or
// sample records, one per line.
type discoverRequest struct {
	Stream string `json:"stream,omitempty"`
	Limit  int    `json:"limit,omitempty"`
	Data   string `json:"data,omitempty"`
	// Format forces JSON or CSV; empty guesses.
	Format string `json:"format,omitempty"`
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
		if samples, ok = s.sampleStream(w, in.Stream, in.Limit); !ok {
			return
		}
	} else {
		for _, line := range bytes.Split([]byte(in.Data), []byte("\n")) {
			if line = bytes.TrimRight(line, "\r"); len(bytes.TrimSpace(line)) > 0 {
				samples = append(samples, line)
			}
		}
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
	writeJSON(w, http.StatusOK, struct {
		Schema input.Schema `json:"schema"`
	}{schema})
}

// sampleStream returns the data of a stream's newest records; it answers
// the request itself when there are none.
func (s *server) sampleStream(w http.ResponseWriter, stream string, limit int) ([][]byte, bool) {
	recs, err := latestRecords(s.deps.Store, stream, limit)
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
