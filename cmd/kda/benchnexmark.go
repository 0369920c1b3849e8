package main

import (
	"context"
	"fmt"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/spf13/cobra"

	"github.com/kdaproject/kda/connectors/nexmark"
	kdaapp "github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/operators"
	"github.com/kdaproject/kda/operators/input"
	"github.com/kdaproject/kda/operators/pipeline"
)

// nexmarkConfig is one `kda bench nexmark` run.
type nexmarkConfig struct {
	Queries []string `json:"queries"`
	Events  int64    `json:"events"`
	Rate    float64  `json:"eventsPerSecondOfEventTime"`
	Seed    uint64   `json:"seed"`
	Batch   int      `json:"batch"`
}

// nexmarkTargets are the per-core targets, and Flink 1.13's
// published per-core throughput, in events/s.
var nexmarkTargets = map[string]struct{ target, flink float64 }{
	"q0": {2e6, 155e3}, "q1": {2e6, 0}, "q2": {2e6, 0},
	"q5": {500e3, 22e3}, "q7": {500e3, 12e3}, "q8": {0, 146e3},
}

// nexmarkResult is what one query measured.
type nexmarkResult struct {
	Query  string `json:"query"`
	Title  string `json:"title"`
	Note   string `json:"note,omitempty"`
	Events int64  `json:"events"`
	// OutputRows went to the query's output stream, ErrorRows to
	// error_stream.
	OutputRows int64   `json:"outputRows"`
	ErrorRows  int64   `json:"errorRows"`
	CPUSeconds float64 `json:"cpuSeconds"`
	Seconds    float64 `json:"seconds"`
	// EventsPerCPUSecond is events per second of process CPU time (user +
	// system), the per-core figure; EventsPerSecond is per wall second.
	EventsPerCPUSecond float64 `json:"eventsPerCpuSecond"`
	EventsPerSecond    float64 `json:"eventsPerSecond"`
	// LatencyMS are percentiles of the batch processing latency (see the
	// command's help).
	LatencyMS latencyMS `json:"batchLatencyMs"`
	Target    float64   `json:"targetPerCore,omitempty"`
	Flink     float64   `json:"flink113PerCore,omitempty"`
}

type nexmarkReport struct {
	Config  nexmarkConfig   `json:"config"`
	Results []nexmarkResult `json:"results"`
}

