package rlcc

import (
	"fmt"
	"math"
	"reflect"
	"testing"
)

// DbscanOptions.Algorithm (librlcc 1.5): every neighbour search gives
// brute's labels on integer lattices with many pairs at exactly eps, and the
// library's refusals (the grid above d = 5, grid or tree with cosine) reach
// Go with their code and message.

var allAlgorithms = []Algorithm{AlgorithmAuto, AlgorithmBrute, AlgorithmGrid, AlgorithmKdTree}

// xorshift is a small deterministic generator (xorshift64*), the same
// sequence as the Rust test's.
type xorshift uint64

func (r *xorshift) below(bound uint64) uint64 {
	*r ^= *r >> 12
	*r ^= *r << 25
	*r ^= *r >> 27
	return (uint64(*r) * 0x2545f4914f6cdd1d >> 33) % bound
}

// lattice is n points of d integer coordinates: clumps (offsets in [-3, 3]
// around centres 12 apart, so with repeats) and a tenth of integer noise;
// far moves them to 4 x + 2048, still exact in float32. Every distance is
// the square root of an integer and many equal the lattice eps.
func lattice(seed uint64, n, d int, far bool) []float32 {
	rng := xorshift(0x9e3779b97f4a7c15 ^ seed*0x100000001b3)
	centres := make([]int64, 4*d)
	for i := range centres {
		centres[i] = int64(rng.below(4)) * 12
	}
	x := make([]float32, 0, n*d)
	for i := 0; i < n; i++ {
		noise := rng.below(10) == 0
		c := int(rng.below(4))
		for k := 0; k < d; k++ {
			var v int64
			if noise {
				v = int64(rng.below(54)) - 6
			} else {
				v = centres[c*d+k] + int64(rng.below(7)) - 3
			}
			if far {
				v = 4*v + 2048
			}
			x = append(x, float32(v))
		}
	}
	return x
}

func TestAlgorithmZeroValueIsAuto(t *testing.T) {
	var o DbscanOptions
	if o.Algorithm != AlgorithmAuto || AlgorithmAuto != 0 {
		t.Fatalf("zero Algorithm %d, AlgorithmAuto %d", o.Algorithm, AlgorithmAuto)
	}
	if AlgorithmBrute != 1 || AlgorithmGrid != 2 || AlgorithmKdTree != 3 || GridMaxDim != 5 {
		t.Fatalf("constants %d %d %d %d", AlgorithmBrute, AlgorithmGrid, AlgorithmKdTree, GridMaxDim)
	}
}

// Two points exactly eps apart are neighbours on every path.
func TestAlgorithmTieAtEpsIsANeighbour(t *testing.T) {
	x := []float32{0, 0, 1, 0, 4, 0, 4, 2}
	for _, algorithm := range allAlgorithms {
		for _, c := range []struct {
			eps  float64
			want []int32
		}{{1, []int32{0, 0, -1, -1}}, {2, []int32{0, 0, 1, 1}}} {
			got, err := DbscanFeatures(x, 4, 2, c.eps, 2, &DbscanOptions{Algorithm: algorithm})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Labels, c.want) {
				t.Fatalf("algorithm %d, eps %g: labels %v, want %v", algorithm, c.eps, got.Labels, c.want)
			}
		}
	}
}

// Each case at a lattice eps and at the double just below it: every
// algorithm and 1 or 2 threads give brute's labels, core flags, clusters and
// stats counts. The cases are not trivial: most have two clusters or more
// and noise, and in many the pairs at exactly eps change brute's labels.
func TestAlgorithmsGiveBruteLabelsOnLattices(t *testing.T) {
	cases, clustered, tieDecides := 0, 0, 0
	for _, d := range []int{2, 3} {
		for seed := 0; seed < 6; seed++ {
			n := 60 + 50*seed
			far := seed%3 == 2
			scale := 1.0
			if far {
				scale = 4
			}
			x := lattice(uint64(seed+100*d), n, d, far)
			for _, eps := range []float64{1, 2, 3, 1.5} {
				for _, minSamples := range []int{1, 2, 4, 6, 10} {
					var brute []*Clustering
					for _, radius := range []float64{scale * eps, math.Nextafter(scale*eps, 0)} {
						want, err := DbscanFeatures(x, n, d, radius, minSamples, &DbscanOptions{Algorithm: AlgorithmBrute})
						if err != nil {
							t.Fatal(err)
						}
						for _, algorithm := range allAlgorithms {
							for _, threads := range []int{1, 2} {
								o := DbscanOptions{Algorithm: algorithm, Threads: threads}
								got, err := DbscanFeatures(x, n, d, radius, minSamples, &o)
								if err != nil {
									t.Fatal(err)
								}
								// Redecided and PeakBytes are each path's own
								got.Stats.Redecided, got.Stats.PeakBytes = want.Stats.Redecided, want.Stats.PeakBytes
								if !reflect.DeepEqual(got, want) {
									t.Fatalf("algorithm %d, d = %d, seed %d, eps %g, min_samples %d, %d threads: %+v, brute %+v",
										algorithm, d, seed, radius, minSamples, threads, got, want)
								}
							}
						}
						brute = append(brute, want)
					}
					cases++
					if brute[0].Clusters >= 2 && brute[0].Stats.Noise > 0 {
						clustered++
					}
					if !reflect.DeepEqual(brute[0].Labels, brute[1].Labels) || !reflect.DeepEqual(brute[0].Core, brute[1].Core) {
						tieDecides++
					}
				}
			}
		}
	}
	if cases != 2*6*4*5 || clustered < cases/2 || tieDecides < cases/4 {
		t.Fatalf("%d cases: %d with clusters and noise, %d decided by ties at eps", cases, clustered, tieDecides)
	}
}

