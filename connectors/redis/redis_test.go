package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/internal/testproxy"
	"github.com/kdaproject/kda/connectors/servicetest"
)

const redisAddr = "127.0.0.1:6379"

// prefix returns a key prefix unique to the test and deletes its keys
// when the test ends.
func prefix(t *testing.T) (string, *goredis.Client) {
	t.Helper()
	p := fmt.Sprintf("kdatest:%08x:", rand.Uint32())
	c := goredis.NewClient(&goredis.Options{Addr: redisAddr})
	t.Cleanup(func() {
		ctx := context.Background()
		keys, err := c.Keys(ctx, p+"*").Result()
		if err == nil && len(keys) > 0 {
			err = c.Del(ctx, keys...).Err()
		}
		if err != nil {
			t.Errorf("delete %s*: %v", p, err)
		}
		c.Close()
	})
	return p, c
}

func open(t *testing.T, config string) *Sink {
	t.Helper()
	s, err := Open(context.Background(), json.RawMessage(config))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func recs(data ...string) []delivery.Record {
	out := make([]delivery.Record, len(data))
	for i, d := range data {
		out[i] = delivery.Record{Data: []byte(d), ID: fmt.Sprintf("r%d", i)}
	}
	return out
}

// board renders a sorted set as "member=score ..." from the highest.
func board(t *testing.T, c *goredis.Client, key string) string {
	t.Helper()
	zs, err := c.ZRevRangeWithScores(context.Background(), key, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, z := range zs {
		parts = append(parts, fmt.Sprintf("%v=%v", z.Member, z.Score))
	}
	return strings.Join(parts, " ")
}

func config(p, extra string) string {
	return fmt.Sprintf(`{"addr": %q, "key": "%sboard:{SECTOR}", "member": "{TICKER}", "score": "TRADES"%s}`, redisAddr, p, extra)
}

var trades = recs(
	`{"SECTOR":"TECH","TICKER":"AAPL","TRADES":5}`,
	`{"SECTOR":"TECH","TICKER":"MSFT","TRADES":3}`,
	`{"SECTOR":"ENERGY","TICKER":"XOM","TRADES":"2.5"}`,
	`{"sector":"TECH","ticker":"AAPL","trades":7}`,
)

func TestZaddSetsScoresAndRedeliveryChangesNothing(t *testing.T) {
	servicetest.Require(t, "Redis", redisAddr)
	p, c := prefix(t)
	s := open(t, config(p, ""))
	for range 2 {
		if err := s.Deliver(context.Background(), trades); err != nil {
			t.Fatal(err)
		}
		if got := board(t, c, p+"board:TECH"); got != "AAPL=7 MSFT=3" {
			t.Fatalf("TECH: %s", got)
		}
		if got := board(t, c, p+"board:ENERGY"); got != "XOM=2.5" {
			t.Fatalf("ENERGY: %s", got)
		}
	}
}

func TestZincrbyAddsScores(t *testing.T) {
	servicetest.Require(t, "Redis", redisAddr)
	p, c := prefix(t)
	s := open(t, config(p, `, "mode": "zincrby"`))
	for range 2 {
		if err := s.Deliver(context.Background(), trades); err != nil {
			t.Fatal(err)
		}
	}
	if got := board(t, c, p+"board:TECH"); got != "AAPL=24 MSFT=6" {
		t.Fatalf("TECH: %s", got)
	}
	if got := board(t, c, p+"board:ENERGY"); got != "XOM=5" {
		t.Fatalf("ENERGY: %s", got)
	}
}

func TestTopNKeepsTheHighestScores(t *testing.T) {
	servicetest.Require(t, "Redis", redisAddr)
	p, c := prefix(t)
	s := open(t, config(p, `, "topN": 3`))
	var batch []string
	for i := range 10 {
		batch = append(batch, fmt.Sprintf(`{"SECTOR":"TECH","TICKER":"T%d","TRADES":%d}`, i, (i*7)%10))
	}
	if err := s.Deliver(context.Background(), recs(batch...)); err != nil {
		t.Fatal(err)
	}
	if got := board(t, c, p+"board:TECH"); got != "T7=9 T4=8 T1=7" {
		t.Fatalf("after one batch: %s", got)
	}
	// A member scoring higher later enters; the lowest leaves.
	if err := s.Deliver(context.Background(), recs(`{"SECTOR":"TECH","TICKER":"T0","TRADES":8.5}`)); err != nil {
		t.Fatal(err)
	}
	if got := board(t, c, p+"board:TECH"); got != "T7=9 T0=8.5 T4=8" {
		t.Fatalf("after two batches: %s", got)
	}
}

func TestTTLIsSetOnEveryKeyTouched(t *testing.T) {
	servicetest.Require(t, "Redis", redisAddr)
	p, c := prefix(t)
	s := open(t, config(p, `, "ttl": "1h"`))
	if err := s.Deliver(context.Background(), trades); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"board:TECH", "board:ENERGY"} {
		ttl, err := c.TTL(context.Background(), p+k).Result()
		if err != nil || ttl <= 59*time.Minute || ttl > time.Hour {
			t.Errorf("%s: ttl %v, %v", k, ttl, err)
		}
	}
}

func TestRefusesABatchWithBadRecordsAndNamesThem(t *testing.T) {
	servicetest.Require(t, "Redis", redisAddr)
	p, c := prefix(t)
	s := open(t, config(p, ""))
	err := s.Deliver(context.Background(), recs(
		`{"SECTOR":"TECH","TICKER":"AAPL","TRADES":5}`,
		`{"TICKER":"MSFT","TRADES":3}`,
		`{"SECTOR":"TECH","TRADES":3}`,
		`{"SECTOR":"TECH","TICKER":"IBM"}`,
		`{"SECTOR":"TECH","TICKER":"IBM","TRADES":"many"}`,
		`{"SECTOR":"TECH","TICKER":"IBM","TRADES":null}`,
		`"AAPL"`,
	))
	var perm *delivery.Permanent
	var rej *delivery.RecordErrors
	if !errors.As(err, &perm) || !errors.As(err, &rej) {
		t.Fatalf("want a Permanent RecordErrors, got %v", err)
	}
	want := []string{
		"key: field SECTOR is not in the record",
		"member: field TICKER is not in the record",
		"score: field TRADES is not in the record",
		`score: field TRADES is "many", not a number`,
		"score: field TRADES is , not a number",
		"record is not a JSON object",
	}
	if len(rej.Records) != len(want) || rej.Total != 7 {
		t.Fatalf("refused %d of %d: %v", len(rej.Records), rej.Total, err)
	}
	for i, w := range want {
		if r := rej.Records[i]; r.Index != i+1 || !strings.Contains(r.Err.Error(), w) {
			t.Errorf("record %d (%s): %v, want %q", r.Index, r.ID, r.Err, w)
		}
	}
	if n, _ := c.Exists(context.Background(), p+"board:TECH").Result(); n != 0 {
		t.Fatal("a refused batch wrote the good record")
	}
}

func TestWrongTypeIsPermanent(t *testing.T) {
	servicetest.Require(t, "Redis", redisAddr)
	p, c := prefix(t)
	if err := c.Set(context.Background(), p+"board:TECH", "a string", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s := open(t, config(p, ""))
	err := s.Deliver(context.Background(), trades[:1])
	if !errors.As(err, new(*delivery.Permanent)) || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Fatalf("got %v", err)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	servicetest.Require(t, "Redis", redisAddr)
	for _, tc := range []struct{ config, want string }{
		{`{"key": "k", "member": "m", "score": "S", "scores": 1}`, `unknown field "scores"`},
		{`{"member": "m", "score": "S"}`, "redis: key: required"},
		{`{"key": "board:{SECTOR", "member": "m", "score": "S"}`, "redis: key: template"},
		{`{"key": "k", "score": "S"}`, "redis: member: required"},
		{`{"key": "k", "member": "{}", "score": "S"}`, "redis: member: template"},
		{`{"key": "k", "member": "m"}`, "redis: score: required"},
		{`{"key": "k", "member": "m", "score": "S", "mode": "zset"}`, `redis: mode: "zset"`},
		{`{"key": "k", "member": "m", "score": "S", "topN": -1}`, "redis: topN: -1"},
		{`{"key": "k", "member": "m", "score": "S", "ttl": "forever"}`, `redis: ttl: "forever"`},
		{`{"key": "k", "member": "m", "score": "S", "db": -1}`, "redis: db: -1"},
		{`{"key": "k", "member": "m", "score": "S", "timeout": "0s"}`, `redis: timeout: "0s"`},
		{`{"addr": "127.0.0.1:1", "key": "k", "member": "m", "score": "S", "timeout": "1s"}`, "redis: addr: 127.0.0.1:1"},
	} {
		_, err := Open(context.Background(), json.RawMessage(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %q", tc.config, err, tc.want)
		}
	}
}

func TestOutageThroughAProxyEndsWithTheRightLeaderboard(t *testing.T) {
	servicetest.Require(t, "Redis", redisAddr)
	p, c := prefix(t)
	proxy := testproxy.Start(t, redisAddr)
	s := open(t, fmt.Sprintf(`{"addr": %q, "key": "%sboard:{SECTOR}", "member": "{TICKER}", "score": "TRADES", "topN": 20, "timeout": "2s"}`, proxy.Addr, p))
	ctx := context.Background()
	// Batch n gives ticker T<i> in sector S<i%3> the score n*100+i: the
	// last batch decides every score.
	batch := func(n int) []delivery.Record {
		var out []string
		for i := range 60 {
			out = append(out, fmt.Sprintf(`{"SECTOR":"S%d","TICKER":"T%02d","TRADES":%d}`, i%3, i, n*100+i))
		}
		return recs(out...)
	}
	deliver := func(n int) {
		t.Helper()
		for attempt := 0; ; attempt++ {
			err := s.Deliver(ctx, batch(n))
			if err == nil {
				return
			}
			if attempt == 50 {
				t.Fatalf("batch %d: still failing: %v", n, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	deliver(0)
	deliver(1)
	proxy.Cut()
	for n := 2; n < 4; n++ {
		start := time.Now()
		err := s.Deliver(ctx, batch(n))
		if err == nil {
			t.Fatalf("batch %d was delivered through a cut proxy", n)
		}
		if errors.As(err, new(*delivery.Permanent)) {
			t.Fatalf("an outage is not permanent: %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Deliver took %v during the outage", d)
		}
	}
	proxy.Restore()
	deliver(1) // redelivered after a lost acknowledgement: harmless with zadd
	deliver(2)
	deliver(3)
	for sector := range 3 {
		var want []string
		for i := 59; i >= 0; i-- {
			if i%3 == sector {
				want = append(want, fmt.Sprintf("T%02d=%d", i, 300+i))
			}
		}
		if got := board(t, c, fmt.Sprintf("%sboard:S%d", p, sector)); got != strings.Join(want, " ") {
			t.Errorf("S%d: %s\nwant %s", sector, got, strings.Join(want, " "))
		}
	}
}

func TestConnectorRegistersAndItsExampleIsAValidConfig(t *testing.T) {
	r := delivery.NewRegistry()
	if err := r.Register(Connector()); err != nil {
		t.Fatal(err)
	}
	c, ok := r.Lookup("redis")
	if !ok || c.Doc == "" {
		t.Fatalf("lookup: %v %+v", ok, c)
	}
	d := json.NewDecoder(strings.NewReader(string(c.Example)))
	d.DisallowUnknownFields()
	if err := d.Decode(new(Config)); err != nil {
		t.Fatalf("example: %v", err)
	}
}
