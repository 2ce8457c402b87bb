package rlcc

/*
#include "shim.h"
*/
import "C"

// ConsensusKind is what the consensus matrix measures.
type ConsensusKind int32

// Kinds (RLCC_CONSENSUS_* in rlcc.h).
const (
	// IoU: |prev a & cur b| / |prev a | cur b|.
	IoU ConsensusKind = C.RLCC_CONSENSUS_IOU
	// Count: the overlap |prev a & cur b| itself.
	Count ConsensusKind = C.RLCC_CONSENSUS_COUNT
)

// Normalize is the row normalisation of a consensus matrix.
type Normalize int32

// Normalisations (RLCC_NORMALIZE_* in rlcc.h).
const (
	NormalizeNone    Normalize = C.RLCC_NORMALIZE_NONE
	NormalizeSum     Normalize = C.RLCC_NORMALIZE_SUM     // a zero row stays zero
	NormalizeSoftmax Normalize = C.RLCC_NORMALIZE_SOFTMAX // dense only; a zero row becomes uniform
)

// classCount is k, or max label + 1 when k is 0 (as the library does), so
// that the output can be sized before the call.
func classCount(labels []int32, k int) int {
	if k != 0 {
		return k
	}
	for _, label := range labels {
		if int(label)+1 > k {
			k = int(label) + 1
		}
	}
	return k
}

// labelPair checks two labelings of the same samples and sizes their classes.
func labelPair(prev, cur []int32, kPrev, kCur int) (int, int, error) {
	if err := checkLength("cur", len(cur), len(prev)); err != nil {
		return 0, 0, err
	}
	kPrev, kCur = classCount(prev, kPrev), classCount(cur, kCur)
	if err := checkShape("consensus", kPrev, kCur); err != nil {
		return 0, 0, err
	}
	return kPrev, kCur, nil
}

// ConsensusCounts are the overlaps counts[a*kCur+b] = samples labelled a in
// prev and b in cur (-1 samples take no part). kPrev, kCur 0 mean max
// label + 1; the returned ints are the class counts used.
func ConsensusCounts(prev, cur []int32, kPrev, kCur int) ([]int64, int, int, error) {
	kPrev, kCur, err := labelPair(prev, cur, kPrev, kCur)
	if err != nil {
		return nil, 0, 0, err
	}
	out := make([]int64, kPrev*kCur)
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_consensus_counts(int32s(prev), int32s(cur), C.int64_t(len(prev)),
		C.int64_t(kPrev), C.int64_t(kCur), int64s(out), &captured), &captured); err != nil {
		return nil, 0, 0, err
	}
	return out, kPrev, kCur, nil
}

// Consensus is RLCC's consensus matrix between the classes of two
// generations (kPrev x kCur row-major), of the given kind, row-normalised.
// kPrev, kCur 0 mean max label + 1; the returned ints are those used.
func Consensus(prev, cur []int32, kPrev, kCur int, kind ConsensusKind, normalize Normalize) ([]float32, int, int, error) {
	kPrev, kCur, err := labelPair(prev, cur, kPrev, kCur)
	if err != nil {
		return nil, 0, 0, err
	}
	out := make([]float32, kPrev*kCur)
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_consensus(int32s(prev), int32s(cur), C.int64_t(len(prev)),
		C.int64_t(kPrev), C.int64_t(kCur), C.int32_t(kind), C.int32_t(normalize), floats(out),
		&captured), &captured); err != nil {
		return nil, 0, 0, err
	}
	return out, kPrev, kCur, nil
}

// ConsensusCSR is Consensus as a library-owned sparse matrix (at most
// len(prev) entries, never kPrev x kCur). normalize may not be
// NormalizeSoftmax. Close the result when done.
func ConsensusCSR(prev, cur []int32, kPrev, kCur int, kind ConsensusKind, normalize Normalize) (*CSR, error) {
	kPrev, kCur, err := labelPair(prev, cur, kPrev, kCur)
	if err != nil {
		return nil, err
	}
	var handle *C.rlcc_csr
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_consensus_csr(int32s(prev), int32s(cur), C.int64_t(len(prev)),
		C.int64_t(kPrev), C.int64_t(kCur), C.int32_t(kind), C.int32_t(normalize), &handle,
		&captured), &captured); err != nil {
		return nil, err
	}
	return newCSR(handle), nil
}

// ClassProbabilities are softmax(scale * x_i . c_a) over the k classes of
// the k x d centroids, for the samples listed in rows (nil: every sample):
// len(rows) x k row-major.
func ClassProbabilities(x []float32, n, d int, centroids []float32, k int, scale float32, rows []int64, threads int) ([]float32, error) {
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
	out := make([]float32, int(nRows)*k)
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_class_probabilities(floats(x), C.int64_t(n), C.int64_t(d),
		floats(centroids), C.int64_t(k), C.float(scale), rowsPtr, nRows, floats(out),
		clampInt32(threads), &captured), &captured); err != nil {
		return nil, err
	}
	return out, nil
}

// Propagate carries the previous generation's labels through the
// normalised kPrev x kCur consensus matrix chat:
//
//	hard = chat[prev[i]]    soft = (w onehot(prev[i]) + (1-w) P[r]) chat
//	S[r] = beta hard + (1-beta) soft
//
// for sample i = rows[r] (rows nil: every sample). probs is the
// len(rows) x kPrev matrix P, nil only when beta is 1. Returns len(rows) x kCur.
func Propagate(prev []int32, chat CSRMatrix, probs []float32, w, beta float32, rows []int64) ([]float32, error) {
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
	out := make([]float32, int(nRows)*kCur)
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_propagate(int32s(prev), C.int64_t(len(prev)), int64s(chat.Indptr),
		int32s(chat.Indices), floats(chat.Data), C.int64_t(kPrev), C.int64_t(kCur), floats(probs),
		C.float(w), C.float(beta), rowsPtr, nRows, floats(out), &captured), &captured); err != nil {
		return nil, err
	}
	return out, nil
}

// Blend makes RLCC's training targets alpha onehot(cur[i]) + (1-alpha) S[r]
// (a zero row for cur[i] == -1) for sample i = rows[r] (rows nil: every
// sample). s is len(rows) x kCur, or nil for S = 0. Returns len(rows) x kCur.
func Blend(cur []int32, kCur int, s []float32, alpha float32, rows []int64) ([]float32, error) {
	rowsPtr, nRows := rowsArg(rows, len(cur))
	if err := checkShape("out", int(nRows), kCur); err != nil {
		return nil, err
	}
	if s != nil {
		if err := checkMatrix("s", len(s), int(nRows), kCur); err != nil {
			return nil, err
		}
	}
	out := make([]float32, int(nRows)*kCur)
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_blend(int32s(cur), C.int64_t(len(cur)), C.int64_t(kCur), floats(s),
		C.float(alpha), rowsPtr, nRows, floats(out), &captured), &captured); err != nil {
		return nil, err
	}
	return out, nil
}
