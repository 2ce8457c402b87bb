package rlcc

import (
	stdbytes "bytes"
	"encoding/gob"
	"math"
	"math/rand"
	"sync"
	"testing"
)

// librlcc 1.8 through the package: random blockings composed by Update,
// UpdatePair and states through bytes give KNN's bits; plans over a
// blocking, their weights concatenated and JaccardRows per block
// concatenated give Jaccard's bits, and PseudoLabelsGraph on them gives
// PseudoLabels' labels, class count and threshold; the refusals carry
// ErrInvalidArgument and leave the states unchanged.

// blockRows are n x d rows: uniform, a small integer grid (ties),
// duplicated rows, or a grid under a large common offset.
func blockRows(rng *rand.Rand, kind, n, d int) []float32 {
	x := make([]float32, n*d)
	for i := range x {
		switch kind {
		case 1:
			x[i] = float32(rng.Intn(5) - 2)
		case 3:
			x[i] = 1000 + 0.5*float32(rng.Intn(5)-2)
		default:
			x[i] = rng.Float32()*2 - 1
		}
	}
	if kind == 2 {
		for i := 1; i < n; i += 2 {
			copy(x[i*d:(i+1)*d], x[(i-1)*d:i*d])
		}
	}
	return x
}

func unitBlockRows(rng *rand.Rand, n, d int, duplicated bool) []float32 {
	kind := 0
	if duplicated {
		kind = 2
	}
	x := blockRows(rng, kind, n, d)
	for i := 0; i < n; i++ {
		var norm float64
		for _, v := range x[i*d : (i+1)*d] {
			norm += float64(v) * float64(v)
		}
		norm = math.Max(math.Sqrt(norm), 1e-6)
		for j := i * d; j < (i+1)*d; j++ {
			x[j] = float32(float64(x[j]) / norm)
		}
	}
	return x
}

// blocking cuts [0, n) into least .. least+spread-1 consecutive blocks, some empty.
func blocking(rng *rand.Rand, n, least, spread int) []block {
	points := []int{0, n}
	for i := least + rng.Intn(spread) - 1; i > 0; i-- {
		points = append(points, rng.Intn(n+1))
	}
	for i := 1; i < len(points); i++ {
		for j := i; j > 0 && points[j] < points[j-1]; j-- {
			points[j], points[j-1] = points[j-1], points[j]
		}
	}
	out := make([]block, 0, len(points)-1)
	for i := 1; i < len(points); i++ {
		out = append(out, block{points[i-1], points[i]})
	}
	return out
}

func TestBlockPairUpdatesAndStatesThroughBytesComposeToKNN(t *testing.T) {
	rng := rand.New(rand.NewSource(18))
	cases := 0
	for kind := 0; kind < 4; kind++ {
		for trial := 0; trial < 6; trial++ {
			n, d, k := 40+13*trial, 1+5*trial, 1+(trial*7)%20
			x := blockRows(rng, kind, n, d)
			want, wantSq := must2(KNN(x, n, d, k, 0))
			cut := blocking(rng, n, 2, 5)
			options := &KNNOptions{Threads: 1 + trial%3}
			rowsOf := func(b int) []float32 { return x[cut[b].lo*d : cut[b].hi*d] }
			states := make([]*KNNState, len(cut))
			for b, c := range cut {
				states[b] = must(NewKNNState(c.hi-c.lo, c.lo, d, k, options))
				if err := states[b].Update(rowsOf(b), rowsOf(b), c.hi-c.lo, c.lo); err != nil {
					t.Fatal(err)
				}
			}
			// every pair of blocks once, in a random order and orientation
			var pairs [][2]int
			for a := range cut {
				for b := a + 1; b < len(cut); b++ {
					if rng.Intn(2) == 0 {
						pairs = append(pairs, [2]int{a, b})
					} else {
						pairs = append(pairs, [2]int{b, a})
					}
				}
			}
			rng.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
			for _, p := range pairs {
				if err := states[p[0]].UpdatePair(rowsOf(p[0]), states[p[1]], rowsOf(p[1])); err != nil {
					t.Fatal(err)
				}
			}
			var got []int64
			var gotSq []float32
			for b, c := range cut {
				fin := states[b]
				switch {
				case b%2 == 1: // through bytes (to another process, say), into a fresh state
					state := must(fin.Save())
					loaded := must(LoadKNNState(state, options))
					if again := must(loaded.Save()); !stdbytes.Equal(again, state) {
						t.Fatalf("kind %d trial %d: the loaded state saves other bytes", kind, trial)
					}
					if loaded.NQueries() != c.hi-c.lo || loaded.QueryOffset() != c.lo || loaded.D() != d || loaded.K() != k {
						t.Fatalf("loaded shape %d %d %d %d", loaded.NQueries(), loaded.QueryOffset(), loaded.D(), loaded.K())
					}
					fresh := must(NewKNNState(c.hi-c.lo, c.lo, d, k, nil))
					if err := fresh.Merge(loaded); err != nil {
						t.Fatal(err)
					}
					loaded.Close()
					fin.Close()
					fin = fresh
				case rng.Intn(3) == 0: // through MarshalBinary / UnmarshalBinary
					state := must(fin.MarshalBinary())
					twin := new(KNNState)
					if err := twin.UnmarshalBinary(state); err != nil {
						t.Fatal(err)
					}
					fin.Close()
					fin = twin
				}
				if c.hi > c.lo {
					i, s := must2(fin.Finish())
					got, gotSq = append(got, i...), append(gotSq, s...)
				}
				fin.Close()
				cases++
			}
			if !sameInts(got, want) || !sameBits(gotSq, wantSq) {
				t.Fatalf("kind %d trial %d blocks %v: the composed lists differ from KNN", kind, trial, cut)
			}
		}
	}
	if cases < 50 {
		t.Fatalf("%d cases", cases)
	}
}

