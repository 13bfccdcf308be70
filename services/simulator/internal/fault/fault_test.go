package fault

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSet(t *testing.T) {
	t0 := time.Unix(100, 0)
	tests := []struct {
		name     string
		inject   []string
		clear    []string
		wantErr  error
		wantList []string
	}{
		{name: "inject two", inject: []string{SlowDependency, FeatureNulls}, wantList: []string{FeatureNulls, SlowDependency}},
		{name: "inject then clear", inject: []string{BadModelVersion}, clear: []string{BadModelVersion}, wantList: []string{}},
		{name: "clear an inactive fault", clear: []string{FeatureNulls}, wantList: []string{}},
		{name: "unknown kind", inject: []string{"cosmic_rays"}, wantErr: ErrUnknownKind, wantList: []string{}},
		{name: "clear unknown kind", clear: []string{"cosmic_rays"}, wantErr: ErrUnknownKind, wantList: []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSet()
			var err error
			for _, k := range tc.inject {
				_, err = s.Inject(k, t0, time.Time{})
			}
			for _, k := range tc.clear {
				err = s.Clear(k)
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), BadModelVersion) {
				t.Errorf("error %q should list the known kinds", err)
			}
			if got := s.List(); strings.Join(got, ",") != strings.Join(tc.wantList, ",") {
				t.Errorf("active %v, want %v", got, tc.wantList)
			}
			for _, k := range tc.wantList {
				if !s.Active(k) {
					t.Errorf("%s listed but not active", k)
				}
			}
		})
	}
}

func TestReinjection(t *testing.T) {
	t1, t2, t3, end := time.Unix(1, 0), time.Unix(2, 0), time.Unix(3, 0), time.Unix(9, 0)
	tests := []struct {
		name      string
		clear     bool // clear between the two injections
		until     time.Time
		wantSince time.Time
		wantNewID bool
	}{
		{name: "an active fault keeps its first time", wantSince: t1},
		{name: "the latest injection sets the end", until: end, wantSince: t1},
		{name: "after a clear it is a new injection", clear: true, wantSince: t2, wantNewID: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSet()
			first, _ := s.Inject(SlowDependency, t1, t3)
			if tc.clear {
				_ = s.Clear(SlowDependency)
			}
			again, err := s.Inject(SlowDependency, t2, tc.until)
			if err != nil || !again.Since.Equal(tc.wantSince) || !again.Until.Equal(tc.until) || (again.ID != first.ID) != tc.wantNewID {
				t.Fatalf("re-inject: %+v %v; first %+v", again, err, first)
			}
			if got, _ := s.Get(SlowDependency); got != again {
				t.Fatalf("stored %+v, answered %+v", got, again)
			}
		})
	}
}
