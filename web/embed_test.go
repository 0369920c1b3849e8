package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandlerServesTheConsole(t *testing.T) {
	h := Handler()
	get := func(method, target string, hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for _, tc := range []struct {
		name, method, path string
		status             int
		contentType        string
	}{
		{"the root is index.html", "GET", "/", 200, "text/html; charset=utf-8"},
		{"a console route falls back to index.html", "GET", "/apps/clicks", 200, "text/html; charset=utf-8"},
		{"HEAD works like GET", "HEAD", "/streams", 200, "text/html; charset=utf-8"},
		{"an unknown REST path is a JSON 404", "GET", "/v1/nope", 404, "application/json"},
		{"a missing file is a JSON 404, not index.html", "GET", "/missing.png", 404, "application/json"},
		{"other methods are refused", "POST", "/", 405, "application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := get(tc.method, tc.path)
			if w.Code != tc.status || w.Header().Get("Content-Type") != tc.contentType {
				t.Fatalf("%s %s = %d %q, want %d %q", tc.method, tc.path, w.Code, w.Header().Get("Content-Type"), tc.status, tc.contentType)
			}
		})
	}

	idx := get("GET", "/")
	if cc := idx.Header().Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("index.html Cache-Control %q, want no-cache", cc)
	}
	if again := get("GET", "/", "If-None-Match", idx.Header().Get("ETag")); again.Code != http.StatusNotModified {
		t.Errorf("revalidating index.html = %d, want 304", again.Code)
	}
	if !Built() {
		if !strings.Contains(idx.Body.String(), "make build") {
			t.Errorf("the placeholder does not say how to build the console: %s", idx.Body)
		}
		return
	}
	for _, tc := range []struct{ path, contentType string }{
		{"/app.js", "text/javascript; charset=utf-8"},
		{"/app.css", "text/css; charset=utf-8"},
	} {
		w := get("GET", tc.path)
		if w.Code != 200 || w.Header().Get("Content-Type") != tc.contentType || w.Body.Len() == 0 {
			t.Errorf("GET %s = %d %q (%d bytes)", tc.path, w.Code, w.Header().Get("Content-Type"), w.Body.Len())
		}
		v := strings.Trim(w.Header().Get("ETag"), `"`)
		if !strings.Contains(idx.Body.String(), tc.path+"?v="+v) {
			t.Errorf("index.html does not ask for %s?v=%s", tc.path, v)
		}
		if cc := get("GET", tc.path+"?v="+v).Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("versioned %s Cache-Control %q, want immutable", tc.path, cc)
		}
	}
}
