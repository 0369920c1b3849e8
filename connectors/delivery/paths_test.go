package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/servicetest"
	"github.com/kdaproject/kda/engine"
	"github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/engine/store"
	"github.com/kdaproject/kda/operators/input"
)

// TestLeaderboardAndAlertPathsEndToEnd runs one application whose windowed
// results go to a Redis leaderboard (a sorted set through a delivery
// stream) and whose alerts go to a webhook — the two paths besides the
// data lake, from records put into a kda stream to the real destinations.
// (The data-lake path is engine's TestApplicationOutputIsDeliveredToTheDataDirectory;
// this one lives here because it needs the real Redis and servicetest.)
func TestLeaderboardAndAlertPathsEndToEnd(t *testing.T) {
	servicetest.Require(t, "Redis", "127.0.0.1:6379")
	ctx := context.Background()
	board := fmt.Sprintf("kda-test-board-%d", time.Now().UnixNano())
	rdb := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { rdb.Del(ctx, board); rdb.Close() })

	var mu sync.Mutex
	var alerts []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		alerts = append(alerts, m)
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)

	eng, err := engine.Open(t.TempDir(), engine.Options{Store: store.Options{Throughput: store.ThroughputOptions{Disabled: true}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	if err := eng.CreateStream(store.CreateStreamInput{StreamName: "trades", ShardCount: 1}); err != nil {
		t.Fatal(err)
	}
	sink := func(name, typ string, cfg map[string]any) {
		raw, _ := json.Marshal(cfg)
		if _, err := eng.Delivery().Create(delivery.Definition{DeliveryStreamName: name, SinkDestination: &delivery.SinkDestination{
			Type: typ, Config: raw, BufferingHints: &delivery.BufferingHints{SizeInMBs: intp(1), IntervalInSeconds: intp(0)}}}); err != nil {
			t.Fatal(err)
		}
	}
	sink("leaderboard", "redis", map[string]any{"addr": "127.0.0.1:6379", "key": board, "member": "{TICKER}", "score": "TRADES", "mode": "zadd"})
	sink("alerts", "webhook", map[string]any{"url": hook.URL})

	def := app.Definition{
		Name: "trades",
		SQL: `CREATE STREAM BOARD (ticker VARCHAR(8), trades BIGINT);
CREATE PUMP B AS INSERT INTO BOARD
  SELECT STREAM ticker, COUNT(*) FROM SOURCE_SQL_STREAM_001
  GROUP BY ticker, STEP(SOURCE_SQL_STREAM_001.ROWTIME BY INTERVAL '1' SECOND);
CREATE STREAM ALERTS (ticker VARCHAR(8), price DOUBLE);
CREATE PUMP A AS INSERT INTO ALERTS
  SELECT STREAM ticker, price FROM SOURCE_SQL_STREAM_001 WHERE price > 1000;`,
		Input: app.Input{Stream: "trades", StartingPosition: app.StartTrimHorizon, Schema: input.Schema{
			RecordFormat: input.RecordFormat{Type: "JSON"},
			Columns: []input.Column{{Name: "TICKER", SQLType: "VARCHAR(8)", Mapping: "$.ticker"},
				{Name: "PRICE", SQLType: "DOUBLE", Mapping: "$.price"}},
		}},
		Outputs:            []app.Output{{Name: "BOARD", Delivery: "leaderboard"}, {Name: "ALERTS", Delivery: "alerts"}},
		CheckpointInterval: app.Duration{Duration: 5 * time.Millisecond},
	}
	if _, err := eng.Apps().Create(def); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Apps().Start("trades", ""); err != nil {
		t.Fatal(err)
	}
	var recs []store.PutRecordInput
	for i, tk := range []string{"AMZN", "AMZN", "AMZN", "MSFT", "MSFT", "AAPL"} {
		price := 100.0
		if i == 4 {
			price = 1500
		}
		recs = append(recs, store.PutRecordInput{PartitionKey: tk, Data: []byte(fmt.Sprintf(`{"ticker":%q,"price":%v}`, tk, price))})
	}
	if _, err := eng.PutRecords("trades", recs); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := rdb.ZRevRangeWithScores(ctx, board, 0, -1).Result()
		if err == nil && len(got) == 3 {
			if got[0].Member != "AMZN" || got[0].Score != 3 || got[1].Member != "MSFT" || got[1].Score != 2 || got[2].Score != 1 {
				t.Fatalf("leaderboard %v", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leaderboard not filled: %v %v", got, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		mu.Lock()
		n := len(alerts)
		var first map[string]any
		if n > 0 {
			first = alerts[0]
		}
		mu.Unlock()
		if n == 1 {
			if first["TICKER"] != "MSFT" || first["PRICE"] != 1500.0 {
				t.Fatalf("alert %v", first)
			}
			break
		}
		if n > 1 || time.Now().After(deadline) {
			t.Fatalf("%d alerts: %v", n, alerts)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
