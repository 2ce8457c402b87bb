package rlcc

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
)

// librlcc 1.4 through the package: the Opts twins give the old calls'
// values bit for bit for any thread count and honour MaxBytes; the matrix
// step (copying, strided, borrowing a FeatureMatrix) is the callback step
// generation after generation; Bytes counts what the refiner keeps; the
// FeatureMatrix lives as long as a refiner may read it; the pseudo-labeler
// field.

var optsBatch = []int64{159, 3, 3, 77, 0}

// optsPipeline is two labelings of callerRows and what lies between them.
type optsPipeline struct {
	x0, x1      []float32
	prev, cur   []int32
	kPrev, kCur int
	cents       []float32
	chat        CSRMatrix
	chatHandle  *CSR
}

func newOptsPipeline(t *testing.T) *optsPipeline {
	t.Helper()
	p := &optsPipeline{x0: callerRows(0), x1: callerRows(1)}
	g0 := must(PseudoLabels(p.x0, callerN, callerD, callerOptions()))
	o := callerOptions()
	o.Threshold = g0.Threshold
	g1 := must(PseudoLabels(p.x1, callerN, callerD, o))
	p.prev, p.cur, p.kPrev, p.kCur = g0.Labels, g1.Labels, g0.Classes, g1.Classes
	if p.kPrev < 3 || p.kCur < 3 {
		t.Fatalf("%d and %d classes", p.kPrev, p.kCur)
	}
	p.cents = must(Centroids(p.x0, callerN, callerD, p.prev, p.kPrev))
	p.chatHandle = must(ConsensusCSR(p.prev, p.cur, 0, 0, IoU, NormalizeSum))
	t.Cleanup(p.chatHandle.Close)
	p.chat = p.chatHandle.Matrix()
	return p
}

func sameFloatBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if !sameBits(got, want) {
		t.Fatalf("%s: %d values differ from the old call's %d (bit for bit)", what, len(got), len(want))
	}
}

func wantCode(t *testing.T, err error, sentinel *Error, fragment string) {
	t.Helper()
	var e *Error
	if !errors.Is(err, sentinel) || !errors.As(err, &e) || !containsText(e.Message, fragment) {
		t.Fatalf("got %v, want %v with %q", err, sentinel, fragment)
	}
}

func containsText(s, fragment string) bool {
	for i := 0; i+len(fragment) <= len(s); i++ {
		if s[i:i+len(fragment)] == fragment {
			return true
		}
	}
	return false
}

