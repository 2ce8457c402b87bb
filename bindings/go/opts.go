package rlcc

/*
#include "shim.h"
*/
import "C"

import "unsafe"

// librlcc 1.4 gave each 1.2 function that had no options struct a twin
// that takes one (threads and a memory bound at least). The functions below
// are those twins; each gives, bit for bit, what the function it twins
// gives with the same arguments, for any thread count. Options nil means
// the library's defaults; a struct built by hand should start from its
// Default*Options() (taken from the C _init functions), since a zero
// Normalize, W or Alpha is a value of its own, not "the default".

// CentroidOptions are the options of CentroidsOpts. The zero value is the
// library's default: every OpenMP thread, half of RAM.
type CentroidOptions struct {
	Threads  int   // 0: every OpenMP thread; the centroids never depend on it
	MaxBytes int64 // bound on the call's working memory (n doubles, k int64); 0: half of RAM
}

func (o *CentroidOptions) c() C.rlcc_centroid_options {
	var opts C.rlcc_centroid_options
	C.rlcc_centroid_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	if o != nil {
		opts.n_threads, opts.max_bytes = clampInt32(o.Threads), C.int64_t(o.MaxBytes)
	}
	return opts
}

// CentroidsOpts is Centroids with options (rlcc_centroids_opts): the same
// values for every thread count.
func CentroidsOpts(x []float32, n, d int, labels []int32, k int, options *CentroidOptions) ([]float32, error) {
	if err := checkMatrix("x", len(x), n, d); err != nil {
		return nil, err
	}
	if err := checkLength("labels", len(labels), n); err != nil {
		return nil, err
	}
	if err := checkShape("centroids", k, d); err != nil {
		return nil, err
	}
	opts := options.c()
	out := make([]float32, k*d)
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_centroids_opts(floats(x), C.int64_t(n), C.int64_t(d), int32s(labels),
		C.int64_t(k), &opts, floats(out), &captured), &captured); err != nil {
		return nil, err
	}
	return out, nil
}

// ConsensusOptions are the options of the consensus twins. Start from
// DefaultConsensusOptions() (IoU, NormalizeSum): the zero value has
// NormalizeNone.
type ConsensusOptions struct {
	Kind      ConsensusKind // IoU (default) or Count; unused by ConsensusCountsOpts
	Normalize Normalize     // NormalizeSum (default); unused by ConsensusCountsOpts
	// Threads: 0 means every OpenMP thread. librlcc 1.4 computes the
	// consensus on the calling thread (one sort of n keys); the field is
	// there for a release that parallelises it.
	Threads  int
	MaxBytes int64 // bound on the call's working memory (about 8n + 8(kPrev+kCur) bytes); 0: half of RAM
}

// DefaultConsensusOptions are the library's defaults.
func DefaultConsensusOptions() ConsensusOptions {
	var opts C.rlcc_consensus_options
	C.rlcc_consensus_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	return ConsensusOptions{Kind: ConsensusKind(opts.kind), Normalize: Normalize(opts.normalize),
		Threads: int(opts.n_threads), MaxBytes: int64(opts.max_bytes)}
}

func (o *ConsensusOptions) c() C.rlcc_consensus_options {
	var opts C.rlcc_consensus_options
	C.rlcc_consensus_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	if o != nil {
		opts.kind, opts.normalize = C.int32_t(o.Kind), C.int32_t(o.Normalize)
		opts.n_threads, opts.max_bytes = clampInt32(o.Threads), C.int64_t(o.MaxBytes)
	}
	return opts
}

// ConsensusCountsOpts is ConsensusCounts with options
// (rlcc_consensus_counts_opts; Kind and Normalize are unused).
func ConsensusCountsOpts(prev, cur []int32, kPrev, kCur int, options *ConsensusOptions) ([]int64, int, int, error) {
	kPrev, kCur, err := labelPair(prev, cur, kPrev, kCur)
	if err != nil {
		return nil, 0, 0, err
	}
	opts := options.c()
	out := make([]int64, kPrev*kCur)
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_consensus_counts_opts(int32s(prev), int32s(cur), C.int64_t(len(prev)),
		C.int64_t(kPrev), C.int64_t(kCur), &opts, int64s(out), &captured), &captured); err != nil {
		return nil, 0, 0, err
	}
	return out, kPrev, kCur, nil
}

