// Package s3 is the "s3" object store of delivery streams: it writes the
// objects a delivery stream produces to Amazon S3 or to any S3-compatible
// store (MinIO, Ceph RGW, SeaweedFS, Garage, R2, …) with the AWS SDK for
// Go v2. It is the remote counterpart of connectors/directory.
//
// Configuration (JSON, unknown fields are an error; errors name the field):
//
//	{
//	  "endpoint": "http://127.0.0.1:9000", // optional: default AWS S3 for the region
//	  "region": "us-east-1",               // optional: default us-east-1 (or, without
//	                                       //   keys, the AWS config's region)
//	  "accessKey": "…",                    // static keys: both or neither
//	  "secretKey": "…",
//	  "pathStyle": true,                   // optional: default true with an endpoint,
//	                                       //   false (virtual-hosted) on AWS
//	  "timeout": "30s",                    // per PutObject, default 30s
//	  "bucketPrefix": ""                   // optional: prepended to every bucket name
//	}
//
// Credentials: with accessKey and secretKey the store signs with those
// keys and reads nothing from the environment. Without them it uses the
// default AWS credential chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
// shared config and credentials files, SSO, web identity, ECS and EC2
// instance roles). Anonymous (unsigned) requests are never made: if the
// chain finds nothing, PutObject fails.
//
// Guarantees: PutObject sends one PUT with Content-Length, Content-Type,
// Content-Encoding and Content-MD5, so the server refuses a body that was
// corrupted on the way (BadDigest), and returns nil only when the server
// answered 200: on S3 the object is then durable. A PUT replaces any
// object under the key, so a batch delivered again after a failure
// overwrites the same key rather than duplicating it (at least once, with
// idempotent keys where the delivery stream names objects stably).
//
// Retries: PutObject does not retry. The SDK's retryer is disabled
// (aws.NopRetryer: one attempt per call) and the delivery worker retries
// failed batches with its own backoff. Errors are classified as follows:
//
//   - *delivery.Permanent: 3xx and 4xx answers (NoSuchBucket,
//     AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch,
//     InvalidBucketName, PermanentRedirect for a wrong region, …), which
//     retrying cannot fix;
//   - retryable (plain errors): network errors and timeouts, 5xx
//     (InternalError, ServiceUnavailable, SlowDown), 408 and 429, and the
//     4xx codes that describe a transient condition: RequestTimeout,
//     BadDigest and IncompleteBody (the body was damaged or cut on the
//     way), RequestTimeTooSkewed (the SDK corrects its clock offset from
//     the answer), ExpiredToken (the credential chain refreshes), as well
//     as failures to retrieve credentials from the chain.
//
// Not supported: multipart upload (an object is one PUT, so at most
// 5 GiB; delivery buffers are at most 128 MiB), server-side encryption
// settings, storage classes, object tags and ACLs, and creating buckets
// (a bucket must exist; a missing one is a permanent error). The
// request checksum calculation is set to "when required", so the SDK adds
// no CRC32 trailer (aws-chunked encoding), which some S3-compatible
// stores do not accept; Content-MD5 carries the integrity check instead.
package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/kdaproject/kda/connectors/delivery"
	connconf "github.com/kdaproject/kda/connectors/internal/config"
)

// Kind is the destination type in configurations.
const Kind = "s3"

// Defaults of the optional settings.
const (
	DefaultRegion  = "us-east-1"
	DefaultTimeout = 30 * time.Second
)

// MaxObjectSize is the largest object one PUT can store (5 GiB); there is
// no multipart upload.
const MaxObjectSize = 5 << 30

// Config is the S3 store's configuration.
type Config struct {
	Endpoint     string `json:"endpoint,omitempty"`
	Region       string `json:"region,omitempty"`
	AccessKey    string `json:"accessKey,omitempty"`
	SecretKey    string `json:"secretKey,omitempty"`
	PathStyle    *bool  `json:"pathStyle,omitempty"`
	Timeout      string `json:"timeout,omitempty"`
	BucketPrefix string `json:"bucketPrefix,omitempty"`
}

