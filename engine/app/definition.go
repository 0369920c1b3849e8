package app

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kdaproject/kda/operators/input"
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
	// Input is the one streaming source.
	Input Input `json:"input"`
	// Outputs route in-application streams to destinations.
	Outputs []Output `json:"outputs,omitempty"`
	// CheckpointInterval is how often state is checkpointed (default 10s).
	CheckpointInterval Duration `json:"checkpointInterval,omitempty"`
	// EventTime tunes Flink-style TUMBLE/HOP/SESSION windows (a kda
	// extension; KDA's own windows run on ROWTIME and ignore it).
	EventTime EventTime `json:"eventTime,omitempty"`
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
}

// Output sends an in-application stream to a destination.
type Output struct {
	// Name is the in-application stream (exact case).
	Name string `json:"name"`
	// Stream is a kda stream to put the rows into, or File a local file
	// (JSON lines or CSV); exactly one is set.
	Stream string `json:"stream,omitempty"`
	File   string `json:"file,omitempty"`
	// Format is JSON (default) or CSV.
	Format string `json:"format,omitempty"`
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
)

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
		if d.Outputs[i].Format == "" {
			d.Outputs[i].Format = "JSON"
		}
		d.Outputs[i].Format = strings.ToUpper(d.Outputs[i].Format)
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
	for i, o := range d.Outputs {
		at := fmt.Sprintf("outputs[%d]", i)
		if o.Name == "" {
			return fmt.Errorf("%s.name: the in-application stream to send is missing", at)
		}
		if (o.Stream == "") == (o.File == "") {
			return fmt.Errorf("%s: set exactly one of stream and file", at)
		}
		if o.Format != "JSON" && o.Format != "CSV" {
			return fmt.Errorf("%s.format: %q is not JSON or CSV", at, o.Format)
		}
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

// ParseDefinition reads a YAML or JSON definition. dir resolves sqlFile.
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
	return d.WithDefaults(), nil
}
