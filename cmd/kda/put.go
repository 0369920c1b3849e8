package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Kinesis limits on one PutRecords call and one record, and Firehose's on
// one PutRecordBatch call and one record.
const (
	maxBatchRecords        = 500
	maxBatchBytes          = 5 << 20 // data plus partition keys
	maxRecordBytes         = 1 << 20
	maxDeliveryBatchBytes  = 4 << 20
	maxDeliveryRecordBytes = 1000 << 10
)

type putFlags struct {
	delivery   bool
	file       string
	json       bool
	keyField   string
	key        string
	retries    int
	progress   bool
	noProgress bool
}

func newPutCmd(a *app) *cobra.Command {
	var f putFlags
	cmd := &cobra.Command{
		Use:   "put STREAM [RECORD...]",
		Short: "Put records: from arguments, a file or stdin (one record per line)",
		Long: `Put records into a stream with PutRecords, in batches of up to 500 records
and 5 MiB. Records come from the arguments, from --file, or from stdin, one
record per line (empty lines are skipped).

Partition keys: --key K for all records; with --json, --key-field FIELD takes
each record's key from a field of the JSON object (dots reach into nested
objects: user.id); otherwise every record gets a random key, spreading
records over all shards.

Records the stream rejects one by one (throttling, internal failures) are
retried with backoff, up to --retries times. A summary goes to stdout; the
command fails if any record could not be put.`,
		Example: `  kda put clicks 'hello' 'world'
  kda put clicks --json --key-field user_id --file events.jsonl
  seq 1 100000 | kda put numbers --key fixed`,
		Args: minArgs(1, "a STREAM name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.put(cmd.Context(), args[0], args[1:], f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.delivery, "delivery", false, "put into the delivery stream of that name (kda's Firehose) with the Firehose API's PutRecordBatch: 500 records and 4 MiB per call, no partition keys, a newline is not added")
	fl.StringVarP(&f.file, "file", "f", "", `read records from this file ("-" for stdin)`)
	fl.BoolVar(&f.json, "json", false, "records are JSON lines; each line must be valid JSON")
	fl.StringVar(&f.keyField, "key-field", "", "with --json: take the partition key from this field")
	fl.StringVarP(&f.key, "key", "k", "", "use this partition key for every record")
	fl.IntVar(&f.retries, "retries", 8, "retries of records the stream rejected")
	fl.BoolVar(&f.progress, "progress", false, "show a progress bar on stderr even when it is not a terminal")
	fl.BoolVar(&f.noProgress, "no-progress", false, "never show a progress bar")
	return cmd
}

// putSummary is what `kda put` reports.
type putSummary struct {
	Stream           string      `json:"stream"`
	Records          int64       `json:"records"`
	Bytes            int64       `json:"bytes"`
	Failed           int64       `json:"failed"`
	Retried          int64       `json:"retried"`
	Seconds          float64     `json:"seconds"`
	RecordsPerSecond float64     `json:"recordsPerSecond"`
	Results          []putResult `json:"results,omitempty"`
}

// putResult is where one record went; reported for records given as
// arguments.
type putResult struct {
	ShardID        string `json:"shardId,omitempty"`
	SequenceNumber string `json:"sequenceNumber,omitempty"`
	ErrorCode      string `json:"errorCode,omitempty"`
	ErrorMessage   string `json:"errorMessage,omitempty"`
}

// recordSource yields records one at a time.
type recordSource interface {
	// next returns the next record's bytes and how many input bytes it used;
	// io.EOF at the end.
	next() (data []byte, consumed int64, err error)
}

type argSource struct{ args []string }

func (s *argSource) next() ([]byte, int64, error) {
	if len(s.args) == 0 {
		return nil, 0, io.EOF
	}
	d := s.args[0]
	s.args = s.args[1:]
	return []byte(d), int64(len(d)), nil
}

type lineSource struct {
	sc   *bufio.Scanner
	line int
}

func newLineSource(r io.Reader) *lineSource {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxRecordBytes+2)
	return &lineSource{sc: sc}
}

func (s *lineSource) next() ([]byte, int64, error) {
	var skipped int64
	for s.sc.Scan() {
		s.line++
		b := s.sc.Bytes()
		n := int64(len(b)) + 1
		b = bytes.TrimSuffix(b, []byte("\r"))
		if len(bytes.TrimSpace(b)) == 0 {
			skipped += n
			continue
		}
		// The scanner reuses its buffer; the batch keeps the record.
		return bytes.Clone(b), skipped + n, nil
	}
	if err := s.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, 0, fmt.Errorf("line %d: longer than the 1 MiB record limit", s.line+1)
		}
		return nil, 0, fmt.Errorf("read line %d: %w", s.line+1, err)
	}
	return nil, skipped, io.EOF
}

