package input

import (
	"math/rand"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

// checkBatch checks that all columns have the batch's length, that ROWTIME
// has no NULL and that strings are valid UTF-8.
func checkBatch(t *testing.T, rec arrow.Record) {
	t.Helper()
	for i, c := range rec.Columns() {
		if int64(c.Len()) != rec.NumRows() {
			t.Fatalf("column %d has %d rows, batch %d", i, c.Len(), rec.NumRows())
		}
		if s, ok := c.(*array.String); ok {
			for r := 0; r < s.Len(); r++ {
				if !utf8.ValidString(s.Value(r)) {
					t.Fatalf("column %d row %d: invalid UTF-8 %q", i, r, s.Value(r))
				}
			}
		}
	}
	if rec.Column(0).NullN() != 0 {
		t.Fatal("ROWTIME has NULLs")
	}
}

// FuzzDecodeJSON checks that no payload makes the decoder panic, and that
// each record either produces rows or exactly one error.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"n":1,"s":"x","items":[{"v":1.5},{"v":"2"}],"t":"2026-01-02T03:04:05.678Z"}`,
		`{"n":1}{"n":2}`, `[]`, `null`, `{"items":{}}`, `{"n":1e999}`, `{"s":"\ud800"}`,
		`{"n":"12abc","t":"1992-02-14 18:35:44.0"}`, `{`, ``, "\xff", `{"items":[null,1,[]]}`,
	} {
		f.Add([]byte(s))
	}
	s := jsonSchema(col("n", "INTEGER", "$.n"), col("s", "VARCHAR(4)", "$.s"), col("v", "DECIMAL(6,2)", "$.items[0:].v"),
		col("t", "TIMESTAMP", "$.t"), col("b", "BOOLEAN", "$.n"), col("raw", "VARCHAR(16)", "$"), col("bin", "VARBINARY(4)", "$.s"))
	d, err := NewDecoder(s, DecoderOptions{ExtraColumns: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, errs := d.Decode([]Record{{Data: data, Rowtime: t0}})
		defer out.Release()
		if (out.NumRows() == 0) == (len(errs) == 0) {
			t.Fatalf("rows %d, errors %v", out.NumRows(), errs)
		}
		checkBatch(t, out)
	})
}

// FuzzDecodeCSV does the same for CSV with a multi-character delimiter.
func FuzzDecodeCSV(f *testing.F) {
	for _, s := range []string{
		"a,1,2.5,1992-02-14", `"a ""b""",1` + "\r\n" + "c,2", `"unterminated`, `"x"y`, "\n\n", "", ",,,", "a;;b,1",
	} {
		f.Add([]byte(s))
	}
	for _, delim := range []string{",", ";;"} {
		s := Schema{RecordFormat: RecordFormat{Type: "CSV", ColumnDelimiter: delim},
			Columns: []Column{{Name: "a", SQLType: "VARCHAR(8)"}, {Name: "b", SQLType: "INTEGER"}, {Name: "c", SQLType: "DOUBLE"}, {Name: "d", SQLType: "DATE"}}}
		if _, err := NewDecoder(s, DecoderOptions{}); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, delim := range []string{",", ";;"} {
			s := Schema{RecordFormat: RecordFormat{Type: "CSV", ColumnDelimiter: delim},
				Columns: []Column{{Name: "a", SQLType: "VARCHAR(8)"}, {Name: "b", SQLType: "INTEGER"}, {Name: "c", SQLType: "DOUBLE"}, {Name: "d", SQLType: "DATE"}}}
			d, _ := NewDecoder(s, DecoderOptions{})
			out, errs := d.Decode([]Record{{Data: data, Rowtime: t0}})
			if (out.NumRows() == 0) == (len(errs) == 0) {
				t.Fatalf("rows %d, errors %v", out.NumRows(), errs)
			}
			checkBatch(t, out)
			out.Release()
		}
	})
}

// diffSchemas are the schemas on which the fast path is held equal to the
// parse tree: nested members, duplicate and shared paths, every coercion.
var diffSchemas = []Schema{
	jsonSchema(col("a", "INTEGER", "$.a"), col("s", "VARCHAR(8)", "$.s"), col("d", "DOUBLE", "$.b.d"),
		col("t", "TIMESTAMP", "$.b.t"), col("x", "VARCHAR(32)", "$.b.c.x"), col("y", "BOOLEAN", "$.b.c.y"),
		col("dec", "DECIMAL(10,2)", "$.n"), col("big", "BIGINT", "$.n"), col("r", "REAL", "$.n"),
		col("sp", "VARCHAR(4)", `$["a b"]`), col("bin", "VARBINARY(4)", "$.s"), col("dt", "DATE", "$.b.t"), col("tm", "TIME", "$.b.t")),
	jsonSchema(col("c", "VARCHAR(64)", "$.b.c"), col("x", "CHAR(2)", "$.b.c.x"), col("a", "SMALLINT NOT NULL", "$.a"),
		col("ti", "TINYINT", "$.b.d")),
	nexmarkSchema(),
}

