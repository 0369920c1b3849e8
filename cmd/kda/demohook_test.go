package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/servicetest"
	kdaapp "github.com/kdaproject/kda/engine/app"
	"github.com/kdaproject/kda/engine/store"
)

// TestDemoLeaderboardAndAlertPathsDeliver runs the demo's delivery paths
// against the real things: the leaderboard rows into the machine's Redis,
// the alerts through the webhook sink into the server's own inbox, which
// keeps signed alerts once and refuses unsigned ones. The demo
// applications are created with those outputs.
func TestDemoLeaderboardAndAlertPathsDeliver(t *testing.T) {
	const redisAddr = "127.0.0.1:6379"
	servicetest.Require(t, "Redis", redisAddr)
	dir := t.TempDir()
	st, dm := deliveryStore(t, dir)
	apps, err := kdaapp.NewManager(st, kdaapp.ManagerOptions{OutputDir: filepath.Join(dir, "outputs"), Deliveries: dm})
	if err != nil {
		t.Fatal(err)
	}
	inbox := newDemoInbox(dm, slogDiscard())
	srv := httptest.NewServer(newServerHandler(serverConfig{store: st, deliveries: dm, demoInbox: inbox, started: time.Now(), version: "test"}))
	t.Cleanup(func() { srv.Close(); apps.Close() })

	// A leaderboard key of its own, so that a demo running on this machine
	// does not interfere.
	cfg := demoConfig{rate: 1, redisAddr: redisAddr, hookURL: srv.URL + demoInboxPath}
	if err := st.CreateStream(store.CreateStreamInput{StreamName: demoStream, ShardCount: 1}); err != nil {
		t.Fatal(err)
	}
	startDemoApplications(st, apps, dm, cfg, slogDiscard())
	for _, want := range []struct{ app, delivery string }{{"demo-leaderboard", demoLake}, {"demo-leaderboard", demoBoard}, {"demo-alerts", demoAlertHook}} {
		d, err := apps.Describe(want.app)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, o := range d.Definition.Outputs {
			found = found || o.Delivery == want.delivery
		}
		if !found {
			t.Errorf("%s has no output to %s: %+v", want.app, want.delivery, d.Definition.Outputs)
		}
	}
	key := "kda:demo:test:" + hex.EncodeToString([]byte{byte(rand.Uint32()), byte(rand.Uint32()), byte(rand.Uint32())})
	board, _ := dm.Describe(demoBoard)
	var boardCfg map[string]any
	_ = json.Unmarshal(board.Definition.SinkDestination.Config, &boardCfg)
	boardCfg["key"] = key
	b, _ := json.Marshal(boardCfg)
	if _, err := dm.UpdateDestination(delivery.UpdateInput{DeliveryStreamName: demoBoard, CurrentDeliveryStreamVersionId: board.VersionID,
		SinkDestinationUpdate: &delivery.SinkDestination{Config: b}}); err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: redisAddr})
	t.Cleanup(func() { rdb.Del(context.Background(), key); rdb.Close() })

	// Rows as the applications write them.
	if _, err := dm.Put(demoBoard, []delivery.PutInput{
		{Data: []byte(`{"ROWTIME":"2026-01-01 09:31:00.000","TICKER":"AMZN","SECTOR":"RETAIL","TRADES":42,"AVG_PRICE":180.5,"BIGGEST_MOVE":0.4}`)},
		{Data: []byte(`{"ROWTIME":"2026-01-01 09:31:00.000","TICKER":"MSFT","SECTOR":"TECHNOLOGY","TRADES":17,"AVG_PRICE":410.2,"BIGGEST_MOVE":0.9}`)},
	}); err != nil {
		t.Fatal(err)
	}
	alert := `{"ROWTIME":"2026-01-01 09:31:02.000","TICKER":"TGT","PRICE":31.08,"AVG_PRICE":32.4,"DEVIATION":-0.041,"MESSAGE":"TGT traded at 31.08, -4.1% off its one-minute average"}`
	if _, err := dm.Put(demoAlertHook, []delivery.PutInput{{Data: []byte(alert)}}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, name := range []string{demoBoard, demoAlertHook} {
		if err := dm.Flush(ctx, name); err != nil {
			t.Fatalf("flush %s: %v", name, err)
		}
	}
	top, err := rdb.ZRevRangeWithScores(ctx, key, 0, -1).Result()
	if err != nil || len(top) != 2 || top[0].Member != "AMZN" || top[0].Score != 42 || top[1].Member != "MSFT" || top[1].Score != 17 {
		t.Fatalf("leaderboard %s: %+v %v", key, top, err)
	}
	var got struct{ Alerts []receivedAlert }
	code, body, _ := httpGet(t, srv.URL+demoInboxPath)
	if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil || len(got.Alerts) != 1 || !strings.Contains(string(got.Alerts[0].Alert), "TGT traded at 31.08") {
		t.Fatalf("inbox: %d %s %v", code, body, err)
	}

	// Unsigned or wrongly signed alerts are refused; a redelivery is kept once.
	post := func(body, sig, id string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+demoInboxPath, strings.NewReader(body))
		req.Header.Set("X-Kda-Signature", sig)
		req.Header.Set("Kda-Record-Id", id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(`{"MESSAGE":"forged"}`, "sha256=00", "x"); code != http.StatusUnauthorized {
		t.Errorf("a forged alert: %d", code)
	}
	secret, err := inbox.secret()
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(alert))
	if code := post(alert, "sha256="+hex.EncodeToString(mac.Sum(nil)), got.Alerts[0].RecordID); code != http.StatusNoContent {
		t.Errorf("a redelivered alert: %d", code)
	}
	if _, body, _ := httpGet(t, srv.URL+demoInboxPath); strings.Count(body, "TGT traded") != 1 {
		t.Errorf("a redelivery was kept twice: %s", body)
	}

	// A server on another address moves the hook there.
	moved := demoConfig{hookURL: "http://127.0.0.1:1" + demoInboxPath}
	ensureDemoDeliveries(dm, moved, slogDiscard())
	d, _ := dm.Describe(demoAlertHook)
	if !strings.Contains(string(d.Definition.SinkDestination.Config), "127.0.0.1:1/demo") || d.VersionID != "2" {
		t.Errorf("the hook was not moved: version %s %s", d.VersionID, d.Definition.SinkDestination.Config)
	}
}
