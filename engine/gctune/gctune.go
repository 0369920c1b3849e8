// Package gctune sets the Go garbage collector for kda's allocation
// pattern: a stream of short-lived batches, decoded values and, with
// JavaScript, interpreter objects, over a live heap that changes slowly.
// The default GOGC of 100 collects every time the heap doubles, which for
// a small live heap means a collection every few milliseconds; kda trades
// memory for CPU instead: GOGC 400, with a soft memory limit at half the
// machine's memory so that a large live heap still fits.
//
// The GOGC and GOMEMLIMIT environment variables, when set, win. The CLI
// applies the settings when it starts; an embedding program decides for
// itself (call Apply, or not).
package gctune

import (
	"os"
	"runtime/debug"
)

// DefaultGCPercent is the GOGC kda uses when GOGC is not set.
const DefaultGCPercent = 400

// Settings are what Apply set; zero fields were left as they were.
type Settings struct {
	GCPercent   int
	MemoryLimit int64 // bytes
}

// Apply sets GOGC to DefaultGCPercent and the soft memory limit to half of
// the machine's memory, each unless its environment variable is set.
func Apply() Settings {
	var s Settings
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(DefaultGCPercent)
		s.GCPercent = DefaultGCPercent
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		if total := totalMemory(); total > 0 {
			s.MemoryLimit = int64(total / 2)
			debug.SetMemoryLimit(s.MemoryLimit)
		}
	}
	return s
}
