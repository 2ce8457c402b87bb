package rlcc

/*
#include "shim.h"
*/
import "C"

import (
	"encoding"
	"encoding/binary"
	"math"
	"runtime"
	"sync"
	"unsafe"
)

// librlcc 1.8: what an engine that holds the rows in blocks (an MPI ring, a
// torch.distributed group, shards on several machines) needs to give the
// whole-matrix results byte for byte: (*KNNState).UpdatePair (two blocks
// offered to each other from one Gram block), (*KNNState).Save and
// LoadKNNState (a state sent to another process), the block Jaccard
// (JaccardPlan, JaccardRows) and the pseudo labels of a distance graph the
// caller gathered (PseudoLabelsGraph).

var (
	_ encoding.BinaryMarshaler   = (*KNNState)(nil)
	_ encoding.BinaryUnmarshaler = (*KNNState)(nil)
)

// knnShapeAt is where rlcc_knn_state_save writes the shape
// (docs/stability.md): four little-endian int64 after the 24-byte envelope
// (magic, format, writer version, size): n_queries, query_offset, d, k.
const knnShapeAt = 24

// UpdatePair offers two blocks to each other from one Gram block
// (rlcc_knn_update_pair, librlcc 1.8): s's query rows are offered other's
// rows and other's query rows s's, each pair of rows computed once. rows
// are s's NQueries x D query rows, otherRows other's (its K may differ, its
// D may not). The two global ranges must not overlap (a block against
// itself is Update with refs the queries slice); s itself is refused.
// Afterwards each state finishes to what Update of the other block would
// have left it, byte for byte. Both states are held for the call (a call
// running on either refuses it: ErrInvalidArgument "in use"). On any error
// both states are unchanged.
func (s *KNNState) UpdatePair(rows []float32, other *KNNState, otherRows []float32) error {
	if other == nil {
		return invalid("other: nil")
	}
	if err := s.claim("state"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	b := s.handle // s itself: the library refuses it and says why
	if other != s {
		if err := other.claim("other"); err != nil {
			return err
		}
		defer other.mu.Unlock()
		b = other.handle
	}
	if err := checkMatrix("rows", len(rows), s.nQueries, s.d); err != nil {
		return err
	}
	if err := checkMatrix("otherRows", len(otherRows), other.nQueries, other.d); err != nil {
		return err
	}
	var captured C.rlcc_go_error
	code := C.rlcc_go_knn_update_pair(s.handle, floats(rows), C.int64_t(s.d), b, floats(otherRows),
		C.int64_t(other.d), &captured)
	runtime.KeepAlive(rows)
	runtime.KeepAlive(otherRows)
	return result(code, &captured)
}

// Save is the state as bytes (rlcc_knn_state_save, librlcc 1.8): its
// shape, its counts and its lists, little-endian, the same on every
// machine, versioned and sealed by a CRC-32C: what one process sends
// another, which makes a state of them with LoadKNNState and Merges it. The
// size changes with every Update, UpdatePair and Merge. Save holds the
// state for the call, as every method does.
func (s *KNNState) Save() ([]byte, error) {
	if err := s.claim("state"); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var size C.size_t
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_knn_state_save(s.handle, nil, 0, &size, &captured), &captured); err != nil {
		return nil, err
	}
	if uint64(size) > math.MaxInt {
		return nil, invalid("state: %d bytes do not fit a Go slice", uint64(size))
	}
	// held: nothing changes the state between the two calls
	state := make([]byte, int(size))
	if err := result(C.rlcc_go_knn_state_save(s.handle, unsafe.Pointer(&state[0]), size, &size, &captured),
		&captured); err != nil {
		return nil, err
	}
	return state[:int(size)], nil
}

