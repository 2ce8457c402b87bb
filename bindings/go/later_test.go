package rlcc_test

import (
	"math"
	"sort"
	"strings"
	"testing"

	rlcc "librlcc.org/go/rlcc"
)

// lcg is a fixed-seed generator for the 1.7 tests (items 1, 4, 5).
type lcg uint64

func (r *lcg) next() uint32 {
	*r = lcg(uint64(*r)*6364136223846793005 + 1442695040888963407)
	return uint32(uint64(*r) >> 33)
}
func (r *lcg) below(n int) int { return int(r.next() % uint32(n)) }
func (r *lcg) unit() float32   { return float32(r.next()>>7) / float32(1<<24) }
func (r *lcg) rows(n, d int) []float32 {
	x := make([]float32, n*d)
	for i := 0; i < n; i++ {
		var s float64
		for j := 0; j < d; j++ {
			x[i*d+j] = r.unit() - 0.5
			s += float64(x[i*d+j]) * float64(x[i*d+j])
		}
		for j := 0; j < d; j++ {
			x[i*d+j] /= float32(math.Sqrt(s))
		}
	}
	return x
}

func proxyOracle(labels, cameras []int32, clusterMajor bool) ([]int32, []int32, []int32) {
	type pair struct{ a, b int32 }
	seen := map[pair]bool{}
	var pairs []pair
	for i, l := range labels {
		if l < 0 {
			continue
		}
		p := pair{cameras[i], l}
		if clusterMajor {
			p = pair{l, cameras[i]}
		}
		if !seen[p] {
			seen[p] = true
			pairs = append(pairs, p)
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		return pairs[i].a < pairs[j].a || (pairs[i].a == pairs[j].a && pairs[i].b < pairs[j].b)
	})
	id := map[pair]int32{}
	cl, ca := []int32{}, []int32{}
	for k, p := range pairs {
		id[p] = int32(k)
		if clusterMajor {
			cl, ca = append(cl, p.a), append(ca, p.b)
		} else {
			cl, ca = append(cl, p.b), append(ca, p.a)
		}
	}
	proxy := make([]int32, len(labels))
	for i, l := range labels {
		proxy[i] = -1
		if l >= 0 {
			p := pair{cameras[i], l}
			if clusterMajor {
				p = pair{l, cameras[i]}
			}
			proxy[i] = id[p]
		}
	}
	return proxy, cl, ca
}

