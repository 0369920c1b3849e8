package fields

import (
	"strings"
	"testing"
)

func TestTemplate(t *testing.T) {
	obj, err := Object([]byte(`{"SECTOR":"TECH","ticker":"AAPL","n":12345678901234567890,"ok":true,"x":null}`))
	if err != nil {
		t.Fatal(err)
	}
	tp, err := ParseTemplate("board:{sector}:{TICKER}:{n}:{ok}:{x}:{{literal}}")
	if err != nil {
		t.Fatal(err)
	}
	got, err := tp.Render(obj)
	if err != nil || got != "board:TECH:AAPL:12345678901234567890:true::{literal}" {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := (&Template{parts: []part{{text: "MISSING", field: true}}}).Render(obj); err == nil || !strings.Contains(err.Error(), "MISSING") {
		t.Fatalf("missing field: %v", err)
	}
	for _, bad := range []string{"a{b", "a}b", "{}"} {
		if _, err := ParseTemplate(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if _, err := Object([]byte(`[1]`)); err == nil {
		t.Error("an array is not an object")
	}
}
