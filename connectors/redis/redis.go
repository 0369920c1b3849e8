// Package redis is the Redis record sink of delivery streams: live
// leaderboards. Each record (a JSON object, usually an application's
// output row) sets or increments the score of one member of one sorted
// set.
//
// # Configuration
//
//	{
//	  "addr": "127.0.0.1:6379",        // default 127.0.0.1:6379
//	  "db": 0,
//	  "password": "",
//	  "key": "leaderboard:{SECTOR}",   // template: the sorted set
//	  "member": "{TICKER}",            // template: the member
//	  "score": "TRADES",               // the field holding the score
//	  "mode": "zadd",                  // or "zincrby"; default zadd
//	  "topN": 10,                      // optional: keep the N highest
//	  "ttl": "1h",                     // optional: EXPIRE every key touched
//	  "timeout": "10s"                 // bound on one Deliver (default 10s)
//	}
//
// Templates are text with {FIELD} references (fields.Template; {{ and }}
// are literal braces); fields are found exactly, then ignoring case. The
// score is a JSON number or a string holding one.
//
// # Semantics
//
// Deliver sends a batch as one MULTI/EXEC transaction: the records in
// order (ZADD key score member, or ZINCRBY key score member), then for
// every key the batch touched ZREMRANGEBYRANK key 0 -(topN+1), which
// keeps the topN highest scores, and EXPIRE key ttl.
//
// With mode zadd a record sets its member's score, so a batch delivered
// again leaves the same sorted sets: the effect is exactly once. With
// mode zincrby a record adds to the score, and a batch delivered again
// (after a failure whose EXEC did in fact run, or a restart before the
// acknowledgement) is counted twice: delivery is at least once. Use zadd
// with a running total computed by the application for leaderboards that
// must be exact. The client does not retry by itself; the delivery worker
// does.
//
// Bad records: every record of a batch is checked before anything is
// sent. If any record is not a JSON object, lacks a field a template or
// the score needs, or has a score that is not a number, nothing is sent
// and Deliver returns a *delivery.Permanent wrapping a *delivery.RecordErrors that
// lists every refused record by its index and ID. Errors Redis replies
// with for a key of another type or missing permissions (WRONGTYPE,
// NOAUTH, WRONGPASS, NOPERM) are Permanent for the batch; note that Redis
// does not roll back a transaction when one command fails, so the other
// commands of that batch took effect. Every other error (a lost
// connection, a timeout) is returned as is, to be retried; the client
// reconnects by itself.
//
// # Limits
//
// One Redis server (no Cluster or Sentinel), no TLS, no ACL user name.
package redis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/internal/fields"
)

// Connector declares the "redis" destination for the engine to register.
func Connector() delivery.Connector {
	return delivery.Connector{
		Kind: "redis",
		Doc:  "Redis sorted sets (live leaderboards): ZADD or ZINCRBY per record",
		Example: json.RawMessage(`{
  "addr": "127.0.0.1:6379",
  "db": 0,
  "key": "leaderboard:{SECTOR}",
  "member": "{TICKER}",
  "score": "TRADES",
  "mode": "zadd",
  "topN": 10,
  "ttl": "1h"
}`),
		OpenSink: func(ctx context.Context, config json.RawMessage) (delivery.RecordSink, error) {
			return Open(ctx, config)
		},
	}
}

// Config is the configuration of a Redis sink; see the package comment
// for the meaning of each field.
type Config struct {
	Addr     string `json:"addr,omitempty"`
	DB       int    `json:"db,omitempty"`
	Password string `json:"password,omitempty"`
	Key      string `json:"key"`
	Member   string `json:"member"`
	Score    string `json:"score"`
	Mode     string `json:"mode,omitempty"`
	TopN     int    `json:"topN,omitempty"`
	TTL      string `json:"ttl,omitempty"`
	Timeout  string `json:"timeout,omitempty"`
}

// Defaults.
const (
	DefaultAddr    = "127.0.0.1:6379"
	DefaultTimeout = 10 * time.Second
)

// Sink writes records to sorted sets.
type Sink struct {
	client  *goredis.Client
	key     *fields.Template
	member  *fields.Template
	score   string
	incr    bool
	topN    int
	ttl     time.Duration
	timeout time.Duration
}

