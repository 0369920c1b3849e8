// Package webhook is the "webhook" destination of delivery streams: it
// POSTs records to an HTTP(S) endpoint, for alerting services, chat
// incoming-webhooks and home-grown receivers.
//
// Configuration (JSON, unknown fields are an error):
//
//	{
//	  "url": "https://alerts.example.com/kda",  // required, http or https
//	  "method": "POST",                         // POST (default), PUT or PATCH
//	  "headers": {"Authorization": "Bearer …"}, // added to every request
//	  "batch": false,      // false: one request per record, body = the record's bytes
//	                       // true: one request per batch, body = JSON array of the records
//	  "secret": "…",       // if set, every request is signed with HMAC-SHA256
//	  "signatureHeader": "X-Kda-Signature",     // carries "sha256=<hex of HMAC(body)>"
//	  "timeout": "10s",    // per request
//	  "rateLimit": 50,     // requests per second (0: no limit)
//	  "maxRetries": 3      // retries of one request inside Deliver
//	}
//
// Acknowledgement: a request is accepted when the endpoint answers 2xx.
// 408, 429, 5xx answers and network errors are retried up to maxRetries
// times with exponential backoff (100ms, 200ms, 400ms, … at most 10s),
// waiting instead as long as a Retry-After header asks (at most a
// minute). Any other answer (4xx, or a 3xx the HTTP client did not
// follow) is a *delivery.Permanent error: retrying will not fix it.
// Deliver returns nil only when every request of the batch was accepted;
// otherwise the delivery stream delivers the whole batch again later.
//
// Delivery guarantee: at least once. A batch that failed half way is sent
// again from its first record, and a request whose answer was lost is
// repeated, so a receiver must deduplicate by the record ID: header
// Kda-Record-Id (one record per request) or Kda-Record-Ids (the IDs of
// a batch request, comma-separated, in array order). Records are sent in
// order, one request at a time.
//
// Bodies: one record per request sends the record's bytes unchanged,
// whatever they are, with Content-Type application/json when they are
// valid JSON and application/octet-stream otherwise. A batch request
// needs every record to be a JSON value (application output always is);
// a batch holding anything else fails with a permanent error. A
// Content-Type in headers overrides the default.
//
// Signature: with a secret, the receiver recomputes HMAC-SHA256 over the
// raw body with the shared secret and compares it in constant time with
// the header's hex digest after "sha256=" (the scheme of GitHub's
// X-Hub-Signature-256).
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/kdaproject/kda/connectors/delivery"
	connconf "github.com/kdaproject/kda/connectors/internal/config"
)

// Kind is the destination type in configurations.
const Kind = "webhook"

// Defaults of the optional settings.
const (
	DefaultMethod          = http.MethodPost
	DefaultSignatureHeader = "X-Kda-Signature"
	DefaultTimeout         = 10 * time.Second
	DefaultMaxRetries      = 3
)

// Backoff between retries: minBackoff doubled after each attempt, at most
// maxBackoff; a Retry-After answer is honoured up to maxRetryAfter.
const (
	minBackoff    = 100 * time.Millisecond
	maxBackoff    = 10 * time.Second
	maxRetryAfter = time.Minute
)

// Header names the sink sets on every request.
const (
	RecordIDHeader  = "Kda-Record-Id"
	RecordIDsHeader = "Kda-Record-Ids"
)

// Config is the webhook destination's configuration.
type Config struct {
	URL             string            `json:"url"`
	Method          string            `json:"method,omitempty"`
	Headers         map[string]string `json:"headers,omitempty"`
	Batch           bool              `json:"batch,omitempty"`
	Secret          string            `json:"secret,omitempty"`
	SignatureHeader string            `json:"signatureHeader,omitempty"`
	Timeout         string            `json:"timeout,omitempty"`
	RateLimit       float64           `json:"rateLimit,omitempty"`
	MaxRetries      *int              `json:"maxRetries,omitempty"`
}

// Connector declares the webhook destination.
func Connector() delivery.Connector {
	return delivery.Connector{
		Kind:    Kind,
		Doc:     "POST records to an HTTP(S) endpoint, one request per record or per batch, optionally HMAC-signed",
		Example: json.RawMessage(`{"url": "https://alerts.example.com/kda", "batch": false, "secret": "change-me", "timeout": "10s", "rateLimit": 50, "maxRetries": 3}`),
		OpenSink: func(ctx context.Context, config json.RawMessage) (delivery.RecordSink, error) {
			return Open(config)
		},
	}
}

// Sink delivers records to one endpoint. Deliver must not be called
// concurrently (the delivery worker calls it for one batch at a time).
type Sink struct {
	url        string
	method     string
	headers    http.Header
	batch      bool
	secret     []byte
	sigHeader  string
	timeout    time.Duration
	maxRetries int
	limiter    *rate.Limiter // nil: no limit
	client     *http.Client
}

