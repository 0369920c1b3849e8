package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	kdaapp "github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/engine/store"
	"github.com/kdaproject/kda/operators/input"
)

const (
	demoStream  = "demo"
	demoOutput  = "demo-action-counts"
	demoAppName = "demo"
)

// demoSQL counts the demo clickstream's actions per ten seconds.
const demoSQL = `-- Actions per ten-second window, with the revenue of purchases.
CREATE OR REPLACE STREAM "ACTION_COUNTS" (action VARCHAR(16), events BIGINT, users BIGINT, revenue_cents BIGINT);
CREATE OR REPLACE PUMP "COUNT_PUMP" AS INSERT INTO "ACTION_COUNTS"
  SELECT STREAM "action", COUNT(*), COUNT(DISTINCT "user_id"), SUM("price_cents")
  FROM "SOURCE_SQL_STREAM_001"
  GROUP BY "action", STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '10' SECOND);
`

// demoApplication is the application `serve --demo` runs over the demo stream.
func demoApplication() kdaapp.Definition {
	def := kdaapp.Definition{Name: demoAppName, SQL: demoSQL}
	def.Input.Stream = demoStream
	def.Input.StartingPosition = kdaapp.StartNow
	def.Input.Schema = input.Schema{RecordFormat: input.RecordFormat{Type: input.FormatJSON}, Columns: []input.Column{
		{Name: "event_time", SQLType: "TIMESTAMP", Mapping: "$.event_time"},
		{Name: "user_id", SQLType: "VARCHAR(16)", Mapping: "$.user_id"},
		{Name: "action", SQLType: "VARCHAR(16)", Mapping: "$.action"},
		{Name: "page", SQLType: "VARCHAR(64)", Mapping: "$.page"},
		{Name: "country", SQLType: "VARCHAR(4)", Mapping: "$.country"},
		{Name: "price_cents", SQLType: "INTEGER", Mapping: "$.price_cents"},
	}}
	def.Outputs = []kdaapp.Output{{Name: "ACTION_COUNTS", Stream: demoOutput, Format: "JSON"}}
	def.CheckpointInterval.Duration = 2 * time.Second
	return def
}

// startDemoApplication creates the demo output stream and application the
// first time and makes sure the application runs.
func startDemoApplication(st *store.Store, apps *kdaapp.Manager, logger *slog.Logger) {
	if err := st.CreateStream(store.CreateStreamInput{StreamName: demoOutput, ShardCount: 1}); err != nil && !store.IsCode(err, store.CodeResourceInUse) {
		logger.Error("cannot create the demo output stream", "err", err)
		return
	}
	if _, err := apps.Describe(demoAppName); errors.Is(err, kdaapp.ErrNotFound) {
		if _, err := apps.Create(demoApplication()); err != nil {
			logger.Error("cannot create the demo application", "err", err)
			return
		}
	}
	if d, err := apps.Describe(demoAppName); err == nil && d.Status == "RUNNING" {
		return
	}
	if _, err := apps.Start(demoAppName, ""); err != nil {
		logger.Error("cannot start the demo application", "err", err)
		return
	}
	logger.Info("demo application running", "app", demoAppName, "output", demoOutput,
		"try", "kda tail "+demoOutput+" --follow")
}

// clickEvent is one synthetic clickstream record written by `serve --demo`.
type clickEvent struct {
	EventTime  string `json:"event_time"`
	UserID     string `json:"user_id"`
	SessionID  string `json:"session_id"`
	Action     string `json:"action"`
	Page       string `json:"page"`
	Referrer   string `json:"referrer"`
	Country    string `json:"country"`
	Device     string `json:"device"`
	DurationMS int    `json:"duration_ms"`
	PriceCents int    `json:"price_cents,omitempty"`
}

// clickGen makes plausible clickstream events: a few hundred users, most of
// them browsing, some adding to cart, a few buying.
type clickGen struct{ rnd *rand.Rand }

func newClickGen(seed uint64) *clickGen {
	return &clickGen{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *clickGen) next(now time.Time) clickEvent {
	pick := func(xs ...string) string { return xs[g.rnd.IntN(len(xs))] }
	user := g.rnd.IntN(300)
	ev := clickEvent{
		EventTime:  now.UTC().Format(time.RFC3339Nano),
		UserID:     fmt.Sprintf("user-%03d", user),
		SessionID:  fmt.Sprintf("s-%03d-%d", user, now.Unix()/1800),
		Page:       fmt.Sprintf("/products/%d", 1+g.rnd.IntN(50)),
		Referrer:   pick("google", "direct", "newsletter", "twitter", "partner"),
		Country:    pick("US", "US", "DE", "FR", "GB", "IN", "BR", "JP"),
		Device:     pick("mobile", "mobile", "desktop", "tablet"),
		DurationMS: 200 + g.rnd.IntN(15000),
	}
	switch r := g.rnd.Float64(); {
	case r < 0.70:
		ev.Action = "view"
	case r < 0.85:
		ev.Action = "click"
	case r < 0.96:
		ev.Action = "add_to_cart"
	default:
		ev.Action = "purchase"
		ev.Page = "/checkout"
		ev.PriceCents = 500 + g.rnd.IntN(20000)
	}
	return ev
}

// runDemo makes sure the demo stream exists and writes clickstream records
// to it, rate per second, until ctx ends.
// With apps set, it also runs the demo SQL application.
func runDemo(ctx context.Context, st *store.Store, apps *kdaapp.Manager, rate float64, logger *slog.Logger) {
	err := st.CreateStream(store.CreateStreamInput{StreamName: demoStream, ShardCount: 2})
	switch {
	case err == nil:
		logger.Info("created demo stream", "stream", demoStream, "shards", 2)
	case store.IsCode(err, store.CodeResourceInUse):
	default:
		logger.Error("cannot create demo stream; demo stopped", "err", err)
		return
	}
	// Wait out a --transition-delay before writing.
	for {
		d, err := st.DescribeStream(demoStream)
		if err == nil && d.StreamStatus == store.StatusActive {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	logger.Info("writing synthetic clickstream", "stream", demoStream, "records_per_second", rate,
		"try", "kda tail demo --follow")
	if apps != nil {
		startDemoApplication(st, apps, logger)
	}

	gen := newClickGen(uint64(time.Now().UnixNano()))
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			ev := gen.next(now)
			data, err := json.Marshal(ev)
			if err != nil {
				logger.Error("encode demo record", "err", err)
				return
			}
			_, err = st.PutRecord(demoStream, store.PutRecordInput{PartitionKey: ev.UserID, Data: data})
			if err != nil {
				failures++
				// Log the first failure and then every hundredth, so a
				// deleted demo stream does not flood the log.
				if failures%100 == 1 {
					logger.Warn("demo put failed", "err", err, "failures", failures)
				}
			}
		}
	}
}
