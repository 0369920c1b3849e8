package kinesisapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/kdaproject/kda/engine/store"
)

// Every error type the face answers with, as the SDK and raw clients see it.

func TestSDKErrors(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.createStream(t, "existing", 2)
	ctx := e.ctx
	cases := []struct {
		name     string
		call     func() error
		code     string
		contains string
	}{
		{"describing a missing stream is ResourceNotFoundException", func() error {
			_, err := e.client.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("missing")})
			return err
		}, "ResourceNotFoundException", "Stream missing under account 000000000000 not found"},
		{"creating an existing stream is ResourceInUseException", func() error {
			_, err := e.client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("existing"), ShardCount: aws.Int32(1)})
			return err
		}, "ResourceInUseException", "already exists"},
		{"a split key outside the shard is InvalidArgumentException", func() error {
			_, err := e.client.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("existing"),
				ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("0")})
			return err
		}, "InvalidArgumentException", "NewStartingHashKey"},
		{"a retention below 24 hours is InvalidArgumentException", func() error {
			_, err := e.client.DecreaseStreamRetentionPeriod(ctx, &kinesis.DecreaseStreamRetentionPeriodInput{
				StreamName: aws.String("existing"), RetentionPeriodHours: aws.Int32(12)})
			return err
		}, "InvalidArgumentException", "Minimum allowed retention period is 24 hours"},
		{"ListShards with NextToken and StreamName is InvalidArgumentException", func() error {
			_, err := e.client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("existing"), NextToken: aws.String("x")})
			return err
		}, "InvalidArgumentException", "NextToken and StreamName cannot be provided together."},
		{"ListShards with a NextToken kda did not issue is InvalidArgumentException", func() error {
			_, err := e.client.ListShards(ctx, &kinesis.ListShardsInput{NextToken: aws.String("bm90IGEgdG9rZW4")})
			return err
		}, "InvalidArgumentException", "Invalid NextToken"},
		{"a garbage shard iterator is InvalidArgumentException", func() error {
			_, err := e.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String("garbage")})
			return err
		}, "InvalidArgumentException", "Invalid ShardIterator."},
		{"a StreamARN of another service is InvalidArgumentException", func() error {
			_, err := e.client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamARN: aws.String("arn:aws:sqs:us-east-1:000000000000:queue")})
			return err
		}, "InvalidArgumentException", "is not a Kinesis stream ARN"},
		{"StreamName and StreamARN naming different streams is InvalidArgumentException", func() error {
			_, err := e.client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("existing"),
				StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/other")})
			return err
		}, "InvalidArgumentException", "name different streams"},
		{"an operation kda does not implement says so", func() error {
			_, err := e.client.StartStreamEncryption(ctx, &kinesis.StartStreamEncryptionInput{StreamName: aws.String("existing"),
				EncryptionType: types.EncryptionTypeKms, KeyId: aws.String("alias/aws/kinesis")})
			return err
		}, "InvalidArgumentException", "StartStreamEncryption operation is not supported by kda yet"},
		{"enhanced monitoring is not pretended", func() error {
			_, err := e.client.EnableEnhancedMonitoring(ctx, &kinesis.EnableEnhancedMonitoringInput{StreamName: aws.String("existing"),
				ShardLevelMetrics: []types.MetricsName{types.MetricsNameAll}})
			return err
		}, "InvalidArgumentException", "not supported by kda yet"},
		{"DryRun is refused rather than ignored", func() error {
			_, err := e.client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("existing"), PartitionKey: aws.String("k"),
				Data: []byte("x"), DryRun: aws.Bool(true)})
			return err
		}, "InvalidArgumentException", "DryRun is not supported"},
		{"scaling up more than double is LimitExceededException", func() error {
			_, err := e.client.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String("existing"),
				TargetShardCount: aws.Int32(100), ScalingType: types.ScalingTypeUniformScaling})
			return err
		}, "LimitExceededException", "over double"},
		{"a partition key too long is ValidationException", func() error {
			_, err := e.client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("existing"),
				PartitionKey: aws.String(strings.Repeat("k", 257)), Data: []byte("x")})
			return err
		}, "ValidationException", "partitionKey"},
		{"an unknown iterator type is ValidationException", func() error {
			_, err := e.client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("existing"),
				ShardId: aws.String("shardId-000000000000"), ShardIteratorType: "SIDEWAYS"})
			return err
		}, "ValidationException", "Value 'SIDEWAYS' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set"},
		{"a record larger than 1 MiB is ValidationException", func() error {
			_, err := e.client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("existing"),
				PartitionKey: aws.String("k"), Data: make([]byte, 1<<20+1)})
			return err
		}, "ValidationException", "less than or equal to"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			if code := errorCode(err); code != c.code {
				t.Fatalf("code = %q, want %q (err: %v)", code, c.code, err)
			}
			if msg := errorMessage(err); !strings.Contains(msg, c.contains) {
				t.Errorf("message %q does not contain %q", msg, c.contains)
			}
		})
	}
}

