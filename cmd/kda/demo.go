package main

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"time"

	"github.com/kdaproject/kda/connectors/delivery"

	kdaapp "github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/engine/store"
	"github.com/kdaproject/kda/operators/input"
)

const demoStream = "demo"

// The demo applications: a per-minute leaderboard, a price alert and an
// anomaly score, each writing to its own output stream and, where the
// demo has them, to delivery streams: the leaderboard to the data lake
// (objects) and to a Redis sorted set, the alerts to a webhook.
var demoApps = []struct {
	name, output, stream, sql string
	// deliveries are the demo delivery streams the stream also goes to,
	// those of them that exist when the application is created.
	deliveries []string
}{
	{"demo-leaderboard", "demo-leaderboard", "LEADERBOARD", `-- Per minute: every ticker's trades, average price and biggest move, busiest first.
CREATE OR REPLACE STREAM "LEADERBOARD" (ticker VARCHAR(4), sector VARCHAR(16), trades INTEGER, avg_price DOUBLE, biggest_move DOUBLE);
CREATE OR REPLACE PUMP "LEADERBOARD_PUMP" AS INSERT INTO "LEADERBOARD"
  SELECT STREAM "ticker_symbol", "sector", COUNT(*) AS trades, AVG("price"), MAX(ABS("change"))
  FROM "SOURCE_SQL_STREAM_001"
  GROUP BY "ticker_symbol", "sector", STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' MINUTE)
  ORDER BY STEP("SOURCE_SQL_STREAM_001".ROWTIME BY INTERVAL '1' MINUTE), trades DESC;
`, []string{demoLake, demoBoard}},
	{"demo-alerts", "demo-alerts", "PRICE_ALERTS", `-- A trade more than 3% away from its ticker's one-minute average price,
-- with an alert text written by a JavaScript function.
CREATE OR REPLACE FUNCTION alert_text(ticker VARCHAR(4), price DOUBLE, deviation DOUBLE) RETURNS VARCHAR(80)
  LANGUAGE JAVASCRIPT AS $$
    const pct = (deviation * 100).toFixed(1);
    return ticker + ' traded at ' + price.toFixed(2) + ', ' + (deviation > 0 ? '+' : '') + pct + '% off its one-minute average';
  $$;
CREATE OR REPLACE STREAM "PRICE_ALERTS" (ticker VARCHAR(4), price DOUBLE, avg_price DOUBLE, deviation DOUBLE, message VARCHAR(80));
CREATE OR REPLACE PUMP "ALERT_PUMP" AS INSERT INTO "PRICE_ALERTS"
  SELECT STREAM ticker, price, avg_price, (price - avg_price) / avg_price,
    alert_text(ticker, price, (price - avg_price) / avg_price)
  FROM (SELECT STREAM "ticker_symbol" AS ticker, "price" AS price,
               AVG("price") OVER (PARTITION BY "ticker_symbol" RANGE INTERVAL '1' MINUTE PRECEDING) AS avg_price
        FROM "SOURCE_SQL_STREAM_001") AS t
  WHERE ABS(price - avg_price) > avg_price * 0.03;
`, []string{demoAlertHook}},
	{"demo-anomalies", "demo-anomalies", "TRADE_ANOMALIES", `-- Every trade's move in percent, scored by a random cut forest: the
-- outlier trades stand out with scores far above 1.
CREATE OR REPLACE STREAM "TRADE_ANOMALIES" (ticker VARCHAR(4), pct_move DOUBLE, anomaly_score DOUBLE);
CREATE OR REPLACE PUMP "ANOMALY_PUMP" AS INSERT INTO "TRADE_ANOMALIES"
  SELECT STREAM ticker, pct_move, ANOMALY_SCORE
  FROM TABLE(RANDOM_CUT_FOREST(CURSOR(
    SELECT STREAM "ticker_symbol" AS ticker, 100 * "change" / "price" AS pct_move FROM "SOURCE_SQL_STREAM_001")));
`, nil},
}