func newBenchNexmarkCmd(a *app) *cobra.Command {
	cfg := nexmarkConfig{}
	var query, cpuProfile string
	cmd := &cobra.Command{
		Use:   "nexmark",
		Short: "Run Nexmark queries over generated events and report events/s per core",
		Long: `Generate --events Nexmark events (people, auctions and bids in the standard
1:3:46 mix, with hot auctions, bidders and sellers; connectors/nexmark) as JSON
records and replay them through a query's SQL application in-process, as
"kda run" does: each record's ROWTIME is its event time (--rate events per
second of event time from 2026-01-01), and the heartbeat follows the records.

Reported per query:
  - events/s per core: events divided by the process CPU time (user + system,
    getrusage) spent decoding and processing them — JSON parsing, the input
    mapping, the operators and the garbage collector included. Generating the
    events is not counted: they are made in chunks of 32 Ki events before
    each chunk is timed; the collector's work while they are made is
    counted (runtime/metrics' estimate), since most of what it collects is
    the query's. A first, unmeasured run of 500,000 events (or --events if
    fewer) of the first query grows the heap and warms the caches.
  - batch latency p50/p99: the wall time from handing a batch of --batch
    events to the runtime until every row the batch produces has been
    emitted (the push and the heartbeat after it). An event waits at most
    that long once it is in; window queries also hold rows until their
    window closes in event time, which is not counted.

Queries (kda SQL in connectors/nexmark/queries.go; "kda bench nexmark --list"
prints them): q0 pass-through, q1 currency conversion, q2 selection, q3 local
item suggestion (join), q4 average price per category (join + aggregate),
q5 hot items (HOP count, max per window, join back), q6 average selling price per
seller (join), q7 highest bid (window max + join), q8 monitor new users
(join). --cpuprofile profiles the whole run, generation included
(nexmark.(*Generator).Fill).`,
		Example: `  kda bench nexmark --query q0 --events 10000000
  kda bench nexmark --query q0,q1,q2,q5 --events 5000000 -o json
  kda bench nexmark --query all --events 1000000
  kda bench nexmark --query q5 --events 10000000 --cpuprofile q5.pprof`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if list, _ := cmd.Flags().GetBool("list"); list {
				return printNexmarkQueries(a)
			}
			if cfg.Events < 1 {
				return usagef("--events must be at least 1")
			}
			if cfg.Rate <= 0 {
				return usagef("--rate must be positive")
			}
			if cfg.Batch < 1 {
				return usagef("--batch must be at least 1")
			}
			var queries []nexmark.Query
			if strings.EqualFold(query, "all") {
				queries = nexmark.Queries()
			} else {
				for _, name := range strings.Split(query, ",") {
					q, err := nexmark.Lookup(strings.TrimSpace(name))
					if err != nil {
						return usagef("--query: %v", err)
					}
					queries = append(queries, q)
				}
			}
			for _, q := range queries {
				cfg.Queries = append(cfg.Queries, q.Name)
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				defer pprof.StopCPUProfile()
			}
			rep := nexmarkReport{Config: cfg}
			// A first run grows the heap to its working size and warms the
			// caches; it is not measured.
			warm := cfg
			warm.Events = min(cfg.Events, nexmarkWarmUp)
			if !a.jsonOutput() {
				fmt.Fprintf(a.stderr, "nexmark: warming up with %d events of %s…\n", warm.Events, queries[0].Name)
			}
			if _, err := runNexmark(cmd.Context(), queries[0], warm); err != nil {
				return fmt.Errorf("nexmark %s: warm-up: %w", queries[0].Name, err)
			}
			for _, q := range queries {
				if !a.jsonOutput() && len(queries) > 1 {
					fmt.Fprintf(a.stderr, "nexmark: running %s…\n", q.Name)
				}
				res, err := runNexmark(cmd.Context(), q, cfg)
				if err != nil {
					return fmt.Errorf("nexmark %s: %w", q.Name, err)
				}
				rep.Results = append(rep.Results, res)
			}
			if a.jsonOutput() {
				return printJSON(a.stdout, rep)
			}
			return printNexmark(a, rep)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&query, "query", "q0", "queries to run: q0…q8, comma-separated, or all")
	fl.Int64Var(&cfg.Events, "events", 1_000_000, "events to generate (all kinds; events/s counts them all)")
	fl.Float64Var(&cfg.Rate, "rate", 100_000, "events per second of event time (10 s windows hold 10×rate events; the default puts the 1,000,000 default events in 10 s)")
	fl.Uint64Var(&cfg.Seed, "seed", nexmark.DefaultSeed, "generator seed")
	fl.IntVar(&cfg.Batch, "batch", 4096, "events pushed per batch (the replay's batch size)")
	fl.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
	fl.Bool("list", false, "print the queries' SQL and exit")
	return cmd
}

// nexmarkWarmUp is how many events the unmeasured first run replays.
const nexmarkWarmUp = 500_000

// nexmarkChunk is how many events are generated ahead of a timed section:
// few enough that the generated records (about 8 MiB) do not swell the
// heap the collector sizes itself by, as a real server's input would not.
const nexmarkChunk = 32 << 10

// runNexmark replays cfg.Events events through q.
func runNexmark(ctx context.Context, q nexmark.Query, cfg nexmarkConfig) (nexmarkResult, error) {
	res := nexmarkResult{Query: q.Name, Title: q.Title, Note: q.Note}
	t := nexmarkTargets[q.Name]
	res.Target, res.Flink = t.target, t.flink
	def := kdaapp.Definition{Name: "nexmark-" + q.Name, SQL: q.SQL}
	def.Input.Schema = nexmark.InputSchema(q.Kinds...)
	rt, err := kdaapp.Compile(def, nil)
	if err != nil {
		return res, err
	}
	defer rt.Close()
	out, errs := &rowCounter{}, &rowCounter{}
	if err := rt.Subscribe(q.Output, out); err != nil {
		return res, err
	}
	if err := rt.Subscribe(pipeline.ErrorStreamName, errs); err != nil {
		return res, err
	}
	gen := nexmark.New(nexmark.Config{EventsPerSecond: cfg.Rate, Seed: cfg.Seed})
	rt.SetClock(gen.TimeOf(0), nil)

	var (
		batch     nexmark.Batch
		recs      []input.Record
		cpu, wall time.Duration
		lat       []time.Duration
	)
	for from := int64(0); from < cfg.Events; from += nexmarkChunk {
		n := int(min(nexmarkChunk, cfg.Events-from))
		if err := ctx.Err(); err != nil {
			return res, err
		}
		// The collector's work while the generator runs is charged to the
		// query: most of the garbage it collects is the query's.
		g0 := gcCPU()
		gen.Fill(&batch, from, n)
		recs = recs[:0]
		for i, d := range batch.Data {
			recs = append(recs, input.Record{Data: d, Rowtime: batch.Times[i], ArrivalTime: batch.Times[i]})
		}
		cpu += gcCPU() - g0
		c0, w0 := processCPU(), time.Now()
		for i := 0; i < len(recs); i += cfg.Batch {
			b := recs[i:min(i+cfg.Batch, len(recs))]
			t0 := time.Now()
			if err := rt.Push(b); err != nil {
				return res, fmt.Errorf("push events %d..%d: %w", from+int64(i), from+int64(i+len(b)), err)
			}
			if err := rt.Advance(b[len(b)-1].Rowtime); err != nil {
				return res, err
			}
			lat = append(lat, time.Since(t0))
		}
		cpu += processCPU() - c0
		wall += time.Since(w0)
	}
	c0, w0 := processCPU(), time.Now()
	if err := rt.Advance(kdaapp.EndOfTime); err != nil {
		return res, fmt.Errorf("closing windows: %w", err)
	}
	cpu += processCPU() - c0
	wall += time.Since(w0)

	res.Events, res.OutputRows, res.ErrorRows = cfg.Events, out.n, errs.n
	res.CPUSeconds, res.Seconds = cpu.Seconds(), wall.Seconds()
	if cpu > 0 {
		res.EventsPerCPUSecond = float64(cfg.Events) / cpu.Seconds()
	}
	if wall > 0 {
		res.EventsPerSecond = float64(cfg.Events) / wall.Seconds()
	}
	res.LatencyMS = percentiles(lat)
	return res, nil
}