// keyFunc chooses a record's partition key.
type keyFunc func(data []byte) (string, error)

func makeKeyFunc(f putFlags) (keyFunc, error) {
	switch {
	case f.key != "" && f.keyField != "":
		return nil, usagef("give --key or --key-field, not both")
	case f.keyField != "" && !f.json:
		return nil, usagef("--key-field needs --json")
	case f.key != "":
		if n := len([]rune(f.key)); n > 256 {
			return nil, usagef("--key is %d characters; partition keys have at most 256", n)
		}
		return func([]byte) (string, error) { return f.key, nil }, nil
	case f.keyField != "":
		path := strings.Split(f.keyField, ".")
		return func(data []byte) (string, error) { return jsonKey(data, path) }, nil
	}
	rnd := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	return func([]byte) (string, error) { return strconv.FormatUint(rnd.Uint64(), 36), nil }, nil
}

// jsonKey reads the field at path from a JSON object as a partition key.
func jsonKey(data []byte, path []string) (string, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return "", fmt.Errorf("not valid JSON: %w", err)
	}
	for _, p := range path {
		obj, ok := v.(map[string]any)
		if !ok {
			return "", fmt.Errorf("no field %q: not a JSON object", strings.Join(path, "."))
		}
		if v, ok = obj[p]; !ok {
			return "", fmt.Errorf("no field %q", strings.Join(path, "."))
		}
	}
	var key string
	switch x := v.(type) {
	case string:
		key = x
	case float64:
		key = strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		key = strconv.FormatBool(x)
	case nil:
		return "", fmt.Errorf("field %q is null", strings.Join(path, "."))
	default:
		b, _ := json.Marshal(x)
		key = string(b)
	}
	if key == "" {
		return "", fmt.Errorf("field %q is empty", strings.Join(path, "."))
	}
	if n := len([]rune(key)); n > 256 {
		return "", fmt.Errorf("field %q is %d characters; partition keys have at most 256", strings.Join(path, "."), n)
	}
	return key, nil
}

