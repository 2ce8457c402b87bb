package rlcc_test

import (
	"fmt"

	"librlcc.org/go/rlcc"
)

// Two blocks of rows (two ranks, say): each state is offered its own block
// (the triangle), then the pair once; the second block's state travels as
// bytes. The lists are KNN's.
func ExampleKNNState_UpdatePair() {
	x := []float32{0, 1, 3, 7, 8} // five rows, d = 1; blocks [0, 2) and [2, 5)
	a, _ := rlcc.NewKNNState(2, 0, 1, 2, nil)
	defer a.Close()
	b, _ := rlcc.NewKNNState(3, 2, 1, 2, nil)
	defer b.Close()
	a.Update(x[:2], x[:2], 2, 0)
	b.Update(x[2:], x[2:], 3, 2)
	a.UpdatePair(x[:2], b, x[2:])
	state, _ := b.Save() // sent to another process
	arrived, _ := rlcc.LoadKNNState(state, nil)
	defer arrived.Close()
	first, _, _ := a.Finish()
	second, _, _ := arrived.Finish()
	whole, _, _ := rlcc.KNN(x, 5, 1, 2, 0)
	fmt.Println(first, second)
	fmt.Println(whole)
	// Output:
	// [0 1 1 0] [2 1 3 4 4 3]
	// [0 1 1 0 2 1 3 4 4 3]
}

// The Jaccard distance of rows held in two blocks: a plan per block,
// offered both blocks, gives its weight rows; the Jaccard rows of the
// concatenated weights are Jaccard's, and their labels PseudoLabels'.
func ExampleJaccardPlan() {
	x := []float32{1, 0, 0.99, 0.141, 0, 1, 0.141, 0.99} // four unit rows, d = 2
	n, d := 4, 2
	o := rlcc.DefaultJaccardOptions()
	o.K1, o.K2 = 2, 1
	knn, _, _ := rlcc.KNN(x, n, d, o.K1, 0)
	blocks := [][2]int{{0, 1}, {1, 4}}
	var weights []rlcc.CSRMatrix
	for _, r := range blocks {
		plan, _ := rlcc.NewJaccardPlan(knn, n, r[0], r[1], d, &o)
		for _, f := range blocks {
			plan.Offer(x[r[0]*d:r[1]*d], x[f[0]*d:f[1]*d], f[1]-f[0], f[0])
		}
		w, _ := plan.Weights()
		weights = append(weights, w.Copy())
		w.Close()
		plan.Close()
	}
	v, _ := rlcc.ConcatRows(weights...)
	var rows []rlcc.CSRMatrix
	for _, r := range blocks {
		part, _ := rlcc.JaccardRows(v, knn, r[0], r[1], &o)
		rows = append(rows, part.Copy())
		part.Close()
	}
	graph, _ := rlcc.ConcatRows(rows...)
	whole, _ := rlcc.Jaccard(x, n, d, knn, &o)
	defer whole.Close()
	fmt.Println(graph.Indptr, graph.Indices)
	fmt.Println(whole.Matrix().Indptr, whole.Matrix().Indices)
	p := rlcc.DefaultPseudoOptions()
	p.K1, p.K2, p.Eps, p.MinSamples, p.Reliability = 2, 1, []float64{0.5}, 2, false
	labels, _ := rlcc.PseudoLabelsGraph(graph, &p)
	direct, _ := rlcc.PseudoLabelsKNN(x, n, d, knn, &p)
	fmt.Println(labels.Labels, direct.Labels)
	// Output:
	// [0 2 4 6 8] [0 1 0 1 2 3 2 3]
	// [0 2 4 6 8] [0 1 0 1 2 3 2 3]
	// [0 0 1 1] [0 0 1 1]
}
