package metricexpr_test

import (
	"errors"
	"testing"

	"github.com/medic-sre/medic/pkg/metricexpr"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want metricexpr.Expr
		bad  bool
	}{
		{name: "plain name", in: "prediction.error", want: metricexpr.Expr{Numerator: "prediction.error"}},
		{name: "plain name with a slash", in: "http/requests", want: metricexpr.Expr{Numerator: "http/requests"}},
		{name: "ratio", in: "prediction.errors_rate / predictions_rate",
			want: metricexpr.Expr{Numerator: "prediction.errors_rate", Denominator: "predictions_rate"}},
		{name: "empty", in: "", bad: true},
		{name: "no denominator", in: "a /", bad: true},
		{name: "no numerator", in: "/ b", bad: true},
		{name: "two slashes", in: "a / b / c", bad: true},
		{name: "empty sides", in: " / ", bad: true},
		{name: "two spaces", in: "a  /  b", bad: true},
		{name: "leading space", in: " a / b", bad: true},
		{name: "no spaces around the slash, trailing", in: "a/", bad: true},
		{name: "no spaces around the slash, leading", in: "/b", bad: true},
		{name: "space but no slash", in: "prediction error", bad: true},
		{name: "side that is a bare slash", in: "a / /", bad: true},
		{name: "tab instead of spaces", in: "a\t/\tb", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := metricexpr.Parse(tt.in)
			if tt.bad {
				if !errors.Is(err, metricexpr.ErrMalformed) {
					t.Fatalf("Parse(%q) = %+v, %v; want ErrMalformed", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if got.String() != tt.in {
				t.Fatalf("String() = %q, want %q back", got.String(), tt.in)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"prediction.error", "a / b", "a /", "a / b / c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := metricexpr.Parse(s)
		if err != nil {
			return
		}
		// Whatever parses is canonical: printing it gives the input back.
		if e.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, e.String())
		}
	})
}
