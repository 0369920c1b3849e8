package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/spf13/cobra"
)

// benchConfig is one PutRecords workload.
type benchConfig struct {
	Stream      string `json:"stream"`
	Shards      int    `json:"shards"`
	Records     int    `json:"records"`
	Size        int    `json:"recordSize"`
	Batch       int    `json:"batch"`
	Concurrency int    `json:"concurrency"`
	// MaxRetries bounds how often one record rejected by the stream is sent
	// again before it counts as failed.
	MaxRetries int `json:"maxRetries"`
}

// benchResult is what a workload measured.
type benchResult struct {
	Config           benchConfig `json:"config"`
	Target           string      `json:"target"`
	Records          int64       `json:"records"` // put successfully
	Failed           int64       `json:"failed"`
	Retried          int64       `json:"retried"` // records sent again after a per-record error
	Bytes            int64       `json:"bytes"`
	Calls            int64       `json:"calls"`
	Seconds          float64     `json:"seconds"`
	RecordsPerSecond float64     `json:"recordsPerSecond"`
	MiBPerSecond     float64     `json:"mibPerSecond"`
	LatencyMS        latencyMS   `json:"latencyMs"`
}

// latencyMS are PutRecords call latency percentiles in milliseconds.
type latencyMS struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func newBenchCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure throughput and latency",
	}
	cfg := benchConfig{}
	var deleteAfter bool
	k := &cobra.Command{
		Use:   "kinesis",
		Short: "Drive PutRecords through the AWS SDK against any Kinesis endpoint",
		Long: `Put --records records of --size bytes, in PutRecords batches of --batch,
from --concurrency concurrent callers, and report records/s, MiB/s and call
latency percentiles. The target is --endpoint (kda, kinesalite, AWS...) or,
with --data, an embedded store. The stream is created (with --shards) when
missing. Records rejected one by one (throttling) are retried and counted.`,
		Example: `  kda bench kinesis --records 200000 --concurrency 8
  kda bench kinesis --endpoint http://localhost:4568 --stream bench   # kinesalite
  kda bench kinesis --data /tmp/kda-bench --no-limits -o json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := cfg.validate(); err != nil {
				return err
			}
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			created, err := a.ensureBenchStream(ctx, c, cfg)
			if err != nil {
				return err
			}
			res, err := runBench(ctx, c, cfg)
			if err != nil {
				return a.apiErr("bench", err)
			}
			res.Target = a.endpoint
			if a.dataDir != "" {
				res.Target = "embedded:" + a.dataDir
			}
			if deleteAfter && created {
				if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(cfg.Stream)}); err != nil {
					return a.apiErr("delete bench stream "+cfg.Stream, err)
				}
			}
			if a.jsonOutput() {
				return printJSON(a.stdout, res)
			}
			printBench(a, res)
			if res.Failed > 0 {
				return fmt.Errorf("%d records could not be put", res.Failed)
			}
			return nil
		},
	}
	fl := k.Flags()
	fl.StringVar(&cfg.Stream, "stream", "kda-bench", "stream to write to (created when missing)")
	fl.IntVar(&cfg.Shards, "shards", 4, "shards of the stream when it is created")
	fl.IntVar(&cfg.Records, "records", 100000, "records to put")
	fl.IntVar(&cfg.Size, "size", 100, "bytes of data per record")
	fl.IntVar(&cfg.Batch, "batch", 500, "records per PutRecords call (1–500)")
	fl.IntVar(&cfg.Concurrency, "concurrency", 4, "concurrent PutRecords callers")
	fl.IntVar(&cfg.MaxRetries, "retries", 20, "retries of a record the stream rejected")
	fl.BoolVar(&deleteAfter, "delete", false, "delete the stream afterwards if bench created it")
	cmd.AddCommand(k)
	cmd.AddCommand(newBenchNABCmd(a))
	cmd.AddCommand(newBenchNexmarkCmd(a))
	return cmd
}

func (c benchConfig) validate() error {
	switch {
	case c.Records < 1:
		return usagef("--records must be at least 1")
	case c.Size < 1 || c.Size > maxRecordBytes:
		return usagef("--size must be between 1 and %d bytes", maxRecordBytes)
	case c.Batch < 1 || c.Batch > maxBatchRecords:
		return usagef("--batch must be between 1 and %d", maxBatchRecords)
	case c.Concurrency < 1:
		return usagef("--concurrency must be at least 1")
	case c.Shards < 1:
		return usagef("--shards must be at least 1")
	case c.MaxRetries < 0:
		return usagef("--retries must not be negative")
	}
	return nil
}

// ensureBenchStream creates the stream when it does not exist and waits for
// it to be ACTIVE. It reports whether it created it.
func (a *app) ensureBenchStream(ctx context.Context, c *kinesis.Client, cfg benchConfig) (bool, error) {
	_, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(cfg.Stream)})
	if err == nil {
		_, err = a.waitActive(ctx, c, cfg.Stream)
		return false, err
	}
	if apiCode(err) != "ResourceNotFoundException" {
		return false, a.apiErr("describe bench stream "+cfg.Stream, err)
	}
	_, err = c.CreateStream(ctx, &kinesis.CreateStreamInput{
		StreamName: aws.String(cfg.Stream),
		ShardCount: aws.Int32(int32(cfg.Shards)),
	})
	if err != nil && apiCode(err) != "ResourceInUseException" {
		return false, a.apiErr("create bench stream "+cfg.Stream, err)
	}
	_, err = a.waitActive(ctx, c, cfg.Stream)
	return true, err
}

// putRecordsAPI is the one call the workload makes; tests may fake it.
type putRecordsAPI interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}

// runBench runs the workload: the records are cut into batches, and
// cfg.Concurrency workers take batches from a queue, put them, and put again
// the records the stream rejected, with backoff. The first call error that
// is not per-record stops the run.
func runBench(ctx context.Context, api putRecordsAPI, cfg benchConfig) (benchResult, error) {
	res := benchResult{Config: cfg}
	batches := make(chan int, cfg.Concurrency)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(batches)
		for left := cfg.Records; left > 0; left -= cfg.Batch {
			select {
			case batches <- min(left, cfg.Batch):
			case <-ctx.Done():
				return
			}
		}
	}()

	var (
		mu        sync.Mutex
		latencies []time.Duration
		firstErr  error
		ok        atomic.Int64
		failed    atomic.Int64
		retried   atomic.Int64
		calls     atomic.Int64
	)
	// One payload shared by all records; each record's data is a window of
	// it, so generating data costs nothing during the run.
	payload := make([]byte, cfg.Size+256)
	for i := range payload {
		payload[i] = 'a' + byte(i*7%26)
	}

	start := time.Now()
	var wg sync.WaitGroup
	for w := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w)+1, uint64(start.UnixNano())))
			var lat []time.Duration
			defer func() {
				mu.Lock()
				latencies = append(latencies, lat...)
				mu.Unlock()
			}()
			for n := range batches {
				entries := make([]types.PutRecordsRequestEntry, n)
				for i := range entries {
					off := rnd.IntN(256)
					entries[i] = types.PutRecordsRequestEntry{
						Data:         payload[off : off+cfg.Size],
						PartitionKey: aws.String(strconv.FormatUint(rnd.Uint64(), 36)),
					}
				}
				backoff := 50 * time.Millisecond
				for attempt := 0; len(entries) > 0; attempt++ {
					t0 := time.Now()
					out, err := api.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(cfg.Stream), Records: entries})
					lat = append(lat, time.Since(t0))
					calls.Add(1)
					if err != nil {
						if !errors.Is(err, context.Canceled) {
							mu.Lock()
							if firstErr == nil {
								firstErr = err
							}
							mu.Unlock()
						}
						cancel()
						return
					}
					var again []types.PutRecordsRequestEntry
					for i, r := range out.Records {
						if r.ErrorCode != nil && i < len(entries) {
							again = append(again, entries[i])
						}
					}
					ok.Add(int64(len(entries) - len(again)))
					if len(again) > 0 && attempt == cfg.MaxRetries {
						failed.Add(int64(len(again)))
						break
					}
					if len(again) > 0 {
						retried.Add(int64(len(again)))
						select {
						case <-ctx.Done():
							failed.Add(int64(len(again)))
							return
						case <-time.After(backoff + time.Duration(rnd.Int64N(int64(backoff)))):
						}
						backoff = min(2*backoff, 2*time.Second)
					}
					entries = again
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	res.Records, res.Failed, res.Retried, res.Calls = ok.Load(), failed.Load(), retried.Load(), calls.Load()
	res.Bytes = res.Records * int64(cfg.Size)
	res.Seconds = elapsed.Seconds()
	if res.Seconds > 0 {
		res.RecordsPerSecond = float64(res.Records) / res.Seconds
		res.MiBPerSecond = float64(res.Bytes) / (1 << 20) / res.Seconds
	}
	res.LatencyMS = percentiles(latencies)
	if firstErr == nil && ctx.Err() != nil && res.Records+res.Failed < int64(cfg.Records) {
		firstErr = context.Cause(ctx)
	}
	return res, firstErr
}

// percentiles summarises call latencies (nearest-rank).
func percentiles(d []time.Duration) latencyMS {
	if len(d) == 0 {
		return latencyMS{}
	}
	slices.Sort(d)
	at := func(p float64) float64 {
		i := int(p*float64(len(d))+0.5) - 1
		i = max(0, min(i, len(d)-1))
		return float64(d[i].Microseconds()) / 1000
	}
	return latencyMS{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: float64(d[len(d)-1].Microseconds()) / 1000}
}

func printBench(a *app, r benchResult) {
	c := r.Config
	fmt.Fprintf(a.stdout, "PutRecords bench against %s, stream %s\n", r.Target, c.Stream)
	fmt.Fprintf(a.stdout, "  workload   %d records × %d B, batches of %d, concurrency %d\n", c.Records, c.Size, c.Batch, c.Concurrency)
	fmt.Fprintf(a.stdout, "  put        %d records (%s) in %.2fs, %d calls\n", r.Records, humanBytes(r.Bytes), r.Seconds, r.Calls)
	fmt.Fprintf(a.stdout, "  throughput %.0f records/s, %.2f MiB/s\n", r.RecordsPerSecond, r.MiBPerSecond)
	fmt.Fprintf(a.stdout, "  latency    p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms\n", r.LatencyMS.P50, r.LatencyMS.P90, r.LatencyMS.P99, r.LatencyMS.Max)
	fmt.Fprintf(a.stdout, "  retried    %d records (throttled), failed %d\n", r.Retried, r.Failed)
	if r.Retried > 0 {
		fmt.Fprintf(a.stdout, "  note: the stream throttled writes (per-shard limits: 1,000 records/s and 1 MiB/s on AWS);\n"+
			"        measure with more --shards, or against `kda serve --no-limits` / --data ... --no-limits\n")
	}
}
