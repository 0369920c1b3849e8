package pipeline

import (
	"time"

	"github.com/apache/arrow/go/v17/arrow"
)

func arrowMillis(t time.Time) arrow.Timestamp { return arrow.Timestamp(t.UnixMilli()) }
