package delivery

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/kdaproject/kda/operators/input"
)

// Definition is a delivery stream as CreateDeliveryStream describes it. The
// JSON field names are Firehose's (encoding/json matches them without
// regard to case, so `type` and `Type` both work), so the Firehose HTTP API
// can decode a CreateDeliveryStream request straight into it; the fields
// named Kda… and SinkDestination are kda's extensions.
//
// Exactly one destination is set: ExtendedS3DestinationConfiguration (an
// object store: the local directory store, or S3 when the engine has an
// S3 endpoint) or SinkDestination (a record sink from the Registry).
type Definition struct {
	DeliveryStreamName string `json:"DeliveryStreamName"`
	// DeliveryStreamType is DirectPut (the default and the only type kda
	// runs: applications and producers put into the delivery stream).
	DeliveryStreamType                 string                              `json:"DeliveryStreamType,omitempty"`
	ExtendedS3DestinationConfiguration *ExtendedS3DestinationConfiguration `json:"ExtendedS3DestinationConfiguration,omitempty"`
	SinkDestination                    *SinkDestination                    `json:"SinkDestination,omitempty"`
}

// ExtendedS3DestinationConfiguration is Firehose's S3 destination.
type ExtendedS3DestinationConfiguration struct {
	// BucketARN is "arn:aws:s3:::<bucket>".
	BucketARN string `json:"BucketARN"`
	// RoleARN is accepted and ignored (kda has no IAM).
	RoleARN string `json:"RoleARN,omitempty"`
	// Prefix and ErrorOutputPrefix are key prefixes with expressions
	// (see keys.go). Default Prefix: !{timestamp:yyyy/MM/dd/HH/}.
	Prefix            string          `json:"Prefix,omitempty"`
	ErrorOutputPrefix string          `json:"ErrorOutputPrefix,omitempty"`
	BufferingHints    *BufferingHints `json:"BufferingHints,omitempty"`
	// CompressionFormat is UNCOMPRESSED (default), GZIP, ZIP, Snappy or
	// HADOOP_SNAPPY. With format conversion it must be UNCOMPRESSED: the
	// Parquet serializer compresses instead.
	CompressionFormat                 string                             `json:"CompressionFormat,omitempty"`
	ProcessingConfiguration           *ProcessingConfiguration           `json:"ProcessingConfiguration,omitempty"`
	DataFormatConversionConfiguration *DataFormatConversionConfiguration `json:"DataFormatConversionConfiguration,omitempty"`
	DynamicPartitioningConfiguration  *DynamicPartitioningConfiguration  `json:"DynamicPartitioningConfiguration,omitempty"`
	// FileExtension replaces the default extension (.gz, .zip, .snappy,
	// .hsnappy, .parquet or none); it must start with a dot.
	FileExtension string `json:"FileExtension,omitempty"`
	// CustomTimeZone is an IANA zone (e.g. Asia/Tokyo) for the timestamps
	// in keys; default UTC.
	CustomTimeZone string `json:"CustomTimeZone,omitempty"`
	// S3BackupMode is accepted when Disabled (or empty).
	S3BackupMode string `json:"S3BackupMode,omitempty"`
}

// BufferingHints say when a buffer is delivered: once it holds SizeInMBs
// (before compression) or its oldest record waited IntervalInSeconds,
// whichever comes first. IntervalInSeconds 0 delivers at once.
type BufferingHints struct {
	SizeInMBs         *int `json:"SizeInMBs,omitempty"`
	IntervalInSeconds *int `json:"IntervalInSeconds,omitempty"`
}

// Buffering defaults and bounds, as Firehose's.
const (
	DefaultBufferSizeMB      = 5
	DefaultBufferIntervalSec = 300
	maxBufferSizeMB          = 128
	maxBufferIntervalSec     = 900
)

// ProcessingConfiguration configures the record transformation. Firehose
// names a Lambda function in Processors; kda runs a JavaScript handler
// with the same contract instead, given in KdaTransformation.
type ProcessingConfiguration struct {
	Enabled           *bool           `json:"Enabled,omitempty"`
	Processors        []Processor     `json:"Processors,omitempty"`
	KdaTransformation *Transformation `json:"KdaTransformation,omitempty"`
}

// Processor is Firehose's processor entry. kda accepts none today (there
// is no Lambda; use KdaTransformation, and DynamicPartitioningConfiguration.
// KdaPartitionKeys instead of a MetadataExtraction processor); it is here
// so that a Firehose request decodes and is refused with a clear message.
type Processor struct {
	Type       string               `json:"Type"`
	Parameters []ProcessorParameter `json:"Parameters,omitempty"`
}

// ProcessorParameter is a name/value pair of a Processor.
type ProcessorParameter struct {
	ParameterName  string `json:"ParameterName"`
	ParameterValue string `json:"ParameterValue"`
}

