package config

import (
	"testing"
	"time"
)

func TestPositiveDuration(t *testing.T) {
	if d, err := PositiveDuration("x", "timeout", "1.5s"); err != nil || d != 1500*time.Millisecond {
		t.Fatalf("got %v %v", d, err)
	}
	for _, bad := range []string{"", "0s", "-1s", "ten"} {
		if _, err := PositiveDuration("x", "timeout", bad); err == nil || err.Error() != `x config: timeout "`+bad+`": want a positive duration such as "10s"` {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
