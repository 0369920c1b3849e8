package store

import "time"

// Store is the durable shard store. Safe for concurrent use.
type Store struct{ opts Options }

var errTODO = errf(CodeInternalFailure, "not implemented yet")

func Open(dir string, opts Options) (*Store, error) { return nil, errTODO }
func (s *Store) Close() error                       { return nil }

func (s *Store) CreateStream(in CreateStreamInput) error                 { return errTODO }
func (s *Store) DeleteStream(name string, enforceConsumerDeletion bool) error { return errTODO }
func (s *Store) DescribeStream(name string) (StreamDescription, error)  { return StreamDescription{}, errTODO }
func (s *Store) ListStreams() []StreamSummary                           { return nil }
func (s *Store) StreamNameFromARN(arn string) (string, error)           { return "", errTODO }
func (s *Store) PutRecord(stream string, rec PutRecordInput) (PutRecordResult, error) {
	return PutRecordResult{}, errTODO
}
func (s *Store) PutRecords(stream string, recs []PutRecordInput) (PutRecordsOutput, error) {
	return PutRecordsOutput{}, errTODO
}
func (s *Store) GetShardIterator(in GetShardIteratorInput) (string, error) { return "", errTODO }
func (s *Store) GetRecords(iterator string, limit int) (GetRecordsOutput, error) {
	return GetRecordsOutput{}, errTODO
}
func (s *Store) SplitShard(stream, shardID, newStartingHashKey string) error { return errTODO }
func (s *Store) MergeShards(stream, shardID, adjacentShardID string) error  { return errTODO }
func (s *Store) UpdateShardCount(stream string, target int) (UpdateShardCountOutput, error) {
	return UpdateShardCountOutput{}, errTODO
}
func (s *Store) IncreaseRetention(stream string, hours int) error      { return errTODO }
func (s *Store) DecreaseRetention(stream string, hours int) error      { return errTODO }
func (s *Store) UpdateStreamMode(stream string, mode StreamMode) error { return errTODO }
func (s *Store) AddTags(stream string, tags map[string]string) error   { return errTODO }
func (s *Store) RemoveTags(stream string, keys []string) error         { return errTODO }
func (s *Store) ListTags(stream string) (map[string]string, error)     { return nil, errTODO }
func (s *Store) RegisterConsumer(streamARN, name string) (Consumer, error) {
	return Consumer{}, errTODO
}
func (s *Store) DeregisterConsumer(streamARN, name, consumerARN string) error { return errTODO }
func (s *Store) DescribeConsumer(streamARN, name, consumerARN string) (Consumer, error) {
	return Consumer{}, errTODO
}
func (s *Store) ListConsumers(streamARN string) ([]Consumer, error) { return nil, errTODO }
func (s *Store) SetCheckpoint(stream, consumer, shardID, sequenceNumber string) error {
	return errTODO
}
func (s *Store) Checkpoints(stream, consumer string) (map[string]string, error) { return nil, errTODO }
func (s *Store) DescribeLimits() AccountLimits                                  { return AccountLimits{} }
func (s *Store) Stats() []StreamStats                                            { return nil }

var _ = time.Now
