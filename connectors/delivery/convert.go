package delivery

import (
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/kdaproject/kda/operators/input"
)

// Format conversion turns JSON records into Parquet, as Firehose's
// DataFormatConversionConfiguration does with a Glue schema:
//
//	records ──input.Decoder (the applications' JSON decoder: JSONPath →
//	typed Arrow columns)──► arrow.Record ──pqarrow──► one Parquet file per object
//
// A record that is not JSON, or whose values do not convert to their
// column types, goes to the error output as format-conversion-failed; the
// others are written. Parquet compression is the serializer's
// (ParquetSerDe.Compression: SNAPPY by default, GZIP or UNCOMPRESSED).

// converter converts records of one delivery stream. It is used by the
// stream's worker goroutine only.
type converter struct {
	schema      input.Schema
	compression string
	dec         *input.Decoder
}

func compileConversion(c *DataFormatConversionConfiguration, at string) (*converter, error) {
	if len(c.SchemaConfiguration) > 0 && string(c.SchemaConfiguration) != "null" {
		return nil, invalid("%s.SchemaConfiguration: kda has no Glue catalog; declare the columns in KdaSchema.Columns ({Name, SQLType, Mapping})", at)
	}
	if c.KdaSchema == nil || len(c.KdaSchema.Columns) == 0 {
		return nil, invalid("%s.KdaSchema.Columns: declare at least one column ({Name, SQLType, Mapping})", at)
	}
	comp := "SNAPPY"
	if o := c.OutputFormatConfiguration; o != nil {
		if o.Serializer.OrcSerDe != nil {
			return nil, invalid("%s.OutputFormatConfiguration.Serializer.OrcSerDe: ORC is not supported; use ParquetSerDe", at)
		}
		if p := o.Serializer.ParquetSerDe; p != nil && p.Compression != "" {
			comp = strings.ToUpper(p.Compression)
		}
	}
	switch comp {
	case "SNAPPY", "GZIP", "UNCOMPRESSED":
	default:
		return nil, invalid("%s.OutputFormatConfiguration.Serializer.ParquetSerDe.Compression: %q is not SNAPPY, GZIP or UNCOMPRESSED", at, comp)
	}
	s := input.Schema{RecordFormat: input.RecordFormat{Type: input.FormatJSON}, Columns: c.KdaSchema.Columns}.WithDefaults()
	dec, err := input.NewDecoder(s, input.DecoderOptions{})
	if err != nil {
		return nil, invalid("%s.KdaSchema: %v", at, err)
	}
	return &converter{schema: s, compression: comp, dec: dec}, nil
}

// toArrow decodes recs into a batch of the declared columns. failed[i] is
// the reason record i did not convert ("" when it did).
func (c *converter) toArrow(mem memory.Allocator, recs []*spilled) (arrow.Record, []string) {
	in := make([]input.Record, len(recs))
	for i, r := range recs {
		// SequenceNumber carries the index back through RowError.DataRow.
		in[i] = input.Record{Data: r.data, Rowtime: r.arrival, ArrivalTime: r.arrival}
	}
	rec, errs := c.dec.Decode(in)
	failed := make([]string, len(recs))
	if len(errs) > 0 {
		// Errors come in record order; match them by their data.
		j := 0
		for i := range recs {
			if j < len(errs) && errs[j].DataRow == string(recs[i].data) {
				failed[i] = errs[j].Message
				j++
			}
		}
	}
	// Drop ROWTIME and APPROXIMATE_ARRIVAL_TIME: the file holds the
	// declared columns only.
	n := len(c.schema.Columns)
	fields := rec.Schema().Fields()[2 : 2+n]
	cols := rec.Columns()[2 : 2+n]
	out := array.NewRecord(arrow.NewSchema(fields, nil), cols, rec.NumRows())
	rec.Release()
	return out, failed
}

// convert returns the Parquet file of recs and the reasons of the records
// that did not convert.
func (c *converter) convert(recs []*spilled) ([]byte, []string, error) {
	rec, failed := c.toArrow(memory.DefaultAllocator, recs)
	defer rec.Release()
	if rec.NumRows() == 0 {
		return nil, failed, nil
	}
	b, err := writeParquet(rec, c.compression)
	if err != nil {
		return nil, failed, fmt.Errorf("write Parquet: %w", err)
	}
	return b, failed, nil
}