func (a *app) put(ctx context.Context, stream string, args []string, f putFlags) error {
	if f.retries < 0 {
		return usagef("--retries must not be negative")
	}
	keyOf, err := makeKeyFunc(f)
	if err != nil {
		return err
	}
	if len(args) > 0 && f.file != "" {
		return usagef("give records as arguments or with --file, not both")
	}

	// Choose the input, and whether and how to show progress.
	var (
		src        recordSource
		total      int64 = -1 // input bytes, when known
		inputIsTTY bool
	)
	switch {
	case len(args) > 0:
		src = &argSource{args: args}
	case f.file != "" && f.file != "-":
		fh, err := os.Open(f.file)
		if err != nil {
			return fmt.Errorf("open records file: %w", err)
		}
		defer fh.Close()
		if st, err := fh.Stat(); err == nil && st.Mode().IsRegular() {
			total = st.Size()
		}
		src = newLineSource(fh)
	default:
		if fh, ok := a.stdin.(*os.File); ok {
			inputIsTTY = term.IsTerminal(int(fh.Fd()))
			if st, err := fh.Stat(); err == nil && st.Mode().IsRegular() {
				total = st.Size()
			}
		}
		if inputIsTTY {
			fmt.Fprintln(a.stderr, "Reading records from the terminal, one per line; end with Ctrl-D.")
		}
		src = newLineSource(a.stdin)
	}
	showBar := f.progress
	if !f.noProgress && !f.progress && len(args) == 0 && !inputIsTTY {
		if fh, ok := a.stderr.(*os.File); ok && term.IsTerminal(int(fh.Fd())) {
			showBar = total < 0 || total > 1<<20
		}
	}
	var bar *progressbar.ProgressBar
	if showBar && !f.noProgress {
		opts := []progressbar.Option{
			progressbar.OptionSetWriter(a.stderr),
			progressbar.OptionSetDescription("put " + stream),
			progressbar.OptionThrottle(100 * time.Millisecond),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionClearOnFinish(),
		}
		if total >= 0 {
			opts = append(opts, progressbar.OptionShowBytes(true), progressbar.OptionUseIECUnits(true))
		} else {
			opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("records"),
				// No spinner ticker: its goroutine reads the bar's state
				// without the bar's lock (a data race in progressbar v3.19).
				progressbar.OptionSetSpinnerChangeInterval(0))
		}
		bar = progressbar.NewOptions64(total, opts...)
	}

	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	var fh *firehose.Client
	if f.delivery {
		if a.be != nil && a.be.embedded {
			return usagef("--delivery needs a running server (--endpoint URL): delivery streams run inside kda serve")
		}
		o := c.Options()
		fh = firehose.New(firehose.Options{Region: o.Region, Credentials: o.Credentials, BaseEndpoint: o.BaseEndpoint,
			HTTPClient: o.HTTPClient, Retryer: o.Retryer})
	}
	p := &putter{
		firehose: fh,
		a:        a,
		client:   c,
		stream:   stream,
		retries:  f.retries,
		keepAll:  len(args) > 0,
		sum:      putSummary{Stream: stream},
	}
	start := time.Now()
	runErr := p.run(ctx, src, keyOf, f.json, func(recs int, consumed int64) {
		if bar == nil {
			return
		}
		if total >= 0 {
			_ = bar.Add64(consumed)
		} else {
			_ = bar.Add(recs)
		}
	})
	if bar != nil {
		_ = bar.Finish()
	}
	p.sum.Seconds = time.Since(start).Seconds()
	if p.sum.Seconds > 0 {
		p.sum.RecordsPerSecond = float64(p.sum.Records-p.sum.Failed) / p.sum.Seconds
	}
	if p.sum.Records > 0 || runErr == nil {
		if err := a.printPutSummary(p.sum); err != nil {
			return err
		}
	}
	if runErr != nil {
		return runErr
	}
	if p.sum.Failed > 0 {
		msg := fmt.Sprintf("%d of %d records could not be put after %d retries", p.sum.Failed, p.sum.Records, f.retries)
		if p.lastCode != "" {
			msg += fmt.Sprintf(" (last error %s: %s)", p.lastCode, p.lastMsg)
		}
		return errors.New(msg)
	}
	return nil
}

func (a *app) printPutSummary(s putSummary) error {
	if a.jsonOutput() {
		return printJSON(a.stdout, s)
	}
	for i, r := range s.Results {
		if r.ErrorCode != "" {
			fmt.Fprintf(a.stdout, "record %d: failed: %s: %s\n", i+1, r.ErrorCode, r.ErrorMessage)
		} else {
			fmt.Fprintf(a.stdout, "record %d: %s %s\n", i+1, r.ShardID, r.SequenceNumber)
		}
	}
	fmt.Fprintf(a.stdout, "Put %d records (%s) to %s in %.2fs: %.0f records/s, %d failed",
		s.Records-s.Failed, humanBytes(s.Bytes), s.Stream, s.Seconds, s.RecordsPerSecond, s.Failed)
	if s.Retried > 0 {
		fmt.Fprintf(a.stdout, ", %d retried", s.Retried)
	}
	fmt.Fprintln(a.stdout)
	return nil
}

// putter sends records in PutRecords batches and retries the ones the stream
// rejects.
type putter struct {
	a      *app
	client *kinesis.Client
	// firehose, when set, sends the batches to a delivery stream instead.
	firehose *firehose.Client
	stream   string
	retries  int
	keepAll  bool // record every result (for records given as arguments)

	sum              putSummary
	lastCode         string
	lastMsg          string
	batch            []types.PutRecordsRequestEntry
	batchIdx         []int // each entry's index in sum.Results when keepAll
	batchBytes       int
	batchConsumption int64
}