func TestSDKErrorsOnDemandReshardIsValidationException(t *testing.T) {
	e := newEnv(t, envConfig{})
	if _, err := e.client.CreateStream(e.ctx, &kinesis.CreateStreamInput{
		StreamName: aws.String("od"), StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand},
	}); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.UpdateShardCount(e.ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String("od"),
		TargetShardCount: aws.Int32(8), ScalingType: types.ScalingTypeUniformScaling})
	if code := errorCode(err); code != "ValidationException" || !strings.Contains(errorMessage(err), "ON_DEMAND") {
		t.Errorf("UpdateShardCount on ON_DEMAND: %q %q", code, errorMessage(err))
	}
}

func TestExpiredIteratorAndNextToken(t *testing.T) {
	clock := newFakeClock()
	e := newEnv(t, envConfig{store: store.Options{Now: clock.Now}, api: Options{Now: clock.Now}})
	e.createStream(t, "s1", 1)
	e.createStream(t, "s2", 1)
	it, err := e.client.GetShardIterator(e.ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("s1"),
		ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	page, err := e.client.ListStreams(e.ctx, &kinesis.ListStreamsInput{Limit: aws.Int32(1)})
	if err != nil || page.NextToken == nil {
		t.Fatalf("ListStreams: %v, NextToken %v", err, page.NextToken)
	}
	clock.Advance(5*time.Minute + time.Second)

	_, err = e.client.GetRecords(e.ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if code := errorCode(err); code != "ExpiredIteratorException" {
		t.Errorf("GetRecords with a 5-minute-old iterator: %q, want ExpiredIteratorException", code)
	}
	_, err = e.client.ListStreams(e.ctx, &kinesis.ListStreamsInput{NextToken: page.NextToken})
	if code := errorCode(err); code != "ExpiredNextTokenException" {
		t.Errorf("ListStreams with a 5-minute-old token: %q, want ExpiredNextTokenException", code)
	}
	var expired *types.ExpiredNextTokenException
	if !asType(err, &expired) {
		t.Errorf("the SDK did not decode ExpiredNextTokenException into its modeled type: %T", err)
	}
}

func asType[T error](err error, target *T) bool {
	for err != nil {
		if v, ok := err.(T); ok {
			*target = v
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// noBackoff retries at once.
type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

func TestThrottlingIsRetriedByTheSDK(t *testing.T) {
	clock := newFakeClock() // frozen: the token buckets never refill
	var requests atomic.Int64
	e := newEnv(t, envConfig{
		store: store.Options{Now: clock.Now, Throughput: store.ThroughputOptions{WriteRecordsPerSecond: 1}},
		wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("X-Amz-Target") == TargetPrefix+"PutRecord" {
					requests.Add(1)
				}
				h.ServeHTTP(w, r)
			})
		},
		retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.Backoff = noBackoff{}
			o.RateLimiter = ratelimit.None
		}),
	})
	e.createStream(t, "narrow", 1)
	put := func() error {
		_, err := e.client.PutRecord(e.ctx, &kinesis.PutRecordInput{StreamName: aws.String("narrow"), PartitionKey: aws.String("k"), Data: []byte("x")})
		return err
	}
	if err := put(); err != nil {
		t.Fatalf("the first put fits the bucket: %v", err)
	}
	requests.Store(0)
	err := put()
	if code := errorCode(err); code != "ProvisionedThroughputExceededException" {
		t.Fatalf("second put: %q, want ProvisionedThroughputExceededException (%v)", code, err)
	}
	if n := requests.Load(); n != 3 {
		t.Errorf("the SDK sent the throttled put %d times, want 3 (it must see the error as retryable)", n)
	}
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) != aws.TrueTernary {
		t.Error("the SDK does not classify ProvisionedThroughputExceededException as throttling")
	}

	t.Run("PutRecords reports throttled records in the body with HTTP 200", func(t *testing.T) {
		out, err := e.client.PutRecords(e.ctx, &kinesis.PutRecordsInput{StreamName: aws.String("narrow"), Records: []types.PutRecordsRequestEntry{
			{PartitionKey: aws.String("a"), Data: []byte("1")}, {PartitionKey: aws.String("b"), Data: []byte("2")},
		}})
		if err != nil {
			t.Fatalf("PutRecords: %v", err)
		}
		if aws.ToInt32(out.FailedRecordCount) != 2 {
			t.Fatalf("FailedRecordCount = %d, want 2", aws.ToInt32(out.FailedRecordCount))
		}
		for _, r := range out.Records {
			if aws.ToString(r.ErrorCode) != "ProvisionedThroughputExceededException" || aws.ToString(r.ErrorMessage) == "" || r.SequenceNumber != nil {
				t.Errorf("record result = code %q message %q seq %v", aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage), r.SequenceNumber)
			}
		}
	})

	t.Run("LimitExceededException is retryable too", func(t *testing.T) {
		_, err := e.client.UpdateShardCount(e.ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String("narrow"),
			TargetShardCount: aws.Int32(3), ScalingType: types.ScalingTypeUniformScaling})
		if code := errorCode(err); code != "LimitExceededException" {
			t.Fatalf("code %q", code)
		}
		if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) != aws.TrueTernary {
			t.Error("LimitExceededException is not retryable for the SDK")
		}
	})
}