// demoSchema maps the demo's trade records.
func demoSchema() input.Schema {
	return input.Schema{RecordFormat: input.RecordFormat{Type: input.FormatJSON}, Columns: []input.Column{
		{Name: "ticker_symbol", SQLType: "VARCHAR(4)", Mapping: "$.ticker_symbol"},
		{Name: "sector", SQLType: "VARCHAR(16)", Mapping: "$.sector"},
		{Name: "change", SQLType: "DOUBLE", Mapping: "$.change"},
		{Name: "price", SQLType: "DOUBLE", Mapping: "$.price"},
	}}
}

// tradeEvent is one synthetic stock trade written by `serve --demo`, shaped
// like the ticker records of the Kinesis Data Analytics console's demo.
type tradeEvent struct {
	EventTime string  `json:"event_time"`
	Ticker    string  `json:"ticker_symbol"`
	Sector    string  `json:"sector"`
	Change    float64 `json:"change"`
	Price     float64 `json:"price"`
}

// tradeGen makes trades for a few dozen tickers whose prices walk randomly,
// with now and then an outlier trade 4–10% off that the alert application
// catches.
type tradeGen struct {
	rnd    *rand.Rand
	prices map[string]float64
	names  []string
}

var demoTickers = []struct{ ticker, sector string }{
	{"AMZN", "RETAIL"}, {"WMT", "RETAIL"}, {"TGT", "RETAIL"}, {"COST", "RETAIL"},
	{"MSFT", "TECHNOLOGY"}, {"AAPL", "TECHNOLOGY"}, {"NVDA", "TECHNOLOGY"}, {"ORCL", "TECHNOLOGY"},
	{"XOM", "ENERGY"}, {"CVX", "ENERGY"}, {"BP", "ENERGY"},
	{"JPM", "FINANCIAL"}, {"BAC", "FINANCIAL"}, {"GS", "FINANCIAL"},
	{"PFE", "HEALTHCARE"}, {"JNJ", "HEALTHCARE"}, {"MRK", "HEALTHCARE"},
}

func newTradeGen(seed uint64) *tradeGen {
	g := &tradeGen{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), prices: map[string]float64{}}
	for _, t := range demoTickers {
		g.prices[t.ticker] = 20 + g.rnd.Float64()*280
		g.names = append(g.names, t.ticker)
	}
	return g
}

func (g *tradeGen) next(now time.Time) tradeEvent {
	// A few tickers trade more than the others, so the leaderboard has a top.
	i := int(float64(len(demoTickers)) * g.rnd.Float64() * g.rnd.Float64())
	t := demoTickers[i]
	old := g.prices[t.ticker]
	price := max(1, old*(1+(g.rnd.Float64()-0.5)*0.006))
	g.prices[t.ticker] = price
	if g.rnd.Float64() < 0.0005 {
		// An outlier trade, off the walk by 4–10%: the walk goes on from
		// the normal price, so one alert fires, not a minute of them.
		price *= 1 + (0.04+g.rnd.Float64()*0.06)*float64(1-2*g.rnd.IntN(2))
	}
	round := func(f float64) float64 { return math.Round(f*100) / 100 }
	return tradeEvent{EventTime: now.UTC().Format(time.RFC3339Nano), Ticker: t.ticker, Sector: t.sector,
		Change: round(price - old), Price: round(price)}
}

// demoConfig is what `serve --demo` was asked for.
type demoConfig struct {
	// rate is the trades written per second.
	rate float64
	// redisAddr is the Redis server of the leaderboard path; "" leaves
	// it out, and so does a server that does not answer.
	redisAddr string
	// hookURL is where the alert path POSTs (the server's own
	// demoInboxPath); "" leaves it out.
	hookURL string
}

