package rlcc

import (
	"errors"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// tieRows gives n x d rows full of near-ties: a small integer grid,
// duplicated rows, rows one ulp apart, or a grid under a large common offset.
func tieRows(rng *rand.Rand, n, d int) []float32 {
	grid := func() float32 { return float32(rng.Intn(5) - 2) }
	kind := rng.Intn(4)
	bases := make([]float32, 4*d)
	for i := range bases {
		bases[i] = grid()
	}
	x := make([]float32, 0, n*d)
	for i := 0; i < n; i++ {
		base := rng.Intn(4)
		for c := 0; c < d; c++ {
			switch kind {
			case 0:
				x = append(x, grid())
			case 1:
				x = append(x, bases[base*d+c])
			case 2:
				v := bases[base*d+c] + 0.25
				if rng.Intn(2) == 0 {
					v = math.Float32frombits(math.Float32bits(v) + 1)
				}
				x = append(x, v)
			default:
				x = append(x, 1000+0.5*grid())
			}
		}
	}
	return x
}

type block struct{ lo, hi int }

// cuts cuts [lo, hi) into at most parts consecutive blocks, some empty.
func cuts(rng *rand.Rand, lo, hi, parts int) []block {
	points := []int{lo, hi}
	for i := rng.Intn(parts); i > 0; i-- {
		points = append(points, lo+rng.Intn(hi-lo+1))
	}
	for i := 1; i < len(points); i++ { // insertion sort: a handful of points
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

// blockKNN is the kNN of x through states: random query blocks, each with
// one to three states offered random reference blocks in a random order
// (the query block itself among them half the time: the triangle), with
// merges of two live states and finishes in between. again: some blocks
// are offered a second time to a state that may hold them already.
func blockKNN(t *testing.T, rng *rand.Rand, x []float32, n, d, k int, options *KNNOptions, again bool) ([]int64, []float32) {
	t.Helper()
	var indices []int64
	var sqdist []float32
	for _, q := range cuts(rng, 0, n, 4) {
		queries := x[q.lo*d : q.hi*d]
		nStates := 1 + rng.Intn(3)
		states := make([]*KNNState, nStates)
		for i := range states {
			states[i] = must(NewKNNState(q.hi-q.lo, q.lo, d, k, options))
		}
		var blocks []block
		if rng.Intn(2) == 0 {
			blocks = cuts(rng, 0, n, 5)
		} else { // the query block is one of the reference blocks: the same slice
			blocks = append(cuts(rng, 0, q.lo, 3), q)
			blocks = append(blocks, cuts(rng, q.hi, n, 3)...)
		}
		type event struct {
			state int
			refs  block
			merge bool
		}
		var events []event
		for _, b := range blocks {
			events = append(events, event{state: rng.Intn(nStates), refs: b})
		}
		if again {
			blocks = append(blocks, q)
			for i := 0; i < 2; i++ {
				events = append(events, event{state: rng.Intn(nStates), refs: blocks[rng.Intn(len(blocks))]})
			}
		}
		for i := 1; i < nStates; i++ {
			events = append(events, event{merge: true})
		}
		rng.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
		owner := make([]int, nStates) // a merged state passes its later offers on
		for i := range owner {
			owner[i] = i
		}
		find := func(s int) int {
			for owner[s] != s {
				s = owner[s]
			}
			return s
		}
		for _, e := range events {
			if e.merge {
				var live []int
				for i, s := range states {
					if s != nil {
						live = append(live, i)
					}
				}
				a, b := live[rng.Intn(len(live))], live[rng.Intn(len(live))]
				if a != b {
					if err := states[a].Merge(states[b]); err != nil {
						t.Fatal(err)
					}
					states[b].Close()
					states[b], owner[b] = nil, a
				}
				continue
			}
			s := states[find(e.state)]
			if err := s.Update(queries, x[e.refs.lo*d:e.refs.hi*d], e.refs.hi-e.refs.lo, e.refs.lo); err != nil {
				t.Fatal(err)
			}
			if rng.Intn(8) == 0 {
				s.Finish() // may lack neighbours yet; changes nothing
			}
		}
		var last *KNNState
		for _, s := range states {
			if s == nil {
				continue
			}
			if last == nil {
				last = s
				continue
			}
			if err := last.Merge(s); err != nil {
				t.Fatal(err)
			}
			s.Close()
		}
		i, s, err := last.Finish()
		if err != nil {
			t.Fatal(err)
		}
		last.Close()
		indices, sqdist = append(indices, i...), append(sqdist, s...)
	}
	return indices, sqdist
}

func sameBits(got, want []float32) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			return false
		}
	}
	return true
}

