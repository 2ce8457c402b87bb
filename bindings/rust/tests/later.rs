//! librlcc 1.7 items 1, 4, 5 through the crate: camera proxies, the
//! cross-agreement and part weights, eps from a quantile. Each wrapper is
//! held to the C function called through the raw FFI on the same
//! fixed-seed data (the same bytes), to small oracles written here from
//! later-methods.md, and to the library's errors.

use rlcc::sys;
use rlcc::{AgreementOptions, CentroidNorm, ProxyOptions, ProxyOrder, QuantileOptions, Summation};

/// A fixed-seed generator (64-bit LCG, the high bits).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 7) as f32 / (1u32 << 24) as f32
    }
}

fn unit_rows(r: &mut Lcg, n: usize, d: usize) -> Vec<f32> {
    let mut x: Vec<f32> = (0..n * d).map(|_| r.unit() - 0.5).collect();
    for row in x.chunks_mut(d) {
        let s: f64 = row.iter().map(|&v| v as f64 * v as f64).sum();
        let s = s.sqrt() as f32;
        if s > 0.0 {
            row.iter_mut().for_each(|v| *v /= s);
        }
    }
    x
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The proxies as the spec words them (section 1), by brute force.
fn proxy_oracle(labels: &[i32], cameras: &[i32], cluster_major: bool) -> (Vec<i32>, Vec<i32>, Vec<i32>) {
    let mut pairs: Vec<(i32, i32)> = labels.iter().zip(cameras)
        .filter(|(&l, _)| l >= 0)
        .map(|(&l, &c)| if cluster_major { (l, c) } else { (c, l) })
        .collect();
    pairs.sort();
    pairs.dedup();
    let proxy = labels.iter().zip(cameras).map(|(&l, &c)| {
        if l < 0 { return -1; }
        let key = if cluster_major { (l, c) } else { (c, l) };
        pairs.iter().position(|&p| p == key).unwrap() as i32
    }).collect();
    let (cl, ca) = pairs.iter().map(|&(a, b)| if cluster_major { (a, b) } else { (b, a) }).unzip();
    (proxy, cl, ca)
}

#[test]
fn proxies_match_the_oracle_and_the_c_call() {
    let mut r = Lcg(17);
    for case in 0..200 {
        let n = r.below(120) as usize;
        let d = 1 + r.below(40) as usize;
        let label_values: Vec<i32> = (0..1 + r.below(9)).map(|_| r.below(1 << 30) as i32).collect();
        let camera_values: Vec<i32> = (0..1 + r.below(5)).map(|_| (r.below(1 << 30) as i32) * (case % 2)).collect();
        let labels: Vec<i32> = (0..n).map(|_| {
            let t = r.below(label_values.len() as u32 + 1) as usize;
            if t == label_values.len() || case % 7 == 0 { -1 } else { label_values[t] }
        }).collect();
        let cameras: Vec<i32> = (0..n).map(|_| camera_values[r.below(camera_values.len() as u32) as usize]).collect();
        let x = unit_rows(&mut r, n, d);
        for (order, cluster_major) in [(ProxyOrder::CameraMajor, false), (ProxyOrder::ClusterMajor, true)] {
            for norm in [CentroidNorm::Double, CentroidNorm::Float32] {
                let o = ProxyOptions { order, norm, ..Default::default() };
                let got = rlcc::camera_proxies(&labels, &cameras, &x, d, &o).unwrap();
                let (p, cl, ca) = proxy_oracle(&labels, &cameras, cluster_major);
                assert_eq!((&got.proxy, &got.cluster, &got.camera), (&p, &cl, &ca), "case {}", case);
                // the centroids: the C call through the raw FFI, same bytes
                let m = cl.len();
                let mut want = vec![0f32; m * d];
                if m > 0 {
                    let mut co = sys::rlcc_centroid_options::default();
                    let size = std::mem::size_of_val(&co);
                    unsafe { assert_eq!(sys::rlcc_centroid_options_init(&mut co, size), 0) };
                    co.norm = if norm == CentroidNorm::Float32 { 1 } else { 0 };
                    let rc = unsafe {
                        sys::rlcc_centroids_opts(x.as_ptr(), n as i64, d as i64, d as i64, p.as_ptr(), m as i64,
                                                 &co, want.as_mut_ptr(), d as i64)
                    };
                    assert_eq!(rc, 0);
                }
                assert_eq!(bits(&got.centroids), bits(&want));
            }
        }
    }
}

#[test]
fn float32_norm_differs_from_double_only_in_rounding_and_threads_do_not_matter() {
    let mut r = Lcg(5);
    let n = 2000;
    let d = 2048;
    let x = unit_rows(&mut r, n, d);
    let labels: Vec<i32> = (0..n).map(|_| r.below(60) as i32 - 1).collect();
    let cameras: Vec<i32> = (0..n).map(|_| r.below(6) as i32).collect();
    let base = ProxyOptions { norm: CentroidNorm::Float32, ..Default::default() };
    let a = rlcc::camera_proxies(&labels, &cameras, &x, d, &base).unwrap();
    for t in [1, 2, 3] {
        let b = rlcc::camera_proxies(&labels, &cameras, &x, d, &ProxyOptions { n_threads: t, max_bytes: 1 << 20, ..base }).unwrap();
        assert_eq!(bits(&a.centroids), bits(&b.centroids));
    }
    let dbl = rlcc::camera_proxies(&labels, &cameras, &x, d, &ProxyOptions { norm: CentroidNorm::Double, ..base }).unwrap();
    let worst = a.centroids.iter().zip(&dbl.centroids)
        .map(|(p, q)| (p.to_bits() as i64 - q.to_bits() as i64).abs()).max().unwrap();
    assert!(worst <= 2, "float32 and double norms {} ulp apart", worst);
}

#[test]
fn proxies_errors() {
    let x = [0f32; 6];
    let o = ProxyOptions::default();
    let e = rlcc::camera_proxies(&[0, -2, 1], &[0, 0, 0], &x, 2, &o).unwrap_err();
    assert_eq!(e.code, rlcc::code::INVALID_ARGUMENT);
    assert!(e.message.contains("labels[1] = -2 is below -1"), "{}", e.message);
    let e = rlcc::camera_proxies(&[0, 1, 1], &[0, -4, 0], &x, 2, &o).unwrap_err();
    assert!(e.message.contains("cameras[1] = -4 is negative"), "{}", e.message);
    let e = rlcc::camera_proxies(&[0, 1, 1], &[0, 0], &x, 2, &o).unwrap_err();
    assert!(e.message.contains("cameras: 2 entries"), "{}", e.message);
    let e = rlcc::camera_proxies(&[0, 1, 1], &[0, 0, 0], &x[..4], 2, &o).unwrap_err();
    assert!(e.message.starts_with("x:"), "{}", e.message);
    let e = rlcc::camera_proxies(&[0; 500], &[0; 500], &[0f32; 1000], 2, &ProxyOptions { max_bytes: 100, ..o }).unwrap_err();
    assert_eq!(e.code, rlcc::code::MEMORY_LIMIT);
    let none = rlcc::camera_proxies(&[-1, -1], &[3, 4], &[1.0, 0.0, 0.0, 1.0], 2, &o).unwrap();
    assert!(none.cluster.is_empty() && none.centroids.is_empty() && none.proxy == vec![-1, -1]);
}

/// R(i) of section 4 by brute force in f64: (distance, index) order.
fn lists(x: &[f32], n: usize, d: usize, k: usize, exclude_self: bool) -> Vec<Vec<usize>> {
    (0..n).map(|i| {
        let mut order: Vec<(f64, usize)> = (0..n).map(|j| {
            let s: f64 = (0..d).map(|c| { let t = x[i * d + c] as f64 - x[j * d + c] as f64; t * t }).sum();
            (s, j)
        }).collect();
        order.sort_by(|a, b| a.partial_cmp(b).unwrap());
        if exclude_self {
            order.into_iter().map(|p| p.1).filter(|&j| j != i).take(k).collect()
        } else {
            order.into_iter().take(k + 1).skip(1).map(|p| p.1).collect()
        }
    }).collect()
}

#[test]
fn cross_agreement_matches_the_oracle_on_ties_and_duplicates() {
    let mut r = Lcg(23);
    for case in 0..120 {
        let n = 2 + r.below(30) as usize;
        let k = 1 + r.below(n as u32 - 1) as usize;
        let p = 1 + r.below(3) as usize;
        // a coarse grid: exact ties, and duplicate rows
        let g: Vec<f32> = (0..n * 2).map(|_| r.below(4) as f32 / 4.0).collect();
        let parts: Vec<Vec<f32>> = (0..p).map(|_| (0..n * 3).map(|_| r.below(3) as f32 / 2.0).collect()).collect();
        let views: Vec<&[f32]> = parts.iter().map(|v| v.as_slice()).collect();
        for exclude_self in [false, true] {
            let o = AgreementOptions { k: k as i32, exclude_self, ..Default::default() };
            let got = rlcc::cross_agreement(&g, n, 2, &views, 3, &o).unwrap();
            let lg = lists(&g, n, 2, k, exclude_self);
            for (q, part) in parts.iter().enumerate() {
                let lp = lists(part, n, 3, k, exclude_self);
                for i in 0..n {
                    let inter = lg[i].iter().filter(|j| lp[i].contains(j)).count();
                    let want = inter as f32 / (2 * k - inter) as f32;
                    assert_eq!(got[i * p + q].to_bits(), want.to_bits(), "case {} row {}", case, i);
                }
            }
        }
    }
}

#[test]
fn cross_agreement_equals_the_c_call_and_errors() {
    let mut r = Lcg(29);
    let (n, d) = (300, 24);
    let g = unit_rows(&mut r, n, 32);
    let parts: Vec<Vec<f32>> = (0..3).map(|_| unit_rows(&mut r, n, d)).collect();
    let views: Vec<&[f32]> = parts.iter().map(|v| v.as_slice()).collect();
    let got = rlcc::cross_agreement(&g, n, 32, &views, d, &AgreementOptions::default()).unwrap();
    let mut want = vec![0f32; n * 3];
    let ptrs: Vec<*const f32> = parts.iter().map(|v| v.as_ptr()).collect();
    let rc = unsafe {
        sys::rlcc_cross_agreement(g.as_ptr(), n as i64, 32, 32, ptrs.as_ptr(), 3, d as i64, d as i64,
                                  std::ptr::null(), want.as_mut_ptr())
    };
    assert_eq!(rc, 0);
    assert_eq!(bits(&got), bits(&want));
    for t in [1, 2] {
        let o = AgreementOptions { n_threads: t, max_bytes: 1 << 20, ..Default::default() };
        assert_eq!(bits(&rlcc::cross_agreement(&g, n, 32, &views, d, &o).unwrap()), bits(&want));
    }
    let w = rlcc::part_weights(&got, n, 3).unwrap();
    for (row, s) in w.chunks(3).zip(got.chunks(3)) {
        let m = s.iter().cloned().fold(f32::MIN, f32::max) as f64;
        let e: Vec<f64> = s.iter().map(|&v| (v as f64 - m).exp()).collect();
        let sum: f64 = e.iter().sum();
        for (a, b) in row.iter().zip(&e) {
            assert_eq!(a.to_bits(), ((b / sum) as f32).to_bits());
        }
    }
    let e = rlcc::cross_agreement(&g[..10 * 32], 10, 32, &[&parts[0][..10 * d]], d,
                                  &AgreementOptions { k: 10, ..Default::default() }).unwrap_err();
    assert!(e.message.contains("k + 1 = 11 exceeds n = 10"), "{}", e.message);
    let e = rlcc::cross_agreement(&g, n, 32, &[], d, &AgreementOptions::default()).unwrap_err();
    assert!(e.message.contains("no part"), "{}", e.message);
    let mut bad = parts[1].clone();
    bad[7] = f32::NAN;
    let e = rlcc::cross_agreement(&g, n, 32, &[&parts[0], &bad], d, &AgreementOptions::default()).unwrap_err();
    assert!(e.message.starts_with("parts[1]") && e.message.contains("NaN"), "{}", e.message);
    let e = rlcc::part_weights(&[0.1, f32::INFINITY], 1, 2).unwrap_err();
    assert_eq!(e.code, rlcc::code::INVALID_ARGUMENT);
}

/// Section 5 for the double summation: sort the nonzero upper values, the
/// sequential double mean of the first round-half-even(rho x count).
fn eps_oracle(dist: &[f32], n: usize, rho: f64) -> Option<f64> {
    let mut v: Vec<f32> = (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .map(|(i, j)| dist[i * n + j]).filter(|&t| t != 0.0).collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let x = rho * v.len() as f64;
    let mut top = x.round();
    if (x - x.trunc() - 0.5).abs() == 0.0 && top % 2.0 != 0.0 {
        top -= 1.0; // half to even
    }
    let top = top as usize;
    if top == 0 { return None; }
    let s: f64 = v[..top].iter().map(|&t| t as f64).sum();
    Some((s / top as f64) as f32 as f64)
}

#[test]
fn eps_dense_and_csr() {
    let mut r = Lcg(31);
    let mut checked = 0;
    for case in 0..150 {
        let n = 2 + r.below(60) as usize;
        let mut d: Vec<f32> = (0..n * n).map(|_| if r.below(4) == 0 { 0.0 } else { r.unit() * 2.0 }).collect();
        if case % 3 == 0 {
            d.iter_mut().for_each(|v| *v = (*v * 4.0).floor() / 4.0); // ties
        }
        let rho = [1.6e-3, 0.01, 0.1, 0.5, 0.9][case % 5];
        let dbl = QuantileOptions { summation: Summation::Double, ..Default::default() };
        let np = QuantileOptions::default();
        match eps_oracle(&d, n, rho) {
            None => {
                let e = rlcc::eps_from_quantile(&d, n, rho, &dbl).unwrap_err();
                assert!(e.message.contains("no value is selected"), "{}", e.message);
            }
            Some(want) => {
                assert_eq!(rlcc::eps_from_quantile(&d, n, rho, &dbl).unwrap(), want, "case {}", case);
                let mut raw = 0f64;
                let o = sys::rlcc_quantile_options { struct_size: std::mem::size_of::<sys::rlcc_quantile_options>(), ..Default::default() };
                assert_eq!(unsafe { sys::rlcc_eps_from_quantile(d.as_ptr(), n as i64, n as i64, rho, &o, &mut raw) }, 0);
                assert_eq!(rlcc::eps_from_quantile(&d, n, rho, &np).unwrap(), raw);
                // the same matrix fully stored as CSR (no missing entry)
                let indptr: Vec<i64> = (0..=n).map(|i| (i * n) as i64).collect();
                let indices: Vec<i32> = (0..n * n).map(|e| (e % n) as i32).collect();
                assert_eq!(rlcc::eps_from_quantile_csr(&indptr, &indices, &d, rho, &dbl).unwrap(), want);
                assert_eq!(rlcc::eps_from_quantile_csr(&indptr, &indices, &d, rho, &np).unwrap(), raw);
                checked += 1;
            }
        }
    }
    assert!(checked > 100);
    let o = QuantileOptions::default();
    for rho in [0.0, 1.0, f64::NAN] {
        let e = rlcc::eps_from_quantile(&[0.0, 0.5, 0.5, 0.0], 2, rho, &o).unwrap_err();
        assert!(e.message.contains("must be in (0, 1)"), "{}", e.message);
    }
    let e = rlcc::eps_from_quantile(&[0.0, f32::NAN, 0.5, 0.0], 2, 0.9, &o).unwrap_err();
    assert!(e.message.contains("entry (0, 1) is NaN"), "{}", e.message);
    // 3 samples, one stored pair: rho 0.9 -> round(2.7) = 3 values, 2 of them missing
    let e = rlcc::eps_from_quantile_csr(&[0, 1, 1, 1], &[1], &[0.2], 0.9, &o).unwrap_err();
    assert!(e.message.contains("missing entries"), "{}", e.message);
    let e = rlcc::eps_from_quantile_csr(&[0, 2, 2, 2], &[1, 1], &[0.2, 0.3], 0.5, &o).unwrap_err();
    assert!(e.message.contains("duplicate column 1 in row 0"), "{}", e.message);
    let e = rlcc::eps_from_quantile_csr(&[0, 2, 2], &[1], &[0.2], 0.5, &o).unwrap_err();
    assert_eq!(e.code, rlcc::code::INVALID_ARGUMENT);
    let big: Vec<f32> = vec![0.5; 200 * 200];
    let e = rlcc::eps_from_quantile(&big, 200, 0.5, &QuantileOptions { max_bytes: 1000, ..o }).unwrap_err();
    assert_eq!(e.code, rlcc::code::MEMORY_LIMIT);
}

#[test]
fn struct_layouts_are_the_headers() {
    use std::mem::{align_of, size_of};
    // rlcc.h on LP64: size_t, then int32 pairs, then int64
    assert_eq!((size_of::<sys::rlcc_proxy_options>(), align_of::<sys::rlcc_proxy_options>()), (24, 8));
    assert_eq!(size_of::<sys::rlcc_agreement_options>(), 32);
    assert_eq!(size_of::<sys::rlcc_quantile_options>(), 24);
    assert_eq!(size_of::<sys::rlcc_centroid_options>(), 32);
    // the library's init accepts the 1.4 size too (a caller compiled
    // against 1.4) and writes its defaults up to it
    let mut old = sys::rlcc_centroid_options::default();
    assert_eq!(unsafe { sys::rlcc_centroid_options_init(&mut old, 24) }, 0);
    assert_eq!(old.struct_size, 24);
    let o: sys::rlcc_agreement_options = {
        let mut o = sys::rlcc_agreement_options::default();
        assert_eq!(unsafe { sys::rlcc_agreement_options_init(&mut o, 32) }, 0);
        o
    };
    assert_eq!((o.struct_size, o.k, o.exclude_self), (32, 20, 0));
}
