package restapi

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/directory"
	"github.com/kdaproject/kda/engine/store"
)

func TestDeliveryRoutesCreatePutDescribeDelete(t *testing.T) {
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
	m, err := delivery.NewManager(st, delivery.ManagerOptions{Registry: reg, ObjectStoreConfig: []byte(`{"root":"` + root + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Deps{Store: st, Deliveries: m}, Options{}))
	t.Cleanup(func() { srv.Close(); m.Close(); st.Close() })
	a := &api{st: st, srv: srv}

	a.wantError(t, "POST", "/v1/deliveries", `{"DeliveryStreamName":"x","ExtendedS3DestinationConfiguration":{"BucketARN":"bucket"}}`, 400, "InvalidArgumentException", "BucketARN")
	var d delivery.Description
	a.must(t, "POST", "/v1/deliveries", `
DeliveryStreamName: lake
ExtendedS3DestinationConfiguration:
  BucketARN: arn:aws:s3:::lake
  Prefix: "trades/!{timestamp:yyyy}/"
  ErrorOutputPrefix: "errors/!{firehose:error-output-type}/"
  BufferingHints: {SizeInMBs: 1, IntervalInSeconds: 0}
`, 201, &d)
	if d.DeliveryStreamName != "lake" || d.DeliveryStreamStatus != "ACTIVE" {
		t.Fatalf("created %+v", d)
	}
	a.wantError(t, "POST", "/v1/deliveries", `{"DeliveryStreamName":"lake","ExtendedS3DestinationConfiguration":{"BucketARN":"arn:aws:s3:::lake"}}`, 409, "ResourceInUseException", "lake")
	a.must(t, "POST", "/v1/deliveries/lake/records", `{"records":[{"data":"{\"n\":1}\n"},{"dataBase64":"eyJuIjoyfQo="}]}`, 200, nil)
	a.wantError(t, "POST", "/v1/deliveries/nope/records", `{"records":[{"data":"x"}]}`, 404, "ResourceNotFoundException", "nope")

	// IntervalInSeconds 0: delivered at once.
	deadline := time.Now().Add(10 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		got = ""
		_ = filepath.Walk(filepath.Join(root, "lake"), func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				b, _ := os.ReadFile(p)
				got += string(b)
				if !strings.Contains(p, filepath.Join("lake", "trades", time.Now().UTC().Format("2006"))) {
					t.Errorf("object %s is not under its prefix", p)
				}
			}
			return nil
		})
		if got == "{\"n\":1}\n{\"n\":2}\n" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got != "{\"n\":1}\n{\"n\":2}\n" {
		t.Fatalf("delivered %q", got)
	}
	// The metrics follow the acknowledgement.
	for a.must(t, "GET", "/v1/deliveries/lake", "", 200, &d); d.Metrics.Delivered != 2 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		a.must(t, "GET", "/v1/deliveries/lake", "", 200, &d)
	}
	if d.Metrics.Delivered != 2 || d.Metrics.Spilled != 0 {
		t.Errorf("metrics %+v", d.Metrics)
	}
	var list []delivery.Description
	a.must(t, "GET", "/v1/deliveries", "", 200, &list)
	if len(list) != 1 {
		t.Errorf("list %+v", list)
	}
	// PUT replaces the destination, checking the version when given.
	a.wantError(t, "PUT", "/v1/deliveries/lake?version=7", `{"ExtendedS3DestinationConfiguration":{"BucketARN":"arn:aws:s3:::lake2"}}`, 409, "ConcurrentModificationException", "7")
	a.wantError(t, "PUT", "/v1/deliveries/lake", `{"DeliveryStreamName":"other","ExtendedS3DestinationConfiguration":{"BucketARN":"arn:aws:s3:::lake2"}}`, 400, "InvalidArgumentException", "other")
	a.wantError(t, "PUT", "/v1/deliveries/lake", `{"ExtendedS3DestinationConfiguration":{"BucketARN":"arn:aws:s3:::lake2","CompressionFormat":"LZ4"}}`, 400, "InvalidArgumentException", "CompressionFormat")
	a.must(t, "PUT", "/v1/deliveries/lake?version=1", "ExtendedS3DestinationConfiguration:\n  BucketARN: arn:aws:s3:::lake2\n", 200, &d)
	if d.VersionID != "2" || d.Definition.ExtendedS3DestinationConfiguration.BucketARN != "arn:aws:s3:::lake2" || d.Metrics.Delivered != 2 {
		t.Errorf("after PUT: %+v", d)
	}
	a.must(t, "DELETE", "/v1/deliveries/lake", "", 204, nil)
	a.wantError(t, "GET", "/v1/deliveries/lake", "", 404, "ResourceNotFoundException", "lake")
}
