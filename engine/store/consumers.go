package store

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/cockroachdb/pebble"
)

// MaxConsumersPerStream is how many consumers one stream may register.
const MaxConsumersPerStream = 20

var consumerNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,128}$`)

func (s *Store) consumerARN(stream string, c *consumerMeta) string {
	return fmt.Sprintf("%s/consumer/%s:%d", s.streamARN(stream), c.Name, c.CreatedMs/1000)
}

func (s *Store) consumerOut(st *stream, c *consumerMeta) Consumer {
	return Consumer{ConsumerName: c.Name, ConsumerARN: s.consumerARN(st.meta.Name, c), Status: c.Status,
		CreatedAt: time.UnixMilli(c.CreatedMs), StreamARN: s.streamARN(st.meta.Name)}
}

// streamByARN resolves a stream ARN.
func (s *Store) streamByARN(arn string) (*stream, error) {
	if arn == "" {
		return nil, errf(CodeValidation, "1 validation error detected: Value null at 'streamARN' failed to satisfy constraint: Member must not be null")
	}
	name, err := s.StreamNameFromARN(arn)
	if err != nil {
		return nil, err
	}
	return s.lookup(name)
}

// RegisterConsumer registers a named consumer of a stream. Registered
// consumers keep server-side per-shard checkpoints (SetCheckpoint).
func (s *Store) RegisterConsumer(streamARN, name string) (Consumer, error) {
	done, err := s.begin()
	if err != nil {
		return Consumer{}, err
	}
	defer done()
	if !consumerNameRE.MatchString(name) {
		return Consumer{}, errf(CodeValidation, "1 validation error detected: Value '%s' at 'consumerName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 1 and 128", name)
	}
	st, err := s.streamByARN(streamARN)
	if err != nil {
		return Consumer{}, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, c := range st.meta.Consumers {
		if c.Name == name {
			return Consumer{}, errf(CodeResourceInUse, "Consumer %s under stream %s already exists for account %s.", name, st.meta.Name, s.opts.AccountID)
		}
	}
	if len(st.meta.Consumers) >= MaxConsumersPerStream {
		return Consumer{}, errf(CodeLimitExceeded, "Stream %s under account %s already has %d registered consumers, the maximum.", st.meta.Name, s.opts.AccountID, MaxConsumersPerStream)
	}
	c := &consumerMeta{Name: name, CreatedMs: s.now().UnixMilli(), Status: ConsumerActive}
	if s.opts.TransitionDelay > 0 {
		c.Status = ConsumerCreating
	}
	st.meta.Consumers = append(st.meta.Consumers, c)
	if err := s.saveMeta(st); err != nil {
		return Consumer{}, err
	}
	if c.Status == ConsumerCreating {
		time.AfterFunc(s.opts.TransitionDelay, func() {
			done, err := s.begin()
			if err != nil {
				return
			}
			defer done()
			st.mu.Lock()
			defer st.mu.Unlock()
			if c.Status == ConsumerCreating {
				c.Status = ConsumerActive
				if err := s.saveMeta(st); err != nil {
					s.opts.Logger.Error("activate consumer", "consumer", name, "err", err)
				}
			}
		})
	}
	return s.consumerOut(st, c), nil
}

// findConsumer resolves a consumer by stream ARN and name, or by its ARN.
// Caller holds no lock; the stream is returned for the caller to lock.
func (s *Store) findConsumer(streamARN, name, consumerARN string) (*stream, string, error) {
	if consumerARN != "" {
		i := strings.Index(consumerARN, "/consumer/")
		if i < 0 {
			return nil, "", errf(CodeInvalidArgument, "%q is not a consumer ARN", consumerARN)
		}
		streamARN = consumerARN[:i]
		name, _, _ = strings.Cut(consumerARN[i+len("/consumer/"):], ":")
	}
	if streamARN == "" || name == "" {
		return nil, "", errf(CodeInvalidArgument, "Specify either ConsumerARN, or both StreamARN and ConsumerName.")
	}
	st, err := s.streamByARN(streamARN)
	if err != nil {
		return nil, "", err
	}
	return st, name, nil
}

func (s *Store) consumerIndex(st *stream, name string) (int, error) {
	for i, c := range st.meta.Consumers {
		if c.Name == name {
			return i, nil
		}
	}
	return -1, errf(CodeResourceNotFound, "Consumer %s under stream %s not found for account %s.", name, st.meta.Name, s.opts.AccountID)
}

// DeregisterConsumer removes a consumer and its checkpoints.
func (s *Store) DeregisterConsumer(streamARN, name, consumerARN string) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	st, name, err := s.findConsumer(streamARN, name, consumerARN)
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	i, err := s.consumerIndex(st, name)
	if err != nil {
		return err
	}
	st.meta.Consumers = append(st.meta.Consumers[:i], st.meta.Consumers[i+1:]...)
	b := s.db.NewBatch()
	defer b.Close()
	cp := append(streamPrefix(prefixCheckpoint, st.meta.ID), name...)
	cp = append(cp, 0)
	if err := b.DeleteRange(cp, prefixEnd(cp), nil); err != nil {
		return fmt.Errorf("delete checkpoints of consumer %s: %w", name, err)
	}
	mb, err := jsonMeta(st)
	if err != nil {
		return err
	}
	if err := b.Set(metaKey(st.meta.Name), mb, nil); err != nil {
		return fmt.Errorf("deregister consumer %s: %w", name, err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("deregister consumer %s: %w", name, err)
	}
	return nil
}

// DescribeConsumer describes a consumer, by stream ARN and name or by its ARN.
func (s *Store) DescribeConsumer(streamARN, name, consumerARN string) (Consumer, error) {
	st, name, err := s.findConsumer(streamARN, name, consumerARN)
	if err != nil {
		return Consumer{}, err
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	i, err := s.consumerIndex(st, name)
	if err != nil {
		return Consumer{}, err
	}
	return s.consumerOut(st, st.meta.Consumers[i]), nil
}

// ListConsumers lists a stream's registered consumers.
func (s *Store) ListConsumers(streamARN string) ([]Consumer, error) {
	st, err := s.streamByARN(streamARN)
	if err != nil {
		return nil, err
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make([]Consumer, 0, len(st.meta.Consumers))
	for _, c := range st.meta.Consumers {
		out = append(out, s.consumerOut(st, c))
	}
	return out, nil
}

// SetCheckpoint records that a registered consumer has processed a shard up
// to and including sequenceNumber. It is durable when it returns.
func (s *Store) SetCheckpoint(streamName, consumer, shardID, sequenceNumber string) error {
	done, err := s.begin()
	if err != nil {
		return err
	}
	defer done()
	st, err := s.lookup(streamName)
	if err != nil {
		return err
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	if _, err := s.consumerIndex(st, consumer); err != nil {
		return err
	}
	sh, err := s.shardOf(st, shardID)
	if err != nil {
		return err
	}
	sid, idx, _, err := parseSeq(sequenceNumber)
	if err != nil || sid != st.meta.ID || idx != sh.meta.Index {
		return errf(CodeInvalidArgument, "Sequence number %s does not belong to shard %s of stream %s.", sequenceNumber, shardID, streamName)
	}
	if err := s.db.Set(checkpointKey(st.meta.ID, consumer, sh.meta.Index), []byte(sequenceNumber), pebble.Sync); err != nil {
		return fmt.Errorf("save checkpoint of consumer %s on %s: %w", consumer, shardID, err)
	}
	return nil
}

// Checkpoints returns a registered consumer's checkpoints by shard id.
func (s *Store) Checkpoints(streamName, consumer string) (map[string]string, error) {
	st, err := s.lookup(streamName)
	if err != nil {
		return nil, err
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	if _, err := s.consumerIndex(st, consumer); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, sm := range st.meta.Shards {
		v, closer, err := s.db.Get(checkpointKey(st.meta.ID, consumer, sm.Index))
		if err == pebble.ErrNotFound {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read checkpoint of consumer %s: %w", consumer, err)
		}
		out[shardIDString(sm.Index)] = string(v)
		closer.Close()
	}
	return out, nil
}
