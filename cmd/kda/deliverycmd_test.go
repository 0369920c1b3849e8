package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/firehose"
	"github.com/kdaproject/kda/connectors/kinesisapi"
	"github.com/kdaproject/kda/engine/store"
)

// TestDeliveryCommandsAndTheFirehoseRoute runs the real server handler
// with a delivery manager: the CLI creates and inspects a delivery stream,
// and a Firehose PutRecordBatch sent to the shared port lands in the
// local directory store.
func TestDeliveryCommandsAndTheFirehoseRoute(t *testing.T) {
	dir := t.TempDir()
	srv, _ := deliveryServer(t, dir)
	tg := target{name: "server", args: []string{"--endpoint", srv.URL}}

	def := filepath.Join(dir, "lake.yaml")
	if err := os.WriteFile(def, []byte(`DeliveryStreamName: lake
ExtendedS3DestinationConfiguration:
  BucketARN: arn:aws:s3:::lake
  Prefix: "t/"
  BufferingHints: {SizeInMBs: 1, IntervalInSeconds: 0}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := tg.ok(t, "", "delivery", "create", def); !strings.Contains(out, "Name:         lake") || !strings.Contains(out, "Status:       ACTIVE") {
		t.Fatalf("create: %s", out)
	}
	r := tg.run(t, "", "delivery", "create", def)
	if r.code == 0 || !strings.Contains(r.stderr, "already exists") {
		t.Fatalf("a second create: exit %d %s", r.code, r.stderr)
	}

	body := `{"DeliveryStreamName":"lake","Records":[{"Data":"eyJuIjoxfQo="},{"Data":"eyJuIjoyfQo="}]}`
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "Firehose_20150804.PutRecordBatch")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var put struct{ FailedPutCount int }
	if err := json.NewDecoder(resp.Body).Decode(&put); err != nil || resp.StatusCode != 200 || put.FailedPutCount != 0 {
		t.Fatalf("PutRecordBatch through the server: %d %+v %v", resp.StatusCode, put, err)
	}
	resp.Body.Close()

	var d delivery.Description
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := json.Unmarshal([]byte(tg.ok(t, "", "delivery", "describe", "lake", "-o", "json")), &d); err != nil {
			t.Fatal(err)
		}
		if d.Metrics.Delivered == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d.Metrics.Delivered != 2 {
		t.Fatalf("metrics %+v", d.Metrics)
	}
	var got string
	_ = filepath.Walk(filepath.Join(dir, "s3", "lake", "t"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(p)
			got += string(b)
		}
		return nil
	})
	if got != "{\"n\":1}\n{\"n\":2}\n" {
		t.Fatalf("delivered %q", got)
	}
	// kda put --delivery sends through the Firehose API.
	tg.ok(t, "{\"n\":3}\n", "put", "lake", "--delivery")
	for d.Metrics.Delivered < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		if err := json.Unmarshal([]byte(tg.ok(t, "", "delivery", "describe", "lake", "-o", "json")), &d); err != nil {
			t.Fatal(err)
		}
	}
	got = ""
	_ = filepath.Walk(filepath.Join(dir, "s3", "lake", "t"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(p)
			got += string(b) + "|"
		}
		return nil
	})
	if !strings.Contains(got, "{\"n\":3}|") || strings.Count(got, "|") != 2 {
		t.Fatalf("after kda put --delivery: %q", got)
	}
	if r := runCLI(t, nil, "x\n", "--data", t.TempDir(), "put", "lake", "--delivery"); r.code == 0 || !strings.Contains(r.stderr, "needs a running server") {
		t.Fatalf("embedded --delivery: exit %d %s", r.code, r.stderr)
	}
	if out := tg.ok(t, "", "delivery", "list"); !strings.Contains(out, "lake") || !strings.Contains(out, "lake/t/") {
		t.Fatalf("list: %s", out)
	}
	if code, body, _ := httpGet(t, srv.URL+"/metrics"); code != 200 || !strings.Contains(body, `kda_delivery_delivered_records_total{delivery_stream="lake"} 3`) ||
		!strings.Contains(body, `kda_delivery_waiting_records{delivery_stream="lake"} 0`) {
		t.Fatalf("metrics: %d\n%s", code, body)
	}
	// update replaces the destination; a stale --version is refused.
	orig, err := os.ReadFile(def)
	if err != nil {
		t.Fatal(err)
	}
	updated := strings.Replace(string(orig), `Prefix: "t/"`, `Prefix: "t2/"`, 1)
	if r := tg.run(t, updated, "delivery", "update", "-", "--version", "9"); r.code == 0 || !strings.Contains(r.stderr, "do not match") {
		t.Fatalf("update with a stale version: exit %d %s", r.code, r.stderr)
	}
	if out := tg.ok(t, updated, "delivery", "update", "-", "--version", "1"); !strings.Contains(out, "Version:      2") || !strings.Contains(out, "lake/t2/") {
		t.Fatalf("update: %s", out)
	}
	tg.ok(t, "", "delivery", "delete", "lake")
}

// TestServeDeliversToS3WhenConfigured sends a delivery stream's objects to
// an S3-compatible server (an in-process gofakes3) given by --s3's config.
func TestServeDeliversToS3WhenConfigured(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("lake"); err != nil {
		t.Fatal(err)
	}
	fake := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(fake.Close)
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "data"), store.Options{Throughput: store.ThroughputOptions{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	dm, err := newDeliveryManager(st, dir, `{"endpoint":"`+fake.URL+`","accessKey":"a","secretKey":"b"}`, defaultRegion, slogDiscard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dm.Close(); st.Close() })
	if _, err := newDeliveryManager(st, dir, `not json`, defaultRegion, slogDiscard()); err == nil || !strings.Contains(err.Error(), "--s3") {
		t.Fatalf("a bad --s3: %v", err)
	}
	zero, one := 0, 1
	if _, err := dm.Create(delivery.Definition{DeliveryStreamName: "lake", ExtendedS3DestinationConfiguration: &delivery.ExtendedS3DestinationConfiguration{
		BucketARN: "arn:aws:s3:::lake", Prefix: "p/", BufferingHints: &delivery.BufferingHints{SizeInMBs: &one, IntervalInSeconds: &zero}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := dm.Put("lake", []delivery.PutInput{{Data: []byte("a\n")}, {Data: []byte("b\n")}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := backend.ListBucket("lake", &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
		if err == nil && len(list.Contents) == 1 {
			obj, err := backend.GetObject("lake", list.Contents[0].Key, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(obj.Contents)
			obj.Contents.Close()
			if string(b) != "a\nb\n" || !strings.HasPrefix(list.Contents[0].Key, "p/") {
				t.Fatalf("object %s: %q", list.Contents[0].Key, b)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no object in the bucket: %v %v", list, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// deliveryStore opens a store in dir and the server's delivery manager on
// it, both closed when t ends (after what t.Cleanup gets later).
func deliveryStore(t *testing.T, dir string) (*store.Store, *delivery.Manager) {
	t.Helper()
	st, err := store.Open(filepath.Join(dir, "data"), store.Options{Throughput: store.ThroughputOptions{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dm, err := newDeliveryManager(st, dir, "", defaultRegion, slogDiscard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dm.Close() })
	return st, dm
}

// deliveryServer runs the real server handler over a store in dir with a
// delivery manager and the Firehose API, closed when t ends.
func deliveryServer(t *testing.T, dir string) (*httptest.Server, *delivery.Manager) {
	t.Helper()
	st, dm := deliveryStore(t, dir)
	cfg := serverConfig{store: st, started: time.Now(), version: "test", deliveries: dm, firehose: firehose.New(dm, firehose.Options{})}
	cfg.api = kinesisapi.New(st, kinesisapi.Options{Region: defaultRegion})
	srv := httptest.NewServer(newServerHandler(cfg))
	t.Cleanup(srv.Close)
	return srv, dm
}