// The demo's delivery streams, one per delivery path.
const (
	// demoLake is the streaming-ETL path: the leaderboard's rows as
	// GZIP-compressed JSON lines under <data>/s3/demo-lake/leaderboard/,
	// one object a minute.
	demoLake = "demo-lake"
	// demoBoard is the leaderboard path: each minute's trade counts in
	// the Redis sorted set demoBoardKey.
	demoBoard    = "demo-board"
	demoBoardKey = "kda:demo:leaderboard"
	// demoAlertHook is the alert path: each price alert POSTed, signed,
	// to the server's own demo inbox (GET /demo/alerts lists them).
	demoAlertHook = "demo-alert-hook"
)

func demoLakeDefinition() delivery.Definition {
	size, interval := 5, 60
	return delivery.Definition{
		DeliveryStreamName: demoLake,
		ExtendedS3DestinationConfiguration: &delivery.ExtendedS3DestinationConfiguration{
			BucketARN:         "arn:aws:s3:::" + demoLake,
			Prefix:            "leaderboard/!{timestamp:yyyy/MM/dd/HH}/",
			ErrorOutputPrefix: "errors/!{firehose:error-output-type}/",
			BufferingHints:    &delivery.BufferingHints{SizeInMBs: &size, IntervalInSeconds: &interval},
			CompressionFormat: "GZIP",
		},
	}
}

// demoSinkDefinition is a delivery stream to a record sink that delivers
// each record at once.
func demoSinkDefinition(name, kind string, config any) (delivery.Definition, error) {
	cfg, err := json.Marshal(config)
	if err != nil {
		return delivery.Definition{}, err
	}
	size, interval := 1, 0
	return delivery.Definition{DeliveryStreamName: name, SinkDestination: &delivery.SinkDestination{
		Type: kind, Config: cfg, BufferingHints: &delivery.BufferingHints{SizeInMBs: &size, IntervalInSeconds: &interval}}}, nil
}

func demoBoardDefinition(redisAddr string) (delivery.Definition, error) {
	return demoSinkDefinition(demoBoard, "redis", map[string]any{
		"addr": redisAddr, "key": demoBoardKey, "member": "{TICKER}", "score": "TRADES", "mode": "zadd", "ttl": "10m"})
}

func demoAlertHookDefinition(url, secret string) (delivery.Definition, error) {
	return demoSinkDefinition(demoAlertHook, "webhook", map[string]any{"url": url, "secret": secret, "timeout": "5s"})
}

// ensureDemoDeliveries creates the demo's delivery streams that are
// missing and whose destination is there, points the alert hook at this
// server's address, and returns the names of those that exist.
func ensureDemoDeliveries(deliveries *delivery.Manager, cfg demoConfig, logger *slog.Logger) map[string]bool {
	have := map[string]bool{}
	if deliveries == nil {
		return have
	}
	ensure := func(name, what string, def func() (delivery.Definition, error)) {
		if _, err := deliveries.Describe(name); err == nil {
			have[name] = true
			return
		}
		d, err := def()
		if err == nil {
			_, err = deliveries.Create(d)
		}
		if err != nil {
			logger.Error("cannot create a demo delivery stream", "delivery", name, "err", err)
			return
		}
		have[name] = true
		logger.Info("demo delivery stream created", "delivery", name, "path", what)
	}
	ensure(demoLake, "streaming ETL: GZIP objects under <data>/s3/"+demoLake+"/leaderboard/", func() (delivery.Definition, error) {
		return demoLakeDefinition(), nil
	})
	if cfg.redisAddr != "" {
		if c, err := net.DialTimeout("tcp", cfg.redisAddr, 500*time.Millisecond); err != nil {
			logger.Info("no Redis answers; the demo leaves out its Redis leaderboard", "redis", cfg.redisAddr, "err", err)
		} else {
			c.Close()
			ensure(demoBoard, "leaderboard: redis-cli ZREVRANGE "+demoBoardKey+" 0 9 WITHSCORES", func() (delivery.Definition, error) {
				return demoBoardDefinition(cfg.redisAddr)
			})
		}
	}
	if cfg.hookURL != "" {
		ensure(demoAlertHook, "alerts: webhook to "+cfg.hookURL+", listed by GET "+demoInboxPath, func() (delivery.Definition, error) {
			return demoAlertHookDefinition(cfg.hookURL, crand.Text())
		})
		repointDemoHook(deliveries, cfg.hookURL, logger)
	}
	return have
}

