package otlp

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/medic-sre/medic/pkg/events"
	"go.opentelemetry.io/collector/pdata/plog"
)

// timeNow is a clock reading taken once per request.
type timeNow = time.Time

// keySeverityText keeps a sender's severity text that the mapped name
// does not repeat.
const keySeverityText = "log.severity_text"

// mapLogs turns ld into log records, rejecting bad ones into rj.
func (r *Receiver) mapLogs(ld plog.Logs, rj *rejects) []events.LogRecord {
	now := r.cfg.Now()
	out := make([]events.LogRecord, 0, ld.LogRecordCount())
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		o, err := resourceOrigin(rl.Resource())
		if err != nil {
			n := 0
			for j := range rl.ScopeLogs().Len() {
				n += rl.ScopeLogs().At(j).LogRecords().Len()
			}
			rj.add(ReasonUTF8, err.Error(), n)
			continue
		}
		for j := range rl.ScopeLogs().Len() {
			lrs := rl.ScopeLogs().At(j).LogRecords()
			for k := range lrs.Len() {
				if rec, ok := r.logRecord(o, lrs.At(k), now, rj); ok {
					out = append(out, rec)
				}
			}
		}
	}
	return out
}

// logRecord maps one log record, or rejects it.
func (r *Receiver) logRecord(o origin, lr plog.LogRecord, now time.Time, rj *rejects) (events.LogRecord, bool) {
	body := lr.Body().AsString()
	if !utf8.ValidString(body) || !utf8.ValidString(lr.SeverityText()) {
		rj.add(ReasonUTF8, "a log record's body or severity text is not valid UTF-8", 1)
		return events.LogRecord{}, false
	}
	sc, err := o.scope(lr.Attributes())
	if err != nil {
		rj.add(ReasonUTF8, fmt.Sprintf("log record: %v", err), 1)
		return events.LogRecord{}, false
	}
	ts := lr.Timestamp()
	if ts == 0 {
		ts = lr.ObservedTimestamp()
	}
	t, err := r.checkTime(ts, now)
	if err != nil {
		rj.add(ReasonFuture, fmt.Sprintf("log record: %v", err), 1)
		return events.LogRecord{}, false
	}
	sev := severity(lr.SeverityNumber(), lr.SeverityText())
	if text := lr.SeverityText(); text != "" && text != sev {
		if sc.attrs == nil {
			sc.attrs = map[string]string{}
		}
		sc.attrs[keySeverityText] = text
	}
	rec := events.LogRecord{TimeUnixNano: t, Severity: sev, Body: body,
		Service: sc.service, Model: sc.model, ModelVersion: sc.version, Attributes: sc.attrs}
	if id := lr.TraceID(); !id.IsEmpty() {
		rec.TraceID = hex.EncodeToString(id[:])
	}
	if id := lr.SpanID(); !id.IsEmpty() {
		rec.SpanID = hex.EncodeToString(id[:])
	}
	return rec, true
}

// severity names a record's level with slog's names: the number when set,
// else the text.
func severity(n plog.SeverityNumber, text string) string {
	switch {
	case n >= plog.SeverityNumberTrace && n <= plog.SeverityNumberDebug4:
		return "DEBUG"
	case n >= plog.SeverityNumberInfo && n <= plog.SeverityNumberInfo4:
		return "INFO"
	case n >= plog.SeverityNumberWarn && n <= plog.SeverityNumberWarn4:
		return "WARN"
	case n >= plog.SeverityNumberError && n <= plog.SeverityNumberFatal4:
		return "ERROR"
	}
	switch t := strings.ToUpper(strings.TrimSpace(text)); t {
	case "":
		return "UNSPECIFIED"
	case "WARNING":
		return "WARN"
	case "FATAL", "CRITICAL":
		return "ERROR"
	default:
		return t
	}
}
