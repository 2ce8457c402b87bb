package rlcc_test

import (
	"errors"
	"fmt"

	"librlcc.org/go/rlcc"
)

func ExampleCentroidsOpts() {
	x := []float32{1, 0, 0, 1, 3, 0}
	cents, _ := rlcc.CentroidsOpts(x, 3, 2, []int32{1, -1, 1}, 2, &rlcc.CentroidOptions{Threads: 2})
	fmt.Println(cents)
	_, err := rlcc.CentroidsOpts(x, 3, 2, []int32{1, -1, 1}, 2, &rlcc.CentroidOptions{MaxBytes: 8})
	fmt.Println(errors.Is(err, rlcc.ErrMemoryLimit))
	// Output:
	// [0 0 1 0]
	// true
}

func ExampleConsensusCountsOpts() {
	counts, kPrev, kCur, _ := rlcc.ConsensusCountsOpts([]int32{0, 0, 1, 1}, []int32{0, 1, 1, -1}, 0, 0, nil)
	fmt.Println(counts, kPrev, kCur)
	// Output: [1 1 0 1] 2 2
}

func ExampleConsensusOpts() {
	options := rlcc.DefaultConsensusOptions() // IoU, NormalizeSum
	options.Normalize = rlcc.NormalizeNone
	c, _, _, _ := rlcc.ConsensusOpts([]int32{0, 0, 1, 1}, []int32{0, 0, 0, 1}, 0, 0, &options)
	fmt.Println(c)
	// Output: [0.6666667 0 0.25 0.5]
}

func ExampleConsensusCSROpts() {
	m, _ := rlcc.ConsensusCSROpts([]int32{0, 0, 1, 1}, []int32{0, 0, 0, 1}, 0, 0, nil)
	defer m.Close()
	fmt.Println(m.Matrix().Data)
	// Output: [1 0.33333334 0.6666667]
}

func ExampleClassProbabilitiesOpts() {
	x := []float32{1, 0, 0, 1}
	cents := []float32{1, 0, 0, 1}
	options := rlcc.DefaultProbabilityOptions()
	options.Scale = 1
	p, _ := rlcc.ClassProbabilitiesOpts(x, 2, 2, cents, 2, []int64{1}, &options) // row 1 only
	fmt.Printf("%.4f\n", p)
	// Output: [0.2689 0.7311]
}

func ExamplePropagateOpts() {
	chat := rlcc.CSRMatrix{Rows: 2, Cols: 2, Indptr: []int64{0, 1, 3},
		Indices: []int32{0, 0, 1}, Data: []float32{1, 0.5, 0.5}}
	s, _ := rlcc.PropagateOpts([]int32{1, -1}, chat, nil, nil, &rlcc.PropagateOptions{Beta: 1}) // hard propagation
	fmt.Println(s)
	// Output: [0.5 0.5 0 0]
}

func ExampleBlendOpts() {
	t, _ := rlcc.BlendOpts([]int32{1, -1}, 2, []float32{0.5, 0.5, 1, 0}, nil, nil) // alpha 0.9
	fmt.Printf("%.2f\n", t)
	// Output: [0.05 0.95 0.00 0.00]
}

func ExampleRefiner_StepMatrixOpts() {
	pseudo := rlcc.DefaultPseudoOptions()
	pseudo.K1, pseudo.K2 = 10, 2
	r, _ := rlcc.NewRefiner(30, 2, &pseudo, nil)
	defer r.Close()
	x := unitCircle(30)
	padded := make([]float32, 0, 30*3) // rows of stride 3, width 2
	for i := 0; i < 30; i++ {
		padded = append(padded, x[2*i], x[2*i+1], 0)
	}
	stages := 0
	err := r.StepMatrixOpts(padded, 3, &rlcc.StepOptions{Threads: 2,
		Progress: func(rlcc.Stage, float64) bool { stages++; return false }})
	fmt.Println(err, r.Classes(), stages > 0)
	err = r.StepMatrixOpts(padded, 3, &rlcc.StepOptions{MaxBytes: 1000})
	fmt.Println(errors.Is(err, rlcc.ErrMemoryLimit), r.Generation())
	// Output:
	// <nil> 3 true
	// true 1
}