// ConsensusOpts is Consensus with its kind and normalisation in the options
// (rlcc_consensus_opts; nil: IoU, NormalizeSum).
func ConsensusOpts(prev, cur []int32, kPrev, kCur int, options *ConsensusOptions) ([]float32, int, int, error) {
	kPrev, kCur, err := labelPair(prev, cur, kPrev, kCur)
	if err != nil {
		return nil, 0, 0, err
	}
	opts := options.c()
	out := make([]float32, kPrev*kCur)
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_consensus_opts(int32s(prev), int32s(cur), C.int64_t(len(prev)),
		C.int64_t(kPrev), C.int64_t(kCur), &opts, floats(out), &captured), &captured); err != nil {
		return nil, 0, 0, err
	}
	return out, kPrev, kCur, nil
}

// ConsensusCSROpts is ConsensusCSR with options (rlcc_consensus_csr_opts;
// Normalize may not be NormalizeSoftmax). Close the result when done.
func ConsensusCSROpts(prev, cur []int32, kPrev, kCur int, options *ConsensusOptions) (*CSR, error) {
	kPrev, kCur, err := labelPair(prev, cur, kPrev, kCur)
	if err != nil {
		return nil, err
	}
	opts := options.c()
	var handle *C.rlcc_csr
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_consensus_csr_opts(int32s(prev), int32s(cur), C.int64_t(len(prev)),
		C.int64_t(kPrev), C.int64_t(kCur), &opts, &handle, &captured), &captured); err != nil {
		return nil, err
	}
	return newCSR(handle), nil
}

// ProbabilityOptions are the options of ClassProbabilitiesOpts. Start from
// DefaultProbabilityOptions() (scale 30): a zero Scale is refused.
type ProbabilityOptions struct {
	Scale float32 // softmax scale, > 0 and finite (default 30, RLCC's)
	// Threads: 0 means every OpenMP thread (the softmax rows and the row
	// checks; OpenBLAS's SGEMM keeps its own threads).
	Threads  int
	MaxBytes int64 // bound on the call's working memory (a batch's rows gathered); 0: half of RAM
}

// DefaultProbabilityOptions are the library's defaults.
func DefaultProbabilityOptions() ProbabilityOptions {
	var opts C.rlcc_probability_options
	C.rlcc_probability_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	return ProbabilityOptions{Scale: float32(opts.scale), Threads: int(opts.n_threads),
		MaxBytes: int64(opts.max_bytes)}
}

func (o *ProbabilityOptions) c() C.rlcc_probability_options {
	var opts C.rlcc_probability_options
	C.rlcc_probability_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	if o != nil {
		opts.scale, opts.n_threads = C.float(o.Scale), clampInt32(o.Threads)
		opts.max_bytes = C.int64_t(o.MaxBytes)
	}
	return opts
}

// ClassProbabilitiesOpts is ClassProbabilities with the scale and threads
// in the options (rlcc_class_probabilities_opts): the samples in rows (nil:
// every sample), len(rows) x k row-major. Only the rows listed are read
// and checked for NaN/Inf.
func ClassProbabilitiesOpts(x []float32, n, d int, centroids []float32, k int, rows []int64, options *ProbabilityOptions) ([]float32, error) {
	if err := checkMatrix("x", len(x), n, d); err != nil {
		return nil, err
	}
	if err := checkMatrix("centroids", len(centroids), k, d); err != nil {
		return nil, err
	}
	rowsPtr, nRows := rowsArg(rows, n)
	if err := checkShape("probabilities", int(nRows), k); err != nil {
		return nil, err
	}
	opts := options.c()
	out := make([]float32, int(nRows)*k)
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_class_probabilities_opts(floats(x), C.int64_t(n), C.int64_t(d),
		floats(centroids), C.int64_t(k), rowsPtr, nRows, &opts, floats(out), &captured), &captured); err != nil {
		return nil, err
	}
	return out, nil
}

// PropagateOptions are the options of PropagateOpts. Start from
// DefaultPropagateOptions() (W 0.9, Beta 0): the zero value has W 0.
type PropagateOptions struct {
	W        float32 // weight of the previous hard label in P', in [0, 1] (default 0.9)
	Beta     float32 // share of hard propagation, in [0, 1] (default 0: soft only)
	Threads  int     // 0: every OpenMP thread; rows are independent, the values never depend on it
	MaxBytes int64   // bound on the call's working memory (propagation allocates nothing in 1.4); 0: half of RAM
}

