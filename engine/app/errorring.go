package app

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/kdaproject/kda/operators"
)

// errorRingSize is how many error_stream rows a running application keeps
// for Errors.
const errorRingSize = 256

// errorRing keeps the latest error_stream rows of a running application,
// rendered as JSON, so the REST API and console can show why records were
// rejected. The driver goroutine writes; Errors reads from other goroutines.
type errorRing struct {
	mu   sync.Mutex
	rows []json.RawMessage // circular once full
	next int               // where the next row goes once full
}

func (e *errorRing) Process(_ *operators.Context, rec arrow.Record) error {
	n := int(rec.NumRows())
	rendered := make([]json.RawMessage, 0, min(n, errorRingSize))
	for i := max(0, n-errorRingSize); i < n; i++ {
		rendered = append(rendered, json.RawMessage(operators.RowJSON(rec, i)))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range rendered {
		if len(e.rows) < errorRingSize {
			e.rows = append(e.rows, r)
			continue
		}
		e.rows[e.next] = r
		e.next = (e.next + 1) % errorRingSize
	}
	return nil
}

func (*errorRing) Advance(*operators.Context, time.Time) error { return nil }

// latest returns up to limit rows, oldest first.
func (e *errorRing) latest(limit int) []json.RawMessage {
	e.mu.Lock()
	defer e.mu.Unlock()
	ordered := append(append([]json.RawMessage{}, e.rows[e.next:]...), e.rows[:e.next]...)
	if limit > 0 && len(ordered) > limit {
		ordered = ordered[len(ordered)-limit:]
	}
	return ordered
}

// outputPath resolves an output file under dir: the name must be relative
// and must not climb out of dir (no "..", no absolute path, no volume).
func outputPath(dir, file string) (string, error) {
	if !filepath.IsLocal(file) {
		return "", fmt.Errorf("%q must be a relative path inside the server's outputs directory (no leading / and no ..)", file)
	}
	return filepath.Join(dir, file), nil
}
