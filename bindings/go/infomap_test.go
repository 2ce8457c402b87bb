package rlcc

import (
	"math"
	"strings"
	"testing"
)

// InfoMap pseudo labels (issue #15 item 2) give the C library's bits
// (tests/bindings/reference.c's infomap_* outputs).
func TestInfomapGivesTheCResults(t *testing.T) {
	r := cReference(t)
	shape := r.i64("shape")
	n, d := int(shape[0]), int(shape[1])
	x0 := r.f32("x0")
	o := DefaultInfomapOptions()
	o.Normalize = true
	got, err := InfomapPseudoLabels(x0, n, d, nil, nil, &o)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "infomap_labels", got.Labels, r.i32("infomap_labels"))
	if got.Classes != int(r.i64("infomap_n_classes")[0]) {
		t.Fatalf("classes %d", got.Classes)
	}
	if math.Float64bits(got.Codelength) != math.Float64bits(r.f64("infomap_codelength")) {
		t.Fatalf("codelength %v vs C %v", got.Codelength, r.f64("infomap_codelength"))
	}
	modules := make([]int32, n)
	for i := range modules {
		modules[i] = int32(i % 7)
	}
	got, err = InfomapPseudoLabels(x0, n, d, nil, modules, &o)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "infomap_labels_modules", got.Labels, r.i32("infomap_labels_modules"))
	if math.Float64bits(got.Codelength) != math.Float64bits(r.f64("infomap_codelength_modules")) {
		t.Fatalf("codelength (modules) %v vs C %v", got.Codelength, r.f64("infomap_codelength_modules"))
	}
	src, dst, w, err := InfomapLinks(x0, n, d, nil, &o)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "infomap_src", src, r.i64("infomap_src"))
	same(t, "infomap_dst", dst, r.i64("infomap_dst"))
	want := values[float64](r, "infomap_weight.f64")
	if len(w) != len(want) {
		t.Fatalf("weights: %d vs C %d", len(w), len(want))
	}
	for i := range w {
		if math.Float64bits(w[i]) != math.Float64bits(want[i]) {
			t.Fatalf("weight[%d] %v vs C %v", i, w[i], want[i])
		}
	}
	l, err := MapCodelength(n, src, dst, w, modules)
	if err != nil {
		t.Fatal(err)
	}
	if math.Float64bits(l) != math.Float64bits(r.f64("infomap_map_codelength")) {
		t.Fatalf("map codelength %v vs C %v", l, r.f64("infomap_map_codelength"))
	}
	// the caller's lists (librlcc's, distances sqdist / 2) give the same
	// labels as the library's own, on the rows as they are
	idx, sq, err := KNN(x0, n, d, 15, 0)
	if err != nil {
		t.Fatal(err)
	}
	half := make([]float32, len(sq))
	for i, v := range sq {
		half[i] = v / 2
	}
	own, err := InfomapPseudoLabels(x0, n, d, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	given, err := InfomapPseudoLabels(nil, n, d, &InfomapKNN{idx, half}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "own vs given lists", own.Labels, given.Labels)
	if own.Codelength != given.Codelength {
		t.Fatalf("codelength own %v, given %v", own.Codelength, given.Codelength)
	}
}

func TestInfomapErrors(t *testing.T) {
	x := []float32{1, 0, 0, 1, 0.6, 0.8}
	bad := func(o InfomapOptions, text string) {
		t.Helper()
		_, err := InfomapPseudoLabels(x, 3, 2, nil, nil, &o)
		e, ok := err.(*Error)
		if !ok || e.Code != CodeInvalidArgument || !strings.Contains(e.Message, text) {
			t.Fatalf("got %v, want %q", err, text)
		}
	}
	o := DefaultInfomapOptions()
	o.K = 2
	b := o
	b.K = 4
	bad(b, "options.k: 4 must be in [1, n = 3]")
	b = o
	b.MinSim = math.NaN()
	bad(b, "options.min_sim: nan")
	b = o
	b.ClusterNum = -1
	bad(b, "options.cluster_num: -1")
	b = o
	b.Trials = 0
	bad(b, "options.trials: 0")
	if _, err := InfomapPseudoLabels(x[:5], 3, 2, nil, nil, &o); err == nil || !strings.Contains(err.Error(), "x: length 5") {
		t.Fatalf("short x: %v", err)
	}
	if _, err := InfomapPseudoLabels(x, 3, 2, nil, []int32{0, -1, 0}, &o); err == nil || !strings.Contains(err.Error(), "modules: sample 1 has module -1") {
		t.Fatalf("modules: %v", err)
	}
	lists := &InfomapKNN{[]int64{0, 1, 1, 2, 2, 3}, []float32{0, 0.1, 0, 0.2, 0, 0.3}}
	if _, err := InfomapPseudoLabels(nil, 3, 2, lists, nil, &o); err == nil || !strings.Contains(err.Error(), "knn: entry 1 of row 2 is 3") {
		t.Fatalf("lists: %v", err)
	}
	short := &InfomapKNN{lists.Indices[:4], lists.Distances}
	if _, err := InfomapPseudoLabels(nil, 3, 2, short, nil, &o); err == nil || !strings.Contains(err.Error(), "knn.Indices: length 4") {
		t.Fatalf("short lists: %v", err)
	}
	if _, err := MapCodelength(2, []int64{0, 1}, []int64{1, 1}, []float64{1, 1}, []int32{0, 0}); err == nil || !strings.Contains(err.Error(), "self-link") {
		t.Fatalf("self-link: %v", err)
	}
	if _, err := MapCodelength(2, []int64{0, 1}, []int64{1, 0}, []float64{1, math.NaN()}, []int32{0, 0}); err == nil || !strings.Contains(err.Error(), "weight: link 1 has weight nan") {
		t.Fatalf("nan weight: %v", err)
	}
	if l, err := MapCodelength(2, []int64{0, 1}, []int64{1, 0}, []float64{1, 1}, []int32{0, 1}); err != nil || l != 3 {
		t.Fatalf("two nodes: %v %v", l, err)
	}
}
