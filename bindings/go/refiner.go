package rlcc

/*
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// FeaturesFunc fills rows [start, start+count) of the training set's
// features: row r goes to dst[r*ld : r*ld+d]. dst is the library's buffer,
// valid only during the call. A non-nil error stops the step.
type FeaturesFunc func(start, count int, dst []float32, ld int) error

// LogitsFunc fills the previous model's class logits (kPrev columns) of
// samples [start, start+count) into dst (row r at dst[r*ld:]); librlcc
// applies the softmax. A non-nil error stops the step.
type LogitsFunc func(start, count, kPrev int, dst []float32, ld int) error

// Stage is a part of a refiner step, reported to a ProgressFunc.
type Stage int32

// Stages (RLCC_STAGE_* in rlcc.h).
const (
	StageFeatures   Stage = C.RLCC_STAGE_FEATURES
	StageClustering Stage = C.RLCC_STAGE_CLUSTERING
	StageConsensus  Stage = C.RLCC_STAGE_CONSENSUS
	StageDone       Stage = C.RLCC_STAGE_DONE
)

// ProgressFunc is told the stage and the fraction of it done; returning
// true cancels the step (ErrCanceled; the refiner stays as it was).
type ProgressFunc func(stage Stage, fraction float64) (cancel bool)

// RefinerOptions are the consensus options of the refiner. Start from
// DefaultRefinerOptions().
type RefinerOptions struct {
	Alpha float32 // momentum of the current hard label (0.9)
	W     float32 // weight of the previous hard label in P' from generation 2 (0.9)
	Beta  float32 // share of hard propagation (0: soft only)
	Scale float32 // softmax scale of the centroid similarities (30)
}

// DefaultRefinerOptions are the library's defaults.
func DefaultRefinerOptions() RefinerOptions {
	var opts C.rlcc_refiner_options
	C.rlcc_refiner_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	return RefinerOptions{Alpha: float32(opts.alpha), W: float32(opts.w), Beta: float32(opts.beta),
		Scale: float32(opts.scale)}
}

// Refiner is RLCC across generations for N samples of dimension D: Step
// once per epoch, then Targets for each mini-batch. Close frees it. Its
// read methods may run concurrently; a Step excludes every other call on
// the same refiner (an overlapping call fails with "in use"), and so does
// SetKNN while it copies its lists.
type Refiner struct {
	handle *C.rlcc_refiner
	N, D   int
	k1     int // the pseudo options' K1: the width of SetKNN's lists
}

// NewRefiner makes a refiner; pseudo and options nil mean the defaults.
func NewRefiner(n, d int, pseudo *PseudoOptions, options *RefinerOptions) (*Refiner, error) {
	popts, err := pseudo.c()
	if err != nil {
		return nil, err
	}
	var ropts C.rlcc_refiner_options
	C.rlcc_refiner_options_init(&ropts, C.size_t(unsafe.Sizeof(ropts)))
	if options != nil {
		ropts.alpha, ropts.w = C.float(options.Alpha), C.float(options.W)
		ropts.beta, ropts.scale = C.float(options.Beta), C.float(options.Scale)
	}
	var handle *C.rlcc_refiner
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_refiner_new(C.int64_t(n), C.int64_t(d), &popts, &ropts, &handle,
		&captured), &captured); err != nil {
		return nil, err
	}
	r := &Refiner{handle: handle, N: n, D: d, k1: int(popts.k1)}
	runtime.SetFinalizer(r, (*Refiner).Close)
	return r, nil
}

// Close frees the refiner; it must not overlap another call on it.
// Calling it twice is fine.
func (r *Refiner) Close() {
	if r.handle != nil {
		C.rlcc_refiner_free(r.handle)
		r.handle = nil
		runtime.SetFinalizer(r, nil)
	}
}

func (r *Refiner) live() error {
	if r == nil || r.handle == nil {
		return invalid("refiner: closed")
	}
	return nil
}

// stepState is what the C callbacks reach through a cgo.Handle for the
// duration of one Step: C never holds a Go pointer.
type stepState struct {
	d        int
	features FeaturesFunc
	logits   LogitsFunc
	progress ProgressFunc
	failure  error // the first callback error or panic
}

// guard runs a callback, turning an error or a panic into state.failure.
func (s *stepState) guard(call func() error) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			s.failure = fmt.Errorf("callback panicked: %v", p)
			ok = false
		}
	}()
	if err := call(); err != nil {
		s.failure = err
		return false
	}
	return true
}

//export rlccGoFeatures
func rlccGoFeatures(start, count C.int64_t, rows *C.float, ld C.int64_t, handle C.uintptr_t) C.int64_t {
	s := cgo.Handle(handle).Value().(*stepState)
	dst := unsafe.Slice((*float32)(unsafe.Pointer(rows)), int(count)*int(ld))
	if !s.guard(func() error { return s.features(int(start), int(count), dst, int(ld)) }) {
		return -1
	}
	return count
}

//export rlccGoLogits
func rlccGoLogits(start, count, kPrev C.int64_t, logits *C.float, ld C.int64_t, handle C.uintptr_t) C.int64_t {
	s := cgo.Handle(handle).Value().(*stepState)
	dst := unsafe.Slice((*float32)(unsafe.Pointer(logits)), int(count)*int(ld))
	if !s.guard(func() error { return s.logits(int(start), int(count), int(kPrev), dst, int(ld)) }) {
		return -1
	}
	return count
}

//export rlccGoProgress
func rlccGoProgress(stage C.int32_t, fraction C.double, handle C.uintptr_t) C.int {
	s := cgo.Handle(handle).Value().(*stepState)
	cancel := false
	if !s.guard(func() error { cancel = s.progress(Stage(stage), float64(fraction)); return nil }) {
		return 1
	}
	if cancel {
		return 1
	}
	return 0
}

// Step runs one generation, reading the features through features in
// batches of batch rows. logits and progress may be nil. A callback's
// error or panic stops the step with an *Error of code CodeCallback whose
// Cause is that error (a panic in progress cancels: CodeCanceled). On any
// error the refiner is left as it was.
func (r *Refiner) Step(features FeaturesFunc, batch int, logits LogitsFunc, progress ProgressFunc) error {
	if err := r.live(); err != nil {
		return err
	}
	if features == nil {
		return invalid("features: nil")
	}
	state := &stepState{d: r.D, features: features, logits: logits, progress: progress}
	handle := cgo.NewHandle(state)
	defer handle.Delete()
	var captured C.rlcc_go_error
	code := C.rlcc_go_refiner_step(r.handle, C.uintptr_t(handle), C.int64_t(batch),
		C.int(boolInt(logits != nil)), C.int(boolInt(progress != nil)), &captured)
	runtime.KeepAlive(r)
	err := result(code, &captured)
	if err != nil && state.failure != nil {
		err.(*Error).Cause = state.failure
		err.(*Error).Message += ": " + state.failure.Error()
	}
	return err
}

// StepMatrix is Step over features already in memory (N x D row-major).
func (r *Refiner) StepMatrix(x []float32, batch int) error {
	if err := checkMatrix("x", len(x), r.N, r.D); err != nil {
		return err
	}
	return r.Step(func(start, count int, dst []float32, ld int) error {
		for i := 0; i < count; i++ {
			copy(dst[i*ld:i*ld+r.D], x[(start+i)*r.D:(start+i+1)*r.D])
		}
		return nil
	}, batch, nil, nil)
}

// SetKNN gives the kNN lists of the features the next Step reads (librlcc
// 1.3, rlcc_refiner_set_knn), for a trainer that computes them itself
// (faiss on a GPU, a KNNState across machines): N x K1 row-major, K1 of the
// refiner's PseudoOptions; Jaccard only. The library copies them, so the
// slice may change after the call. The next Step that succeeds uses them
// and drops them (the step after it computes its own again); a Step that
// fails or is cancelled keeps them. nil drops lists set before.
//
// The length N*K1 is checked in Go before the cgo call. The entries are
// checked by the step, as Jaccard checks them: a bad list makes that Step
// fail with ErrInvalidArgument and the library's message, and leaves the
// refiner as it was. A refiner whose metric is not Jaccard refuses lists at
// once, and so does a refiner in a Step ("in use"), e.g. from the Step's
// own callback. While SetKNN copies, the refiner is claimed as by a step: a
// call from another goroutine at that moment is refused as in use
// (Generation and Classes answer -1).
func (r *Refiner) SetKNN(knn []int64) error {
	if err := r.live(); err != nil {
		return err
	}
	if knn != nil {
		// the library copies N x K1 entries of a K1 it has not checked yet
		if r.k1 < 1 {
			return invalid("knn: the refiner's K1 is %d; lists need K1 >= 1", r.k1)
		}
		if err := checkMatrix("knn", len(knn), r.N, r.k1); err != nil {
			return err
		}
	}
	defer runtime.KeepAlive(r)
	var captured C.rlcc_go_error
	return result(C.rlcc_go_refiner_set_knn(r.handle, int64s(knn), &captured), &captured)
}

// Generation is the number of generations completed (-1 while a step runs).
func (r *Refiner) Generation() int {
	if r.live() != nil {
		return 0
	}
	defer runtime.KeepAlive(r)
	return int(C.rlcc_refiner_generation(r.handle))
}

// Classes is the latest generation's class count (-1 while a step runs).
func (r *Refiner) Classes() int {
	if r.live() != nil {
		return 0
	}
	defer runtime.KeepAlive(r)
	return int(C.rlcc_refiner_n_classes(r.handle))
}

// Threshold is the reliability threshold in use (NaN while a step runs).
func (r *Refiner) Threshold() float64 {
	if r.live() != nil {
		return 0
	}
	defer runtime.KeepAlive(r)
	return float64(C.rlcc_refiner_threshold(r.handle))
}

// Labels are the latest generation's labels (N).
func (r *Refiner) Labels() ([]int32, error) {
	if err := r.live(); err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(r)
	labels := make([]int32, r.N)
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_refiner_labels(r.handle, int32s(labels), &captured), &captured); err != nil {
		return nil, err
	}
	return labels, nil
}

// classes is Classes() for sizing an output: the refiner must be open and
// no step running (Classes() is -1 during a step).
func (r *Refiner) classes() (int, error) {
	if err := r.live(); err != nil {
		return 0, err
	}
	k := r.Classes()
	if k < 0 {
		return 0, invalid("refiner: in use")
	}
	return k, nil
}

// Centroids are the latest generation's class centroids (Classes() x D).
func (r *Refiner) Centroids() ([]float32, error) {
	k, err := r.classes()
	if err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(r)
	out := make([]float32, k*r.D)
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_refiner_centroids(r.handle, floats(out), C.int64_t(r.D), &captured), &captured); err != nil {
		return nil, err
	}
	return out, nil
}

// Targets are the latest generation's training targets for the samples in
// rows (nil: every sample): len(rows) x Classes() row-major.
func (r *Refiner) Targets(rows []int64) ([]float32, error) {
	k, err := r.classes()
	if err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(r)
	rowsPtr, nRows := rowsArg(rows, r.N)
	out := make([]float32, int(nRows)*k)
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_refiner_targets(r.handle, rowsPtr, nRows, floats(out), C.int64_t(k), &captured), &captured); err != nil {
		return nil, err
	}
	return out, nil
}
