package rlcc_test

import (
	"fmt"
	"math"

	"librlcc.org/go/rlcc"
)

func ExampleDbscanFeatures() {
	x := []float32{0, 0.5, 1, 10, 10.5, 40} // six points, d = 1
	c, err := rlcc.DbscanFeatures(x, 6, 1, 0.6, 2, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Labels, c.Clusters)
	// Output: [0 0 0 1 1 -1] 2
}

func ExampleDbscanDense() {
	dist := []float32{
		0, 1, 9,
		1, 0, 9,
		9, 9, 0,
	}
	c, _ := rlcc.DbscanDense(dist, 3, 1, 2, nil)
	fmt.Println(c.Labels)
	// Output: [0 0 -1]
}

func ExampleDbscanCSR() {
	graph := rlcc.CSRMatrix{Rows: 3, Cols: 3, Indptr: []int64{0, 1, 2, 2},
		Indices: []int32{1, 0}, Data: []float32{0.2, 0.2}}
	c, _ := rlcc.DbscanCSR(graph, 0.5, 2, nil)
	fmt.Println(c.Labels)
	// Output: [0 0 -1]
}

// unitCircle gives n unit rows in three directions, d = 2.
func unitCircle(n int) []float32 {
	x := make([]float32, 0, 2*n)
	for i := 0; i < n; i++ {
		angle := float64(i%3)*2 + float64(i)*0.001
		x = append(x, float32(math.Cos(angle)), float32(math.Sin(angle)))
	}
	return x
}

func ExampleKNN() {
	x := []float32{0, 1, 3, 7}
	indices, sqdist, _ := rlcc.KNN(x, 4, 1, 2, 0)
	fmt.Println(indices, sqdist)
	// Output: [0 1 1 0 2 1 3 2] [0 1 0 1 0 4 0 16]
}

func ExampleJaccard() {
	options := rlcc.DefaultJaccardOptions()
	options.K1, options.K2 = 4, 1
	m, _ := rlcc.Jaccard(unitCircle(12), 12, 2, nil, &options)
	defer m.Close()
	row := m.Matrix()
	fmt.Println(row.Rows, row.Indices[row.Indptr[0]:row.Indptr[1]])
	// Output: 12 [0 3 6 9]
}

func ExampleJaccardDense() {
	options := rlcc.DefaultJaccardOptions()
	options.K1, options.K2 = 4, 1
	dist, _ := rlcc.JaccardDense(unitCircle(12), 12, 2, nil, &options)
	fmt.Println(dist[0*12+3] < 1, dist[0*12+1])
	// Output: true 1
}

func ExamplePseudoLabels() {
	options := rlcc.DefaultPseudoOptions()
	options.K1, options.K2 = 10, 2
	got, _ := rlcc.PseudoLabels(unitCircle(30), 30, 2, &options)
	fmt.Println(got.Classes, got.Labels[:6])
	// Output: 3 [0 1 2 0 1 2]
}

func ExampleCentroids() {
	x := []float32{1, 0, 0, 1, 3, 0}
	cents, _ := rlcc.Centroids(x, 3, 2, []int32{1, -1, 1}, 2)
	fmt.Println(cents)
	// Output: [0 0 1 0]
}

func ExampleConsensusCounts() {
	counts, kPrev, kCur, _ := rlcc.ConsensusCounts([]int32{0, 0, 1, 1}, []int32{0, 1, 1, -1}, 0, 0)
	fmt.Println(counts, kPrev, kCur)
	// Output: [1 1 0 1] 2 2
}

func ExampleConsensus() {
	c, _, _, _ := rlcc.Consensus([]int32{0, 0, 1, 1}, []int32{0, 0, 0, 1}, 0, 0, rlcc.IoU, rlcc.NormalizeNone)
	fmt.Println(c)
	// Output: [0.6666667 0 0.25 0.5]
}

func ExampleConsensusCSR() {
	m, _ := rlcc.ConsensusCSR([]int32{0, 0, 1, 1}, []int32{0, 0, 0, 1}, 0, 0, rlcc.IoU, rlcc.NormalizeSum)
	defer m.Close()
	fmt.Println(m.Matrix().Data)
	// Output: [1 0.33333334 0.6666667]
}

func ExampleClassProbabilities() {
	x := []float32{1, 0}
	cents := []float32{1, 0, 0, 1}
	p, _ := rlcc.ClassProbabilities(x, 1, 2, cents, 2, 1, nil, 0)
	fmt.Printf("%.4f\n", p)
	// Output: [0.7311 0.2689]
}

func ExamplePropagate() {
	chat := rlcc.CSRMatrix{Rows: 2, Cols: 2, Indptr: []int64{0, 1, 3},
		Indices: []int32{0, 0, 1}, Data: []float32{1, 0.5, 0.5}}
	s, _ := rlcc.Propagate([]int32{1, -1}, chat, nil, 0, 1, nil) // hard propagation
	fmt.Println(s)
	// Output: [0.5 0.5 0 0]
}

func ExampleBlend() {
	t, _ := rlcc.Blend([]int32{1, -1}, 2, []float32{0.5, 0.5, 1, 0}, 0.9, nil)
	fmt.Printf("%.2f\n", t)
	// Output: [0.05 0.95 0.00 0.00]
}

func ExampleRefiner() {
	pseudo := rlcc.DefaultPseudoOptions()
	pseudo.K1, pseudo.K2 = 10, 2
	r, _ := rlcc.NewRefiner(30, 2, &pseudo, nil)
	defer r.Close()
	x := unitCircle(30)
	for epoch := 0; epoch < 2; epoch++ {
		if err := r.StepMatrix(x, 8); err != nil { // features in memory: the library's matrix step
			panic(err)
		}
	}
	targets, _ := r.Targets([]int64{0})
	fmt.Println(r.Generation(), r.Classes(), len(targets))
	// Output: 2 3 3
}

func ExampleRefiner_Step() {
	pseudo := rlcc.DefaultPseudoOptions()
	pseudo.K1, pseudo.K2 = 10, 2
	r, _ := rlcc.NewRefiner(30, 2, &pseudo, nil)
	defer r.Close()
	x := unitCircle(30) // or read from disk, batch rows at a time
	err := r.Step(func(start, count int, dst []float32, ld int) error {
		for i := 0; i < count; i++ {
			copy(dst[i*ld:i*ld+2], x[(start+i)*2:])
		}
		return nil
	}, 8, nil, nil)
	fmt.Println(err, r.Generation(), r.Classes())
	// Output: <nil> 1 3
}