// DefaultPropagateOptions are the library's defaults.
func DefaultPropagateOptions() PropagateOptions {
	var opts C.rlcc_propagate_options
	C.rlcc_propagate_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	return PropagateOptions{W: float32(opts.w), Beta: float32(opts.beta), Threads: int(opts.n_threads),
		MaxBytes: int64(opts.max_bytes)}
}

func (o *PropagateOptions) c() C.rlcc_propagate_options {
	var opts C.rlcc_propagate_options
	C.rlcc_propagate_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	if o != nil {
		opts.w, opts.beta = C.float(o.W), C.float(o.Beta)
		opts.n_threads, opts.max_bytes = clampInt32(o.Threads), C.int64_t(o.MaxBytes)
	}
	return opts
}

// PropagateOpts is Propagate with w, beta and threads in the options
// (rlcc_propagate_opts): len(rows) x chat.Cols (rows nil: every sample).
// probs may be nil only when Beta is 1.
func PropagateOpts(prev []int32, chat CSRMatrix, probs []float32, rows []int64, options *PropagateOptions) ([]float32, error) {
	if err := chat.check(); err != nil {
		return nil, err
	}
	kPrev, kCur := chat.Rows, chat.Cols
	rowsPtr, nRows := rowsArg(rows, len(prev))
	if probs != nil {
		if err := checkMatrix("probs", len(probs), int(nRows), kPrev); err != nil {
			return nil, err
		}
	}
	if err := checkShape("out", int(nRows), kCur); err != nil {
		return nil, err
	}
	opts := options.c()
	out := make([]float32, int(nRows)*kCur)
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_propagate_opts(int32s(prev), C.int64_t(len(prev)), int64s(chat.Indptr),
		int32s(chat.Indices), floats(chat.Data), C.int64_t(kPrev), C.int64_t(kCur), floats(probs),
		rowsPtr, nRows, &opts, floats(out), &captured), &captured); err != nil {
		return nil, err
	}
	return out, nil
}

// BlendOptions are the options of BlendOpts. Start from
// DefaultBlendOptions() (Alpha 0.9): the zero value has Alpha 0.
type BlendOptions struct {
	Alpha    float32 // momentum of the current hard label, in [0, 1] (default 0.9)
	Threads  int     // 0: every OpenMP thread; the values never depend on it
	MaxBytes int64   // bound on the call's working memory (blending allocates nothing in 1.4); 0: half of RAM
}

// DefaultBlendOptions are the library's defaults.
func DefaultBlendOptions() BlendOptions {
	var opts C.rlcc_blend_options
	C.rlcc_blend_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	return BlendOptions{Alpha: float32(opts.alpha), Threads: int(opts.n_threads),
		MaxBytes: int64(opts.max_bytes)}
}

func (o *BlendOptions) c() C.rlcc_blend_options {
	var opts C.rlcc_blend_options
	C.rlcc_blend_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	if o != nil {
		opts.alpha, opts.n_threads = C.float(o.Alpha), clampInt32(o.Threads)
		opts.max_bytes = C.int64_t(o.MaxBytes)
	}
	return opts
}

// BlendOpts is Blend with alpha and threads in the options
// (rlcc_blend_opts): len(rows) x kCur (rows nil: every sample); s nil is
// S = 0.
func BlendOpts(cur []int32, kCur int, s []float32, rows []int64, options *BlendOptions) ([]float32, error) {
	rowsPtr, nRows := rowsArg(rows, len(cur))
	if err := checkShape("out", int(nRows), kCur); err != nil {
		return nil, err
	}
	if s != nil {
		if err := checkMatrix("s", len(s), int(nRows), kCur); err != nil {
			return nil, err
		}
	}
	opts := options.c()
	out := make([]float32, int(nRows)*kCur)
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_blend_opts(int32s(cur), C.int64_t(len(cur)), C.int64_t(kCur), floats(s),
		rowsPtr, nRows, &opts, floats(out), &captured), &captured); err != nil {
		return nil, err
	}
	return out, nil
}
