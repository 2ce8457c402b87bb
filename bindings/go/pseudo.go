package rlcc

/*
#include "shim.h"
*/
import "C"

import "unsafe"

// Outliers is what pseudo labelling does with DBSCAN's noise.
type Outliers int32

// Outlier policies (RLCC_OUTLIERS_* in rlcc.h).
const (
	// OutliersKeep leaves -1 (the trainer drops those samples; Cluster Contrast).
	OutliersKeep Outliers = C.RLCC_OUTLIERS_KEEP
	// OutliersSingleton gives each outlier a class of its own (SpCL, OpenUnReID, RLCC).
	OutliersSingleton Outliers = C.RLCC_OUTLIERS_SINGLETON
)

// PseudoOptions configure PseudoLabels and the refiner's clustering. Start
// from DefaultPseudoOptions(), RLCC's shipped configuration.
type PseudoOptions struct {
	Metric      Metric         // MetricJaccard (default), MetricEuclidean or MetricCosine
	K1, K2      int            // Jaccard neighbours (30, 6)
	Variant     JaccardVariant // JaccardDot (default)
	Normalize   bool           // L2-normalise rows first
	Outliers    Outliers       // OutliersSingleton (default)
	Reliability bool           // SpCL's reliability criterion (default true; needs 3 eps)
	Guard       bool           // never eject a cluster's last member (default true)
	Threads     int            // 0: every OpenMP thread
	Eps         []float64      // 1 or 3 DBSCAN radii (default 0.58, 0.60, 0.62)
	Cutoff      float32        // Jaccard pairs kept below it (default 0.9)
	Threshold   float64        // reliability threshold; negative (default) computes it
	MinSamples  int            // DBSCAN min_samples (default 4)
	// MaxBytes bounds each call's memory, and for a Refiner its budget:
	// what it holds between steps plus what a step allocates (Bytes). 0:
	// half of RAM.
	MaxBytes int64
	Method   PseudoMethod // the pseudo-labeler (librlcc 1.4): PseudoDBSCAN, the zero value

	// The options of PseudoInfoMap (librlcc 1.7; see InfoMapPseudoOptions).
	InfomapK    int     // neighbours per list, self included (15); caller lists are n x InfomapK
	MinSim      float64 // links while 1 - sim <= 1 - MinSim (0.5)
	ClusterNum  int     // clusters of at most this many members are outliers (4)
	InfomapSeed uint64  // the search's seed (123, Infomap's)
	Trials      int     // independent searches, the shortest codelength wins (1)

	// The options of PseudoKMeans (librlcc 1.7; see KMeansPseudoOptions).
	Clusters             int     // K (500, OpenUnReID's)
	MaxIter              int     // Lloyd steps at most (300)
	Tol                  float64 // shift tolerance (0: until the labels repeat)
	KMeansSeed           uint64  // faiss's start seed (1234)
	MaxPointsPerCentroid int     // faiss's subsampling bound (256)
	// Init holds the caller's Clusters x d start centroids (row-major), or
	// nil for faiss's start rows. PseudoLabels only; a Refiner refuses it.
	Init []float32
}

// PseudoMethod is the pseudo-labeler of PseudoOptions (librlcc 1.4,
// rlcc_pseudo_options.method). Later releases add methods.
type PseudoMethod int32

// Pseudo-labelers (RLCC_PSEUDO_* in rlcc.h).
const (
	// PseudoDBSCAN is DBSCAN at one or three eps, outliers, reliability:
	// the method of librlcc 1.4, and the zero value.
	PseudoDBSCAN PseudoMethod = C.RLCC_PSEUDO_DBSCAN
	// PseudoInfoMap is InfoMap on the kNN links, Cluster Contrast's (1.7).
	PseudoInfoMap PseudoMethod = C.RLCC_PSEUDO_INFOMAP
	// PseudoKMeans is k-means from faiss's start rows, OpenUnReID's (1.7).
	PseudoKMeans PseudoMethod = C.RLCC_PSEUDO_KMEANS
)

// InfoMapPseudoOptions are Cluster Contrast's InfoMap recipe (librlcc 1.7):
// k 15, MinSim 0.5, ClusterNum 4, outliers kept as -1, no reliability
// criterion.
func InfoMapPseudoOptions() PseudoOptions {
	o := DefaultPseudoOptions()
	o.Method, o.Reliability, o.Outliers = PseudoInfoMap, false, OutliersKeep
	return o
}