func equalInt32(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func TestCameraProxiesOracle(t *testing.T) {
	r := lcg(41)
	for c := 0; c < 200; c++ {
		n, d := r.below(100), 1+r.below(30)
		labels, cameras := make([]int32, n), make([]int32, n)
		for i := range labels {
			labels[i] = int32(r.below(7)*1000) - 1 // -1 and sparse labels
			cameras[i] = int32(r.below(4) * (c % 3) * 77)
		}
		x := r.rows(n, d)
		for _, order := range []rlcc.ProxyOrder{rlcc.ProxiesCameraMajor, rlcc.ProxiesClusterMajor} {
			got, err := rlcc.CameraProxies(labels, cameras, x, d, &rlcc.ProxyOptions{Order: order})
			if err != nil {
				t.Fatal(err)
			}
			p, cl, ca := proxyOracle(labels, cameras, order == rlcc.ProxiesClusterMajor)
			if !equalInt32(got.Proxy, p) || !equalInt32(got.Cluster, cl) || !equalInt32(got.Camera, ca) {
				t.Fatalf("case %d order %d: got %v %v %v", c, order, got.Proxy, got.Cluster, got.Camera)
			}
			// the centroids are rlcc_centroids_opts over the proxy ids
			for _, norm := range []rlcc.CentroidNorm{rlcc.CentroidNormDouble, rlcc.CentroidNormFloat32} {
				g, err := rlcc.CameraProxies(labels, cameras, x, d, &rlcc.ProxyOptions{Order: order, Norm: norm, Threads: 1 + c%3})
				if err != nil {
					t.Fatal(err)
				}
				if norm == rlcc.CentroidNormDouble && len(cl) > 0 {
					want, err := rlcc.CentroidsOpts(x, n, d, p, len(cl), nil)
					if err != nil || !sameBits(g.Centroids, want) {
						t.Fatalf("case %d: centroids differ from CentroidsOpts (%v)", c, err)
					}
				}
				if norm == rlcc.CentroidNormFloat32 {
					for k := 0; k < len(cl); k++ { // unit rows, or zero
						var s float64
						for _, v := range g.Centroids[k*d : (k+1)*d] {
							s += float64(v) * float64(v)
						}
						if s != 0 && math.Abs(s-1) > 1e-5 {
							t.Fatalf("case %d: centroid %d has squared norm %g", c, k, s)
						}
					}
				}
			}
		}
	}
	_, err := rlcc.CameraProxies([]int32{0, -2}, []int32{0, 0}, make([]float32, 4), 2, nil)
	if err == nil || !strings.Contains(err.Error(), "labels[1] = -2 is below -1") {
		t.Fatalf("labels < -1: %v", err)
	}
	_, err = rlcc.CameraProxies([]int32{0, 1}, []int32{0, -1}, make([]float32, 4), 2, nil)
	if err == nil || !strings.Contains(err.Error(), "cameras[1] = -1 is negative") {
		t.Fatalf("negative camera: %v", err)
	}
	if _, err = rlcc.CameraProxies([]int32{0, 1}, []int32{0}, make([]float32, 4), 2, nil); err == nil {
		t.Fatal("mismatched lengths accepted")
	}
}

func lists(x []float32, n, d, k int, excludeSelf bool) [][]int {
	out := make([][]int, n)
	for i := 0; i < n; i++ {
		order := make([]int, n)
		dist := make([]float64, n)
		for j := 0; j < n; j++ {
			order[j] = j
			for c := 0; c < d; c++ {
				t := float64(x[i*d+c]) - float64(x[j*d+c])
				dist[j] += t * t
			}
		}
		sort.SliceStable(order, func(a, b int) bool { return dist[order[a]] < dist[order[b]] })
		var l []int
		if excludeSelf {
			for _, j := range order {
				if j != i && len(l) < k {
					l = append(l, j)
				}
			}
		} else {
			l = order[1 : k+1]
		}
		out[i] = l
	}
	return out
}

func TestCrossAgreementOracle(t *testing.T) {
	r := lcg(43)
	for c := 0; c < 120; c++ {
		n := 2 + r.below(25)
		k, P := 1+r.below(n-1), 1+r.below(3)
		g := make([]float32, n*2)
		for i := range g {
			g[i] = float32(r.below(4)) / 4 // a grid: exact ties and duplicates
		}
		parts := make([][]float32, P)
		for p := range parts {
			parts[p] = make([]float32, n*3)
			for i := range parts[p] {
				parts[p][i] = float32(r.below(3)) / 2
			}
		}
		for _, ex := range []bool{false, true} {
			got, err := rlcc.CrossAgreement(g, n, 2, parts, 3, &rlcc.AgreementOptions{K: k, ExcludeSelf: ex, Threads: 1 + c%2})
			if err != nil {
				t.Fatal(err)
			}
			lg := lists(g, n, 2, k, ex)
			for p := range parts {
				lp := lists(parts[p], n, 3, k, ex)
				for i := 0; i < n; i++ {
					inter := 0
					for _, a := range lg[i] {
						for _, b := range lp[i] {
							if a == b {
								inter++
							}
						}
					}
					want := float32(inter) / float32(2*k-inter)
					if math.Float32bits(got[i*P+p]) != math.Float32bits(want) {
						t.Fatalf("case %d row %d part %d: %v, want %v", c, i, p, got[i*P+p], want)
					}
				}
			}
		}
	}
	g := r.rows(10, 4)
	if _, err := rlcc.CrossAgreement(g, 10, 4, [][]float32{r.rows(10, 3)}, 3, &rlcc.AgreementOptions{K: 10}); err == nil ||
		!strings.Contains(err.Error(), "k + 1 = 11 exceeds n = 10") {
		t.Fatalf("k + 1 > n: %v", err)
	}
	if d := rlcc.DefaultAgreementOptions(); d.K != 20 || d.ExcludeSelf {
		t.Fatalf("defaults %+v", d)
	}
	w, err := rlcc.PartWeights([]float32{0.5, 0.5, 0, 1}, 2, 2)
	if err != nil || w[0] != 0.5 || w[1] != 0.5 || w[2] != float32(1/(1+math.E)) {
		t.Fatalf("part weights %v %v", w, err)
	}
}

func TestEpsFromQuantile(t *testing.T) {
	r := lcg(47)
	checked := 0
	for c := 0; c < 150; c++ {
		n := 2 + r.below(50)
		dist := make([]float32, n*n)
		var upper []float32
		for i := range dist {
			if r.below(4) != 0 {
				dist[i] = r.unit() * 2
			}
		}
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				if dist[i*n+j] != 0 {
					upper = append(upper, dist[i*n+j])
				}
			}
		}
		sort.Slice(upper, func(a, b int) bool { return upper[a] < upper[b] })
		rho := []float64{1.6e-3, 0.01, 0.1, 0.5, 0.9}[c%5]
		top := int(math.RoundToEven(rho * float64(len(upper))))
		_, err := rlcc.EpsFromQuantile(dist, n, rho, &rlcc.QuantileOptions{Summation: rlcc.SumDouble})
		if top == 0 {
			if err == nil || !strings.Contains(err.Error(), "no value is selected") {
				t.Fatalf("case %d: top 0 gave %v", c, err)
			}
			continue
		}
		var s float64
		for _, v := range upper[:top] {
			s += float64(v)
		}
		want := float64(float32(s / float64(top)))
		got, err := rlcc.EpsFromQuantile(dist, n, rho, &rlcc.QuantileOptions{Summation: rlcc.SumDouble})
		if err != nil || got != want {
			t.Fatalf("case %d: %v (%v), want %v", c, got, err, want)
		}
		// the same matrix fully stored as CSR, both summations
		m := rlcc.CSRMatrix{Rows: n, Cols: n, Indptr: make([]int64, n+1), Indices: make([]int32, n*n), Data: dist}
		for i := 0; i <= n; i++ {
			m.Indptr[i] = int64(i * n)
		}
		for e := range m.Indices {
			m.Indices[e] = int32(e % n)
		}
		for _, sum := range []rlcc.Summation{rlcc.SumNumpy, rlcc.SumDouble} {
			a, err1 := rlcc.EpsFromQuantile(dist, n, rho, &rlcc.QuantileOptions{Summation: sum})
			b, err2 := rlcc.EpsFromQuantileCSR(m, rho, &rlcc.QuantileOptions{Summation: sum})
			if err1 != nil || err2 != nil || a != b {
				t.Fatalf("case %d: dense %v (%v), csr %v (%v)", c, a, err1, b, err2)
			}
		}
		checked++
	}
	if checked < 100 {
		t.Fatalf("only %d cases checked", checked)
	}
	if _, err := rlcc.EpsFromQuantile([]float32{0, 0.5, 0.5, 0}, 2, 1.0, nil); err == nil ||
		!strings.Contains(err.Error(), "must be in (0, 1)") {
		t.Fatalf("rho 1: %v", err)
	}
	cut := rlcc.CSRMatrix{Rows: 3, Cols: 3, Indptr: []int64{0, 1, 1, 1}, Indices: []int32{1}, Data: []float32{0.2}}
	if _, err := rlcc.EpsFromQuantileCSR(cut, 0.9, nil); err == nil || !strings.Contains(err.Error(), "missing entries") {
		t.Fatalf("cut matrix: %v", err)
	}
	dup := rlcc.CSRMatrix{Rows: 3, Cols: 3, Indptr: []int64{0, 2, 2, 2}, Indices: []int32{1, 1}, Data: []float32{0.2, 0.3}}
	if _, err := rlcc.EpsFromQuantileCSR(dup, 0.5, nil); err == nil || !strings.Contains(err.Error(), "duplicate column") {
		t.Fatalf("duplicates: %v", err)
	}
}