// Open validates the configuration and checks that Redis answers.
func Open(ctx context.Context, config json.RawMessage) (*Sink, error) {
	var c Config
	d := json.NewDecoder(bytes.NewReader(config))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return nil, fmt.Errorf("redis: config: %w", err)
	}
	s := &Sink{score: c.Score, topN: c.TopN, timeout: DefaultTimeout}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.DB < 0 {
		return nil, fmt.Errorf("redis: db: %d: must be 0 or more", c.DB)
	}
	var err error
	if c.Key == "" {
		return nil, fmt.Errorf(`redis: key: required, a template such as "leaderboard:{SECTOR}"`)
	}
	if s.key, err = fields.ParseTemplate(c.Key); err != nil {
		return nil, fmt.Errorf("redis: key: %w", err)
	}
	if c.Member == "" {
		return nil, fmt.Errorf(`redis: member: required, a template such as "{TICKER}"`)
	}
	if s.member, err = fields.ParseTemplate(c.Member); err != nil {
		return nil, fmt.Errorf("redis: member: %w", err)
	}
	if c.Score == "" {
		return nil, fmt.Errorf(`redis: score: required, the name of the field holding the score, e.g. "TRADES"`)
	}
	switch strings.ToLower(c.Mode) {
	case "", "zadd":
	case "zincrby":
		s.incr = true
	default:
		return nil, fmt.Errorf(`redis: mode: %q: want "zadd" (set the score) or "zincrby" (add to it)`, c.Mode)
	}
	if c.TopN < 0 {
		return nil, fmt.Errorf("redis: topN: %d: must be positive (or 0 to keep every member)", c.TopN)
	}
	if c.TTL != "" {
		if s.ttl, err = time.ParseDuration(c.TTL); err != nil || s.ttl < time.Millisecond {
			return nil, fmt.Errorf(`redis: ttl: %q: want a duration of at least 1ms, such as "1h"`, c.TTL)
		}
	}
	if c.Timeout != "" {
		if s.timeout, err = time.ParseDuration(c.Timeout); err != nil || s.timeout <= 0 {
			return nil, fmt.Errorf(`redis: timeout: %q: want a positive duration such as "10s"`, c.Timeout)
		}
	}
	s.client = goredis.NewClient(&goredis.Options{
		Addr:         c.Addr,
		DB:           c.DB,
		Password:     c.Password,
		DialTimeout:  min(s.timeout, 5*time.Second),
		ReadTimeout:  s.timeout,
		WriteTimeout: s.timeout,
		MaxRetries:   -1, // the delivery worker retries; a retried EXEC could count twice
		PoolSize:     2,
	})
	pctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.client.Ping(pctx).Err(); err != nil {
		s.client.Close()
		return nil, fmt.Errorf("redis: addr: %s: %w", c.Addr, err)
	}
	return s, nil
}

// op is one record made a sorted-set update.
type op struct {
	key, member string
	score       float64
}

func (s *Sink) op(data []byte) (op, error) {
	obj, err := fields.Object(data)
	if err != nil {
		return op{}, err
	}
	var o op
	if o.key, err = s.key.Render(obj); err != nil {
		return op{}, fmt.Errorf("key: %w", err)
	}
	if o.member, err = s.member.Render(obj); err != nil {
		return op{}, fmt.Errorf("member: %w", err)
	}
	v, ok := fields.Lookup(obj, s.score)
	if !ok {
		return op{}, fmt.Errorf("score: field %s is not in the record", s.score)
	}
	var text string
	switch x := v.(type) {
	case json.Number:
		text = x.String()
	case string:
		text = strings.TrimSpace(x)
	default:
		return op{}, fmt.Errorf("score: field %s is %s, not a number", s.score, fields.String(v))
	}
	if o.score, err = strconv.ParseFloat(text, 64); err != nil || math.IsNaN(o.score) {
		return op{}, fmt.Errorf("score: field %s is %q, not a number", s.score, text)
	}
	return o, nil
}

// Deliver applies the records in one MULTI/EXEC. See the package comment
// for what it returns.
func (s *Sink) Deliver(ctx context.Context, records []delivery.Record) error {
	if len(records) == 0 {
		return nil
	}
	ops := make([]op, 0, len(records))
	var bad []delivery.RecordError
	for i, r := range records {
		o, err := s.op(r.Data)
		if err != nil {
			bad = append(bad, delivery.RecordError{Index: i, ID: r.ID, Err: err})
			continue
		}
		ops = append(ops, o)
	}
	if len(bad) > 0 {
		return &delivery.Permanent{Err: fmt.Errorf("redis: %w", &delivery.RecordErrors{Total: len(records), Records: bad})}
	}
	var keys []string
	seen := map[string]bool{}
	for _, o := range ops {
		if !seen[o.key] {
			seen[o.key] = true
			keys = append(keys, o.key)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, err := s.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		for _, o := range ops {
			if s.incr {
				p.ZIncrBy(ctx, o.key, o.score, o.member)
			} else {
				p.ZAdd(ctx, o.key, goredis.Z{Score: o.score, Member: o.member})
			}
		}
		for _, k := range keys {
			if s.topN > 0 {
				p.ZRemRangeByRank(ctx, k, 0, int64(-(s.topN + 1)))
			}
			if s.ttl > 0 {
				p.Expire(ctx, k, s.ttl)
			}
		}
		return nil
	})
	if err != nil {
		err = fmt.Errorf("redis: deliver %d records to %d keys: %w", len(records), len(keys), err)
		var re goredis.Error
		if errors.As(err, &re) {
			msg := re.Error()
			for _, p := range []string{"WRONGTYPE", "NOAUTH", "WRONGPASS", "NOPERM"} {
				if strings.HasPrefix(msg, p) {
					return &delivery.Permanent{Err: err}
				}
			}
		}
		return err
	}
	return nil
}

// Close closes the client's connections.
func (s *Sink) Close() error { return s.client.Close() }
