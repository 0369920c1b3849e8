package delivery_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kdaproject/kda/connectors/internal/testproxy"
	"github.com/kdaproject/kda/connectors/redis"
	"github.com/kdaproject/kda/connectors/servicetest"
)

// TestARedisOutageInTheMiddleOfADeliveryLosesNothing runs the whole path
// to the machine's Redis behind a proxy that is cut while records keep
// arriving. Every record updates member ID of the sorted set
// <prefix>k<n> of its partition key. Redis's MONITOR, on a connection
// of its own, shows the commands in the order Redis executed them: that
// is the arrival order.
//
// A batch is one MULTI/EXEC, so a batch cut short is not applied at all;
// but when EXEC ran and its reply was lost, the delivery stream sends the
// batch again and Redis executes it twice. The commands therefore arrive
// at least once. What that does to the data depends on the mode:
//
//   - zadd sets the member's score: executing it twice leaves the same
//     sorted set, so the sets hold every record exactly once (score SEQ);
//   - zincrby adds to the score: a record executed twice counts twice, so
//     each member's score is the number of times its record arrived, at
//     least 1 (the documented at-least-once effect of zincrby).
func TestARedisOutageInTheMiddleOfADeliveryLosesNothing(t *testing.T) {
	const redisAddr = "127.0.0.1:6379"
	servicetest.Require(t, "Redis", redisAddr)
	for _, tc := range []struct {
		name, mode, score string
	}{
		{"zadd sets every record's member exactly once", "zadd", "SEQ"},
		{"zincrby counts every record at least once", "zincrby", "ONE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := fmt.Sprintf("kdatest:%08x:", rand.Uint32())
			c := goredis.NewClient(&goredis.Options{Addr: redisAddr})
			t.Cleanup(func() {
				ctx := context.Background()
				if keys, err := c.Keys(ctx, prefix+"*").Result(); err == nil && len(keys) > 0 {
					c.Del(ctx, keys...)
				}
				c.Close()
			})
			mon := monitorRedis(t, redisAddr, prefix)
			proxy := testproxy.Start(t, redisAddr)
			o := startOutage(t, redis.Connector(), map[string]any{
				"addr": proxy.Addr, "key": prefix + "{K}", "member": "{ID}", "score": tc.score, "mode": tc.mode, "timeout": "2s",
			})
			o.run(proxy.Cut, proxy.Restore)

			arrivals := mon.arrivals(t, c)
			o.checkArrivals(arrivals, false)
			times := map[int]int{}
			for _, id := range arrivals {
				times[id]++
			}
			members := 0
			for n := range outageKeys {
				zs, err := c.ZRangeWithScores(context.Background(), prefix+fmt.Sprintf("k%d", n), 0, -1).Result()
				if err != nil {
					t.Fatal(err)
				}
				for _, z := range zs {
					members++
					id, _ := strconv.Atoi(z.Member.(string))
					want := float64(id) // zadd: SEQ
					if tc.mode == "zincrby" {
						want = float64(times[id]) // one per execution
					}
					if z.Score != want {
						t.Errorf("member %v of key k%d has score %v, want %v", z.Member, n, z.Score, want)
					}
				}
			}
			if members != outageTotal {
				t.Errorf("the sorted sets hold %d members, want %d (one per record)", members, outageTotal)
			}
		})
	}
}

// redisMonitor collects the members of the ZADD and ZINCRBY commands
// Redis executes on keys under a prefix, in execution order.
type redisMonitor struct {
	prefix, end string
	mu          sync.Mutex
	ids         []int
	ended       chan struct{}
}

var redisMonitorArg = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"`)

// monitorRedis starts MONITOR on a connection of its own.
func monitorRedis(t *testing.T, addr, prefix string) *redisMonitor {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	r := bufio.NewReader(conn)
	if _, err := conn.Write([]byte("MONITOR\r\n")); err != nil {
		t.Fatal(err)
	}
	if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "+OK") {
		t.Fatalf("MONITOR: %q %v", l, err)
	}
	m := &redisMonitor{prefix: prefix, end: prefix + "end", ended: make(chan struct{})}
	go func() {
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			args := redisMonitorArg.FindAllStringSubmatch(l, -1)
			if len(args) == 2 && strings.EqualFold(args[0][1], "ECHO") && args[1][1] == m.end {
				close(m.ended)
				continue
			}
			if len(args) != 4 || !strings.HasPrefix(args[1][1], prefix) {
				continue
			}
			switch strings.ToUpper(args[0][1]) {
			case "ZADD", "ZINCRBY":
				id, err := strconv.Atoi(args[3][1])
				if err != nil {
					id = -1
				}
				m.mu.Lock()
				m.ids = append(m.ids, id)
				m.mu.Unlock()
			}
		}
	}()
	return m
}

// arrivals returns the members updated so far, once the monitor has seen
// a command c sends after them.
func (m *redisMonitor) arrivals(t *testing.T, c *goredis.Client) []int {
	t.Helper()
	if err := c.Echo(context.Background(), m.end).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.ended:
	case <-time.After(10 * time.Second):
		t.Fatal("MONITOR did not show the end marker")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]int(nil), m.ids...)
}
