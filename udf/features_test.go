package udf

import (
	"testing"

	"github.com/dop251/goja"
)

// TestDocumentedLanguageFeatures checks the lists of supported and
// unsupported JavaScript features in docs/javascript.md against the goja
// this build uses.
func TestDocumentedLanguageFeatures(t *testing.T) {
	cases := []struct{ src, want string }{
		// Supported.
		{"({a: {b: 1}})?.a?.b ?? 2", "1"},
		{"class A { #x = 3; get x() { return this.#x } }; new A().x", "3"},
		{"let [a, ...r] = [1, 2, 3]; const {b = 4} = {}; `${a}${r.length}${b}`", "124"},
		{"function* g() { yield 1; yield 2 }; [...g()].join()", "1,2"},
		{"new Proxy({}, {get: () => 5}).z", "5"},
		{"typeof BigInt(1)", "bigint"},
		{"[1, 2, 3].at(-1) + Object.fromEntries([['a', 1]]).a", "4"},
		{"'a-b-c'.replaceAll('-', '+')", "a+b+c"},
		{"/(?<=a)b/.test('ab')", "true"},
		{"new Map([[1, 'x']]).get(1) + new Set([1, 1]).size", "x1"},
		{"typeof (async () => await Promise.resolve(7))().then", "function"},
		// Not supported, as documented.
		{"typeof Intl", "undefined"},
		{"typeof WeakRef + typeof FinalizationRegistry + typeof Atomics + typeof structuredClone", "undefinedundefinedundefinedundefined"},
		{"String(/(?<y>\\d{4})/.exec('2024').groups)", "undefined"},
		{"/\\p{L}/u.test('é')", "false"},
	}
	for _, c := range cases {
		v, err := goja.New().RunString(c.src)
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		if v.String() != c.want {
			t.Errorf("%s = %s, want %s: update docs/javascript.md", c.src, v, c.want)
		}
	}
	for _, src := range []string{"import x from 'y';", "export const a = 1;"} {
		if _, err := Compile("m.js", src); err == nil {
			t.Errorf("%s compiled: ES modules are documented as unsupported", src)
		}
	}
}
