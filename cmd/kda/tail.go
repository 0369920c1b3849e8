package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/spf13/cobra"
)

type tailFlags struct {
	from     string
	follow   bool
	consumer string
	limit    int
	poll     time.Duration
}

func newTailCmd(a *app) *cobra.Command {
	var f tailFlags
	cmd := &cobra.Command{
		Use:   "tail STREAM",
		Short: "Read a stream's records, all shards, parents before children",
		Long: `Read records from every shard of a stream and print them.

Shards are read in lineage order: a shard created by a split or merge is read
only after its parents have been read to their end, so the records of one
partition key come out in the order they were written, across reshards.

--from says where to start:
  trim-horizon      the oldest record kept (default)
  latest            only records written from now on
  <RFC3339 time>    records that arrived at or after that time, e.g. 2025-01-02T15:04:05Z
  <sequence number> that record and what follows it in its shard and the shard's
                    descendants (other shards are not read)

Without --follow, tail stops once every shard has been read to its end (or
--limit records were printed); with --follow it waits for new records until
interrupted.

--consumer NAME registers the consumer if needed and keeps a checkpoint per
shard: the sequence number of the last record printed. A later run with the
same name resumes after it; shards with no checkpoint start at --from. The
Kinesis API has no checkpoint operation, so checkpoints live on the kda
server, behind its REST route

  GET|PUT /v1/streams/{stream}/consumers/{consumer}/checkpoints
      body and answer: {"shardId-000000000000": "<sequence number>", ...}

(SigV4-signed like Kinesis calls), and in the store itself with --data.
--consumer therefore needs a kda server (or --data), not AWS.

Output: one line per record, "SHARD SEQUENCE KEY ARRIVAL DATA", with the data
as text when it is UTF-8 (quoted if it holds control characters) and as
"base64:..." otherwise. With --output json, one JSON object per line with
shardId, sequenceNumber, partitionKey, arrivalTime and data (or dataBase64).`,
		Example: `  kda tail clicks
  kda tail clicks --from latest --follow
  kda tail clicks --from 2025-01-02T15:04:05Z --limit 100 -o json
  kda tail clicks --consumer billing --follow`,
		Args: exactArgs("STREAM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.tail(cmd.Context(), args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "trim-horizon", "where to start: trim-horizon, latest, an RFC3339 time or a sequence number")
	fl.BoolVarP(&f.follow, "follow", "F", false, "keep waiting for new records")
	fl.StringVar(&f.consumer, "consumer", "", "consumer name: resume from and save per-shard checkpoints")
	fl.IntVarP(&f.limit, "limit", "n", 0, "stop after this many records (0: no limit)")
	fl.DurationVar(&f.poll, "poll", time.Second, "with --follow, how long to wait when every shard is idle")
	return cmd
}

// startPos is where a shard iterator starts.
type startPos struct {
	typ types.ShardIteratorType
	seq string
	at  time.Time
}

func parseFrom(s string) (startPos, error) {
	switch strings.ToLower(strings.ReplaceAll(s, "_", "-")) {
	case "trim-horizon", "oldest", "":
		return startPos{typ: types.ShardIteratorTypeTrimHorizon}, nil
	case "latest", "now":
		return startPos{typ: types.ShardIteratorTypeLatest}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return startPos{typ: types.ShardIteratorTypeAtTimestamp, at: t}, nil
	}
	if n, ok := new(big.Int).SetString(s, 10); ok && n.Sign() >= 0 {
		return startPos{typ: types.ShardIteratorTypeAtSequenceNumber, seq: s}, nil
	}
	return startPos{}, usagef("--from must be trim-horizon, latest, an RFC3339 time (2025-01-02T15:04:05Z) or a sequence number, not %q", s)
}

// shardState is where tail is with one shard.
type shardState int

const (
	shardPending shardState = iota // waiting for its parents
	shardReading
	shardDone // read to its end (or not to be read)
)

type tailShard struct {
	id       string
	parents  []string
	initial  bool // listed when tail started (so --from applies)
	state    shardState
	iterator string
	lastSeq  string
	caughtUp bool
	empties  int
	nextCall time.Time
}

// tailer reads a stream in lineage order.
type tailer struct {
	a        *app
	c        *kinesis.Client
	cps      checkpointStore
	stream   string
	consumer string
	from     startPos
	follow   bool
	limit    int
	poll     time.Duration
	out      io.Writer

	shards     map[string]*tailShard
	order      []string // shard ids in creation order
	checkpoint map[string]string
	dirty      map[string]string
	printed    int
}

// minCallGap keeps GetRecords on one shard within Kinesis' 5 calls/s.
const minCallGap = 200 * time.Millisecond

func (a *app) tail(ctx context.Context, stream string, f tailFlags) error {
	from, err := parseFrom(f.from)
	if err != nil {
		return err
	}
	if f.limit < 0 {
		return usagef("--limit must not be negative")
	}
	if f.poll < minCallGap {
		f.poll = minCallGap
	}
	be, err := a.backend(ctx)
	if err != nil {
		return err
	}
	t := &tailer{
		a: a, c: be.client, cps: be.checkpoints,
		stream: stream, consumer: f.consumer, from: from,
		follow: f.follow, limit: f.limit, poll: f.poll, out: a.stdout,
		shards:     map[string]*tailShard{},
		checkpoint: map[string]string{},
		dirty:      map[string]string{},
	}
	if f.consumer != "" {
		if !be.embedded && a.endpoint == awsEndpoint {
			return usagef("--consumer keeps checkpoints on a kda server; AWS has no checkpoint API")
		}
		if err := t.registerConsumer(ctx); err != nil {
			return err
		}
		cps, err := t.cps.Get(ctx, stream, f.consumer)
		if err != nil {
			return err
		}
		t.checkpoint = cps
	}
	err = t.run(ctx)
	// Save what was printed, even when interrupted.
	if serr := t.saveCheckpoints(context.WithoutCancel(ctx)); serr != nil {
		err = errors.Join(err, serr)
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil // Ctrl-C ends a tail normally
	}
	return err
}

func (t *tailer) registerConsumer(ctx context.Context) error {
	sum, err := t.c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(t.stream)})
	if err != nil {
		return t.a.apiErr("describe stream "+t.stream, err)
	}
	_, err = t.c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{
		StreamARN:    sum.StreamDescriptionSummary.StreamARN,
		ConsumerName: aws.String(t.consumer),
	})
	if err != nil && apiCode(err) != "ResourceInUseException" {
		return t.a.apiErr(fmt.Sprintf("register consumer %s on stream %s", t.consumer, t.stream), err)
	}
	return nil
}