func TestOptsTwinsGiveTheOldValuesForAnyThreadCount(t *testing.T) {
	p := newOptsPipeline(t)
	noisy := append([]int32(nil), p.prev...)
	for i := 0; i < callerN; i += 7 {
		noisy[i] = -1
	}
	for _, threads := range []int{0, 1, 2, 3} {
		got := must(CentroidsOpts(p.x0, callerN, callerD, noisy, p.kPrev, &CentroidOptions{Threads: threads}))
		sameFloatBits(t, "centroids", got, must(Centroids(p.x0, callerN, callerD, noisy, p.kPrev)))
		for _, kind := range []ConsensusKind{IoU, Count} {
			for _, normalize := range []Normalize{NormalizeNone, NormalizeSum, NormalizeSoftmax} {
				o := &ConsensusOptions{Kind: kind, Normalize: normalize, Threads: threads}
				dense, _, _, err := ConsensusOpts(noisy, p.cur, 0, 0, o)
				old, _, _, err2 := Consensus(noisy, p.cur, 0, 0, kind, normalize)
				if err != nil || err2 != nil {
					t.Fatal(err, err2)
				}
				sameFloatBits(t, "consensus", dense, old)
				if normalize == NormalizeSoftmax {
					_, err := ConsensusCSROpts(noisy, p.cur, 0, 0, o)
					refusedWith(t, err, "softmax")
					continue
				}
				a := must(ConsensusCSROpts(noisy, p.cur, 0, 0, o))
				b := must(ConsensusCSR(noisy, p.cur, 0, 0, kind, normalize))
				ma, mb := a.Matrix(), b.Matrix()
				if ma.Rows != mb.Rows || ma.Cols != mb.Cols || !sameInts(ma.Indptr, mb.Indptr) {
					t.Fatal("consensus CSR shape")
				}
				sameFloatBits(t, "consensus CSR", ma.Data, mb.Data)
				a.Close()
				b.Close()
			}
		}
		counts, kp, kc, err := ConsensusCountsOpts(noisy, p.cur, p.kPrev+2, p.kCur+1, &ConsensusOptions{Threads: threads})
		old, okp, okc, err2 := ConsensusCounts(noisy, p.cur, p.kPrev+2, p.kCur+1)
		if err != nil || err2 != nil || kp != okp || kc != okc || !sameInts(counts, old) {
			t.Fatal("consensus counts", err, err2)
		}
		for _, scale := range []float32{30, 7.5} {
			for _, rows := range [][]int64{nil, optsBatch, {}} {
				po := DefaultProbabilityOptions()
				po.Scale, po.Threads = scale, threads
				probs := must(ClassProbabilitiesOpts(p.x1, callerN, callerD, p.cents, p.kPrev, rows, &po))
				sameFloatBits(t, "probabilities", probs,
					must(ClassProbabilities(p.x1, callerN, callerD, p.cents, p.kPrev, scale, rows, threads)))
				for _, wb := range [][2]float32{{0.9, 0}, {0.5, 0.3}, {0, 1}} {
					pr := &PropagateOptions{W: wb[0], Beta: wb[1], Threads: threads}
					s := must(PropagateOpts(p.prev, p.chat, probs, rows, pr))
					sameFloatBits(t, "propagate", s, must(Propagate(p.prev, p.chat, probs, wb[0], wb[1], rows)))
					for _, alpha := range []float32{0.9, 0, 1} {
						tt := must(BlendOpts(p.cur, p.kCur, s, rows, &BlendOptions{Alpha: alpha, Threads: threads}))
						sameFloatBits(t, "blend", tt, must(Blend(p.cur, p.kCur, s, alpha, rows)))
					}
				}
				hard := DefaultPropagateOptions()
				hard.Beta, hard.Threads = 1, threads
				sameFloatBits(t, "hard propagation", must(PropagateOpts(p.prev, p.chat, nil, rows, &hard)),
					must(Propagate(p.prev, p.chat, nil, 0.9, 1, rows)))
				sameFloatBits(t, "blend, S = 0", must(BlendOpts(p.cur, p.kCur, nil, rows, nil)),
					must(Blend(p.cur, p.kCur, nil, 0.9, rows)))
			}
		}
	}
}

func TestOptsDefaultsAreTheLibrarys(t *testing.T) {
	if got := DefaultConsensusOptions(); got != (ConsensusOptions{Kind: IoU, Normalize: NormalizeSum}) {
		t.Fatalf("consensus %+v", got)
	}
	if got := DefaultProbabilityOptions(); got != (ProbabilityOptions{Scale: 30}) {
		t.Fatalf("probabilities %+v", got)
	}
	if got := DefaultPropagateOptions(); got != (PropagateOptions{W: 0.9}) {
		t.Fatalf("propagate %+v", got)
	}
	if got := DefaultBlendOptions(); got != (BlendOptions{Alpha: 0.9}) {
		t.Fatalf("blend %+v", got)
	}
	if got := DefaultStepOptions(); got.Batch != 1024 || got.Threads != 0 || got.MaxBytes != 0 {
		t.Fatalf("step %+v", got)
	}
	if DefaultPseudoOptions().Method != PseudoDBSCAN || PseudoDBSCAN != 0 {
		t.Fatal("pseudo method")
	}
	// nil options are the old calls' defaults
	p := newOptsPipeline(t)
	a, _, _, _ := ConsensusOpts(p.prev, p.cur, 0, 0, nil)
	b, _, _, _ := Consensus(p.prev, p.cur, 0, 0, IoU, NormalizeSum)
	sameFloatBits(t, "nil consensus options", a, b)
	sameFloatBits(t, "nil probability options", must(ClassProbabilitiesOpts(p.x1, callerN, callerD, p.cents, p.kPrev, nil, nil)),
		must(ClassProbabilities(p.x1, callerN, callerD, p.cents, p.kPrev, 30, nil, 0)))
}

