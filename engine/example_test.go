package engine_test

import (
	"fmt"
	"log"
	"os"

	"github.com/kdaproject/kda/engine"
	"github.com/kdaproject/kda/engine/store"
)

// Open a data directory, create a stream, put records and read them back.
func Example() {
	dir, _ := os.MkdirTemp("", "kda-example")
	defer os.RemoveAll(dir)

	eng, err := engine.Open(dir, engine.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()

	if err := eng.CreateStream(store.CreateStreamInput{StreamName: "clicks", ShardCount: 1}); err != nil {
		log.Fatal(err)
	}
	out, err := eng.PutRecords("clicks", []store.PutRecordInput{
		{PartitionKey: "user-1", Data: []byte(`{"page":"/home"}`)},
		{PartitionKey: "user-2", Data: []byte(`{"page":"/cart"}`)},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("failed:", out.FailedRecordCount)

	it, err := eng.GetShardIterator(store.GetShardIteratorInput{
		StreamName: "clicks", ShardID: out.Records[0].ShardID, Type: store.TrimHorizon,
	})
	if err != nil {
		log.Fatal(err)
	}
	got, err := eng.GetRecords(it, 100)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range got.Records {
		fmt.Println(r.PartitionKey, string(r.Data))
	}
	// Output:
	// failed: 0
	// user-1 {"page":"/home"}
	// user-2 {"page":"/cart"}
}

// Resume reading after a given record with AFTER_SEQUENCE_NUMBER.
func ExampleEngine_GetShardIterator_afterSequenceNumber() {
	dir, _ := os.MkdirTemp("", "kda-example")
	defer os.RemoveAll(dir)
	eng, err := engine.Open(dir, engine.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()
	_ = eng.CreateStream(store.CreateStreamInput{StreamName: "events", ShardCount: 1})
	first, err := eng.PutRecord("events", store.PutRecordInput{PartitionKey: "k", Data: []byte("one")})
	if err != nil {
		log.Fatal(err)
	}
	_, _ = eng.PutRecord("events", store.PutRecordInput{PartitionKey: "k", Data: []byte("two")})
	it, _ := eng.GetShardIterator(store.GetShardIteratorInput{
		StreamName: "events", ShardID: first.ShardID,
		Type: store.AfterSequenceNumber, SequenceNumber: first.SequenceNumber,
	})
	got, _ := eng.GetRecords(it, 10)
	for _, r := range got.Records {
		fmt.Println(string(r.Data))
	}
	// Output:
	// two
}