func sameInts(got, want []int64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func randomBlockCases(t *testing.T, seed int64, cases int, again bool) {
	rng := rand.New(rand.NewSource(seed))
	budgets := []int64{0, 1 << 16, 1 << 20}
	for c := 0; c < cases; c++ {
		n, d := 1+rng.Intn(80), 1+rng.Intn(12)
		k := 1 + rng.Intn(min(n, 8))
		x := tieRows(rng, n, d)
		options := &KNNOptions{Threads: rng.Intn(4), MaxBytes: budgets[rng.Intn(3)]}
		wantI, wantS := must2(KNN(x, n, d, k, 0))
		gotI, gotS := blockKNN(t, rng, x, n, d, k, options, again)
		if !sameInts(gotI, wantI) || !sameBits(gotS, wantS) {
			t.Fatalf("case %d: n %d d %d k %d %+v: the blocks give\n%v %v\nKNN gives\n%v %v", c, n, d, k, *options, gotI, gotS, wantI, wantS)
		}
	}
}

func fixtureBlockCases(t *testing.T, seed int64, cases int, again bool) {
	x := fixtureRows(t)
	wantI, wantS := must2(KNN(x, 120, 32, 10, 0))
	rng := rand.New(rand.NewSource(seed))
	for c := 0; c < cases; c++ {
		gotI, gotS := blockKNN(t, rng, x, 120, 32, 10, nil, again)
		if !sameInts(gotI, wantI) || !sameBits(gotS, wantS) {
			t.Fatalf("fixture case %d: the blocks differ from KNN", c)
		}
	}
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

// fixtureRows reads examples/data/reid_gen0.npy (120 x 32 float32, NPY 1.0).
func fixtureRows(t *testing.T) []float32 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "data", "reid_gen0.npy"))
	if err != nil {
		t.Fatal(err)
	}
	header := 10 + (int(data[8]) | int(data[9])<<8)
	text := string(data[10:header])
	if !strings.HasPrefix(string(data), "\x93NUMPY\x01") || !strings.Contains(text, "'<f4'") || !strings.Contains(text, "(120, 32)") {
		t.Fatalf("unexpected fixture header %q", text)
	}
	x := make([]float32, 120*32)
	for i := range x {
		b := data[header+4*i:]
		x[i] = math.Float32frombits(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
	}
	return x
}

func TestKNNStateBlockingsOrdersAndMergesGiveKNN(t *testing.T) {
	randomBlockCases(t, 13, 250, false)
	fixtureBlockCases(t, 2017, 20, false)
}

