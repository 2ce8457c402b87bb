package rlcc

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"math"
	"runtime"
	"runtime/cgo"
	"sync"
	"sync/atomic"
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
	k1     int // the width of SetKNN's lists: K1, or InfomapK for PseudoInfoMap
	// mu guards running, borrowed and the freeing of handle; it is held
	// for moments only, never while a step runs, so a callback of the step
	// can take it.
	mu sync.Mutex
	// running is set while a step runs: a second step is refused (as the
	// library would), and Close leaves the freeing to the step.
	running bool
	// closing is set by a Close during a step (from the step's own
	// callback, or from another goroutine): the step stops at its next
	// progress report and frees the refiner when the library returns.
	closing atomic.Bool
	// borrowed is the matrix the last step that succeeded borrowed
	// (StepBorrow), which the library may read until the next step
	// succeeds or the refiner is freed; nil otherwise.
	borrowed *FeatureMatrix
}

// NewRefiner makes a refiner; pseudo and options nil mean the defaults.
func NewRefiner(n, d int, pseudo *PseudoOptions, options *RefinerOptions) (*Refiner, error) {
	popts, err := pseudo.c()
	if err != nil {
		return nil, err
	}
	if pseudo != nil && pseudo.Init != nil {
		return nil, invalid("pseudo: Init must be nil here; each generation starts from faiss's start rows of its own features")
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
	k1 := int(popts.k1)
	if pseudo != nil {
		k1 = pseudo.knnWidth()
	}
	r := &Refiner{handle: handle, N: n, D: d, k1: k1}
	runtime.SetFinalizer(r, (*Refiner).Close)
	return r, nil
}

// Close frees the refiner, and lets go of a FeatureMatrix its last step
// borrowed. It never waits: during a step, from one of the step's own
// callbacks or from another goroutine, it marks the refiner closed and
// returns; the step then stops at its next progress report (or runs to its
// end when none is left) and frees the refiner once the library has
// returned, and that step returns an error of code CodeCanceled. Every
// call from then on, the callbacks' own included, finds the refiner
// closed. Close must not overlap any call other than a step. Calling it
// twice is fine.
//
// (Freeing the refiner from inside its own callback would pull the memory
// from under the running step, and waiting for the step there would wait
// for itself: deferring is the only safe answer.)
func (r *Refiner) Close() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		r.closing.Store(true)
		return
	}
	r.free()
}

// free releases the library's refiner and the matrix its last step
// borrowed; r.mu is held and no step runs.
func (r *Refiner) free() {
	if r.handle != nil {
		C.rlcc_refiner_free(r.handle)
		r.handle = nil
		runtime.SetFinalizer(r, nil)
	}
	if r.borrowed != nil {
		r.borrowed.release()
		r.borrowed = nil
	}
}

