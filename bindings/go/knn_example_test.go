package rlcc_test

import (
	"fmt"

	"librlcc.org/go/rlcc"
)

// Rows held in pieces: the queries are rows 2, 3 and 4 of six; the
// reference rows come in two blocks, to two states (two machines, say),
// merged at the end. The lists are KNN's rows for those queries.
func ExampleKNNState() {
	x := []float32{0, 1, 3, 7, 8, 20} // six rows, d = 1
	queries := x[2:5]
	a, _ := rlcc.NewKNNState(3, 2, 1, 2, nil)
	defer a.Close()
	b, _ := rlcc.NewKNNState(3, 2, 1, 2, nil)
	defer b.Close()
	a.Update(queries, x[3:], 3, 3) // rows 3, 4, 5
	b.Update(queries, x[:3], 3, 0) // rows 0, 1, 2
	a.Merge(b)
	indices, sqdist, _ := a.Finish()
	whole, wholeSqdist, _ := rlcc.KNN(x, 6, 1, 2, 0)
	fmt.Println(indices, sqdist)
	fmt.Println(whole[2*2:5*2], wholeSqdist[2*2:5*2])
	// Output:
	// [2 1 3 4 4 3] [0 4 0 1 0 1]
	// [2 1 3 4 4 3] [0 4 0 1 0 1]
}

func ExampleNewKNNState() {
	s, _ := rlcc.NewKNNState(100, 200, 32, 10, &rlcc.KNNOptions{Threads: 2, MaxBytes: 1 << 26})
	defer s.Close()
	fmt.Println(s.NQueries(), s.QueryOffset(), s.D(), s.K())
	_, err := rlcc.NewKNNState(100, 0, 32, 0, nil)
	fmt.Println(err)
	// Output:
	// 100 200 32 10
	// rlcc: invalid argument: k: 0 must be in [1, INT32_MAX]
}

// The same slice as queries and refs, at the queries' own offset: the rows
// against themselves, each pair computed once.
func ExampleKNNState_Update() {
	x := []float32{0, 1, 3, 7}
	s, _ := rlcc.NewKNNState(4, 0, 1, 2, nil)
	defer s.Close()
	fmt.Println(s.Update(x, x, 4, 0))
	indices, _, _ := s.Finish()
	fmt.Println(indices)
	fmt.Println(s.Update(x[:3], x, 4, 0)) // queries must be NQueries x D
	// Output:
	// <nil>
	// [0 1 1 0 2 1 3 2]
	// rlcc: invalid argument: queries: length 3 is not 4 x 1
}

func ExampleKNNState_Merge() {
	x := []float32{0, 1, 3, 7}
	a, _ := rlcc.NewKNNState(4, 0, 1, 2, nil)
	defer a.Close()
	b, _ := rlcc.NewKNNState(4, 0, 1, 2, nil)
	defer b.Close()
	a.Update(x, x[:2], 2, 0)
	b.Update(x, x[2:], 2, 2)
	fmt.Println(a.Merge(b))
	indices, _, _ := a.Finish()
	fmt.Println(indices)
	other, _ := rlcc.NewKNNState(4, 4, 1, 2, nil) // other query rows
	defer other.Close()
	fmt.Println(a.Merge(other))
	// Output:
	// <nil>
	// [0 1 1 0 2 1 3 2]
	// rlcc: invalid argument: from: a state for 4 query rows at 4, d = 1, k = 2; into is for 4 at 0, d = 1, k = 2
}

func ExampleKNNState_Finish() {
	x := []float32{0, 1, 3}
	s, _ := rlcc.NewKNNState(3, 0, 1, 2, nil)
	defer s.Close()
	s.Update(x, x[:1], 1, 0)
	_, _, err := s.Finish() // one reference row, k = 2
	fmt.Println(err)
	s.Update(x, x[1:], 2, 1)
	indices, sqdist, _ := s.Finish()
	fmt.Println(indices, sqdist)
	// Output:
	// rlcc: invalid argument: state: query row 0 has 1 of its k = 2 neighbours (offer at least k reference rows)
	// [0 1 1 0 2 1] [0 1 0 1 0 4]
}

func ExampleKNNState_Stats() {
	x := []float32{0, 1, 3}
	a, _ := rlcc.NewKNNState(3, 0, 1, 1, nil)
	defer a.Close()
	b, _ := rlcc.NewKNNState(3, 0, 1, 1, nil)
	defer b.Close()
	a.Update(x, x[:1], 1, 0)
	b.Update(x, x[1:], 2, 1)
	a.Merge(b)
	stats, _ := a.Stats()
	fmt.Println(stats.Updates) // merged states' updates count
	// Output: 2
}

func ExampleKNNState_Close() {
	x := []float32{0, 1, 3}
	s, _ := rlcc.NewKNNState(3, 0, 1, 2, nil)
	s.Close()
	s.Close() // twice is fine
	fmt.Println(s.Update(x, x, 3, 0))
	// Output: rlcc: invalid argument: state: closed
}