// A row the list already holds counts once in the bound U (by its D): were
// it counted by its s + m too, U would be too small and a nearer new row of
// the same update would be screened out.
func TestKNNStateRowsOfferedAgainChangeNothing(t *testing.T) {
	// query 0 against 1, 1.5, then 1, 1.5, 1.2: the nearest two are 1 and 1.2
	x := []float32{0, 1, 1.5, 1.2}
	s := must(NewKNNState(1, 0, 1, 2, nil))
	defer s.Close()
	if err := s.Update(x[:1], x[1:3], 2, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(x[:1], x[1:4], 3, 1); err != nil {
		t.Fatal(err)
	}
	indices, sqdist := must2(s.Finish())
	d := float64(float32(1.2))
	if !sameInts(indices, []int64{1, 3}) || !sameBits(sqdist, []float32{1, float32(d * d)}) {
		t.Fatalf("%v %v", indices, sqdist)
	}
	randomBlockCases(t, 1917, 250, true)
	fixtureBlockCases(t, 77, 20, true)
}

// refused requires an *Error of the code whose message starts with prefix.
func refused(t *testing.T, err error, sentinel *Error, prefix string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, sentinel) || !strings.HasPrefix(e.Message, prefix) {
		t.Fatalf("got %v, want code %v and a message starting %q", err, sentinel.Code, prefix)
	}
}

func TestNewKNNStateRefusals(t *testing.T) {
	for _, c := range []struct {
		nQueries, offset, d, k int
		options                *KNNOptions
		sentinel               *Error
		message                string
	}{
		{3, 0, 0, 1, nil, ErrInvalidArgument, "d: 0 must be in [1, INT32_MAX]"},
		{3, 0, 2, 0, nil, ErrInvalidArgument, "k: 0 must be in [1, INT32_MAX]"},
		{3, 0, 2, 1 << 31, nil, ErrInvalidArgument, "k: 2147483648 must be in [1, INT32_MAX]"},
		{-1, 0, 2, 1, nil, ErrInvalidArgument, "n_queries: -1 must be in [0, INT32_MAX]"},
		{1 << 31, 0, 2, 1, nil, ErrInvalidArgument, "n_queries: 2147483648 must be in [0, INT32_MAX]"},
		{3, -1, 2, 1, nil, ErrInvalidArgument, "query_offset: -1 must be >= 0"},
		{3, math.MaxInt64, 2, 1, nil, ErrInvalidArgument,
			"query_offset: 9223372036854775807 must be >= 0 (and query_offset + n_queries fit int64)"},
		{3, 0, 2, 1, &KNNOptions{MaxBytes: -1}, ErrInvalidArgument, "max_bytes: -1 is negative"},
		{3, 0, 2, 1, &KNNOptions{Threads: -1}, ErrInvalidArgument, "n_threads: -1 is negative"},
		{10, 0, 1, 2, &KNNOptions{MaxBytes: 1}, ErrMemoryLimit, "kNN distances: needs 160 bytes more"},
	} {
		s, err := NewKNNState(c.nQueries, c.offset, c.d, c.k, c.options)
		if s != nil {
			t.Fatalf("%+v: a state", c)
		}
		refused(t, err, c.sentinel, c.message)
	}
}

func TestKNNStateRefusedUpdatesChangeNothing(t *testing.T) {
	x := []float32{0, 0, 1, 0, 0, 2, 3, 3}
	s := must(NewKNNState(4, 0, 2, 2, nil))
	defer s.Close()
	if err := s.Update(x, x, 4, 0); err != nil {
		t.Fatal(err)
	}
	wantI, wantS := must2(s.Finish())
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	bad := append([]float32(nil), x...)
	bad[5] = nan
	for _, c := range []struct {
		queries, refs []float32
		nRefs, offset int
		message       string
	}{
		{x[:6], x, 4, 0, "queries: length 6 is not 4 x 2"},
		{x, x[:7], 4, 0, "refs: length 7 is not 4 x 2"},
		{x, x, 5, 0, "refs: length 8 is not 5 x 2"},
		{x, x, -4, 0, "refs: negative shape -4 x 2"},
		{x, nil, math.MaxInt, 0, "refs: shape 9223372036854775807 x 2 overflows"},
		{x, []float32{0, nan}, 1, 4, "refs: row 0 has NaN at column 1"},
		{x, []float32{inf, 0}, 1, 4, "refs: row 0 has inf at column 0"},
		{bad, x, 4, 0, "queries: row 2 has NaN at column 1"},
		{x, x[:2], 1, -1, "ref_offset: -1 must be >= 0"},
		{x, x[:2], 1, math.MaxInt64, "ref_offset: 9223372036854775807 must be >= 0 (and ref_offset + n_refs fit int64)"},
	} {
		refused(t, s.Update(c.queries, c.refs, c.nRefs, c.offset), ErrInvalidArgument, c.message)
	}
	if err := s.Update(x, nil, 0, 4); err != nil { // an empty block: fine, changes nothing
		t.Fatal(err)
	}
	gotI, gotS := must2(s.Finish())
	if !sameInts(gotI, wantI) || !sameBits(gotS, wantS) || must(s.Stats()).Updates != 1 {
		t.Fatalf("the state changed: %v %v, %+v", gotI, gotS, must(s.Stats()))
	}
	// a budget the lists fit in but an update's working memory does not
	rows := make([]float32, 200)
	for i := range rows {
		rows[i] = float32(i % 7)
	}
	tight := must(NewKNNState(50, 0, 4, 5, &KNNOptions{MaxBytes: 8000}))
	defer tight.Close()
	refused(t, tight.Update(rows, rows, 50, 0), ErrMemoryLimit, "kNN indices: needs")
	if must(tight.Stats()).Updates != 0 {
		t.Fatal("a refused update counted")
	}
}

