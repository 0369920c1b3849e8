// Package directory is kda's embedded object store: a delivery stream's
// ExtendedS3 destination writes objects as files under a local directory,
// <root>/<bucket>/<key>, when kda has no S3 endpoint configured. The
// engine uses <data dir>/s3 as the root.
//
// An object is written atomically: to a temporary file beside its final
// name, fsynced, renamed into place, and the directory fsynced, so a
// reader (or a crash) sees either no object or the whole object. Keys are
// checked so that no object escapes its bucket directory ("..", absolute
// paths and empty path segments are refused as permanent errors).
package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kdaproject/kda/connectors/delivery"
)

// Config is the directory store's configuration.
type Config struct {
	// Root is the directory that holds one subdirectory per bucket.
	Root string `json:"root"`
}

// Connector declares the directory object store (Kind "directory").
func Connector() delivery.Connector {
	return delivery.Connector{
		Kind:    "directory",
		Doc:     "objects as files under a local directory: <root>/<bucket>/<key>",
		Example: json.RawMessage(`{"root": "./kda-data/s3"}`),
		OpenStore: func(_ context.Context, raw json.RawMessage) (delivery.ObjectStore, error) {
			var c Config
			if len(raw) > 0 {
				dec := json.NewDecoder(strings.NewReader(string(raw)))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&c); err != nil {
					return nil, fmt.Errorf("directory config: %w", err)
				}
			}
			return Open(c.Root)
		},
	}
}

// Store writes objects under a root directory.
type Store struct{ root string }

// Open returns a store rooted at root, creating it.
func Open(root string) (*Store, error) {
	if root == "" {
		return nil, fmt.Errorf("directory config: root: missing (the directory to write objects under)")
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("directory config: root: %w", err)
	}
	return &Store{root: root}, nil
}

// Path is where bucket/key is stored.
func (s *Store) Path(bucket, key string) (string, error) {
	if bucket == "" || strings.ContainsAny(bucket, `/\`) || bucket == "." || bucket == ".." {
		return "", fmt.Errorf("bucket %q is not a bucket name", bucket)
	}
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, `\`) {
		return "", fmt.Errorf("key %q cannot be stored as a file", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("key %q has an empty, '.' or '..' segment, which a directory cannot hold", key)
		}
	}
	return filepath.Join(s.root, bucket, filepath.FromSlash(key)), nil
}

// PutObject writes body to <root>/<bucket>/<key> atomically and durably.
// Content type and encoding are not kept (the file name's extension says
// them). Invalid keys are *delivery.Permanent errors.
func (s *Store) PutObject(_ context.Context, bucket, key string, body []byte, _, _ string) error {
	path, err := s.Path(bucket, key)
	if err != nil {
		return &delivery.Permanent{Err: err}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	if _, err := f.Write(body); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("put %s/%s: sync directory: %w", bucket, key, err)
		}
	}
	return nil
}

// Close does nothing; the store holds no resources.
func (s *Store) Close() error { return nil }

// GetObject reads <root>/<bucket>/<key> (an application's reference
// table reads its source this way). An object larger than limit bytes is
// an error without reading it (limit <= 0: no limit).
func (s *Store) GetObject(_ context.Context, bucket, key string, limit int64) ([]byte, error) {
	path, err := s.Path(bucket, key)
	if err != nil {
		return nil, fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("get %s/%s: no such object (looked for the file %s)", bucket, key, path)
		}
		return nil, fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("get %s/%s: %s is a directory, not an object", bucket, key, path)
	}
	if limit > 0 && fi.Size() > limit {
		return nil, fmt.Errorf("get %s/%s: the object is %d bytes, more than the limit of %d", bucket, key, fi.Size(), limit)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	if limit > 0 && int64(len(b)) > limit {
		return nil, fmt.Errorf("get %s/%s: the object grew past the limit of %d bytes while it was read", bucket, key, limit)
	}
	return b, nil
}
