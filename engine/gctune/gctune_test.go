package gctune

import (
	"runtime/debug"
	"testing"
)

func TestApplyRespectsTheEnvironment(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))

	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	s := Apply()
	if s.GCPercent != DefaultGCPercent || debug.SetGCPercent(-1) != DefaultGCPercent {
		t.Fatalf("GOGC unset: got %+v", s)
	}
	if s.MemoryLimit <= 0 || debug.SetMemoryLimit(-1) != s.MemoryLimit {
		t.Fatalf("GOMEMLIMIT unset: got %+v", s)
	}

	debug.SetGCPercent(100)
	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "1GiB")
	if s := Apply(); s != (Settings{}) || debug.SetGCPercent(-1) != 100 {
		t.Fatalf("with GOGC and GOMEMLIMIT set Apply must change nothing: %+v", s)
	}
}
