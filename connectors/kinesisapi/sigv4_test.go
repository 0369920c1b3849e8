package kinesisapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/kdaproject/kda/engine/store"
)

const (
	testAccessKey = "AKIDKDATEST"
	testSecretKey = "kda/secret+key"
)

// signedRequest builds a ListStreams request and signs it with the AWS SDK's
// own SigV4 signer; mutate may change it before (before=true) or after signing.
type requestChange struct {
	before func(r *http.Request)
	after  func(r *http.Request)
	// signer settings
	accessKey, secretKey, service, region string
	at                                    time.Time
	body                                  string
	payloadHash                           string // default: the body's SHA-256
}

func sendSigned(t *testing.T, url string, c requestChange) rawResponse {
	t.Helper()
	body := c.body
	if body == "" {
		body = `{}`
	}
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentTypeJSON11)
	req.Header.Set("X-Amz-Target", TargetPrefix+"ListStreams")
	if c.before != nil {
		c.before(req)
	}
	sum := sha256.Sum256([]byte(body))
	ak, sk, service, region := c.accessKey, c.secretKey, c.service, c.region
	if ak == "" {
		ak = testAccessKey
	}
	if sk == "" {
		sk = testSecretKey
	}
	if service == "" {
		service = "kinesis"
	}
	if region == "" {
		region = "us-east-1"
	}
	creds := aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk}
	payloadHash := c.payloadHash
	if payloadHash == "" {
		payloadHash = hex.EncodeToString(sum[:])
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash, service, region, c.at); err != nil {
		t.Fatalf("sign: %v", err)
	}
	if c.after != nil {
		c.after(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: b.Bytes()}
}

