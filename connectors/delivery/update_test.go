package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestUpdateDestinationMergesFieldsAndBumpsTheVersion(t *testing.T) {
	f := newFixture(t)
	f.create(s3def("u", nil))
	in := UpdateInput{DeliveryStreamName: "u", CurrentDeliveryStreamVersionId: "1", DestinationId: DestinationID,
		ExtendedS3DestinationUpdate: &ExtendedS3DestinationConfiguration{Prefix: "v2/", CompressionFormat: GZIP}}
	d, err := f.m.UpdateDestination(in)
	if err != nil {
		t.Fatal(err)
	}
	c := d.Definition.ExtendedS3DestinationConfiguration
	if d.VersionID != "2" || c.Prefix != "v2/" || c.CompressionFormat != GZIP || c.BucketARN != "arn:aws:s3:::logs" ||
		c.ErrorOutputPrefix != "errors/" || c.BufferingHints == nil || *c.BufferingHints.IntervalInSeconds != 60 {
		t.Fatalf("after the update: version %s, %+v", d.VersionID, c)
	}
	// The old version is refused now, and nothing changed.
	_, err = f.m.UpdateDestination(in)
	var de *Error
	if !errors.As(err, &de) || de.Code != CodeConcurrentModification || !strings.Contains(de.Message, "current version id: 2") {
		t.Fatalf("stale version: %v", err)
	}
	for _, bad := range []struct {
		in   UpdateInput
		want string
	}{
		{UpdateInput{DeliveryStreamName: "u", CurrentDeliveryStreamVersionId: "2"}, "exactly one of"},
		{UpdateInput{DeliveryStreamName: "u", ExtendedS3DestinationUpdate: &ExtendedS3DestinationConfiguration{}}, "CurrentDeliveryStreamVersionId"},
		{UpdateInput{DeliveryStreamName: "u", CurrentDeliveryStreamVersionId: "2", DestinationId: "destinationId-2",
			ExtendedS3DestinationUpdate: &ExtendedS3DestinationConfiguration{}}, "DestinationId"},
		{UpdateInput{DeliveryStreamName: "u", CurrentDeliveryStreamVersionId: "2",
			ExtendedS3DestinationUpdate: &ExtendedS3DestinationConfiguration{CompressionFormat: "BZIP2"}}, "CompressionFormat"},
		{UpdateInput{DeliveryStreamName: "nope", CurrentDeliveryStreamVersionId: "2",
			ExtendedS3DestinationUpdate: &ExtendedS3DestinationConfiguration{}}, "not found"},
	} {
		if _, err := f.m.UpdateDestination(bad.in); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: got %v, want an error naming %q", bad.in, err, bad.want)
		}
	}
	if d, _ := f.m.Describe("u"); d.VersionID != "2" || d.Definition.ExtendedS3DestinationConfiguration.CompressionFormat != GZIP {
		t.Fatalf("a refused update changed the stream: %+v", d)
	}
	// The update is stored: a restart keeps it.
	f.restart()
	if d, _ := f.m.Describe("u"); d.VersionID != "2" || d.Definition.ExtendedS3DestinationConfiguration.Prefix != "v2/" {
		t.Fatalf("after a restart: %+v", d)
	}
}

func TestUpdateDestinationDeliversWhatWasBufferedToTheNewDestination(t *testing.T) {
	f := newFixture(t)
	f.create(s3def("u", nil))
	f.put("u", "1\n", "2\n")
	f.waitBuffered("u")
	if _, err := f.m.UpdateDestination(UpdateInput{DeliveryStreamName: "u", CurrentDeliveryStreamVersionId: "1",
		ExtendedS3DestinationUpdate: &ExtendedS3DestinationConfiguration{Prefix: "new/"}}); err != nil {
		t.Fatal(err)
	}
	f.put("u", "3\n")
	if err := f.m.Flush(context.Background(), "u"); err != nil {
		t.Fatal(err)
	}
	keys := f.mem.keys()
	if len(keys) != 1 || !strings.HasPrefix(keys[0], "logs/new/") || string(f.mem.get(keys[0])) != "1\n2\n3\n" {
		t.Fatalf("objects %v", keys)
	}
}

func TestUpdateDestinationSwitchesToARecordSinkAndReplaceChecksTheVersion(t *testing.T) {
	f := newFixture(t)
	sink := &fakeSink{}
	if err := f.reg.Register(Connector{Kind: "fake", OpenSink: func(_ context.Context, cfg json.RawMessage) (RecordSink, error) {
		if strings.Contains(string(cfg), "refuse") {
			return nil, errors.New("refused config")
		}
		return sink, nil
	}}); err != nil {
		t.Fatal(err)
	}
	f.create(s3def("u", nil))
	f.put("u", "a")
	f.waitBuffered("u")
	// A sink that refuses its configuration changes nothing.
	refused := &SinkDestination{Type: "fake", Config: json.RawMessage(`{"refuse":true}`)}
	if _, err := f.m.UpdateDestination(UpdateInput{DeliveryStreamName: "u", CurrentDeliveryStreamVersionId: "1", SinkDestinationUpdate: refused}); err == nil || !strings.Contains(err.Error(), "refused config") {
		t.Fatalf("refused sink config: %v", err)
	}
	d, err := f.m.UpdateDestination(UpdateInput{DeliveryStreamName: "u", CurrentDeliveryStreamVersionId: "1",
		SinkDestinationUpdate: &SinkDestination{Type: "fake"}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Definition.ExtendedS3DestinationConfiguration != nil || d.ErrorStream != ErrorStreamName("u") {
		t.Fatalf("the destination was not replaced: %+v", d)
	}
	f.put("u", "b")
	if err := f.m.Flush(context.Background(), "u"); err != nil {
		t.Fatal(err)
	}
	if len(sink.got) != 2 || string(sink.got[0].Data) != "a" || string(sink.got[1].Data) != "b" {
		t.Fatalf("sink got %+v", sink.got)
	}
	if len(f.mem.keys()) != 0 {
		t.Errorf("the old destination still got %v", f.mem.keys())
	}
	// Replace: the whole definition, the version checked when given.
	if _, err := f.m.Replace(s3def("u", nil), "1"); err == nil || !strings.Contains(err.Error(), "do not match") {
		t.Fatalf("Replace with a stale version: %v", err)
	}
	d, err = f.m.Replace(s3def("u", nil), "")
	if err != nil || d.VersionID != "3" || d.Definition.SinkDestination != nil {
		t.Fatalf("Replace: %+v %v", d, err)
	}
}
