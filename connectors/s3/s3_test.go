package s3

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/internal/testproxy"
)

// fakeS3 starts an in-memory S3 server holding the given buckets.
func fakeS3(t *testing.T, buckets ...string) (*s3mem.Backend, *httptest.Server) {
	t.Helper()
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return backend, srv
}

// open opens a store through the connector, as the engine would.
func open(t *testing.T, config string) delivery.ObjectStore {
	t.Helper()
	st, err := Connector().OpenStore(context.Background(), json.RawMessage(config))
	if err != nil {
		t.Fatalf("open %s: %v", config, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func storeConfig(endpoint string, extra string) string {
	return fmt.Sprintf(`{"endpoint": %q, "region": "us-east-1", "accessKey": "AKID", "secretKey": "SECRET", "timeout": "5s"%s}`, endpoint, extra)
}

func readBack(t *testing.T, backend *s3mem.Backend, bucket, key string) ([]byte, map[string]string) {
	t.Helper()
	obj, err := backend.GetObject(bucket, key, nil)
	if err != nil {
		t.Fatalf("get %s/%s: %v", bucket, key, err)
	}
	defer obj.Contents.Close()
	data, err := io.ReadAll(obj.Contents)
	if err != nil {
		t.Fatal(err)
	}
	return data, obj.Metadata
}

func TestConnectorIsReadyToRegister(t *testing.T) {
	r := delivery.NewRegistry()
	if err := r.Register(Connector()); err != nil {
		t.Fatal(err)
	}
	c, ok := r.Lookup("s3")
	if !ok || c.OpenStore == nil || c.OpenSink != nil {
		t.Fatalf("lookup s3: %+v %v", c, ok)
	}
	var example Config
	if err := decodeStrict(c.Example, &example); err != nil {
		t.Fatalf("the example is not a valid configuration: %v", err)
	}
}

func TestObjectsAreWrittenAndReadBack(t *testing.T) {
	backend, srv := fakeS3(t, "logs")
	st := open(t, storeConfig(srv.URL, ""))
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	cases := []struct {
		name, key, ctype, cenc string
		body                   []byte
	}{
		{"json lines", "2024/05/01/12/stream-1-2024-05-01-12-00-00-abc", "application/x-ndjson", "", []byte("{\"a\":1}\n{\"a\":2}\n")},
		{"gzip with an encoding", "2024/05/01/12/stream-1.gz", "application/octet-stream", "gzip", []byte{0x1f, 0x8b, 8, 0, 0, 0}},
		{"an empty object", "empty", "", "", []byte{}},
		{"a megabyte", "big/one", "application/octet-stream", "", big},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := st.PutObject(context.Background(), "logs", c.key, c.body, c.ctype, c.cenc); err != nil {
				t.Fatal(err)
			}
			data, meta := readBack(t, backend, "logs", c.key)
			if !bytes.Equal(data, c.body) {
				t.Fatalf("read back %d bytes, wrote %d", len(data), len(c.body))
			}
			if c.ctype != "" && meta["Content-Type"] != c.ctype {
				t.Errorf("content type %q, want %q", meta["Content-Type"], c.ctype)
			}
			if meta["Content-Encoding"] != c.cenc {
				t.Errorf("content encoding %q, want %q", meta["Content-Encoding"], c.cenc)
			}
		})
	}
}

func TestAPutReplacesTheObject(t *testing.T) {
	backend, srv := fakeS3(t, "b")
	st := open(t, storeConfig(srv.URL, ""))
	for _, body := range []string{"first", "second"} {
		if err := st.PutObject(context.Background(), "b", "k", []byte(body), "text/plain", ""); err != nil {
			t.Fatal(err)
		}
	}
	if data, _ := readBack(t, backend, "b", "k"); string(data) != "second" {
		t.Fatalf("got %q", data)
	}
}

func TestBucketPrefixIsPrependedToEveryBucket(t *testing.T) {
	backend, srv := fakeS3(t, "prod-logs")
	st := open(t, storeConfig(srv.URL, `, "bucketPrefix": "prod-"`))
	if err := st.PutObject(context.Background(), "logs", "k", []byte("x"), "", ""); err != nil {
		t.Fatal(err)
	}
	if data, _ := readBack(t, backend, "prod-logs", "k"); string(data) != "x" {
		t.Fatalf("got %q", data)
	}
}

func TestAMissingBucketIsPermanent(t *testing.T) {
	_, srv := fakeS3(t, "exists")
	st := open(t, storeConfig(srv.URL, ""))
	err := st.PutObject(context.Background(), "missing", "k", []byte("x"), "", "")
	var p *delivery.Permanent
	if !errors.As(err, &p) {
		t.Fatalf("want a permanent error, got %v", err)
	}
	if !strings.Contains(err.Error(), "NoSuchBucket") || !strings.Contains(err.Error(), "missing/k") {
		t.Errorf("the error should name the code and the object: %v", err)
	}
}

// corruptBody flips one byte of every PUT body on its way to next.
func corruptBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			b, _ := io.ReadAll(r.Body)
			if len(b) > 0 {
				b[0] ^= 0xff
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		next.ServeHTTP(w, r)
	})
}

