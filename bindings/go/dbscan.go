package rlcc

/*
#include "shim.h"
*/
import "C"

import "unsafe"

// Metric is a distance for DBSCAN over features and for pseudo labels.
type Metric int32

// Metrics (RLCC_METRIC_* in rlcc.h). MetricJaccard is for PseudoOptions only.
const (
	MetricEuclidean Metric = C.RLCC_METRIC_EUCLIDEAN
	MetricCosine    Metric = C.RLCC_METRIC_COSINE
	MetricJaccard   Metric = C.RLCC_METRIC_JACCARD
)

// Algorithm is how DbscanFeatures finds neighbours (librlcc 1.5,
// rlcc_dbscan_options.algorithm). Every choice gives the same labels, core
// flags, cluster count and stats counts, bit for bit (Redecided and
// PeakBytes aside); only time and memory differ. The library refuses
// AlgorithmGrid and AlgorithmKdTree with MetricCosine, AlgorithmGrid with
// d > GridMaxDim, and any other value, with ErrInvalidArgument and its
// message. DbscanDense and DbscanCSR check it and otherwise ignore it.
type Algorithm int32

// Algorithms (RLCC_DBSCAN_* in rlcc.h). AlgorithmAuto is the zero value.
const (
	// AlgorithmAuto is the library's choice by metric and d: cosine brute;
	// euclidean d <= 3 the grid, 4 <= d <= 7 the tree, up to d = 512 the
	// tree while a probe finds it selective, else brute.
	AlgorithmAuto Algorithm = C.RLCC_DBSCAN_AUTO
	// AlgorithmBrute is every pair from the float32 Gram matrix (the
	// 1.0-1.4 path); the only one for cosine.
	AlgorithmBrute Algorithm = C.RLCC_DBSCAN_BRUTE
	// AlgorithmGrid is cells of side about eps/sqrt(d); euclidean, d <= GridMaxDim.
	AlgorithmGrid Algorithm = C.RLCC_DBSCAN_GRID
	// AlgorithmKdTree is a kd-tree; euclidean, any d.
	AlgorithmKdTree Algorithm = C.RLCC_DBSCAN_TREE
)

// GridMaxDim is the largest d AlgorithmGrid accepts (RLCC_DBSCAN_GRID_MAX_DIM).
const GridMaxDim = C.RLCC_DBSCAN_GRID_MAX_DIM

// DbscanOptions are the options of the DBSCAN functions. The zero value is
// the library's default: euclidean, every OpenMP thread, a memory budget of
// half the machine's memory, AlgorithmAuto.
type DbscanOptions struct {
	Metric    Metric    // MetricEuclidean or MetricCosine; used by DbscanFeatures only
	Threads   int       // 0: omp_get_max_threads(); results never depend on it
	MaxBytes  int64     // bound on the call's working memory; 0: half of RAM
	Algorithm Algorithm // DbscanFeatures' neighbour search (1.5); zero: AlgorithmAuto
}

// DbscanStats are what a DBSCAN call reports about its work.
type DbscanStats struct {
	NeighborPairs int64 // directed neighbour entries, self entries included
	Core          int64 // core points
	Noise         int64 // points labelled -1
	Redecided     int64 // euclidean pairs decided again in double precision
	PeakBytes     int64 // high-water mark of librlcc's working memory
}

// Clustering is the result of a DBSCAN call: scikit-learn's labels.
type Clustering struct {
	Labels   []int32 // cluster 0..Clusters-1, or -1 for noise
	Clusters int
	Core     []bool // core points
	Stats    DbscanStats
}

func (o *DbscanOptions) c() C.rlcc_dbscan_options {
	var opts C.rlcc_dbscan_options
	C.rlcc_dbscan_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	if o != nil {
		opts.metric = C.int32_t(o.Metric)
		opts.n_threads = clampInt32(o.Threads)
		opts.max_bytes = C.int64_t(o.MaxBytes)
		opts.algorithm = C.int32_t(o.Algorithm)
	}
	return opts
}

