package delivery

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/kdaproject/kda/operators/input"
)

func parquetDef(name, compression string) Definition {
	return s3def(name, func(s *ExtendedS3DestinationConfiguration) {
		s.DataFormatConversionConfiguration = &DataFormatConversionConfiguration{
			KdaSchema: &KdaSchema{Columns: []input.Column{
				{Name: "ticker", SQLType: "VARCHAR(8)", Mapping: "$.ticker"},
				{Name: "price", SQLType: "DOUBLE", Mapping: "$.price"},
				{Name: "qty", SQLType: "BIGINT", Mapping: "$.q.n"},
			}},
			OutputFormatConfiguration: &OutputFormatConfiguration{},
		}
		s.DataFormatConversionConfiguration.OutputFormatConfiguration.Serializer.ParquetSerDe = &ParquetSerDe{Compression: compression}
	})
}

func TestParquetFilesReadBackAsTheInput(t *testing.T) {
	for _, comp := range []string{"SNAPPY", "GZIP", "UNCOMPRESSED"} {
		t.Run(comp, func(t *testing.T) {
			f := newFixture(t)
			f.create(parquetDef("pq", comp))
			var recs []string
			for i := 0; i < 100; i++ {
				recs = append(recs, fmt.Sprintf(`{"ticker":"T%d","price":%d.5,"q":{"n":%d}}`, i%7, i, i*10))
			}
			recs = append(recs, `{"ticker":"BAD","price":"not a number"}`, `not json`)
			f.put("pq", recs...)
			if err := f.m.Flush(context.Background(), "pq"); err != nil {
				t.Fatal(err)
			}
			objs := f.dataObjects()
			if len(objs) != 1 || !strings.HasSuffix(objs[0], ".parquet") {
				t.Fatalf("objects %v", objs)
			}
			rdr, err := file.NewParquetReader(bytes.NewReader(f.mem.get(objs[0])))
			if err != nil {
				t.Fatal(err)
			}
			fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
			if err != nil {
				t.Fatal(err)
			}
			tbl, err := fr.ReadTable(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer tbl.Release()
			if tbl.NumRows() != 100 || tbl.NumCols() != 3 {
				t.Fatalf("table %d rows × %d columns", tbl.NumRows(), tbl.NumCols())
			}
			tr := array.NewTableReader(tbl, 1000)
			defer tr.Release()
			row := 0
			for tr.Next() {
				rec := tr.Record()
				tick, price, qty := rec.Column(0).(*array.String), rec.Column(1).(*array.Float64), rec.Column(2).(*array.Int64)
				for i := 0; i < int(rec.NumRows()); i++ {
					got := fmt.Sprintf(`{"ticker":"%s","price":%g,"q":{"n":%d}}`, tick.Value(i), price.Value(i), qty.Value(i))
					if got != recs[row] {
						t.Fatalf("row %d: %s, want %s", row, got, recs[row])
					}
					row++
				}
			}
			if col, _ := rdr.MetaData().RowGroup(0).ColumnChunk(0); comp != "UNCOMPRESSED" && !strings.EqualFold(col.Compression().String(), comp) {
				t.Errorf("column compression %s, want %s", col.Compression(), comp)
			}
			errs := f.errorObjects()
			if len(errs) != 1 || !strings.Contains(errs[0], "/format-conversion-failed/") || strings.Count(string(f.mem.get(errs[0])), "\n") != 2 {
				t.Fatalf("error objects %v", errs)
			}
		})
	}
}