func (t *tailer) run(ctx context.Context) error {
	listed, err := t.a.listShards(ctx, t.c, t.stream)
	if err != nil {
		return err
	}
	sortShardsByID(listed)
	for _, s := range listed {
		t.add(aws.ToString(s.ShardId), []string{aws.ToString(s.ParentShardId), aws.ToString(s.AdjacentParentShardId)}, true)
		ts := t.shards[aws.ToString(s.ShardId)]
		closed := s.SequenceNumberRange != nil && aws.ToString(s.SequenceNumberRange.EndingSequenceNumber) != ""
		if closed && t.from.typ == types.ShardIteratorTypeLatest && t.checkpoint[ts.id] == "" {
			ts.state = shardDone // nothing new will ever arrive in it
		}
	}
	if t.from.typ == types.ShardIteratorTypeAtSequenceNumber {
		if err := t.restrictToOwner(ctx); err != nil {
			return err
		}
	}

	for {
		if t.limit > 0 && t.printed >= t.limit {
			return nil
		}
		started, err := t.startReady(ctx)
		if err != nil {
			return err
		}
		progressed := started
		allCaughtUp := true
		for _, id := range t.order {
			s := t.shards[id]
			if s.state != shardReading {
				continue
			}
			if !t.follow && s.caughtUp {
				// Without --follow a shard is read up to the tip it had
				// when tail reached it, so a busy stream still ends.
				continue
			}
			n, finished, err := t.readOnce(ctx, s)
			if err != nil {
				return err
			}
			if n > 0 || finished {
				progressed = true
			}
			if !s.caughtUp {
				allCaughtUp = false
			}
			if t.limit > 0 && t.printed >= t.limit {
				return nil
			}
		}
		if err := t.saveCheckpoints(ctx); err != nil {
			return err
		}
		if !t.follow && allCaughtUp && !t.anyPendingReady() {
			return nil
		}
		if !progressed {
			wait := minCallGap
			if allCaughtUp {
				wait = t.poll
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
	}
}

// add records a shard tail knows about; parents are the non-empty ids.
func (t *tailer) add(id string, parents []string, initial bool) {
	if _, ok := t.shards[id]; ok {
		return
	}
	var ps []string
	for _, p := range parents {
		if p != "" {
			ps = append(ps, p)
		}
	}
	t.shards[id] = &tailShard{id: id, parents: ps, initial: initial}
	t.order = append(t.order, id)
	sort.Strings(t.order)
}

// restrictToOwner handles --from SEQUENCE: only the shard holding that
// sequence number and its descendants are read.
func (t *tailer) restrictToOwner(ctx context.Context) error {
	owner := ""
	for _, id := range t.order {
		_, err := t.c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName:             aws.String(t.stream),
			ShardId:                aws.String(id),
			ShardIteratorType:      types.ShardIteratorTypeAtSequenceNumber,
			StartingSequenceNumber: aws.String(t.from.seq),
		})
		if err == nil {
			owner = id
			break
		}
		if c := apiCode(err); c != "InvalidArgumentException" && c != "ResourceNotFoundException" {
			return t.a.apiErr("find the shard of sequence number "+t.from.seq, err)
		}
	}
	if owner == "" {
		return fmt.Errorf("no shard of stream %s holds sequence number %s", t.stream, t.from.seq)
	}
	keep := map[string]bool{owner: true}
	for changed := true; changed; {
		changed = false
		for _, id := range t.order {
			if keep[id] {
				continue
			}
			for _, p := range t.shards[id].parents {
				if keep[p] {
					keep[id], changed = true, true
				}
			}
		}
	}
	for _, id := range t.order {
		s := t.shards[id]
		switch {
		case !keep[id]:
			s.state = shardDone
		case id != owner:
			s.initial = false // descendants start at their beginning
		}
	}
	return nil
}