// The other block lives in another goroutine: it sends its state as bytes.
func TestBlockStatesTravelAsBytesAndThroughGob(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	n, d, k := 50, 4, 5
	x := blockRows(rng, 0, n, d)
	want, _ := must2(KNN(x, n, d, k, 0))
	a := must(NewKNNState(20, 0, d, k, nil))
	defer a.Close()
	if err := a.Update(x[:20*d], x[:20*d], 20, 0); err != nil {
		t.Fatal(err)
	}
	var wire stdbytes.Buffer
	var bLists []int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		b := must(NewKNNState(30, 20, d, k, nil))
		defer b.Close()
		peer := must(NewKNNState(20, 0, d, k, nil))
		defer peer.Close()
		if err := b.Update(x[20*d:], x[20*d:], 30, 20); err != nil {
			panic(err)
		}
		if err := b.UpdatePair(x[20*d:], peer, x[:20*d]); err != nil {
			panic(err)
		}
		if err := gob.NewEncoder(&wire).Encode(peer); err != nil {
			panic(err)
		}
		bLists, _ = must2(b.Finish())
	}()
	wg.Wait()
	var arrived KNNState
	if err := gob.NewDecoder(&wire).Decode(&arrived); err != nil {
		t.Fatal(err)
	}
	defer arrived.Close()
	if err := a.Merge(&arrived); err != nil {
		t.Fatal(err)
	}
	got, _ := must2(a.Finish())
	if !sameInts(got, want[:20*k]) || !sameInts(bLists, want[20*k:]) {
		t.Fatal("lists through gob differ from KNN")
	}
	// a made state is not replaced
	mustCode(t, a.UnmarshalBinary(must(a.Save())), ErrInvalidArgument, "zero KNNState only")
}

