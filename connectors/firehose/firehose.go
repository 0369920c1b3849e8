// Package firehose is kda's Firehose-compatible HTTP API: the AWS JSON 1.1
// operations Firehose_20150804.CreateDeliveryStream, DeleteDeliveryStream,
// DescribeDeliveryStream, ListDeliveryStreams, PutRecord and PutRecordBatch
// over a delivery.Manager, so that AWS SDKs and tools that put into
// Firehose work against kda unchanged. kda serve routes every request
// whose X-Amz-Target starts with TargetPrefix here, on the same port as
// the Kinesis API.
//
// Requests and answers have Firehose's shapes. kda's own extensions
// (SinkDestination for record sinks, KdaTransformation, KdaSchema,
// KdaPartitionKeys) travel in the same JSON. Errors are Firehose's types
// ({"__type", "message"}, HTTP 400, or 503 for ServiceUnavailableException)
// so that SDK retry logic behaves; operations kda does not implement
// answer an error naming them.
package firehose

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/kinesisapi"
)

// TargetPrefix starts the X-Amz-Target header of every Firehose request.
const TargetPrefix = "Firehose_20150804."

// Limits of the API, as Firehose's.
const (
	maxBodyBytes    = 5 << 20 // a 4 MiB batch grows by a third in base64
	maxBatchRecords = 500
	maxListLimit    = 10000
	defaultListSize = 10
)

// Options configure the API.
type Options struct {
	// AccessKey and SecretKey, when set, require SigV4-signed requests
	// (the same keys as the Kinesis API).
	AccessKey, SecretKey string
	// Now is the clock signatures are checked against (default time.Now).
	Now func() time.Time
	// Logger receives unexpected failures (default: discarded).
	Logger *slog.Logger
}

// New returns the handler of the Firehose API over m.
func New(m *delivery.Manager, opts Options) http.Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &handler{m: m, opts: opts}
}

type handler struct {
	m    *delivery.Manager
	opts Options
}

