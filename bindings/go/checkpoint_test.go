package rlcc

import (
	stdbytes "bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// Refiner checkpoints through the package (librlcc 1.6): Save, LoadRefiner,
// LoadOptions, MarshalBinary/UnmarshalBinary and gob. A refiner restored at
// generation 0, 1, 2 or 3 shows what one that never stopped shows (labels,
// centroids, threshold, targets, Bytes and its own saved state, bit for
// bit), before and after every later step, for every step kind; truncated,
// bit-flipped and foreign bytes are refused with ErrInvalidArgument and the
// library's message; the size is the documented one.

// ckptRows is generation g's features: unit rows around 16 directions, new
// noise each generation, and every 13th sample moved to the next direction,
// so the classes change from one generation to the next.
func ckptRows(g int) []float32 {
	state := uint64(9000 + g)
	next := func() uint32 {
		state = state*6364136223846793005 + 1442695040888963407
		return uint32(state >> 33)
	}
	x := make([]float32, callerN*callerD)
	for i := 0; i < callerN; i++ {
		id := i % 16
		if i%13 == g {
			id = (id + 1) % 16
		}
		sum := 0.0
		for c := 0; c < callerD; c++ {
			v := callerTerm(c == id%callerD, 1.0) + callerTerm(c == (id+3)%callerD, 0.6) +
				(float64(next())/4294967296.0-0.5)*0.35
			x[i*callerD+c] = float32(v)
			sum += v * v
		}
		for c := 0; c < callerD; c++ {
			x[i*callerD+c] = float32(float64(x[i*callerD+c]) / math.Sqrt(sum))
		}
	}
	return x
}

func ckptPseudo(metric string) *PseudoOptions {
	o := DefaultPseudoOptions()
	o.MinSamples = 3
	switch metric {
	case "jaccard":
		o.K1, o.K2, o.Eps = callerK1, 4, []float64{0.5, 0.55, 0.6}
	case "euclidean":
		o.Metric, o.Eps = MetricEuclidean, []float64{0.5, 0.6, 0.7}
	case "cosine":
		o.Metric, o.Eps = MetricCosine, []float64{0.12, 0.18, 0.24}
	}
	return &o
}

// ckptLogits is the previous model's logits at generation g (deterministic
// in the row, the class and g).
func ckptLogits(g int) LogitsFunc {
	return func(start, count, kPrev int, dst []float32, ld int) error {
		for r := 0; r < count; r++ {
			for c := 0; c < kPrev; c++ {
				dst[r*ld+c] = float32((start+r+3*c+g)%7) * 0.75
			}
		}
		return nil
	}
}

func floatBits(values []float32) []uint32 {
	out := make([]uint32, len(values))
	for i, v := range values {
		out[i] = math.Float32bits(v)
	}
	return out
}

// ckptSnapshot is everything a refiner shows, compared bit for bit.
type ckptSnapshot struct {
	Generation, Classes int
	Threshold           uint64
	Labels              []int32
	Centroids           []uint32
	Bytes               int64 // -2: not compared
	Targets, Batch      []uint32
	State               []byte
}

var ckptRowsPicked = []int64{7, 0, callerN - 1, 7, 40}

func snapshotOf(t *testing.T, r *Refiner) ckptSnapshot {
	t.Helper()
	s := ckptSnapshot{Generation: r.Generation(), Classes: r.Classes(), Threshold: math.Float64bits(r.Threshold()),
		Bytes: r.Bytes(), State: must(r.Save())}
	if s.Generation > 0 {
		s.Labels = must(r.Labels())
		s.Centroids = floatBits(must(r.Centroids()))
		s.Targets = floatBits(must(r.Targets(nil)))
		s.Batch = floatBits(must(r.Targets(ckptRowsPicked)))
	}
	return s
}

// ckptStep is step g of r, in one of four ways; m is generation g's
// FeatureMatrix for the borrowing way.
func ckptStep(t *testing.T, r *Refiner, g int, x []float32, m *FeatureMatrix, way string) {
	t.Helper()
	var err error
	switch way {
	case "copy":
		err = r.StepMatrix(x, 256)
	case "borrow":
		err = r.StepBorrow(m, nil)
	case "logits":
		err = r.StepMatrixOpts(x, callerD, &StepOptions{Logits: ckptLogits(g)})
	case "callback":
		err = r.Step(callerFill(x), 32, nil, nil)
	}
	if err != nil {
		t.Fatalf("%s step %d: %v", way, g, err)
	}
}

func TestCheckpointRestoredRefinersContinueBitForBit(t *testing.T) {
	for _, metric := range []string{"jaccard", "euclidean", "cosine"} {
		for _, beta := range []float32{0, 0.5, 1} {
			for _, way := range []string{"copy", "borrow", "logits", "callback"} {
				if metric != "jaccard" && (beta == 0.5 || way == "callback") {
					continue // the Jaccard runs cover these; the other metrics keep the suite short
				}
				t.Run(fmt.Sprintf("%s/beta%g/%s", metric, beta, way), func(t *testing.T) {
					continuesBitForBit(t, metric, beta, way)
				})
			}
		}
	}
}

func continuesBitForBit(t *testing.T, metric string, beta float32, way string) {
	options := DefaultRefinerOptions()
	options.Beta = beta
	never := must(NewRefiner(callerN, callerD, ckptPseudo(metric), &options))
	defer never.Close()
	last := snapshotOf(t, never)
	var restored []*Refiner
	defer func() {
		for _, r := range restored {
			r.Close()
		}
	}()
	for g := 0; g < 5; g++ {
		if g < 4 { // restored before step g: g generations done
			var r *Refiner
			if g%2 == 0 {
				r = must(LoadRefiner(last.State, nil))
			} else {
				r = new(Refiner)
				if err := r.UnmarshalBinary(last.State); err != nil {
					t.Fatal(err)
				}
			}
			got, want := snapshotOf(t, r), last
			if way == "borrow" && beta < 1 && g >= 2 { // the restored refiner owns a copy of the borrowed rows
				if got.Bytes != want.Bytes+4*callerN*callerD {
					t.Fatalf("restored at %d: Bytes %d, want %d + 4 N D", g, got.Bytes, want.Bytes)
				}
				got.Bytes, want.Bytes = -2, -2
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("restored at generation %d differs from the refiner that never stopped", g)
			}
			restored = append(restored, r)
		}
		x := ckptRows(g)
		var m *FeatureMatrix
		if way == "borrow" {
			m = must(NewFeatureMatrix(callerN, callerD))
			copy(m.Data(), x)
		}
		ckptStep(t, never, g, x, m, way)
		last = snapshotOf(t, never)
		for i, r := range restored {
			ckptStep(t, r, g, x, m, way)
			if got := snapshotOf(t, r); !reflect.DeepEqual(got, last) {
				t.Fatalf("restored at generation %d, after step %d: differs from the refiner that never stopped", i, g)
			}
		}
		if m != nil {
			m.Close() // freed once every refiner's next step lets go of it
		}
		// the optional arrays this configuration puts in the state (flags:
		// 1 the logits' probabilities, 2 the features)
		flags, want := binary.LittleEndian.Uint32(last.State[24:]), uint32(0)
		switch {
		case g >= 1 && way == "logits":
			want = 1
		case g >= 1 && beta < 1:
			want = 2
		}
		if flags != want {
			t.Fatalf("flags after step %d: %d, want %d", g, flags, want)
		}
	}
	if last.Generation != 5 || last.Classes <= 4 {
		t.Fatalf("generation %d, %d classes", last.Generation, last.Classes)
	}
}

// ckptStepped is a refiner after g copying steps (Beta 0: from two
// generations on, the state holds the features).
func ckptStepped(t *testing.T, g int) *Refiner {
	t.Helper()
	r := must(NewRefiner(callerN, callerD, ckptPseudo("jaccard"), nil))
	t.Cleanup(r.Close)
	for i := 0; i < g; i++ {
		if err := r.StepMatrix(ckptRows(i), 1024); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// resealed is the state with its CRC-32C (Castagnoli, as docs/stability.md
// gives it; Go's own table, not the library's) made right after an edit.
func resealed(state []byte) []byte {
	end := len(state) - 4
	binary.LittleEndian.PutUint32(state[end:], crc32.Checksum(state[:end], crc32.MakeTable(crc32.Castagnoli)))
	return state
}

func TestCheckpointSizeIsTheDocumentedOne(t *testing.T) {
	r := ckptStepped(t, 0)
	var classes []int
	for g := 0; g < 4; g++ {
		state := must(r.Save())
		want := 196
		if g >= 1 {
			want += 4*callerN + 4*callerD*classes[g-1]
		}
		if g >= 2 {
			want += 4*callerN + 4*callerD*classes[g-2] + 4*callerN*callerD
		}
		if len(state) != want || binary.LittleEndian.Uint64(state[16:]) != uint64(want) {
			t.Fatalf("after %d generations: %d bytes (header %d), want %d", g, len(state),
				binary.LittleEndian.Uint64(state[16:]), want)
		}
		if !stdbytes.Equal(state[:8], []byte("\x89RLCCRF\x1a")) || binary.LittleEndian.Uint32(state[8:]) != 1 || // DBSCAN: format 1
			binary.LittleEndian.Uint32(state[12:]) != uint32(VersionNumber()) ||
			binary.LittleEndian.Uint64(state[48:]) != uint64(g) {
			t.Fatalf("after %d generations: header % x", g, state[:56])
		}
		if again := must(r.Save()); !stdbytes.Equal(again, state) {
			t.Fatal("two saves of one state differ")
		}
		if err := r.StepMatrix(ckptRows(g), 1024); err != nil {
			t.Fatal(err)
		}
		classes = append(classes, r.Classes())
	}
	// kNN lists set for the next step travel in the state: + 8 N K1
	before := len(must(r.Save()))
	if err := r.SetKNN(callerLists(t, ckptRows(4))); err != nil {
		t.Fatal(err)
	}
	if got := len(must(r.Save())); got != before+8*callerN*callerK1 {
		t.Fatalf("with kNN lists: %d bytes, want %d", got, before+8*callerN*callerK1)
	}
	if crc32.Checksum([]byte("123456789"), crc32.MakeTable(crc32.Castagnoli)) != 0xE3069283 {
		t.Fatal("Go's CRC-32C is not the documented one")
	}
	state := must(r.Save())
	if !stdbytes.Equal(resealed(append([]byte(nil), state...)), state) {
		t.Fatal("the checksum is not CRC-32C of the bytes before it")
	}
}

func TestCheckpointTruncatedStatesAreRefused(t *testing.T) {
	for _, g := range []int{0, 1, 3} {
		state := must(ckptStepped(t, g).Save())
		for cut := 0; cut < len(state); cut++ {
			if cut >= 200 && cut%97 != 0 && cut+8 <= len(state) {
				continue
			}
			_, err := LoadRefiner(state[:cut], nil)
			prefix := "state: "
			if cut >= 24 {
				prefix = "state: truncated"
			}
			refused(t, err, ErrInvalidArgument, prefix)
		}
		_, err := LoadRefiner(append(append([]byte(nil), state...), 0), nil)
		wantCode(t, err, ErrInvalidArgument, "bytes after the end")
	}
	_, err := LoadRefiner(nil, nil)
	refused(t, err, ErrInvalidArgument, "state: 0 bytes, too few for a refiner state (its header alone is 192)")
}

func TestCheckpointBitFlippedStatesAreRefused(t *testing.T) {
	state := must(ckptStepped(t, 3).Save())
	for at := range state {
		bad := append([]byte(nil), state...)
		bad[at] ^= 1 << (at % 8)
		_, err := LoadRefiner(bad, nil)
		refused(t, err, ErrInvalidArgument, "state: ")
		switch {
		case at < 8:
			wantCode(t, err, ErrInvalidArgument, "not a librlcc refiner state")
		case at >= 16 && at < 24: // the size field: truncated, or bytes after the end
		default:
			wantCode(t, err, ErrInvalidArgument, "the bytes are corrupted")
		}
	}
	r := must(LoadRefiner(state, nil)) // the good state still loads
	r.Close()
}

func TestCheckpointForeignBytesAreRefused(t *testing.T) {
	state := must(ckptStepped(t, 2).Save())
	noise := make([]byte, len(state))
	seed := uint32(77)
	for i := range noise {
		seed = seed*1664525 + 1013904223
		noise[i] = byte(seed >> 24)
	}
	for what, b := range map[string][]byte{
		"noise": noise, "zeros": make([]byte, 400), "png": stdbytes.Repeat([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), 20),
		"json": []byte(`{"state": 1}`), "gob of N and D": gobOfShape(t),
	} {
		_, err := LoadRefiner(b, nil)
		wantCode(t, err, ErrInvalidArgument, "state: ")
		if len(b) >= 8 && !strings.Contains(err.Error(), "not a librlcc refiner state") {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err := LoadRefiner(state[:8], nil) // the magic and nothing after it
	refused(t, err, ErrInvalidArgument, "state: ")
	// a later format, checksum made right: refused, naming the writer's version
	later := append([]byte(nil), state...)
	binary.LittleEndian.PutUint32(later[8:], StateFormat+1)
	binary.LittleEndian.PutUint32(later[12:], 10900)
	_, err = LoadRefiner(resealed(later), nil)
	wantCode(t, err, ErrInvalidArgument, "format version 3, written by librlcc 1.9.0")
	// resealed wrong content: refused by name
	labels := append([]byte(nil), state...)
	binary.LittleEndian.PutUint32(labels[192:], 100000) // the first label of the latest generation
	_, err = LoadRefiner(resealed(labels), nil)
	refused(t, err, ErrInvalidArgument, "state: labels")
	flags := append([]byte(nil), state...)
	flags[24] |= 0x80
	_, err = LoadRefiner(resealed(flags), nil)
	refused(t, err, ErrInvalidArgument, "state: flags")
}

// gobOfShape is what gob would store for a Refiner without MarshalBinary:
// its exported fields.
func gobOfShape(t *testing.T) []byte {
	var buf stdbytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(struct{ N, D int }{callerN, callerD}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCheckpointPendingKNNListsTravel(t *testing.T) {
	x := ckptRows(1)
	lists := callerLists(t, x)
	r := ckptStepped(t, 1)
	if err := r.SetKNN(lists); err != nil {
		t.Fatal(err)
	}
	restored := must(LoadRefiner(must(r.Save()), nil))
	defer restored.Close()
	for _, q := range []*Refiner{r, restored} {
		if err := q.StepMatrix(x, 1024); err != nil {
			t.Fatal(err)
		}
	}
	if !stdbytes.Equal(must(r.Save()), must(restored.Save())) {
		t.Fatal("the restored refiner's step on the lists differs")
	}
	// a bad list set before the save fails the restored refiner's step, as the original's
	bad := append([]int64(nil), lists...)
	bad[3] = callerN
	if err := r.SetKNN(bad); err != nil {
		t.Fatal(err)
	}
	again := must(LoadRefiner(must(r.Save()), nil))
	defer again.Close()
	refused(t, again.StepMatrix(x, 1024), ErrInvalidArgument, "knn: ")
	refused(t, r.StepMatrix(x, 1024), ErrInvalidArgument, "knn: ")
	// SetKNN on a restored refiner checks the restored K1
	refusedWith(t, again.SetKNN(bad[1:]), fmt.Sprintf("knn: length %d is not %d x %d", len(bad)-1, callerN, callerK1))
	if err := again.SetKNN(nil); err != nil {
		t.Fatal(err)
	}
}

func TestCheckpointLoadOptions(t *testing.T) {
	r := ckptStepped(t, 3)
	state := must(r.Save())
	for _, threads := range []int{0, 1, 2, 3} {
		loaded := must(LoadRefiner(state, &LoadOptions{Threads: threads}))
		if !stdbytes.Equal(must(loaded.Save()), state) {
			t.Fatalf("Threads %d: another state", threads)
		}
		loaded.Close()
	}
	_, err := LoadRefiner(state, &LoadOptions{MaxBytes: 1000})
	if !errors.Is(err, ErrMemoryLimit) {
		t.Fatalf("MaxBytes 1000: %v", err)
	}
	_, err = LoadRefiner(state, &LoadOptions{Threads: -1})
	wantCode(t, err, ErrInvalidArgument, "n_threads")
	_, err = LoadRefiner(state, &LoadOptions{MaxBytes: -1})
	wantCode(t, err, ErrInvalidArgument, "max_bytes")
	// the bound holds for the load only: the refiner keeps the saved budget
	tight := ckptPseudo("jaccard")
	tight.MaxBytes = 4096
	small := must(NewRefiner(callerN, callerD, tight, nil))
	defer small.Close()
	if err := small.StepMatrix(ckptRows(0), 1024); !errors.Is(err, ErrMemoryLimit) {
		t.Fatalf("a 4096-byte budget: %v", err)
	}
	restored := must(LoadRefiner(must(small.Save()), &LoadOptions{MaxBytes: 1 << 30}))
	defer restored.Close()
	if err := restored.StepMatrix(ckptRows(0), 1024); !errors.Is(err, ErrMemoryLimit) {
		t.Fatalf("restored with the 4096-byte budget: %v", err)
	}
}

type ckptTrainer struct {
	Epoch   int
	Refiner *Refiner
}

func TestCheckpointBinaryMarshalerAndGob(t *testing.T) {
	r := ckptStepped(t, 2)
	state := must(r.Save())
	if b := must(r.MarshalBinary()); !stdbytes.Equal(b, state) {
		t.Fatal("MarshalBinary is not Save")
	}
	var buf stdbytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(ckptTrainer{Epoch: 2, Refiner: r}); err != nil {
		t.Fatal(err)
	}
	var back ckptTrainer
	if err := gob.NewDecoder(&buf).Decode(&back); err != nil {
		t.Fatal(err)
	}
	defer back.Refiner.Close()
	if back.Epoch != 2 || back.Refiner.N != callerN || back.Refiner.D != callerD ||
		!stdbytes.Equal(must(back.Refiner.Save()), state) {
		t.Fatalf("gob gave epoch %d and %v", back.Epoch, back.Refiner)
	}
	for _, q := range []*Refiner{r, back.Refiner} {
		if err := q.StepMatrix(ckptRows(2), 1024); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(snapshotOf(t, back.Refiner), snapshotOf(t, r)) {
		t.Fatal("the gob-decoded refiner's step differs")
	}
	// UnmarshalBinary fills a zero Refiner only; a refused state leaves it zero
	refusedWith(t, r.UnmarshalBinary(state), "loads into a zero Refiner only")
	closed := must(LoadRefiner(state, nil))
	closed.Close()
	refusedWith(t, closed.UnmarshalBinary(state), "loads into a zero Refiner only")
	var zero Refiner
	refused(t, zero.UnmarshalBinary(state[:100]), ErrInvalidArgument, "state: truncated")
	if zero.handle != nil || zero.N != 0 {
		t.Fatal("a refused UnmarshalBinary changed the refiner")
	}
	if err := zero.UnmarshalBinary(state); err != nil {
		t.Fatal(err)
	}
	defer zero.Close()
	if zero.Generation() != 2 || zero.k1 != callerK1 {
		t.Fatalf("generation %d, K1 %d", zero.Generation(), zero.k1)
	}
	refusedWith(t, (*Refiner)(nil).UnmarshalBinary(state), "refiner: nil")
}

func TestCheckpointClosedAndBorrowed(t *testing.T) {
	r := ckptStepped(t, 1)
	r.Close()
	_, err := r.Save()
	refusedWith(t, err, "refiner: closed")
	// after StepBorrow the refiner holds the matrix, so Save reads it even
	// once the caller closed its side; the loaded refiner owns a copy
	b := ckptStepped(t, 1)
	m := must(NewFeatureMatrix(callerN, callerD))
	copy(m.Data(), ckptRows(1))
	if err := b.StepBorrow(m, nil); err != nil {
		t.Fatal(err)
	}
	m.Close()
	state := must(b.Save())
	loaded := must(LoadRefiner(state, nil))
	defer loaded.Close()
	if !sameBits(must(loaded.Targets(nil)), must(b.Targets(nil))) || loaded.Bytes() != b.Bytes()+4*callerN*callerD {
		t.Fatal("the loaded refiner's targets or bytes")
	}
}

func TestCheckpointSaveConcurrentWithReadersAndSteps(t *testing.T) {
	r := ckptStepped(t, 2)
	want := must(r.Save())
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 8; j++ {
				state, err := r.Save()
				if err != nil {
					errs <- err
					return
				}
				if !stdbytes.Equal(state, want) {
					errs <- errors.New("a concurrent save differs")
					return
				}
				if _, err := r.Targets(ckptRowsPicked); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// saves during steps: each either gives a state that loads, or is refused
	// as in use (and a step that finds a save running is refused too: the
	// library's reader rule; it tries again)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for g := 2; g < 5; g++ {
			for {
				err := r.StepMatrix(ckptRows(g), 1024)
				if err == nil {
					break
				}
				if !strings.Contains(err.Error(), "in use") {
					t.Error(err)
					return
				}
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	saves, refusals := 0, 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		state, err := r.Save()
		if err != nil {
			wantCode(t, err, ErrInvalidArgument, "in use")
			refusals++
			time.Sleep(50 * time.Microsecond)
			continue
		}
		loaded := must(LoadRefiner(state, &LoadOptions{Threads: 1}))
		loaded.Close()
		saves++
		time.Sleep(200 * time.Microsecond)
	}
	if saves == 0 || r.Generation() != 5 {
		t.Fatalf("%d saves succeeded; generation %d", saves, r.Generation())
	}
	t.Logf("%d saves, %d refused while a step ran", saves, refusals)
}
