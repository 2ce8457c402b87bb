package rlcc

/*
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// librlcc 1.7 (issue #15 items 1, 4, 5): camera-aware proxies (CAP, ICE,
// O2CAP, PPLR), PPLR's cross-agreement scores and part weights, and the
// DBSCAN radius from a distance quantile (SSG, DomainAdaptiveReID, MMT).

// ProxyOrder is the numbering of CameraProxies.
type ProxyOrder int32

// Proxy orders (RLCC_PROXIES_* in rlcc.h).
const (
	// ProxiesCameraMajor numbers cameras ascending, then clusters (CAP, ICE); the zero value.
	ProxiesCameraMajor ProxyOrder = C.RLCC_PROXIES_CAMERA_MAJOR
	// ProxiesClusterMajor numbers clusters ascending, then cameras (O2CAP, PPLR).
	ProxiesClusterMajor ProxyOrder = C.RLCC_PROXIES_CLUSTER_MAJOR
)

// CentroidNorm is how a proxy centroid's norm is taken (rlcc_centroid_options.norm).
type CentroidNorm int32

// Centroid norms (RLCC_CENTROID_NORM_* in rlcc.h).
const (
	// CentroidNormDouble takes the norm in double (librlcc's arithmetic); the zero value.
	CentroidNormDouble CentroidNorm = C.RLCC_CENTROID_NORM_DOUBLE
	// CentroidNormFloat32 takes it in float32 as NumPy: CAP's and ICE's bytes.
	CentroidNormFloat32 CentroidNorm = C.RLCC_CENTROID_NORM_FLOAT32
)

// ProxyOptions are the options of CameraProxies. The zero value is the
// library's default: camera-major, the norm in double, every thread, half
// of RAM.
type ProxyOptions struct {
	Order    ProxyOrder
	Norm     CentroidNorm
	Threads  int   // 0: every OpenMP thread; never changes a value
	MaxBytes int64 // bound on each call's working memory; 0: half of RAM
}

// Proxies is the result of CameraProxies.
type Proxies struct {
	Proxy     []int32   // the proxy of every sample, -1 for noise
	Cluster   []int32   // each proxy's cluster label (M entries)
	Camera    []int32   // each proxy's camera (M entries)
	Centroids []float32 // M x d, row-major: each proxy's L2-normalised mean
}

// CameraProxies gives one proxy per (cluster, camera) pair that has a member
// (rlcc_camera_proxies, then rlcc_centroids_opts over the proxy ids).
// labels: n values >= -1 (any, ordered numerically); cameras: n values >= 0;
// x: n x d features.
func CameraProxies(labels, cameras []int32, x []float32, d int, options *ProxyOptions) (*Proxies, error) {
	n := len(labels)
	if err := checkLength("cameras", len(cameras), n); err != nil {
		return nil, err
	}
	if err := checkMatrix("x", len(x), n, d); err != nil {
		return nil, err
	}
	if options == nil {
		options = &ProxyOptions{}
	}
	var opts C.rlcc_proxy_options
	C.rlcc_proxy_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	opts.order, opts.max_bytes = C.int32_t(options.Order), C.int64_t(options.MaxBytes)
	size := n
	if size == 0 {
		size = 1
	}
	proxy := make([]int32, n)
	cluster, camera := make([]int32, size), make([]int32, size)
	var m C.int64_t
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_camera_proxies(int32s(labels), int32s(cameras), C.int64_t(n), &opts,
		int32s(proxy), &m, int32s(cluster), int32s(camera), &captured), &captured); err != nil {
		return nil, err
	}
	out := &Proxies{Proxy: proxy, Cluster: cluster[:int(m)], Camera: camera[:int(m)]}
	if m == 0 {
		out.Centroids = []float32{}
		return out, nil
	}
	var copts C.rlcc_centroid_options
	C.rlcc_centroid_options_init(&copts, C.size_t(unsafe.Sizeof(copts)))
	copts.norm, copts.n_threads = C.int32_t(options.Norm), clampInt32(options.Threads)
	copts.max_bytes = C.int64_t(options.MaxBytes)
	out.Centroids = make([]float32, int(m)*d)
	if err := result(C.rlcc_go_centroids_opts(floats(x), C.int64_t(n), C.int64_t(d), int32s(proxy), m,
		&copts, floats(out.Centroids), &captured), &captured); err != nil {
		return nil, err
	}
	return out, nil
}

// AgreementOptions are the options of CrossAgreement. Start from
// DefaultAgreementOptions() (PPLR's K = 20): a zero K is refused.
type AgreementOptions struct {
	K           int  // list length: the K + 1 nearest rows, position 0 dropped
	ExcludeSelf bool // drop the row itself wherever it is instead of position 0
	Threads     int  // 0: every OpenMP thread; never changes a value
	MaxBytes    int64
}

// DefaultAgreementOptions are the library's defaults.
func DefaultAgreementOptions() AgreementOptions {
	var opts C.rlcc_agreement_options
	C.rlcc_agreement_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	return AgreementOptions{K: int(opts.k), ExcludeSelf: opts.exclude_self != 0,
		Threads: int(opts.n_threads), MaxBytes: int64(opts.max_bytes)}
}

// CrossAgreement gives PPLR's cross-agreement scores (rlcc_cross_agreement):
// n x P float32, row-major, for the global features (n x dGlobal) and P
// parts (each n x dPart). Needs K + 1 <= n. options nil: the defaults.
func CrossAgreement(global []float32, n, dGlobal int, parts [][]float32, dPart int, options *AgreementOptions) ([]float32, error) {
	if err := checkMatrix("global", len(global), n, dGlobal); err != nil {
		return nil, err
	}
	if len(parts) == 0 {
		return nil, invalid("parts: no part given")
	}
	if err := checkShape("parts", len(parts)*n, dPart); err != nil {
		return nil, err
	}
	for p, part := range parts {
		if err := checkMatrix(fmt.Sprintf("parts[%d]", p), len(part), n, dPart); err != nil {
			return nil, err
		}
	}
	o := DefaultAgreementOptions()
	if options != nil {
		o = *options
	}
	var opts C.rlcc_agreement_options
	C.rlcc_agreement_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	opts.k, opts.exclude_self = clampInt32(o.K), boolInt(o.ExcludeSelf)
	opts.n_threads, opts.max_bytes = clampInt32(o.Threads), C.int64_t(o.MaxBytes)
	// one contiguous copy: C cannot be given an array of pointers into Go memory
	all := make([]float32, 0, len(parts)*n*dPart)
	for _, part := range parts {
		all = append(all, part...)
	}
	scores := make([]float32, n*len(parts))
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_cross_agreement(floats(global), C.int64_t(n), C.int64_t(dGlobal), floats(all),
		C.int64_t(len(parts)), C.int64_t(dPart), &opts, floats(scores), &captured), &captured); err != nil {
		return nil, err
	}
	return scores, nil
}

// PartWeights gives PPLR's part weights (rlcc_part_weights): the softmax over
// the parts of every row of scores (n x nParts), in double, rounded to
// float32 once.
func PartWeights(scores []float32, n, nParts int) ([]float32, error) {
	if err := checkMatrix("scores", len(scores), n, nParts); err != nil {
		return nil, err
	}
	out := make([]float32, n*nParts)
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_part_weights(floats(scores), C.int64_t(n), C.int64_t(nParts), floats(out),
		&captured), &captured); err != nil {
		return nil, err
	}
	return out, nil
}

// Summation is the sum of EpsFromQuantile (rlcc_quantile_options.summation).
type Summation int32

// Summations (RLCC_SUM_* in rlcc.h).
const (
	// SumNumpy is NumPy's float32 pairwise sum (MMT's bytes); the zero value.
	SumNumpy Summation = C.RLCC_SUM_NUMPY
	// SumDouble is a sequential double sum, rounded to float32 once.
	SumDouble Summation = C.RLCC_SUM_DOUBLE
)

// QuantileOptions are the options of EpsFromQuantile and EpsFromQuantileCSR;
// the zero value is the library's default.
type QuantileOptions struct {
	Summation Summation
	MaxBytes  int64 // bound on the selection (4 bytes per selected value); 0: half of RAM
}

func (o *QuantileOptions) c() C.rlcc_quantile_options {
	var opts C.rlcc_quantile_options
	C.rlcc_quantile_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	if o != nil {
		opts.summation, opts.max_bytes = C.int32_t(o.Summation), C.int64_t(o.MaxBytes)
	}
	return opts
}

// EpsFromQuantile is the DBSCAN radius of SSG, DomainAdaptiveReID and MMT
// (rlcc_eps_from_quantile): over the strict upper triangle of the dense
// n x n dist without exact zeros, the mean of the round-half-even(rho x
// count) smallest values.
func EpsFromQuantile(dist []float32, n int, rho float64, options *QuantileOptions) (float64, error) {
	if err := checkMatrix("dist", len(dist), n, n); err != nil {
		return 0, err
	}
	opts := options.c()
	var eps C.double
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_eps_from_quantile(floats(dist), C.int64_t(n), C.double(rho), &opts, &eps,
		&captured), &captured); err != nil {
		return 0, err
	}
	return float64(eps), nil
}

// EpsFromQuantileCSR is EpsFromQuantile over a sparse square matrix whose
// missing entries are distance 1 and whose exact zeros are stored
// (rlcc_eps_from_quantile_csr); refused when the selection would reach a
// missing entry (a matrix cut below 1 cannot give it).
func EpsFromQuantileCSR(m CSRMatrix, rho float64, options *QuantileOptions) (float64, error) {
	if err := m.check(); err != nil {
		return 0, err
	}
	if m.Rows != m.Cols {
		return 0, invalid("matrix: a distance matrix must be square, got %d x %d", m.Rows, m.Cols)
	}
	opts := options.c()
	var eps C.double
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_eps_from_quantile_csr(C.int64_t(m.Rows), int64s(m.Indptr), int32s(m.Indices),
		floats(m.Data), C.double(rho), &opts, &eps, &captured), &captured); err != nil {
		return 0, err
	}
	return float64(eps), nil
}
