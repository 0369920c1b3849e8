package restapi

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kdaproject/kda/engine/store"
)

// streamSummary is one stream of GET /v1/streams.
type streamSummary struct {
	Name           string    `json:"name"`
	Status         string    `json:"status"`
	Mode           string    `json:"mode"`
	OpenShards     int       `json:"openShards"`
	RetentionHours int       `json:"retentionHours"`
	CreatedAt      time.Time `json:"createdAt"`
}

// streamDetail is GET /v1/streams/{name}.
type streamDetail struct {
	streamSummary
	ARN       string        `json:"arn"`
	Consumers int           `json:"consumers"`
	Shards    []shardDetail `json:"shards"`
	Stats     streamStats   `json:"stats"`
}

type shardDetail struct {
	ID               string `json:"id"`
	Parent           string `json:"parent,omitempty"`
	AdjacentParent   string `json:"adjacentParent,omitempty"`
	StartingHashKey  string `json:"startingHashKey"`
	EndingHashKey    string `json:"endingHashKey"`
	StartingSequence string `json:"startingSequence"`
	EndingSequence   string `json:"endingSequence,omitempty"`
	Open             bool   `json:"open"`
}

// streamStats are the stream's counters since the server started.
type streamStats struct {
	RecordsIn      uint64 `json:"recordsIn"`
	BytesIn        uint64 `json:"bytesIn"`
	RecordsOut     uint64 `json:"recordsOut"`
	BytesOut       uint64 `json:"bytesOut"`
	WriteThrottles uint64 `json:"writeThrottles"`
	ReadThrottles  uint64 `json:"readThrottles"`
}

func summaryOf(d store.StreamDescription) streamSummary {
	return streamSummary{Name: d.StreamName, Status: string(d.StreamStatus), Mode: string(d.StreamMode),
		OpenShards: d.OpenShardCount, RetentionHours: d.RetentionHours, CreatedAt: d.CreatedAt.UTC()}
}

func (s *server) listStreams(w http.ResponseWriter, _ *http.Request) {
	out := struct {
		Streams []streamSummary `json:"streams"`
	}{Streams: []streamSummary{}}
	for _, sum := range s.deps.Store.ListStreams() {
		d, err := s.deps.Store.DescribeStream(sum.StreamName)
		if err != nil {
			continue // deleted meanwhile
		}
		out.Streams = append(out.Streams, summaryOf(d))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) detail(name string) (streamDetail, error) {
	d, err := s.deps.Store.DescribeStream(name)
	if err != nil {
		return streamDetail{}, err
	}
	out := streamDetail{streamSummary: summaryOf(d), ARN: d.StreamARN, Consumers: d.ConsumerCount, Shards: []shardDetail{}}
	for _, sh := range d.Shards {
		out.Shards = append(out.Shards, shardDetail{
			ID: sh.ShardID, Parent: sh.ParentShardID, AdjacentParent: sh.AdjacentParentShardID,
			StartingHashKey: sh.HashKeyRange.StartingHashKey, EndingHashKey: sh.HashKeyRange.EndingHashKey,
			StartingSequence: sh.SequenceNumberRange.StartingSequenceNumber, EndingSequence: sh.SequenceNumberRange.EndingSequenceNumber,
			Open: sh.Open(),
		})
	}
	for _, st := range s.deps.Store.Stats() {
		if st.StreamName == name {
			out.Stats = streamStats{RecordsIn: st.RecordsIn, BytesIn: st.BytesIn, RecordsOut: st.RecordsOut, BytesOut: st.BytesOut,
				WriteThrottles: st.WriteThrottles, ReadThrottles: st.ReadThrottles}
		}
	}
	return out, nil
}

func (s *server) describeStream(w http.ResponseWriter, r *http.Request) {
	d, err := s.detail(r.PathValue("name"))
	if err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// createStreamRequest is the body of POST /v1/streams.
type createStreamRequest struct {
	Name   string `json:"name"`
	Shards int    `json:"shards"`
	Mode   string `json:"mode"`
}

func (s *server) createStream(w http.ResponseWriter, r *http.Request) {
	var in createStreamRequest
	if !decodeBody(w, r, &in, `{"name":"clicks","shards":2,"mode":"PROVISIONED"}`) {
		return
	}
	mode := store.StreamMode(strings.ToUpper(in.Mode))
	switch mode {
	case "":
		mode = store.ModeProvisioned
	case store.ModeProvisioned, store.ModeOnDemand:
	default:
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, fmt.Sprintf("mode: %q is not PROVISIONED or ON_DEMAND", in.Mode))
		return
	}
	if in.Name == "" {
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, "name: the stream needs a name")
		return
	}
	if mode == store.ModeProvisioned && in.Shards == 0 {
		in.Shards = 1
	}
	if in.Shards < 0 {
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, fmt.Sprintf("shards: %d is negative", in.Shards))
		return
	}
	if err := s.deps.Store.CreateStream(store.CreateStreamInput{StreamName: in.Name, ShardCount: in.Shards, Mode: mode}); err != nil {
		writeStoreError(w, err)
		return
	}
	d, err := s.detail(in.Name)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, d)
}