func TestOptsTinyMaxBytesIsTheMemoryLimit(t *testing.T) {
	p := newOptsPipeline(t)
	const tiny = 64
	_, err := CentroidsOpts(p.x0, callerN, callerD, p.prev, p.kPrev, &CentroidOptions{MaxBytes: tiny})
	wantCode(t, err, ErrMemoryLimit, "max_bytes")
	co := DefaultConsensusOptions()
	co.MaxBytes = tiny
	_, _, _, err = ConsensusCountsOpts(p.prev, p.cur, 0, 0, &co)
	wantCode(t, err, ErrMemoryLimit, "max_bytes")
	_, _, _, err = ConsensusOpts(p.prev, p.cur, 0, 0, &co)
	wantCode(t, err, ErrMemoryLimit, "max_bytes")
	_, err = ConsensusCSROpts(p.prev, p.cur, 0, 0, &co)
	wantCode(t, err, ErrMemoryLimit, "max_bytes")
	po := DefaultProbabilityOptions()
	po.MaxBytes = tiny // a batch's rows are gathered
	_, err = ClassProbabilitiesOpts(p.x1, callerN, callerD, p.cents, p.kPrev, optsBatch, &po)
	wantCode(t, err, ErrMemoryLimit, "max_bytes")
	// propagation and blending allocate nothing in 1.4: any bound holds
	hard := PropagateOptions{Beta: 1, MaxBytes: 1}
	sameFloatBits(t, "bounded propagation", must(PropagateOpts(p.prev, p.chat, nil, nil, &hard)),
		must(Propagate(p.prev, p.chat, nil, 0, 1, nil)))
	if _, err := BlendOpts(p.cur, p.kCur, nil, nil, &BlendOptions{Alpha: 1, MaxBytes: 1}); err != nil {
		t.Fatal(err)
	}
	_, err = BlendOpts(p.cur, p.kCur, nil, nil, &BlendOptions{MaxBytes: -1})
	wantCode(t, err, ErrInvalidArgument, "max_bytes: -1 is negative")
	_, err = PropagateOpts(p.prev, p.chat, nil, nil, &PropagateOptions{Beta: 1, Threads: -2})
	wantCode(t, err, ErrInvalidArgument, "n_threads: -2 is negative")
	// a zero value that is not the default: refused, not taken for 30
	_, err = ClassProbabilitiesOpts(p.x1, callerN, callerD, p.cents, p.kPrev, nil, &ProbabilityOptions{})
	wantCode(t, err, ErrInvalidArgument, "scale: 0 must be > 0 and finite")
	// the refiner's budget, and each step's own bound
	small := callerOptions()
	small.MaxBytes = 4096
	r := newCallerRefiner(t, small)
	wantCode(t, r.StepMatrix(p.x0, 50), ErrMemoryLimit, "max_bytes")
	r = newCallerRefiner(t, callerOptions())
	bound := &StepOptions{MaxBytes: 4096}
	wantCode(t, r.StepOpts(callerFill(p.x0), bound), ErrMemoryLimit, "max_bytes")
	wantCode(t, r.StepMatrixOpts(p.x0, callerD, bound), ErrMemoryLimit, "max_bytes")
	m := featureMatrixOf(t, p.x0)
	wantCode(t, r.StepBorrow(m, bound), ErrMemoryLimit, "max_bytes")
	if r.Generation() != 0 || m.borrowers != 0 {
		t.Fatalf("a refused step changed the refiner (%d) or kept the matrix (%d)", r.Generation(), m.borrowers)
	}
	for _, x := range [][]float32{p.x0, p.x1} {
		if err := r.StepMatrix(x, 50); err != nil {
			t.Fatal(err)
		}
	}
	_, err = r.TargetsOpts(optsBatch, &TargetsOptions{MaxBytes: 16})
	wantCode(t, err, ErrMemoryLimit, "max_bytes")
	if _, err := r.TargetsOpts(optsBatch, &TargetsOptions{MaxBytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
}

// featureMatrixOf copies x into a new FeatureMatrix, closed at the test's end.
func featureMatrixOf(t *testing.T, x []float32) *FeatureMatrix {
	t.Helper()
	m, err := NewFeatureMatrix(callerN, callerD)
	if err != nil {
		t.Fatal(err)
	}
	copy(m.Data(), x)
	t.Cleanup(m.Close)
	return m
}

// snapshot is everything a refiner shows after a generation.
type snapshot struct {
	labels             []int32
	classes            int
	threshold          uint64
	centroids, targets []float32
	batch              []float32
}

func takeSnapshot(t *testing.T, r *Refiner) snapshot {
	t.Helper()
	return snapshot{must(r.Labels()), r.Classes(), math.Float64bits(r.Threshold()), must(r.Centroids()),
		must(r.Targets(nil)), must(r.Targets(optsBatch))}
}

func sameSnapshot(t *testing.T, what string, got, want snapshot) {
	t.Helper()
	if !sameLabels(got.labels, want.labels) || got.classes != want.classes || got.threshold != want.threshold ||
		!sameBits(got.centroids, want.centroids) || !sameBits(got.targets, want.targets) ||
		!sameBits(got.batch, want.batch) {
		t.Fatalf("%s differs from the callback step", what)
	}
}

func TestStepRoutesAreOneGeneration(t *testing.T) {
	for _, ro := range []RefinerOptions{DefaultRefinerOptions(), {Alpha: 0.7, W: 0.5, Beta: 0.25, Scale: 20}} {
		ro := ro
		refiner := func() *Refiner {
			r, err := NewRefiner(callerN, callerD, callerOptions(), &ro)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.Close)
			return r
		}
		byCallback, byOpts, copying, strided, borrowing := refiner(), refiner(), refiner(), refiner(), refiner()
		var previous *FeatureMatrix
		for g := uint64(0); g < 4; g++ {
			x := callerRows(g)
			if err := byCallback.Step(callerFill(x), 37, nil, nil); err != nil {
				t.Fatal(err)
			}
			want := takeSnapshot(t, byCallback)
			if err := byOpts.StepOpts(callerFill(x), &StepOptions{Batch: 50, Threads: 2}); err != nil {
				t.Fatal(err)
			}
			sameSnapshot(t, fmt.Sprintf("StepOpts, generation %d", g), takeSnapshot(t, byOpts), want)
			if err := copying.StepMatrix(x, 1024); err != nil {
				t.Fatal(err)
			}
			sameSnapshot(t, fmt.Sprintf("StepMatrix, generation %d", g), takeSnapshot(t, copying), want)
			// rows of stride D + 5; the padding (NaN, which would be refused) is never read
			ld := callerD + 5
			padded := make([]float32, (callerN-1)*ld+callerD)
			for i := range padded {
				padded[i] = float32(math.NaN())
			}
			for i := 0; i < callerN; i++ {
				copy(padded[i*ld:i*ld+callerD], x[i*callerD:(i+1)*callerD])
			}
			if err := strided.StepMatrixOpts(padded, ld, &StepOptions{Threads: 1}); err != nil {
				t.Fatal(err)
			}
			sameSnapshot(t, fmt.Sprintf("StepMatrixOpts, generation %d", g), takeSnapshot(t, strided), want)
			// borrowing: a new matrix each generation, closed at once (the
			// refiner keeps it alive until its next step succeeds)
			m, err := NewFeatureMatrix(callerN, callerD)
			if err != nil {
				t.Fatal(err)
			}
			copy(m.Data(), x)
			if err := borrowing.StepBorrow(m, nil); err != nil {
				t.Fatal(err)
			}
			m.Close()
			if m.ptr == nil || m.Data() != nil {
				t.Fatal("a borrowed matrix was freed at Close, or still gives views")
			}
			if previous != nil && previous.ptr != nil {
				t.Fatal("the previous generation's matrix was not freed by the step that followed it")
			}
			previous = m
			sameSnapshot(t, fmt.Sprintf("StepBorrow, generation %d", g), takeSnapshot(t, borrowing), want)
			// what each holds: x's copy only when its targets read it
			xBytes := int64(4 * callerN * callerD)
			keeps := g > 0 && ro.Beta < 1
			if copying.Bytes() != byCallback.Bytes() || strided.Bytes() != copying.Bytes() {
				t.Fatalf("bytes: callback %d, matrix %d, strided %d", byCallback.Bytes(), copying.Bytes(), strided.Bytes())
			}
			diff := copying.Bytes() - borrowing.Bytes()
			if (keeps && diff != xBytes) || (!keeps && diff != 0) {
				t.Fatalf("generation %d: copying holds %d bytes more than borrowing", g, diff)
			}
		}
		borrowing.Close()
		if previous.ptr != nil {
			t.Fatal("the refiner's Close did not let go of the last matrix")
		}
	}
}

func TestBytesDropWhenNothingIsKept(t *testing.T) {
	hardOptions := DefaultRefinerOptions()
	hardOptions.Beta = 1
	soft := newCallerRefiner(t, callerOptions())
	hard, err := NewRefiner(callerN, callerD, callerOptions(), &hardOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer hard.Close()
	withLogits := newCallerRefiner(t, callerOptions())
	if soft.Bytes() != 0 {
		t.Fatalf("before any step: %d bytes", soft.Bytes())
	}
	logits := func(start, count, kPrev int, dst []float32, ld int) error {
		for i := 0; i < count; i++ {
			for c := 0; c < kPrev; c++ {
				dst[i*ld+c] = float32((i + c) % 5)
			}
		}
		return nil
	}
	for g := uint64(0); g < 3; g++ {
		x := callerRows(g)
		kPrev := int64(soft.Classes())
		for _, r := range []*Refiner{soft, hard} {
			if err := r.StepMatrix(x, 64); err != nil {
				t.Fatal(err)
			}
		}
		if err := withLogits.StepMatrixOpts(x, callerD, &StepOptions{Logits: logits}); err != nil {
			t.Fatal(err)
		}
		k := int64(soft.Classes())
		if g == 0 {
			if soft.Bytes() != hard.Bytes() || hard.Bytes() != 4*callerN+4*callerD*k {
				t.Fatalf("generation 0: %d and %d bytes, want 4n + 4dK = %d", soft.Bytes(), hard.Bytes(),
					4*callerN+4*callerD*k)
			}
			continue
		}
		if soft.Bytes()-hard.Bytes() != 4*callerN*callerD {
			t.Fatalf("generation %d: beta = 1 holds %d bytes less, want the n x d copy (%d)", g,
				soft.Bytes()-hard.Bytes(), 4*callerN*callerD)
		}
		if withLogits.Bytes()-hard.Bytes() != 4*callerN*kPrev {
			t.Fatalf("generation %d: with logits %d bytes more than beta = 1, want 4 n K' = %d", g,
				withLogits.Bytes()-hard.Bytes(), 4*callerN*kPrev)
		}
	}
}

func TestFeatureMatrixLifetime(t *testing.T) {
	x0, x1 := callerRows(0), callerRows(1)
	_, err := NewFeatureMatrix(0, 3)
	refusedWith(t, err, "matrix: shape 0 x 3")
	_, err = NewFeatureMatrix(math.MaxInt/2, 3)
	refusedWith(t, err, "overflows")
	r := newCallerRefiner(t, callerOptions())
	wrong, _ := NewFeatureMatrix(callerN, callerD+1)
	defer wrong.Close()
	refusedWith(t, r.StepBorrow(wrong, nil), "matrix: 160 x 13, the refiner's features are 160 x 12")
	refusedWith(t, r.StepBorrow(nil, nil), "matrix: nil")
	m := featureMatrixOf(t, x0)
	if err := r.StepMatrix(x0, 64); err != nil {
		t.Fatal(err)
	}
	if err := r.StepBorrow(m, nil); err != nil {
		t.Fatal(err)
	}
	want := must(r.Targets(optsBatch))
	// a failing step keeps the borrow; so does a cancelled one
	wantCode(t, r.Step(func(int, int, []float32, int) error { return errors.New("disk gone") }, 16, nil, nil),
		ErrCallback, "disk gone")
	wantCode(t, r.StepOpts(callerFill(x1), &StepOptions{Progress: func(Stage, float64) bool { return true }}),
		ErrCanceled, "canceled")
	m.Close()
	if m.ptr == nil || m.borrowers != 1 {
		t.Fatal("the borrowed matrix was freed while the refiner may read it")
	}
	sameFloatBits(t, "targets after the matrix's Close", must(r.Targets(optsBatch)), want)
	// a closed matrix cannot be borrowed again
	r2 := newCallerRefiner(t, callerOptions())
	refusedWith(t, r2.StepBorrow(m, nil), "matrix: closed")
	// the same matrix borrowed by two refiners, then let go by each
	n, _ := NewFeatureMatrix(callerN, callerD)
	copy(n.Data(), x1)
	if err := r.StepBorrow(n, nil); err != nil {
		t.Fatal(err)
	}
	if m.ptr != nil {
		t.Fatal("the step that followed did not free the closed matrix")
	}
	if err := r2.StepBorrow(n, nil); err != nil {
		t.Fatal(err)
	}
	n.Close()
	if n.borrowers != 2 || n.ptr == nil {
		t.Fatalf("%d borrowers", n.borrowers)
	}
	if err := r2.StepMatrix(x1, 64); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if n.ptr != nil || n.borrowers != 0 {
		t.Fatal("not freed once both refiners let go")
	}
	n.Close() // twice is fine
	// a step from inside the refiner's own callback is refused, as before
	var inside error
	if err := r2.Step(func(start, count int, dst []float32, ld int) error {
		inside = r2.StepMatrix(x0, 64)
		copyRows(dst, ld, x0, start, count, callerD)
		return nil
	}, 50, nil, nil); err != nil {
		t.Fatal(err)
	}
	refusedWith(t, inside, "refiner: in use")
	r2.Close()
	refusedWith(t, r2.StepBorrow(featureMatrixOf(t, x0), nil), "refiner: closed")
	if r2.Bytes() != 0 {
		t.Fatal("a closed refiner's bytes")
	}
}

// Steps of every kind from several goroutines at once: each is taken or
// refused as in use, never a race (go test -race), and the matrices end
// freed.
func TestConcurrentStepsAndBorrows(t *testing.T) {
	x := callerRows(0)
	r := newCallerRefiner(t, callerOptions())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var matrices []*FeatureMatrix
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 4; i++ {
				var err error
				switch (g + i) % 3 {
				case 0:
					m, _ := NewFeatureMatrix(callerN, callerD)
					copy(m.Data(), x)
					mu.Lock()
					matrices = append(matrices, m)
					mu.Unlock()
					err = r.StepBorrow(m, nil)
					m.Close()
				case 1:
					err = r.StepMatrix(x, 64)
				default:
					err = r.Step(callerFill(x), 64, nil, nil)
				}
				if err != nil && !errors.Is(err, ErrInvalidArgument) {
					t.Error(err)
				}
				_, _ = r.Targets(optsBatch)
				_ = r.Bytes()
			}
		}(g)
	}
	wg.Wait()
	r.Close()
	for _, m := range matrices {
		if m.ptr != nil || m.borrowers != 0 {
			t.Fatal("a matrix outlived every refiner that borrowed it")
		}
	}
}

