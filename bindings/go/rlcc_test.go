package rlcc

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// reidFeatures are re-ID-like unit embeddings: ids identities on the
// hypersphere, perSample images each, Gaussian noise of the given size.
func reidFeatures(ids, perID, d int, noise float64, seed int64) ([]float32, []int32) {
	rng := rand.New(rand.NewSource(seed))
	centers := make([]float64, ids*d)
	for i := range centers {
		centers[i] = rng.NormFloat64()
	}
	n := ids * perID
	x := make([]float32, n*d)
	truth := make([]int32, n)
	for i := 0; i < n; i++ {
		id := i % ids
		truth[i] = int32(id)
		var norm float64
		row := make([]float64, d)
		for j := range row {
			row[j] = centers[id*d+j]/math.Sqrt(float64(d)) + noise*rng.NormFloat64()/math.Sqrt(float64(d))
			norm += row[j] * row[j]
		}
		for j := range row {
			x[i*d+j] = float32(row[j] / math.Sqrt(norm))
		}
	}
	return x, truth
}

func mustCode(t *testing.T, err error, want *Error, fragment string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want code %v", err, want.Code)
	}
	if !strings.Contains(err.Error(), fragment) {
		t.Fatalf("error %q does not mention %q", err.Error(), fragment)
	}
}

func TestVersion(t *testing.T) {
	if v := Version(); v != fmt.Sprintf("%d.%d.%d", VersionNumber()/10000, VersionNumber()/100%100, VersionNumber()%100) {
		t.Fatalf("version %q vs number %d", v, VersionNumber())
	}
	if CodeCanceled.String() != "canceled" && CodeCanceled.String() == "unknown error" {
		t.Fatalf("code text %q", CodeCanceled.String())
	}
}

// The three DBSCAN entry points agree: features, the dense matrix of the
// same distances, and a CSR graph holding every pair.
func TestDbscanEntryPointsAgree(t *testing.T) {
	// integer points: float32 distances are exact, so no pair is near eps
	x := []float32{0, 0, 1, 0, 0, 1, 10, 10, 11, 10, 10, 11, 30, 30, 5, 5}
	n, d := 8, 2
	byFeatures, err := DbscanFeatures(x, n, d, 1.5, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{0, 0, 0, 1, 1, 1, -1, -1}
	for i := range want {
		if byFeatures.Labels[i] != want[i] {
			t.Fatalf("labels %v, want %v", byFeatures.Labels, want)
		}
	}
	if byFeatures.Clusters != 2 || byFeatures.Stats.Noise != 2 || byFeatures.Stats.Core != 6 || !byFeatures.Core[0] || byFeatures.Core[7] {
		t.Fatalf("clusters %d stats %+v core %v", byFeatures.Clusters, byFeatures.Stats, byFeatures.Core)
	}
	dist := make([]float32, n*n)
	graph := CSRMatrix{Rows: n, Cols: n, Indptr: []int64{0}}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			dx, dy := float64(x[i*d]-x[j*d]), float64(x[i*d+1]-x[j*d+1])
			dist[i*n+j] = float32(math.Sqrt(dx*dx + dy*dy))
			graph.Indices = append(graph.Indices, int32(j))
			graph.Data = append(graph.Data, dist[i*n+j])
		}
		graph.Indptr = append(graph.Indptr, int64(len(graph.Indices)))
	}
	byDense, err := DbscanDense(dist, n, 1.5, 3, &DbscanOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	byGraph, err := DbscanCSR(graph, 1.5, 3, &DbscanOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if byDense.Labels[i] != want[i] || byGraph.Labels[i] != want[i] {
			t.Fatalf("dense %v csr %v", byDense.Labels, byGraph.Labels)
		}
	}
}