func ExampleRefiner_StepOpts() {
	pseudo := rlcc.DefaultPseudoOptions()
	pseudo.K1, pseudo.K2 = 10, 2
	r, _ := rlcc.NewRefiner(30, 2, &pseudo, nil)
	defer r.Close()
	x := unitCircle(30)
	err := r.StepOpts(func(start, count int, dst []float32, ld int) error {
		for i := 0; i < count; i++ {
			copy(dst[i*ld:i*ld+2], x[(start+i)*2:])
		}
		return nil
	}, &rlcc.StepOptions{Batch: 8, Threads: 1})
	fmt.Println(err, r.Classes())
	// Output: <nil> 3
}

func ExampleRefiner_StepBorrow() {
	pseudo := rlcc.DefaultPseudoOptions()
	pseudo.K1, pseudo.K2 = 10, 2
	r, _ := rlcc.NewRefiner(30, 2, &pseudo, nil)
	defer r.Close()
	for epoch := 0; epoch < 3; epoch++ {
		m, _ := rlcc.NewFeatureMatrix(30, 2) // C memory: the refiner may keep reading it
		copy(m.Data(), unitCircle(30))       // e.g. the model writes its features here
		if err := r.StepBorrow(m, nil); err != nil {
			panic(err)
		}
		m.Close() // freed when the refiner lets go: after its next step, or its Close
		targets, _ := r.Targets([]int64{0, 1})
		fmt.Println(r.Generation(), len(targets))
	}
	// Output:
	// 1 6
	// 2 6
	// 3 6
}

func ExampleRefiner_Bytes() {
	pseudo := rlcc.DefaultPseudoOptions()
	pseudo.K1, pseudo.K2 = 10, 2
	copying, _ := rlcc.NewRefiner(30, 2, &pseudo, nil)
	defer copying.Close()
	borrowing, _ := rlcc.NewRefiner(30, 2, &pseudo, nil)
	defer borrowing.Close()
	m, _ := rlcc.NewFeatureMatrix(30, 2)
	defer m.Close()
	copy(m.Data(), unitCircle(30))
	for epoch := 0; epoch < 2; epoch++ {
		_ = copying.StepMatrix(m.Data(), 8)
		_ = borrowing.StepBorrow(m, nil)
	}
	fmt.Println(copying.Bytes()-borrowing.Bytes(), "bytes: the copy of the 30 x 2 features")
	// Output: 240 bytes: the copy of the 30 x 2 features
}

func ExampleRefiner_TargetsOpts() {
	pseudo := rlcc.DefaultPseudoOptions()
	pseudo.K1, pseudo.K2 = 10, 2
	r, _ := rlcc.NewRefiner(30, 2, &pseudo, nil)
	defer r.Close()
	_ = r.StepMatrix(unitCircle(30), 8)
	_ = r.StepMatrix(unitCircle(30), 8)
	t, _ := r.TargetsOpts([]int64{4}, &rlcc.TargetsOptions{Threads: 1})
	fmt.Println(len(t))
	_, err := r.TargetsOpts(nil, &rlcc.TargetsOptions{MaxBytes: 8})
	fmt.Println(errors.Is(err, rlcc.ErrMemoryLimit))
	// Output:
	// 3
	// true
}

func ExampleFeatureMatrix() {
	m, _ := rlcc.NewFeatureMatrix(2, 3)
	rows := m.Data() // a view of C memory, valid until Close
	rows[4] = 1.5
	fmt.Println(m.Rows(), m.Cols(), rows)
	m.Close()
	fmt.Println(m.Data() == nil)
	// Output:
	// 2 3 [0 0 0 0 1.5 0]
	// true
}
