package rlcc

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"encoding"
	"encoding/binary"
	"math"
	"runtime"
	"unsafe"
)

// Refiner checkpoints (librlcc 1.6, rlcc_refiner_save / rlcc_refiner_load):
// Save, LoadRefiner and LoadOptions, and the encoding.BinaryMarshaler /
// BinaryUnmarshaler pair over them, so encoding/gob (and any encoder that
// honours them) stores a *Refiner as its whole state. Without the pair, gob
// would store a Refiner as its exported fields N and D alone, and decode a
// refiner with no library state, silently.

// StateFormat is the latest checkpoint format version this package reads
// the header of (RLCC_STATE_FORMAT, 2 with librlcc 1.7): Save writes a
// DBSCAN refiner in format 1 (what librlcc 1.6 reads), an InfoMap or
// k-means refiner in format 2.
// docs/stability.md ("Checkpoint format") gives the bytes.
const StateFormat = C.RLCC_STATE_FORMAT

var (
	_ encoding.BinaryMarshaler   = (*Refiner)(nil)
	_ encoding.BinaryUnmarshaler = (*Refiner)(nil)
)

// LoadOptions are the options of LoadRefiner (rlcc_load_options), for the
// load only, never for the refiner it makes. The zero value (or nil) is the
// library's default: every OpenMP thread, the saved refiner's budget.
type LoadOptions struct {
	// Threads for the checks of the loaded arrays; 0: every OpenMP thread.
	// Never the saved refiner's threads (bytes from elsewhere do not choose
	// this call's threads); the new refiner's steps and targets default to
	// the saved PseudoOptions.Threads.
	Threads int
	// MaxBytes bounds what the load allocates: the new refiner's arrays plus
	// the call's working memory (about 8 n + 9 (K + K') bytes, and 8 n for
	// the features check). 0: the saved refiner's budget
	// (PseudoOptions.MaxBytes), which stays the new refiner's own budget
	// whatever this says.
	MaxBytes int64
}

func (o *LoadOptions) c() C.rlcc_load_options {
	var opts C.rlcc_load_options
	C.rlcc_load_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	if o != nil {
		opts.n_threads, opts.max_bytes = clampInt32(o.Threads), C.int64_t(o.MaxBytes)
	}
	return opts
}

// Save is the refiner's state as bytes (rlcc_refiner_save): everything the
// next step and the current generation's targets read (the options, the
// labels and centroids of two generations, the logits' probabilities or the
// features the targets read, kNN lists given to SetKNN for the next step),
// little-endian at fixed offsets with a CRC-32C at the end. Not in it: the
// callbacks, which every step takes anyway. The same state always gives the
// same bytes. Usable at every generation, 0 included.
//
// Save asks the library for the size, then for the bytes; a step that
// commits in between (from another goroutine) changes the size, and Save
// asks again. It is a reader, as Targets: it may run at once with the other
// read methods, is refused ("in use") while a step runs, and must not
// overlap Close. After StepBorrow it reads the FeatureMatrix, which the
// refiner holds until its next step: its rows must still be what the step
// read.
func (r *Refiner) Save() ([]byte, error) {
	if err := r.live(); err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(r)
	var size C.size_t
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_refiner_save(r.handle, nil, 0, &size, &captured), &captured); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		if uint64(size) > math.MaxInt {
			return nil, invalid("refiner: its state of %d bytes does not fit a Go slice", uint64(size))
		}
		state := make([]byte, int(size))
		capacity := size
		var ptr unsafe.Pointer
		if len(state) > 0 {
			ptr = unsafe.Pointer(&state[0])
		}
		err := result(C.rlcc_go_refiner_save(r.handle, ptr, capacity, &size, &captured), &captured)
		if err == nil {
			return state[:int(size)], nil
		}
		// refused with a larger size: a step committed between the two calls
		if size <= capacity || attempt == 2 {
			return nil, err
		}
	}
}

