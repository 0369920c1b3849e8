package directory

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdaproject/kda/connectors/delivery"
)

func TestObjectsAreFilesUnderTheirBucket(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.PutObject(ctx, "lake", "2026/12/07/obj.gz", []byte("first"), "", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.PutObject(ctx, "lake", "2026/12/07/obj.gz", []byte("second"), "", ""); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "lake", "2026", "12", "07", "obj.gz"))
	if err != nil || string(b) != "second" {
		t.Fatalf("object: %q %v", b, err)
	}
	left, _ := filepath.Glob(filepath.Join(root, "lake", "2026", "12", "07", "*"))
	if len(left) != 1 {
		t.Fatalf("temporary files left beside the object: %v", left)
	}
	for _, bad := range []struct{ bucket, key string }{
		{"lake", "../escape"}, {"lake", "/abs"}, {"lake", "a//b"}, {"..", "k"}, {"lake", ""},
	} {
		err := s.PutObject(ctx, bad.bucket, bad.key, []byte("x"), "", "")
		var perm *delivery.Permanent
		if !errors.As(err, &perm) {
			t.Errorf("bucket %q key %q: want a permanent error, got %v", bad.bucket, bad.key, err)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(root), "escape")); err == nil {
		t.Fatal("an object escaped its bucket")
	}
}

func TestConnectorConfig(t *testing.T) {
	c := Connector()
	if _, err := c.OpenStore(context.Background(), []byte(`{"root":"`+t.TempDir()+`"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.OpenStore(context.Background(), []byte(`{"rooot":"x"}`)); err == nil {
		t.Fatal("an unknown field was accepted")
	}
	if _, err := c.OpenStore(context.Background(), nil); err == nil {
		t.Fatal("a missing root was accepted")
	}
}

func TestGetObjectReadsWhatPutObjectWrote(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.PutObject(ctx, "ref", "tables/companies.csv", []byte("AMZN,Amazon\n"), "", ""); err != nil {
		t.Fatal(err)
	}
	b, err := s.GetObject(ctx, "ref", "tables/companies.csv", 0)
	if err != nil || string(b) != "AMZN,Amazon\n" {
		t.Fatalf("GetObject: %q %v", b, err)
	}
	for _, c := range []struct {
		bucket, key string
		limit       int64
		want        string
	}{
		{"ref", "tables/missing.csv", 0, "no such object"},
		{"ref", "tables/companies.csv", 5, "12 bytes, more than the limit of 5"},
		{"ref", "../escape", 0, "segment"},
		{"ref", "tables", 0, "is a directory"},
	} {
		if _, err := s.GetObject(ctx, c.bucket, c.key, c.limit); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("GetObject(%s, %s, %d): %v, want an error with %q", c.bucket, c.key, c.limit, err, c.want)
		}
	}
}
