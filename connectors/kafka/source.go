package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kdaproject/kda/connectors/source"
)

// SourceConfig is the Kafka source's configuration.
type SourceConfig struct {
	Brokers     []string `json:"brokers"`
	Topic       string   `json:"topic"`
	StartOffset string   `json:"startOffset,omitempty"`
	Timeout     string   `json:"timeout,omitempty"`
}

// Start offsets of SourceConfig.StartOffset.
const (
	StartEarliest = "earliest"
	StartLatest   = "latest"
)

// pollWait bounds one Poll when no message arrives.
const pollWait = time.Second

// maxPoll bounds the messages one Poll returns.
const maxPoll = 5000

// partitionRefresh is how often Poll looks for partitions added to the
// topic.
const partitionRefresh = 30 * time.Second

// SourceConnector declares the Kafka source.
func SourceConnector() source.Connector {
	return source.Connector{
		Kind:    Kind,
		Doc:     "read every partition of a Kafka topic from offsets kda keeps",
		Example: json.RawMessage(`{"brokers": ["127.0.0.1:9092"], "topic": "orders", "startOffset": "earliest"}`),
		Open: func(ctx context.Context, config json.RawMessage) (source.Source, error) {
			return OpenSource(config)
		},
	}
}

// Source reads every partition of one topic. Configuration (JSON, unknown
// fields are an error):
//
//	{
//	  "brokers": ["127.0.0.1:9092"], // required: seed brokers, host:port
//	  "topic": "orders",             // required
//	  "startOffset": "earliest",     // "earliest" (default) or "latest": where partitions without a saved position start
//	  "timeout": "10s"               // connecting and each metadata request
//	}
//
// It consumes partitions directly (no consumer group, nothing committed to
// Kafka): the positions live in kda, next to the copied records, and are
// the offset of the last message copied per partition (partition "3",
// position "41"). Seek starts each partition at its saved offset + 1.
// "latest" is resolved to concrete offsets when the bridge first seeks, so
// a partition that has not yet had a message copied does not skip
// messages when the bridge re-seeks after an error; after a restart, such
// partitions start at the then-latest offset again. Partitions added to
// the topic later are found within 30 seconds and read from their start.
// If retention deleted the messages after a saved offset, reading resumes
// at the earliest offset still kept (the gap is lost in Kafka).
//
// Poll returns the messages fetched within a second, or an error when no
// broker could be reached (the bridge then backs off and seeks again, which
// reconnects). Lag is the high watermark minus the next offset, summed over
// the partitions fetched so far. Transactional messages are read
// uncommitted, as franz-go's default does.
type Source struct {
	brokers []string
	topic   string
	latest  bool
	timeout time.Duration

	cl          *kgo.Client
	partitions  map[int32]bool
	resolved    map[int32]int64 // "latest" resolved for partitions without a position
	next, hwm   map[int32]int64
	lastRefresh time.Time

	mu      sync.Mutex
	connErr error // the last failed broker connection, cleared by a success
}

// OpenSource validates a configuration and returns a source; it does not
// connect (the first Seek does).
func OpenSource(config json.RawMessage) (*Source, error) {
	var c SourceConfig
	if err := decodeStrict(config, &c); err != nil {
		return nil, fmt.Errorf("kafka source config: %w", err)
	}
	if err := checkBrokers(c.Brokers); err != nil {
		return nil, fmt.Errorf("kafka source config: %w", err)
	}
	if c.Topic == "" {
		return nil, errors.New("kafka source config: topic is required, e.g. \"orders\"")
	}
	if err := validTopic(c.Topic); err != nil {
		return nil, fmt.Errorf("kafka source config: topic: %v", err)
	}
	s := &Source{brokers: c.Brokers, topic: c.Topic, resolved: map[int32]int64{}}
	switch c.StartOffset {
	case "", StartEarliest:
	case StartLatest:
		s.latest = true
	default:
		return nil, fmt.Errorf("kafka source config: startOffset %q: want %q or %q", c.StartOffset, StartEarliest, StartLatest)
	}
	var err error
	if s.timeout, err = parseTimeout(c.Timeout); err != nil {
		return nil, fmt.Errorf("kafka source config: %w", err)
	}
	return s, nil
}

// OnBrokerConnect implements kgo.HookBrokerConnect: Poll reports the last
// failed connection when nothing arrives.
func (s *Source) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	s.mu.Lock()
	s.connErr = err
	s.mu.Unlock()
}

// Seek (re)connects and starts every partition after its position in
// from, or at the start offset.
func (s *Source) Seek(ctx context.Context, from source.Positions) error {
	s.closeClient()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(s.brokers...),
		kgo.ClientID("kda-source"),
		kgo.DialTimeout(min(s.timeout, DefaultTimeout)),
		kgo.RetryTimeout(s.timeout),
		kgo.FetchMaxWait(pollWait/2),
		kgo.WithHooks(s),
		// Used only when a saved offset is out of range (deleted by
		// retention): resume at the earliest offset kept.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		return fmt.Errorf("kafka: client for %v: %w", s.brokers, err)
	}
	parts, err := s.listPartitions(ctx, cl)
	if err != nil {
		cl.Close()
		return err
	}
	offsets := map[int32]kgo.Offset{}
	s.next, s.hwm = map[int32]int64{}, map[int32]int64{}
	var unresolved []int32
	for _, p := range parts {
		if pos, ok := from[strconv.Itoa(int(p))]; ok {
			o, err := strconv.ParseInt(pos, 10, 64)
			if err != nil || o < 0 {
				cl.Close()
				return fmt.Errorf("kafka: saved position %q of partition %d is not an offset", pos, p)
			}
			offsets[p] = kgo.NewOffset().At(o + 1)
			s.next[p] = o + 1
		} else if o, ok := s.resolved[p]; ok {
			offsets[p] = kgo.NewOffset().At(o)
		} else if s.latest {
			unresolved = append(unresolved, p)
		} else {
			offsets[p] = kgo.NewOffset().AtStart()
		}
	}
	if len(unresolved) > 0 {
		ends, err := s.endOffsets(ctx, cl, unresolved)
		if err != nil {
			cl.Close()
			return err
		}
		for p, o := range ends {
			s.resolved[p] = o
			offsets[p] = kgo.NewOffset().At(o)
		}
	}
	s.partitions = map[int32]bool{}
	for _, p := range parts {
		s.partitions[p] = true
	}
	s.cl, s.lastRefresh = cl, time.Now()
	s.cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{s.topic: offsets})
	return nil
}