// KMeansPseudoOptions are OpenUnReID's k-means recipe (librlcc 1.7) with
// clusters clusters: faiss's start rows (seed 1234), 300 steps, no
// reliability criterion.
func KMeansPseudoOptions(clusters int) PseudoOptions {
	o := DefaultPseudoOptions()
	o.Method, o.Reliability, o.Clusters = PseudoKMeans, false, clusters
	return o
}

// knnWidth is the width of the kNN lists the method reads: K1 (DBSCAN on
// the Jaccard distance) or InfomapK (InfoMap).
func (o *PseudoOptions) knnWidth() int {
	if o.Method == PseudoInfoMap {
		return o.InfomapK
	}
	return o.K1
}

// DefaultPseudoOptions are the library's defaults.
func DefaultPseudoOptions() PseudoOptions {
	var opts C.rlcc_pseudo_options
	C.rlcc_pseudo_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	eps := make([]float64, int(opts.n_eps))
	for i := range eps {
		eps[i] = float64(opts.eps[i])
	}
	return PseudoOptions{Metric: Metric(opts.metric), K1: int(opts.k1), K2: int(opts.k2),
		Variant: JaccardVariant(opts.variant), Normalize: opts.normalize != 0,
		Outliers: Outliers(opts.outliers), Reliability: opts.reliability != 0, Guard: opts.guard != 0,
		Threads: int(opts.n_threads), Eps: eps, Cutoff: float32(opts.cutoff),
		Threshold: float64(opts.threshold), MinSamples: int(opts.min_samples),
		MaxBytes: int64(opts.max_bytes), Method: PseudoMethod(opts.method),
		InfomapK: int(opts.infomap_k), MinSim: float64(opts.infomap_min_sim),
		ClusterNum: int(opts.infomap_cluster_num), InfomapSeed: uint64(opts.infomap_seed),
		Trials: int(opts.infomap_trials), Clusters: int(opts.kmeans_k),
		MaxIter: int(opts.kmeans_max_iter), Tol: float64(opts.kmeans_tol),
		KMeansSeed: uint64(opts.kmeans_seed), MaxPointsPerCentroid: int(opts.kmeans_max_points)}
}

func (o *PseudoOptions) c() (C.rlcc_pseudo_options, error) {
	var opts C.rlcc_pseudo_options
	C.rlcc_pseudo_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	if o == nil {
		return opts, nil
	}
	if len(o.Eps) != 1 && len(o.Eps) != 3 {
		return opts, invalid("options.Eps: %d radii, expected 1 or 3", len(o.Eps))
	}
	opts.metric, opts.k1, opts.k2 = C.int32_t(o.Metric), clampInt32(o.K1), clampInt32(o.K2)
	opts.variant, opts.normalize = C.int32_t(o.Variant), boolInt(o.Normalize)
	opts.outliers, opts.reliability = C.int32_t(o.Outliers), boolInt(o.Reliability)
	opts.guard, opts.n_threads = boolInt(o.Guard), clampInt32(o.Threads)
	opts.n_eps = C.int32_t(len(o.Eps))
	for i, eps := range o.Eps {
		opts.eps[i] = C.double(eps)
	}
	opts.cutoff, opts.threshold = C.float(o.Cutoff), C.double(o.Threshold)
	opts.min_samples, opts.max_bytes = C.int64_t(o.MinSamples), C.int64_t(o.MaxBytes)
	opts.method = C.int32_t(o.Method)
	opts.infomap_k, opts.infomap_min_sim = clampInt32(o.InfomapK), C.double(o.MinSim)
	opts.infomap_cluster_num, opts.infomap_trials = clampInt32(o.ClusterNum), clampInt32(o.Trials)
	opts.infomap_seed, opts.kmeans_seed = C.uint64_t(o.InfomapSeed), C.uint64_t(o.KMeansSeed)
	opts.kmeans_k, opts.kmeans_max_iter = C.int64_t(o.Clusters), clampInt32(o.MaxIter)
	opts.kmeans_tol, opts.kmeans_max_points = C.double(o.Tol), C.int64_t(o.MaxPointsPerCentroid)
	// Init travels beside the struct (a Go pointer may not sit in C memory)
	return opts, nil
}