// Connector declares the S3 object store (Kind "s3").
func Connector() delivery.Connector {
	return delivery.Connector{
		Kind:    Kind,
		Doc:     "objects in Amazon S3 or an S3-compatible store (MinIO, Ceph, R2, …), one PUT per object",
		Example: json.RawMessage(`{"endpoint": "http://127.0.0.1:9000", "region": "us-east-1", "accessKey": "minioadmin", "secretKey": "minioadmin", "pathStyle": true, "timeout": "30s", "bucketPrefix": ""}`),
		OpenStore: func(ctx context.Context, config json.RawMessage) (delivery.ObjectStore, error) {
			return Open(ctx, config)
		},
	}
}

// Store puts objects into S3. It is safe for concurrent use.
type Store struct {
	client       *s3.Client
	bucketPrefix string
	timeout      time.Duration
}

// Open validates a configuration and returns a store. It makes no
// request (without static keys it may read the AWS shared config files).
func Open(ctx context.Context, config json.RawMessage) (*Store, error) {
	var c Config
	if err := decodeStrict(config, &c); err != nil {
		return nil, fmt.Errorf("s3 config: %w", err)
	}
	s := &Store{timeout: DefaultTimeout, bucketPrefix: c.BucketPrefix}
	if c.Timeout != "" {
		var err error
		if s.timeout, err = connconf.PositiveDuration("s3", "timeout", c.Timeout); err != nil {
			return nil, err
		}
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		switch {
		case err != nil:
			return nil, fmt.Errorf("s3 config: endpoint: %w", err)
		case u.Scheme != "http" && u.Scheme != "https":
			return nil, fmt.Errorf("s3 config: endpoint %q: the scheme must be http or https, e.g. http://127.0.0.1:9000", c.Endpoint)
		case u.Host == "":
			return nil, fmt.Errorf("s3 config: endpoint %q has no host", c.Endpoint)
		}
	}
	if c.Region != "" && strings.ContainsAny(c.Region, " /\t\r\n") {
		return nil, fmt.Errorf("s3 config: region %q is not a region name, e.g. us-east-1", c.Region)
	}
	if c.BucketPrefix != "" && !validBucketChars(c.BucketPrefix) {
		return nil, fmt.Errorf("s3 config: bucketPrefix %q: use lowercase letters, digits, '-' and '.' only", c.BucketPrefix)
	}
	switch {
	case c.AccessKey != "" && c.SecretKey == "":
		return nil, errors.New("s3 config: secretKey is required when accessKey is set (or set neither to use the default AWS credential chain)")
	case c.AccessKey == "" && c.SecretKey != "":
		return nil, errors.New("s3 config: accessKey is required when secretKey is set (or set neither to use the default AWS credential chain)")
	}

	var cfg aws.Config
	if c.AccessKey != "" {
		cfg = aws.Config{
			Region:      c.Region,
			Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(c.AccessKey, c.SecretKey, "")),
		}
	} else {
		var opts []func(*awsconfig.LoadOptions) error
		if c.Region != "" {
			opts = append(opts, awsconfig.WithRegion(c.Region))
		}
		var err error
		if cfg, err = awsconfig.LoadDefaultConfig(ctx, opts...); err != nil {
			return nil, fmt.Errorf("s3 config: accessKey and secretKey are not set and the default AWS configuration cannot be loaded: %w", err)
		}
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	pathStyle := c.Endpoint != ""
	if c.PathStyle != nil {
		pathStyle = *c.PathStyle
	}
	s.client = s3.NewFromConfig(cfg, func(o *s3.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
		o.UsePathStyle = pathStyle
		// One attempt per PutObject: the delivery worker retries.
		o.Retryer = aws.NopRetryer{}
		// No CRC32 trailer (aws-chunked); Content-MD5 is sent instead.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	})
	return s, nil
}

// decodeStrict decodes one JSON object into v, refusing unknown fields.
func decodeStrict(config json.RawMessage, v any) error {
	if len(bytes.TrimSpace(config)) == 0 {
		return nil
	}
	// encoding/json matches field names case-insensitively; refuse
	// "accesskey" for "accessKey" instead of guessing.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(config, &fields); err == nil {
		known := map[string]bool{}
		var names []string
		t := reflect.TypeOf(v).Elem()
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			known[name] = true
			names = append(names, name)
		}
		for name := range fields {
			if !known[name] {
				return fmt.Errorf("json: unknown field %q (the fields are %s)", name, strings.Join(names, ", "))
			}
		}
	}
	d := json.NewDecoder(bytes.NewReader(config))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%s: want %s, not a JSON %s", te.Field, te.Type, te.Value)
		}
		return err
	}
	if d.More() {
		return errors.New("text after the configuration object")
	}
	return nil
}

