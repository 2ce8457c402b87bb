package rlcc

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// A refiner stepped from the caller's generation (librlcc 1.8): StepLabels
// fed PseudoLabels and Centroids of each generation's features shows what a
// StepMatrix refiner shows (labels, classes, threshold, centroids) and,
// through TargetsRows with the batch's rows, the same target bytes; bad
// input is refused with the library's message, the refiner left at its
// generation. The features are checkpoint_test.go's generations.

func gatherRows(x []float32, rows []int64, d int) []float32 {
	out := make([]float32, 0, len(rows)*d)
	for _, r := range rows {
		out = append(out, x[int(r)*d:int(r+1)*d]...)
	}
	return out
}

func TestStepLabelsMatchesStepMatrix(t *testing.T) {
	rows := []int64{3, 77, 3, int64(callerN - 1), 0, 45}
	for _, beta := range []float32{0, 1} {
		options := DefaultRefinerOptions()
		options.Beta = beta
		a, err := NewRefiner(callerN, callerD, ckptPseudo("jaccard"), &options)
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewRefiner(callerN, callerD, ckptPseudo("jaccard"), &options)
		if err != nil {
			t.Fatal(err)
		}
		for g := 0; g < 4; g++ {
			x := ckptRows(g)
			if err := a.StepMatrix(x, 64); err != nil {
				t.Fatal(err)
			}
			p := ckptPseudo("jaccard")
			if g > 0 {
				p.Threshold = b.Threshold()
			}
			got, err := PseudoLabels(x, callerN, callerD, p)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Centroids(x, callerN, callerD, got.Labels, got.Classes)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.StepLabels(got.Labels, got.Classes, c, got.Threshold, nil); err != nil {
				t.Fatal(err)
			}
			la, _ := a.Labels()
			lb, _ := b.Labels()
			ca, _ := a.Centroids()
			cb, _ := b.Centroids()
			if !reflect.DeepEqual(la, lb) || !reflect.DeepEqual(ca, cb) || a.Classes() != b.Classes() ||
				math.Float64bits(a.Threshold()) != math.Float64bits(b.Threshold()) {
				t.Fatalf("beta %g, generation %d: the refiners differ", beta, g)
			}
			want, err := a.Targets(rows)
			if err != nil {
				t.Fatal(err)
			}
			have, err := b.TargetsRows(rows, gatherRows(x, rows, callerD), callerD, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(want, have) {
				t.Fatalf("beta %g, generation %d: targets differ", beta, g)
			}
			_, err = b.Targets(rows)
			reads := g >= 1 && beta < 1
			if reads && (err == nil || !strings.Contains(err.Error(), "rlcc_refiner_targets_rows")) {
				t.Fatalf("generation %d: Targets of a StepLabels refiner gave %v", g, err)
			}
			if !reads && err != nil {
				t.Fatalf("generation %d: %v", g, err)
			}
		}
		a.Close()
		b.Close()
	}
}

func TestStepLabelsRefusals(t *testing.T) {
	r, err := NewRefiner(callerN, callerD, ckptPseudo("jaccard"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	x := ckptRows(0)
	got, err := PseudoLabels(x, callerN, callerD, ckptPseudo("jaccard"))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := Centroids(x, callerN, callerD, got.Labels, got.Classes)
	expect := func(err error, text string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), text) {
			t.Fatalf("got %v, want an error with %q", err, text)
		}
	}
	expect(r.StepLabels(got.Labels[1:], got.Classes, c, got.Threshold, nil), "labels")
	expect(r.StepLabels(got.Labels, got.Classes, c[1:], got.Threshold, nil), "centroids")
	bad := append([]float32(nil), c...)
	bad[0] *= 3
	expect(r.StepLabels(got.Labels, got.Classes, bad, got.Threshold, nil), "squared norm")
	expect(r.StepLabels(got.Labels, got.Classes, c, math.NaN(), nil), "threshold")
	if r.Generation() != 0 {
		t.Fatalf("generation %d after refusals", r.Generation())
	}
	if err := r.StepLabels(got.Labels, got.Classes, c, got.Threshold, nil); err != nil {
		t.Fatal(err)
	}
	expect(r.StepLabels(got.Labels, got.Classes, c, got.Threshold+1e-9, nil), "not the refiner's")
	_, err = r.TargetsRows([]int64{1, 2}, x[:callerD], callerD, nil)
	expect(err, "x:")
}
