package delivery

import (
	"bytes"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/parquet"
	pqcompress "github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// writeParquet writes rec as one Parquet file (one row group).
func writeParquet(rec arrow.Record, compression string) ([]byte, error) {
	codec := pqcompress.Codecs.Snappy
	switch compression {
	case "GZIP":
		codec = pqcompress.Codecs.Gzip
	case "UNCOMPRESSED":
		codec = pqcompress.Codecs.Uncompressed
	}
	var buf bytes.Buffer
	props := parquet.NewWriterProperties(parquet.WithCompression(codec), parquet.WithCreatedBy("kda"))
	w, err := pqarrow.NewFileWriter(rec.Schema(), &buf, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, err
	}
	if err := w.Write(rec); err != nil {
		w.Close()
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