func TestAlgorithmGridRefusesDAbove5(t *testing.T) {
	x := make([]float32, 3*6)
	_, err := DbscanFeatures(x, 3, 6, 1, 2, &DbscanOptions{Algorithm: AlgorithmGrid})
	mustCode(t, err, ErrInvalidArgument, "options.algorithm: the grid (RLCC_DBSCAN_GRID) takes d <= 5, not d = 6")
	for _, algorithm := range []Algorithm{AlgorithmAuto, AlgorithmBrute, AlgorithmKdTree} {
		got, err := DbscanFeatures(x, 3, 6, 1, 2, &DbscanOptions{Algorithm: algorithm})
		if err != nil || !reflect.DeepEqual(got.Labels, []int32{0, 0, 0}) {
			t.Fatalf("algorithm %d at d = 6: %v, %v", algorithm, got, err)
		}
	}
	got, err := DbscanFeatures(make([]float32, 3*GridMaxDim), 3, GridMaxDim, 1, 2, &DbscanOptions{Algorithm: AlgorithmGrid})
	if err != nil || !reflect.DeepEqual(got.Labels, []int32{0, 0, 0}) {
		t.Fatalf("the grid at d = 5: %v, %v", got, err)
	}
}

func TestAlgorithmGridAndTreeRefuseCosine(t *testing.T) {
	x := []float32{1, 0, 0, 0, 1, 0, 0, 0, 1}
	_, err := DbscanFeatures(x, 3, 3, 0.1, 2, &DbscanOptions{Metric: MetricCosine, Algorithm: AlgorithmGrid})
	mustCode(t, err, ErrInvalidArgument, "options.algorithm: the grid (RLCC_DBSCAN_GRID) decides euclidean distances only")
	_, err = DbscanFeatures(x, 3, 3, 0.1, 2, &DbscanOptions{Metric: MetricCosine, Algorithm: AlgorithmKdTree})
	mustCode(t, err, ErrInvalidArgument, "options.algorithm: the tree (RLCC_DBSCAN_TREE) decides euclidean distances only")
	for _, algorithm := range []Algorithm{AlgorithmAuto, AlgorithmBrute} {
		got, err := DbscanFeatures(x, 3, 3, 0.1, 1, &DbscanOptions{Metric: MetricCosine, Algorithm: algorithm})
		if err != nil || !reflect.DeepEqual(got.Labels, []int32{0, 1, 2}) {
			t.Fatalf("cosine with algorithm %d: %v, %v", algorithm, got, err)
		}
	}
}

// A value the library does not know is refused with its message; the
// precomputed entry points check the value and otherwise ignore it.
func TestAlgorithmUnknownAndPrecomputed(t *testing.T) {
	x := []float32{0, 0, 1, 0}
	_, err := DbscanFeatures(x, 2, 2, 1, 1, &DbscanOptions{Algorithm: 4})
	mustCode(t, err, ErrInvalidArgument, "options.algorithm: 4 is not a known algorithm")
	_, err = DbscanDense([]float32{0, 1, 1, 0}, 2, 1, 1, &DbscanOptions{Algorithm: -1})
	mustCode(t, err, ErrInvalidArgument, "options.algorithm: -1 is not a known algorithm")
	dist := []float32{0, 0.5, 9, 0.5, 0, 9, 9, 9, 0}
	graph := CSRMatrix{Rows: 3, Cols: 3, Indptr: []int64{0, 1, 2, 2}, Indices: []int32{1, 0}, Data: []float32{0.5, 0.5}}
	for _, algorithm := range allAlgorithms {
		o := DbscanOptions{Algorithm: algorithm}
		dense, err := DbscanDense(dist, 3, 1, 2, &o)
		if err != nil || !reflect.DeepEqual(dense.Labels, []int32{0, 0, -1}) {
			t.Fatalf("dense, algorithm %d: %v, %v", algorithm, dense, err)
		}
		sparse, err := DbscanCSR(graph, 1, 2, &o)
		if err != nil || !reflect.DeepEqual(sparse.Labels, []int32{0, 0, -1}) {
			t.Fatalf("CSR, algorithm %d: %v, %v", algorithm, sparse, err)
		}
	}
}

func ExampleAlgorithm() {
	x := []float32{0, 0, 0, 1, 9, 9} // three points, d = 2
	for _, algorithm := range []Algorithm{AlgorithmAuto, AlgorithmBrute, AlgorithmGrid, AlgorithmKdTree} {
		c, err := DbscanFeatures(x, 3, 2, 1, 2, &DbscanOptions{Algorithm: algorithm})
		fmt.Println(c.Labels, err)
	}
	_, err := DbscanFeatures(make([]float32, 3*6), 3, 6, 1, 2, &DbscanOptions{Algorithm: AlgorithmGrid})
	fmt.Println(err != nil)
	// Output:
	// [0 0 -1] <nil>
	// [0 0 -1] <nil>
	// [0 0 -1] <nil>
	// [0 0 -1] <nil>
	// true
}