func TestBlockPairRefusalsLeaveBothStatesUnchanged(t *testing.T) {
	rng := rand.New(rand.NewSource(4242))
	d, k := 3, 2
	x := blockRows(rng, 0, 12, d)
	a := must(NewKNNState(6, 0, d, k, nil))
	b := must(NewKNNState(6, 6, d, 3, nil))
	wide := must(NewKNNState(6, 6, d+1, k, nil))
	over := must(NewKNNState(6, 3, d, k, nil))
	for _, s := range []*KNNState{a, b, wide, over} {
		defer s.Close()
	}
	if err := a.Update(x[:6*d], x[:6*d], 6, 0); err != nil {
		t.Fatal(err)
	}
	beforeA, beforeB := must(a.Save()), must(b.Save())
	bad := append([]float32(nil), x[6*d:]...)
	bad[7] = float32(math.Inf(1))
	mustCode(t, a.UpdatePair(x[:6*d], a, x[:6*d]), ErrInvalidArgument, "same state")
	mustCode(t, a.UpdatePair(x[:6*d], over, x[3*d:9*d]), ErrInvalidArgument, "overlap")
	mustCode(t, a.UpdatePair(x[:6*d], wide, make([]float32, 6*(d+1))), ErrInvalidArgument, "width d = 4")
	mustCode(t, a.UpdatePair(x[:6*d], b, bad), ErrInvalidArgument, "rows_b: row 2 has")
	mustCode(t, a.UpdatePair(x[:5*d], b, x[6*d:]), ErrInvalidArgument, "rows: length 15 is not 6 x 3")
	mustCode(t, a.UpdatePair(x[:6*d], b, x[7*d:]), ErrInvalidArgument, "otherRows: length 15 is not 6 x 3")
	mustCode(t, a.UpdatePair(x[:6*d], nil, x[6*d:]), ErrInvalidArgument, "other: nil")
	small := must(NewKNNState(6, 0, d, k, &KNNOptions{MaxBytes: 900}))
	defer small.Close()
	mustCode(t, small.UpdatePair(x[:6*d], b, x[6*d:]), ErrMemoryLimit, "")
	if !stdbytes.Equal(must(a.Save()), beforeA) || !stdbytes.Equal(must(b.Save()), beforeB) {
		t.Fatal("a refused pair changed a state")
	}
	// a closed partner and one in use are refused, never waited for
	over.Close()
	mustCode(t, a.UpdatePair(x[:6*d], over, x[3*d:9*d]), ErrInvalidArgument, "other: closed")
	b.mu.Lock()
	mustCode(t, a.UpdatePair(x[:6*d], b, x[6*d:]), ErrInvalidArgument, "other: in use by another call")
	b.mu.Unlock()
	// then it works, and b's k = 3 is its own
	if err := a.UpdatePair(x[:6*d], b, x[6*d:]); err != nil {
		t.Fatal(err)
	}
	if lists, _ := must2(b.Finish()); len(lists) != 18 {
		t.Fatalf("%d entries", len(lists))
	}
}

func TestBlockDamagedBytesAreRefused(t *testing.T) {
	rng := rand.New(rand.NewSource(99))
	n, d, k := 9, 2, 3
	x := blockRows(rng, 0, n, d)
	s := must(NewKNNState(n, 0, d, k, nil))
	defer s.Close()
	if err := s.Update(x, x, n, 0); err != nil {
		t.Fatal(err)
	}
	state := must(s.Save())
	for at := range state {
		state[at] ^= 0x10
		if _, err := LoadKNNState(state, nil); err == nil {
			t.Fatalf("byte %d flipped: accepted", at)
		} else {
			mustCode(t, err, ErrInvalidArgument, "")
		}
		state[at] ^= 0x10
	}
	for cut := 0; cut < len(state); cut++ {
		if _, err := LoadKNNState(state[:cut], nil); err == nil {
			t.Fatalf("%d bytes: accepted", cut)
		} else {
			mustCode(t, err, ErrInvalidArgument, "")
		}
	}
	_, err := LoadKNNState([]byte("not a state at all"), nil)
	mustCode(t, err, ErrInvalidArgument, "")
	twin := new(KNNState)
	mustCode(t, twin.UnmarshalBinary(state[:40]), ErrInvalidArgument, "")
	if twin.handle != nil || twin.d != 0 {
		t.Fatal("a refused UnmarshalBinary changed the state")
	}
	_, err = LoadKNNState(state, &KNNOptions{MaxBytes: 64})
	mustCode(t, err, ErrMemoryLimit, "")
	must(LoadKNNState(state, nil)).Close()
	s.Close()
	_, err = s.Save()
	mustCode(t, err, ErrInvalidArgument, "state: closed")
}

