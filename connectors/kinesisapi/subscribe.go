package kinesisapi

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/aws/smithy-go/eventstream"

	"github.com/kdaproject/kda/engine/store"
)

// SubscribeToShard (enhanced fan-out) pushes a shard's records to a
// registered consumer over one long response in the AWS event-stream
// encoding (application/vnd.amazon.eventstream): an initial-response event,
// then SubscribeToShardEvent messages, each with the records that arrived,
// a ContinuationSequenceNumber to resume from and MillisBehindLatest. Records
// are pushed as soon as they are durable (the store signals new records, no
// polling). An event with no records is sent every heartbeat interval, and
// the subscription ends after Options.SubscriptionDuration (5 minutes, as on
// AWS) or at the end of a closed shard, after an event naming its children.
// Over HTTP/1.1 the events travel in a chunked response; kda serve also
// speaks unencrypted HTTP/2 for clients that insist on it.

const eventStreamContentType = "application/vnd.amazon.eventstream"

type startingPosition struct {
	Type           *string   `json:"Type"`
	SequenceNumber *string   `json:"SequenceNumber"`
	Timestamp      *wireTime `json:"Timestamp"`
}

type subscribeToShardInput struct {
	ConsumerARN      *string           `json:"ConsumerARN"`
	ShardID          *string           `json:"ShardId"`
	StartingPosition *startingPosition `json:"StartingPosition"`
}

func (in *subscribeToShardInput) validate(v *violations) {
	v.notNull("consumerARN", in.ConsumerARN == nil)
	v.strLen("consumerARN", in.ConsumerARN, 1, 2048)
	v.notNull("shardId", in.ShardID == nil)
	v.strLen("shardId", in.ShardID, 1, 128)
	v.notNull("startingPosition", in.StartingPosition == nil)
	if p := in.StartingPosition; p != nil {
		v.notNull("startingPosition.type", p.Type == nil)
		v.enum("startingPosition.type", p.Type, iteratorTypes...)
		v.pattern("startingPosition.sequenceNumber", p.SequenceNumber, isSequenceNumber, sequenceNumberPattern)
	}
}

// subscriptions tracks the live subscriptions, one per consumer and shard.
type subscriptions struct {
	mu   sync.Mutex
	live map[string]bool
}

func (s *subscriptions) claim(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live == nil {
		s.live = map[string]bool{}
	}
	if s.live[key] {
		return false
	}
	s.live[key] = true
	return true
}

func (s *subscriptions) release(key string) {
	s.mu.Lock()
	delete(s.live, key)
	s.mu.Unlock()
}

// subscribeToShard answers errors found before streaming starts as ordinary
// AWS errors; once the event stream is open, a failure is sent as an
// exception message and ends the stream.
func (h *handler) subscribeToShard(x *exchange, r *http.Request, body []byte) {
	in := &subscribeToShardInput{}
	if err := h.codecs.decode(x.format, body, in); err != nil {
		h.writeError(x, err)
		return
	}
	var v violations
	in.validate(&v)
	if err := v.err(); err != nil {
		h.writeError(x, err)
		return
	}
	c, err := h.st.DescribeConsumer("", "", *in.ConsumerARN)
	if err != nil {
		h.writeError(x, err)
		return
	}
	if c.Status != store.ConsumerActive {
		h.writeError(x, newAPIError(store.CodeResourceInUse, "Consumer %s is %s, not ACTIVE.", c.ConsumerARN, c.Status))
		return
	}
	streamName, err := h.st.StreamNameFromARN(c.StreamARN)
	if err != nil {
		h.writeError(x, err)
		return
	}
	p := in.StartingPosition
	it, err := h.st.GetShardIterator(store.GetShardIteratorInput{
		StreamName: streamName, ShardID: *in.ShardID, Type: store.IteratorType(*p.Type),
		SequenceNumber: deref(p.SequenceNumber), Timestamp: optTime(p.Timestamp),
	})
	if err != nil {
		h.writeError(x, err)
		return
	}
	key := c.ConsumerARN + "|" + *in.ShardID
	if !h.subs.claim(key) {
		h.writeError(x, newAPIError(store.CodeResourceInUse, "Another active subscription exists for consumer %s on shard %s.", c.ConsumerARN, *in.ShardID))
		return
	}
	defer h.subs.release(key)

	ev := &eventWriter{w: x.w, format: x.format, enc: eventstream.NewEncoder()}
	ev.flusher, _ = x.w.(http.Flusher)
	x.w.Header().Set("Content-Type", eventStreamContentType)
	x.written = true
	x.w.WriteHeader(http.StatusOK)
	if err := ev.send("initial-response", nil); err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.SubscriptionDuration)
	defer cancel()
	h.pushShard(ctx, ev, it)
}