func TestKNNStateFinishAndMerge(t *testing.T) {
	x := []float32{0, 1, 3, 7}
	s := must(NewKNNState(4, 0, 1, 3, nil))
	defer s.Close()
	_, _, err := s.Finish()
	refused(t, err, ErrInvalidArgument, "state: query row 0 has 0 of its k = 3 neighbours (offer at least k reference rows)")
	if err := s.Update(x, x[:2], 2, 0); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Finish()
	refused(t, err, ErrInvalidArgument, "state: query row 0 has 2 of its k = 3 neighbours")
	other := must(NewKNNState(4, 0, 1, 3, nil))
	defer other.Close()
	if err := other.Update(x, x[2:], 2, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.Merge(other); err != nil {
		t.Fatal(err)
	}
	wantI, wantS := must2(KNN(x, 4, 1, 3, 0))
	for round := 0; round < 2; round++ { // finish twice: the state stays usable
		gotI, gotS := must2(s.Finish())
		if !sameInts(gotI, wantI) || !sameBits(gotS, wantS) {
			t.Fatalf("round %d: %v %v, KNN %v %v", round, gotI, gotS, wantI, wantS)
		}
	}
	if st := must(s.Stats()); st.Updates != 2 || st.PeakBytes <= 0 {
		t.Fatalf("stats %+v", st)
	}
	if st := must(other.Stats()); st.Updates != 1 {
		t.Fatalf("other changed: %+v", st)
	}
	refused(t, s.Merge(s), ErrInvalidArgument, "from: is the same state as into")
	refused(t, s.Merge(nil), ErrInvalidArgument, "other: nil")
	for _, shape := range [][4]int{{5, 0, 1, 3}, {4, 1, 1, 3}, {4, 0, 2, 3}, {4, 0, 1, 2}} {
		o := must(NewKNNState(shape[0], shape[1], shape[2], shape[3], nil))
		refused(t, s.Merge(o), ErrInvalidArgument, "from: a state for")
		o.Close()
	}
	o := must(NewKNNState(4, 1, 1, 3, nil))
	defer o.Close()
	if err := s.Merge(o); err == nil || err.(*Error).Message !=
		"from: a state for 4 query rows at 1, d = 1, k = 3; into is for 4 at 0, d = 1, k = 3" {
		t.Fatal(err)
	}
	empty := must(NewKNNState(0, 5, 3, 2, nil))
	defer empty.Close()
	if err := empty.Update(nil, []float32{1, 2, 3}, 1, 0); err != nil {
		t.Fatal(err)
	}
	if i, d, err := empty.Finish(); err != nil || len(i) != 0 || len(d) != 0 {
		t.Fatalf("no queries: %v %v %v", i, d, err)
	}
	if empty.NQueries() != 0 || empty.QueryOffset() != 5 || empty.D() != 3 || empty.K() != 2 {
		t.Fatal("shape accessors")
	}
}

func TestKNNStateClosed(t *testing.T) {
	x := []float32{0, 1, 3}
	s := must(NewKNNState(3, 0, 1, 2, nil))
	live := must(NewKNNState(3, 0, 1, 2, nil))
	defer live.Close()
	s.Close()
	s.Close()
	refused(t, s.Update(x, x, 3, 0), ErrInvalidArgument, "state: closed")
	_, _, err := s.Finish()
	refused(t, err, ErrInvalidArgument, "state: closed")
	_, err = s.Stats()
	refused(t, err, ErrInvalidArgument, "state: closed")
	refused(t, s.Merge(live), ErrInvalidArgument, "state: closed")
	refused(t, live.Merge(s), ErrInvalidArgument, "other: closed")
	var none *KNNState
	refused(t, none.Update(x, x, 3, 0), ErrInvalidArgument, "state: nil")
	none.Close()
}

// One call at a time per state: concurrent calls are refused ("in use"),
// never raced; separate states run in parallel; Close waits for a call.
func TestKNNStateConcurrentCalls(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	n, d, k := 300, 16, 8
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	wantI, wantS := must2(KNN(x, n, d, k, 0))

	// four goroutines, one state each over a quarter of the references, merged
	states := make([]*KNNState, 4)
	var wg sync.WaitGroup
	for g := range states {
		states[g] = must(NewKNNState(n, 0, d, k, &KNNOptions{Threads: 1}))
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			lo, hi := g*n/4, (g+1)*n/4
			if err := states[g].Update(x, x[lo*d:hi*d], hi-lo, lo); err != nil {
				t.Error(err)
			}
		}(g)
	}
	wg.Wait()
	for _, s := range states[1:] {
		if err := states[0].Merge(s); err != nil {
			t.Fatal(err)
		}
	}
	gotI, gotS := must2(states[0].Finish())
	if !sameInts(gotI, wantI) || !sameBits(gotS, wantS) {
		t.Fatal("parallel states merged differ from KNN")
	}

	// many goroutines on one state: each call applies or is refused as in use
	shared := states[0]
	var mu sync.Mutex
	applied, refusedCalls := 0, 0
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			var err error
			switch g % 4 {
			case 0:
				err = shared.Update(x, x, n, 0)
			case 1:
				_, _, err = shared.Finish()
			case 2:
				_, err = shared.Stats()
			default:
				err = shared.Merge(states[1+g%3])
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				applied++
			case errors.Is(err, ErrInvalidArgument) && strings.Contains(err.Error(), "in use by another call"):
				refusedCalls++
			default:
				t.Errorf("goroutine %d: %v", g, err)
			}
		}(g)
	}
	// merges both ways at once: never a deadlock
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			a, b := states[1], states[2]
			if g == 1 {
				a, b = b, a
			}
			if err := a.Merge(b); err != nil && !strings.Contains(err.Error(), "in use by another call") {
				t.Error(err)
			}
		}(g)
	}
	wg.Wait()
	if applied+refusedCalls != 8 {
		t.Fatalf("%d applied, %d refused", applied, refusedCalls)
	}
	gotI, gotS = must2(shared.Finish())
	if !sameInts(gotI, wantI) || !sameBits(gotS, wantS) {
		t.Fatal("concurrent calls changed the lists")
	}

	// Close while an update runs: the update finishes or sees a closed state
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := shared.Update(x, x, n, 0); err != nil && !strings.Contains(err.Error(), "closed") &&
			!strings.Contains(err.Error(), "in use") {
			t.Error(err)
		}
	}()
	for _, s := range states {
		s.Close()
	}
	wg.Wait()
}
