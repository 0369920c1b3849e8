package main

import (
	"testing"

	"github.com/kdaproject/kda/operators/anomaly/nab"
)

func TestNABPresetFillsTheFlagsNotGiven(t *testing.T) {
	cfg := nabConfig{Preset: "tuned", Trees: 100, Sample: 256, Decay: 100000, Shingle: 1, Features: "value", Peak: 7}
	given := map[string]bool{"peak": true}
	if err := cfg.applyPreset(func(f string) bool { return given[f] }); err != nil {
		t.Fatal(err)
	}
	tu := nab.Tuned()
	if cfg.Trees != tu.Trees || cfg.Sample != tu.SampleSize || cfg.Decay != tu.TimeDecay || cfg.Shingle != tu.ShingleSize || cfg.Features != "log" {
		t.Errorf("tuned preset gave %+v", cfg)
	}
	if cfg.Peak != 7 {
		t.Errorf("--peak 7 given, preset set %d", cfg.Peak)
	}

	kda := nabConfig{Preset: "kda", Trees: 100, Features: "value"}
	if err := kda.applyPreset(func(string) bool { return false }); err != nil || kda.Trees != 100 || kda.Features != "value" {
		t.Errorf("kda preset changed %+v (%v)", kda, err)
	}
	if err := (&nabConfig{Preset: "best"}).applyPreset(func(string) bool { return false }); err == nil {
		t.Error("unknown preset accepted")
	}
}
