//go:build !kda_parquet

package delivery

import (
	"errors"

	"github.com/apache/arrow/go/v17/arrow"
)

// parquetAvailable says whether this build can write Parquet; see
// parquet.go. Without it, DataFormatConversionConfiguration is refused
// when a delivery stream is created.
const parquetAvailable = false

func writeParquet(arrow.Record, string) ([]byte, error) {
	return nil, errors.New("this kda build has no Parquet writer")
}
