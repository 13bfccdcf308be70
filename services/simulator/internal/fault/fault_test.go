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
				_, err = s.Inject(k, t0)
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

func TestReinjectKeepsFirstTime(t *testing.T) {
	s := NewSet()
	first, _ := s.Inject(SlowDependency, time.Unix(1, 0))
	again, err := s.Inject(SlowDependency, time.Unix(2, 0))
	if err != nil || !again.Equal(first) {
		t.Fatalf("re-inject: %v %v, want first time %v", again, err, first)
	}
}