// parentsDone reports whether every parent of s has been read to its end.
// Parents tail does not know (trimmed by retention) count as done.
func (t *tailer) parentsDone(s *tailShard) bool {
	for _, p := range s.parents {
		if ps, ok := t.shards[p]; ok && ps.state != shardDone {
			return false
		}
	}
	return true
}

func (t *tailer) anyPendingReady() bool {
	for _, id := range t.order {
		if s := t.shards[id]; s.state == shardPending && t.parentsDone(s) {
			return true
		}
	}
	return false
}

// startReady gets iterators for the pending shards whose parents are done.
func (t *tailer) startReady(ctx context.Context) (bool, error) {
	started := false
	for changed := true; changed; {
		changed = false
		for _, id := range t.order {
			s := t.shards[id]
			if s.state != shardPending || !t.parentsDone(s) {
				continue
			}
			if err := t.openIterator(ctx, s); err != nil {
				return started, err
			}
			s.state = shardReading
			started, changed = true, true
		}
	}
	return started, nil
}

func (t *tailer) openIterator(ctx context.Context, s *tailShard) error {
	in := &kinesis.GetShardIteratorInput{StreamName: aws.String(t.stream), ShardId: aws.String(s.id)}
	switch {
	case s.lastSeq != "":
		in.ShardIteratorType, in.StartingSequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(s.lastSeq)
	case t.checkpoint[s.id] != "":
		in.ShardIteratorType, in.StartingSequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(t.checkpoint[s.id])
	case s.initial:
		in.ShardIteratorType = t.from.typ
		switch t.from.typ {
		case types.ShardIteratorTypeAtSequenceNumber:
			in.StartingSequenceNumber = aws.String(t.from.seq)
		case types.ShardIteratorTypeAtTimestamp:
			in.Timestamp = aws.Time(t.from.at)
		}
	default:
		in.ShardIteratorType = types.ShardIteratorTypeTrimHorizon
	}
	out, err := t.c.GetShardIterator(ctx, in)
	if err != nil {
		return t.a.apiErr(fmt.Sprintf("get iterator for %s of stream %s", s.id, t.stream), err)
	}
	s.iterator = aws.ToString(out.ShardIterator)
	if s.iterator == "" {
		s.state = shardDone
	}
	return nil
}

