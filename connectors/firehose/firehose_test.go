package firehose

import (
	"context"
	"errors"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	fh "github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/smithy-go"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/directory"
	"github.com/kdaproject/kda/engine/store"
)

type env struct {
	m      *delivery.Manager
	client *fh.Client
	root   string // the directory store's root
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "data"), store.Options{Throughput: store.ThroughputOptions{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	reg := delivery.NewRegistry()
	if err := reg.Register(directory.Connector()); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "s3")
	m, err := delivery.NewManager(st, delivery.ManagerOptions{Registry: reg, ObjectStoreKind: "directory",
		ObjectStoreConfig: []byte(`{"root":"` + root + `"}`), RetryMin: time.Millisecond, RetryMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(m, opts))
	t.Cleanup(func() {
		srv.Close()
		m.Close()
		st.Close()
	})
	ak := opts.AccessKey
	if ak == "" {
		ak, opts.SecretKey = "test", "test"
	}
	client := fh.New(fh.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider(ak, opts.SecretKey, ""), Retryer: aws.NopRetryer{}})
	return &env{m: m, client: client, root: root}
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// objects reads every object of a bucket, by key.
func (e *env) objects(t *testing.T, bucket string) map[string]string {
	t.Helper()
	out := map[string]string{}
	base := filepath.Join(e.root, bucket)
	_ = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(base, p)
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	return out
}

func TestTheAWSSDKDrivesDeliveryStreams(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	created, err := e.client.CreateDeliveryStream(ctx, &fh.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("clicks"),
		DeliveryStreamType: types.DeliveryStreamTypeDirectPut,
		ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{
			BucketARN:         aws.String("arn:aws:s3:::lake"),
			RoleARN:           aws.String("arn:aws:iam::000000000000:role/firehose"),
			Prefix:            aws.String("clicks/"),
			ErrorOutputPrefix: aws.String("errors/"),
			BufferingHints:    &types.BufferingHints{SizeInMBs: aws.Int32(1), IntervalInSeconds: aws.Int32(900)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(aws.ToString(created.DeliveryStreamARN), ":deliverystream/clicks") {
		t.Fatalf("ARN %q", aws.ToString(created.DeliveryStreamARN))
	}
	_, err = e.client.CreateDeliveryStream(ctx, &fh.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("clicks"),
		ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{BucketARN: aws.String("arn:aws:s3:::lake"), RoleARN: aws.String("r")}})
	if apiCode(err) != "ResourceInUseException" {
		t.Fatalf("a second create: %v", err)
	}

	if _, err := e.client.PutRecord(ctx, &fh.PutRecordInput{DeliveryStreamName: aws.String("clicks"), Record: &types.Record{Data: []byte("{\"n\":0}\n")}}); err != nil {
		t.Fatal(err)
	}
	var batch []types.Record
	for i := 1; i <= 3; i++ {
		batch = append(batch, types.Record{Data: []byte("{\"n\":" + string(rune('0'+i)) + "}\n")})
	}
	out, err := e.client.PutRecordBatch(ctx, &fh.PutRecordBatchInput{DeliveryStreamName: aws.String("clicks"), Records: batch})
	if err != nil || aws.ToInt32(out.FailedPutCount) != 0 || len(out.RequestResponses) != 3 || aws.ToString(out.RequestResponses[0].RecordId) == "" {
		t.Fatalf("PutRecordBatch: %+v %v", out, err)
	}
	if err := e.m.Flush(ctx, "clicks"); err != nil {
		t.Fatal(err)
	}
	objs := e.objects(t, "lake")
	if len(objs) != 1 {
		t.Fatalf("objects: %v", objs)
	}
	for k, v := range objs {
		// Prefix without a timestamp expression gets yyyy/MM/dd/HH/ appended.
		if !strings.HasPrefix(k, "clicks/"+time.Now().UTC().Format("2006/01/02/")) || !strings.Contains(k, "/clicks-1-") {
			t.Errorf("key %q", k)
		}
		if v != "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n" {
			t.Errorf("object %q", v)
		}
	}

	desc, err := e.client.DescribeDeliveryStream(ctx, &fh.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("clicks")})
	if err != nil {
		t.Fatal(err)
	}
	d := desc.DeliveryStreamDescription
	if d.DeliveryStreamStatus != types.DeliveryStreamStatusActive || len(d.Destinations) != 1 ||
		aws.ToString(d.Destinations[0].ExtendedS3DestinationDescription.BucketARN) != "arn:aws:s3:::lake" ||
		aws.ToString(d.Destinations[0].ExtendedS3DestinationDescription.Prefix) != "clicks/" {
		t.Fatalf("describe: %+v", d)
	}

	for _, n := range []string{"b", "a"} {
		if _, err := e.client.CreateDeliveryStream(ctx, &fh.CreateDeliveryStreamInput{DeliveryStreamName: aws.String(n),
			ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{BucketARN: aws.String("arn:aws:s3:::lake"), RoleARN: aws.String("r")}}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := e.client.ListDeliveryStreams(ctx, &fh.ListDeliveryStreamsInput{Limit: aws.Int32(2)})
	if err != nil || strings.Join(list.DeliveryStreamNames, ",") != "a,b" || !aws.ToBool(list.HasMoreDeliveryStreams) {
		t.Fatalf("list page 1: %+v %v", list, err)
	}
	list, err = e.client.ListDeliveryStreams(ctx, &fh.ListDeliveryStreamsInput{ExclusiveStartDeliveryStreamName: aws.String("b")})
	if err != nil || strings.Join(list.DeliveryStreamNames, ",") != "clicks" || aws.ToBool(list.HasMoreDeliveryStreams) {
		t.Fatalf("list page 2: %+v %v", list, err)
	}

	if _, err := e.client.DeleteDeliveryStream(ctx, &fh.DeleteDeliveryStreamInput{DeliveryStreamName: aws.String("a")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.PutRecord(ctx, &fh.PutRecordInput{DeliveryStreamName: aws.String("a"), Record: &types.Record{Data: []byte("x")}})
	if apiCode(err) != "ResourceNotFoundException" {
		t.Fatalf("put into a deleted stream: %v", err)
	}
	names := e.m.List()
	sort.Strings(names)
	if strings.Join(names, ",") != "b,clicks" {
		t.Fatalf("after delete: %v", names)
	}
}

func TestBadRequestsGetFirehoseErrors(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	_, err := e.client.CreateDeliveryStream(ctx, &fh.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("x"),
		ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{BucketARN: aws.String("not-an-arn"), RoleARN: aws.String("r")}})
	if apiCode(err) != "InvalidArgumentException" || !strings.Contains(err.Error(), "BucketARN") {
		t.Fatalf("bad bucket ARN: %v", err)
	}
	_, err = e.client.PutRecordBatch(ctx, &fh.PutRecordBatchInput{DeliveryStreamName: aws.String("nope"), Records: []types.Record{{Data: []byte("x")}}})
	if apiCode(err) != "ResourceNotFoundException" {
		t.Fatalf("unknown stream: %v", err)
	}
	_, err = e.client.UpdateDestination(ctx, &fh.UpdateDestinationInput{DeliveryStreamName: aws.String("x"), CurrentDeliveryStreamVersionId: aws.String("1"),
		DestinationId: aws.String(delivery.DestinationID), ExtendedS3DestinationUpdate: &types.ExtendedS3DestinationUpdate{Prefix: aws.String("p/")}})
	if apiCode(err) != "ResourceNotFoundException" {
		t.Fatalf("UpdateDestination of a missing stream: %v", err)
	}
}

func TestUpdateDestinationWithTheSDK(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	if _, err := e.client.CreateDeliveryStream(ctx, &fh.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("up"),
		ExtendedS3DestinationConfiguration: &types.ExtendedS3DestinationConfiguration{BucketARN: aws.String("arn:aws:s3:::lake"), RoleARN: aws.String("r"),
			Prefix: aws.String("v1/"), BufferingHints: &types.BufferingHints{SizeInMBs: aws.Int32(1), IntervalInSeconds: aws.Int32(0)}}}); err != nil {
		t.Fatal(err)
	}
	describe := func() *types.DeliveryStreamDescription {
		out, err := e.client.DescribeDeliveryStream(ctx, &fh.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("up")})
		if err != nil {
			t.Fatal(err)
		}
		return out.DeliveryStreamDescription
	}
	d := describe()
	update := &fh.UpdateDestinationInput{DeliveryStreamName: aws.String("up"), CurrentDeliveryStreamVersionId: d.VersionId,
		DestinationId: d.Destinations[0].DestinationId, ExtendedS3DestinationUpdate: &types.ExtendedS3DestinationUpdate{
			Prefix: aws.String("v2/"), CompressionFormat: types.CompressionFormatGzip}}
	if _, err := e.client.UpdateDestination(ctx, update); err != nil {
		t.Fatal(err)
	}
	d = describe()
	ext := d.Destinations[0].ExtendedS3DestinationDescription
	if aws.ToString(d.VersionId) != "2" || aws.ToString(ext.Prefix) != "v2/" || ext.CompressionFormat != types.CompressionFormatGzip ||
		aws.ToString(ext.BucketARN) != "arn:aws:s3:::lake" {
		t.Fatalf("after the update: version %s, %+v", aws.ToString(d.VersionId), ext)
	}
	if _, err := e.client.UpdateDestination(ctx, update); apiCode(err) != "ConcurrentModificationException" {
		t.Fatalf("an update of version 1 after version 2: %v", err)
	}
	update.CurrentDeliveryStreamVersionId = aws.String("2")
	update.ExtendedS3DestinationUpdate = nil
	update.HttpEndpointDestinationUpdate = &types.HttpEndpointDestinationUpdate{}
	if _, err := e.client.UpdateDestination(ctx, update); apiCode(err) != "InvalidArgumentException" || !strings.Contains(err.Error(), "HttpEndpointDestinationUpdate") {
		t.Fatalf("an HTTP endpoint update: %v", err)
	}
	// Records put after the update go under the new prefix, compressed.
	if _, err := e.client.PutRecord(ctx, &fh.PutRecordInput{DeliveryStreamName: aws.String("up"), Record: &types.Record{Data: []byte("x\n")}}); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Flush(ctx, "up"); err != nil {
		t.Fatal(err)
	}
	for k := range e.objects(t, "lake") {
		if !strings.HasPrefix(k, "v2/") || !strings.HasSuffix(k, ".gz") {
			t.Errorf("object %s: want it under v2/, GZIP", k)
		}
	}
}

func TestSignaturesAreCheckedWhenKeysAreSet(t *testing.T) {
	e := newEnv(t, Options{AccessKey: "AKID", SecretKey: "secret"})
	if _, err := e.client.ListDeliveryStreams(context.Background(), &fh.ListDeliveryStreamsInput{}); err != nil {
		t.Fatalf("a signed request: %v", err)
	}
	bad := fh.New(fh.Options{Region: "us-east-1", BaseEndpoint: e.client.Options().BaseEndpoint,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "wrong", ""), Retryer: aws.NopRetryer{}})
	if _, err := bad.ListDeliveryStreams(context.Background(), &fh.ListDeliveryStreamsInput{}); apiCode(err) == "" {
		t.Fatalf("a wrongly signed request: %v", err)
	}
}
