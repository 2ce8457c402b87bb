//! `DbscanOptions::algorithm` (librlcc 1.5): every neighbour search gives
//! brute's labels on integer lattices with many pairs at exactly eps, and the
//! library's refusals (the grid above d = 5, grid or tree with cosine) reach
//! Rust with their code and message. Also the 1.5 layout of
//! `sys::rlcc_dbscan_options`, as the library reads it.

use rlcc::{Algorithm, DbscanOptions, Metric};

const ALL: [Algorithm; 4] = [Algorithm::Auto, Algorithm::Brute, Algorithm::Grid, Algorithm::KdTree];

/// A small deterministic generator (no crates): xorshift64*.
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) % bound
    }
}

/// `n` points of `d` integer coordinates: clumps (offsets in [-3, 3] around
/// centres 12 apart, so with repeats) and a tenth of integer noise; `far`
/// moves them to 4 x + 2048, still exact in float32. Every distance is the
/// square root of an integer and many equal the lattice eps.
fn lattice(seed: u64, n: usize, d: usize, far: bool) -> Vec<f32> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x1000_0000_01b3));
    let centres: Vec<i64> = (0..4 * d).map(|_| rng.below(4) as i64 * 12).collect();
    let mut x = Vec::with_capacity(n * d);
    for _ in 0..n {
        let noise = rng.below(10) == 0;
        let c = rng.below(4) as usize;
        for k in 0..d {
            let v = if noise { rng.below(54) as i64 - 6 } else { centres[c * d + k] + rng.below(7) as i64 - 3 };
            x.push(if far { (4 * v + 2048) as f32 } else { v as f32 });
        }
    }
    x
}

fn options(algorithm: Algorithm) -> DbscanOptions {
    DbscanOptions { algorithm, ..Default::default() }
}

#[test]
fn default_is_auto() {
    assert_eq!(Algorithm::default(), Algorithm::Auto);
    assert_eq!(DbscanOptions::default().algorithm, Algorithm::Auto);
}

/// Two points exactly eps apart are neighbours on every path.
#[test]
fn a_tie_at_eps_is_a_neighbour() {
    let x = [0.0f32, 0.0, 1.0, 0.0, 4.0, 0.0, 4.0, 2.0];
    for algorithm in ALL {
        let r = rlcc::dbscan_features(&x, 4, 2, 1.0, 2, &options(algorithm)).unwrap();
        assert_eq!(r.labels, vec![0, 0, -1, -1], "{:?}", algorithm);
        let r = rlcc::dbscan_features(&x, 4, 2, 2.0, 2, &options(algorithm)).unwrap();
        assert_eq!(r.labels, vec![0, 0, 1, 1], "{:?}", algorithm);
    }
}

/// Each case at a lattice eps and at the double just below it: every
/// algorithm and 1 or 2 threads give brute's labels, core flags and cluster
/// count. The cases are not trivial: most have two clusters or more and
/// noise, and in many the pairs at exactly eps change brute's labels.
#[test]
fn every_algorithm_gives_brute_labels_on_lattices() {
    let (mut cases, mut clustered, mut tie_decides) = (0, 0, 0);
    for d in [2usize, 3] {
        for seed in 0..6u64 {
            let n = 60 + 50 * seed as usize;
            let far = seed % 3 == 2;
            let scale = if far { 4.0 } else { 1.0 };
            let x = lattice(seed + 100 * d as u64, n, d, far);
            for eps in [1.0f64, 2.0, 3.0, 1.5] {
                for min_samples in [1i64, 2, 4, 6, 10] {
                    let at = scale * eps;
                    let below = f64::from_bits(at.to_bits() - 1);
                    let mut brute = Vec::new();
                    for eps in [at, below] {
                        let want = rlcc::dbscan_features(&x, n, d, eps, min_samples, &options(Algorithm::Brute)).unwrap();
                        for algorithm in ALL {
                            for n_threads in [1, 2] {
                                let o = DbscanOptions { algorithm, n_threads, ..Default::default() };
                                let got = rlcc::dbscan_features(&x, n, d, eps, min_samples, &o).unwrap();
                                assert_eq!(got, want, "{:?}, d = {}, seed {}, eps {:e}, min_samples {}, {} threads",
                                           algorithm, d, seed, eps, min_samples, n_threads);
                            }
                        }
                        brute.push(want);
                    }
                    cases += 1;
                    clustered += (brute[0].n_clusters >= 2 && brute[0].labels.contains(&-1)) as usize;
                    tie_decides += (brute[0] != brute[1]) as usize;
                }
            }
        }
    }
    assert_eq!(cases, 2 * 6 * 4 * 5);
    assert!(clustered >= cases / 2, "{} of {} cases have clusters and noise", clustered, cases);
    assert!(tie_decides >= cases / 4, "ties at eps decide {} of {} cases", tie_decides, cases);
}

#[test]
fn the_grid_refuses_d_above_5_and_the_tree_takes_it() {
    let x = vec![0.0f32; 3 * 6];
    let e = rlcc::dbscan_features(&x, 3, 6, 1.0, 2, &options(Algorithm::Grid)).unwrap_err();
    assert_eq!(e.code, rlcc::code::INVALID_ARGUMENT);
    assert!(e.message.contains("options.algorithm: the grid (RLCC_DBSCAN_GRID) takes d <= 5, not d = 6"),
            "{}", e.message);
    assert!(e.to_string().contains("takes d <= 5"), "{}", e);
    for algorithm in [Algorithm::Auto, Algorithm::Brute, Algorithm::KdTree] {
        assert_eq!(rlcc::dbscan_features(&x, 3, 6, 1.0, 2, &options(algorithm)).unwrap().labels, vec![0, 0, 0]);
    }
    let x5 = vec![0.0f32; 3 * rlcc::sys::RLCC_DBSCAN_GRID_MAX_DIM as usize];
    let r = rlcc::dbscan_features(&x5, 3, 5, 1.0, 2, &options(Algorithm::Grid)).unwrap();
    assert_eq!(r.labels, vec![0, 0, 0]);
}

