// Package appcrashtest kills `kda serve` with SIGKILL while a SQL
// application inside it counts records in tumbling windows, restarts it,
// and checks that the application's output stream counts every input record
// exactly once: no window result lost, none repeated.
//
// Window boundaries depend on processing time, so the test cannot predict
// the rows themselves. It checks what must hold whatever the timing: the
// counts (and sums) per key over all output rows equal what the input
// stream holds per key, and no (window, key) row appears twice.
package appcrashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/kdaproject/kda/cmd/kda/internal/killtest"
)

const (
	kills    = 6
	writers  = 2
	batchLen = 25
	keys     = 5
)

// definition is the application: COUNT and SUM per key in one-second
// tumbling windows, checkpointed every 150 ms, into the stream "out".
const definition = `{
  "name": "counter",
  "sql": "CREATE STREAM OUT_S (k VARCHAR(8), n BIGINT, total BIGINT);\nCREATE PUMP P AS INSERT INTO OUT_S SELECT STREAM k, COUNT(*), SUM(v) FROM SOURCE_SQL_STREAM_001 GROUP BY k, STEP(SOURCE_SQL_STREAM_001.ROWTIME BY INTERVAL '1' SECOND);",
  "input": {"stream": "in", "startingPosition": "TRIM_HORIZON", "schema": {
    "recordFormat": {"type": "JSON"},
    "columns": [{"name": "K", "sqlType": "VARCHAR(8)", "mapping": "$.k"}, {"name": "V", "sqlType": "INTEGER", "mapping": "$.v"}]}},
  "outputs": [{"name": "OUT_S", "stream": "out"}],
  "checkpointInterval": "150ms"
}`

type inRecord struct {
	K  string `json:"k"`
	V  int    `json:"v"`
	ID string `json:"id"`
}

type outRow struct {
	ROWTIME string
	K       string
	N       int
	TOTAL   int
}

func TestKillNineNeverLosesOrRepeatsAWindowResult(t *testing.T) {
	srv := killtest.New(t)
	srv.Start(t)
	ctx := context.Background()
	kc := srv.Client(1)
	for name, shards := range map[string]int32{"in": 2, "out": 1} {
		if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)}); err != nil {
			t.Fatalf("create stream %s: %v", name, err)
		}
	}
	resp, err := http.Post(srv.URL()+"/v1/apps?start=true", "application/json", bytes.NewReader([]byte(definition)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create application: HTTP %d: %s", resp.StatusCode, body)
	}

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	var (
		mu    sync.Mutex
		acked = map[string]bool{}
	)
	for round := 0; round < kills; round++ {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for b := 0; ; b++ {
					select {
					case <-stop:
						return
					default:
					}
					recs := make([]types.PutRecordsRequestEntry, batchLen)
					ids := make([]string, batchLen)
					for j := range recs {
						ids[j] = fmt.Sprintf("r%d-w%d-b%d-%d", round, w, b, j)
						data, _ := json.Marshal(inRecord{K: fmt.Sprintf("k%d", (b+j)%keys), V: 1 + j%3, ID: ids[j]})
						recs[j] = types.PutRecordsRequestEntry{PartitionKey: aws.String(ids[j]), Data: data}
					}
					out, err := kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("in"), Records: recs})
					if err != nil {
						return // the server died: this batch is unacknowledged
					}
					mu.Lock()
					for j, r := range out.Records {
						if r.ErrorCode == nil {
							acked[ids[j]] = true
						}
					}
					mu.Unlock()
					time.Sleep(time.Duration(b%5) * time.Millisecond) // not rng: the main goroutine owns it
				}
			}(w)
		}
		time.Sleep(time.Duration(300+rng.IntN(1200)) * time.Millisecond)
		srv.Kill(t)
		close(stop)
		wg.Wait()
		srv.Start(t)
	}
	defer srv.Kill(t)

	kc = srv.Client(5)
	// The truth is what the input stream holds (unacknowledged puts may
	// have been stored too); it must include everything acknowledged.
	wantN, wantSum := map[string]int{}, map[string]int{}
	stored := 0
	for _, data := range readAll(t, kc, "in") {
		var r inRecord
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatalf("input record %q: %v", data, err)
		}
		delete(acked, r.ID)
		wantN[r.K]++
		wantSum[r.K] += r.V
		stored++
	}
	if len(acked) > 0 {
		t.Fatalf("%d acknowledged input records are missing from the input stream", len(acked))
	}
	if stored < kills*batchLen {
		t.Fatalf("only %d input records stored; the test did not exercise the application", stored)
	}

	// Every window closes about a second after its last record; wait for
	// the output counts to reach the input's, and never to pass them.
	deadline := time.Now().Add(20 * time.Second)
	for {
		rows := readAll(t, kc, "out")
		gotN, gotSum := map[string]int{}, map[string]int{}
		seen := map[string]bool{}
		total := 0
		for _, data := range rows {
			var r outRow
			if err := json.Unmarshal(data, &r); err != nil {
				t.Fatalf("output row %q does not parse: %v", data, err)
			}
			id := r.ROWTIME + "/" + r.K
			if seen[id] {
				t.Fatalf("window %s of key %s was delivered twice", r.ROWTIME, r.K)
			}
			seen[id] = true
			gotN[r.K] += r.N
			gotSum[r.K] += r.TOTAL
			total += r.N
		}
		for k, n := range gotN {
			if n > wantN[k] {
				t.Fatalf("key %s: output rows count %d records, the input holds %d: some counted twice", k, n, wantN[k])
			}
		}
		if total == stored {
			for k := range wantN {
				if gotN[k] != wantN[k] || gotSum[k] != wantSum[k] {
					t.Fatalf("key %s: output count %d sum %d, input %d and %d", k, gotN[k], gotSum[k], wantN[k], wantSum[k])
				}
			}
			t.Logf("%d kills; %d input records counted exactly once in %d window rows", kills, stored, len(rows))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20s the output counts %d of %d input records (per key %v, want %v)\nserver log:\n%s", total, stored, gotN, wantN, srv.Log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// readAll reads every record of a stream, shard by shard.
func readAll(t *testing.T, kc *kinesis.Client, stream string) [][]byte {
	t.Helper()
	ctx := context.Background()
	desc, err := kc.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatalf("describe %s: %v", stream, err)
	}
	var out [][]byte
	for _, sh := range desc.StreamDescription.Shards {
		it, err := kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatalf("iterator: %v", err)
		}
		iter := it.ShardIterator
		for iter != nil {
			res, err := kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatalf("get records from %s: %v", stream, err)
			}
			for _, r := range res.Records {
				out = append(out, r.Data)
			}
			if len(res.Records) == 0 {
				break
			}
			iter = res.NextShardIterator
		}
	}
	return out
}
