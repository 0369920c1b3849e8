// Package config holds the small parsing rules connector configurations
// share, so that every connector words the same mistake the same way.
package config

import (
	"fmt"
	"time"
)

// PositiveDuration parses a duration field such as "10s"; connector and
// field name the place in errors ("nats config: timeout ...").
func PositiveDuration(connector, field, text string) (time.Duration, error) {
	d, err := time.ParseDuration(text)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s config: %s %q: want a positive duration such as \"10s\"", connector, field, text)
	}
	return d, nil
}