// Transformation is a JavaScript handler with Firehose's data
// transformation contract (see transform.go).
type Transformation struct {
	// Script is the JavaScript source; Handler the function called
	// (default "handler").
	Script  string `json:"Script"`
	Handler string `json:"Handler,omitempty"`
	// TimeoutInSeconds bounds one invocation (default 60, at most 300).
	TimeoutInSeconds int `json:"TimeoutInSeconds,omitempty"`
	// BufferSizeInMBs is the most data one invocation receives (default 1,
	// 0.2–3 in Firehose; kda takes whole MiB 1–3).
	BufferSizeInMBs int `json:"BufferSizeInMBs,omitempty"`
	// NumberOfRetries is how often a failed invocation is retried before
	// its records go to the error output (default 3, at most 300).
	NumberOfRetries *int `json:"NumberOfRetries,omitempty"`
}

// DataFormatConversionConfiguration converts JSON records to Parquet.
// Firehose takes the schema from a Glue table; kda takes it declared in
// KdaSchema (columns with a SQL type and a JSONPath, as an application's
// input schema).
type DataFormatConversionConfiguration struct {
	Enabled   *bool      `json:"Enabled,omitempty"`
	KdaSchema *KdaSchema `json:"KdaSchema,omitempty"`
	// SchemaConfiguration (Glue) is refused with a message naming KdaSchema.
	SchemaConfiguration       json.RawMessage            `json:"SchemaConfiguration,omitempty"`
	InputFormatConfiguration  json.RawMessage            `json:"InputFormatConfiguration,omitempty"`
	OutputFormatConfiguration *OutputFormatConfiguration `json:"OutputFormatConfiguration,omitempty"`
}

// KdaSchema is the columns of converted records.
type KdaSchema struct {
	// Columns: Name, SQLType (e.g. "VARCHAR(8)", "DOUBLE", "TIMESTAMP")
	// and Mapping, the JSONPath of the value ("$.ticker").
	Columns []input.Column `json:"Columns"`
}

// OutputFormatConfiguration names the serializer.
type OutputFormatConfiguration struct {
	Serializer struct {
		ParquetSerDe *ParquetSerDe  `json:"ParquetSerDe,omitempty"`
		OrcSerDe     map[string]any `json:"OrcSerDe,omitempty"`
	} `json:"Serializer"`
}

// ParquetSerDe configures the Parquet writer.
type ParquetSerDe struct {
	// Compression is SNAPPY (default), GZIP or UNCOMPRESSED.
	Compression string `json:"Compression,omitempty"`
}

// DynamicPartitioningConfiguration groups records into objects by keys
// taken from each record: !{partitionKeyFromQuery:k} in Prefix is
// KdaPartitionKeys[k] evaluated on the record (a JSONPath such as
// "$.customer.id"), and !{partitionKeyFromLambda:k} is the key the
// transformation returned in metadata.partitionKeys.
type DynamicPartitioningConfiguration struct {
	Enabled          *bool             `json:"Enabled,omitempty"`
	KdaPartitionKeys map[string]string `json:"KdaPartitionKeys,omitempty"`
	RetryOptions     json.RawMessage   `json:"RetryOptions,omitempty"`
}

// SinkDestination (kda) delivers to a record sink of the Registry, e.g.
// {"Type": "postgres", "Config": {...}}.
type SinkDestination struct {
	Type                    string                   `json:"Type"`
	Config                  json.RawMessage          `json:"Config,omitempty"`
	BufferingHints          *BufferingHints          `json:"BufferingHints,omitempty"`
	ProcessingConfiguration *ProcessingConfiguration `json:"ProcessingConfiguration,omitempty"`
}

// Compression formats.
const (
	Uncompressed = "UNCOMPRESSED"
	GZIP         = "GZIP"
	ZIP          = "ZIP"
	Snappy       = "Snappy"
	HadoopSnappy = "HADOOP_SNAPPY"
)

var (
	deliveryNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,64}$`)
	bucketRE       = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	extensionRE    = regexp.MustCompile(`^\.[0-9a-z!\-_.*'()]+$`)
)

func on(b *bool, dflt bool) bool {
	if b == nil {
		return dflt
	}
	return *b
}