func TestACorruptedBodyIsRefusedAndRetryable(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("b"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(corruptBody(gofakes3.New(backend).Server()))
	defer srv.Close()
	st := open(t, storeConfig(srv.URL, ""))
	err := st.PutObject(context.Background(), "b", "k", []byte("payload"), "", "")
	var p *delivery.Permanent
	if err == nil || errors.As(err, &p) {
		t.Fatalf("want a retryable error, got %v", err)
	}
	if !strings.Contains(err.Error(), "BadDigest") {
		t.Errorf("want BadDigest: %v", err)
	}
	if _, err := backend.HeadObject("b", "k"); err == nil {
		t.Fatal("the corrupted object was stored")
	}
}

func TestAnOutageIsRetryableAndDeliveryResumes(t *testing.T) {
	backend, srv := fakeS3(t, "b")
	proxy := testproxy.Start(t, strings.TrimPrefix(srv.URL, "http://"))
	st := open(t, storeConfig("http://"+proxy.Addr, `, "timeout": "2s"`))
	if err := st.PutObject(context.Background(), "b", "before", []byte("1"), "", ""); err != nil {
		t.Fatal(err)
	}
	proxy.Cut()
	err := st.PutObject(context.Background(), "b", "during", []byte("2"), "", "")
	var p *delivery.Permanent
	if err == nil || errors.As(err, &p) {
		t.Fatalf("during the outage: want a retryable error, got %v", err)
	}
	proxy.Restore()
	if err := st.PutObject(context.Background(), "b", "during", []byte("2"), "", ""); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
	if data, _ := readBack(t, backend, "b", "during"); string(data) != "2" {
		t.Fatalf("got %q", data)
	}
}

func TestAServerThatDoesNotAnswerTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	st := open(t, storeConfig(srv.URL, `, "timeout": "200ms"`))
	start := time.Now()
	err := st.PutObject(context.Background(), "b", "k", []byte("x"), "", "")
	var p *delivery.Permanent
	if err == nil || errors.As(err, &p) {
		t.Fatalf("want a retryable error, got %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v with a 200ms timeout", d)
	}
}

