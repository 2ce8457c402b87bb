package rlcc

/*
#include "shim.h"
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// KNN returns the k nearest rows of every row of the n x d features x
// under squared Euclidean distance (the row itself included, normally
// first): indices and squared distances, both n x k row-major, each row in
// ascending distance with ties broken by index, as faiss computes them.
func KNN(x []float32, n, d, k, threads int) (indices []int64, sqdist []float32, err error) {
	if err := checkMatrix("x", len(x), n, d); err != nil {
		return nil, nil, err
	}
	if err := checkShape("indices", n, k); err != nil {
		return nil, nil, err
	}
	var opts C.rlcc_knn_options
	C.rlcc_knn_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	opts.n_threads = clampInt32(threads)
	if k > n || k < 1 { // the library refuses it too; this keeps the outputs unallocated
		indices, sqdist = []int64{}, []float32{}
	} else {
		indices, sqdist = make([]int64, n*k), make([]float32, n*k)
	}
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_knn(floats(x), C.int64_t(n), C.int64_t(d), C.int64_t(k), &opts,
		int64s(indices), floats(sqdist), &captured), &captured); err != nil {
		return nil, nil, err
	}
	return indices, sqdist, nil
}

// CSRMatrix is a sparse Rows x Cols float32 matrix in CSR form: row i's
// entries are positions Indptr[i] .. Indptr[i+1]-1 of Indices (ascending
// columns) and Data.
type CSRMatrix struct {
	Rows, Cols int
	Indptr     []int64
	Indices    []int32
	Data       []float32
}

func (m CSRMatrix) check() error {
	if m.Rows < 0 || m.Cols < 0 {
		return invalid("matrix: negative shape %d x %d", m.Rows, m.Cols)
	}
	if len(m.Indptr) != m.Rows+1 {
		return invalid("matrix: %d row pointers for %d rows", len(m.Indptr), m.Rows)
	}
	nnz := m.Indptr[m.Rows]
	if int64(len(m.Indices)) != nnz || int64(len(m.Data)) != nnz {
		return invalid("matrix: indptr ends at %d but there are %d indices and %d values",
			nnz, len(m.Indices), len(m.Data))
	}
	return nil
}

// CSR is a sparse matrix owned by librlcc (a Jaccard distance or a
// consensus matrix). Matrix() views its arrays without copying; the views
// are valid until Close, which frees the matrix. There is deliberately no
// finalizer: the views are plain slices that cannot keep the *CSR alive, so
// a finalizer could free memory they still point to. A forgotten Close
// leaks the matrix instead; Copy() gives slices that need no Close.
type CSR struct {
	handle *C.rlcc_csr
}

func newCSR(handle *C.rlcc_csr) *CSR {
	return &CSR{handle: handle}
}

// Close frees the matrix; the views from Matrix() must not be used after.
// Calling it twice is fine.
func (m *CSR) Close() {
	if m.handle != nil {
		C.rlcc_csr_free(m.handle)
		m.handle = nil
	}
}

// Matrix views the library's arrays (valid until Close).
func (m *CSR) Matrix() CSRMatrix {
	if m.handle == nil {
		return CSRMatrix{Indptr: []int64{0}}
	}
	rows := int(C.rlcc_csr_rows(m.handle))
	nnz := int(C.rlcc_csr_nnz(m.handle))
	view := CSRMatrix{Rows: rows, Cols: int(C.rlcc_csr_cols(m.handle)),
		Indptr:  unsafe.Slice((*int64)(unsafe.Pointer(C.rlcc_csr_indptr(m.handle))), rows+1),
		Indices: unsafe.Slice((*int32)(unsafe.Pointer(C.rlcc_csr_indices(m.handle))), nnz),
		Data:    unsafe.Slice((*float32)(unsafe.Pointer(C.rlcc_csr_data(m.handle))), nnz)}
	runtime.KeepAlive(m)
	return view
}

// Copy is the matrix in Go memory, independent of Close.
func (m *CSR) Copy() CSRMatrix {
	view := m.Matrix()
	return CSRMatrix{Rows: view.Rows, Cols: view.Cols,
		Indptr:  append([]int64(nil), view.Indptr...),
		Indices: append([]int32(nil), view.Indices...),
		Data:    append([]float32(nil), view.Data...)}
}

// JaccardVariant picks the weight distance of the Jaccard computation.
type JaccardVariant int32

// Variants (RLCC_JACCARD_* in rlcc.h).
const (
	// JaccardDot: d = 2 - 2 x_i.x_j on unit rows (SpCL, Cluster Contrast).
	JaccardDot JaccardVariant = C.RLCC_JACCARD_DOT
	// JaccardSqEuclidean: |x_i - x_j|^2 (OpenUnReID, the official RLCC code).
	JaccardSqEuclidean JaccardVariant = C.RLCC_JACCARD_SQEUCLIDEAN
)

// JaccardOptions are the options of Jaccard and JaccardDense. Start from
// DefaultJaccardOptions().
type JaccardOptions struct {
	K1, K2    int            // neighbours per list (30) and in the query expansion (6)
	Variant   JaccardVariant // JaccardDot (default)
	Normalize bool           // L2-normalise rows first (default: refuse non-unit rows for Dot)
	Threads   int            // 0: every OpenMP thread
	Cutoff    float32        // Jaccard keeps pairs with distance < Cutoff (default 1)
	MaxBytes  int64          // 0: half of RAM
}

// DefaultJaccardOptions are the library's defaults: k1 30, k2 6, Dot, cutoff 1.
func DefaultJaccardOptions() JaccardOptions {
	var opts C.rlcc_jaccard_options
	C.rlcc_jaccard_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	return JaccardOptions{K1: int(opts.k1), K2: int(opts.k2), Variant: JaccardVariant(opts.variant),
		Normalize: opts.normalize != 0, Threads: int(opts.n_threads), Cutoff: float32(opts.cutoff),
		MaxBytes: int64(opts.max_bytes)}
}

func (o *JaccardOptions) c() C.rlcc_jaccard_options {
	var opts C.rlcc_jaccard_options
	C.rlcc_jaccard_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	if o != nil {
		opts.k1, opts.k2 = clampInt32(o.K1), clampInt32(o.K2)
		opts.variant, opts.normalize = C.int32_t(o.Variant), boolInt(o.Normalize)
		opts.n_threads, opts.cutoff = clampInt32(o.Threads), C.float(o.Cutoff)
		opts.max_bytes = C.int64_t(o.MaxBytes)
	}
	return opts
}

// clampInt32 keeps an out-of-range int out of range (so the library refuses
// it) instead of letting it wrap to a valid value.
func clampInt32(v int) C.int32_t {
	switch {
	case v > 1<<31-1:
		return 1<<31 - 1
	case v < -1<<31:
		return -1 << 31
	}
	return C.int32_t(v)
}

// checkKNN checks caller kNN lists: nil, or n x k1.
func checkKNN(knn []int64, n int, o *JaccardOptions) error {
	if knn == nil {
		return nil
	}
	k1 := DefaultJaccardOptions().K1
	if o != nil {
		k1 = o.K1
	}
	return checkMatrix("knn", len(knn), n, k1)
}

// Jaccard is the k-reciprocal Jaccard distance of the n x d features x as
// a sparse n x n matrix (pairs below options.Cutoff, the diagonal
// included). knn is nil (librlcc computes the lists) or the caller's n x k1
// lists. options nil means the defaults. Close the result when done.
func Jaccard(x []float32, n, d int, knn []int64, options *JaccardOptions) (*CSR, error) {
	if err := checkMatrix("x", len(x), n, d); err != nil {
		return nil, err
	}
	if err := checkKNN(knn, n, options); err != nil {
		return nil, err
	}
	opts := options.c()
	var handle *C.rlcc_csr
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_jaccard(floats(x), C.int64_t(n), C.int64_t(d), int64s(knn), &opts,
		&handle, &captured), &captured); err != nil {
		return nil, err
	}
	return newCSR(handle), nil
}

// JaccardDense is the same distance as a dense n x n row-major matrix (1
// where two rows share no neighbour): a drop-in for the trainers' result.
func JaccardDense(x []float32, n, d int, knn []int64, options *JaccardOptions) ([]float32, error) {
	if err := checkMatrix("x", len(x), n, d); err != nil {
		return nil, err
	}
	if err := checkKNN(knn, n, options); err != nil {
		return nil, err
	}
	if err := checkShape("dist", n, n); err != nil {
		return nil, err
	}
	opts := options.c()
	dist := make([]float32, n*n)
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_jaccard_dense(floats(x), C.int64_t(n), C.int64_t(d), int64s(knn),
		&opts, floats(dist), &captured), &captured); err != nil {
		return nil, err
	}
	return dist, nil
}
