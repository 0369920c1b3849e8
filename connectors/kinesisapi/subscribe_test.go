package kinesisapi

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/kdaproject/kda/engine/store"
)

// subscribe registers a consumer and subscribes it to shard 0 of stream.
func subscribe(t *testing.T, e *testEnv, stream, consumer string, pos types.StartingPosition) *subscription {
	t.Helper()
	d, err := e.client.DescribeStreamSummary(e.ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.client.RegisterStreamConsumer(e.ctx, &kinesis.RegisterStreamConsumerInput{
		StreamARN: d.StreamDescriptionSummary.StreamARN, ConsumerName: aws.String(consumer)})
	if err != nil {
		t.Fatal(err)
	}
	s := &subscription{e: e, arn: aws.ToString(c.Consumer.ConsumerARN)}
	s.open(t, pos)
	return s
}

// subscription reads SubscribeToShard events the way a consumer library
// does: when a stream breaks, it subscribes again after the last
// ContinuationSequenceNumber. (The Go SDK's HTTP/1.1 transport sometimes
// drops a long response when it closes the request body under load; the
// continuation contract is what makes that harmless.)
type subscription struct {
	e       *testEnv
	arn     string
	out     *kinesis.SubscribeToShardOutput
	cont    string
	reopens int
}

func (s *subscription) open(t *testing.T, pos types.StartingPosition) {
	t.Helper()
	out, err := s.e.client.SubscribeToShard(s.e.ctx, &kinesis.SubscribeToShardInput{
		ConsumerARN: aws.String(s.arn), ShardId: aws.String("shardId-000000000000"), StartingPosition: &pos})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	s.out = out
	t.Cleanup(func() { out.GetStream().Close() })
}

// next waits for the next SubscribeToShardEvent; ok is false when the
// server ended the stream cleanly.
func (s *subscription) next(t *testing.T) (types.SubscribeToShardEvent, bool) {
	t.Helper()
	for {
		select {
		case ev, ok := <-s.out.GetStream().Events():
			if !ok {
				err := s.out.GetStream().Err()
				if err == nil {
					return types.SubscribeToShardEvent{}, false
				}
				if s.cont == "" || s.reopens >= 3 {
					t.Fatalf("stream ended: %v", err)
				}
				s.reopens++
				time.Sleep(50 * time.Millisecond)
				s.open(t, types.StartingPosition{Type: types.ShardIteratorTypeAfterSequenceNumber, SequenceNumber: aws.String(s.cont)})
				continue
			}
			e, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
			if !ok {
				t.Fatalf("unexpected event %T", ev)
			}
			if c := aws.ToString(e.Value.ContinuationSequenceNumber); c != "" {
				s.cont = c
			}
			return e.Value, true
		case <-time.After(10 * time.Second):
			t.Fatal("no event within 10s")
		}
	}
}

// nextEvent is next for a stream that must go on.
func nextEvent(t *testing.T, s *subscription) types.SubscribeToShardEvent {
	t.Helper()
	ev, ok := s.next(t)
	if !ok {
		t.Fatal("the stream ended")
	}
	return ev
}

func TestSubscribeToShardPushesRecordsThroughTheSDK(t *testing.T) {
	e := newEnv(t, envConfig{store: store.Options{Throughput: store.ThroughputOptions{Disabled: true}}})
	e.createStream(t, "fan", 1)
	for i := 0; i < 3; i++ {
		if _, err := e.client.PutRecord(e.ctx, &kinesis.PutRecordInput{StreamName: aws.String("fan"), PartitionKey: aws.String("k"), Data: []byte(fmt.Sprintf("old-%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	out := subscribe(t, e, "fan", "app", types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon})
	first := nextEvent(t, out)
	if len(first.Records) != 3 || string(first.Records[0].Data) != "old-0" {
		t.Fatalf("first event has %d records", len(first.Records))
	}
	if aws.ToString(first.ContinuationSequenceNumber) != aws.ToString(first.Records[2].SequenceNumber) {
		t.Errorf("continuation %s, want the last record's %s", aws.ToString(first.ContinuationSequenceNumber), aws.ToString(first.Records[2].SequenceNumber))
	}
	// A record written after subscribing is pushed without polling.
	put, err := e.client.PutRecord(e.ctx, &kinesis.PutRecordInput{StreamName: aws.String("fan"), PartitionKey: aws.String("k"), Data: []byte("live")})
	if err != nil {
		t.Fatal(err)
	}
	live := nextEvent(t, out)
	for len(live.Records) == 0 { // a heartbeat may come first
		live = nextEvent(t, out)
	}
	if string(live.Records[0].Data) != "live" || aws.ToString(live.Records[0].SequenceNumber) != aws.ToString(put.SequenceNumber) {
		t.Fatalf("pushed %q %s", live.Records[0].Data, aws.ToString(live.Records[0].SequenceNumber))
	}
	if live.Records[0].ApproximateArrivalTimestamp == nil {
		t.Error("pushed record has no arrival time")
	}
}

func TestSubscribeToShardEndsAClosedShardWithItsChildren(t *testing.T) {
	e := newEnv(t, envConfig{store: store.Options{Throughput: store.ThroughputOptions{Disabled: true}}})
	e.createStream(t, "split", 1)
	if _, err := e.client.PutRecord(e.ctx, &kinesis.PutRecordInput{StreamName: aws.String("split"), PartitionKey: aws.String("k"), Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.UpdateShardCount(e.ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String("split"), TargetShardCount: aws.Int32(2), ScalingType: types.ScalingTypeUniformScaling}); err != nil {
		t.Fatal(err)
	}
	out := subscribe(t, e, "split", "app", types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon})
	ev := nextEvent(t, out)
	if len(ev.Records) != 1 || len(ev.ChildShards) != 2 || ev.ContinuationSequenceNumber != nil {
		t.Fatalf("last event: %d records, %d children, continuation %v", len(ev.Records), len(ev.ChildShards), ev.ContinuationSequenceNumber)
	}
	if _, more := out.next(t); more {
		t.Fatal("an event after the shard's end")
	}
}

func TestSubscribeToShardRejectsUnknownConsumersAndDoubleSubscriptions(t *testing.T) {
	e := newEnv(t, envConfig{api: Options{SubscriptionHeartbeat: 50 * time.Millisecond}})
	e.createStream(t, "s", 1)
	_, err := e.client.SubscribeToShard(e.ctx, &kinesis.SubscribeToShardInput{
		ConsumerARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/ghost:1"), ShardId: aws.String("shardId-000000000000"),
		StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest}})
	if errorCode(err) != "ResourceNotFoundException" {
		t.Errorf("unknown consumer: %v", err)
	}
	out := subscribe(t, e, "s", "app", types.StartingPosition{Type: types.ShardIteratorTypeLatest})
	if hb := nextEvent(t, out); len(hb.Records) != 0 || hb.ContinuationSequenceNumber == nil {
		t.Fatalf("heartbeat event: %+v", hb)
	}
	_, err = e.client.SubscribeToShard(e.ctx, &kinesis.SubscribeToShardInput{
		ConsumerARN: aws.String(out.arn), ShardId: aws.String("shardId-000000000000"),
		StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest}})
	if errorCode(err) != "ResourceInUseException" {
		t.Errorf("second subscription: %v", err)
	}
}