// pushShard sends events until ctx ends, the client goes away or a closed
// shard has been read to its end.
func (h *handler) pushShard(ctx context.Context, ev *eventWriter, it string) {
	heartbeat := time.NewTimer(0) // the first event goes out at once
	defer heartbeat.Stop()
	for {
		signal, err := h.st.RecordsSignal(it)
		if err != nil {
			ev.exception(err)
			return
		}
		out, err := h.st.GetRecordsDedicated(it, maxGetRecordsLimit)
		if err != nil {
			ev.exception(err)
			return
		}
		if len(out.Records) > 0 || out.NextShardIterator == "" || ev.due(heartbeat) {
			cont := ""
			if n := len(out.Records); n > 0 {
				cont = out.Records[n-1].SequenceNumber
			} else if cont, err = h.st.IteratorSequenceNumber(it); err != nil {
				ev.exception(err)
				return
			}
			if out.NextShardIterator == "" {
				cont = "" // a finished shard has no continuation, only children
			}
			if err := ev.sendRecords(&out, cont); err != nil {
				return
			}
			heartbeat.Reset(h.opts.SubscriptionHeartbeat)
		}
		if out.NextShardIterator == "" {
			return
		}
		it = out.NextShardIterator
		if len(out.Records) > 0 {
			continue // more may be waiting already
		}
		select {
		case <-signal:
		case <-heartbeat.C:
			ev.fired = true
		case <-ctx.Done():
			return
		}
	}
}

// eventWriter writes event-stream messages to the response.
type eventWriter struct {
	w       http.ResponseWriter
	flusher http.Flusher
	format  wireFormat
	enc     *eventstream.Encoder
	fired   bool // the heartbeat timer fired and was drained
}

// due reports whether a heartbeat is owed, draining the timer if it fired.
func (e *eventWriter) due(t *time.Timer) bool {
	if e.fired {
		e.fired = false
		return true
	}
	select {
	case <-t.C:
		return true
	default:
		return false
	}
}

func (e *eventWriter) send(eventType string, payload []byte) error {
	var m eventstream.Message
	m.Headers.Set(eventstream.MessageTypeHeader, eventstream.StringValue(eventstream.EventMessageType))
	m.Headers.Set(eventstream.EventTypeHeader, eventstream.StringValue(eventType))
	if payload != nil {
		m.Headers.Set(eventstream.ContentTypeHeader, eventstream.StringValue(e.contentType()))
		m.Payload = payload
	}
	return e.write(m)
}

func (e *eventWriter) contentType() string {
	if e.format == formatCBOR {
		return contentTypeCBOR
	}
	return "application/json"
}

func (e *eventWriter) sendRecords(out *store.GetRecordsOutput, continuation string) error {
	var payload []byte
	if e.format == formatCBOR {
		payload = appendRecordsCBOR(nil, out, "ContinuationSequenceNumber", continuation)
	} else {
		payload = appendRecordsJSON(nil, out, "ContinuationSequenceNumber", continuation)
	}
	return e.send("SubscribeToShardEvent", payload)
}

// exception ends the stream with an AWS exception message.
func (e *eventWriter) exception(err error) {
	ae := toAPIError(err)
	var m eventstream.Message
	m.Headers.Set(eventstream.MessageTypeHeader, eventstream.StringValue(eventstream.ExceptionMessageType))
	m.Headers.Set(eventstream.ExceptionTypeHeader, eventstream.StringValue(ae.Code))
	m.Headers.Set(eventstream.ContentTypeHeader, eventstream.StringValue("application/json"))
	m.Payload, _ = json.Marshal(errorBody{Type: ae.Code, Message: ae.Message})
	_ = e.write(m) // the stream ends either way
}

func (e *eventWriter) write(m eventstream.Message) error {
	if err := e.enc.Encode(e.w, m); err != nil {
		return err
	}
	if e.flusher != nil {
		e.flusher.Flush()
	}
	return nil
}
