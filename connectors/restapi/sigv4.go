package restapi

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/kdaproject/kda/connectors/kinesisapi"
)

// verifySignature checks a REST request's SigV4 signature with the Kinesis
// API's verifier; the body is read and put back for the handler.
func verifySignature(r *http.Request, accessKey, secretKey string, now time.Time) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return kinesisapi.VerifySignature(r, body, kinesisapi.Options{
		AccessKey: accessKey, SecretKey: secretKey, Now: func() time.Time { return now },
	})
}

// signatureError is the code and message of a failed signature check.
func signatureError(err error) (code, msg string) {
	code = kinesisapi.ErrorCode(err)
	return code, strings.TrimPrefix(err.Error(), code+": ")
}
