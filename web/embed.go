// Package web serves kda's browser console: a single-page application that
// lists streams, previews SQL with live charts and manages applications
// through the REST API under /v1/.
//
// The console's sources live in src/ and are bundled by esbuild (`make
// console`, i.e. `npm ci && npm run build` here) into dist/: index.html,
// app.js and app.css, embedded into the kda binary by go:embed. dist/ is
// ignored by git apart from a .gitkeep, so a fresh clone builds with Go
// alone; such a binary serves placeholder/index.html, which says how to
// build the console.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed all:dist
var dist embed.FS

//go:embed placeholder/index.html
var placeholder []byte

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// contentTypes covers what the build writes; anything else is
// application/octet-stream.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".json": "application/json",
	".map":  "application/json",
	".txt":  "text/plain; charset=utf-8",
}

// Built reports whether the binary embeds a built console rather than the
// placeholder page.
func Built() bool {
	_, err := fs.Stat(dist, "dist/app.js")
	return err == nil
}

// Handler serves the console for GET and HEAD requests: files of dist/ by
// name, and index.html for any other path without a file extension, so the
// console's own routes (/streams, /apps/x) survive a reload. Paths under
// /v1/ and missing files get a JSON 404 in the REST API's error shape.
//
// index.html is served with Cache-Control: no-cache; app.js and app.css are
// requested with ?v=<content hash> by index.html and cached for a year when
// the hash matches; every response carries an ETag.
func Handler() http.Handler {
	assets := load()
	index := assets["/index.html"]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			notFound(w, http.StatusMethodNotAllowed, "MethodNotAllowed",
				"the console answers GET only; Kinesis API calls need an X-Amz-Target header")
			return
		}
		p := path.Clean("/" + r.URL.Path)
		if p == "/v1" || strings.HasPrefix(p, "/v1/") {
			notFound(w, http.StatusNotFound, "NotFound", "no route for "+r.Method+" "+r.URL.Path)
			return
		}
		a, ok := assets[p]
		switch {
		case ok:
		case path.Ext(p) == "":
			a = index
		default:
			notFound(w, http.StatusNotFound, "NotFound", "no console file "+p)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("ETag", a.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		if v := r.URL.Query().Get("v"); v != "" && `"`+v+`"` == a.etag && a != index {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	})
}

// load reads dist/ into memory, or the placeholder when the console was
// not built.
func load() map[string]*asset {
	assets := map[string]*asset{}
	add := func(name string, body []byte) {
		sum := sha256.Sum256(body)
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			ct = "application/octet-stream"
		}
		assets[name] = &asset{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	if Built() {
		_ = fs.WalkDir(dist, "dist", func(name string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
				return err
			}
			body, err := dist.ReadFile(name)
			if err != nil {
				return err
			}
			add(strings.TrimPrefix(name, "dist"), body)
			return nil
		})
	}
	if assets["/index.html"] == nil {
		add("/index.html", placeholder)
	}
	return assets
}

func notFound(w http.ResponseWriter, status int, code, msg string) {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message = code, msg
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
