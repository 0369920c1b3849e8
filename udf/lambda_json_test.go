package udf

import (
	"testing"

	"github.com/dop251/goja"
)

// TestFastJSONParseMatchesGoja parses documents with the fast JSON.parse and
// with goja's own and compares what a script can see: the re-serialised
// value, its key order and its types, or the error message.
func TestFastJSONParseMatchesGoja(t *testing.T) {
	docs := []string{
		`{"ticker":"T001","price":12.5,"qty":3,"side":"BUY","ok":true,"none":null,"tags":["a","b"],"n":{"x":[1,[2,{}]]}}`,
		`  [1, -2, 3.25, -0.5, 1e3, 2E-2, 123456789012345678901, 9007199254740993, 0, -0]  `,
		`"esc\"aped \\ \/ \b\f\n\r\t \u00e9 \u4e2d"`,
		`{"a":1,"a":2,"b":{}}`,
		`{"2":"two","1":"one","x":0}`,
		`{"__proto__":{"polluted":true}}`,
		`"\ud83d\ude00 and a lone \udc00"`,
		"\"h\u00e9llo w\u00f6rld\"",
		`[]`, `{}`, `true`, `null`, `-0`, `0.0`,
		`{"a":1,}`, `[1 2]`, `01`, `1.`, `.5`, `"unterminated`, `{"a" 1}`, `tru`, ``, `[1]x`, "\"tab\there\"",
	}
	vm := goja.New()
	rt := &Runtime{VM: vm, Name: "t"}
	check := `(function (s) {
  try {
    const v = JSON.parse(s);
    const types = JSON.stringify(v, (k, x) => (x !== null && typeof x === 'object') ? x : typeof x + ':' + String(Object.is(x, -0) ? '-0' : x));
    return JSON.stringify(v) + ' ' + types + ' ' + (v !== null && typeof v === 'object' ? Object.keys(v).join(',') + '|' + (Object.getPrototypeOf(v) === Object.prototype || Array.isArray(v)) : '');
  } catch (e) { return 'throws ' + e; }
})`
	before := map[string]string{}
	fn, err := vm.RunString(check)
	if err != nil {
		t.Fatal(err)
	}
	call, _ := goja.AssertFunction(fn)
	for _, d := range docs {
		v, err := call(goja.Undefined(), vm.ToValue(d))
		if err != nil {
			t.Fatal(err)
		}
		before[d] = v.String()
	}
	rt.useFastJSON()
	rt.useFastJSON() // once is enough; a second call changes nothing
	for _, d := range docs {
		v, err := call(goja.Undefined(), vm.ToValue(d))
		if err != nil {
			t.Fatal(err)
		}
		if v.String() != before[d] {
			t.Errorf("JSON.parse(%q):\n fast %s\n goja %s", d, v, before[d])
		}
	}
	if got, _ := vm.RunString(`JSON.parse('{"a":[1]}', (k, v) => k === 'a' ? 'revived' : v).a + JSON.parse.name`); got.String() != "revivedparse" {
		t.Errorf("reviver or name: %s", got)
	}
}