// repointDemoHook moves the alert hook to url when the server listens
// elsewhere than when the hook was made; alerts waiting go to the new URL.
func repointDemoHook(deliveries *delivery.Manager, url string, logger *slog.Logger) {
	d, err := deliveries.Describe(demoAlertHook)
	if err != nil || d.Definition.SinkDestination == nil {
		return
	}
	var cfg map[string]any
	if err := json.Unmarshal(d.Definition.SinkDestination.Config, &cfg); err != nil || cfg["url"] == url {
		return
	}
	cfg["url"] = url
	b, err := json.Marshal(cfg)
	if err != nil {
		return
	}
	if _, err := deliveries.UpdateDestination(delivery.UpdateInput{DeliveryStreamName: demoAlertHook, CurrentDeliveryStreamVersionId: d.VersionID,
		SinkDestinationUpdate: &delivery.SinkDestination{Config: b}}); err != nil {
		logger.Error("cannot point the demo's alert hook at this server", "url", url, "err", err)
	}
}

// startDemoApplications creates the demo applications, their output
// streams and the demo's delivery streams the first time, and makes sure
// the applications run.
func startDemoApplications(st *store.Store, apps *kdaapp.Manager, deliveries *delivery.Manager, cfg demoConfig, logger *slog.Logger) {
	have := ensureDemoDeliveries(deliveries, cfg, logger)
	for _, a := range demoApps {
		if err := st.CreateStream(store.CreateStreamInput{StreamName: a.output, ShardCount: 1}); err != nil && !store.IsCode(err, store.CodeResourceInUse) {
			logger.Error("cannot create a demo output stream", "stream", a.output, "err", err)
			continue
		}
		if _, err := apps.Describe(a.name); errors.Is(err, kdaapp.ErrNotFound) {
			def := kdaapp.Definition{Name: a.name, SQL: a.sql}
			def.Input.Stream = demoStream
			def.Input.StartingPosition = kdaapp.StartNow
			def.Input.Schema = demoSchema()
			def.Outputs = []kdaapp.Output{{Name: a.stream, Stream: a.output, Format: "JSON"}}
			for _, d := range a.deliveries {
				if have[d] {
					def.Outputs = append(def.Outputs, kdaapp.Output{Name: a.stream, Delivery: d, Format: "JSON"})
				}
			}
			def.CheckpointInterval.Duration = 2 * time.Second
			if _, err := apps.Create(def); err != nil {
				logger.Error("cannot create a demo application", "app", a.name, "err", err)
				continue
			}
		}
		if d, err := apps.Describe(a.name); err == nil && d.Status == "RUNNING" {
			continue
		}
		if _, err := apps.Start(a.name, ""); err != nil {
			logger.Error("cannot start a demo application", "app", a.name, "err", err)
			continue
		}
		logger.Info("demo application running", "app", a.name, "try", "kda tail "+a.output+" --follow")
	}
}

// runDemo makes sure the demo stream exists and writes clickstream records
// to it, rate per second, until ctx ends.
// With apps set, it also runs the demo SQL application.
func runDemo(ctx context.Context, st *store.Store, apps *kdaapp.Manager, deliveries *delivery.Manager, cfg demoConfig, logger *slog.Logger) {
	rate := cfg.rate
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
	logger.Info("writing synthetic stock trades", "stream", demoStream, "records_per_second", rate,
		"try", "kda tail demo --follow")
	if apps != nil {
		startDemoApplications(st, apps, deliveries, cfg, logger)
	}

	gen := newTradeGen(uint64(time.Now().UnixNano()))
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
			_, err = st.PutRecord(demoStream, store.PutRecordInput{PartitionKey: ev.Ticker, Data: data})
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