func TestSigV4VerifiesTheSDKSigner(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	newServer := func(region string) *httptest.Server {
		srv := httptest.NewServer(New(st, Options{AccessKey: testAccessKey, SecretKey: testSecretKey, Region: region,
			Now: func() time.Time { return now }}))
		t.Cleanup(srv.Close)
		return srv
	}
	anyRegion := newServer("")
	oneRegion := newServer("eu-central-1")

	cases := []struct {
		name     string
		srv      *httptest.Server
		change   requestChange
		code     string // "" means success
		contains string
	}{
		{"a request signed by the SDK signer is accepted", anyRegion, requestChange{at: now}, "", ""},
		{"any region is accepted when none is configured", anyRegion, requestChange{at: now, region: "ap-southeast-2"}, "", ""},
		{"the configured region is accepted", oneRegion, requestChange{at: now, region: "eu-central-1"}, "", ""},
		{"another region is refused when one is configured", oneRegion, requestChange{at: now, region: "us-west-2"},
			"InvalidSignatureException", "Credential should be scoped to a valid region, not 'us-west-2'"},
		{"a signature 14 minutes old is accepted", anyRegion, requestChange{at: now.Add(-14 * time.Minute)}, "", ""},
		{"query parameters are part of the signature", anyRegion, requestChange{at: now,
			before: func(r *http.Request) { r.URL.RawQuery = "b=2%202&a=1&a=0&c=%7Etilde" }}, "", ""},
		{"an unsigned payload is accepted when the client says so", anyRegion, requestChange{at: now, payloadHash: "UNSIGNED-PAYLOAD",
			before: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD") }}, "", ""},
		{"a session token header is signed along", anyRegion, requestChange{at: now,
			before: func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", "token  with   spaces") }}, "", ""},
		{"parameters separated by spaces alone are understood", anyRegion, requestChange{at: now,
			after: func(r *http.Request) {
				r.Header.Set("Authorization", strings.ReplaceAll(r.Header.Get("Authorization"), ", ", " "))
			}}, "", ""},
		{"an unknown access key is UnrecognizedClientException", anyRegion, requestChange{at: now, accessKey: "AKIDOTHER"},
			"UnrecognizedClientException", "The security token included in the request is invalid."},
		{"a wrong secret is InvalidSignatureException", anyRegion, requestChange{at: now, secretKey: "wrong"},
			"InvalidSignatureException", "The request signature we calculated does not match the signature you provided."},
		{"a body changed after signing is InvalidSignatureException", anyRegion, requestChange{at: now,
			after: func(r *http.Request) {
				r.Body = http.NoBody
				r.ContentLength = 0
				r.GetBody = nil
			}},
			"InvalidSignatureException", "does not match"},
		{"a signed header changed after signing is InvalidSignatureException", anyRegion, requestChange{at: now,
			after: func(r *http.Request) { r.Header.Set("X-Amz-Target", TargetPrefix+"DescribeLimits") }},
			"InvalidSignatureException", "does not match"},
		{"a declared payload hash that does not match the body is InvalidSignatureException", anyRegion, requestChange{at: now,
			before: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", strings.Repeat("0", 64)) }},
			"InvalidSignatureException", "x-amz-content-sha256"},
		{"a signature 16 minutes old has expired", anyRegion, requestChange{at: now.Add(-16 * time.Minute)},
			"InvalidSignatureException", "Signature expired: 20260314T145326Z is now earlier than 20260314T145426Z (20260314T150926Z - 15 min.)"},
		{"a signature 16 minutes ahead is not yet current", anyRegion, requestChange{at: now.Add(16 * time.Minute)},
			"InvalidSignatureException", "Signature not yet current"},
		{"a signature for another service is refused", anyRegion, requestChange{at: now, service: "s3"},
			"InvalidSignatureException", "Credential should be scoped to correct service: 'kinesis'"},
		{"a request without any signature is MissingAuthenticationTokenException", anyRegion, requestChange{at: now,
			after: func(r *http.Request) { r.Header.Del("Authorization") }},
			"MissingAuthenticationTokenException", "Missing Authentication Token"},
		{"an Authorization header without a Signature is IncompleteSignatureException", anyRegion, requestChange{at: now,
			after: func(r *http.Request) {
				a := r.Header.Get("Authorization")
				r.Header.Set("Authorization", a[:strings.Index(a, ", Signature=")])
			}},
			"IncompleteSignatureException", "Authorization header requires 'Signature' parameter."},
		{"a request without a date is IncompleteSignatureException", anyRegion, requestChange{at: now,
			after: func(r *http.Request) { r.Header.Del("X-Amz-Date") }},
			"IncompleteSignatureException", "requires existence of either a 'X-Amz-Date' or a 'Date' header"},
		{"a scope date that is not the request's date is InvalidSignatureException", anyRegion, requestChange{at: now,
			after: func(r *http.Request) {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/20260314/", "/20260313/", 1))
			}},
			"InvalidSignatureException", "Date in Credential scope does not match"},
		{"a SigV2-style header is IncompleteSignatureException", anyRegion, requestChange{at: now,
			after: func(r *http.Request) { r.Header.Set("Authorization", "AWS "+testAccessKey+":c2lnbmF0dXJl") }},
			"IncompleteSignatureException", "Unsupported AWS 'algorithm': 'AWS'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := sendSigned(t, c.srv.URL, c.change)
			if c.code == "" {
				if r.status != 200 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				return
			}
			if r.status != 400 {
				t.Errorf("status %d, want 400", r.status)
			}
			eb := r.errorOf(t)
			if eb.Type != c.code || !strings.Contains(eb.Message, c.contains) {
				t.Errorf("got %s %q\nwant %s containing %q", eb.Type, eb.Message, c.code, c.contains)
			}
		})
	}
}

func TestSigV4WithTheSDKClient(t *testing.T) {
	cases := []struct {
		name      string
		accessKey string
		secretKey string
		code      string
	}{
		{"the right key pair works", testAccessKey, testSecretKey, ""},
		{"a wrong secret is InvalidSignatureException", testAccessKey, "nope", "InvalidSignatureException"},
		{"an unknown key is UnrecognizedClientException", "AKIDNOBODY", testSecretKey, "UnrecognizedClientException"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, envConfig{api: Options{AccessKey: testAccessKey, SecretKey: testSecretKey}, accessKey: c.accessKey, secretKey: c.secretKey})
			_, err := e.client.CreateStream(e.ctx, &kinesis.CreateStreamInput{StreamName: aws.String("signed"), ShardCount: aws.Int32(1)})
			if code := errorCode(err); code != c.code {
				t.Fatalf("CreateStream: code %q, want %q (%v)", code, c.code, err)
			}
			if c.code != "" {
				return
			}
			// A put with a binary body exercises the payload hash.
			if _, err := e.client.PutRecord(e.ctx, &kinesis.PutRecordInput{StreamName: aws.String("signed"), PartitionKey: aws.String("k"),
				Data: bytes.Repeat([]byte{0xff, 0}, 1000)}); err != nil {
				t.Errorf("PutRecord: %v", err)
			}
		})
	}
}

func TestCanonicalPathAndQueryEncoding(t *testing.T) {
	cases := []struct{ in, path, query string }{
		{"/", "/", ""},
		{"/a b/c", "/a%2520b/c", ""}, // the escaped path is escaped again, as the SDKs do for every service but S3
		{"/?b=2&a=1&a=0", "/", "a=0&a=1&b=2"},
		{"/?x=a%20b&y=%2F~", "/", "x=a%20b&y=%2F~"},
	}
	for _, c := range cases {
		req := httptest.NewRequest(http.MethodPost, "http://h"+strings.ReplaceAll(c.in, " ", "%20"), nil)
		cr := canonicalRequest(req, []string{"host"}, "x")
		lines := strings.Split(cr, "\n")
		if lines[1] != c.path || lines[2] != c.query {
			t.Errorf("%q: path %q query %q, want %q %q", c.in, lines[1], lines[2], c.path, c.query)
		}
	}
}
