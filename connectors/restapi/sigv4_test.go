package restapi

import (
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
)

func TestVerifySigV4(t *testing.T) {
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	sign := func(secret string, at time.Time, body string) *http.Request {
		req := httptest.NewRequest("PUT", "http://kda.local:4567/v1/streams/s/consumers/c/checkpoints?x=1", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		sum := sha256.Sum256([]byte(body))
		h := hex.EncodeToString(sum[:])
		req.Header.Set("X-Amz-Content-Sha256", h)
		creds := aws.Credentials{AccessKeyID: "AK", SecretAccessKey: secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, h, "kinesis", "us-east-1", at); err != nil {
			t.Fatal(err)
		}
		return req
	}
	cases := []struct {
		name string
		req  func() *http.Request
		want string // "" means valid
	}{
		{"valid", func() *http.Request { return sign("S", now, `{"a":"1"}`) }, ""},
		{"empty body", func() *http.Request { return sign("S", now, "") }, ""},
		{"wrong secret", func() *http.Request { return sign("T", now, `{}`) }, "does not match"},
		{"old request", func() *http.Request { return sign("S", now.Add(-time.Hour), `{}`) }, "Signature expired"},
		{"tampered body", func() *http.Request {
			r := sign("S", now, `{"a":"1"}`)
			r.Body = http.NoBody
			return r
		}, "x-amz-content-sha256"},
		{"tampered path", func() *http.Request {
			r := sign("S", now, `{}`)
			r.URL.Path = "/v1/streams/other/consumers/c/checkpoints"
			return r
		}, "does not match"},
		{"unknown key", func() *http.Request {
			r := sign("S", now, `{}`)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "Credential=AK/", "Credential=XX/", 1))
			return r
		}, "security token included in the request is invalid"},
		{"no auth", func() *http.Request {
			r := sign("S", now, `{}`)
			r.Header.Del("Authorization")
			return r
		}, "Missing Authentication Token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := verifySignature(c.req(), "AK", "S", now)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("valid request rejected: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}
