package rlcc

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
)

// k-means (librlcc 1.7, issue #15 item 3) through the package: the C
// library's bits (tests/bindings/reference.c's kmeans_* outputs on the
// committed fixture), thread and budget invariance,
// and the refusals with the library's messages.

func TestKMeansGivesTheCResults(t *testing.T) {
	r := cReference(t)
	shape := r.i64("shape")
	n, d := int(shape[0]), int(shape[1])
	x0 := r.f32("x0")
	start, train, err := KMeansInitFaiss(n, 12, 1234, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(start, r.i64("kmeans_start")) || !reflect.DeepEqual(train, r.i64("kmeans_train")) {
		t.Fatalf("start rows %v / training rows %v differ from C's", start, train)
	}
	init := make([]float32, 0, 12*d)
	for _, row := range start {
		init = append(init, x0[int(row)*d:int(row+1)*d]...)
	}
	full, err := KMeans(x0, n, d, init, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameKMeans(t, "defaults", full, r.i32("kmeans_labels"), r.f32("kmeans_centroids"), r.i64("kmeans_n_iter")[0])
	two := DefaultKMeansOptions()
	two.MaxIter, two.Tol = 2, 0
	short, err := KMeans(x0, n, d, init, &two)
	if err != nil {
		t.Fatal(err)
	}
	sameKMeans(t, "2 steps", short, r.i32("kmeans_short_labels"), r.f32("kmeans_short_centroids"),
		r.i64("kmeans_short_n_iter")[0])
	for _, o := range []KMeansOptions{{300, 1e-4, 1, 0}, {300, 1e-4, 2, 1 << 16}, {300, 1e-4, 3, 0}} {
		o := o
		got, err := KMeans(x0, n, d, init, &o)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, full) {
			t.Fatalf("%+v: a different result", o)
		}
	}
}

func sameKMeans(t *testing.T, what string, got *KMeansResult, labels []int32, centroids []float32, iters int64) {
	t.Helper()
	if !reflect.DeepEqual(got.Labels, labels) || int64(got.Iterations) != iters {
		t.Fatalf("%s: labels or n_iter (%d, C %d) differ", what, got.Iterations, iters)
	}
	for i := range centroids {
		if math.Float32bits(got.Centroids[i]) != math.Float32bits(centroids[i]) {
			t.Fatalf("%s: centroid value %d: %v, C %v", what, i, got.Centroids[i], centroids[i])
		}
	}
}

func TestKMeansRefusals(t *testing.T) {
	x := []float32{0, 1, 2, 3, 4, 5} // 3 rows, d = 2
	cases := []struct {
		err  error
		code Code
		msg  string
	}{}
	add := func(err error, code Code, msg string) {
		cases = append(cases, struct {
			err  error
			code Code
			msg  string
		}{err, code, msg})
	}
	_, err := KMeans(x, 3, 2, make([]float32, 8), nil)
	add(err, CodeInvalidArgument, "k: 4 exceeds the 3 rows")
	_, err = KMeans(x, 3, 2, nil, nil)
	add(err, CodeInvalidArgument, "k: 0 must be >= 1")
	_, err = KMeans(x, 3, 2, make([]float32, 3), nil)
	add(err, CodeInvalidArgument, "init: 3 values are not rows of d = 2")
	_, err = KMeans([]float32{0, 1, 2, float32(math.NaN()), 4, 5}, 3, 2, make([]float32, 2), nil)
	add(err, CodeInvalidArgument, "x: row 1 has NaN at column 1")
	_, err = KMeans(x, 3, 2, []float32{0, float32(math.Inf(1))}, nil)
	add(err, CodeInvalidArgument, "init: row 0 has inf at column 1")
	_, err = KMeans(x, 3, 2, make([]float32, 2), &KMeansOptions{})
	add(err, CodeInvalidArgument, "options.max_iter: 0 must be >= 1")
	_, err = KMeans(x, 3, 2, make([]float32, 2), &KMeansOptions{MaxIter: 5, Tol: -1})
	add(err, CodeInvalidArgument, "options.tol: -1 must be finite and >= 0")
	_, _, err = KMeansInitFaiss(3, 4, 1234, 256)
	add(err, CodeInvalidArgument, "k: 4 exceeds the 3 rows")
	_, _, err = KMeansInitFaiss(3, 2, 1234, 0)
	add(err, CodeInvalidArgument, "max_points_per_centroid: 0 must be >= 1")
	for i, c := range cases {
		var e *Error
		if !errors.As(c.err, &e) || e.Code != c.code || e.Message != c.msg {
			t.Errorf("case %d: got %v, want %d %q", i, c.err, c.code, c.msg)
		}
	}
	o := DefaultKMeansOptions()
	o.MaxBytes = 64
	_, err = KMeans(x, 3, 2, make([]float32, 2), &o)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeMemoryLimit {
		t.Errorf("max_bytes 64: %v", err)
	}
}

func ExampleKMeans() {
	x := []float32{0, 1, 10, 11} // four rows, d = 1
	r, err := KMeans(x, 4, 1, []float32{0, 10}, nil)
	fmt.Println(r.Labels, r.Centroids, r.Iterations, err)
	start, _, _ := KMeansInitFaiss(20, 3, 1234, 256) // Debian's faiss 1.7.3 starts from these
	fmt.Println(start)
	// Output:
	// [0 0 1 1] [0.5 10.5] 2 <nil>
	// [3 6 14]
}
