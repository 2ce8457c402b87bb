package rlcc

/*
#include "shim.h"
*/
import "C"

import "unsafe"

// InfoMap pseudo labels (librlcc 1.7, issue #15 item 2): Cluster
// Contrast's kNN lists, the directed links above MinSim, a two-level
// Infomap partition (librlcc's seeded search, or the caller's), labels by
// module flow; and the map-equation codelength of any partition.

// InfomapOptions are the options of InfomapPseudoLabels and InfomapLinks.
// nil means Cluster Contrast's defaults (DefaultInfomapOptions).
type InfomapOptions struct {
	K          int     // neighbours per list, the row itself included (15)
	ClusterNum int     // labels with at most this many members become -1 (4)
	MinSim     float64 // links i -> j while 1 - sim <= 1 - MinSim (0.5)
	Seed       uint64  // the search's seed (123)
	Trials     int     // independent searches, the shortest code wins (1)
	Normalize  bool    // L2-normalise a copy of the rows first
	Threads    int     // threads of the kNN; 0 = all (labels never depend on it)
	MaxBytes   int64   // working-memory bound; 0 = half of RAM
}

// DefaultInfomapOptions are the library's defaults (rlcc_infomap_options_init).
func DefaultInfomapOptions() InfomapOptions {
	return InfomapOptions{K: 15, ClusterNum: 4, MinSim: 0.5, Seed: 123, Trials: 1}
}

// InfomapKNN are the caller's lists: n x K indices and float32 distances
// 1 - sim, row-major, each row ascending by distance (faiss's inner-product
// search turned into distances).
type InfomapKNN struct {
	Indices   []int64
	Distances []float32
}

// InfomapResult is what InfomapPseudoLabels gives.
type InfomapResult struct {
	Labels     []int32 // per sample: 0 .. Classes-1, and -1
	Classes    int     // labels >= 0
	Codelength float64 // the partition's two-level codelength, bits
}

func (o *InfomapOptions) raw() (C.rlcc_infomap_options, int) {
	var opts C.rlcc_infomap_options
	C.rlcc_infomap_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	v := DefaultInfomapOptions()
	if o != nil {
		v = *o
	}
	opts.k = clampInt32(v.K)
	opts.cluster_num = clampInt32(v.ClusterNum)
	opts.min_sim = C.double(v.MinSim)
	opts.seed = C.uint64_t(v.Seed)
	opts.trials = clampInt32(v.Trials)
	if v.Normalize {
		opts.normalize = 1
	}
	opts.n_threads = clampInt32(v.Threads)
	opts.max_bytes = C.int64_t(v.MaxBytes)
	return opts, v.K
}

// infomapInputs checks that what the library reads lies in the slices: x
// (nil allowed with lists) is n x d, the lists n x k when k is one the
// library accepts (it refuses the others before reading them).
func infomapInputs(x []float32, n, d int, knn *InfomapKNN, k int) (*C.float, *C.int64_t, *C.float, error) {
	if n < 0 {
		return nil, nil, nil, invalid("n: %d is negative", n)
	}
	if x != nil {
		if err := checkMatrix("x", len(x), n, d); err != nil {
			return nil, nil, nil, err
		}
	}
	if knn == nil {
		return floats(x), nil, nil, nil
	}
	if k >= 1 && k <= n {
		if err := checkMatrix("knn.Indices", len(knn.Indices), n, k); err != nil {
			return nil, nil, nil, err
		}
		if err := checkMatrix("knn.Distances", len(knn.Distances), n, k); err != nil {
			return nil, nil, nil, err
		}
	}
	return floats(x), int64s(knn.Indices), floats(knn.Distances), nil
}

// InfomapPseudoLabels are Cluster Contrast's InfoMap pseudo labels of the n
// rows of width d of x (unit rows unless options.Normalize; x may be nil
// when knn is given), from librlcc's search, or from modules (one id >= 0
// per sample) when it is not nil.
func InfomapPseudoLabels(x []float32, n, d int, knn *InfomapKNN, modules []int32, options *InfomapOptions) (*InfomapResult, error) {
	opts, k := options.raw()
	xp, ip, dp, err := infomapInputs(x, n, d, knn, k)
	if err != nil {
		return nil, err
	}
	var mp *C.int32_t
	if modules != nil {
		if len(modules) != n {
			return nil, invalid("modules: %d entries, expected n = %d", len(modules), n)
		}
		mp = int32s(modules)
	}
	labels := make([]int32, n)
	var classes C.int64_t
	var codelength C.double
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_infomap_labels(xp, C.int64_t(n), C.int64_t(d), ip, dp, mp, &opts,
		int32s(labels), &classes, &codelength, &captured), &captured); err != nil {
		return nil, err
	}
	return &InfomapResult{Labels: labels, Classes: int(classes), Codelength: float64(codelength)}, nil
}

// InfomapLinks are the directed links of InfomapPseudoLabels, in the order
// Cluster Contrast adds them: feed them to the infomap package to compare.
func InfomapLinks(x []float32, n, d int, knn *InfomapKNN, options *InfomapOptions) (src, dst []int64, weight []float64, err error) {
	opts, k := options.raw()
	xp, ip, dp, err := infomapInputs(x, n, d, knn, k)
	if err != nil {
		return nil, nil, nil, err
	}
	room := 0
	if k >= 1 && k <= n {
		if err := checkShape("links", n, k); err != nil {
			return nil, nil, nil, err
		}
		room = n * k
	}
	src, dst, weight = make([]int64, room), make([]int64, room), make([]float64, room)
	var count C.int64_t
	var captured C.rlcc_go_error
	var wp *C.double
	if room > 0 {
		wp = (*C.double)(unsafe.Pointer(&weight[0]))
	}
	if err := result(C.rlcc_go_infomap_links(xp, C.int64_t(n), C.int64_t(d), ip, dp, &opts,
		int64s(src), int64s(dst), wp, &count, &captured), &captured); err != nil {
		return nil, nil, nil, err
	}
	m := int(count)
	return src[:m:m], dst[:m:m], weight[:m:m], nil
}

// MapCodelength is the two-level map-equation codelength (bits) of modules
// (one id >= 0 per node) on the directed graph src[e] -> dst[e] with
// weights > 0, under Infomap 1.x --directed's flow (teleportation to
// links, unrecorded, alpha 0.15).
func MapCodelength(nNodes int, src, dst []int64, weight []float64, modules []int32) (float64, error) {
	if len(src) != len(dst) || len(src) != len(weight) {
		return 0, invalid("src, dst, weight: lengths %d, %d, %d differ", len(src), len(dst), len(weight))
	}
	if len(modules) != nNodes {
		return 0, invalid("modules: %d entries, expected nNodes = %d", len(modules), nNodes)
	}
	var wp *C.double
	if len(weight) > 0 {
		wp = (*C.double)(unsafe.Pointer(&weight[0]))
	}
	var out C.double
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_map_codelength(C.int64_t(nNodes), int64s(src), int64s(dst), wp,
		C.int64_t(len(src)), int32s(modules), &out, &captured), &captured); err != nil {
		return 0, err
	}
	return float64(out), nil
}
