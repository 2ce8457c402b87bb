package rlcc_test

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"strings"

	"librlcc.org/go/rlcc"
)

// A trainer checkpoints its refiner after an epoch and resumes from the
// bytes: the restored refiner's next step is the one the refiner that never
// stopped takes, bit for bit.
func ExampleRefiner_Save() {
	pseudo := rlcc.DefaultPseudoOptions()
	pseudo.K1, pseudo.K2 = 10, 2
	r, _ := rlcc.NewRefiner(30, 2, &pseudo, nil)
	defer r.Close()
	x := unitCircle(30)
	_ = r.StepMatrix(x, 8)
	_ = r.StepMatrix(x, 8)
	state, _ := r.Save() // to a file, a database, a trainer's checkpoint
	fmt.Println(len(state), string(state[1:6]))

	restored, _ := rlcc.LoadRefiner(state, nil)
	defer restored.Close()
	_ = r.StepMatrix(x, 8)
	_ = restored.StepMatrix(x, 8)
	a, _ := r.Save()
	b, _ := restored.Save()
	fmt.Println(restored.Generation(), bytes.Equal(a, b))
	// Output:
	// 724 RLCCR
	// 3 true
}

func ExampleLoadRefiner() {
	pseudo := rlcc.DefaultPseudoOptions()
	pseudo.K1, pseudo.K2 = 10, 2
	r, _ := rlcc.NewRefiner(30, 2, &pseudo, nil)
	defer r.Close()
	_ = r.StepMatrix(unitCircle(30), 8)
	state, _ := r.Save()

	loaded, err := rlcc.LoadRefiner(state, &rlcc.LoadOptions{Threads: 2})
	fmt.Println(err, loaded.Generation(), loaded.Classes())
	loaded.Close()
	_, err = rlcc.LoadRefiner(state[:len(state)-1], nil) // truncated
	fmt.Println(errors.Is(err, rlcc.ErrInvalidArgument))
	fmt.Println(err)
	state[200] ^= 1 // corrupted
	_, err = rlcc.LoadRefiner(state, nil)
	fmt.Println(strings.Contains(err.Error(), "state: checksum mismatch"), strings.HasSuffix(err.Error(), "the bytes are corrupted"))
	// Output:
	// <nil> 1 3
	// true
	// rlcc: invalid argument: state: truncated: 339 bytes of the 340 its header declares
	// true true
}

// A *Refiner is an encoding.BinaryMarshaler and BinaryUnmarshaler, so gob
// stores it whole inside a trainer's own checkpoint struct.
func ExampleRefiner_MarshalBinary() {
	type checkpoint struct {
		Epoch   int
		Refiner *rlcc.Refiner
	}
	pseudo := rlcc.DefaultPseudoOptions()
	pseudo.K1, pseudo.K2 = 10, 2
	r, _ := rlcc.NewRefiner(30, 2, &pseudo, nil)
	defer r.Close()
	_ = r.StepMatrix(unitCircle(30), 8)

	var file bytes.Buffer
	_ = gob.NewEncoder(&file).Encode(checkpoint{Epoch: 1, Refiner: r})
	var back checkpoint
	err := gob.NewDecoder(&file).Decode(&back)
	defer back.Refiner.Close() // a decoded refiner has no finalizer: Close it
	labels, _ := back.Refiner.Labels()
	fmt.Println(err, back.Epoch, back.Refiner.N, back.Refiner.Classes(), labels[:6])
	// Output: <nil> 1 30 3 [0 1 2 0 1 2]
}