// buffering returns the size and interval of hints; at names the field.
func buffering(h *BufferingHints, at string) (int, time.Duration, error) {
	size, secs := DefaultBufferSizeMB, DefaultBufferIntervalSec
	if h != nil {
		if (h.SizeInMBs == nil) != (h.IntervalInSeconds == nil) {
			return 0, 0, invalid("%s.BufferingHints: set both SizeInMBs and IntervalInSeconds, or neither", at)
		}
		if h.SizeInMBs != nil {
			size, secs = *h.SizeInMBs, *h.IntervalInSeconds
		}
	}
	if size < 1 || size > maxBufferSizeMB {
		return 0, 0, invalid("%s.BufferingHints.SizeInMBs: %d is not in 1..%d", at, size, maxBufferSizeMB)
	}
	if secs < 0 || secs > maxBufferIntervalSec {
		return 0, 0, invalid("%s.BufferingHints.IntervalInSeconds: %d is not in 0..%d", at, secs, maxBufferIntervalSec)
	}
	return size, time.Duration(secs) * time.Second, nil
}

// plan is a validated definition compiled for the worker.
type plan struct {
	def      Definition
	size     int           // buffer size in bytes, before compression
	interval time.Duration // buffer interval; 0 delivers at once

	// Object stores.
	s3          *ExtendedS3DestinationConfiguration
	bucket      string
	prefix      *Prefix
	errPrefix   *Prefix
	compression string
	ext         string
	loc         *time.Location
	partKeys    map[string]*fieldPath // dynamic partitioning queries
	dynamic     bool
	convert     *converter // Parquet, nil when off

	// Sinks.
	sink *SinkDestination

	transform *Transformation // with defaults, nil when off
}

// Validate checks a definition and names the wrong field with Firehose's
// field names. It does not look the sink type up; the Manager does.
func (d Definition) Validate() error {
	_, err := compile(d)
	return err
}

func compile(d Definition) (*plan, error) {
	p := &plan{def: d}
	if !deliveryNameRE.MatchString(d.DeliveryStreamName) {
		return nil, invalid("DeliveryStreamName: %q must be 1–64 letters, digits, '_', '.' or '-'", d.DeliveryStreamName)
	}
	if d.DeliveryStreamType != "" && d.DeliveryStreamType != "DirectPut" {
		return nil, invalid("DeliveryStreamType: %q is not supported: kda delivery streams are DirectPut (to read a kda stream into one, use an application output with delivery)", d.DeliveryStreamType)
	}
	if (d.ExtendedS3DestinationConfiguration == nil) == (d.SinkDestination == nil) {
		return nil, invalid("set exactly one destination: ExtendedS3DestinationConfiguration or SinkDestination")
	}
	if s := d.SinkDestination; s != nil {
		const at = "SinkDestination"
		if s.Type == "" {
			return nil, invalid("%s.Type: missing (e.g. postgres, redis, webhook)", at)
		}
		var err error
		if p.size, p.interval, err = buffering(s.BufferingHints, at); err != nil {
			return nil, err
		}
		p.size <<= 20
		p.sink = s
		if p.transform, err = compileProcessing(s.ProcessingConfiguration, at); err != nil {
			return nil, err
		}
		return p, nil
	}
	s := d.ExtendedS3DestinationConfiguration
	const at = "ExtendedS3DestinationConfiguration"
	p.s3 = s
	bucket, ok := strings.CutPrefix(s.BucketARN, "arn:aws:s3:::")
	if !ok || !bucketRE.MatchString(bucket) {
		return nil, invalid("%s.BucketARN: %q is not an S3 bucket ARN like arn:aws:s3:::my-bucket", at, s.BucketARN)
	}
	p.bucket = bucket
	var err error
	if p.size, p.interval, err = buffering(s.BufferingHints, at); err != nil {
		return nil, err
	}
	p.size <<= 20
	p.compression = s.CompressionFormat
	if p.compression == "" {
		p.compression = Uncompressed
	}
	switch p.compression {
	case Uncompressed, GZIP, ZIP, Snappy, HadoopSnappy:
	default:
		return nil, invalid("%s.CompressionFormat: %q is not UNCOMPRESSED, GZIP, ZIP, Snappy or HADOOP_SNAPPY", at, s.CompressionFormat)
	}
	if s.S3BackupMode != "" && s.S3BackupMode != "Disabled" {
		return nil, invalid("%s.S3BackupMode: %q is not supported (kda keeps no backup copy; use Disabled)", at, s.S3BackupMode)
	}
	p.loc = time.UTC
	if s.CustomTimeZone != "" {
		if p.loc, err = time.LoadLocation(s.CustomTimeZone); err != nil {
			return nil, invalid("%s.CustomTimeZone: %q is not a time zone name like Asia/Tokyo", at, s.CustomTimeZone)
		}
	}
	if s.FileExtension != "" && (!extensionRE.MatchString(s.FileExtension) || len(s.FileExtension) > 128) {
		return nil, invalid("%s.FileExtension: %q must start with '.' and hold only 0-9 a-z ! - _ . * ' ( )", at, s.FileExtension)
	}
	if p.transform, err = compileProcessing(s.ProcessingConfiguration, at); err != nil {
		return nil, err
	}
	if dp := s.DynamicPartitioningConfiguration; dp != nil && on(dp.Enabled, false) {
		p.dynamic = true
		p.partKeys = map[string]*fieldPath{}
		names := make([]string, 0, len(dp.KdaPartitionKeys))
		for k := range dp.KdaPartitionKeys {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fp, err := parseFieldPath(dp.KdaPartitionKeys[k])
			if err != nil {
				return nil, invalid("%s.DynamicPartitioningConfiguration.KdaPartitionKeys.%s: %v", at, k, err)
			}
			p.partKeys[k] = fp
		}
	}
	if p.prefix, p.errPrefix, err = compilePrefixes(s.Prefix, s.ErrorOutputPrefix, p.dynamic, p.partKeys, p.transform != nil, at); err != nil {
		return nil, err
	}
	if c := s.DataFormatConversionConfiguration; c != nil && on(c.Enabled, true) {
		if p.compression != Uncompressed {
			return nil, invalid("%s.CompressionFormat: must be UNCOMPRESSED with DataFormatConversionConfiguration; set ParquetSerDe.Compression instead", at)
		}
		if p.convert, err = compileConversion(c, at+".DataFormatConversionConfiguration"); err != nil {
			return nil, err
		}
	}
	p.ext = s.FileExtension
	if p.ext == "" {
		p.ext = map[string]string{GZIP: ".gz", ZIP: ".zip", Snappy: ".snappy", HadoopSnappy: ".hsnappy"}[p.compression]
		if p.convert != nil {
			p.ext = ".parquet"
		}
	}
	return p, nil
}