func TestBlockJaccardComposesToJaccardAndLabelsAsPseudoLabels(t *testing.T) {
	rng := rand.New(rand.NewSource(300))
	for trial := 0; trial < 16; trial++ {
		n, d := 40+11*trial, 3+trial%7
		x := unitBlockRows(rng, n, d, trial%4 == 3)
		scaled := trial%3 == 2 // not unit: the squared-Euclidean variant or normalize
		if scaled {
			for e := range x {
				x[e] *= 1 + float32(e%5)
			}
		}
		o := DefaultJaccardOptions()
		o.K1, o.K2, o.Threads = 4+trial%9, 1+trial%4, 1+trial%3
		o.Cutoff = 1
		if trial%2 == 1 {
			o.Cutoff = 0.9
		}
		if scaled && trial%2 == 1 {
			o.Variant = JaccardSqEuclidean
		}
		o.Normalize = scaled && trial%2 == 0
		knn, _ := must2(KNN(x, n, d, o.K1, 0))
		whole := must(Jaccard(x, n, d, knn, &o))
		want := whole.Copy()
		whole.Close()
		cut := blocking(rng, n, 1, 5)
		var weights []CSRMatrix
		for b, c := range cut {
			plan := must(NewJaccardPlan(knn, n, c.lo, c.hi, d, &o))
			offers := rng.Perm(len(cut))
			offers = append(offers, rng.Intn(len(cut))) // one block twice
			for _, f := range offers {
				if err := plan.Offer(x[c.lo*d:c.hi*d], x[cut[f].lo*d:cut[f].hi*d], cut[f].hi-cut[f].lo, cut[f].lo); err != nil {
					t.Fatalf("trial %d block %d offer %d: %v", trial, b, f, err)
				}
			}
			w := must(plan.Weights())
			m := w.Copy()
			w.Close()
			plan.Close()
			if m.Rows != c.hi-c.lo || m.Cols != n {
				t.Fatalf("weights %d x %d", m.Rows, m.Cols)
			}
			weights = append(weights, m)
		}
		v := must(ConcatRows(weights...))
		// the Jaccard rows on another blocking than the plans'
		var parts []CSRMatrix
		for _, c := range blocking(rng, n, 1, 4) {
			part := must(JaccardRows(v, knn, c.lo, c.hi, &o))
			parts = append(parts, part.Copy())
			part.Close()
		}
		graph := must(ConcatRows(parts...))
		if graph.Rows != n || graph.Cols != n || !sameInts(graph.Indptr, want.Indptr) ||
			len(graph.Indices) != len(want.Indices) || !sameBits(graph.Data, want.Data) {
			t.Fatalf("trial %d: the composed Jaccard rows differ from Jaccard", trial)
		}
		for e := range graph.Indices {
			if graph.Indices[e] != want.Indices[e] {
				t.Fatalf("trial %d: column %d differs", trial, e)
			}
		}
		p := DefaultPseudoOptions()
		p.K1, p.K2, p.Variant, p.Normalize, p.Cutoff = o.K1, o.K2, o.Variant, o.Normalize, o.Cutoff
		p.Eps, p.MinSamples, p.Reliability = []float64{0.3, 0.5, 0.7}, 2+trial%3, trial%5 != 4
		wantLabels := must(PseudoLabelsKNN(x, n, d, knn, &p))
		got := must(PseudoLabelsGraph(graph, &p))
		if got.Classes != wantLabels.Classes || math.Float64bits(got.Threshold) != math.Float64bits(wantLabels.Threshold) {
			t.Fatalf("trial %d: %d classes, threshold %v; PseudoLabels %d, %v", trial, got.Classes, got.Threshold,
				wantLabels.Classes, wantLabels.Threshold)
		}
		for i := range got.Labels {
			if got.Labels[i] != wantLabels.Labels[i] {
				t.Fatalf("trial %d: label %d is %d, PseudoLabels %d", trial, i, got.Labels[i], wantLabels.Labels[i])
			}
		}
	}
}

