package api_test

import (
	"testing"
	"time"

	"github.com/medic-sre/medic/services/rca/internal/api"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		name, in string
		want     time.Time
		wantErr  bool
	}{
		{name: "RFC 3339", in: "2025-03-14T09:30:00Z", want: time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)},
		{name: "RFC 3339 with offset and fraction", in: "2025-03-14T10:30:00.25+01:00", want: time.Date(2025, 3, 14, 9, 30, 0, 250_000_000, time.UTC)},
		{name: "unix seconds", in: "1741944600", want: time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)},
		{name: "unix seconds with a fraction", in: "1741944600.000000001", want: time.Date(2025, 3, 14, 9, 30, 0, 1, time.UTC)},
		{name: "milliseconds", in: "1741944600000", wantErr: true},
		{name: "negative", in: "-5", wantErr: true},
		{name: "words", in: "yesterday", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "ten decimals", in: "1.0000000001", wantErr: true},
		{name: "date only", in: "2025-03-14", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := api.ParseTime(tt.in)
			if (err != nil) != tt.wantErr || (!tt.wantErr && !got.Equal(tt.want)) {
				t.Fatalf("ParseTime(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
