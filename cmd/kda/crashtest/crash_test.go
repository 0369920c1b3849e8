// Package crashtest kills `kda serve` with SIGKILL while producers write to
// it, restarts it, and checks that nothing acknowledged was lost or changed,
// that sequence numbers never go backwards and that no record appears twice.
package crashtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"

	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
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

type server struct {
	bin, dir, addr string
	cmd            *exec.Cmd
}

func (s *server) start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command(s.bin, "serve", "--listen", s.addr, "--data", s.dir, "--no-limits")
	s.cmd.Stdout, s.cmd.Stderr = os.Stderr, os.Stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start kda serve: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + s.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("kda serve did not become healthy within 20s")
}

func (s *server) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill -9: %v", err)
	}
	_ = s.cmd.Wait()
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// client returns an SDK client for the server. Writers use attempts = 1: a
// put whose answer was lost must stay unacknowledged, so it is never
// retried behind the test's back. The reader retries as any real consumer
// does, since reads are idempotent.
func client(addr string, attempts int) *kinesis.Client {
	return kinesis.New(kinesis.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String("http://" + addr),
		Credentials:      credentials.NewStaticCredentialsProvider("crash", "test", ""),
		RetryMaxAttempts: attempts,
	})
}

func TestKillNineLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and kills the real binary; skipped with -short")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "kda")
	build := exec.Command("go", "build", "-o", bin, "github.com/kdaproject/kda/cmd/kda")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build kda: %v", err)
	}
	srv := &server{bin: bin, dir: filepath.Join(tmp, "data"), addr: freeAddr(t)}
	srv.start(t)
	ctx := context.Background()
	kc := client(srv.addr, 1)
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
		srv.kill(t)
		close(stop)
		wg.Wait()
		srv.start(t)
	}
	defer srv.kill(t)
	if len(all) == 0 || attempts < kills {
		t.Fatalf("only %d records acknowledged in %d puts; the test did not exercise the server", len(all), attempts)
	}

	// Read everything back, following every shard from TRIM_HORIZON, with a
	// fresh, retrying client: the old one's pooled connections died with
	// the server.
	kc = client(srv.addr, 5)
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
