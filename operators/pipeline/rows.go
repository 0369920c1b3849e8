package pipeline

import (
	"github.com/kdaproject/kda/operators"
)

func formatTime(ms int64) string { return operators.FormatTimestamp(ms) }