// Open validates a configuration and returns a sink. No request is made.
func Open(config json.RawMessage) (*Sink, error) {
	var c Config
	d := json.NewDecoder(bytes.NewReader(config))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return nil, fmt.Errorf("webhook config: %w", err)
	}
	s := &Sink{batch: c.Batch, headers: http.Header{}}
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return nil, errors.New("webhook config: url is required, e.g. https://alerts.example.com/kda")
	case err != nil:
		return nil, fmt.Errorf("webhook config: url: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("webhook config: url %q: the scheme must be http or https", c.URL)
	case u.Host == "":
		return nil, fmt.Errorf("webhook config: url %q has no host", c.URL)
	}
	s.url = c.URL
	switch m := strings.ToUpper(c.Method); m {
	case "":
		s.method = DefaultMethod
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		s.method = m
	default:
		return nil, fmt.Errorf("webhook config: method %q: use POST, PUT or PATCH", c.Method)
	}
	for k, v := range c.Headers {
		if k == "" || strings.ContainsAny(k, " \t\r\n:") || strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("webhook config: headers: %q is not a valid header", k)
		}
		s.headers.Set(k, v)
	}
	s.secret = []byte(c.Secret)
	s.sigHeader = c.SignatureHeader
	if s.sigHeader == "" {
		s.sigHeader = DefaultSignatureHeader
	} else if c.Secret == "" {
		return nil, errors.New("webhook config: signatureHeader is set but secret is empty: set secret to sign requests")
	} else if strings.ContainsAny(s.sigHeader, " \t\r\n:") {
		return nil, fmt.Errorf("webhook config: signatureHeader %q is not a valid header name", s.sigHeader)
	}
	s.timeout = DefaultTimeout
	if c.Timeout != "" {
		if s.timeout, err = connconf.PositiveDuration("webhook", "timeout", c.Timeout); err != nil {
			return nil, err
		}
	}
	switch {
	case c.RateLimit < 0:
		return nil, fmt.Errorf("webhook config: rateLimit %v: want requests per second, 0 for no limit", c.RateLimit)
	case c.RateLimit > 0:
		s.limiter = rate.NewLimiter(rate.Limit(c.RateLimit), 1)
	}
	s.maxRetries = DefaultMaxRetries
	if c.MaxRetries != nil {
		if *c.MaxRetries < 0 {
			return nil, fmt.Errorf("webhook config: maxRetries %d: want 0 or more", *c.MaxRetries)
		}
		s.maxRetries = *c.MaxRetries
	}
	s.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	return s, nil
}

// Deliver sends the records, in order, and returns nil once the endpoint
// accepted all of them.
func (s *Sink) Deliver(ctx context.Context, records []delivery.Record) error {
	if len(records) == 0 {
		return nil
	}
	if s.batch {
		body, err := batchBody(records)
		if err != nil {
			return err
		}
		ids := make([]string, len(records))
		for i, r := range records {
			ids[i] = r.ID
		}
		h := http.Header{}
		h.Set(RecordIDsHeader, strings.Join(ids, ","))
		h.Set("Content-Type", "application/json")
		if err := s.send(ctx, body, h); err != nil {
			return fmt.Errorf("webhook %s: batch of %d records: %w", s.url, len(records), err)
		}
		return nil
	}
	for i, r := range records {
		h := http.Header{}
		h.Set(RecordIDHeader, r.ID)
		if json.Valid(r.Data) {
			h.Set("Content-Type", "application/json")
		} else {
			h.Set("Content-Type", "application/octet-stream")
		}
		if err := s.send(ctx, r.Data, h); err != nil {
			return fmt.Errorf("webhook %s: record %s (%d of %d): %w", s.url, r.ID, i+1, len(records), err)
		}
	}
	return nil
}

// batchBody is the JSON array of the records.
func batchBody(records []delivery.Record) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, r := range records {
		if !json.Valid(r.Data) {
			return nil, &delivery.Permanent{Err: fmt.Errorf("webhook: record %s is not JSON, and batch requests are JSON arrays: set batch to false to send any bytes", r.ID)}
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(bytes.TrimSpace(r.Data))
	}
	b.WriteByte(']')
	return b.Bytes(), nil
}

// send makes one request, retrying what can be retried.
func (s *Sink) send(ctx context.Context, body []byte, h http.Header) error {
	var sig string
	if len(s.secret) > 0 {
		sig = Sign(s.secret, body)
	}
	backoff := minBackoff
	for attempt := 0; ; attempt++ {
		if s.limiter != nil {
			if err := s.limiter.Wait(ctx); err != nil {
				return err
			}
		}
		wait, err := s.attempt(ctx, body, h, sig)
		if err == nil {
			return nil
		}
		var perm *delivery.Permanent
		if errors.As(err, &perm) || ctx.Err() != nil {
			return err
		}
		if attempt >= s.maxRetries {
			if attempt > 0 {
				return fmt.Errorf("%w (gave up after %d attempts)", err, attempt+1)
			}
			return err
		}
		if wait <= 0 {
			wait = backoff
		}
		backoff = min(2*backoff, maxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (retry interrupted: %v)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// attempt makes one request. A retryable failure may come with the wait
// the server asked for (Retry-After).
func (s *Sink) attempt(ctx context.Context, body []byte, h http.Header, sig string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, s.method, s.url, bytes.NewReader(body))
	if err != nil {
		return 0, &delivery.Permanent{Err: err}
	}
	for k, v := range h {
		req.Header[k] = v
	}
	for k, v := range s.headers {
		req.Header[k] = v
	}
	if sig != "" {
		req.Header.Set(s.sigHeader, sig)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "kda-webhook")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	resp.Body.Close()
	code := resp.StatusCode
	if code >= 200 && code <= 299 {
		return 0, nil
	}
	err = fmt.Errorf("%s %s answered %s", s.method, s.url, resp.Status)
	if text := strings.TrimSpace(string(snippet)); text != "" {
		err = fmt.Errorf("%w: %s", err, text)
	}
	switch {
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return retryAfter(resp.Header.Get("Retry-After"), time.Now()), err
	default:
		return 0, &delivery.Permanent{Err: err}
	}
}

// retryAfter reads a Retry-After header (seconds or an HTTP date), capped
// at maxRetryAfter; 0 if absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return max(0, min(d, maxRetryAfter))
}

// Sign returns the signature header value of body: "sha256=" and the hex
// HMAC-SHA256 of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether signature (a header value) is body's signature
// under secret; receivers written in Go can use it.
func Verify(secret, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(signature))
}

// Close releases idle connections.
func (s *Sink) Close() error {
	s.client.CloseIdleConnections()
	return nil
}