// LoadKNNState makes a state from bytes Save wrote (rlcc_knn_state_load,
// librlcc 1.8), with the same shape, counts and lists, so it finishes,
// merges and saves as the state that was saved; options (nil: the
// defaults) are the new state's threads and budget, as in NewKNNState.
// Nothing is trusted: truncated, damaged (checksum), foreign or
// inconsistent bytes are refused with ErrInvalidArgument and the library's
// message, before anything is allocated. state is read during the call
// only. Close the state when done (it has a finalizer, as NewKNNState's).
func LoadKNNState(state []byte, options *KNNOptions) (*KNNState, error) {
	s := &KNNState{}
	if err := s.load(state, options); err != nil {
		return nil, err
	}
	runtime.SetFinalizer(s, (*KNNState).Close)
	return s, nil
}

// load fills a zero s from the bytes (the caller holds s or owns it alone).
func (s *KNNState) load(state []byte, options *KNNOptions) error {
	var opts C.rlcc_knn_options
	C.rlcc_knn_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	if options != nil {
		opts.n_threads = clampInt32(options.Threads)
		opts.max_bytes = C.int64_t(options.MaxBytes)
	}
	var ptr unsafe.Pointer
	if len(state) > 0 {
		ptr = unsafe.Pointer(&state[0])
	}
	var handle *C.rlcc_knn_state
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_knn_state_load(ptr, C.size_t(len(state)), &opts, &handle, &captured),
		&captured); err != nil {
		return err
	}
	// the library checked the bytes and the shape: each field fits [0, INT64_MAX]
	var shape [4]int64
	for i := range shape {
		shape[i] = int64(binary.LittleEndian.Uint64(state[knnShapeAt+8*i:]))
		if shape[i] > math.MaxInt {
			C.rlcc_knn_state_free(handle)
			return invalid("state: its shape does not fit int")
		}
	}
	s.handle = handle
	s.nQueries, s.queryOffset, s.d, s.k = int(shape[0]), int(shape[1]), int(shape[2]), int(shape[3])
	return nil
}

// MarshalBinary is Save (encoding.BinaryMarshaler).
func (s *KNNState) MarshalBinary() ([]byte, error) {
	return s.Save()
}

// UnmarshalBinary loads bytes from Save or MarshalBinary into s
// (encoding.BinaryUnmarshaler), with the default KNNOptions; encoding/gob
// calls it for a *KNNState it decodes. s must be a zero KNNState
// (new(KNNState), or what gob allocates): a state made by NewKNNState or
// LoadKNNState, open or closed, is refused rather than replaced. A refused
// state leaves s as it was. A state filled this way has no finalizer (s may
// be a field inside another value): Close it.
func (s *KNNState) UnmarshalBinary(state []byte) error {
	if s == nil {
		return invalid("state: nil")
	}
	if !s.mu.TryLock() {
		return invalid("state: in use by another call")
	}
	defer s.mu.Unlock()
	if s.handle != nil || s.d != 0 {
		return invalid("state: UnmarshalBinary loads into a zero KNNState only; this one was made by " +
			"NewKNNState or LoadKNNState (use LoadKNNState for a new one)")
	}
	return s.load(state, nil)
}

// JaccardPlan is a block of rows of the k-reciprocal Jaccard distance
// (rlcc_jaccard_plan, librlcc 1.8): rows row0 .. row1-1 of n, whose kNN
// lists every block knows. The plan takes its rows' expanded sets from the
// lists, is Offered every block of rows in any order (the distances its
// rows need), and gives its rows' Weights. The weights of every block,
// concatenated in row order (ConcatRows), give any range of Jaccard rows
// (JaccardRows); concatenated over a blocking, those are Jaccard's result,
// byte for byte.
//
// A plan holds library memory: Close frees it (a finalizer does too, but
// late). One call at a time, as KNNState: a call while another goroutine's
// call on the same plan runs is refused with ErrInvalidArgument ("in use by
// another call"); Close waits for a running call; a closed plan refuses
// every call.
type JaccardPlan struct {
	mu               sync.Mutex
	handle           *C.rlcc_jaccard_plan
	n, row0, row1, d int
}

