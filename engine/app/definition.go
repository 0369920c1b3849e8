package app

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	firehose "github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/connectors/source"
	"github.com/kdaproject/kda/operators/input"
	"github.com/kdaproject/kda/udf"
)

// Definition is an application: its SQL and a small configuration that
// mirrors Kinesis Data Analytics' CreateApplication. The same definition is
// read from a YAML or JSON file by the CLI, accepted by the REST API and
// built in Go.
type Definition struct {
	// Name identifies the application (1–128 of [a-zA-Z0-9_.-]).
	Name string `json:"name"`
	// SQL is the application code. A config file may name a file instead
	// with SQLFile, relative to the config file.
	SQL     string `json:"sql,omitempty"`
	SQLFile string `json:"sqlFile,omitempty"`
	// Functions is SQL holding only CREATE [AGGREGATE] FUNCTION statements,
	// planned before SQL: a library an application shares with others. A
	// config file may name a file instead with FunctionsFile.
	Functions     string `json:"functions,omitempty"`
	FunctionsFile string `json:"functionsFile,omitempty"`
	// Input is the one streaming source.
	Input Input `json:"input"`
	// Outputs route in-application streams to destinations.
	Outputs []Output `json:"outputs,omitempty"`
	// ReferenceTables are tables the SQL joins streams with (reftables.go).
	ReferenceTables []ReferenceTable `json:"referenceTables,omitempty"`
	// CheckpointInterval is how often state is checkpointed (default 10s).
	CheckpointInterval Duration `json:"checkpointInterval,omitempty"`
	// EventTime tunes Flink-style TUMBLE/HOP/SESSION windows (a kda
	// extension; KDA's own windows run on ROWTIME and ignore it).
	EventTime EventTime `json:"eventTime,omitempty"`
	// Dir is the directory relative reference table files are read from:
	// ParseDefinition sets it to the definition file's directory. It is
	// not stored or sent; a server reads files under its own directory.
	Dir string `json:"-"`
}

// EventTime is the watermark of Flink-style group windows: the greatest
// event time seen minus MaxOutOfOrderness; a window fires once the watermark
// passes its end plus AllowedLateness; after IdleTimeout without rows, event
// time moves on with stream time (default 1m; negative turns it off).
type EventTime struct {
	MaxOutOfOrderness Duration `json:"maxOutOfOrderness,omitempty"`
	AllowedLateness   Duration `json:"allowedLateness,omitempty"`
	IdleTimeout       Duration `json:"idleTimeout,omitempty"`
}

// Input is the streaming source of an application.
type Input struct {
	// Stream is the kda stream to read (not needed by kda run).
	Stream string `json:"stream,omitempty"`
	// NamePrefix names the in-application input streams: <prefix>_001...
	// Default "SOURCE_SQL_STREAM".
	NamePrefix string `json:"namePrefix,omitempty"`
	// Parallelism is how many in-application input streams the source's
	// shards are spread over (1–64, default 1).
	Parallelism int `json:"parallelism,omitempty"`
	// StartingPosition is NOW, TRIM_HORIZON or LAST_STOPPED_POINT
	// (default LAST_STOPPED_POINT, which is TRIM_HORIZON on a first start).
	StartingPosition string `json:"startingPosition,omitempty"`
	// Schema maps records to columns.
	Schema input.Schema `json:"schema"`
	// ExtraColumns adds PARTITION_KEY, SEQUENCE_NUMBER and SHARD_ID columns
	// (a kda extension).
	ExtraColumns bool `json:"extraColumns,omitempty"`
	// Preprocessor, when set, is a JavaScript handler every batch of
	// records goes through before it is decoded, with the contract of
	// KDA's pre-processing Lambda (see preprocess.go).
	Preprocessor *Processor `json:"preprocessor,omitempty"`
	// Source, when set, makes the engine feed Stream from another system
	// (a kda extension, see source.go): a bridge named after the
	// application copies the source's messages into Stream exactly once,
	// and the application reads Stream as usual. Stream then defaults to
	// SourceStreamName(name), which the manager creates if missing.
	Source *InputSource `json:"source,omitempty"`
}

