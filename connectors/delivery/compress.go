package delivery

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"iter"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
)

// Compression happens after buffering (the size hint counts uncompressed
// bytes), once per object:
//
//   - GZIP: one gzip member written by klauspost/compress's gzip, a
//     drop-in for compress/gzip that is several times faster, at level 1
//     (BestSpeed): JSON lines still shrink several-fold, and higher levels
//     cost far more CPU per record for a few percent of size. A worker
//     keeps one gzip.Writer (see compressor) and resets it per object,
//     since a new writer allocates and zeroes its encoder tables.
//   - ZIP: an archive with one entry named like the object, without .zip.
//   - Snappy: the Snappy framing format (what Firehose writes, and what
//     snappy's stream readers read).
//   - HADOOP_SNAPPY: Hadoop's block format (4-byte big-endian uncompressed
//     length, then 4-byte-length-prefixed raw Snappy chunks), what Hadoop's
//     SnappyCodec reads.

// hadoopSnappyBlock is the uncompressed size of one Hadoop Snappy block.
const hadoopSnappyBlock = 256 << 10

// gzipLevel is the GZIP compression level (see above).
const gzipLevel = gzip.BestSpeed

// A compressor compresses one object at a time and keeps what can be
// reused between objects (the GZIP writer). It is not safe for concurrent
// use; each worker has its own.
type compressor struct {
	gz    *gzip.Writer
	stage *bufio.Writer // gathers small parts into large writes to gz
}

// stageSize is the staging buffer of compressParts: large enough that
// the GZIP encoder gets whole blocks, small enough to stay in cache.
const stageSize = 64 << 10

// compressParts is compress of the concatenation of parts, size bytes in
// all. GZIP never builds the concatenation: the parts go through a small
// staging buffer into the encoder. The other formats concatenate first.
func (c *compressor) compressParts(format string, size int, parts iter.Seq[[]byte], name string) ([]byte, string, error) {
	if format != GZIP {
		data := make([]byte, 0, size)
		for p := range parts {
			data = append(data, p...)
		}
		return c.compress(format, data, name)
	}
	var buf bytes.Buffer
	buf.Grow(size/4 + 64)
	gz, err := c.gzipWriter(&buf)
	if err != nil {
		return nil, "", err
	}
	if c.stage == nil {
		c.stage = bufio.NewWriterSize(gz, stageSize)
	} else {
		c.stage.Reset(gz)
	}
	for p := range parts {
		if _, err := c.stage.Write(p); err != nil {
			return nil, "", err
		}
	}
	if err := c.stage.Flush(); err != nil {
		return nil, "", err
	}
	if err := gz.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), "gzip", nil
}

// gzipWriter returns the compressor's GZIP writer, reset to write to w.
func (c *compressor) gzipWriter(w io.Writer) (*gzip.Writer, error) {
	if c.gz == nil {
		gz, err := gzip.NewWriterLevel(w, gzipLevel)
		if err != nil {
			return nil, err
		}
		c.gz = gz
	} else {
		c.gz.Reset(w)
	}
	return c.gz, nil
}

// compress returns data compressed with format and the Content-Encoding
// to store it with ("" for none).
func compress(format string, data []byte, name string) ([]byte, string, error) {
	var c compressor
	return c.compress(format, data, name)
}

// compress returns data compressed with format and the Content-Encoding
// to store it with ("" for none). The result never shares memory with
// data unless format is Uncompressed, when it is data itself.
func (c *compressor) compress(format string, data []byte, name string) ([]byte, string, error) {
	var buf bytes.Buffer
	switch format {
	case Uncompressed, "":
		return data, "", nil
	case GZIP:
		buf.Grow(len(data)/4 + 64)
		w, err := c.gzipWriter(&buf)
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