func (p *putter) run(ctx context.Context, src recordSource, keyOf keyFunc, validateJSON bool, progress func(recs int, consumed int64)) error {
	n := 0
	for {
		data, consumed, err := src.next()
		if errors.Is(err, io.EOF) {
			p.batchConsumption += consumed
			break
		}
		if err != nil {
			return err
		}
		n++
		if len(data) > maxRecordBytes {
			return fmt.Errorf("record %d is %s; Kinesis records hold at most 1 MiB", n, humanBytes(int64(len(data))))
		}
		if validateJSON && !json.Valid(data) {
			return fmt.Errorf("record %d is not valid JSON (drop --json to send lines as they are)", n)
		}
		key, err := keyOf(data)
		if err != nil {
			return fmt.Errorf("record %d: partition key: %w", n, err)
		}
		size := len(data) + len(key)
		limit := maxBatchBytes
		if p.firehose != nil {
			size, limit = len(data), maxDeliveryBatchBytes
			if len(data) > maxDeliveryRecordBytes {
				return fmt.Errorf("record %d is %s; Firehose records hold at most 1,000 KiB", n, humanBytes(int64(len(data))))
			}
		}
		if len(p.batch) == maxBatchRecords || p.batchBytes+size > limit {
			if err := p.flush(ctx, progress); err != nil {
				return err
			}
		}
		p.batch = append(p.batch, types.PutRecordsRequestEntry{Data: data, PartitionKey: aws.String(key)})
		if p.keepAll {
			p.batchIdx = append(p.batchIdx, len(p.sum.Results))
			p.sum.Results = append(p.sum.Results, putResult{})
		}
		p.batchBytes += size
		p.batchConsumption += consumed
		p.sum.Records++
		p.sum.Bytes += int64(len(data))
	}
	return p.flush(ctx, progress)
}

// flush sends the pending batch, retrying rejected records with exponential
// backoff; records still rejected after the last retry count as failed.
// send puts one batch with Kinesis' PutRecords, or with Firehose's
// PutRecordBatch when the target is a delivery stream, and answers in
// PutRecords' shape.
func (p *putter) send(ctx context.Context, entries []types.PutRecordsRequestEntry) (*kinesis.PutRecordsOutput, error) {
	if p.firehose == nil {
		return p.client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(p.stream), Records: entries})
	}
	recs := make([]fhtypes.Record, len(entries))
	for i, e := range entries {
		recs[i] = fhtypes.Record{Data: e.Data}
	}
	out, err := p.firehose.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(p.stream), Records: recs})
	if err != nil {
		return nil, err
	}
	res := &kinesis.PutRecordsOutput{Records: make([]types.PutRecordsResultEntry, len(out.RequestResponses))}
	for i, r := range out.RequestResponses {
		res.Records[i] = types.PutRecordsResultEntry{SequenceNumber: r.RecordId, ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage}
	}
	return res, nil
}

func (p *putter) flush(ctx context.Context, progress func(recs int, consumed int64)) error {
	entries, idx := p.batch, p.batchIdx
	recs, consumed := len(entries), p.batchConsumption
	p.batch, p.batchIdx, p.batchBytes, p.batchConsumption = nil, nil, 0, 0
	if len(entries) == 0 {
		progress(0, consumed)
		return nil
	}
	backoff := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		out, err := p.send(ctx, entries)
		if err != nil {
			p.sum.Failed += int64(len(entries))
			return p.a.apiErr(fmt.Sprintf("put %d records to stream %s", len(entries), p.stream), err)
		}
		var retryEntries []types.PutRecordsRequestEntry
		var retryIdx []int
		for i, r := range out.Records {
			if i >= len(entries) {
				break
			}
			res := putResult{
				ShardID:        aws.ToString(r.ShardId),
				SequenceNumber: aws.ToString(r.SequenceNumber),
				ErrorCode:      aws.ToString(r.ErrorCode),
				ErrorMessage:   aws.ToString(r.ErrorMessage),
			}
			if res.ErrorCode != "" {
				p.lastCode, p.lastMsg = res.ErrorCode, res.ErrorMessage
				retryEntries = append(retryEntries, entries[i])
				if p.keepAll {
					retryIdx = append(retryIdx, idx[i])
				}
			}
			if p.keepAll {
				p.sum.Results[idx[i]] = res
			}
		}
		if len(out.Records) < len(entries) {
			return fmt.Errorf("put records to stream %s: the server answered %d results for %d records", p.stream, len(out.Records), len(entries))
		}
		if len(retryEntries) == 0 {
			break
		}
		if attempt == p.retries {
			p.sum.Failed += int64(len(retryEntries))
			break
		}
		p.sum.Retried += int64(len(retryEntries))
		select {
		case <-ctx.Done():
			p.sum.Failed += int64(len(retryEntries))
			return fmt.Errorf("put records to stream %s: %w", p.stream, ctx.Err())
		case <-time.After(backoff + time.Duration(rand.Int64N(int64(backoff/2)))):
		}
		backoff = min(backoff*2, 5*time.Second)
		entries, idx = retryEntries, retryIdx
	}
	progress(recs, consumed)
	return nil
}