// NewJaccardPlan makes a plan for rows row0 .. row1-1 of n rows of width d.
// knn are the n x K1 kNN lists of every row (row-major, K1 of options;
// those of the normalised rows with Normalize), checked as Jaccard checks
// them. options nil means the defaults (K1 30). The library refuses n
// outside [1, INT32_MAX], a range outside [0, n), d < 1, bad lists or
// options, and a plan beyond options.MaxBytes (ErrMemoryLimit).
func NewJaccardPlan(knn []int64, n, row0, row1, d int, options *JaccardOptions) (*JaccardPlan, error) {
	if knn == nil {
		return nil, invalid("knn: nil; a plan needs the n x k1 lists of every row")
	}
	if err := checkKNN(knn, n, options); err != nil {
		return nil, err
	}
	opts := options.c()
	var handle *C.rlcc_jaccard_plan
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_jaccard_plan_new(listsArg(knn), C.int64_t(n), C.int64_t(row0), C.int64_t(row1),
		C.int64_t(d), &opts, &handle, &captured), &captured); err != nil {
		return nil, err
	}
	p := &JaccardPlan{handle: handle, n: n, row0: row0, row1: row1, d: d}
	runtime.SetFinalizer(p, (*JaccardPlan).Close)
	return p, nil
}

// N is the number of rows of the whole matrix.
func (p *JaccardPlan) N() int { return p.n }

// Rows is the plan's range of rows, [row0, row1).
func (p *JaccardPlan) Rows() (row0, row1 int) { return p.row0, p.row1 }

// D is the row width.
func (p *JaccardPlan) D() int { return p.d }

func (p *JaccardPlan) claim() error {
	if p == nil {
		return invalid("plan: nil")
	}
	if !p.mu.TryLock() {
		return invalid("plan: in use by another call")
	}
	if p.handle == nil {
		p.mu.Unlock()
		return invalid("plan: closed")
	}
	return nil
}

// Close frees the plan; it waits for a call running in another goroutine.
// Calling it twice is fine; any later call on the plan is refused.
func (p *JaccardPlan) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.handle != nil {
		C.rlcc_jaccard_plan_free(p.handle)
		p.handle = nil
		runtime.SetFinalizer(p, nil)
	}
}

// Offer gives the plan nRefs rows (refs, nRefs x D), global indices
// refOffset ..: the plan takes the distances its rows need to them. rows
// are the plan's own (row1 - row0) x D rows, the same at every offer. A row
// offered again changes nothing; nRefs may be 0. Rows must be finite (and
// of unit norm for JaccardDot unless Normalize). On any error the plan is
// unchanged.
func (p *JaccardPlan) Offer(rows []float32, refs []float32, nRefs, refOffset int) error {
	if err := p.claim(); err != nil {
		return err
	}
	defer p.mu.Unlock()
	if err := checkMatrix("rows", len(rows), p.row1-p.row0, p.d); err != nil {
		return err
	}
	if err := checkMatrix("refs", len(refs), nRefs, p.d); err != nil {
		return err
	}
	var captured C.rlcc_go_error
	code := C.rlcc_go_jaccard_plan_offer(p.handle, floats(rows), floats(refs), C.int64_t(nRefs), C.int64_t(p.d),
		C.int64_t(refOffset), &captured)
	runtime.KeepAlive(rows)
	runtime.KeepAlive(refs)
	return result(code, &captured)
}

// Weights are the weight rows of the plan's rows, a new (row1 - row0) x N
// matrix to Close: rows row0 .. of the softmax weights Jaccard computes.
// Refused while a distance a row needs was not offered (the message names
// the pair).
func (p *JaccardPlan) Weights() (*CSR, error) {
	if err := p.claim(); err != nil {
		return nil, err
	}
	defer p.mu.Unlock()
	var handle *C.rlcc_csr
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_jaccard_plan_weights(p.handle, &handle, &captured), &captured); err != nil {
		return nil, err
	}
	return newCSR(handle), nil
}

