package rlcc

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// The caller's kNN lists (librlcc 1.3): PseudoLabelsKNN and
// (*Refiner).SetKNN, on the rows of tests/c/test_knn.c (160 unit rows of
// width 12 around 16 directions, K1 = 20): librlcc's own lists give its own
// labels, other lists give others, bad lists are refused with the library's
// message (or, for a length only Go can see, before the cgo call).

const (
	callerN  = 160
	callerD  = 12
	callerK1 = 20
)

// callerRows are tests/c/test_knn.c's unit_rows, step for step: unit rows
// around 16 directions, shifted by generation.
func callerRows(generation uint64) []float32 {
	state := 4242 + generation
	next := func() uint32 {
		state = state*6364136223846793005 + 1442695040888963407
		return uint32(state >> 33)
	}
	x := make([]float32, callerN*callerD)
	for i := 0; i < callerN; i++ {
		sum := 0.0
		for t := 0; t < callerD; t++ {
			// C's (a + b) + c, left to right
			v := callerTerm(t == i%16%callerD, 1.0) + callerTerm(t == (i%16+3)%callerD, 0.6) +
				float64((float64(next())/4294967296.0-0.5)*0.3)
			x[i*callerD+t] = float32(v)
			sum += v * v
		}
		for t := 0; t < callerD; t++ {
			x[i*callerD+t] = float32(float64(x[i*callerD+t]) / math.Sqrt(sum))
		}
	}
	return x
}

func callerTerm(on bool, value float64) float64 {
	if on {
		return value
	}
	return 0
}

func callerOptions() *PseudoOptions {
	o := DefaultPseudoOptions()
	o.K1, o.K2, o.MinSamples = callerK1, 4, 3
	o.Eps = []float64{0.5, 0.55, 0.6}
	return &o
}

func callerLists(t *testing.T, x []float32) []int64 {
	t.Helper()
	lists, _, err := KNN(x, callerN, callerD, callerK1, 0)
	if err != nil {
		t.Fatal(err)
	}
	return lists
}

func callerFill(x []float32) FeaturesFunc {
	return func(start, count int, dst []float32, ld int) error {
		copyRows(dst, ld, x, start, count, callerD)
		return nil
	}
}

func sameLabels(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func shiftedLists(lists []int64) []int64 {
	shifted := make([]int64, len(lists))
	for e, j := range lists {
		shifted[e] = (j + 1) % callerN
	}
	return shifted
}

// refusedWith wants ErrInvalidArgument and a message containing text.
func refusedWith(t *testing.T, err error, text string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrInvalidArgument) || !strings.Contains(e.Message, text) {
		t.Fatalf("got %v, want ErrInvalidArgument with %q", err, text)
	}
}