// LoadRefiner makes a refiner from bytes Save wrote (rlcc_refiner_load; this
// or an earlier librlcc's). Its generation, labels, centroids, threshold,
// targets and Bytes are those of the refiner that was saved, and so is
// every later step given the same features and callbacks, bit for bit: a
// loaded refiner takes its callbacks at each step, as one made by
// NewRefiner does. The saved Threads and MaxBytes stay its defaults for its
// steps and targets. Features a StepBorrow left borrowed at the save are
// its own copy now (so Bytes counts 4 N D more until its next step).
//
// The bytes are never trusted: the library checks everything before it
// makes the refiner, and a truncated, corrupted or foreign state is refused
// with ErrInvalidArgument and a message that starts "state: " and names
// what is wrong. options (nil: the defaults) bound this call only. state is
// read during the call only. Close the refiner when done (it has a
// finalizer, as NewRefiner's).
func LoadRefiner(state []byte, options *LoadOptions) (*Refiner, error) {
	handle, n, d, k1, err := load(state, options)
	if err != nil {
		return nil, err
	}
	r := &Refiner{handle: handle, N: n, D: d, k1: k1}
	runtime.SetFinalizer(r, (*Refiner).Close)
	return r, nil
}

// load is rlcc_refiner_load, then the shape from the header of the state
// the library accepted.
func load(state []byte, options *LoadOptions) (handle *C.rlcc_refiner, n, d, k1 int, err error) {
	opts := options.c()
	var ptr unsafe.Pointer
	if len(state) > 0 {
		ptr = unsafe.Pointer(&state[0])
	}
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_refiner_load(ptr, C.size_t(len(state)), &opts, &handle, &captured), &captured); err != nil {
		return nil, 0, 0, 0, err
	}
	// The library accepted the bytes, so they hold a header of a format it
	// knows; N, D and the kNN list width are read where formats 1 and 2 have
	// them (docs/stability.md), as the Python binding does. A later format
	// (a newer librlcc under this package) is refused rather than read at
	// offsets it may not keep.
	format := binary.LittleEndian.Uint32(state[8:])
	n64, d64 := int64(binary.LittleEndian.Uint64(state[32:])), int64(binary.LittleEndian.Uint64(state[40:]))
	width := int(int32(binary.LittleEndian.Uint32(state[100:]))) // k1
	if format >= 2 && int32(binary.LittleEndian.Uint32(state[140:])) == C.RLCC_PSEUDO_INFOMAP {
		width = int(int32(binary.LittleEndian.Uint32(state[192:]))) // infomap_k
	}
	switch {
	case format == 0 || format > StateFormat:
		err = invalid("state: format version %d, which this rlcc package cannot read the shape of (it knows format %d)",
			format, StateFormat)
	case n64 > math.MaxInt || d64 > math.MaxInt:
		err = invalid("state: %d x %d features do not fit int", n64, d64)
	}
	if err != nil {
		C.rlcc_refiner_free(handle)
		return nil, 0, 0, 0, err
	}
	return handle, int(n64), int(d64), width, nil
}

// MarshalBinary is Save (encoding.BinaryMarshaler).
func (r *Refiner) MarshalBinary() ([]byte, error) {
	return r.Save()
}

// UnmarshalBinary loads bytes from Save or MarshalBinary into r
// (encoding.BinaryUnmarshaler), with the default LoadOptions; encoding/gob
// calls it for a *Refiner it decodes. r must be a zero Refiner
// (new(Refiner), or what gob allocates): a refiner made by NewRefiner or
// LoadRefiner, open or closed, is refused rather than replaced, since its
// read methods may be running in other goroutines on the library refiner a
// replacement would free. Use LoadRefiner for a new one. UnmarshalBinary
// must not overlap any other call on r. A refused state leaves r as it was.
//
// A refiner filled this way has no finalizer: r may be a field inside
// another value, where runtime.SetFinalizer cannot be used. Close it.
func (r *Refiner) UnmarshalBinary(state []byte) error {
	if r == nil {
		return invalid("refiner: nil")
	}
	if r.handle != nil || r.N != 0 || r.D != 0 {
		return invalid("refiner: UnmarshalBinary loads into a zero Refiner only; this one was made by " +
			"NewRefiner or LoadRefiner (use LoadRefiner for a new one)")
	}
	handle, n, d, k1, err := load(state, nil)
	if err != nil {
		return err
	}
	r.handle, r.N, r.D, r.k1 = handle, n, d, k1
	return nil
}