// ConcatRows stacks the matrices' rows one after the other, in Go memory:
// the weight rows of every block's JaccardPlan, in row order, for
// JaccardRows, or the Jaccard rows of every block for PseudoLabelsGraph.
// Every part must have the same Cols; no parts make a 0 x 0 matrix.
func ConcatRows(parts ...CSRMatrix) (CSRMatrix, error) {
	out := CSRMatrix{Indptr: []int64{0}}
	for i, part := range parts {
		if err := part.check(); err != nil {
			return CSRMatrix{}, err
		}
		if i == 0 {
			out.Cols = part.Cols
		} else if part.Cols != out.Cols {
			return CSRMatrix{}, invalid("parts: part %d has %d columns, part 0 has %d", i, part.Cols, out.Cols)
		}
		base := int64(len(out.Indices))
		for _, p := range part.Indptr[1:] {
			out.Indptr = append(out.Indptr, base+p)
		}
		out.Indices = append(out.Indices, part.Indices...)
		out.Data = append(out.Data, part.Data...)
		out.Rows += part.Rows
	}
	return out, nil
}

// square checks m is an n x n matrix whose arrays agree.
func (m CSRMatrix) square(name string) error {
	if err := m.check(); err != nil {
		return err
	}
	if m.Cols != m.Rows {
		return invalid("%s: %d x %d, expected a square matrix", name, m.Rows, m.Cols)
	}
	return nil
}

// JaccardRows are Jaccard rows row0 .. row1-1 (rlcc_jaccard_rows, librlcc
// 1.8) from the weight rows of all n rows (weights, n x n: every block's
// JaccardPlan Weights concatenated in row order, columns strictly
// ascending, values in [0, 1]) and the n x K1 kNN lists: a new (row1 -
// row0) x n matrix of the entries below options.Cutoff, to Close.
// Concatenated over a blocking of [0, n) they are Jaccard's result, byte
// for byte. weights is read during the call only.
func JaccardRows(weights CSRMatrix, knn []int64, row0, row1 int, options *JaccardOptions) (*CSR, error) {
	if err := weights.square("weights"); err != nil {
		return nil, err
	}
	n := weights.Rows
	if knn == nil {
		return nil, invalid("knn: nil; the Jaccard rows need the n x k1 lists of every row")
	}
	if err := checkKNN(knn, n, options); err != nil {
		return nil, err
	}
	opts := options.c()
	var handle *C.rlcc_csr
	var captured C.rlcc_go_error
	code := C.rlcc_go_jaccard_rows(C.int64_t(n), int64s(weights.Indptr), int32s(weights.Indices),
		floats(weights.Data), listsArg(knn), C.int64_t(row0), C.int64_t(row1), &opts, &handle, &captured)
	runtime.KeepAlive(weights)
	if err := result(code, &captured); err != nil {
		return nil, err
	}
	return newCSR(handle), nil
}

// PseudoLabelsGraph is PseudoLabels from a distance graph the caller
// already has (rlcc_pseudo_labels_graph, librlcc 1.8): DBSCAN at
// options.Eps over the n x n graph (as DbscanCSR reads it), the outlier
// policy and the reliability criterion, exactly as PseudoLabels applies
// them to its Jaccard graph. So the JaccardRows of every block,
// concatenated, give PseudoLabels' labels, class count and threshold.
// options.Method must be PseudoDBSCAN; the metric, K1, K2, Variant,
// Normalize and Cutoff are neither read nor checked.
// options nil means the defaults.
func PseudoLabelsGraph(graph CSRMatrix, options *PseudoOptions) (*Labeling, error) {
	if err := graph.square("graph"); err != nil {
		return nil, err
	}
	opts, err := options.c()
	if err != nil {
		return nil, err
	}
	n := graph.Rows
	labels := make([]int32, n)
	var classes C.int64_t
	var threshold C.double
	var captured C.rlcc_go_error
	code := C.rlcc_go_pseudo_labels_graph(C.int64_t(n), int64s(graph.Indptr), int32s(graph.Indices),
		floats(graph.Data), &opts, int32s(labels), &classes, &threshold, &captured)
	runtime.KeepAlive(graph)
	if err := result(code, &captured); err != nil {
		return nil, err
	}
	return &Labeling{Labels: labels, Classes: int(classes), Threshold: float64(threshold)}, nil
}