func TestPseudoLabelsKNNTakesTheCallersLists(t *testing.T) {
	x := callerRows(0)
	lists := callerLists(t, x)
	o := callerOptions()
	own := must(PseudoLabels(x, callerN, callerD, o))
	given := must(PseudoLabelsKNN(x, callerN, callerD, lists, o))
	if own.Classes < 2 || !sameLabels(given.Labels, own.Labels) || given.Classes != own.Classes ||
		math.Float64bits(given.Threshold) != math.Float64bits(own.Threshold) {
		t.Fatalf("own lists: %d classes, threshold %v; librlcc's: %d, %v", given.Classes,
			given.Threshold, own.Classes, own.Threshold)
	}
	// nil is librlcc's own lists
	if got := must(PseudoLabelsKNN(x, callerN, callerD, nil, o)); !sameLabels(got.Labels, own.Labels) {
		t.Fatal("nil lists")
	}
	// the lists of a block kNN over two "machines" are the same lists
	a, _ := NewKNNState(callerN, 0, callerD, callerK1, nil)
	b, _ := NewKNNState(callerN, 0, callerD, callerK1, nil)
	defer a.Close()
	defer b.Close()
	if err := a.Update(x, x[:70*callerD], 70, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Update(x, x[70*callerD:], callerN-70, 70); err != nil {
		t.Fatal(err)
	}
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	blocks, _, err := a.Finish()
	if err != nil || !sameInts(blocks, lists) {
		t.Fatalf("block kNN: %v", err)
	}
	if got := must(PseudoLabelsKNN(x, callerN, callerD, blocks, o)); !sameLabels(got.Labels, own.Labels) {
		t.Fatal("block kNN lists")
	}
	// the lists are read during the call only: changing them afterwards changes nothing
	for e := range blocks {
		blocks[e] = -1
	}
	if again := must(PseudoLabels(x, callerN, callerD, o)); !sameLabels(again.Labels, own.Labels) {
		t.Fatal("labels after the lists changed")
	}
}

func TestPseudoLabelsKNNOtherListsOtherLabels(t *testing.T) {
	x := callerRows(0)
	o := callerOptions()
	own := must(PseudoLabels(x, callerN, callerD, o))
	other := must(PseudoLabelsKNN(x, callerN, callerD, shiftedLists(callerLists(t, x)), o))
	if sameLabels(other.Labels, own.Labels) {
		t.Fatal("shifted lists gave librlcc's labels: the lists were not read")
	}
}

func TestPseudoLabelsKNNRefusals(t *testing.T) {
	x := callerRows(0)
	lists := callerLists(t, x)
	o := callerOptions()
	try := func(knn []int64, options *PseudoOptions, text string) {
		t.Helper()
		got, err := PseudoLabelsKNN(x, callerN, callerD, knn, options)
		if got != nil {
			t.Fatalf("%q: a result with the error", text)
		}
		refusedWith(t, err, text)
	}
	// the library's checks of the entries
	bad := append([]int64(nil), lists...)
	bad[5*callerK1+3] = callerN
	try(bad, o, "knn: entry 3 of row 5 is 160, outside [0, 160)")
	bad[5*callerK1+3] = -1
	try(bad, o, "knn: entry 3 of row 5 is -1")
	twice := append([]int64(nil), lists...)
	twice[callerK1+1] = twice[callerK1]
	try(twice, o, "knn: row 1 lists 1 twice") // row 1 lists itself first
	// lengths: refused in Go, before C could read past the slice
	try(lists[:len(lists)-1], o, "knn: length 3199 is not 160 x 20")
	try(append(append([]int64(nil), lists...), 0), o, "knn: length 3201 is not 160 x 20")
	try([]int64{}, o, "knn: length 0 is not 160 x 20")
	wider := *o
	wider.K1 = callerK1 + 1
	try(lists, &wider, "knn: length 3200 is not 160 x 21")
	try(lists, nil, "knn: length 3200 is not 160 x 30") // nil options: the default K1
	negative := *o
	negative.K1 = -1
	try([]int64{}, &negative, "knn: negative shape 160 x -1")
	zero := *o
	zero.K1 = 0
	try([]int64{}, &zero, "k1: 0") // lists given, none to read: the library's own check
	// lists with another metric: the library's message
	for _, metric := range []Metric{MetricEuclidean, MetricCosine} {
		plain := *o
		plain.Metric = metric
		try(lists, &plain, "knn: only the Jaccard metric reads kNN lists")
		if _, err := PseudoLabelsKNN(x, callerN, callerD, nil, &plain); err != nil {
			t.Fatalf("no lists with metric %d: %v", metric, err)
		}
		plain.K1 = 0
		try([]int64{}, &plain, "knn: only the Jaccard metric") // empty lists are still lists
	}
	// x is checked first
	_, err := PseudoLabelsKNN(x[1:], callerN, callerD, lists, o)
	refusedWith(t, err, "x: length 1919 is not 160 x 12")
	// and good lists still work after all of that
	own := must(PseudoLabels(x, callerN, callerD, o))
	if got := must(PseudoLabelsKNN(x, callerN, callerD, lists, o)); !sameLabels(got.Labels, own.Labels) {
		t.Fatal("lists after refusals")
	}
}

func newCallerRefiner(t *testing.T, o *PseudoOptions) *Refiner {
	t.Helper()
	r, err := NewRefiner(callerN, callerD, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func mustStep(t *testing.T, r *Refiner, x []float32) []int32 {
	t.Helper()
	if err := r.Step(callerFill(x), 50, nil, nil); err != nil {
		t.Fatal(err)
	}
	labels, err := r.Labels()
	if err != nil {
		t.Fatal(err)
	}
	return labels
}

func TestRefinerSetKNNGivesTheLabelsWithout(t *testing.T) {
	x0, x1 := callerRows(0), callerRows(1)
	own, given := newCallerRefiner(t, callerOptions()), newCallerRefiner(t, callerOptions())
	// generation 0 on lists, generation 1 on lists, generation 2 on its own again
	if err := given.SetKNN(callerLists(t, x0)); err != nil {
		t.Fatal(err)
	}
	if !sameLabels(mustStep(t, given, x0), mustStep(t, own, x0)) {
		t.Fatal("generation 0")
	}
	lists1 := callerLists(t, x1)
	if err := given.SetKNN(lists1); err != nil {
		t.Fatal(err)
	}
	for e := range lists1 { // copied: the caller may reuse its buffer at once
		lists1[e] = -1
	}
	if !sameLabels(mustStep(t, given, x1), mustStep(t, own, x1)) || given.Classes() != own.Classes() {
		t.Fatal("generation 1")
	}
	tg, _ := given.Targets(nil)
	to, _ := own.Targets(nil)
	if !sameBits(tg, to) {
		t.Fatal("targets differ")
	}
	if !sameLabels(mustStep(t, given, x0), mustStep(t, own, x0)) || given.Generation() != 3 {
		t.Fatal("generation 2, on its own lists")
	}
}

func TestRefinerSetKNNListsAreRead(t *testing.T) {
	x0, x1 := callerRows(0), callerRows(1)
	own, given := newCallerRefiner(t, callerOptions()), newCallerRefiner(t, callerOptions())
	mustStep(t, own, x0)
	mustStep(t, given, x0)
	shifted := shiftedLists(callerLists(t, x1))
	if err := given.SetKNN(shifted); err != nil {
		t.Fatal(err)
	}
	if sameLabels(mustStep(t, given, x1), mustStep(t, own, x1)) {
		t.Fatal("shifted lists gave librlcc's labels: the lists were not read")
	}
	// set, then dropped with nil: the step computes its own
	if err := given.SetKNN(shifted); err != nil {
		t.Fatal(err)
	}
	if err := given.SetKNN(nil); err != nil {
		t.Fatal(err)
	}
	if !sameLabels(mustStep(t, given, x0), mustStep(t, own, x0)) {
		t.Fatal("after SetKNN(nil)")
	}
	// set twice: the last lists count
	if err := given.SetKNN(shifted); err != nil {
		t.Fatal(err)
	}
	if err := given.SetKNN(callerLists(t, x1)); err != nil {
		t.Fatal(err)
	}
	if !sameLabels(mustStep(t, given, x1), mustStep(t, own, x1)) {
		t.Fatal("the lists set last")
	}
}

func TestRefinerSetKNNBadListFailsTheStep(t *testing.T) {
	x0, x1 := callerRows(0), callerRows(1)
	lists1 := callerLists(t, x1)
	own, given := newCallerRefiner(t, callerOptions()), newCallerRefiner(t, callerOptions())
	mustStep(t, own, x0)
	mustStep(t, given, x0)
	labels, _ := given.Labels()
	centroids, _ := given.Centroids()
	targets, _ := given.Targets(nil)
	unchanged := func() {
		t.Helper()
		l, _ := given.Labels()
		c, _ := given.Centroids()
		g, _ := given.Targets(nil)
		if given.Generation() != 1 || !sameLabels(l, labels) || !sameBits(c, centroids) || !sameBits(g, targets) {
			t.Fatal("a failed step changed the refiner")
		}
	}
	twice := append([]int64(nil), lists1...)
	twice[callerK1+1] = twice[callerK1] // row 1 lists a row twice
	if err := given.SetKNN(twice); err != nil {
		t.Fatal(err) // copied; checked by the step
	}
	refusedWith(t, given.Step(callerFill(x1), 50, nil, nil), "knn: row 1 lists")
	unchanged()
	// a failed step keeps its lists: the next one fails again until they are replaced
	refusedWith(t, given.Step(callerFill(x1), 50, nil, nil), "knn: row 1 lists")
	outside := append([]int64(nil), lists1...)
	outside[7*callerK1] = callerN
	if err := given.SetKNN(outside); err != nil {
		t.Fatal(err)
	}
	refusedWith(t, given.Step(callerFill(x1), 50, nil, nil), "knn: entry 0 of row 7 is 160, outside [0, 160)")
	unchanged()
	// so does a cancelled one
	err := given.Step(callerFill(x1), 50, nil, func(stage Stage, fraction float64) bool { return true })
	if !errors.Is(err, ErrCanceled) {
		t.Fatalf("cancel: %v", err)
	}
	refusedWith(t, given.Step(callerFill(x1), 50, nil, nil), "knn: entry 0 of row 7")
	// lengths: refused in Go; the lists set before stay
	refusedWith(t, given.SetKNN(lists1[:len(lists1)-1]), "knn: length 3199 is not 160 x 20")
	refusedWith(t, given.SetKNN([]int64{}), "knn: length 0 is not 160 x 20")
	refusedWith(t, given.Step(callerFill(x1), 50, nil, nil), "knn: entry 0 of row 7")
	unchanged()
	if err := given.SetKNN(lists1); err != nil {
		t.Fatal(err)
	}
	if !sameLabels(mustStep(t, given, x1), mustStep(t, own, x1)) || given.Generation() != 2 {
		t.Fatal("the good lists after the bad")
	}
}

func TestRefinerSetKNNRefusals(t *testing.T) {
	x := callerRows(0)
	lists := callerLists(t, x)
	// a metric other than Jaccard: the library's message, at once
	for _, metric := range []Metric{MetricCosine, MetricEuclidean} {
		o := callerOptions()
		o.Metric = metric
		r := newCallerRefiner(t, o)
		refusedWith(t, r.SetKNN(lists), "knn: only the Jaccard metric reads kNN lists")
		if err := r.SetKNN(nil); err != nil {
			t.Fatal(err) // dropping nothing is fine
		}
		mustStep(t, r, x)
	}
	// the width is the refiner's K1 (the default 30 with nil options)
	o := callerOptions()
	o.K1 = 25
	r := newCallerRefiner(t, o)
	refusedWith(t, r.SetKNN(lists), "knn: length 3200 is not 160 x 25")
	wide, _, _ := KNN(x, callerN, callerD, 25, 0)
	if err := r.SetKNN(wide); err != nil {
		t.Fatal(err)
	}
	mustStep(t, r, x)
	refusedWith(t, newCallerRefiner(t, nil).SetKNN(lists), "knn: length 3200 is not 160 x 30")
	// a K1 below 1 would make the library copy a wrapped size: since 1.4 the
	// library refuses it at construction for Jaccard; for another metric
	// (where K1 means nothing) Go refuses the lists before the cgo call
	for _, k1 := range []int{0, -1} {
		o := callerOptions()
		o.K1 = k1
		_, err := NewRefiner(callerN, callerD, o, nil)
		refusedWith(t, err, fmt.Sprintf("k1: %d must be in [1, n = 160]", k1))
		o.Metric = MetricCosine
		r := newCallerRefiner(t, o)
		refusedWith(t, r.SetKNN([]int64{}), fmt.Sprintf("knn: the refiner's K1 is %d; lists need K1 >= 1", k1))
		if err := r.SetKNN(nil); err != nil {
			t.Fatal(err)
		}
	}
	// from inside the refiner's own step: in use, and the step goes on
	r = newCallerRefiner(t, callerOptions())
	var inside error
	if err := r.Step(func(start, count int, dst []float32, ld int) error {
		inside = r.SetKNN(lists)
		copyRows(dst, ld, x, start, count, callerD)
		return nil
	}, 50, nil, nil); err != nil {
		t.Fatal(err)
	}
	refusedWith(t, inside, "refiner: in use")
	// closed
	r.Close()
	refusedWith(t, r.SetKNN(lists), "refiner: closed")
	refusedWith(t, r.SetKNN(nil), "refiner: closed")
}

// SetKNN from other goroutines while steps run: each call is taken or
// refused as in use, never a race (go test -race), and a step takes either
// no lists or whole ones: here every list set is librlcc's own, so every
// step gives librlcc's labels.
func TestRefinerSetKNNConcurrentWithSteps(t *testing.T) {
	x := callerRows(0)
	lists := callerLists(t, x)
	want := must(PseudoLabels(x, callerN, callerD, callerOptions())).Labels
	r := newCallerRefiner(t, callerOptions())
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var mu sync.Mutex
	taken, inUse := 0, 0
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				if g == 0 {
					err = r.SetKNN(nil)
				} else {
					err = r.SetKNN(lists)
				}
				mu.Lock()
				if err == nil {
					taken++
				} else if strings.Contains(err.Error(), "in use") {
					inUse++
				} else {
					mu.Unlock()
					t.Errorf("SetKNN: %v", err)
					return
				}
				mu.Unlock()
				runtime.Gosched()
			}
		}(g)
	}
	// SetKNN claims the refiner while it copies, so a Step or Labels that
	// meets it is refused as in use too, changing nothing: retried here
	// (and Generation answers -1 then, as during a step)
	inUseAgain := func(err error) bool { return err != nil && strings.Contains(err.Error(), "in use") }
	for step := 0; step < 6; step++ {
		err := r.Step(callerFill(x), 50, nil, nil)
		for inUseAgain(err) {
			err = r.Step(callerFill(x), 50, nil, nil)
		}
		if err != nil {
			t.Error(err)
			break
		}
		labels, err := r.Labels()
		for inUseAgain(err) {
			labels, err = r.Labels()
		}
		// generation 0 computes the threshold the next ones keep: the same
		// rows give the same labels each time
		if err != nil || !sameLabels(labels, want) {
			t.Errorf("step %d: labels differ (%v)", step, err)
		}
	}
	close(stop)
	wg.Wait()
	if taken == 0 {
		t.Fatal("no SetKNN was taken")
	}
	t.Logf("SetKNN taken %d times, refused as in use %d times", taken, inUse)
}
