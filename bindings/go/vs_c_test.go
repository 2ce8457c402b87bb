package rlcc

import (
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The Go binding gives the C library's bits: tests/bindings/reference.c calls
// every computing function on the committed fixture and writes what it got;
// the same calls through this package must give identical values.

var batchRows = []int64{5, 0, 119, 7}

type reference struct {
	t   *testing.T
	dir string
}

func cReference(t *testing.T) reference {
	t.Helper()
	top, _ := filepath.Abs("../..")
	build := exec.Command("make", "-s", "--no-print-directory", "build/reference/rlcc-reference")
	build.Dir = top
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the C reference: %v\n%s", err, out)
	}
	dir := t.TempDir()
	run := exec.Command(filepath.Join(top, "build/reference/rlcc-reference"), filepath.Join(top, "examples/data"), dir)
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("running the C reference: %v\n%s", err, out)
	}
	return reference{t, dir}
}

// values reads NAME (a raw little-endian array the C reference wrote) as T.
func values[T float32 | float64 | int32 | int64](r reference, file string) []T {
	r.t.Helper()
	f, err := os.Open(filepath.Join(r.dir, file))
	if err != nil {
		r.t.Fatal(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		r.t.Fatal(err)
	}
	var zero T
	out := make([]T, int(info.Size())/binary.Size(zero))
	if err := binary.Read(f, binary.LittleEndian, out); err != nil {
		r.t.Fatal(err)
	}
	return out
}

func (r reference) f32(name string) []float32 { return values[float32](r, name+".f32") }
func (r reference) f64(name string) float64   { return values[float64](r, name+".f64")[0] }
func (r reference) i32(name string) []int32   { return values[int32](r, name+".i32") }
func (r reference) i64(name string) []int64   { return values[int64](r, name+".i64") }

// same requires identical values, element by element.
func same[T int32 | int64 | float32](t *testing.T, what string, got, want []T) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, C has %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s[%d]: %v, C has %v", what, i, got[i], want[i])
		}
	}
}

// bitsOf gives the float32 values' bits: same() on them tells -0 from 0.
func bitsOf(values []float32) []int64 {
	out := make([]int64, len(values))
	for i, v := range values {
		out[i] = int64(math.Float32bits(v))
	}
	return out
}

func flags(core []bool) []int32 {
	out := make([]int32, len(core))
	for i, c := range core {
		if c {
			out[i] = 1
		}
	}
	return out
}

// must unwraps a (value, error) pair; an error fails the test through a
// panic (go test reports it with the stack), so calls stay one-liners.
func must[T any](value T, err error) T {
	if err != nil {
		panic(err)
	}
	return value
}