// Raw requests: shapes the SDK never sends.

func TestRawRequestErrors(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.createStream(t, "raw", 1)
	url := e.srv.URL
	cases := []struct {
		name        string
		contentType string
		target      string
		body        string
		status      int
		code        string
		message     string // exact when it starts with "=", else a substring
	}{
		{"a missing required member is ValidationException in AWS's words", contentTypeJSON11, "CreateStream", `{"ShardCount":1}`,
			400, "ValidationException", "=1 validation error detected: Value null at 'streamName' failed to satisfy constraint: Member must not be null"},
		{"a provisioned stream needs a shard count", contentTypeJSON11, "CreateStream", `{"StreamName":"x"}`,
			400, "ValidationException", "=1 validation error detected: Value null at 'shardCount' failed to satisfy constraint: Member must not be null"},
		{"several violations are counted and joined", contentTypeJSON11, "GetShardIterator", `{}`,
			400, "ValidationException", "=3 validation errors detected: Value null at 'streamName' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'shardId' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'shardIteratorType' failed to satisfy constraint: Member must not be null"},
		{"a limit out of range is ValidationException", contentTypeJSON11, "DescribeStream", `{"StreamName":"raw","Limit":0}`,
			400, "ValidationException", "=1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"a record without a partition key names its position", contentTypeJSON11, "PutRecords", `{"StreamName":"raw","Records":[{"Data":"AA==","PartitionKey":"a"},{"Data":"AA=="}]}`,
			400, "ValidationException", "=1 validation error detected: Value null at 'records.2.member.partitionKey' failed to satisfy constraint: Member must not be null"},
		{"an empty batch is ValidationException", contentTypeJSON11, "PutRecords", `{"StreamName":"raw","Records":[]}`,
			400, "ValidationException", "Member must have length greater than or equal to 1"},
		{"501 records are ValidationException", contentTypeJSON11, "PutRecords", `{"StreamName":"raw","Records":[` + strings.Repeat(`{"Data":"","PartitionKey":"k"},`, 500) + `{"Data":"","PartitionKey":"k"}]}`,
			400, "ValidationException", "Member must have length less than or equal to 500"},
		{"a bad explicit hash key is ValidationException", contentTypeJSON11, "PutRecord", `{"StreamName":"raw","Data":"","PartitionKey":"k","ExplicitHashKey":"0x10"}`,
			400, "ValidationException", "Value '0x10' at 'explicitHashKey' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"an unknown stream mode is ValidationException", contentTypeJSON11, "CreateStream", `{"StreamName":"m","StreamModeDetails":{"StreamMode":"FAST"}}`,
			400, "ValidationException", "Value 'FAST' at 'streamModeDetails.streamMode'"},
		{"a body that is not JSON is SerializationException", contentTypeJSON11, "ListStreams", `not json`,
			400, "SerializationException", "must be a JSON object"},
		{"malformed JSON is SerializationException", contentTypeJSON11, "ListStreams", `{"Limit": }`,
			400, "SerializationException", "malformed JSON"},
		{"malformed JSON on a hot path is SerializationException", contentTypeJSON11, "PutRecords", `{"Records": [}`,
			400, "SerializationException", "malformed JSON"},
		{"an empty body is SerializationException", contentTypeJSON11, "ListStreams", ``,
			400, "SerializationException", "must be a JSON object"},
		{"a JSON array is SerializationException", contentTypeJSON11, "ListStreams", `[]`,
			400, "SerializationException", "must be a JSON object"},
		{"a number where a string belongs is SerializationException", contentTypeJSON11, "DescribeStream", `{"StreamName":5}`,
			400, "SerializationException", "StreamName"},
		{"a string where an integer belongs is SerializationException", contentTypeJSON11, "ListStreams", `{"Limit":"5"}`,
			400, "SerializationException", "Limit"},
		{"bad base64 is SerializationException", contentTypeJSON11, "PutRecord", `{"StreamName":"raw","PartitionKey":"k","Data":"%%%"}`,
			400, "SerializationException", "base64"},
		{"bad base64 in a batch is SerializationException", contentTypeJSON11, "PutRecords", `{"StreamName":"raw","Records":[{"PartitionKey":"k","Data":"A"}]}`,
			400, "SerializationException", "base64"},
		{"a timestamp that is not a number is SerializationException", contentTypeJSON11, "GetShardIterator",
			`{"StreamName":"raw","ShardId":"shardId-000000000000","ShardIteratorType":"AT_TIMESTAMP","Timestamp":"yesterday"}`,
			400, "SerializationException", "timestamp"},
		{"an unknown operation is UnknownOperationException", contentTypeJSON11, TargetPrefix + "FlyToTheMoon", `{}`,
			400, "UnknownOperationException", "FlyToTheMoon"},
		{"another service's target is UnknownOperationException", contentTypeJSON11, "DynamoDB_20120810.ListTables", `{}`,
			400, "UnknownOperationException", "X-Amz-Target must be Kinesis_20131202.<Operation>"},
		{"a missing target is UnknownOperationException", contentTypeJSON11, "", `{}`,
			400, "UnknownOperationException", "unknown operation"},
		{"an unknown content type is refused", "text/plain", "ListStreams", `{}`,
			404, "UnknownOperationException", "unsupported Content-Type"},
		{"StartStreamEncryption is not pretended", contentTypeJSON11, "StartStreamEncryption", `{}`,
			400, "InvalidArgumentException", "=the StartStreamEncryption operation is not supported by kda yet"},
		{"SubscribeToShard without a consumer is a ValidationException", contentTypeJSON11, "SubscribeToShard", `{}`,
			400, "ValidationException", "consumerARN"},
		{"plain application/json is accepted", contentTypePlain, "DescribeStreamSummary", `{"StreamName":"nope"}`,
			400, "ResourceNotFoundException", "not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			target := c.target
			if target != "" && !strings.Contains(target, ".") {
				target = TargetPrefix + target
			}
			r := rawCall(t, url, c.contentType, target, []byte(c.body))
			if r.status != c.status {
				t.Errorf("status = %d, want %d (body %s)", r.status, c.status, r.body)
			}
			eb := r.errorOf(t)
			if eb.Type != c.code {
				t.Errorf("__type = %q, want %q (message %q)", eb.Type, c.code, eb.Message)
			}
			if want, exact := strings.CutPrefix(c.message, "="); exact && eb.Message != want {
				t.Errorf("message = %q\nwant      %q", eb.Message, want)
			} else if !exact && !strings.Contains(eb.Message, c.message) {
				t.Errorf("message %q does not contain %q", eb.Message, c.message)
			}
			if got := r.header.Get("X-Amzn-Errortype"); got != c.code {
				t.Errorf("X-Amzn-ErrorType = %q", got)
			}
			if r.header.Get("X-Amzn-Requestid") == "" {
				t.Error("no x-amzn-RequestId header")
			}
			wantCT := c.contentType
			if c.status == 404 {
				wantCT = contentTypeJSON11
			}
			if got := r.header.Get("Content-Type"); got != wantCT {
				t.Errorf("Content-Type = %q, want %q", got, wantCT)
			}
		})
	}
}

