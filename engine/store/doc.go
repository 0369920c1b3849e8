// Package store is kda's durable shard store: streams of ordered, immutable,
// replayable shards kept in Pebble.
//
// # Model
//
// A stream has shards; each open shard owns a contiguous range of the
// 128-bit hash-key space. A record goes to the open shard whose range holds
// MD5(partition key) read as a big-endian unsigned integer, or its explicit
// hash key. Within a shard, sequence numbers strictly increase and are never
// reused, not after a restart and not after resharding: a sequence number
// encodes the stream's incarnation, the shard and a per-shard counter, and is
// written as a decimal string as the AWS SDKs expect.
//
// # Durability
//
// PutRecords returns only after its records are in the synced Pebble WAL.
// Concurrent puts are gathered by one committer into a single Pebble batch and
// a single sync (group commit). The records of one put for one shard are stored
// as one Pebble value keyed by the shard and the first record's counter, so a
// batch of 500 records costs one key, not 500. Records are never edited or
// deleted one by one; retention trims whole ranges with range deletes.
//
// # Reading
//
// GetShardIterator returns an opaque, signed token that names the stream
// incarnation, the shard and the next counter to read; it expires after
// Options.IteratorTTL. GetRecords reads from there and returns the next
// iterator. At the end of a closed shard NextShardIterator is empty and
// ChildShards names its children, so a consumer that follows lineage reads
// parents before children.
//
// # Errors
//
// Every failure a caller can act on is an *Error whose Code is the AWS error
// type name (ResourceNotFoundException, InvalidArgumentException, ...); the
// HTTP face answers with it unchanged. Arguments given by name (stream names,
// shard ids, ARNs) are validated here, so the embedded API and the HTTP API
// reject bad input the same way.
package store