// diffDecode decodes data with the fast path and with the parse tree alone
// and fails when rows or errors differ. It reports whether the fast path
// took the record.
func diffDecode(t *testing.T, fast, tree *Decoder, data []byte) bool {
	t.Helper()
	recs := []Record{{Data: data, Rowtime: t0}}
	a, aerrs := fast.Decode(recs)
	defer a.Release()
	b, berrs := tree.Decode(recs)
	defer b.Release()
	ra, rb := render(a, 0), render(b, 0)
	if !reflect.DeepEqual(ra, rb) {
		t.Fatalf("%q: fast path rows %q, parse tree rows %q", data, ra, rb)
	}
	if len(aerrs) != len(berrs) {
		t.Fatalf("%q: fast path errors %v, parse tree errors %v", data, aerrs, berrs)
	}
	for i := range aerrs {
		if aerrs[i].Name != berrs[i].Name || aerrs[i].Message != berrs[i].Message {
			t.Fatalf("%q: fast path error %s %q, parse tree error %s %q", data, aerrs[i].Name, aerrs[i].Message, berrs[i].Name, berrs[i].Message)
		}
	}
	return fast.fast.extract(data)
}

// diffDecoders makes, for each of diffSchemas, a decoder with the fast path
// and one without.
func diffDecoders(tb testing.TB) (fast, tree []*Decoder) {
	for _, s := range diffSchemas {
		f, err := NewDecoder(s, DecoderOptions{})
		if err != nil {
			tb.Fatal(err)
		}
		if f.fast == nil {
			tb.Fatalf("schema %v has no extraction plan", s)
		}
		tr, _ := NewDecoder(s, DecoderOptions{})
		tr.fast = nil
		fast, tree = append(fast, f), append(tree, tr)
	}
	return fast, tree
}

var diffSeeds = []string{
	`{"a":1,"s":"x","b":{"d":1.5,"t":"2026-01-02T03:04:05.678Z","c":{"x":"hi","y":true}},"n":12.5,"a b":"sp"}`,
	`{"a":1,"a":2}`, `{"b":{"d":1},"b":{"d":2}}`, `{"b":5,"b":{"d":2}}`, `{"b\u0069":{"d":2},"b":{"d":3}}`,
	`{"a":1}{"a":2}`, `{"a":1} `, ` {"a":1}`, `[]`, `null`, `5`, `"str"`, `{}`, `{"a":}`, `{"a":1,}`, `{"a" 1}`,
	`{"a":-}`, `{"a":-,"s":1}`, `{"a":1-2}`, `{"a":1e999}`, `{"n":1e2}`, `{"n":-0.5e-1}`, `{"n":NaN}`, `{"n":nan}`, `{"n":-Inf}`,
	`{"n":12345678901234567890}`, `{"n":9223372036854775807}`, `{"a":tru}`, `{"a":nul}`, `{"a":falsey}`,
	`{"s":"a\"b"}`, `{"s":"a\\"}`, `{"s":"a\\\"b"}`, `{"s":"\u00e9\ud83d\ude00"}`, `{"s":"\ud800"}`, `{"s":"\ud800\u0041"}`,
	`{"s":"\uZZZZ"}`, `{"s":"\u12"}`, `{"s":"\x41\/\b\f\n\r\t"}`, `{"s":"` + "\x01\xff" + `"}`, `{"s":"X'0aff'"}`,
	`{"b":{"c":{"x":["a",1],"y":"TRUE"}}}`, `{"b":{"c":{"x":{"k":"v"}}}}`, `{"b":{"c":"str"}}`, `{"b":{"c":[1,2]}}`,
	`{"b":{"t":"1992-02-14 18:35:44.0","d":"  2.5 "}}`, `{"b":{"t":18}}`, `{"b":{"d":true}}`,
	`{"x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],"a":1}`,
	"{\"a\"\t:\r\n1\n}\n", "{\"a\":1\x00}", `{"a":"1"}`, `{"a":" 7 "}`, `{"a":1.0}`, `{"a":1.5}`, `{"a":null}`,
	`{"event_type":2,"bid":{"auction":1000,"bidder":2001,"price":7919,"channel":"channel-1","url":"https://www.nexmark.com/item.htm?query=1&channel_id=1","dateTime":"2026-01-02 03:04:05.679","extra":"zxcvbnmasdfghjklqwert"}}`,
}