// InputSource is another system an application's input stream is fed
// from: a source kind registered with the engine (e.g. "kafka") and its
// configuration.
type InputSource struct {
	// Kind is the source kind, e.g. "kafka".
	Kind string `json:"kind"`
	// Config is the kind's JSON configuration, e.g. for kafka
	// {"brokers": ["127.0.0.1:9092"], "topic": "orders"}.
	Config json.RawMessage `json:"config,omitempty"`
	// PartitionKey is "key" (default: the message key, or the source
	// partition when there is none) or "partition" (the source partition,
	// which keeps each source partition's order in one shard).
	PartitionKey string `json:"partitionKey,omitempty"`
}

// Processor is a JavaScript handler that stands in for a Lambda function:
// an input pre-processor or an output post-processor.
type Processor struct {
	// Script is the JavaScript source. A definition file may name a file
	// instead with ScriptFile, relative to the definition file; reading
	// the definition inlines it into Script, and ScriptFile then only names
	// the script in errors and stacks.
	Script     string `json:"script,omitempty"`
	ScriptFile string `json:"scriptFile,omitempty"`
	// Handler is the function called: exports.<handler>, module.exports or
	// a global function of that name (default "handler").
	Handler string `json:"handler,omitempty"`
	// Timeout bounds one invocation (default 5s, at most 15m).
	Timeout Duration `json:"timeout,omitempty"`
	// BatchSize is the most records one invocation receives (default
	// 1000, at most 10000).
	BatchSize int `json:"batchSize,omitempty"`
	// MaxRetries is how often a failed invocation (an exception, a
	// timeout, a response that does not answer every record) and, for a
	// post-processor, a DeliveryFailed record is retried, with exponential
	// backoff from 100ms, before its records go to error_stream (default 2
	// for a pre-processor, 3 for a post-processor; at most 10).
	MaxRetries *int `json:"maxRetries,omitempty"`
}

// Output sends an in-application stream to a destination.
type Output struct {
	// Name is the in-application stream (exact case).
	Name string `json:"name"`
	// Stream is a kda stream to put the rows into, File a local file
	// (JSON lines or CSV), or Delivery a delivery stream (kda's Firehose:
	// the rows go into its spill stream in the checkpoint's transaction,
	// exactly once); exactly one is set.
	Stream   string `json:"stream,omitempty"`
	File     string `json:"file,omitempty"`
	Delivery string `json:"delivery,omitempty"`
	// DeliveryStream declares the delivery stream inline, as Firehose's
	// CreateDeliveryStream JSON (a kda extension): the manager creates it
	// with the application when it does not exist, and refuses a
	// definition that differs from the existing one. Its name defaults to
	// "<application>-<output name in lower case>"; Delivery is set to it.
	DeliveryStream *firehose.Definition `json:"deliveryStream,omitempty"`
	// Format is JSON (default) or CSV.
	Format string `json:"format,omitempty"`
	// Postprocessor, when set, is a JavaScript handler the rows are
	// delivered to, with the contract of KDA's Lambda output (see
	// postprocess.go). Stream or File is then optional: when one is set,
	// the data the handler returns on Ok records is written there.
	Postprocessor *Processor `json:"postprocessor,omitempty"`
}

// Duration is a time.Duration written as "10s" in configuration files.
type Duration struct{ time.Duration }

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// UnmarshalJSON reads "10s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if v, err := time.ParseDuration(s); err == nil {
		d.Duration = v
		return nil
	}
	var secs float64
	if _, err := fmt.Sscan(s, &secs); err != nil {
		return fmt.Errorf("duration %s: want text like \"10s\" or a number of seconds", b)
	}
	d.Duration = time.Duration(secs * float64(time.Second))
	return nil
}