// rowCounter is a subscriber that counts rows.
type rowCounter struct{ n int64 }

func (c *rowCounter) Process(_ *operators.Context, rec arrow.Record) error {
	c.n += rec.NumRows()
	return nil
}

func (c *rowCounter) Advance(*operators.Context, time.Time) error { return nil }

// humanRate writes events/s as 1.23 M or 456 K.
func humanRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2f M", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.0f K", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}

func printNexmark(a *app, rep nexmarkReport) error {
	c := rep.Config
	fmt.Fprintf(a.stdout, "Nexmark: %d events (seed %d, %s events/s of event time), batches of %d, replayed in-process\n\n",
		c.Events, c.Seed, humanRate(c.Rate), c.Batch)
	t := newTable(a.stdout, "QUERY", "EVENTS/S PER CORE", "EVENTS/S", "CPU S", "OUT ROWS", "ERRORS", "BATCH P50", "BATCH P99", "TARGET", "FLINK 1.13")
	var notes []string
	for _, r := range rep.Results {
		target, flink := "-", "-"
		if r.Target > 0 {
			met := "met"
			if r.EventsPerCPUSecond < r.Target {
				met = "not met"
			}
			target = fmt.Sprintf("≥ %s (%s)", humanRate(r.Target), met)
		}
		if r.Flink > 0 {
			flink = humanRate(r.Flink)
		}
		t.row(r.Query, humanRate(r.EventsPerCPUSecond), humanRate(r.EventsPerSecond), fmt.Sprintf("%.2f", r.CPUSeconds),
			fmt.Sprint(r.OutputRows), fmt.Sprint(r.ErrorRows), fmt.Sprintf("%.2f ms", r.LatencyMS.P50), fmt.Sprintf("%.2f ms", r.LatencyMS.P99), target, flink)
		if r.Note != "" {
			notes = append(notes, fmt.Sprintf("%s (%s): %s", r.Query, r.Title, r.Note))
		}
	}
	if err := t.flush(); err != nil {
		return err
	}
	if len(notes) > 0 {
		fmt.Fprintln(a.stdout)
		for _, n := range notes {
			fmt.Fprintln(a.stdout, "  "+n)
		}
	}
	return nil
}

func printNexmarkQueries(a *app) error {
	for _, q := range nexmark.Queries() {
		fmt.Fprintf(a.stdout, "-- %s: %s\n", q.Name, q.Title)
		if q.Note != "" {
			fmt.Fprintf(a.stdout, "-- %s\n", q.Note)
		}
		fmt.Fprintln(a.stdout, q.SQL)
		fmt.Fprintln(a.stdout)
	}
	return nil
}

// gcCPU is the CPU time the Go runtime estimates it has spent collecting
// garbage and returning memory to the system (runtime/metrics; an
// overestimate, which suits a figure that must not flatter).
func gcCPU() time.Duration {
	samples := []metrics.Sample{
		{Name: "/cpu/classes/gc/total:cpu-seconds"},
		{Name: "/cpu/classes/scavenge/total:cpu-seconds"},
	}
	metrics.Read(samples)
	var total float64
	for _, s := range samples {
		if s.Value.Kind() == metrics.KindFloat64 {
			total += s.Value.Float64()
		}
	}
	return time.Duration(total * float64(time.Second))
}
