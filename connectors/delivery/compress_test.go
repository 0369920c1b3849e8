package delivery

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
)

func TestCompressionRoundTrips(t *testing.T) {
	data := []byte(strings.Repeat(`{"ticker":"AMZN","price":123.45}`+"\n", 20000)) // > one Hadoop block
	for _, format := range []string{Uncompressed, GZIP, ZIP, Snappy, HadoopSnappy} {
		for _, in := range [][]byte{data, []byte("x")} {
			body, enc, err := compress(format, in, "s-1-2024-01-01-00-00-00-id.zip")
			if err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			got := decompress(t, format, body, enc)
			if !bytes.Equal(got, in) {
				t.Errorf("%s: round trip changed %d bytes into %d", format, len(in), len(got))
			}
			if format != Uncompressed && len(in) == len(data) && len(body) >= len(in)/2 {
				t.Errorf("%s: %d bytes compressed to %d", format, len(in), len(body))
			}
		}
	}
}

func TestCompressPartsIsCompressOfTheConcatenation(t *testing.T) {
	line := []byte(`{"ticker":"AMZN","price":123.45}` + "\n")
	big := bytes.Repeat([]byte("0123456789abcdef"), stageSize/16*2+3) // more than the staging buffer
	cases := []struct {
		name  string
		parts [][]byte
	}{
		{"many small parts", slices.Repeat([][]byte{line}, 20000)},
		{"a part larger than the staging buffer between small ones", [][]byte{line, big, line}},
		{"one byte", [][]byte{[]byte("x")}},
		{"no parts at all", nil},
		{"empty parts", [][]byte{{}, {}}},
	}
	for _, format := range []string{Uncompressed, GZIP, ZIP, Snappy, HadoopSnappy} {
		var c compressor // one per worker: reused for every object
		for _, tc := range cases {
			want := bytes.Join(tc.parts, nil)
			body, enc, err := c.compressParts(format, len(want), slices.Values(tc.parts), "s-1-2024-01-01-00-00-00-id.zip")
			if err != nil {
				t.Fatalf("%s, %s: %v", format, tc.name, err)
			}
			if got := decompress(t, format, body, enc); !bytes.Equal(got, want) {
				t.Errorf("%s, %s: round trip changed %d bytes into %d", format, tc.name, len(want), len(got))
			}
		}
	}
}

// decompress undoes compress.
func decompress(t *testing.T, format string, body []byte, enc string) []byte {
	t.Helper()
	var got []byte
	switch format {
	case Uncompressed:
		got = body
	case GZIP:
		if enc != "gzip" {
			t.Errorf("GZIP content encoding %q", enc)
		}
		r, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, err = io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
	case ZIP:
		zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatal(err)
		}
		if len(zr.File) != 1 || zr.File[0].Name != "s-1-2024-01-01-00-00-00-id" {
			t.Fatalf("zip entries %v", zr.File)
		}
		f, _ := zr.File[0].Open()
		got, _ = io.ReadAll(f)
	case Snappy:
		var err error
		got, err = io.ReadAll(snappy.NewReader(bytes.NewReader(body)))
		if err != nil {
			t.Fatal(err)
		}
	case HadoopSnappy:
		got = hadoopSnappyDecode(t, body)
	}
	return got
}

// hadoopSnappyDecode reads Hadoop's block format as SnappyCodec does.
func hadoopSnappyDecode(t *testing.T, b []byte) []byte {
	var out []byte
	for len(b) > 0 {
		raw := int(binary.BigEndian.Uint32(b))
		b = b[4:]
		var block []byte
		for len(block) < raw || raw == 0 {
			n := int(binary.BigEndian.Uint32(b))
			chunk, err := snappy.Decode(nil, b[4:4+n])
			if err != nil {
				t.Fatal(err)
			}
			b = b[4+n:]
			block = append(block, chunk...)
			if raw == 0 {
				break
			}
		}
		out = append(out, block...)
	}
	return out
}