// Defaults.
const (
	DefaultNamePrefix         = "SOURCE_SQL_STREAM"
	DefaultCheckpointInterval = 10 * time.Second
	StartNow                  = "NOW"
	StartTrimHorizon          = "TRIM_HORIZON"
	StartLastStoppedPoint     = "LAST_STOPPED_POINT"

	DefaultHandler              = "handler"
	DefaultProcessorTimeout     = 5 * time.Second
	DefaultProcessorBatchSize   = 1000
	DefaultPreprocessorRetries  = 2
	DefaultPostprocessorRetries = 3
	maxProcessorTimeout         = 15 * time.Minute
	maxProcessorBatchSize       = 10000
	maxProcessorRetries         = 10
)

var handlerRE = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

// withDefaults returns a copy of p with unset fields filled.
func (p *Processor) withDefaults(retries int) *Processor {
	if p == nil {
		return nil
	}
	c := *p
	if c.Handler == "" {
		c.Handler = DefaultHandler
	}
	if c.Timeout.Duration == 0 {
		c.Timeout.Duration = DefaultProcessorTimeout
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultProcessorBatchSize
	}
	if c.MaxRetries == nil {
		c.MaxRetries = &retries
	}
	return &c
}

// scriptName is how the script is named in errors and JavaScript stacks.
func (p *Processor) scriptName(fallback string) string {
	if p.ScriptFile != "" {
		return p.ScriptFile
	}
	return fallback
}

// compile checks p (after defaults) and compiles its script; at is the
// field's path, e.g. "input.preprocessor".
func (p *Processor) compile(at, fallbackName string) (*udf.Script, error) {
	switch {
	case p.Script == "" && p.ScriptFile != "":
		return nil, fmt.Errorf("%s.scriptFile: %q was not read: only a definition file can name a script file; set script to the JavaScript source", at, p.ScriptFile)
	case strings.TrimSpace(p.Script) == "":
		return nil, fmt.Errorf("%s: set script (the JavaScript source) or scriptFile", at)
	case !handlerRE.MatchString(p.Handler):
		return nil, fmt.Errorf("%s.handler: %q is not a JavaScript function name", at, p.Handler)
	case p.Timeout.Duration < 0 || p.Timeout.Duration > maxProcessorTimeout:
		return nil, fmt.Errorf("%s.timeout: %s is not between 0 and %s", at, p.Timeout.Duration, maxProcessorTimeout)
	case p.BatchSize < 1 || p.BatchSize > maxProcessorBatchSize:
		return nil, fmt.Errorf("%s.batchSize: %d is not in 1..%d", at, p.BatchSize, maxProcessorBatchSize)
	case *p.MaxRetries < 0 || *p.MaxRetries > maxProcessorRetries:
		return nil, fmt.Errorf("%s.maxRetries: %d is not in 0..%d", at, *p.MaxRetries, maxProcessorRetries)
	}
	s, err := udf.Compile(p.scriptName(fallbackName), p.Script)
	if err != nil {
		field := at + ".script"
		if p.ScriptFile != "" {
			field = at + ".scriptFile"
		}
		return nil, fmt.Errorf("%s %w", field, err)
	}
	return s, nil
}

// readScript inlines p's scriptFile, read relative to dir.
func (p *Processor) readScript(at, dir string) error {
	if p == nil || p.ScriptFile == "" || p.Script != "" {
		return nil
	}
	if dir == "" {
		return fmt.Errorf("%s.scriptFile: the server does not read files named by requests; send the JavaScript inline in script (kda app create does this for you)", at)
	}
	path := p.ScriptFile
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s.scriptFile: %w", at, err)
	}
	p.Script = string(b)
	return nil
}

var appNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,128}$`)

// WithDefaults fills unset optional fields.
func (d Definition) WithDefaults() Definition {
	if d.Input.NamePrefix == "" {
		d.Input.NamePrefix = DefaultNamePrefix
	}
	if d.Input.Parallelism == 0 {
		d.Input.Parallelism = 1
	}
	if d.Input.StartingPosition == "" {
		d.Input.StartingPosition = StartLastStoppedPoint
	}
	d.Input.StartingPosition = strings.ToUpper(d.Input.StartingPosition)
	if d.CheckpointInterval.Duration == 0 {
		d.CheckpointInterval.Duration = DefaultCheckpointInterval
	}
	for i := range d.Outputs {
		if ds := d.Outputs[i].DeliveryStream; ds != nil {
			if ds.DeliveryStreamName == "" {
				named := *ds
				named.DeliveryStreamName = d.Name + "-" + strings.ToLower(d.Outputs[i].Name)
				d.Outputs[i].DeliveryStream = &named
			}
			if d.Outputs[i].Delivery == "" {
				d.Outputs[i].Delivery = d.Outputs[i].DeliveryStream.DeliveryStreamName
			}
		}
		if d.Outputs[i].Format == "" {
			d.Outputs[i].Format = "JSON"
		}
		d.Outputs[i].Format = strings.ToUpper(d.Outputs[i].Format)
		d.Outputs[i].Postprocessor = d.Outputs[i].Postprocessor.withDefaults(DefaultPostprocessorRetries)
	}
	d.Input.Preprocessor = d.Input.Preprocessor.withDefaults(DefaultPreprocessorRetries)
	if src := d.Input.Source; src != nil {
		c := *src
		if c.PartitionKey == "" {
			c.PartitionKey = source.KeyByMessageKey
		}
		d.Input.Source = &c
		if d.Input.Stream == "" {
			d.Input.Stream = SourceStreamName(d.Name)
		}
	}
	d.Input.Schema = d.Input.Schema.WithDefaults()
	return d
}

// Validate checks the definition and names the field at fault.
func (d Definition) Validate() error {
	if !appNameRE.MatchString(d.Name) {
		return fmt.Errorf("name: %q must be 1–128 letters, digits, '_', '.' or '-'", d.Name)
	}
	if strings.TrimSpace(d.SQL) == "" {
		return fmt.Errorf("sql: the application has no SQL code")
	}
	if len(d.Input.NamePrefix) > 32 {
		return fmt.Errorf("input.namePrefix: %q is longer than 32 characters", d.Input.NamePrefix)
	}
	if d.Input.Parallelism < 1 || d.Input.Parallelism > 64 {
		return fmt.Errorf("input.parallelism: %d is not in 1..64", d.Input.Parallelism)
	}
	switch d.Input.StartingPosition {
	case StartNow, StartTrimHorizon, StartLastStoppedPoint:
	default:
		return fmt.Errorf("input.startingPosition: %q is not NOW, TRIM_HORIZON or LAST_STOPPED_POINT", d.Input.StartingPosition)
	}
	if err := d.Input.Schema.Validate(); err != nil {
		return fmt.Errorf("input.schema: %w", err)
	}
	if err := d.Input.Source.validate(); err != nil {
		return err
	}
	if p := d.Input.Preprocessor; p != nil {
		if _, err := p.compile("input.preprocessor", preprocessorScriptName); err != nil {
			return err
		}
	}
	for i, o := range d.Outputs {
		at := fmt.Sprintf("outputs[%d]", i)
		if o.Name == "" {
			return fmt.Errorf("%s.name: the in-application stream to send is missing", at)
		}
		if o.DeliveryStream != nil && o.Delivery != o.DeliveryStream.DeliveryStreamName {
			return fmt.Errorf("%s.delivery: %q is not deliveryStream.DeliveryStreamName %q; give one of them", at, o.Delivery, o.DeliveryStream.DeliveryStreamName)
		}
		targets := 0
		for _, t := range []string{o.Stream, o.File, o.Delivery} {
			if t != "" {
				targets++
			}
		}
		if o.Postprocessor != nil {
			if targets > 1 {
				return fmt.Errorf("%s: set at most one of stream and file (or delivery): where the post-processor's results go next", at)
			}
			if _, err := o.Postprocessor.compile(at+".postprocessor", postprocessorScriptName); err != nil {
				return err
			}
		} else if targets != 1 {
			return fmt.Errorf("%s: set exactly one of stream and file (or delivery)", at)
		}
		if o.Format != "JSON" && o.Format != "CSV" {
			return fmt.Errorf("%s.format: %q is not JSON or CSV", at, o.Format)
		}
	}
	if err := d.validateReferenceTables(); err != nil {
		return err
	}
	if d.CheckpointInterval.Duration < 0 {
		return fmt.Errorf("checkpointInterval: must not be negative")
	}
	if d.EventTime.MaxOutOfOrderness.Duration < 0 || d.EventTime.AllowedLateness.Duration < 0 {
		return fmt.Errorf("eventTime: maxOutOfOrderness and allowedLateness must not be negative")
	}
	return nil
}

// InputStreamNames are the in-application input streams: <prefix>_001...
func (d Definition) InputStreamNames() []string {
	out := make([]string, d.Input.Parallelism)
	for i := range out {
		out[i] = fmt.Sprintf("%s_%03d", d.Input.NamePrefix, i+1)
	}
	return out
}

// ParseDefinition reads a YAML or JSON definition. dir resolves sqlFile
// and the processors' scriptFile; with dir "" (a definition sent to the
// server) a scriptFile whose script is not inlined is refused.
func ParseDefinition(data []byte, dir string) (Definition, error) {
	var d Definition
	if err := yaml.UnmarshalStrict(data, &d); err != nil {
		return Definition{}, fmt.Errorf("application definition: %w", err)
	}
	if d.SQLFile != "" {
		if d.SQL != "" {
			return Definition{}, fmt.Errorf("application definition: set sql or sqlFile, not both")
		}
		p := d.SQLFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return Definition{}, fmt.Errorf("application definition: sqlFile: %w", err)
		}
		d.SQL = string(b)
	}
	if d.FunctionsFile != "" && d.Functions == "" {
		if dir == "" {
			return Definition{}, fmt.Errorf("application definition: functionsFile %q: a definition sent to the server must carry the functions' SQL in functions", d.FunctionsFile)
		}
		p := d.FunctionsFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return Definition{}, fmt.Errorf("application definition: functionsFile: %w", err)
		}
		d.Functions = string(b)
	}
	if err := d.Input.Preprocessor.readScript("input.preprocessor", dir); err != nil {
		return Definition{}, fmt.Errorf("application definition: %w", err)
	}
	for i := range d.Outputs {
		if err := d.Outputs[i].Postprocessor.readScript(fmt.Sprintf("outputs[%d].postprocessor", i), dir); err != nil {
			return Definition{}, fmt.Errorf("application definition: %w", err)
		}
	}
	for i, c := range d.Input.Schema.Columns {
		// YAML 1.1 reads unquoted y, n, yes, no, on and off as booleans, so
		// "name: N" names a column "false".
		if c.Name == "true" || c.Name == "false" {
			return Definition{}, fmt.Errorf("application definition: input.schema.columns[%d].name: %q: unquoted Y, N, yes, no, on and off are booleans in YAML; quote the name (name: \"N\")", i, c.Name)
		}
	}
	for i, t := range d.ReferenceTables {
		for j, c := range t.Schema.Columns {
			if c.Name == "true" || c.Name == "false" {
				return Definition{}, fmt.Errorf("application definition: referenceTables[%d].schema.columns[%d].name: %q: unquoted Y, N, yes, no, on and off are booleans in YAML; quote the name (name: \"N\")", i, j, c.Name)
			}
		}
	}
	if dir != "" {
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		d.Dir = dir
	}
	return d.WithDefaults(), nil
}
