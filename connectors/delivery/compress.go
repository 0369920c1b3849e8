package delivery

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
)

// Compression happens after buffering (the size hint counts uncompressed
// bytes), once per object:
//
//   - GZIP: one gzip member (klauspost/compress, level 1: JSON still
//     shrinks several-fold and the worker keeps up with puts).
//   - ZIP: an archive with one entry named like the object, without .zip.
//   - Snappy: the Snappy framing format (what Firehose writes, and what
//     snappy's stream readers read).
//   - HADOOP_SNAPPY: Hadoop's block format (4-byte big-endian uncompressed
//     length, then 4-byte-length-prefixed raw Snappy chunks), what Hadoop's
//     SnappyCodec reads.

// hadoopSnappyBlock is the uncompressed size of one Hadoop Snappy block.
const hadoopSnappyBlock = 256 << 10

// compress returns data compressed with format and the Content-Encoding
// to store it with ("" for none).
func compress(format string, data []byte, name string) ([]byte, string, error) {
	var buf bytes.Buffer
	switch format {
	case Uncompressed, "":
		return data, "", nil
	case GZIP:
		buf.Grow(len(data)/4 + 64)
		w, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		if err != nil {
			return nil, "", err
		}
		if _, err := w.Write(data); err != nil {
			return nil, "", err
		}
		if err := w.Close(); err != nil {
			return nil, "", err
		}
		return buf.Bytes(), "gzip", nil
	case ZIP:
		zw := zip.NewWriter(&buf)
		w, err := zw.Create(strings.TrimSuffix(name, ".zip"))
		if err != nil {
			return nil, "", err
		}
		if _, err := w.Write(data); err != nil {
			return nil, "", err
		}
		if err := zw.Close(); err != nil {
			return nil, "", err
		}
		return buf.Bytes(), "", nil
	case Snappy:
		w := snappy.NewBufferedWriter(&buf)
		if _, err := w.Write(data); err != nil {
			return nil, "", err
		}
		if err := w.Close(); err != nil {
			return nil, "", err
		}
		return buf.Bytes(), "", nil
	case HadoopSnappy:
		var hdr [4]byte
		var block []byte
		for off := 0; off < len(data) || off == 0 && len(data) == 0; off += hadoopSnappyBlock {
			chunk := data[off:min(off+hadoopSnappyBlock, len(data))]
			binary.BigEndian.PutUint32(hdr[:], uint32(len(chunk)))
			buf.Write(hdr[:])
			block = snappy.Encode(block[:cap(block)], chunk)
			binary.BigEndian.PutUint32(hdr[:], uint32(len(block)))
			buf.Write(hdr[:])
			buf.Write(block)
			if len(data) == 0 {
				break
			}
		}
		return buf.Bytes(), "", nil
	}
	return nil, "", fmt.Errorf("unknown compression format %q", format)
}
