package udf

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"

	"github.com/dop251/goja"
	"github.com/dop251/goja_nodejs/buffer"
)

// maxInflated bounds what one zlib call may produce, so that a small
// compressed record cannot expand into an unbounded allocation.
const maxInflated = 64 << 20

// requireZlib is the `zlib` module: the synchronous functions of Node's
// zlib that Lambda handlers use to decode and encode payloads.
func requireZlib(vm *goja.Runtime, module *goja.Object) {
	exports := module.Get("exports").(*goja.Object)
	inflate := func(name string, open func(io.Reader) (io.Reader, error)) {
		_ = exports.Set(name, func(call goja.FunctionCall) goja.Value {
			in := buffer.Bytes(vm, call.Argument(0))
			r, err := open(bytes.NewReader(in))
			if err != nil {
				panic(vm.NewGoError(fmt.Errorf("zlib.%s: %w", name, err)))
			}
			out, err := io.ReadAll(io.LimitReader(r, maxInflated+1))
			if err != nil {
				panic(vm.NewGoError(fmt.Errorf("zlib.%s: %w", name, err)))
			}
			if len(out) > maxInflated {
				panic(vm.NewGoError(fmt.Errorf("zlib.%s: output larger than %d MiB", name, maxInflated>>20)))
			}
			return buffer.WrapBytes(vm, out)
		})
	}
	deflate := func(name string, open func(io.Writer) (io.WriteCloser, error)) {
		_ = exports.Set(name, func(call goja.FunctionCall) goja.Value {
			in := buffer.Bytes(vm, call.Argument(0))
			var out bytes.Buffer
			w, err := open(&out)
			if err == nil {
				_, err = w.Write(in)
			}
			if err == nil {
				err = w.Close()
			}
			if err != nil {
				panic(vm.NewGoError(fmt.Errorf("zlib.%s: %w", name, err)))
			}
			return buffer.WrapBytes(vm, out.Bytes())
		})
	}
	inflate("gunzipSync", func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) })
	inflate("inflateSync", func(r io.Reader) (io.Reader, error) { return zlib.NewReader(r) })
	inflate("inflateRawSync", func(r io.Reader) (io.Reader, error) { return flate.NewReader(r), nil })
	inflate("unzipSync", func(r io.Reader) (io.Reader, error) {
		br := bufioPeek{r: r}
		head, err := br.peek(2)
		if err != nil {
			return nil, err
		}
		if head[0] == 0x1f && head[1] == 0x8b {
			return gzip.NewReader(br.reader())
		}
		return zlib.NewReader(br.reader())
	})
	deflate("gzipSync", func(w io.Writer) (io.WriteCloser, error) { return gzip.NewWriter(w), nil })
	deflate("deflateSync", func(w io.Writer) (io.WriteCloser, error) { return zlib.NewWriter(w), nil })
	deflate("deflateRawSync", func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.DefaultCompression) })
}

// bufioPeek reads the first bytes of a stream and puts them back.
type bufioPeek struct {
	r    io.Reader
	head []byte
}

func (b *bufioPeek) peek(n int) ([]byte, error) {
	b.head = make([]byte, n)
	if _, err := io.ReadFull(b.r, b.head); err != nil {
		return nil, fmt.Errorf("input shorter than a header: %w", err)
	}
	return b.head, nil
}

func (b *bufioPeek) reader() io.Reader { return io.MultiReader(bytes.NewReader(b.head), b.r) }