func TestMethodOtherThanPostIsRefused(t *testing.T) {
	e := newEnv(t, envConfig{})
	resp, err := http.Get(e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("X-Amzn-Errortype") != codeUnknownOperation {
		t.Errorf("GET / = %d %q", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
	}
}

func TestOversizedBodyIsRefused(t *testing.T) {
	e := newEnv(t, envConfig{api: Options{MaxRequestBytes: 1024}})
	r := jsonCall(t, e.srv.URL, "PutRecord", `{"StreamName":"x","PartitionKey":"k","Data":"`+strings.Repeat("A", 2048)+`"}`)
	if r.status != http.StatusRequestEntityTooLarge || r.errorOf(t).Type != codeRequestEntityTooLarge {
		t.Errorf("got %d %s", r.status, r.body)
	}
}

func TestPanicBecomesInternalFailure(t *testing.T) {
	// A handler over a nil store panics on the first store call; the
	// recover middleware must turn that into an AWS-shaped 500.
	srv := httptest.NewServer(New(nil, Options{}))
	defer srv.Close()
	r := jsonCall(t, srv.URL, "DescribeStream", `{"StreamName":"any"}`)
	if r.status != http.StatusInternalServerError || r.errorOf(t).Type != "InternalFailure" {
		t.Fatalf("got %d %s", r.status, r.body)
	}

	client := kinesis.New(kinesis.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Retryer: aws.NopRetryer{},
		Credentials: aws.AnonymousCredentials{}})
	_, err := client.DescribeStream(context.Background(), &kinesis.DescribeStreamInput{StreamName: aws.String("any")})
	if code := errorCode(err); code != "InternalFailure" {
		t.Errorf("SDK saw %q", code)
	}
	if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) != aws.TrueTernary {
		t.Error("InternalFailure (HTTP 500) is not retryable for the SDK")
	}
}

