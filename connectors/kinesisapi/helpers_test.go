package kinesisapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go"
	"github.com/fxamacker/cbor/v2"

	"github.com/kdaproject/kda/engine/store"
)

// fakeClock is a settable clock shared by a store and the handler.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now().UTC().Truncate(time.Millisecond)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testEnv is a store behind an httptest server, with an SDK client.
type testEnv struct {
	st     *store.Store
	srv    *httptest.Server
	client *kinesis.Client
	ctx    context.Context
}

type envConfig struct {
	store store.Options
	api   Options
	// accessKey and secretKey sign the client's requests; default "test".
	accessKey, secretKey string
	// wrap, when set, wraps the handler (e.g. to count requests).
	wrap func(http.Handler) http.Handler
	// retryer replaces the client's no-retry default.
	retryer aws.Retryer
}

func newEnv(t testing.TB, cfg envConfig) *testEnv {
	t.Helper()
	st, err := store.Open(t.TempDir(), cfg.store)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	var h http.Handler = New(st, cfg.api)
	if cfg.wrap != nil {
		h = cfg.wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	ak, sk := cfg.accessKey, cfg.secretKey
	if ak == "" {
		ak, sk = "test", "test"
	}
	var retryer aws.Retryer = aws.NopRetryer{}
	if cfg.retryer != nil {
		retryer = cfg.retryer
	}
	client := kinesis.New(kinesis.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(ak, sk, ""),
		Retryer:      retryer,
	})
	return &testEnv{st: st, srv: srv, client: client, ctx: context.Background()}
}

// createStream creates a provisioned stream and fails the test on error.
func (e *testEnv) createStream(t testing.TB, name string, shards int32) {
	t.Helper()
	if _, err := e.client.CreateStream(e.ctx, &kinesis.CreateStreamInput{
		StreamName: aws.String(name), ShardCount: aws.Int32(shards),
	}); err != nil {
		t.Fatalf("create stream %s: %v", name, err)
	}
}

// errorCode returns the AWS error code an SDK call failed with.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return "non-API error: " + err.Error()
	}
	return ""
}

func errorMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

// rawResponse is an answer to a hand-built request.
type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

// rawCall sends a hand-built, unsigned request.
func rawCall(t testing.TB, url, contentType, target string, body []byte) rawResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: b}
}

// jsonCall sends a JSON request for a Kinesis operation.
func jsonCall(t testing.TB, url, op string, body string) rawResponse {
	t.Helper()
	return rawCall(t, url, contentTypeJSON11, TargetPrefix+op, []byte(body))
}

// cborCall encodes v as CBOR and sends it for a Kinesis operation.
func cborCall(t testing.TB, url, op string, v any) rawResponse {
	t.Helper()
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatalf("encode CBOR: %v", err)
	}
	return rawCall(t, url, contentTypeCBOR, TargetPrefix+op, b)
}

// errorOf decodes an error body in either format.
func (r rawResponse) errorOf(t testing.TB) errorBody {
	t.Helper()
	var eb errorBody
	var err error
	if r.header.Get("Content-Type") == contentTypeCBOR {
		err = cbor.Unmarshal(r.body, &eb)
	} else {
		err = json.Unmarshal(r.body, &eb)
	}
	if err != nil {
		t.Fatalf("decode error body %q: %v", r.body, err)
	}
	return eb
}