// Labeling is the result of PseudoLabels.
type Labeling struct {
	Labels    []int32 // classes 0..Classes-1 (and -1 with OutliersKeep)
	Classes   int
	Threshold float64 // the reliability threshold used (0 without the criterion)
}

// PseudoLabels is the clustering step of SpCL, Cluster Contrast, OpenUnReID
// and RLCC in one call: distance, DBSCAN at 1 or 3 radii, outliers, the
// reliability criterion. options nil means the defaults.
func PseudoLabels(x []float32, n, d int, options *PseudoOptions) (*Labeling, error) {
	return pseudoLabels(x, n, d, nil, options)
}

// PseudoLabelsKNN is PseudoLabels on the caller's kNN lists (librlcc 1.3,
// rlcc_pseudo_options.knn): knn holds the n x K1 lists of the rows
// (row-major, K1 of options), e.g. from faiss on a GPU or a KNNState across
// machines, instead of the ones librlcc computes; nil means librlcc's own,
// as in Jaccard. Jaccard metric only. The lists are read during the call
// only.
//
// The length n*K1 is checked in Go before the cgo call, so C never reads
// past the slice; the library checks the entries as Jaccard does (each in
// [0, n), none twice in a row; the row itself may be anywhere or absent)
// and refuses lists with another metric. With librlcc's own lists (KNN with
// k = K1) the labels are PseudoLabels'.
func PseudoLabelsKNN(x []float32, n, d int, knn []int64, options *PseudoOptions) (*Labeling, error) {
	if err := checkMatrix("x", len(x), n, d); err != nil {
		return nil, err
	}
	if knn != nil {
		k1 := DefaultPseudoOptions().K1
		if options != nil {
			k1 = options.knnWidth()
		}
		if err := checkMatrix("knn", len(knn), n, k1); err != nil {
			return nil, err
		}
	}
	return pseudoLabels(x, n, d, knn, options)
}

// listsArg is the C form of caller lists: NULL for nil, and a pointer even
// for an empty slice (lists given, none to read), which the library must
// still see as given.
func listsArg(knn []int64) *C.int64_t {
	if knn != nil && len(knn) == 0 {
		return int64s(make([]int64, 1))
	}
	return int64s(knn)
}

// pseudoLabels passes knn (checked, or nil) as its own argument: the shim
// sets it in a C copy of the options, so no Go pointer sits in a struct
// handed to C.
func pseudoLabels(x []float32, n, d int, knn []int64, options *PseudoOptions) (*Labeling, error) {
	if err := checkMatrix("x", len(x), n, d); err != nil {
		return nil, err
	}
	opts, err := options.c()
	if err != nil {
		return nil, err
	}
	var init *C.float
	if options != nil && options.Init != nil {
		// the library reads Clusters x d values: check the slice holds them
		if err := checkMatrix("options.Init", len(options.Init), options.Clusters, d); err != nil {
			return nil, err
		}
		if len(options.Init) > 0 {
			init = floats(options.Init)
		}
	}
	labels := make([]int32, n)
	var classes C.int64_t
	var threshold C.double
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_pseudo_labels(floats(x), C.int64_t(n), C.int64_t(d), &opts,
		listsArg(knn), init, int32s(labels), &classes, &threshold, &captured), &captured); err != nil {
		return nil, err
	}
	return &Labeling{Labels: labels, Classes: int(classes), Threshold: float64(threshold)}, nil
}

// Centroids are the L2-normalised class means (k x d row-major) of the
// features x under labels in [-1, k); -1 samples take no part, an empty
// class gets a zero row.
func Centroids(x []float32, n, d int, labels []int32, k int) ([]float32, error) {
	if err := checkMatrix("x", len(x), n, d); err != nil {
		return nil, err
	}
	if err := checkLength("labels", len(labels), n); err != nil {
		return nil, err
	}
	if err := checkShape("centroids", k, d); err != nil {
		return nil, err
	}
	out := make([]float32, k*d)
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_centroids(floats(x), C.int64_t(n), C.int64_t(d), int32s(labels),
		C.int64_t(k), floats(out), &captured), &captured); err != nil {
		return nil, err
	}
	return out, nil
}
