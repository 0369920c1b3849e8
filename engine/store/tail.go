package store

// TailIterator returns an iterator at the last n records of a shard: reading
// it gives the shard's newest records (fewer when it holds fewer). It is for
// peeking at a stream (the REST API's record tail, schema discovery), which
// wants the newest records without reading the shard from its start.
func (s *Store) TailIterator(streamName, shardID string, n int) (string, error) {
	iter, err := s.GetShardIterator(GetShardIteratorInput{StreamName: streamName, ShardID: shardID, Type: Latest})
	if err != nil {
		return "", err
	}
	pos, err := s.decodeIterator(iter)
	if err != nil {
		return "", err
	}
	// LATEST is the counter after the last record; records start at 1.
	if n > 0 && pos.counter > uint64(n) {
		pos.counter -= uint64(n)
	} else {
		pos.counter = 1
	}
	return s.encodeIterator(pos), nil
}