#[test]
fn grid_and_tree_refuse_cosine() {
    let x = [1.0f32, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    for algorithm in [Algorithm::Grid, Algorithm::KdTree] {
        let o = DbscanOptions { metric: Metric::Cosine, algorithm, ..Default::default() };
        let e = rlcc::dbscan_features(&x, 3, 3, 0.1, 2, &o).unwrap_err();
        assert_eq!(e.code, rlcc::code::INVALID_ARGUMENT, "{:?}", algorithm);
        assert!(e.message.contains("decides euclidean distances only"), "{:?}: {}", algorithm, e.message);
    }
    assert!(rlcc::dbscan_features(&x, 3, 3, 0.1, 2, &DbscanOptions {
        metric: Metric::Cosine, algorithm: Algorithm::Grid, ..Default::default() })
        .unwrap_err().message.contains("the grid (RLCC_DBSCAN_GRID)"));
    for algorithm in [Algorithm::Auto, Algorithm::Brute] {
        let o = DbscanOptions { metric: Metric::Cosine, algorithm, ..Default::default() };
        assert_eq!(rlcc::dbscan_features(&x, 3, 3, 0.1, 1, &o).unwrap().labels, vec![0, 1, 2]);
    }
}

/// Precomputed input: the algorithm is checked and otherwise ignored.
#[test]
fn precomputed_input_ignores_the_algorithm() {
    let dist = [0.0f32, 0.5, 9.0, 0.5, 0.0, 9.0, 9.0, 9.0, 0.0];
    for algorithm in ALL {
        let r = rlcc::dbscan_dense(&dist, 3, 1.0, 2, &options(algorithm)).unwrap();
        assert_eq!(r.labels, vec![0, 0, -1]);
        let r = rlcc::dbscan_csr(&[0, 1, 2, 2], &[1, 0], &[0.5, 0.5], 1.0, 2, &options(algorithm)).unwrap();
        assert_eq!(r.labels, vec![0, 0, -1]);
    }
}

/// The raw struct as rlcc.h 1.5 lays it out on LP64, and as the library
/// reads it: `_init` fills the crate's size, and the library sees the
/// `algorithm` and `reserved` this struct writes.
#[test]
fn sys_dbscan_options_have_the_1_5_layout() {
    use rlcc::sys::{self, rlcc_dbscan_options};
    #[cfg(target_pointer_width = "64")]
    {
        let value = rlcc_dbscan_options::default();
        let base = &value as *const rlcc_dbscan_options as usize;
        let at = |field: usize| (field - base) as i64;
        assert_eq!(std::mem::size_of::<rlcc_dbscan_options>(), 32);
        assert_eq!(
            [at(std::ptr::addr_of!(value.struct_size) as usize), at(std::ptr::addr_of!(value.metric) as usize),
             at(std::ptr::addr_of!(value.n_threads) as usize), at(std::ptr::addr_of!(value.max_bytes) as usize),
             at(std::ptr::addr_of!(value.algorithm) as usize), at(std::ptr::addr_of!(value.reserved) as usize)],
            [0, 8, 12, 16, 24, 28]);
    }
    let size = std::mem::size_of::<rlcc_dbscan_options>();
    let mut o = rlcc_dbscan_options { metric: 7, algorithm: 7, reserved: 7, ..Default::default() };
    assert_eq!(unsafe { sys::rlcc_dbscan_options_init(&mut o, size) }, 0);
    assert_eq!((o.struct_size, o.metric, o.algorithm, o.reserved), (size, 0, sys::RLCC_DBSCAN_AUTO, 0));
    let call = |o: &rlcc_dbscan_options, d: i64| -> (i32, String) {
        let x = [0.0f32; 12];
        let mut labels = [0i32; 2];
        let rc = unsafe {
            sys::rlcc_dbscan_features(x.as_ptr(), 2, d, d, 1.0, 1, o, labels.as_mut_ptr(), std::ptr::null_mut(),
                                      std::ptr::null_mut(), std::ptr::null_mut())
        };
        let message = unsafe { std::ffi::CStr::from_ptr(sys::rlcc_last_error()) }.to_string_lossy().into_owned();
        (rc, message)
    };
    let (rc, message) = call(&rlcc_dbscan_options { reserved: 1, ..o }, 2);
    assert_eq!(rc, rlcc::code::INVALID_ARGUMENT);
    assert!(message.contains("options.reserved: is 1"), "{}", message);
    let (rc, message) = call(&rlcc_dbscan_options { algorithm: 4, ..o }, 2);
    assert_eq!(rc, rlcc::code::INVALID_ARGUMENT);
    assert!(message.contains("options.algorithm: 4 is not a known algorithm"), "{}", message);
    let (rc, message) = call(&rlcc_dbscan_options { algorithm: sys::RLCC_DBSCAN_GRID, ..o }, 6);
    assert_eq!(rc, rlcc::code::INVALID_ARGUMENT);
    assert!(message.contains("takes d <= 5, not d = 6"), "{}", message);
    assert_eq!(call(&rlcc_dbscan_options { algorithm: sys::RLCC_DBSCAN_TREE, ..o }, 6).0, 0);
}