// dbscanCall runs one of the three C entry points with fresh outputs.
func dbscanCall(n int, options *DbscanOptions,
	call func(*C.rlcc_dbscan_options, *C.int32_t, *C.int64_t, *C.uint8_t, *C.rlcc_dbscan_stats, *C.rlcc_go_error) C.int) (*Clustering, error) {
	opts := options.c()
	labels := make([]int32, n)
	core := make([]uint8, n)
	var clusters C.int64_t
	var stats C.rlcc_dbscan_stats
	C.rlcc_dbscan_stats_init(&stats, C.size_t(unsafe.Sizeof(stats)))
	var captured C.rlcc_go_error
	if err := result(call(&opts, int32s(labels), &clusters, bytes(core), &stats, &captured), &captured); err != nil {
		return nil, err
	}
	out := &Clustering{Labels: labels, Clusters: int(clusters), Core: make([]bool, n),
		Stats: DbscanStats{int64(stats.n_neighbor_pairs), int64(stats.n_core), int64(stats.n_noise),
			int64(stats.n_redecided), int64(stats.peak_bytes)}}
	for i, c := range core {
		out.Core[i] = c != 0
	}
	return out, nil
}

// DbscanFeatures is DBSCAN over the n x d row-major features x, with
// scikit-learn's labels (sklearn.cluster.DBSCAN, algorithm="brute").
//
//	x := []float32{0, 0.5, 1, 10, 10.5, 40} // six points, d = 1
//	c, err := rlcc.DbscanFeatures(x, 6, 1, 0.6, 2, nil)
//	// c.Labels == [0 0 0 1 1 -1]
func DbscanFeatures(x []float32, n, d int, eps float64, minSamples int, options *DbscanOptions) (*Clustering, error) {
	if err := checkMatrix("x", len(x), n, d); err != nil {
		return nil, err
	}
	return dbscanCall(n, options, func(o *C.rlcc_dbscan_options, l *C.int32_t, k *C.int64_t, c *C.uint8_t, s *C.rlcc_dbscan_stats, e *C.rlcc_go_error) C.int {
		return C.rlcc_go_dbscan_features(floats(x), C.int64_t(n), C.int64_t(d), C.double(eps), C.int64_t(minSamples), o, l, k, c, s, e)
	})
}

// DbscanDense is DBSCAN over an n x n precomputed distance matrix (row i
// holds dist(i, j); need not be symmetric).
func DbscanDense(dist []float32, n int, eps float64, minSamples int, options *DbscanOptions) (*Clustering, error) {
	if err := checkMatrix("dist", len(dist), n, n); err != nil {
		return nil, err
	}
	return dbscanCall(n, options, func(o *C.rlcc_dbscan_options, l *C.int32_t, k *C.int64_t, c *C.uint8_t, s *C.rlcc_dbscan_stats, e *C.rlcc_go_error) C.int {
		return C.rlcc_go_dbscan_dense(floats(dist), C.int64_t(n), C.double(eps), C.int64_t(minSamples), o, l, k, c, s, e)
	})
}

// DbscanCSR is DBSCAN over a sparse n x n distance graph: only stored
// entries are neighbours (a Jaccard CSR, or scipy's layout).
func DbscanCSR(m CSRMatrix, eps float64, minSamples int, options *DbscanOptions) (*Clustering, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	return dbscanCall(m.Rows, options, func(o *C.rlcc_dbscan_options, l *C.int32_t, k *C.int64_t, c *C.uint8_t, s *C.rlcc_dbscan_stats, e *C.rlcc_go_error) C.int {
		return C.rlcc_go_dbscan_csr(C.int64_t(m.Rows), int64s(m.Indptr), int32s(m.Indices), floats(m.Data), C.double(eps), C.int64_t(minSamples), o, l, k, c, s, e)
	})
}