func (r *Refiner) live() error {
	if r == nil || r.handle == nil || r.closing.Load() {
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
	progress ProgressFunc // may be nil: the report is still taken, to stop a closed refiner's step
	closing  *atomic.Bool // the refiner's: Close was called during the step
	failure  error        // the first callback error or panic
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
	if s.closing.Load() { // Close was called during the step: stop it here
		return 1
	}
	if s.progress == nil {
		return 0
	}
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
	return r.run(features, logits, progress, nil, func(handle C.uintptr_t, captured *C.rlcc_go_error) C.int {
		return C.rlcc_go_refiner_step(r.handle, handle, C.int64_t(batch), C.int(boolInt(logits != nil)), 1,
			captured)
	})
}

// StepOptions are the options of a step (librlcc 1.4, rlcc_step_options)
// for StepOpts, StepMatrixOpts and StepBorrow. The zero value is the
// library's default: batches of 1024 rows, no logits, no progress, the
// refiner's threads and budget.
type StepOptions struct {
	Batch    int          // rows per features or logits call; 0: 1024
	Logits   LogitsFunc   // the previous model's class logits, instead of the centroid similarities; nil: none
	Progress ProgressFunc // told each stage; may cancel; nil: none
	Threads  int          // 0: the refiner's (PseudoOptions.Threads); the generation never depends on it
	// MaxBytes bounds what the refiner holds plus what the step allocates
	// while it runs; 0: the refiner's budget (PseudoOptions.MaxBytes).
	MaxBytes int64
}

// DefaultStepOptions are the library's defaults (Batch 1024).
func DefaultStepOptions() StepOptions {
	var opts C.rlcc_step_options
	C.rlcc_step_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	return StepOptions{Batch: int(opts.batch), Threads: int(opts.n_threads), MaxBytes: int64(opts.max_bytes)}
}

// scalars are the options as the shim takes them; a zero Batch is the
// library's default.
func (o *StepOptions) scalars() (batch C.int64_t, threads C.int32_t, maxBytes C.int64_t, logits LogitsFunc, progress ProgressFunc) {
	def := DefaultStepOptions()
	if o == nil {
		o = &def
	}
	batch = C.int64_t(o.Batch)
	if o.Batch == 0 {
		batch = C.int64_t(def.Batch)
	}
	return batch, clampInt32(o.Threads), C.int64_t(o.MaxBytes), o.Logits, o.Progress
}

// StepOpts is Step with the step's options (librlcc 1.4,
// rlcc_refiner_step_opts): its batch, callbacks, threads and memory bound.
// The same generation, bit for bit, as Step with the same batch.
func (r *Refiner) StepOpts(features FeaturesFunc, options *StepOptions) error {
	if err := r.live(); err != nil {
		return err
	}
	if features == nil {
		return invalid("features: nil")
	}
	batch, threads, maxBytes, logits, progress := options.scalars()
	return r.run(features, logits, progress, nil, func(handle C.uintptr_t, captured *C.rlcc_go_error) C.int {
		return C.rlcc_go_refiner_step_opts(r.handle, handle, batch, C.int(boolInt(logits != nil)), 1,
			threads, maxBytes, captured)
	})
}

// StepMatrix is Step over features already in memory (N x D row-major),
// through the library's matrix step (rlcc_refiner_step_matrix, librlcc
// 1.4): no callback and no copy while the step runs; the refiner copies the
// rows only when its later targets read them (Beta < 1, no logits). batch
// is checked (>= 1) as Step's. The same generation, bit for bit, as Step
// over the same rows.
func (r *Refiner) StepMatrix(x []float32, batch int) error {
	if err := checkMatrix("x", len(x), r.N, r.D); err != nil {
		return err
	}
	return r.stepMatrix(x, r.D, C.int64_t(batch), &StepOptions{})
}

// StepMatrixOpts is StepMatrix with a row stride and the step's options:
// row i of the features is x[i*ld : i*ld+D] (ld >= D), so len(x) is at
// least (N-1)*ld + D and at most N*ld, checked before the cgo call. x is
// read during the call only (the library copies what it keeps).
func (r *Refiner) StepMatrixOpts(x []float32, ld int, options *StepOptions) error {
	if err := checkStrided("x", len(x), r.N, r.D, ld); err != nil {
		return err
	}
	batch, _, _, _, _ := options.scalars()
	return r.stepMatrix(x, ld, batch, options)
}

// checkStrided refuses a slice that does not hold rows rows of width cols
// at stride ld: at least (rows-1)*ld + cols values, at most rows*ld.
func checkStrided(name string, length, rows, cols, ld int) error {
	if err := checkShape(name, rows, cols); err != nil {
		return err
	}
	if ld < cols || ld < 1 {
		return invalid("ld: %d is smaller than d = %d", ld, cols)
	}
	if rows > 0 && rows-1 > (math.MaxInt-cols)/ld {
		return invalid("%s: %d rows of stride %d overflow", name, rows, ld)
	}
	least, most := 0, 0
	if rows > 0 {
		least, most = (rows-1)*ld+cols, (rows-1)*ld+ld
	}
	if length < least || length > most {
		return invalid("%s: length %d is not %d rows of width %d and stride %d", name, length, rows, cols, ld)
	}
	return nil
}

func (r *Refiner) stepMatrix(x []float32, ld int, batch C.int64_t, options *StepOptions) error {
	if err := r.live(); err != nil {
		return err
	}
	_, threads, maxBytes, logits, progress := options.scalars()
	return r.run(nil, logits, progress, nil, func(handle C.uintptr_t, captured *C.rlcc_go_error) C.int {
		return C.rlcc_go_refiner_step_matrix(r.handle, floats(x), C.int64_t(ld), handle, batch,
			C.int(boolInt(logits != nil)), 1, 0, threads, maxBytes, captured)
	})
}

// StepBorrow is StepMatrixOpts without any copy (librlcc 1.4,
// rlcc_step_options.borrow): the refiner keeps a pointer to m's rows
// instead of copying the ones its targets read, so a trainer holds one
// feature matrix, not two. m must be N x D. The library may read m until
// the next step succeeds or the refiner is closed, and m stays allocated
// that long: m.Close() meanwhile only marks it, and the refiner frees it when
// it lets go. Change m's rows only after the next step (the targets read
// them); what the step read is what they must still be.
//
// Why m is a FeatureMatrix and not a []float32: cgo forbids C to keep a Go
// pointer after the call returns (the Go runtime may move or free what it
// points to, and Go 1.19 has no way to pin it), and a borrowing step is one
// where C keeps the pointer. A FeatureMatrix is C memory that the Go side
// owns explicitly: fill m.Data() (e.g. write the features there as they are
// extracted) and step from it with no copy at all.
func (r *Refiner) StepBorrow(m *FeatureMatrix, options *StepOptions) error {
	if err := r.live(); err != nil {
		return err
	}
	if m == nil {
		return invalid("matrix: nil")
	}
	if m.rows != r.N || m.cols != r.D {
		return invalid("matrix: %d x %d, the refiner's features are %d x %d", m.rows, m.cols, r.N, r.D)
	}
	batch, threads, maxBytes, logits, progress := options.scalars()
	return r.run(nil, logits, progress, m, func(handle C.uintptr_t, captured *C.rlcc_go_error) C.int {
		return C.rlcc_go_refiner_step_matrix(r.handle, m.ptr, C.int64_t(m.cols), handle, batch,
			C.int(boolInt(logits != nil)), 1, 1, threads, maxBytes, captured)
	})
}

// run holds the refiner for one step and calls call with the cgo.Handle of
// the step's callback state; borrow is the FeatureMatrix the step borrows,
// or nil. A step that succeeds lets go of what the previous one borrowed.
// The progress trampoline is installed whether or not the caller gave a
// ProgressFunc: it is how a Close during the step stops it.
func (r *Refiner) run(features FeaturesFunc, logits LogitsFunc, progress ProgressFunc, borrow *FeatureMatrix,
	call func(handle C.uintptr_t, captured *C.rlcc_go_error) C.int) error {
	if err := r.claim(borrow); err != nil {
		return err
	}
	state := &stepState{d: r.D, features: features, logits: logits, progress: progress, closing: &r.closing}
	handle := cgo.NewHandle(state)
	defer handle.Delete()
	var captured C.rlcc_go_error
	code := call(C.uintptr_t(handle), &captured)
	runtime.KeepAlive(r)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.running = false
	if r.closing.Load() { // Close was called during the step: free now, whatever the step did
		if borrow != nil {
			borrow.release()
		}
		r.free()
		return &Error{Code: CodeCanceled, Message: "refiner: closed during the step (by a callback of the step " +
			"or another goroutine); freed once the step returned"}
	}
	err := result(code, &captured)
	if err != nil && state.failure != nil {
		err.(*Error).Cause = state.failure
		err.(*Error).Message += ": " + state.failure.Error()
	}
	if err != nil {
		if borrow != nil {
			borrow.release()
		}
		return err
	}
	if r.borrowed != nil {
		r.borrowed.release()
	}
	r.borrowed = borrow
	return nil
}

// claim marks a step running, and counts the matrix it borrows: refused
// while another step runs (as the library would refuse it), or when the
// refiner is closed or the matrix is.
func (r *Refiner) claim(borrow *FeatureMatrix) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		return invalid("refiner: in use by another call (a step excludes every other call on the same handle)")
	}
	if err := r.live(); err != nil {
		return err
	}
	if borrow != nil {
		if err := borrow.acquire(); err != nil {
			return err
		}
	}
	r.running = true
	return nil
}