func TestStepMatrixShapesAndPseudoMethod(t *testing.T) {
	x := callerRows(0)
	r := newCallerRefiner(t, callerOptions())
	refusedWith(t, r.StepMatrix(x[1:], 64), "x: length 1919 is not 160 x 12")
	refusedWith(t, r.StepMatrixOpts(x[1:], callerD, nil), "x: length 1919 is not 160 rows of width 12 and stride 12")
	refusedWith(t, r.StepMatrixOpts(append(x, 0), callerD, nil), "x: length 1921")
	refusedWith(t, r.StepMatrixOpts(x, callerD-1, nil), "ld: 11 is smaller than d = 12")
	refusedWith(t, r.StepMatrixOpts(x, callerD+1, nil), "stride 13")
	refusedWith(t, r.StepMatrixOpts(x, math.MaxInt, nil), "overflow")
	refusedWith(t, r.StepMatrix(x, 0), "batch: 0 must be >= 1")
	refusedWith(t, r.StepOpts(callerFill(x), &StepOptions{Batch: -3}), "batch: -3 must be >= 1")
	refusedWith(t, r.StepOpts(nil, nil), "features: nil")
	if r.Generation() != 0 {
		t.Fatal("a refused step changed the refiner")
	}
	// a pseudo-labeler this librlcc does not have
	o := callerOptions()
	o.Method = 3 // 1.7 has 0, 1 and 2
	_, err := PseudoLabels(x, callerN, callerD, o)
	refusedWith(t, err, "method: 3 is not a pseudo-labeler")
	_, err = NewRefiner(callerN, callerD, o, nil)
	refusedWith(t, err, "method: 3")
	o.Method = PseudoDBSCAN
	if _, err := PseudoLabels(x, callerN, callerD, o); err != nil {
		t.Fatal(err)
	}
}