func (s *server) deleteStream(w http.ResponseWriter, r *http.Request) {
	if err := s.deps.Store.DeleteStream(r.PathValue("name"), r.URL.Query().Get("enforceConsumerDeletion") == "true"); err != nil {
		writeStoreError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// putRecordsRequest is the body of POST /v1/streams/{name}/records.
type putRecordsRequest struct {
	Records []putRecord `json:"records"`
}

// putRecord is one record: data as text, or dataBase64 for bytes.
type putRecord struct {
	PartitionKey    string  `json:"partitionKey"`
	ExplicitHashKey string  `json:"explicitHashKey,omitempty"`
	Data            *string `json:"data,omitempty"`
	DataBase64      *string `json:"dataBase64,omitempty"`
}

// recordData is record i's bytes, from data (text) or dataBase64; a
// record with neither or both, or bad base64, is answered 400 here.
func recordData(w http.ResponseWriter, i int, rec putRecord) ([]byte, bool) {
	at := fmt.Sprintf("records[%d]", i)
	if (rec.Data == nil) == (rec.DataBase64 == nil) {
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, at+": set exactly one of data (text) and dataBase64")
		return nil, false
	}
	if rec.Data != nil {
		return []byte(*rec.Data), true
	}
	b, err := base64.StdEncoding.DecodeString(*rec.DataBase64)
	if err != nil {
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, at+".dataBase64: not standard base64: "+err.Error())
		return nil, false
	}
	return b, true
}

// putResult is one record's outcome, in request order.
type putResult struct {
	ShardID        string `json:"shardId,omitempty"`
	SequenceNumber string `json:"sequenceNumber,omitempty"`
	ErrorCode      string `json:"errorCode,omitempty"`
	ErrorMessage   string `json:"errorMessage,omitempty"`
}

func (s *server) putRecords(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var in putRecordsRequest
	if !decodeBody(w, r, &in, `{"records":[{"partitionKey":"k","data":"text"},{"partitionKey":"k","dataBase64":"AAE="}]}`) {
		return
	}
	if len(in.Records) == 0 {
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, "records: give at least one record")
		return
	}
	recs := make([]store.PutRecordInput, len(in.Records))
	for i, rec := range in.Records {
		data, ok := recordData(w, i, rec)
		if !ok {
			return
		}
		recs[i] = store.PutRecordInput{PartitionKey: rec.PartitionKey, ExplicitHashKey: rec.ExplicitHashKey, Data: data}
	}
	out, err := s.deps.Store.PutRecords(name, recs)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	res := struct {
		Failed  int         `json:"failed"`
		Records []putResult `json:"records"`
	}{Failed: out.FailedRecordCount, Records: make([]putResult, len(out.Records))}
	for i, pr := range out.Records {
		res.Records[i] = putResult{ShardID: pr.ShardID, SequenceNumber: pr.SequenceNumber, ErrorCode: pr.ErrorCode, ErrorMessage: pr.ErrorMessage}
	}
	writeJSON(w, http.StatusOK, res)
}

