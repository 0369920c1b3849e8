package restapi

import "net/http"

// Consumer checkpoints (the Kinesis API has no such operation; `kda tail
// --consumer` keeps its positions here):
//
//	GET /v1/streams/{name}/consumers/{consumer}/checkpoints → {"shardId-…":"seq",…}
//	PUT (same path) {"shardId-…":"seq",…} → merges, answers with all of them

func (s *server) getCheckpoints(w http.ResponseWriter, r *http.Request) {
	s.answerCheckpoints(w, r.PathValue("name"), r.PathValue("consumer"))
}

func (s *server) putCheckpoints(w http.ResponseWriter, r *http.Request) {
	stream, consumer := r.PathValue("name"), r.PathValue("consumer")
	var in map[string]string
	if !decodeBody(w, r, &in, `{"shardId-000000000000":"4960..."} (shard id to sequence number)`) {
		return
	}
	for shard, seq := range in {
		if err := s.deps.Store.SetCheckpoint(stream, consumer, shard, seq); err != nil {
			writeStoreError(w, err)
			return
		}
	}
	s.answerCheckpoints(w, stream, consumer)
}

func (s *server) answerCheckpoints(w http.ResponseWriter, stream, consumer string) {
	cps, err := s.deps.Store.Checkpoints(stream, consumer)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	if cps == nil {
		cps = map[string]string{}
	}
	writeJSON(w, http.StatusOK, cps)
}