func TestKNNAndJaccard(t *testing.T) {
	x, _ := reidFeatures(10, 8, 16, 0.5, 1)
	n, d := 80, 16
	indices, sqdist, err := KNN(x, n, d, 8, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if indices[i*8] != int64(i) || sqdist[i*8] > 1e-5 {
			t.Fatalf("row %d: nearest %d at %g, want itself", i, indices[i*8], sqdist[i*8])
		}
		for r := 1; r < 8; r++ {
			if sqdist[i*8+r] < sqdist[i*8+r-1] {
				t.Fatalf("row %d not ascending", i)
			}
		}
	}
	options := DefaultJaccardOptions()
	options.K1, options.K2 = 8, 3
	sparse, err := Jaccard(x, n, d, nil, &options)
	if err != nil {
		t.Fatal(err)
	}
	defer sparse.Close()
	dense, err := JaccardDense(x, n, d, nil, &options)
	if err != nil {
		t.Fatal(err)
	}
	// caller lists give the same distances as the library's own lists
	fromLists, err := JaccardDense(x, n, d, indices, &options)
	if err != nil {
		t.Fatal(err)
	}
	m := sparse.Matrix()
	if m.Rows != n || m.Cols != n {
		t.Fatalf("shape %d x %d", m.Rows, m.Cols)
	}
	stored := 0
	for i := 0; i < n; i++ {
		for p := m.Indptr[i]; p < m.Indptr[i+1]; p++ {
			if m.Data[p] != dense[i*n+int(m.Indices[p])] {
				t.Fatalf("sparse (%d,%d) %g vs dense %g", i, m.Indices[p], m.Data[p], dense[i*n+int(m.Indices[p])])
			}
			stored++
		}
	}
	for i := range dense {
		if dense[i] != fromLists[i] || dense[i] != dense[(i%n)*n+i/n] {
			t.Fatalf("entry %d: %g, from lists %g, transposed %g", i, dense[i], fromLists[i], dense[(i%n)*n+i/n])
		}
	}
	unstored := 0
	for _, v := range dense {
		if v == 1 {
			unstored++
		}
	}
	if stored+unstored != n*n {
		t.Fatalf("%d stored + %d ones != %d", stored, unstored, n*n)
	}
	copied := sparse.Copy()
	sparse.Close()
	sparse.Close() // twice is fine
	if copied.Data[0] != dense[int(copied.Indices[0])] {
		t.Fatal("the copy outlives Close")
	}
	// DBSCAN on the sparse Jaccard graph = DBSCAN on the dense matrix
	a, err := DbscanCSR(copied, 0.6, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := DbscanDense(dense, n, 0.6, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Labels {
		if a.Labels[i] != b.Labels[i] {
			t.Fatalf("csr %v dense %v", a.Labels, b.Labels)
		}
	}
}

func TestPseudoLabelsAndConsensus(t *testing.T) {
	x, truth := reidFeatures(12, 10, 32, 0.4, 2)
	n, d := 120, 32
	options := DefaultPseudoOptions()
	options.K1, options.K2 = 10, 3
	got, err := PseudoLabels(x, n, d, &options)
	if err != nil {
		t.Fatal(err)
	}
	if got.Classes < 12 {
		t.Fatalf("%d classes for 12 identities", got.Classes)
	}
	// consensus with the truth: counts, dense IoU and its CSR agree
	counts, kPrev, kCur, err := ConsensusCounts(truth, got.Labels, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if kPrev != 12 || kCur != got.Classes {
		t.Fatalf("classes %d x %d", kPrev, kCur)
	}
	var total int64
	for _, c := range counts {
		total += c
	}
	if total != int64(n) {
		t.Fatalf("counts sum to %d", total)
	}
	dense, _, _, err := Consensus(truth, got.Labels, 0, 0, IoU, NormalizeSum)
	if err != nil {
		t.Fatal(err)
	}
	sparse, err := ConsensusCSR(truth, got.Labels, 0, 0, IoU, NormalizeSum)
	if err != nil {
		t.Fatal(err)
	}
	defer sparse.Close()
	chat := sparse.Matrix()
	for a := 0; a < kPrev; a++ {
		for p := chat.Indptr[a]; p < chat.Indptr[a+1]; p++ {
			if chat.Data[p] != dense[a*kCur+int(chat.Indices[p])] {
				t.Fatalf("csr and dense consensus differ at (%d,%d)", a, chat.Indices[p])
			}
		}
	}
	// the RLCC chain, for all samples and for a batch: the batch rows are the same
	cents, err := Centroids(x, n, d, truth, kPrev)
	if err != nil {
		t.Fatal(err)
	}
	probs, err := ClassProbabilities(x, n, d, cents, kPrev, 30, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Propagate(truth, chat, probs, 0.9, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	targets, err := Blend(got.Labels, kCur, s, 0.9, nil)
	if err != nil {
		t.Fatal(err)
	}
	batch := []int64{7, 3, 119}
	bprobs, _ := ClassProbabilities(x, n, d, cents, kPrev, 30, batch, 1)
	bs, err := Propagate(truth, chat, bprobs, 0.9, 0, batch)
	if err != nil {
		t.Fatal(err)
	}
	bt, err := Blend(got.Labels, kCur, bs, 0.9, batch)
	if err != nil {
		t.Fatal(err)
	}
	for r, i := range batch {
		sum := float32(0)
		for b := 0; b < kCur; b++ {
			if math.Abs(float64(bt[r*kCur+b]-targets[int(i)*kCur+b])) > 1e-6 {
				t.Fatalf("batch row %d differs from the full row", i)
			}
			sum += bt[r*kCur+b]
		}
		if math.Abs(float64(sum)-1) > 1e-5 {
			t.Fatalf("target row %d sums to %g", i, sum)
		}
	}
	hard, _ := Blend(got.Labels, kCur, nil, 1, []int64{})
	if len(hard) != 0 {
		t.Fatal("an empty batch gives no rows")
	}
}

// Each binding error path crosses the boundary with the library's code and message.
func TestErrorsCarryTheLibraryMessage(t *testing.T) {
	x := []float32{0, 1, float32(math.NaN()), 3}
	_, err := DbscanFeatures(x, 2, 2, 0.5, 1, nil)
	mustCode(t, err, ErrInvalidArgument, "x: row 1 has NaN at column 0")
	_, err = DbscanFeatures(x, 3, 2, 0.5, 1, nil)
	mustCode(t, err, ErrInvalidArgument, "x: length 4 is not 3 x 2")
	_, err = DbscanFeatures([]float32{0, 1}, 2, 1, math.NaN(), 1, nil)
	mustCode(t, err, ErrInvalidArgument, "eps: is NaN")
	_, err = DbscanFeatures([]float32{0, 1}, 2, 1, 0.5, 1, &DbscanOptions{Threads: -1})
	mustCode(t, err, ErrInvalidArgument, "n_threads")
	_, err = DbscanFeatures([]float32{0, 1}, -2, -1, 0.5, 1, nil)
	mustCode(t, err, ErrInvalidArgument, "negative shape")
	_, err = DbscanFeatures(nil, math.MaxInt/2, 4, 0.5, 1, nil)
	mustCode(t, err, ErrInvalidArgument, "overflows")
	big, _ := reidFeatures(4, 50, 8, 0.3, 3)
	_, err = DbscanFeatures(big, 200, 8, 0.5, 1, &DbscanOptions{MaxBytes: 1024})
	mustCode(t, err, ErrMemoryLimit, "max_bytes")
	_, err = DbscanDense([]float32{0, -1, 1, 0}, 2, 0.5, 1, nil)
	mustCode(t, err, ErrInvalidArgument, "dist")
	_, err = DbscanCSR(CSRMatrix{Rows: 2, Cols: 2, Indptr: []int64{0, 2, 2}, Indices: []int32{1, 0}, Data: []float32{1, 1}}, 0.5, 1, nil)
	mustCode(t, err, ErrInvalidArgument, "unsorted")
	_, err = DbscanCSR(CSRMatrix{Rows: 2, Cols: 2, Indptr: []int64{0, 1}}, 0.5, 1, nil)
	mustCode(t, err, ErrInvalidArgument, "row pointers")
	_, _, err = KNN([]float32{0, 1}, 2, 1, 3, 0)
	mustCode(t, err, ErrInvalidArgument, "k")
	small := DefaultJaccardOptions()
	small.K1, small.K2 = 2, 1
	_, err = Jaccard([]float32{3, 4}, 2, 1, nil, &small)
	mustCode(t, err, ErrInvalidArgument, "norm")
	_, err = Jaccard([]float32{1, 1}, 2, 1, nil, nil)
	mustCode(t, err, ErrInvalidArgument, "k1: 30 must be in [1, n = 2]")
	_, err = JaccardDense([]float32{1, 1}, 2, 1, []int64{0}, nil)
	mustCode(t, err, ErrInvalidArgument, "knn: length 1")
	bad := DefaultPseudoOptions()
	bad.Eps = []float64{0.5, 0.6}
	_, err = PseudoLabels([]float32{1, 1}, 2, 1, &bad)
	mustCode(t, err, ErrInvalidArgument, "Eps: 2 radii")
	bad = DefaultPseudoOptions()
	bad.Eps = []float64{0.95}
	bad.Reliability = false
	_, err = PseudoLabels([]float32{1, 1}, 2, 1, &bad)
	mustCode(t, err, ErrInvalidArgument, "cutoff")
	_, err = Centroids([]float32{1, 1}, 2, 1, []int32{0, 5}, 2)
	mustCode(t, err, ErrInvalidArgument, "labels")
	_, _, _, err = ConsensusCounts([]int32{0, -2}, []int32{0, 0}, 0, 0)
	mustCode(t, err, ErrInvalidArgument, "prev")
	_, _, _, err = Consensus([]int32{0}, []int32{0, 1}, 0, 0, IoU, NormalizeSum)
	mustCode(t, err, ErrInvalidArgument, "cur: length 2, expected 1")
	_, err = ConsensusCSR([]int32{0}, []int32{0}, 0, 0, IoU, NormalizeSoftmax)
	mustCode(t, err, ErrInvalidArgument, "softmax makes every row dense")
	_, err = ClassProbabilities([]float32{1}, 1, 1, []float32{1}, 1, 30, []int64{4}, 0)
	mustCode(t, err, ErrInvalidArgument, "rows")
	chat := CSRMatrix{Rows: 1, Cols: 1, Indptr: []int64{0, 1}, Indices: []int32{0}, Data: []float32{1}}
	_, err = Propagate([]int32{0}, chat, []float32{1}, 2, 0, nil)
	mustCode(t, err, ErrInvalidArgument, "w")
	_, err = Blend([]int32{3}, 2, nil, 1, nil)
	mustCode(t, err, ErrInvalidArgument, "cur")
	_, err = NewRefiner(-1, 4, nil, nil)
	mustCode(t, err, ErrInvalidArgument, "n")
}

// 16 goroutines fail at once, each on its own row: every error carries its
// own message although goroutines move between OS threads between calls.
func TestErrorMessagesPerGoroutine(t *testing.T) {
	var wg sync.WaitGroup
	failures := make(chan string, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			n, d := 20, 3
			for iteration := 0; iteration < 50; iteration++ {
				x := make([]float32, n*d)
				for i := range x {
					x[i] = float32(i % 7)
				}
				row := (g + iteration) % n
				x[row*d+g%d] = float32(math.Inf(1))
				_, err := DbscanFeatures(x, n, d, 1, 2, &DbscanOptions{Threads: 1})
				want := fmt.Sprintf("x: row %d has inf at column %d", row, g%d)
				if err == nil || !strings.Contains(err.Error(), want) {
					failures <- fmt.Sprintf("goroutine %d: %v, want %q", g, err, want)
					return
				}
				x[row*d+g%d] = 0 // a success in between clears the C message
				if _, err := DbscanFeatures(x, n, d, 1, 2, nil); err != nil {
					failures <- err.Error()
					return
				}
				runtime.Gosched()
			}
		}(g)
	}
	wg.Wait()
	close(failures)
	for failure := range failures {
		t.Error(failure)
	}
}

func newTestRefiner(t *testing.T) (*Refiner, []float32) {
	t.Helper()
	x, _ := reidFeatures(10, 10, 16, 0.4, 5)
	pseudo := DefaultPseudoOptions()
	pseudo.K1, pseudo.K2 = 10, 3
	r, err := NewRefiner(100, 16, &pseudo, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r, x
}

func TestRefinerGenerations(t *testing.T) {
	r, x := newTestRefiner(t)
	defer r.Close()
	for generation := 1; generation <= 3; generation++ {
		if err := r.StepMatrix(x, 32); err != nil {
			t.Fatal(err)
		}
		if r.Generation() != generation || r.Classes() < 10 {
			t.Fatalf("generation %d, %d classes", r.Generation(), r.Classes())
		}
		k := r.Classes()
		all, err := r.Targets(nil)
		if err != nil {
			t.Fatal(err)
		}
		some, err := r.Targets([]int64{42, 0})
		if err != nil {
			t.Fatal(err)
		}
		for c := 0; c < k; c++ {
			if math.Abs(float64(some[c]-all[42*k+c])) > 1e-6 || math.Abs(float64(some[k+c]-all[c])) > 1e-6 {
				t.Fatal("a batch's target rows differ from the full rows")
			}
		}
		labels, _ := r.Labels()
		cents, _ := r.Centroids()
		if len(labels) != 100 || len(cents) != k*16 {
			t.Fatalf("%d labels, %d centroid values", len(labels), len(cents))
		}
	}
	// logits and progress callbacks take part
	var stages []Stage
	usedLogits := false
	err := r.Step(func(start, count int, dst []float32, ld int) error {
		for i := 0; i < count; i++ {
			copy(dst[i*ld:i*ld+16], x[(start+i)*16:])
		}
		return nil
	}, 25, func(start, count, kPrev int, dst []float32, ld int) error {
		usedLogits = true
		for i := 0; i < count; i++ {
			for c := 0; c < kPrev; c++ {
				dst[i*ld+c] = 0
			}
		}
		return nil
	}, func(stage Stage, fraction float64) bool {
		if len(stages) == 0 || stages[len(stages)-1] != stage {
			stages = append(stages, stage)
		}
		return false
	})
	if err != nil || !usedLogits || stages[len(stages)-1] != StageDone || r.Generation() != 4 {
		t.Fatalf("err %v, logits used %v, stages %v, generation %d", err, usedLogits, stages, r.Generation())
	}
}

func TestRefinerCallbackFailures(t *testing.T) {
	r, x := newTestRefiner(t)
	defer r.Close()
	if err := r.StepMatrix(x, 50); err != nil {
		t.Fatal(err)
	}
	before, _ := r.Labels()
	mine := errors.New("the camera disk is gone")
	err := r.Step(func(start, count int, dst []float32, ld int) error { return mine }, 50, nil, nil)
	if !errors.Is(err, ErrCallback) || !errors.Is(err, mine) || !strings.Contains(err.Error(), "camera disk") {
		t.Fatalf("callback error: %v", err)
	}
	err = r.Step(func(start, count int, dst []float32, ld int) error { panic("boom") }, 50, nil, nil)
	if !errors.Is(err, ErrCallback) || !strings.Contains(err.Error(), "panicked: boom") {
		t.Fatalf("callback panic: %v", err)
	}
	err = r.Step(func(start, count int, dst []float32, ld int) error {
		for i := 0; i < count; i++ {
			copy(dst[i*ld:i*ld+16], x[(start+i)*16:])
		}
		return nil
	}, 50, func(start, count, kPrev int, dst []float32, ld int) error { panic(errors.New("logits")) }, nil)
	if !errors.Is(err, ErrCallback) {
		t.Fatalf("logits panic: %v", err)
	}
	err = r.Step(func(start, count int, dst []float32, ld int) error { return nil }, 50, nil,
		func(stage Stage, fraction float64) bool { return stage == StageClustering })
	if !errors.Is(err, ErrCanceled) {
		t.Fatalf("cancel: %v", err)
	}
	err = r.Step(func(start, count int, dst []float32, ld int) error { return nil }, 50, nil,
		func(stage Stage, fraction float64) bool { panic("progress") })
	if !errors.Is(err, ErrCanceled) || !strings.Contains(err.Error(), "panicked: progress") {
		t.Fatalf("progress panic: %v", err)
	}
	// a call on the refiner from inside its own step is refused, not corrupting
	var inside error
	err = r.Step(func(start, count int, dst []float32, ld int) error {
		_, inside = r.Targets([]int64{0})
		copyRows(dst, ld, x, start, count, 16)
		return nil
	}, 50, nil, nil)
	if err != nil || inside == nil || !strings.Contains(inside.Error(), "in use") {
		t.Fatalf("step %v, call inside it %v", err, inside)
	}
	after, _ := r.Labels()
	if r.Generation() != 2 || len(after) != len(before) {
		t.Fatalf("generation %d after failed steps", r.Generation())
	}
	r.Close()
	r.Close()
	if _, err := r.Targets(nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("closed refiner: %v", err)
	}
	if err := r.StepMatrix(x, 50); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("closed refiner step: %v", err)
	}
}

func copyRows(dst []float32, ld int, x []float32, start, count, d int) {
	for i := 0; i < count; i++ {
		copy(dst[i*ld:i*ld+d], x[(start+i)*d:(start+i+1)*d])
	}
}