// Bytes is what the refiner holds now (librlcc 1.4, rlcc_refiner_bytes),
// all charged to its budget (PseudoOptions.MaxBytes): the labels and
// centroids of two generations, the consensus matrix, the logits'
// probabilities, and the features of the last step only when its targets
// read them (Beta < 1, no logits, not borrowed); rlcc.h gives the formula at
// rlcc_refiner_new. -1 while a step runs; 0 for a closed refiner.
func (r *Refiner) Bytes() int64 {
	if r.live() != nil {
		return 0
	}
	defer runtime.KeepAlive(r)
	return int64(C.rlcc_refiner_bytes(r.handle))
}

// FeatureMatrix is a Rows x Cols float32 matrix in C memory that the Go side
// owns explicitly, for StepBorrow: the library may keep a pointer to C
// memory after a call, never to Go memory. Data views it (row-major) without
// a copy; Close frees it, or, while a refiner's last step borrowed it, marks
// it to be freed when that refiner lets go (its next step that succeeds, or
// its Close). The views must not be used after Close. There is deliberately
// no finalizer, as for CSR: the views cannot keep the matrix alive.
type FeatureMatrix struct {
	mu         sync.Mutex
	ptr        *C.float
	rows, cols int
	borrowers  int  // refiners whose last step borrowed it
	closed     bool // Close was called; freed once no refiner borrows it
}

