package rlcc

// k-means pseudo labels (librlcc 1.7, issue #15 item 3): KMeans, Lloyd with
// scikit-learn's semantics decided in double, and KMeansInitFaiss, faiss's
// start rows (OpenUnReID's generator).

/*
#include "shim.h"
*/
import "C"

import "unsafe"

// KMeansOptions are the options of KMeans. Start from
// DefaultKMeansOptions() (scikit-learn's 300 steps and tol 1e-4): the zero
// value has MaxIter 0, which the library refuses. nil means the defaults.
type KMeansOptions struct {
	MaxIter int     // at most this many Lloyd steps (>= 1)
	Tol     float64 // stop when the summed squared centroid shift is <= Tol x the mean per-feature variance; 0: only a repeat stops early
	Threads int     // 0: every OpenMP thread; the result never depends on it
	// MaxBytes bounds the working memory (a Gram tile, never n x k unless
	// it fits one); 0: half of RAM.
	MaxBytes int64
}

// DefaultKMeansOptions are the library's defaults (rlcc_kmeans_options_init).
func DefaultKMeansOptions() KMeansOptions {
	var opts C.rlcc_kmeans_options
	C.rlcc_kmeans_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	return KMeansOptions{MaxIter: int(opts.max_iter), Tol: float64(opts.tol),
		Threads: int(opts.n_threads), MaxBytes: int64(opts.max_bytes)}
}

func (o *KMeansOptions) c() C.rlcc_kmeans_options {
	var opts C.rlcc_kmeans_options
	C.rlcc_kmeans_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	if o != nil {
		opts.max_iter, opts.tol = clampInt32(o.MaxIter), C.double(o.Tol)
		opts.n_threads, opts.max_bytes = clampInt32(o.Threads), C.int64_t(o.MaxBytes)
	}
	return opts
}

// KMeansResult is what KMeans returns.
type KMeansResult struct {
	Labels     []int32   // n labels in [0, k)
	Centroids  []float32 // k x d row-major
	Iterations int       // the steps run, as scikit-learn's n_iter_
}

// KMeans is Lloyd's k-means of the n x d rows x from the k x d start
// centroids init (k = len(init) / d), as scikit-learn's
// KMeans(algorithm="lloyd", n_init=1, init=init): every row to the nearest
// centroid by the squared distance in double (ties to the lowest index),
// each centroid the double mean of its members rounded to float32, an
// empty cluster takes the row farthest from its centroid. The same bits
// for every BLAS kernel, thread count and budget.
func KMeans(x []float32, n, d int, init []float32, options *KMeansOptions) (*KMeansResult, error) {
	if err := checkMatrix("x", len(x), n, d); err != nil {
		return nil, err
	}
	k := 0
	if d > 0 {
		if len(init)%d != 0 {
			return nil, invalid("init: %d values are not rows of d = %d", len(init), d)
		}
		k = len(init) / d
	}
	opts := options.c()
	rows, width := 0, 0
	if k >= 1 && k <= n { // an output the library refuses is not allocated
		rows, width = n, k*d
	}
	labels := make([]int32, rows)
	centroids := make([]float32, width)
	var iters C.int64_t
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_kmeans(floats(x), C.int64_t(n), C.int64_t(d), floats(init), C.int64_t(k),
		&opts, floats(centroids), int32s(labels), &iters, &captured), &captured); err != nil {
		return nil, err
	}
	return &KMeansResult{Labels: labels, Centroids: centroids, Iterations: int(iters)}, nil
}

// KMeansInitFaiss gives the rows faiss.Kmeans(d, k, seed=seed,
// max_points_per_centroid=m) starts from on n rows (faiss 1.6 to 1.7): the
// training rows (the first m x k of rand_perm(n, seed) when n is larger,
// else every row, in faiss's order) at rand_perm(nTrain, seed + 1)[:k]
// (Fisher-Yates with std::mt19937; faiss copies the first k rows when
// nTrain == k). Returns the start rows and the training rows.
func KMeansInitFaiss(n, k int, seed uint64, maxPointsPerCentroid int) (start, train []int64, err error) {
	if k >= 1 && k <= n && maxPointsPerCentroid >= 1 {
		start = make([]int64, k)
		nTrain := n
		if maxPointsPerCentroid <= n/k && maxPointsPerCentroid*k < n {
			nTrain = maxPointsPerCentroid * k
		}
		train = make([]int64, nTrain)
	}
	var count C.int64_t
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_kmeans_init_faiss(C.int64_t(n), C.int64_t(k), C.uint64_t(seed),
		C.int64_t(maxPointsPerCentroid), int64s(start), int64s(train), &count, &captured), &captured); err != nil {
		return nil, nil, err
	}
	return start, train[:int(count)], nil
}