func TestResponsesCarryTheRequestContentType(t *testing.T) {
	e := newEnv(t, envConfig{})
	for _, ct := range []string{contentTypeJSON11, contentTypeJSON10, contentTypePlain, contentTypeJSON11 + "; charset=utf-8"} {
		r := rawCall(t, e.srv.URL, ct, TargetPrefix+"ListStreams", []byte(`{}`))
		want, _, _ := strings.Cut(ct, ";")
		if r.status != 200 || r.header.Get("Content-Type") != want || !bytes.Contains(r.body, []byte(`"StreamNames":[]`)) {
			t.Errorf("%s: %d %q %s", ct, r.status, r.header.Get("Content-Type"), r.body)
		}
	}
}

func TestJSONTimestampsArePlainDecimalsOnTheWire(t *testing.T) {
	e := newEnv(t, envConfig{})
	e.createStream(t, "ts", 1)
	stamp := regexp.MustCompile(`"(?:StreamCreationTimestamp|ApproximateArrivalTimestamp)":([^,}]*)`)
	plain := regexp.MustCompile(`^\d+\.\d{3}$`)
	checkStamp := func(what string, body []byte) {
		t.Helper()
		m := stamp.FindSubmatch(body)
		if m == nil || !plain.Match(m[1]) {
			t.Errorf("%s timestamp is not a plain decimal: %s", what, body)
		}
	}
	r := jsonCall(t, e.srv.URL, "DescribeStream", `{"StreamName":"ts"}`)
	checkStamp("DescribeStream", r.body)
	if r := jsonCall(t, e.srv.URL, "PutRecord", `{"StreamName":"ts","PartitionKey":"k","Data":"AA=="}`); r.status != 200 {
		t.Fatalf("PutRecord: %s", r.body)
	}
	r = jsonCall(t, e.srv.URL, "GetShardIterator", `{"StreamName":"ts","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}`)
	var it struct{ ShardIterator string }
	if err := json.Unmarshal(r.body, &it); err != nil || it.ShardIterator == "" {
		t.Fatalf("GetShardIterator: %s", r.body)
	}
	r = jsonCall(t, e.srv.URL, "GetRecords", `{"ShardIterator":"`+it.ShardIterator+`"}`)
	checkStamp("GetRecords", r.body)
}
