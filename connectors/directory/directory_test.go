package directory

import (
	"context"
	"errors"
	"os"
	"path/filepath"
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
