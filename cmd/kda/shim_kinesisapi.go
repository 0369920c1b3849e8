package main

// TEMPORARY: stands in for github.com/kdaproject/kda/connectors/kinesisapi
// until that package lands; delete this file then and call kinesisapi.New and
// kinesisapi.NewInProcessClient directly.

import (
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/kdaproject/kda/engine/store"
)

type kinesisHandlerOptions struct {
	AccessKey, SecretKey, Region string
	Logger                       *slog.Logger
}

func newKinesisHandler(_ *store.Store, _ kinesisHandlerOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"__type":"InternalFailure","message":"kinesisapi not available yet"}`))
	})
}

type handlerTransport struct{ h http.Handler }

func (t handlerTransport) Do(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func newInProcessClient(h http.Handler, region string) *kinesis.Client {
	return kinesis.New(kinesis.Options{
		Region:       region,
		BaseEndpoint: aws.String("http://kda.internal"),
		Credentials:  credentials.NewStaticCredentialsProvider("kda", "kda", ""),
		HTTPClient:   handlerTransport{h},
	})
}
