package model

import (
	"errors"
	"testing"
)

func TestRegistrySwitches(t *testing.T) {
	deploy := func(v string) func(*Registry) (Switch, bool, error) {
		return func(r *Registry) (Switch, bool, error) { return r.Deploy(v) }
	}
	rollback := func(r *Registry) (Switch, bool, error) { s, err := r.Rollback(); return s, err == nil, err }
	failover := func(on bool) func(*Registry) (Switch, bool, error) {
		return func(r *Registry) (Switch, bool, error) { s, ok := r.SetFailover(on); return s, ok, nil }
	}
	tests := []struct {
		name        string
		steps       []func(*Registry) (Switch, bool, error)
		wantErr     error
		wantChanged bool
		wantSwitch  Switch // Description is not compared
		wantState   State
	}{
		{name: "deploy v2", steps: []func(*Registry) (Switch, bool, error){deploy(V2)}, wantChanged: true,
			wantSwitch: Switch{Kind: KindDeploy, Version: V2, Previous: V1},
			wantState:  State{ActiveVersion: V2, PreviousVersion: V1}},
		{name: "deploy the active version changes nothing", steps: []func(*Registry) (Switch, bool, error){deploy(V1)},
			wantState: State{ActiveVersion: V1}},
		{name: "deploy an unknown version", steps: []func(*Registry) (Switch, bool, error){deploy("v9")},
			wantErr: ErrUnknownVersion, wantState: State{ActiveVersion: V1}},
		{name: "rollback after deploy", steps: []func(*Registry) (Switch, bool, error){deploy(V2), rollback}, wantChanged: true,
			wantSwitch: Switch{Kind: KindRollback, Version: V1, Previous: V2},
			wantState:  State{ActiveVersion: V1}},
		{name: "a retried rollback does not redeploy", steps: []func(*Registry) (Switch, bool, error){deploy(V2), rollback, rollback},
			wantErr: ErrNoPrevious, wantState: State{ActiveVersion: V1}},
		{name: "failover serves the backup", steps: []func(*Registry) (Switch, bool, error){deploy(V2), failover(true)}, wantChanged: true,
			wantSwitch: Switch{Kind: KindFailover, Version: Backup, Previous: V2},
			wantState:  State{ActiveVersion: V2, PreviousVersion: V1, Failover: true}},
		{name: "failover off serves the active version", steps: []func(*Registry) (Switch, bool, error){failover(true), failover(false)}, wantChanged: true,
			wantSwitch: Switch{Kind: KindFailover, Version: V1, Previous: Backup},
			wantState:  State{ActiveVersion: V1}},
		{name: "failover twice changes nothing", steps: []func(*Registry) (Switch, bool, error){failover(true), failover(true)},
			wantState: State{ActiveVersion: V1, Failover: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRegistry([]string{V1, V2}, Backup, V1)
			var s Switch
			var changed bool
			var err error
			for _, step := range tc.steps {
				s, changed, err = step(r)
			}
			if !errors.Is(err, tc.wantErr) || changed != tc.wantChanged {
				t.Fatalf("last step: changed %v err %v, want %v %v", changed, err, tc.wantChanged, tc.wantErr)
			}
			s.Description = ""
			if s != tc.wantSwitch {
				t.Errorf("switch %+v, want %+v", s, tc.wantSwitch)
			}
			got := r.State()
			tc.wantState.Versions, tc.wantState.BackupVersion = []string{V1, V2}, Backup
			if got.ActiveVersion != tc.wantState.ActiveVersion || got.PreviousVersion != tc.wantState.PreviousVersion ||
				got.Failover != tc.wantState.Failover || got.BackupVersion != Backup || len(got.Versions) != 2 {
				t.Errorf("state %+v, want %+v", got, tc.wantState)
			}
			if want := tc.wantState.Serving(); r.Serving() != want {
				t.Errorf("serving %s, want %s", r.Serving(), want)
			}
		})
	}
}
