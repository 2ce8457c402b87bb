package rlcc_test

import (
	"fmt"

	"librlcc.org/go/rlcc"
)

// Pseudo labels on kNN lists computed elsewhere (faiss on a GPU, a KNNState
// across machines; KNN here): librlcc's own lists give its own labels.
func ExamplePseudoLabelsKNN() {
	options := rlcc.DefaultPseudoOptions()
	options.K1, options.K2 = 10, 2
	x := unitCircle(30)
	lists, _, _ := rlcc.KNN(x, 30, 2, options.K1, 0) // 30 x K1
	given, _ := rlcc.PseudoLabelsKNN(x, 30, 2, lists, &options)
	own, _ := rlcc.PseudoLabels(x, 30, 2, &options)
	fmt.Println(given.Classes, given.Labels[:6], own.Labels[:6])
	_, err := rlcc.PseudoLabelsKNN(x, 30, 2, lists[1:], &options)
	fmt.Println(err)
	lists[1] = 30
	_, err = rlcc.PseudoLabelsKNN(x, 30, 2, lists, &options)
	fmt.Println(err)
	// Output:
	// 3 [0 1 2 0 1 2] [0 1 2 0 1 2]
	// rlcc: invalid argument: knn: length 299 is not 30 x 10
	// rlcc: invalid argument: knn: entry 1 of row 0 is 30, outside [0, 30)
}

// Each generation's lists, given before its step; the step uses them once.
func ExampleRefiner_SetKNN() {
	pseudo := rlcc.DefaultPseudoOptions()
	pseudo.K1, pseudo.K2 = 10, 2
	x := unitCircle(30)
	own, _ := rlcc.NewRefiner(30, 2, &pseudo, nil)
	given, _ := rlcc.NewRefiner(30, 2, &pseudo, nil)
	defer own.Close()
	defer given.Close()
	lists, _, _ := rlcc.KNN(x, 30, 2, pseudo.K1, 0) // this generation's features' lists
	if err := given.SetKNN(lists); err != nil {
		panic(err)
	}
	_ = given.StepMatrix(x, 8)
	_ = own.StepMatrix(x, 8)
	a, _ := given.Labels()
	b, _ := own.Labels()
	fmt.Println(given.Generation(), a[:6], b[:6])
	fmt.Println(given.SetKNN(lists[:10]))
	fmt.Println(given.SetKNN(nil)) // drops lists set before (none here)
	// Output:
	// 1 [0 1 2 0 1 2] [0 1 2 0 1 2]
	// rlcc: invalid argument: knn: length 10 is not 30 x 10
	// <nil>
}