func TestEveryFunctionGivesTheCResults(t *testing.T) {
	ref := cReference(t)
	shape := ref.i64("shape")
	n, d := int(shape[0]), int(shape[1])
	x0, x1 := ref.f32("x0"), ref.f32("x1")

	euclidean := must(DbscanFeatures(x0, n, d, 0.9, 4, nil))
	same(t, "dbscan_euclidean_labels", euclidean.Labels, ref.i32("dbscan_euclidean_labels"))
	same(t, "dbscan_euclidean_core", flags(euclidean.Core), ref.i32("dbscan_euclidean_core"))
	same(t, "dbscan_euclidean_clusters", []int64{int64(euclidean.Clusters)}, ref.i64("dbscan_euclidean_clusters"))
	cosine := must(DbscanFeatures(x0, n, d, 0.4, 4, &DbscanOptions{Metric: MetricCosine}))
	same(t, "dbscan_cosine_labels", cosine.Labels, ref.i32("dbscan_cosine_labels"))

	indices, sqdist, err := KNN(x0, n, d, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "knn_indices", indices, ref.i64("knn_indices"))
	same(t, "knn_sqdist", sqdist, ref.f32("knn_sqdist"))

	// the block kNN as reference.c runs it: query blocks [0, 50) and [50, n),
	// reference blocks [0, 37), [37, 81) and [81, n); per query block, a is
	// offered block 2 then the queries themselves, b block 1 then block 0,
	// and b is merged into a
	queryCuts, refCuts := []int{0, 50, n}, []int{0, 37, 81, n}
	rows := func(lo, hi int) []float32 { return x0[lo*d : hi*d] }
	var blockIndices []int64
	var blockSqdist []float32
	var blockUpdates []int64
	for b := 0; b < 2; b++ {
		q0, q1 := queryCuts[b], queryCuts[b+1]
		queries := rows(q0, q1)
		a := must(NewKNNState(q1-q0, q0, d, 10, nil))
		other := must(NewKNNState(q1-q0, q0, d, 10, nil))
		for _, err := range []error{
			a.Update(queries, rows(refCuts[2], refCuts[3]), refCuts[3]-refCuts[2], refCuts[2]),
			a.Update(queries, queries, q1-q0, q0),
			other.Update(queries, rows(refCuts[1], refCuts[2]), refCuts[2]-refCuts[1], refCuts[1]),
			other.Update(queries, rows(0, refCuts[1]), refCuts[1], 0),
			a.Merge(other),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		i, s, err := a.Finish()
		if err != nil {
			t.Fatal(err)
		}
		blockIndices, blockSqdist = append(blockIndices, i...), append(blockSqdist, s...)
		blockUpdates = append(blockUpdates, must(a.Stats()).Updates)
		a.Close()
		other.Close()
	}
	same(t, "knn_block_indices", blockIndices, ref.i64("knn_block_indices"))
	same(t, "knn_block_sqdist", bitsOf(blockSqdist), bitsOf(ref.f32("knn_block_sqdist")))
	same(t, "knn_block_updates", blockUpdates, ref.i64("knn_block_updates"))
	// and C's blocks are C's whole-matrix kNN
	same(t, "C knn_block_indices vs knn_indices", ref.i64("knn_block_indices"), ref.i64("knn_indices"))
	same(t, "C knn_block_sqdist vs knn_sqdist", bitsOf(ref.f32("knn_block_sqdist")), bitsOf(ref.f32("knn_sqdist")))

	jopts := DefaultJaccardOptions()
	jopts.K1, jopts.K2, jopts.Cutoff = 10, 3, 0.9
	jaccard := must(Jaccard(x0, n, d, nil, &jopts))
	defer jaccard.Close()
	graph := jaccard.Matrix()
	same(t, "jaccard_indptr", graph.Indptr, ref.i64("jaccard_indptr"))
	same(t, "jaccard_indices", graph.Indices, ref.i32("jaccard_indices"))
	same(t, "jaccard_data", graph.Data, ref.f32("jaccard_data"))
	dense := must(JaccardDense(x0, n, d, nil, &jopts))
	same(t, "jaccard_dense", dense, ref.f32("jaccard_dense"))
	byGraph := must(DbscanCSR(graph, 0.6, 4, nil))
	same(t, "dbscan_csr_labels", byGraph.Labels, ref.i32("dbscan_csr_labels"))
	same(t, "dbscan_csr_core", flags(byGraph.Core), ref.i32("dbscan_csr_core"))
	byDense := must(DbscanDense(dense, n, 0.6, 4, nil))
	same(t, "dbscan_dense_labels", byDense.Labels, ref.i32("dbscan_dense_labels"))

	popts := DefaultPseudoOptions()
	popts.K1, popts.K2 = 10, 3
	g0 := must(PseudoLabels(x0, n, d, &popts))
	popts.Threshold = g0.Threshold
	g1 := must(PseudoLabels(x1, n, d, &popts))
	same(t, "pseudo0_labels", g0.Labels, ref.i32("pseudo0_labels"))
	same(t, "pseudo1_labels", g1.Labels, ref.i32("pseudo1_labels"))
	if g0.Threshold != ref.f64("pseudo0_threshold") {
		t.Fatalf("threshold %v, C has %v", g0.Threshold, ref.f64("pseudo0_threshold"))
	}

	cents := must(Centroids(x0, n, d, g0.Labels, g0.Classes))
	same(t, "centroids", cents, ref.f32("centroids"))
	counts, kPrev, kCur, err := ConsensusCounts(g0.Labels, g1.Labels, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "consensus_counts", counts, ref.i64("consensus_counts"))
	iou, _, _, err := Consensus(g0.Labels, g1.Labels, 0, 0, IoU, NormalizeSum)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "consensus_iou_sum", iou, ref.f32("consensus_iou_sum"))
	chatHandle := must(ConsensusCSR(g0.Labels, g1.Labels, 0, 0, IoU, NormalizeSum))
	defer chatHandle.Close()
	chat := chatHandle.Matrix()
	same(t, "consensus_csr_shape", []int64{int64(chat.Rows), int64(chat.Cols)}, ref.i64("consensus_csr_shape"))
	same(t, "consensus_csr_indptr", chat.Indptr, ref.i64("consensus_csr_indptr"))
	same(t, "consensus_csr_indices", chat.Indices, ref.i32("consensus_csr_indices"))
	same(t, "consensus_csr_data", chat.Data, ref.f32("consensus_csr_data"))

	// the 1.4 twins give the same bits, for any thread count
	for _, threads := range []int{1, 2} {
		same(t, "centroids (opts)", bitsOf(must(CentroidsOpts(x0, n, d, g0.Labels, g0.Classes,
			&CentroidOptions{Threads: threads}))), bitsOf(ref.f32("centroids")))
		co := DefaultConsensusOptions()
		co.Threads = threads
		countsOpts, _, _, err := ConsensusCountsOpts(g0.Labels, g1.Labels, 0, 0, &co)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "consensus_counts (opts)", countsOpts, ref.i64("consensus_counts"))
		iouOpts, _, _, err := ConsensusOpts(g0.Labels, g1.Labels, 0, 0, &co)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "consensus_iou_sum (opts)", bitsOf(iouOpts), bitsOf(ref.f32("consensus_iou_sum")))
		csrOpts := must(ConsensusCSROpts(g0.Labels, g1.Labels, 0, 0, &co))
		same(t, "consensus_csr_indptr (opts)", csrOpts.Matrix().Indptr, ref.i64("consensus_csr_indptr"))
		same(t, "consensus_csr_indices (opts)", csrOpts.Matrix().Indices, ref.i32("consensus_csr_indices"))
		same(t, "consensus_csr_data (opts)", bitsOf(csrOpts.Matrix().Data), bitsOf(ref.f32("consensus_csr_data")))
		csrOpts.Close()
		for _, part := range []struct {
			suffix string
			rows   []int64
		}{{"all", nil}, {"batch", batchRows}} {
			po := DefaultProbabilityOptions()
			po.Threads = threads
			probs := must(ClassProbabilitiesOpts(x1, n, d, cents, kPrev, part.rows, &po))
			s := must(PropagateOpts(g0.Labels, chat, probs, part.rows, &PropagateOptions{W: 0.9, Beta: 0.3, Threads: threads}))
			targets := must(BlendOpts(g1.Labels, kCur, s, part.rows, &BlendOptions{Alpha: 0.9, Threads: threads}))
			same(t, "probs_"+part.suffix+" (opts)", bitsOf(probs), bitsOf(ref.f32("probs_"+part.suffix)))
			same(t, "propagated_"+part.suffix+" (opts)", bitsOf(s), bitsOf(ref.f32("propagated_"+part.suffix)))
			same(t, "blended_"+part.suffix+" (opts)", bitsOf(targets), bitsOf(ref.f32("blended_"+part.suffix)))
		}
	}

	for _, part := range []struct {
		suffix string
		rows   []int64
	}{{"all", nil}, {"batch", batchRows}} {
		probs := must(ClassProbabilities(x1, n, d, cents, kPrev, 30, part.rows, 0))
		s := must(Propagate(g0.Labels, chat, probs, 0.9, 0.3, part.rows))
		targets := must(Blend(g1.Labels, kCur, s, 0.9, part.rows))
		same(t, "probs_"+part.suffix, probs, ref.f32("probs_"+part.suffix))
		same(t, "propagated_"+part.suffix, s, ref.f32("propagated_"+part.suffix))
		same(t, "blended_"+part.suffix, targets, ref.f32("blended_"+part.suffix))
	}

	popts.Threshold = -1
	refiner := must(NewRefiner(n, d, &popts, nil))
	defer refiner.Close()
	for _, x := range [][]float32{x0, x1} {
		if err := refiner.StepMatrix(x, 32); err != nil {
			t.Fatal(err)
		}
	}
	same(t, "refiner_labels", must(refiner.Labels()), ref.i32("refiner_labels"))
	same(t, "refiner_centroids", must(refiner.Centroids()), ref.f32("refiner_centroids"))
	same(t, "refiner_targets_all", must(refiner.Targets(nil)), ref.f32("refiner_targets_all"))
	same(t, "refiner_targets_batch", must(refiner.Targets(batchRows)), ref.f32("refiner_targets_batch"))
	if refiner.Threshold() != ref.f64("refiner_threshold") {
		t.Fatalf("refiner threshold %v, C has %v", refiner.Threshold(), ref.f64("refiner_threshold"))
	}
	// StepMatrix is the library's matrix step (copying): what the C
	// reference's rlcc_refiner_step_matrix refiner holds
	same(t, "refiner_matrix_bytes", []int64{refiner.Bytes()}, ref.i64("refiner_matrix_bytes"))

	// 1.4: the same two generations through the callback (the C reference's
	// own route), and borrowing FeatureMatrix rows
	byCallback := must(NewRefiner(n, d, &popts, nil))
	defer byCallback.Close()
	borrowing := must(NewRefiner(n, d, &popts, nil))
	defer borrowing.Close()
	for _, x := range [][]float32{x0, x1} {
		x := x
		if err := byCallback.StepOpts(func(start, count int, dst []float32, ld int) error {
			copyRows(dst, ld, x, start, count, d)
			return nil
		}, &StepOptions{Batch: 32}); err != nil {
			t.Fatal(err)
		}
		m, err := NewFeatureMatrix(n, d)
		if err != nil {
			t.Fatal(err)
		}
		copy(m.Data(), x)
		if err := borrowing.StepBorrow(m, nil); err != nil {
			t.Fatal(err)
		}
		m.Close() // freed when the refiner lets go
	}
	same(t, "refiner_bytes", []int64{byCallback.Bytes()}, ref.i64("refiner_bytes"))
	same(t, "refiner_borrow_bytes", []int64{borrowing.Bytes()}, ref.i64("refiner_borrow_bytes"))
	for _, r := range []*Refiner{byCallback, borrowing} {
		same(t, "refiner_labels", must(r.Labels()), ref.i32("refiner_labels"))
		same(t, "refiner_centroids", bitsOf(must(r.Centroids())), bitsOf(ref.f32("refiner_centroids")))
		same(t, "refiner_targets_all", bitsOf(must(r.TargetsOpts(nil, &TargetsOptions{Threads: 2}))),
			bitsOf(ref.f32("refiner_targets_all")))
		same(t, "refiner_targets_batch", bitsOf(must(r.Targets(batchRows))), bitsOf(ref.f32("refiner_targets_batch")))
	}
}