// validBucketChars reports whether s holds only characters S3 allows in
// bucket names.
func validBucketChars(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// Bucket is the S3 bucket that bucket names: the configured bucketPrefix
// followed by bucket.
func (s *Store) Bucket(bucket string) string { return s.bucketPrefix + bucket }

// PutObject stores body under bucket/key (bucket after bucketPrefix) with
// one PUT, within the configured timeout. It returns nil only when the
// server answered 200; errors the server will repeat are
// *delivery.Permanent, the rest are worth retrying (see the package
// comment).
func (s *Store) PutObject(ctx context.Context, bucket, key string, body []byte, contentType, contentEncoding string) error {
	b := s.Bucket(bucket)
	switch {
	case bucket == "":
		return &delivery.Permanent{Err: errors.New("put: empty bucket name")}
	case key == "":
		return &delivery.Permanent{Err: fmt.Errorf("put %s: empty key", b)}
	case int64(len(body)) > MaxObjectSize:
		return &delivery.Permanent{Err: fmt.Errorf("put %s/%s: %d bytes is more than one PUT can store (5 GiB)", b, key, len(body))}
	}
	sum := md5.Sum(body)
	in := &s3.PutObjectInput{
		Bucket:        aws.String(b),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentMD5:    aws.String(base64.StdEncoding.EncodeToString(sum[:])),
	}
	if contentType != "" {
		in.ContentType = aws.String(contentType)
	}
	if contentEncoding != "" {
		in.ContentEncoding = aws.String(contentEncoding)
	}
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	out, err := s.client.PutObject(cctx, in)
	if err != nil {
		return classify(ctx, fmt.Errorf("put %s/%s: %w", b, key, err))
	}
	if raw, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response); ok && raw.StatusCode != http.StatusOK {
		return fmt.Errorf("put %s/%s: the server answered %s, not 200 OK", b, key, raw.Status)
	}
	return nil
}

// GetObject reads bucket/key (bucket after bucketPrefix) with one GET
// within the configured timeout; an application's reference table reads
// its source this way. An object larger than limit bytes is an error
// (limit <= 0: no limit): its declared length is checked before the body
// is read, and the body is never read past limit.
func (s *Store) GetObject(ctx context.Context, bucket, key string, limit int64) ([]byte, error) {
	b := s.Bucket(bucket)
	if bucket == "" || key == "" {
		return nil, fmt.Errorf("get %s/%s: the bucket and the key must not be empty", b, key)
	}
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	out, err := s.client.GetObject(cctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get %s/%s: %w", b, key, err)
	}
	defer out.Body.Close()
	if n := aws.ToInt64(out.ContentLength); limit > 0 && n > limit {
		return nil, fmt.Errorf("get %s/%s: the object is %d bytes, more than the limit of %d", b, key, n, limit)
	}
	r := io.Reader(out.Body)
	if limit > 0 {
		r = io.LimitReader(out.Body, limit+1)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("get %s/%s: %w", b, key, err)
	}
	if limit > 0 && int64(len(data)) > limit {
		return nil, fmt.Errorf("get %s/%s: the object is more than the limit of %d bytes", b, key, limit)
	}
	return data, nil
}

// transientCodes are S3 error codes sent with a 4xx status that describe
// a condition a later attempt can get past.
var transientCodes = map[string]bool{
	"RequestTimeout":       true, // S3 sends it with 400
	"BadDigest":            true, // the body was damaged on the way
	"IncompleteBody":       true,
	"RequestTimeTooSkewed": true, // the SDK adjusts its clock offset
	"ExpiredToken":         true, // the credential chain refreshes
	"SlowDown":             true,
}

// classify wraps err in *delivery.Permanent when retrying cannot help.
// ctx is the caller's context: its cancellation is never permanent.
func classify(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return err
	}
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) {
		return err // network error, timeout, credential retrieval
	}
	code := ""
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	switch st := re.HTTPStatusCode(); {
	case st >= 500, st == http.StatusRequestTimeout, st == http.StatusTooManyRequests, transientCodes[code]:
		return err
	case st >= 300:
		return &delivery.Permanent{Err: err}
	}
	return err
}

// Close releases idle connections.
func (s *Store) Close() error {
	if c, ok := s.client.Options().HTTPClient.(*http.Client); ok {
		c.CloseIdleConnections()
	}
	return nil
}