// tailRecord is one record of GET /v1/streams/{name}/records.
type tailRecord struct {
	ShardID        string    `json:"shardId"`
	SequenceNumber string    `json:"sequenceNumber"`
	PartitionKey   string    `json:"partitionKey"`
	ArrivalTime    time.Time `json:"arrivalTime"`
	Data           *string   `json:"data,omitempty"`
	DataBase64     *string   `json:"dataBase64,omitempty"`
}

// maxTail bounds GET /v1/streams/{name}/records?limit=.
const maxTail = 10000

// queryInt reads an integer query parameter in [1, maxV], def when absent.
func queryInt(r *http.Request, name string, def, maxV int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxV {
		return 0, fmt.Errorf("query parameter %s=%q: want a whole number from 1 to %d", name, v, maxV)
	}
	return n, nil
}

func (s *server) tailRecords(w http.ResponseWriter, r *http.Request) {
	limit, err := queryInt(r, "limit", 50, maxTail)
	if err != nil {
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, err.Error())
		return
	}
	recs, err := latestRecords(s.deps.Store, r.PathValue("name"), limit)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	out := struct {
		Records []tailRecord `json:"records"`
	}{Records: make([]tailRecord, len(recs))}
	for i, rec := range recs {
		tr := tailRecord{ShardID: rec.shard, SequenceNumber: rec.SequenceNumber, PartitionKey: rec.PartitionKey, ArrivalTime: rec.ArrivalTime.UTC()}
		if utf8.Valid(rec.Data) {
			d := string(rec.Data)
			tr.Data = &d
		} else {
			d := base64.StdEncoding.EncodeToString(rec.Data)
			tr.DataBase64 = &d
		}
		out.Records[i] = tr
	}
	writeJSON(w, http.StatusOK, out)
}

// shardRecord is a record and the shard it came from.
type shardRecord struct {
	store.Record
	shard string
}

// latestRecords returns the newest n records of a stream across its shards
// (closed ones included), oldest first by arrival time.
func latestRecords(st *store.Store, stream string, n int) ([]shardRecord, error) {
	all, err := readShards(st, stream, n, func(shardID string) (string, error) {
		return st.TailIterator(stream, shardID, n)
	})
	if err != nil {
		return nil, err
	}
	if len(all) > n {
		all = all[len(all)-n:]
	}
	return all, nil
}

// readShards reads up to n records from an iterator of every shard of a
// stream (closed ones included) and sorts them by arrival time, then
// shard, then sequence number. One read per shard gets them unless they
// are larger than a GetRecords answer; then those that fit are enough
// for a peek.
func readShards(st *store.Store, stream string, n int, iterator func(shardID string) (string, error)) ([]shardRecord, error) {
	d, err := st.DescribeStream(stream)
	if err != nil {
		return nil, err
	}
	var all []shardRecord
	for _, sh := range d.Shards {
		iter, err := iterator(sh.ShardID)
		if err != nil {
			return nil, fmt.Errorf("read shard %s: %w", sh.ShardID, err)
		}
		out, err := st.GetRecordsDedicated(iter, n)
		if err != nil {
			return nil, fmt.Errorf("read shard %s: %w", sh.ShardID, err)
		}
		for _, rec := range out.Records {
			all = append(all, shardRecord{Record: rec, shard: sh.ShardID})
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		if !all[i].ArrivalTime.Equal(all[j].ArrivalTime) {
			return all[i].ArrivalTime.Before(all[j].ArrivalTime)
		}
		if all[i].shard != all[j].shard {
			return all[i].shard < all[j].shard
		}
		return len(all[i].SequenceNumber) < len(all[j].SequenceNumber) ||
			len(all[i].SequenceNumber) == len(all[j].SequenceNumber) && all[i].SequenceNumber < all[j].SequenceNumber
	})
	return all, nil
}