func TestBlockJaccardRefusals(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	n, d := 30, 4
	x := unitBlockRows(rng, n, d, false)
	o := DefaultJaccardOptions()
	o.K1, o.K2 = 5, 2
	knn, _ := must2(KNN(x, n, d, 5, 0))
	_, err := NewJaccardPlan(knn, n, 10, 40, d, &o)
	mustCode(t, err, ErrInvalidArgument, "rows: [10, 40)")
	_, err = NewJaccardPlan(knn, n, 0, 10, 0, &o)
	mustCode(t, err, ErrInvalidArgument, "d: 0")
	_, err = NewJaccardPlan(knn[1:], n, 0, 10, d, &o)
	mustCode(t, err, ErrInvalidArgument, "knn: length 149 is not 30 x 5")
	_, err = NewJaccardPlan(nil, n, 0, 10, d, &o)
	mustCode(t, err, ErrInvalidArgument, "knn: nil")
	bad := append([]int64(nil), knn...)
	bad[7] = 99
	_, err = NewJaccardPlan(bad, n, 0, 10, d, &o)
	mustCode(t, err, ErrInvalidArgument, "outside [0, 30)")
	plan := must(NewJaccardPlan(knn, n, 0, 10, d, &o))
	if r0, r1 := plan.Rows(); plan.N() != n || plan.D() != d || r0 != 0 || r1 != 10 {
		t.Fatal("plan shape")
	}
	// nothing offered yet, then only the plan's own rows: the missing pair is named
	_, err = plan.Weights()
	mustCode(t, err, ErrInvalidArgument, "needs its distance to row")
	if err := plan.Offer(x[:10*d], x[:10*d], 10, 0); err != nil {
		t.Fatal(err)
	}
	_, err = plan.Weights()
	mustCode(t, err, ErrInvalidArgument, "needs its distance to row")
	scaled := make([]float32, 20*d)
	for e := range scaled {
		scaled[e] = 2 * x[10*d+e]
	}
	mustCode(t, plan.Offer(x[:10*d], scaled, 20, 10), ErrInvalidArgument, "refs: row 0 has norm 2")
	mustCode(t, plan.Offer(x[:10*d], x[10*d:], 20, 11), ErrInvalidArgument, "ref_offset: 11")
	mustCode(t, plan.Offer(x[:9*d], x[10*d:], 20, 10), ErrInvalidArgument, "rows: length 36 is not 10 x 4")
	plan.mu.Lock()
	mustCode(t, plan.Offer(x[:10*d], x[10*d:], 20, 10), ErrInvalidArgument, "plan: in use by another call")
	plan.mu.Unlock()
	if err := plan.Offer(x[:10*d], x[10*d:], 20, 10); err != nil {
		t.Fatal(err)
	}
	w := must(plan.Weights())
	defer w.Close()
	if w.Matrix().Rows != 10 {
		t.Fatal("weights rows")
	}
	plan.Close()
	plan.Close()
	mustCode(t, plan.Offer(x[:10*d], x[10*d:], 20, 10), ErrInvalidArgument, "plan: closed")
	_, err = plan.Weights()
	mustCode(t, err, ErrInvalidArgument, "plan: closed")
	// rows: the weights must be n x n; then the library's checks of them
	_, err = JaccardRows(w.Matrix(), knn, 0, 10, &o)
	mustCode(t, err, ErrInvalidArgument, "expected a square matrix")
	empty := CSRMatrix{Rows: n, Cols: n, Indptr: make([]int64, n+1)}
	_, err = JaccardRows(empty, knn[:100], 0, 10, &o)
	mustCode(t, err, ErrInvalidArgument, "knn: length 100")
	above := CSRMatrix{Rows: n, Cols: n, Indptr: make([]int64, n+1), Indices: []int32{0}, Data: []float32{2}}
	for i := 1; i <= n; i++ {
		above.Indptr[i] = 1
	}
	_, err = JaccardRows(above, knn, 0, 10, &o)
	mustCode(t, err, ErrInvalidArgument, "weights lie in [0, 1]")
	// the graph labeller: square graphs, DBSCAN only
	p := KMeansPseudoOptions(5)
	_, err = PseudoLabelsGraph(empty, &p)
	mustCode(t, err, ErrInvalidArgument, "labelled by DBSCAN")
	_, err = PseudoLabelsGraph(w.Matrix(), nil)
	mustCode(t, err, ErrInvalidArgument, "expected a square matrix")
	_, err = ConcatRows(w.Matrix(), CSRMatrix{Cols: 3, Indptr: []int64{0}})
	mustCode(t, err, ErrInvalidArgument, "parts: part 1 has 3 columns, part 0 has 30")
	if m := must(ConcatRows()); m.Rows != 0 || m.Cols != 0 || len(m.Indptr) != 1 {
		t.Fatal("no parts")
	}
}
