// Package crashtest kills `kda serve` with SIGKILL while producers write to
// it, restarts it, and checks that nothing acknowledged was lost or changed,
// that sequence numbers never go backwards and that no record appears twice.
package crashtest

import (
	"context"
	"fmt"
	"math/rand/v2"

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
	writers  = 4
	shards   = 3
	batchLen = 50
)

type acked struct {
	shard, seq, data string
}

func TestKillNineLosesNothingAcknowledged(t *testing.T) {
	srv := killtest.New(t)
	srv.Start(t)
	ctx := context.Background()
	kc := srv.Client(1)
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("crash"), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatalf("create stream: %v", err)
	}

	var (
		mu       sync.Mutex
		all      []acked
		maxSeen  = map[string]string{} // shard -> highest acknowledged sequence before the last kill
		rng      = rand.New(rand.NewPCG(7, 11))
		attempts int
	)
	for round := 0; round < kills; round++ {
		// Sequence numbers acknowledged after a restart must exceed those before.
		floor := map[string]string{}
		for k, v := range maxSeen {
			floor[k] = v
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					recs := make([]types.PutRecordsRequestEntry, batchLen)
					for j := range recs {
						recs[j] = types.PutRecordsRequestEntry{
							PartitionKey: aws.String(fmt.Sprintf("k%d", (w*batchLen+j)%17)),
							Data:         []byte(fmt.Sprintf("r%d-w%d-b%d-%d-%s", round, w, i, j, make([]byte, j%7))),
						}
					}
					out, err := kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("crash"), Records: recs})
					if err != nil {
						return // the server died under us: the batch is unacknowledged
					}
					mu.Lock()
					attempts++
					for j, r := range out.Records {
						if r.ErrorCode != nil {
							continue
						}
						a := acked{shard: aws.ToString(r.ShardId), seq: aws.ToString(r.SequenceNumber), data: string(recs[j].Data)}
						if f, ok := floor[a.shard]; ok && !seqLess(f, a.seq) {
							t.Errorf("after restart %d shard %s acknowledged sequence %s, not above %s", round, a.shard, a.seq, f)
						}
						if m, ok := maxSeen[a.shard]; !ok || seqLess(m, a.seq) {
							maxSeen[a.shard] = a.seq
						}
						all = append(all, a)
					}
					mu.Unlock()
				}
			}(w)
		}
		time.Sleep(time.Duration(150+rng.IntN(450)) * time.Millisecond)
		srv.Kill(t)
		close(stop)
		wg.Wait()
		srv.Start(t)
	}
	defer srv.Kill(t)
	if len(all) == 0 || attempts < kills {
		t.Fatalf("only %d records acknowledged in %d puts; the test did not exercise the server", len(all), attempts)
	}

	// Read everything back, following every shard from TRIM_HORIZON, with a
	// fresh, retrying client: the old one's pooled connections died with
	// the server.
	kc = srv.Client(5)
	read := map[string][]acked{}
	desc, err := kc.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("crash")})
	if err != nil {
		t.Fatalf("describe after restarts: %v", err)
	}
	for _, sh := range desc.StreamDescription.Shards {
		it, err := kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("crash"), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatalf("iterator: %v", err)
		}
		iter := it.ShardIterator
		for iter != nil {
			out, err := kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatalf("get records: %v", err)
			}
			for _, r := range out.Records {
				read[aws.ToString(sh.ShardId)] = append(read[aws.ToString(sh.ShardId)], acked{aws.ToString(sh.ShardId), aws.ToString(r.SequenceNumber), string(r.Data)})
			}
			if len(out.Records) == 0 {
				break
			}
			iter = out.NextShardIterator
		}
	}
	bySeq := map[string]acked{}
	seenData := map[string]bool{}
	total := 0
	for shard, recs := range read {
		for i, r := range recs {
			total++
			if i > 0 && !seqLess(recs[i-1].seq, r.seq) {
				t.Errorf("shard %s: sequence %s follows %s", shard, r.seq, recs[i-1].seq)
			}
			if seenData[r.data] {
				t.Errorf("record %q appears twice", r.data)
			}
			seenData[r.data] = true
			bySeq[shard+"/"+r.seq] = r
		}
	}
	lost := 0
	for _, a := range all {
		r, ok := bySeq[a.shard+"/"+a.seq]
		if !ok {
			lost++
			if lost < 5 {
				t.Errorf("acknowledged record %q (%s %s) is missing", a.data, a.shard, a.seq)
			}
			continue
		}
		if r.data != a.data {
			t.Errorf("record %s %s holds %q, acknowledged %q", a.shard, a.seq, r.data, a.data)
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged records lost", lost, len(all))
	}
	t.Logf("%d kills; %d acknowledged records all read back (%d stored in all, including unacknowledged)", kills, len(all), total)
}

// seqLess compares decimal sequence numbers.
func seqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
