package kinesisapi

import (
	"bytes"
	"io"
	"net/http"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// InProcessEndpoint is the endpoint an in-process client addresses. No
// network connection is ever made to it.
const InProcessEndpoint = "http://kda.local"

// NewInProcessClient returns an AWS SDK Kinesis client whose requests are
// served by h directly, without a network round trip. The CLI's embedded
// mode (--data DIR) uses it so that the same SDK code path talks to a remote
// kda server and to a store opened in-process. The client signs with static
// dummy credentials ("kda"/"kda"), so h must be built without Options
// credentials or with exactly those.
func NewInProcessClient(h http.Handler, region string) *kinesis.Client {
	if region == "" {
		region = "us-east-1"
	}
	return kinesis.New(kinesis.Options{
		Region:       region,
		BaseEndpoint: aws.String(InProcessEndpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("kda", "kda", ""),
		HTTPClient:   inProcessDoer{h: h},
	})
}

// inProcessDoer implements the SDK's HTTPClient by calling a handler.
type inProcessDoer struct{ h http.Handler }

func (d inProcessDoer) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Turn the client request into what a server handler receives.
	sreq := req.Clone(ctx)
	if sreq.Host == "" {
		sreq.Host = req.URL.Host
	}
	sreq.RequestURI = req.URL.RequestURI()
	sreq.RemoteAddr = "in-process"
	sreq.Proto, sreq.ProtoMajor, sreq.ProtoMinor = "HTTP/1.1", 1, 1
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	if sreq.ContentLength > 0 && sreq.Header.Get("Content-Length") == "" {
		sreq.Header.Set("Content-Length", strconv.FormatInt(sreq.ContentLength, 10))
	}

	w := &bufferedResponse{header: make(http.Header)}
	d.h.ServeHTTP(w, sreq)
	if req.Body != nil {
		_ = req.Body.Close() // as http.Client does; a body reader's Close has nothing to report
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return &http.Response{
		Status:        strconv.Itoa(w.status) + " " + http.StatusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.header,
		Body:          io.NopCloser(bytes.NewReader(w.body.Bytes())),
		ContentLength: int64(w.body.Len()),
		Request:       req,
	}, nil
}

// bufferedResponse is an http.ResponseWriter that keeps the response in
// memory.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *bufferedResponse) Header() http.Header { return w.header }

func (w *bufferedResponse) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *bufferedResponse) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(p)
}
