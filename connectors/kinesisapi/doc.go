// Package kinesisapi is kda's Kinesis-compatible HTTP face: it lets the AWS
// SDKs, the AWS CLI, the KCL, Fluent Bit and friends talk to a kda shard
// store as if it were Amazon Kinesis Data Streams.
//
// # Data flow
//
// Every request is POST / with an X-Amz-Target header naming the operation
// (Kinesis_20131202.<Op>). A request passes through these steps, each of which
// can end it with an AWS-shaped error:
//
//  1. recover: a panic anywhere below becomes InternalFailure (HTTP 500);
//  2. content type: AWS JSON 1.1 (application/x-amz-json-1.1, or
//     application/json) or CBOR (application/x-amz-cbor-1.1); the response is
//     written in the request's format;
//  3. target: unknown targets get UnknownOperationException, operations kda
//     knows but does not implement get an InvalidArgumentException that says
//     so — nothing pretends to work;
//  4. SigV4: when Options carries credentials, the Authorization header is
//     verified (see sigv4.go); without credentials any signature is accepted;
//  5. decoding: the body is decoded into the operation's input structure
//     (SerializationException when the body is not well-formed or a field has
//     the wrong type);
//  6. shape validation: required fields, enumerations and numeric ranges of
//     the AWS model (ValidationException, with AWS's "1 validation error
//     detected: ..." wording);
//  7. the store call: engine/store validates names, sizes and limits and
//     returns *store.Error whose Code is already an AWS error type name, which
//     is sent back unchanged (HTTP 400, or 500 for InternalFailure).
//
// Paging that the store does not do itself (DescribeStream, ListStreams,
// ListShards, ListStreamConsumers, ListTagsForStream) is done here over the
// store's complete answers; continuation tokens are opaque, carry their
// issue time and expire after five minutes as AWS's do.
//
// SubscribeToShard (enhanced fan-out) is the one operation that does not
// answer with a single document: subscribe.go streams AWS event-stream
// messages for up to five minutes.
//
// # Wire formats
//
// JSON blobs are base64 strings and timestamps are fractional epoch seconds,
// always written as plain decimals (the Java SDK's parser rejects exponent
// notation). CBOR blobs are byte strings and timestamps are CBOR tag 1
// carrying epoch milliseconds, in both directions, as the Java SDKs (and so
// the KCL, Flink and the Kinesis Agent) expect.
//
// The data path is hand-written (jsonreader.go, fastjson.go): PutRecords,
// PutRecord and GetRecords requests in JSON are decoded by a small pull
// parser, and PutRecords and GetRecords answers are encoded directly in both
// formats. In BenchmarkSDKPutRecords encoding/json.Unmarshal was the largest
// single cost (35% of CPU, more than the store); FuzzDecodeJSON checks that
// the hand-written decoder agrees with encoding/json on every input.
package kinesisapi