// NewFeatureMatrix allocates a rows x cols matrix of zeros in C memory.
func NewFeatureMatrix(rows, cols int) (*FeatureMatrix, error) {
	if rows < 1 || cols < 1 {
		return nil, invalid("matrix: shape %d x %d; it needs at least one row and one column", rows, cols)
	}
	if rows > math.MaxInt/4/cols {
		return nil, invalid("matrix: shape %d x %d overflows", rows, cols)
	}
	ptr := (*C.float)(C.calloc(C.size_t(rows*cols), C.size_t(unsafe.Sizeof(C.float(0)))))
	if ptr == nil {
		return nil, &Error{Code: CodeOutOfMemory, Message: fmt.Sprintf("matrix: cannot allocate %d x %d floats", rows, cols)}
	}
	return &FeatureMatrix{ptr: ptr, rows: rows, cols: cols}, nil
}

// Rows is the number of rows.
func (m *FeatureMatrix) Rows() int { return m.rows }

// Cols is the row width.
func (m *FeatureMatrix) Cols() int { return m.cols }

// Data views the matrix, Rows*Cols values row-major, until Close; nil after.
func (m *FeatureMatrix) Data() []float32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(m.ptr)), m.rows*m.cols)
}

// Close frees the matrix now, or when the refiner that borrowed it lets go.
// Calling it twice is fine; a closed matrix cannot be borrowed again.
func (m *FeatureMatrix) Close() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		m.freeIfUnused()
	}
}

func (m *FeatureMatrix) freeIfUnused() {
	if m.closed && m.borrowers == 0 && m.ptr != nil {
		C.free(unsafe.Pointer(m.ptr))
		m.ptr = nil
	}
}

// acquire counts a refiner step that borrows the matrix.
func (m *FeatureMatrix) acquire() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return invalid("matrix: closed")
	}
	m.borrowers++
	return nil
}

// release is a refiner letting go of the matrix.
func (m *FeatureMatrix) release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.borrowers--
	m.freeIfUnused()
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
// It holds off a step for the moment it takes: the library writes as many
// rows as it has classes when it copies them, so a step that committed
// another class count between the count and the copy would overrun out.
func (r *Refiner) Centroids() ([]float32, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		return nil, invalid("refiner: in use")
	}
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

