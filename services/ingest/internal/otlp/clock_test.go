package otlp

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// pcommonTime converts a time for pdata.
func pcommonTime(t time.Time) pcommon.Timestamp { return pcommon.NewTimestampFromTime(t) }