// Transformation defaults and bounds.
const (
	defaultTransformTimeout = 60 * time.Second
	maxTransformTimeoutSec  = 300
	defaultTransformRetries = 3
	maxTransformRetries     = 300
)

func compileProcessing(pc *ProcessingConfiguration, at string) (*Transformation, error) {
	if pc == nil || !on(pc.Enabled, true) {
		return nil, nil
	}
	at += ".ProcessingConfiguration"
	for i, pr := range pc.Processors {
		return nil, invalid("%s.Processors[%d].Type: %q is not supported: kda runs no Lambda functions; set KdaTransformation (a JavaScript handler with the Lambda contract) and, for partitioning, DynamicPartitioningConfiguration.KdaPartitionKeys", at, i, pr.Type)
	}
	t := pc.KdaTransformation
	if t == nil {
		if pc.Enabled != nil && *pc.Enabled {
			return nil, invalid("%s.KdaTransformation: missing (the JavaScript handler to run)", at)
		}
		return nil, nil
	}
	c := *t
	at += ".KdaTransformation"
	if c.Handler == "" {
		c.Handler = "handler"
	}
	if c.TimeoutInSeconds == 0 {
		c.TimeoutInSeconds = int(defaultTransformTimeout / time.Second)
	}
	if c.BufferSizeInMBs == 0 {
		c.BufferSizeInMBs = 1
	}
	if c.NumberOfRetries == nil {
		n := defaultTransformRetries
		c.NumberOfRetries = &n
	}
	switch {
	case strings.TrimSpace(c.Script) == "":
		return nil, invalid("%s.Script: missing (the JavaScript source)", at)
	case c.TimeoutInSeconds < 1 || c.TimeoutInSeconds > maxTransformTimeoutSec:
		return nil, invalid("%s.TimeoutInSeconds: %d is not in 1..%d", at, c.TimeoutInSeconds, maxTransformTimeoutSec)
	case c.BufferSizeInMBs < 1 || c.BufferSizeInMBs > 3:
		return nil, invalid("%s.BufferSizeInMBs: %d is not in 1..3", at, c.BufferSizeInMBs)
	case *c.NumberOfRetries < 0 || *c.NumberOfRetries > maxTransformRetries:
		return nil, invalid("%s.NumberOfRetries: %d is not in 0..%d", at, *c.NumberOfRetries, maxTransformRetries)
	}
	if _, err := compileScript(&c); err != nil {
		return nil, invalid("%s.Script: %v", at, err)
	}
	return &c, nil
}

// Error is a delivery stream error a Firehose client can act on: Code is
// Firehose's error type (InvalidArgumentException, ResourceNotFoundException,
// ResourceInUseException, LimitExceededException, ServiceUnavailableException).
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Error codes.
const (
	CodeInvalidArgument    = "InvalidArgumentException"
	CodeResourceNotFound   = "ResourceNotFoundException"
	CodeResourceInUse      = "ResourceInUseException"
	CodeLimitExceeded      = "LimitExceededException"
	CodeServiceUnavailable = "ServiceUnavailableException"
)

func invalid(format string, args ...any) error {
	return &Error{Code: CodeInvalidArgument, Message: fmt.Sprintf(format, args...)}
}