// randomJSON writes a random value, mostly well-formed, with the member
// names the diffSchemas map and the spellings that trip parsers.
func randomJSON(r *rand.Rand, dst []byte, depth int) []byte {
	keys := []string{"a", "s", "b", "c", "d", "t", "x", "y", "n", "a b", "b\\u0069", "bid", "price", "url", "z"}
	scalars := []string{`1`, `-7`, `0`, `2.5`, `1e3`, `-1.5E-2`, `12345678901234567890`, `1e999`, `1.`, `-`, `1-2`, `true`, `false`, `null`,
		`"x"`, `""`, `"a\"b"`, `"\u00e9"`, `"\ud83d\ude00"`, `"\ud800"`, `"\q"`, `"2026-01-02T03:04:05.678Z"`, `"1992-02-14"`,
		`" 42 "`, `"TRUE"`, `"X'0a'"`, `"abcdefghijklmnop"`, `"\\"`, `"\/"`, `"` + "\xc3\xa9" + `"`}
	ws := func() {
		if r.Intn(8) == 0 {
			dst = append(dst, " \n\t\r"[r.Intn(4)])
		}
	}
	ws()
	switch k := r.Intn(10); {
	case depth < 4 && k < 5:
		dst = append(dst, '{')
		for i, n := 0, r.Intn(5); i < n; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			ws()
			dst = append(dst, '"')
			dst = append(dst, keys[r.Intn(len(keys))]...)
			dst = append(dst, '"')
			ws()
			dst = append(dst, ':')
			dst = randomJSON(r, dst, depth+1)
		}
		ws()
		dst = append(dst, '}')
	case depth < 4 && k < 6:
		dst = append(dst, '[')
		for i, n := 0, r.Intn(4); i < n; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = randomJSON(r, dst, depth+1)
		}
		dst = append(dst, ']')
	default:
		dst = append(dst, scalars[r.Intn(len(scalars))]...)
	}
	ws()
	return dst
}

// TestFastPathMatchesTree decodes the seeds and random documents (some of
// them cut short or with a byte changed) both ways and requires the same
// rows and errors; the fast path must take most well-formed ones.
func TestFastPathMatchesTree(t *testing.T) {
	fast, tree := diffDecoders(t)
	r := rand.New(rand.NewSource(1))
	taken := 0
	const n = 20000
	for i := range n {
		var data []byte
		if i < len(diffSeeds) {
			data = []byte(diffSeeds[i])
		} else {
			data = randomJSON(r, nil, 0)
			switch r.Intn(10) {
			case 0:
				data = data[:r.Intn(len(data)+1)]
			case 1:
				if len(data) > 0 {
					data[r.Intn(len(data))] = "{}[]\",:\\ 0a"[r.Intn(11)]
				}
			}
		}
		for s := range fast {
			if diffDecode(t, fast[s], tree[s], data) {
				taken++
			}
		}
	}
	if taken < n {
		t.Fatalf("the fast path took only %d of %d decodes", taken, n*len(fast))
	}
}

// FuzzFastPath holds the fast path equal to the parse tree on any payload.
func FuzzFastPath(f *testing.F) {
	for _, s := range diffSeeds {
		f.Add([]byte(s))
	}
	fast, tree := diffDecoders(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for s := range fast {
			diffDecode(t, fast[s], tree[s], data)
		}
	})
}

// TestFastPathMatchesTreeInBatches decodes batches of random records both
// ways: a record the fast path rejects half-way (a later column's value
// does not convert) must leave nothing behind in the columns it had
// already filled, and the rows of the records around it must come out as
// the parse tree gives them.
func TestFastPathMatchesTreeInBatches(t *testing.T) {
	fast, tree := diffDecoders(t)
	r := rand.New(rand.NewSource(2))
	rejected := 0
	for range 2000 {
		recs := make([]Record, 1+r.Intn(16))
		for i := range recs {
			recs[i] = Record{Data: randomJSON(r, nil, 0), Rowtime: t0.Add(time.Duration(i) * time.Millisecond)}
		}
		for s := range fast {
			a, aerrs := fast[s].Decode(recs)
			b, berrs := tree[s].Decode(recs)
			ra, rb := render(a, 0), render(b, 0)
			a.Release()
			b.Release()
			if !reflect.DeepEqual(ra, rb) {
				t.Fatalf("schema %d: fast path rows %q, parse tree rows %q", s, ra, rb)
			}
			if len(aerrs) != len(berrs) {
				t.Fatalf("schema %d: fast path errors %v, parse tree errors %v", s, aerrs, berrs)
			}
			for i := range aerrs {
				if aerrs[i].Message != berrs[i].Message {
					t.Fatalf("schema %d: fast path error %q, parse tree error %q", s, aerrs[i].Message, berrs[i].Message)
				}
				if aerrs[i].Name == ErrCoercion {
					rejected++
				}
			}
		}
	}
	if rejected < 100 {
		t.Fatalf("only %d records failed to convert: the batches do not test dropping a half-appended row", rejected)
	}
}
