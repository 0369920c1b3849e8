//go:build !kda_parquet

package delivery

import (
	"strings"
	"testing"

	"github.com/kdaproject/kda/operators/input"
)

func TestWithoutAParquetWriterConversionIsRefusedClearly(t *testing.T) {
	def := s3def("pq", func(s *ExtendedS3DestinationConfiguration) {
		s.DataFormatConversionConfiguration = &DataFormatConversionConfiguration{KdaSchema: &KdaSchema{Columns: []input.Column{{Name: "a", SQLType: "INT", Mapping: "$.a"}}}}
	})
	if err := def.Validate(); err == nil || !strings.Contains(err.Error(), "no Parquet writer") {
		t.Fatalf("err = %v", err)
	}
}