// TestErrorAnswersAreClassified answers every request with one S3 error
// and checks that PutObject makes exactly one attempt (the SDK's retryer
// is disabled) and classifies the answer.
func TestErrorAnswersAreClassified(t *testing.T) {
	cases := []struct {
		status    int
		code      string
		permanent bool
	}{
		{403, "AccessDenied", true},
		{403, "InvalidAccessKeyId", true},
		{403, "SignatureDoesNotMatch", true},
		{400, "InvalidBucketName", true},
		{400, "InvalidArgument", true},
		{404, "NoSuchBucket", true},
		{301, "PermanentRedirect", true},
		{400, "RequestTimeout", false},
		{400, "BadDigest", false},
		{403, "RequestTimeTooSkewed", false},
		{400, "ExpiredToken", false},
		{408, "RequestTimeout", false},
		{429, "TooManyRequests", false},
		{500, "InternalError", false},
		{503, "SlowDown", false},
		{503, "ServiceUnavailable", false},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%d %s is ", c.status, c.code)
		if c.permanent {
			name += "permanent"
		} else {
			name += "retryable"
		}
		t.Run(name, func(t *testing.T) {
			var requests atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(c.status)
				fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>test</Message><RequestId>r1</RequestId></Error>`, c.code)
			}))
			defer srv.Close()
			st := open(t, storeConfig(srv.URL, ""))
			err := st.PutObject(context.Background(), "b", "k", []byte("x"), "", "")
			if err == nil {
				t.Fatal("no error")
			}
			var p *delivery.Permanent
			if errors.As(err, &p) != c.permanent {
				t.Errorf("permanent = %v, want %v: %v", !c.permanent, c.permanent, err)
			}
			if n := requests.Load(); n != 1 {
				t.Errorf("%d requests, want exactly 1 (no retries inside PutObject)", n)
			}
		})
	}
}

func TestANon200SuccessIsNotAcknowledged(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	st := open(t, storeConfig(srv.URL, ""))
	if err := st.PutObject(context.Background(), "b", "k", []byte("x"), "", ""); err == nil {
		t.Fatal("a 202 answer was taken as durable")
	}
}

func TestACanceledCallerIsNotPermanent(t *testing.T) {
	_, srv := fakeS3(t, "b")
	st := open(t, storeConfig(srv.URL, ""))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := st.PutObject(ctx, "b", "k", []byte("x"), "", "")
	var p *delivery.Permanent
	if err == nil || errors.As(err, &p) || !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, not permanent: %v", err)
	}
}

func TestRequestsAreSignedWithTheStaticKeys(t *testing.T) {
	auth := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case auth <- r.Header.Get("Authorization") + " path=" + r.URL.Path + " md5=" + r.Header.Get("Content-MD5"):
		default:
		}
	}))
	defer srv.Close()
	st := open(t, storeConfig(srv.URL, ""))
	if err := st.PutObject(context.Background(), "b", "dir/k", []byte("x"), "", ""); err != nil {
		t.Fatal(err)
	}
	got := <-auth
	for _, want := range []string{"AWS4-HMAC-SHA256 Credential=AKID/", "/us-east-1/s3/aws4_request", "path=/b/dir/k", "md5=ndTkYSaMgDT1yFZOFVxnpg==" /* base64(md5("x")) */} {
		if !strings.Contains(got, want) {
			t.Errorf("request %q lacks %q", got, want)
		}
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	cases := []struct {
		name, config, want string
	}{
		{"an unknown field", `{"endpoint": "http://x:9000", "accessKey": "a", "secretKey": "b", "bucket": "x"}`, `unknown field "bucket"`},
		{"a misspelt field", `{"accesskey": "a", "secretKey": "b"}`, `unknown field "accesskey"`},
		{"a wrong type", `{"pathStyle": "yes", "accessKey": "a", "secretKey": "b"}`, "pathStyle: want bool"},
		{"an access key alone", `{"accessKey": "a"}`, "secretKey is required"},
		{"a secret key alone", `{"secretKey": "b"}`, "accessKey is required"},
		{"a bad timeout", `{"accessKey": "a", "secretKey": "b", "timeout": "soon"}`, `timeout "soon"`},
		{"a zero timeout", `{"accessKey": "a", "secretKey": "b", "timeout": "0s"}`, `timeout "0s"`},
		{"an endpoint without a scheme", `{"endpoint": "127.0.0.1:9000", "accessKey": "a", "secretKey": "b"}`, "endpoint"},
		{"an endpoint with another scheme", `{"endpoint": "ftp://h", "accessKey": "a", "secretKey": "b"}`, "endpoint"},
		{"an endpoint without a host", `{"endpoint": "http://", "accessKey": "a", "secretKey": "b"}`, "endpoint"},
		{"a bad bucket prefix", `{"accessKey": "a", "secretKey": "b", "bucketPrefix": "Prod_"}`, "bucketPrefix"},
		{"a bad region", `{"accessKey": "a", "secretKey": "b", "region": "us east"}`, "region"},
		{"text after the object", `{"accessKey": "a", "secretKey": "b"} {}`, "text after"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Connector().OpenStore(context.Background(), json.RawMessage(c.config))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.HasPrefix(err.Error(), "s3 config: ") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q should start with \"s3 config: \" and name %q", err, c.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	st, err := Open(context.Background(), json.RawMessage(`{"endpoint": "http://127.0.0.1:9000", "accessKey": "a", "secretKey": "b"}`))
	if err != nil {
		t.Fatal(err)
	}
	o := st.client.Options()
	if st.timeout != DefaultTimeout || o.Region != DefaultRegion || !o.UsePathStyle {
		t.Errorf("timeout %v region %q pathStyle %v", st.timeout, o.Region, o.UsePathStyle)
	}
	st, err = Open(context.Background(), json.RawMessage(`{"region": "eu-west-1", "accessKey": "a", "secretKey": "b"}`))
	if err != nil {
		t.Fatal(err)
	}
	if o := st.client.Options(); o.Region != "eu-west-1" || o.UsePathStyle || o.BaseEndpoint != nil {
		t.Errorf("on AWS: region %q pathStyle %v endpoint %v", o.Region, o.UsePathStyle, o.BaseEndpoint)
	}
}

// isolateAWSEnv points the default AWS configuration at nothing: no
// shared files, no instance metadata.
func isolateAWSEnv(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE": dir + "/config", "AWS_SHARED_CREDENTIALS_FILE": dir + "/credentials",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "",
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "",
	} {
		t.Setenv(k, v)
	}
}

func TestWithoutKeysTheDefaultCredentialChainSigns(t *testing.T) {
	isolateAWSEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "ENVKEY")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET")
	auth := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case auth <- r.Header.Get("Authorization"):
		default:
		}
	}))
	defer srv.Close()
	st := open(t, fmt.Sprintf(`{"endpoint": %q}`, srv.URL))
	if err := st.PutObject(context.Background(), "b", "k", []byte("x"), "", ""); err != nil {
		t.Fatal(err)
	}
	if got := <-auth; !strings.Contains(got, "Credential=ENVKEY/") || !strings.Contains(got, "/us-east-1/s3/") {
		t.Fatalf("authorization %q", got)
	}
}

func TestWithoutAnyCredentialsNothingIsSentUnsigned(t *testing.T) {
	isolateAWSEnv(t)
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
	}))
	defer srv.Close()
	st := open(t, fmt.Sprintf(`{"endpoint": %q, "timeout": "2s"}`, srv.URL))
	err := st.PutObject(context.Background(), "b", "k", []byte("x"), "", "")
	if err == nil {
		t.Fatal("an object was put without credentials")
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("%d unsigned requests reached the server", n)
	}
	t.Logf("error without credentials: %v", err)
}

func TestGetObjectReadsAnObjectWithinTheLimit(t *testing.T) {
	_, srv := fakeS3(t, "pre-ref")
	st := open(t, storeConfig(srv.URL, `, "bucketPrefix": "pre-"`)).(*Store)
	ctx := context.Background()
	if err := st.PutObject(ctx, "ref", "companies.csv", []byte("AMZN,Amazon\n"), "text/csv", ""); err != nil {
		t.Fatal(err)
	}
	b, err := st.GetObject(ctx, "ref", "companies.csv", 100)
	if err != nil || string(b) != "AMZN,Amazon\n" {
		t.Fatalf("GetObject: %q %v", b, err)
	}
	if _, err := st.GetObject(ctx, "ref", "companies.csv", 5); err == nil || !strings.Contains(err.Error(), "more than the limit of 5") {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := st.GetObject(ctx, "ref", "missing.csv", 0); err == nil || !strings.Contains(err.Error(), "get pre-ref/missing.csv") {
		t.Errorf("a missing object: %v", err)
	}
}