// apiError is answered as {"__type", "message"}.
type apiError struct {
	Code    string `json:"__type"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, TargetPrefix)
	if !ok {
		writeError(w, &apiError{Code: "UnknownOperationException", Message: fmt.Sprintf("X-Amz-Target %q is not a Firehose_20150804 operation", target)})
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, &apiError{Code: "SerializationException", Message: "Firehose operations are POST requests"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		writeError(w, &apiError{Code: "SerializationException", Message: "read request: " + err.Error()})
		return
	}
	if len(body) > maxBodyBytes {
		writeError(w, &apiError{Code: delivery.CodeInvalidArgument, Message: fmt.Sprintf("the request is larger than %d bytes", maxBodyBytes)})
		return
	}
	if h.opts.AccessKey != "" {
		err := kinesisapi.VerifySignature(r, body, kinesisapi.Options{AccessKey: h.opts.AccessKey, SecretKey: h.opts.SecretKey, Now: h.opts.Now, SigningName: "firehose"})
		if err != nil {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(&apiError{Code: kinesisapi.ErrorCode(err), Message: err.Error()})
			return
		}
	}
	var out any
	switch op {
	case "CreateDeliveryStream":
		out, err = h.create(body)
	case "DeleteDeliveryStream":
		out, err = h.delete(body)
	case "DescribeDeliveryStream":
		out, err = h.describe(body)
	case "ListDeliveryStreams":
		out, err = h.list(body)
	case "PutRecord":
		out, err = h.putRecord(body)
	case "PutRecordBatch":
		out, err = h.putRecordBatch(body)
	case "UpdateDestination":
		out, err = h.updateDestination(body)
	case "TagDeliveryStream", "UntagDeliveryStream", "ListTagsForDeliveryStream",
		"StartDeliveryStreamEncryption", "StopDeliveryStreamEncryption":
		err = &apiError{Code: delivery.CodeInvalidArgument, Message: op + " is not supported by kda yet: delete and create the delivery stream to change it"}
	default:
		err = &apiError{Code: "UnknownOperationException", Message: "unknown Firehose operation " + op}
	}
	if err != nil {
		writeError(w, h.toAPIError(err))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func (h *handler) toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var de *delivery.Error
	if errors.As(err, &de) {
		// A connector's error may quote the URL it was given.
		return &apiError{Code: de.Code, Message: delivery.RedactString(de.Message)}
	}
	h.opts.Logger.Error("firehose API failure", "err", err)
	return &apiError{Code: delivery.CodeServiceUnavailable, Message: delivery.RedactString(err.Error())}
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	status := http.StatusBadRequest
	if e.Code == delivery.CodeServiceUnavailable {
		status = http.StatusServiceUnavailable
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
}

// decode reads a request body strictly enough to name a misspelt field.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return &apiError{Code: "SerializationException", Message: "request body: " + err.Error()}
	}
	return nil
}

func (h *handler) create(body []byte) (any, error) {
	var def delivery.Definition
	if err := decode(body, &def); err != nil {
		return nil, err
	}
	d, err := h.m.Create(def)
	if err != nil {
		return nil, err
	}
	return map[string]string{"DeliveryStreamARN": d.DeliveryStreamARN}, nil
}

type nameInput struct {
	DeliveryStreamName string
}

func (h *handler) delete(body []byte) (any, error) {
	var in struct {
		nameInput
		AllowForceDelete bool
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := h.m.Delete(in.DeliveryStreamName); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (h *handler) describe(body []byte) (any, error) {
	var in struct {
		nameInput
		Limit                       int
		ExclusiveStartDestinationId string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	d, err := h.m.Describe(in.DeliveryStreamName)
	if err != nil {
		return nil, err
	}
	// Secrets of the sink configuration are shown masked, never sent.
	d = d.Redacted()
	dest := map[string]any{"DestinationId": delivery.DestinationID}
	if c := d.Definition.ExtendedS3DestinationConfiguration; c != nil {
		dest["ExtendedS3DestinationDescription"] = c
		// Firehose also describes the destination in its plain S3 form.
		dest["S3DestinationDescription"] = map[string]any{
			"BucketARN": c.BucketARN, "Prefix": c.Prefix, "ErrorOutputPrefix": c.ErrorOutputPrefix,
			"CompressionFormat": orDefault(c.CompressionFormat, "UNCOMPRESSED"), "RoleARN": c.RoleARN,
			"BufferingHints": c.BufferingHints, "EncryptionConfiguration": map[string]string{"NoEncryptionConfig": "NoEncryption"},
		}
	}
	if s := d.Definition.SinkDestination; s != nil {
		dest["SinkDestinationDescription"] = s
	}
	desc := map[string]any{
		"DeliveryStreamName":   d.DeliveryStreamName,
		"DeliveryStreamARN":    d.DeliveryStreamARN,
		"DeliveryStreamStatus": d.DeliveryStreamStatus,
		"DeliveryStreamType":   orDefault(d.DeliveryStreamType, "DirectPut"),
		"VersionId":            d.VersionID,
		"CreateTimestamp":      float64(d.CreateTimestamp.UnixMilli()) / 1000,
		"Destinations":         []any{dest},
		"HasMoreDestinations":  false,
		// kda's own figures, which Firehose keeps in CloudWatch.
		"KdaSpillStream": d.SpillStream,
		"KdaMetrics":     d.Metrics,
	}
	if d.ErrorStream != "" {
		desc["KdaErrorStream"] = d.ErrorStream
	}
	if d.FailureDescription != "" {
		desc["FailureDescription"] = map[string]string{"Type": "UNKNOWN_ERROR", "Details": d.FailureDescription}
	}
	return map[string]any{"DeliveryStreamDescription": desc}, nil
}

// updateDestination is UpdateDestination for the destinations kda has:
// ExtendedS3DestinationUpdate, S3DestinationUpdate (the same fields) and
// kda's SinkDestinationUpdate.
func (h *handler) updateDestination(body []byte) (any, error) {
	var in delivery.UpdateInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var rest map[string]json.RawMessage
	if err := decode(body, &rest); err != nil {
		return nil, err
	}
	for k := range rest {
		if strings.HasSuffix(k, "DestinationUpdate") && k != "ExtendedS3DestinationUpdate" && k != "S3DestinationUpdate" && k != "SinkDestinationUpdate" {
			return nil, &apiError{Code: delivery.CodeInvalidArgument, Message: k + ": kda delivers to ExtendedS3 destinations and record sinks (SinkDestinationUpdate) only"}
		}
	}
	if raw, ok := rest["S3DestinationUpdate"]; ok {
		if in.ExtendedS3DestinationUpdate != nil {
			return nil, &apiError{Code: delivery.CodeInvalidArgument, Message: "give ExtendedS3DestinationUpdate or S3DestinationUpdate, not both"}
		}
		in.ExtendedS3DestinationUpdate = new(delivery.ExtendedS3DestinationConfiguration)
		if err := decode(raw, in.ExtendedS3DestinationUpdate); err != nil {
			return nil, err
		}
	}
	if in.DestinationId == "" {
		return nil, &apiError{Code: delivery.CodeInvalidArgument, Message: "DestinationId: required (" + delivery.DestinationID + ")"}
	}
	if _, err := h.m.UpdateDestination(in); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (h *handler) list(body []byte) (any, error) {
	var in struct {
		Limit                            int
		DeliveryStreamType               string
		ExclusiveStartDeliveryStreamName string
	}
	if len(body) > 0 {
		if err := decode(body, &in); err != nil {
			return nil, err
		}
	}
	if in.Limit < 0 || in.Limit > maxListLimit {
		return nil, &apiError{Code: delivery.CodeInvalidArgument, Message: fmt.Sprintf("Limit: %d is not in 1..%d", in.Limit, maxListLimit)}
	}
	if in.Limit == 0 {
		in.Limit = defaultListSize
	}
	names := h.m.List()
	sort.Strings(names)
	if in.DeliveryStreamType != "" && in.DeliveryStreamType != "DirectPut" {
		names = nil // kda runs DirectPut streams only
	}
	start := 0
	if in.ExclusiveStartDeliveryStreamName != "" {
		start = sort.SearchStrings(names, in.ExclusiveStartDeliveryStreamName)
		if start < len(names) && names[start] == in.ExclusiveStartDeliveryStreamName {
			start++
		}
	}
	page := names[start:]
	more := len(page) > in.Limit
	if more {
		page = page[:in.Limit]
	}
	if page == nil {
		page = []string{}
	}
	return map[string]any{"DeliveryStreamNames": page, "HasMoreDeliveryStreams": more}, nil
}

// record is a Firehose record: Data is base64 in JSON, decoded by
// encoding/json into bytes.
type record struct {
	Data []byte
}

func (h *handler) putRecord(body []byte) (any, error) {
	var in struct {
		nameInput
		Record *record
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Record == nil {
		return nil, &apiError{Code: delivery.CodeInvalidArgument, Message: "Record: required"}
	}
	ids, err := h.m.Put(in.DeliveryStreamName, []delivery.PutInput{{Data: in.Record.Data}})
	if err != nil {
		return nil, err
	}
	return map[string]any{"RecordId": ids[0], "Encrypted": false}, nil
}

func (h *handler) putRecordBatch(body []byte) (any, error) {
	var in struct {
		nameInput
		Records []record
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Records) == 0 || len(in.Records) > maxBatchRecords {
		return nil, &apiError{Code: delivery.CodeInvalidArgument, Message: fmt.Sprintf("Records: %d records; send 1 to %d", len(in.Records), maxBatchRecords)}
	}
	recs := make([]delivery.PutInput, len(in.Records))
	for i, r := range in.Records {
		recs[i] = delivery.PutInput{Data: r.Data}
	}
	// The batch is written in one durable write, all or nothing, so
	// FailedPutCount is 0 or the whole call fails with an error the SDK
	// retries.
	ids, err := h.m.Put(in.DeliveryStreamName, recs)
	if err != nil {
		return nil, err
	}
	resp := make([]map[string]string, len(ids))
	for i, id := range ids {
		resp[i] = map[string]string{"RecordId": id}
	}
	return map[string]any{"FailedPutCount": 0, "Encrypted": false, "RequestResponses": resp}, nil
}