// readOnce makes one GetRecords call on s and prints what it returns. It
// reports how many records it printed and whether the shard ended.
func (t *tailer) readOnce(ctx context.Context, s *tailShard) (int, bool, error) {
	if wait := time.Until(s.nextCall); wait > 0 {
		select {
		case <-ctx.Done():
			return 0, false, ctx.Err()
		case <-time.After(wait):
		}
	}
	s.nextCall = time.Now().Add(minCallGap)
	limit := int32(10000)
	if t.limit > 0 {
		limit = int32(min(10000, t.limit-t.printed))
	}
	out, err := t.c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(s.iterator), Limit: aws.Int32(limit)})
	switch apiCode(err) {
	case "":
	case "ExpiredIteratorException":
		// Resume where we were with a fresh iterator.
		return 0, false, t.openIterator(ctx, s)
	case "ProvisionedThroughputExceededException":
		s.nextCall = time.Now().Add(time.Second)
		s.caughtUp = false
		return 0, false, nil
	default:
		return 0, false, t.a.apiErr(fmt.Sprintf("read %s of stream %s", s.id, t.stream), err)
	}
	for _, r := range out.Records {
		if err := t.print(s.id, r); err != nil {
			return 0, false, err
		}
		s.lastSeq = aws.ToString(r.SequenceNumber)
		t.printed++
	}
	if len(out.Records) > 0 && t.consumer != "" {
		t.dirty[s.id] = s.lastSeq
	}
	if len(out.Records) == 0 {
		s.empties++
	} else {
		s.empties = 0
	}
	// Caught up: at the tip (nothing behind, and the answer was not cut
	// short by the limit), or several empty answers in a row, for servers
	// that report lag loosely.
	behind := aws.ToInt64(out.MillisBehindLatest)
	s.caughtUp = (behind == 0 && len(out.Records) < int(limit)) || s.empties >= 5

	next := aws.ToString(out.NextShardIterator)
	if next == "" {
		s.state = shardDone
		s.caughtUp = true
		for _, ch := range out.ChildShards {
			t.add(aws.ToString(ch.ShardId), ch.ParentShards, false)
		}
		return len(out.Records), true, nil
	}
	s.iterator = next
	return len(out.Records), false, nil
}

func (t *tailer) saveCheckpoints(ctx context.Context) error {
	if t.consumer == "" || len(t.dirty) == 0 {
		return nil
	}
	if err := t.cps.Save(ctx, t.stream, t.consumer, t.dirty); err != nil {
		return err
	}
	for k, v := range t.dirty {
		t.checkpoint[k] = v
	}
	t.dirty = map[string]string{}
	return nil
}

// tailRecord is the JSON shape of one record printed by tail.
type tailRecord struct {
	ShardID        string    `json:"shardId"`
	SequenceNumber string    `json:"sequenceNumber"`
	PartitionKey   string    `json:"partitionKey"`
	ArrivalTime    time.Time `json:"arrivalTime"`
	Data           *string   `json:"data,omitempty"`
	DataBase64     string    `json:"dataBase64,omitempty"`
}

func (t *tailer) print(shard string, r types.Record) error {
	at := aws.ToTime(r.ApproximateArrivalTimestamp).UTC()
	var err error
	if t.a.jsonOutput() {
		rec := tailRecord{
			ShardID:        shard,
			SequenceNumber: aws.ToString(r.SequenceNumber),
			PartitionKey:   aws.ToString(r.PartitionKey),
			ArrivalTime:    at,
		}
		if utf8.Valid(r.Data) {
			s := string(r.Data)
			rec.Data = &s
		} else {
			rec.DataBase64 = base64.StdEncoding.EncodeToString(r.Data)
		}
		var b []byte
		if b, err = json.Marshal(rec); err == nil {
			_, err = fmt.Fprintf(t.out, "%s\n", b)
		}
	} else {
		_, err = fmt.Fprintf(t.out, "%s %s %s %s %s\n", shard, aws.ToString(r.SequenceNumber),
			displayKey(aws.ToString(r.PartitionKey)), at.Format("2006-01-02T15:04:05.000Z07:00"), displayData(r.Data))
	}
	if err != nil {
		return fmt.Errorf("write record: %w", err)
	}
	return nil
}

// displayData shows record data to a person: as is when it is printable
// UTF-8, quoted when it holds control characters, base64 otherwise.
func displayData(b []byte) string {
	if !utf8.Valid(b) {
		return "base64:" + base64.StdEncoding.EncodeToString(b)
	}
	s := string(b)
	for _, r := range s {
		if r != '\t' && unicode.IsControl(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// displayKey quotes a partition key only when it would not read as one word.
func displayKey(k string) string {
	if k == "" || strings.IndexFunc(k, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '"' }) >= 0 {
		return strconv.Quote(k)
	}
	return k
}