// TargetsOptions are the options of TargetsOpts (librlcc 1.4,
// rlcc_targets_options). The zero value is the library's default: the
// refiner's threads, half of RAM.
type TargetsOptions struct {
	Threads int // 0: the refiner's (PseudoOptions.Threads)
	// MaxBytes bounds the call's working memory: the batch's
	// probabilities and, without logits, its rows gathered. 0: half of RAM.
	MaxBytes int64
}

// TargetsOpts is Targets with options (rlcc_refiner_targets_opts): the
// same values.
func (r *Refiner) TargetsOpts(rows []int64, options *TargetsOptions) ([]float32, error) {
	k, err := r.classes()
	if err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(r)
	var opts C.rlcc_targets_options
	C.rlcc_targets_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	if options != nil {
		opts.n_threads, opts.max_bytes = clampInt32(options.Threads), C.int64_t(options.MaxBytes)
	}
	rowsPtr, nRows := rowsArg(rows, r.N)
	if err := checkShape("out", int(nRows), k); err != nil {
		return nil, err
	}
	out := make([]float32, int(nRows)*k)
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_refiner_targets_opts(r.handle, rowsPtr, nRows, &opts, floats(out), C.int64_t(k),
		&captured), &captured); err != nil {
		return nil, err
	}
	return out, nil
}

// StepLabels is one generation from pseudo labels, centroids and threshold
// the caller computed (librlcc 1.8, rlcc_refiner_step_labels), e.g. across
// machines: the consensus and targets of StepMatrix over features whose
// PseudoLabels (with Threshold the refiner's from generation 1 on) and
// Centroids these are, bit for bit, but no features are read or kept.
// labels has N values, centroids classes x D. options may be nil; its
// Logits are read as a step reads them. From the second step on (Beta < 1,
// no logits) the targets read the batch's rows: give them to TargetsRows.
func (r *Refiner) StepLabels(labels []int32, classes int, centroids []float32, threshold float64,
	options *StepOptions) error {
	if err := checkMatrix("labels", len(labels), r.N, 1); err != nil {
		return err
	}
	if err := checkMatrix("centroids", len(centroids), classes, r.D); err != nil {
		return err
	}
	if err := r.live(); err != nil {
		return err
	}
	batch, threads, maxBytes, logits, _ := options.scalars()
	return r.run(nil, logits, nil, nil, func(handle C.uintptr_t, captured *C.rlcc_go_error) C.int {
		return C.rlcc_go_refiner_step_labels(r.handle, int32s(labels), C.int64_t(classes), floats(centroids),
			C.int64_t(r.D), C.double(threshold), handle, batch, C.int(boolInt(logits != nil)), threads,
			maxBytes, captured)
	})
}

// TargetsRows is TargetsOpts with the batch's features given by the caller
// (librlcc 1.8, rlcc_refiner_targets_rows): row q of x (stride ld >= D)
// holds the features of sample rows[q] (rows nil: every sample) as the
// latest step saw them. The same values as TargetsOpts of a refiner that
// kept them; what a refiner stepped with StepLabels needs. x is read only
// when the targets read features (generation >= 2, Beta < 1, no logits);
// otherwise nil is fine.
func (r *Refiner) TargetsRows(rows []int64, x []float32, ld int, options *TargetsOptions) ([]float32, error) {
	k, err := r.classes()
	if err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(r)
	rowsPtr, nRows := rowsArg(rows, r.N)
	if x != nil {
		if err := checkStrided("x", len(x), int(nRows), r.D, ld); err != nil {
			return nil, err
		}
	} else {
		ld = r.D
	}
	var opts C.rlcc_targets_options
	C.rlcc_targets_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	if options != nil {
		opts.n_threads, opts.max_bytes = clampInt32(options.Threads), C.int64_t(options.MaxBytes)
	}
	if err := checkShape("out", int(nRows), k); err != nil {
		return nil, err
	}
	out := make([]float32, int(nRows)*k)
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_refiner_targets_rows(r.handle, rowsPtr, nRows, floats(x), C.int64_t(ld), &opts,
		floats(out), C.int64_t(k), &captured), &captured); err != nil {
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
