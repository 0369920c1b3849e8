package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// maxClockSkew is how far a signed request's X-Amz-Date may be from now, as
// on AWS.
const maxClockSkew = 15 * time.Minute

// verifySigV4 checks that r carries a valid AWS Signature Version 4 made with
// the given keys. It re-signs a copy of the request holding only the headers
// the client signed, with the client's date and scope, and compares the
// signatures. The body is read and put back.
func verifySigV4(r *http.Request, accessKey, secretKey string, now time.Time) error {
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return errors.New("missing AWS4-HMAC-SHA256 Authorization header")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(auth, algo), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			fields[k] = v
		}
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return errors.New("malformed Credential in Authorization header")
	}
	if scope[0] != accessKey {
		return fmt.Errorf("unknown access key %q", scope[0])
	}
	signedHeaders := strings.Split(fields["SignedHeaders"], ";")
	if fields["Signature"] == "" || len(signedHeaders) == 0 {
		return errors.New("malformed Authorization header")
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return errors.New("missing or malformed X-Amz-Date header")
	}
	if d := now.Sub(when); d > maxClockSkew || d < -maxClockSkew {
		return fmt.Errorf("request time %s is more than %s away from server time", when.Format(time.RFC3339), maxClockSkew)
	}

	body, err := io.ReadAll(r.Body)
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != hash {
		return errors.New("X-Amz-Content-Sha256 does not match the body")
	}

	cp, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	if err != nil {
		return fmt.Errorf("rebuild request: %w", err)
	}
	cp.Host = r.Host
	for _, h := range signedHeaders {
		switch h {
		case "host":
		case "content-length":
			cp.ContentLength = r.ContentLength
		default:
			cp.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	creds := aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, cp, hash, scope[3], scope[2], when); err != nil {
		return fmt.Errorf("compute signature: %w", err)
	}
	want := ""
	for _, part := range strings.Split(cp.Header.Get("Authorization"), ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "Signature="); ok {
			want = v
		}
	}
	if !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return errors.New("the request signature does not match; check the secret key")
	}
	return nil
}
