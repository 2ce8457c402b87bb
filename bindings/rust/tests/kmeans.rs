//! k-means (librlcc 1.7, issue #15 item 3) through the crate: the C
//! library's bits (tests/bindings/reference.c's kmeans_* outputs on the
//! committed fixture), the options' layout, thread and budget invariance,
//! and the refusals with the library's messages.


use rlcc::code::{INVALID_ARGUMENT, MEMORY_LIMIT};
use rlcc::KmeansOptions;

mod common;
use common::Reference;

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}

#[test]
fn kmeans_gives_the_c_results() {
    let r = Reference::run();
    let shape = r.i64("shape");
    let (n, d) = (shape[0] as usize, shape[1] as usize);
    let x0 = r.f32("x0");
    let start = rlcc::kmeans_init_faiss(n, 12, 1234, 4).unwrap();
    assert_eq!(start.start_rows, r.i64("kmeans_start"));
    assert_eq!(start.train_rows, r.i64("kmeans_train"));
    let init: Vec<f32> = start.start_rows.iter().flat_map(|&i| x0[i as usize * d..(i as usize + 1) * d].to_vec()).collect();
    let full = rlcc::kmeans(&x0, n, d, &init, &KmeansOptions::default()).unwrap();
    assert_eq!(full.labels, r.i32("kmeans_labels"));
    assert_eq!(bits(&full.centroids), bits(&r.f32("kmeans_centroids")));
    assert_eq!(full.n_iter, r.i64("kmeans_n_iter")[0]);
    let two = KmeansOptions { max_iter: 2, tol: 0.0, ..Default::default() };
    let short = rlcc::kmeans(&x0, n, d, &init, &two).unwrap();
    assert_eq!(short.labels, r.i32("kmeans_short_labels"));
    assert_eq!(bits(&short.centroids), bits(&r.f32("kmeans_short_centroids")));
    assert_eq!(short.n_iter, r.i64("kmeans_short_n_iter")[0]);
    // the same bits for every thread count and budget
    for (threads, budget) in [(1, 0), (2, 1 << 16), (3, 0)] {
        let o = KmeansOptions { n_threads: threads, max_bytes: budget, ..Default::default() };
        assert_eq!(rlcc::kmeans(&x0, n, d, &init, &o).unwrap(), full);
    }
}

#[test]
fn kmeans_options_layout_is_the_c_one() {
    let r = Reference::run();
    let want = r.i64("layout_kmeans_options");
    let o = rlcc::sys::rlcc_kmeans_options::default();
    let base = &o as *const _ as usize;
    let got = vec![
        std::mem::size_of::<rlcc::sys::rlcc_kmeans_options>() as i64,
        (&o.struct_size as *const _ as usize - base) as i64,
        (&o.max_iter as *const _ as usize - base) as i64,
        (&o.n_threads as *const _ as usize - base) as i64,
        (&o.tol as *const _ as usize - base) as i64,
        (&o.max_bytes as *const _ as usize - base) as i64,
    ];
    assert_eq!(got, want);
}

#[test]
fn kmeans_refusals_carry_the_library_message() {
    let x = [0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0]; // 3 rows, d = 2
    let d = Default::default();
    let e = rlcc::kmeans(&x, 3, 2, &[0.0; 8], &d).unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (INVALID_ARGUMENT, "k: 4 exceeds the 3 rows"));
    let e = rlcc::kmeans(&x, 3, 2, &[], &d).unwrap_err();
    assert_eq!(e.message, "k: 0 must be >= 1");
    let e = rlcc::kmeans(&x, 3, 2, &[0.0; 3], &d).unwrap_err();
    assert_eq!(e.message, "init: 3 values are not rows of d = 2");
    let e = rlcc::kmeans(&x, 4, 2, &[0.0; 2], &d).unwrap_err();
    assert_eq!(e.code, INVALID_ARGUMENT);
    let mut bad = x;
    bad[3] = f32::NAN;
    let e = rlcc::kmeans(&bad, 3, 2, &[0.0; 2], &d).unwrap_err();
    assert_eq!(e.message, "x: row 1 has NaN at column 1");
    let e = rlcc::kmeans(&x, 3, 2, &[0.0, f32::INFINITY], &d).unwrap_err();
    assert_eq!(e.message, "init: row 0 has inf at column 1");
    let e = rlcc::kmeans(&x, 3, 2, &[0.0; 2], &KmeansOptions { max_iter: 0, ..d }).unwrap_err();
    assert_eq!(e.message, "options.max_iter: 0 must be >= 1");
    let e = rlcc::kmeans(&x, 3, 2, &[0.0; 2], &KmeansOptions { tol: f64::NAN, ..d }).unwrap_err();
    assert!(e.message.starts_with("options.tol:"), "{}", e.message);
    let e = rlcc::kmeans(&x, 3, 2, &[0.0; 2], &KmeansOptions { max_bytes: 64, ..d }).unwrap_err();
    assert_eq!(e.code, MEMORY_LIMIT);
    let e = rlcc::kmeans_init_faiss(3, 4, 1234, 256).unwrap_err();
    assert_eq!(e.message, "k: 4 exceeds the 3 rows");
    let e = rlcc::kmeans_init_faiss(3, 2, 1234, 0).unwrap_err();
    assert_eq!(e.message, "max_points_per_centroid: 0 must be >= 1");
    let e = rlcc::kmeans_init_faiss(usize::MAX, 2, 1234, 1).unwrap_err();
    assert_eq!(e.message, "n: 18446744073709551615 does not fit int64");
}