// listPartitions asks for the topic's partitions.
func (s *Source) listPartitions(ctx context.Context, cl *kgo.Client) ([]int32, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(s.topic)
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("kafka: metadata of topic %s from %v: %w", s.topic, s.brokers, err)
	}
	if len(resp.Topics) != 1 {
		return nil, fmt.Errorf("kafka: metadata of topic %s: %d topics in the answer", s.topic, len(resp.Topics))
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		if errors.Is(err, kerr.UnknownTopicOrPartition) {
			return nil, fmt.Errorf("kafka: topic %s does not exist on %v: create it (kda retries until it exists)", s.topic, s.brokers)
		}
		return nil, fmt.Errorf("kafka: metadata of topic %s: %w", s.topic, err)
	}
	var parts []int32
	for _, p := range resp.Topics[0].Partitions {
		parts = append(parts, p.Partition)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	return parts, nil
}

// endOffsets lists the latest offsets of partitions.
func (s *Source) endOffsets(ctx context.Context, cl *kgo.Client, parts []int32) (map[int32]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req := kmsg.NewPtrListOffsetsRequest()
	t := kmsg.NewListOffsetsRequestTopic()
	t.Topic = s.topic
	for _, p := range parts {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition = p
		rp.Timestamp = -1 // latest
		t.Partitions = append(t.Partitions, rp)
	}
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("kafka: latest offsets of topic %s: %w", s.topic, err)
	}
	out := map[int32]int64{}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
				return nil, fmt.Errorf("kafka: latest offset of %s partition %d: %w", s.topic, rp.Partition, err)
			}
			out[rp.Partition] = rp.Offset
		}
	}
	for _, p := range parts {
		if _, ok := out[p]; !ok {
			return nil, fmt.Errorf("kafka: no latest offset for %s partition %d", s.topic, p)
		}
	}
	return out, nil
}

// refreshPartitions starts partitions added to the topic since Seek.
func (s *Source) refreshPartitions(ctx context.Context) {
	if time.Since(s.lastRefresh) < partitionRefresh {
		return
	}
	s.lastRefresh = time.Now()
	parts, err := s.listPartitions(ctx, s.cl)
	if err != nil {
		return // Poll reports connection trouble; try again later
	}
	added := map[int32]kgo.Offset{}
	for _, p := range parts {
		if !s.partitions[p] {
			s.partitions[p] = true
			added[p] = kgo.NewOffset().AtStart()
		}
	}
	if len(added) > 0 {
		s.cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{s.topic: added})
	}
}

// Poll returns the messages fetched within about a second.
func (s *Source) Poll(ctx context.Context) ([]source.Message, error) {
	if s.cl == nil {
		return nil, errors.New("kafka: Poll before Seek")
	}
	s.refreshPartitions(ctx)
	pctx, cancel := context.WithTimeout(ctx, pollWait)
	defer cancel()
	fetches := s.cl.PollRecords(pctx, maxPoll)
	if fetches.IsClientClosed() {
		return nil, errors.New("kafka: the client is closed")
	}
	var ferr error
	fetches.EachError(func(topic string, p int32, err error) {
		if ferr == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			ferr = fmt.Errorf("kafka: fetch %s partition %d: %w", topic, p, err)
		}
	})
	if ferr != nil {
		return nil, ferr
	}
	var out []source.Message
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if fp.HighWatermark > 0 {
			s.hwm[fp.Partition] = fp.HighWatermark
		}
		part := strconv.Itoa(int(fp.Partition))
		for _, r := range fp.Records {
			out = append(out, source.Message{
				Key:       r.Key,
				Value:     r.Value,
				Timestamp: r.Timestamp,
				Partition: part,
				Position:  strconv.FormatInt(r.Offset, 10),
			})
			s.next[fp.Partition] = r.Offset + 1
		}
	})
	if len(out) == 0 {
		s.mu.Lock()
		err := s.connErr
		s.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("kafka: brokers %v unreachable: %w", s.brokers, err)
		}
	}
	return out, nil
}

// Lag implements source.Lagger.
func (s *Source) Lag() (int64, bool) {
	if len(s.hwm) == 0 {
		return 0, false
	}
	var n int64
	for p, h := range s.hwm {
		if d := h - s.next[p]; d > 0 {
			n += d
		}
	}
	return n, true
}

func (s *Source) closeClient() {
	if s.cl != nil {
		s.cl.Close()
		s.cl = nil
	}
	s.mu.Lock()
	s.connErr = nil
	s.mu.Unlock()
}

// Close closes the consumer.
func (s *Source) Close() error {
	s.closeClient()
	return nil
}
