//! InfoMap pseudo labels (issue #15 item 2) through the Rust binding: the C
//! library's bits (tests/bindings/reference.c's infomap_* outputs), the
//! options layout, and the errors.


mod common;
use common::Reference;

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn infomap_gives_the_c_results() {
    let r = Reference::run();
    let shape = r.i64("shape");
    let (n, d) = (shape[0] as usize, shape[1] as usize);
    let x0 = r.f32("x0");
    let o = rlcc::InfomapOptions { normalize: true, ..Default::default() };
    let got = rlcc::infomap_pseudo_labels(Some(&x0), n, d, None, None, &o).unwrap();
    assert_eq!(got.labels, r.i32("infomap_labels"));
    assert_eq!(got.n_classes, r.i64("infomap_n_classes")[0]);
    assert_eq!(bits(&[got.codelength]), bits(&r.f64s("infomap_codelength")));
    let modules: Vec<i32> = (0..n as i32).map(|i| i % 7).collect();
    let got = rlcc::infomap_pseudo_labels(Some(&x0), n, d, None, Some(&modules), &o).unwrap();
    assert_eq!(got.labels, r.i32("infomap_labels_modules"));
    assert_eq!(bits(&[got.codelength]), bits(&r.f64s("infomap_codelength_modules")));
    let (s, t, w) = rlcc::infomap_links(Some(&x0), n, d, None, &o).unwrap();
    assert_eq!(s, r.i64("infomap_src"));
    assert_eq!(t, r.i64("infomap_dst"));
    assert_eq!(bits(&w), bits(&r.f64s("infomap_weight")));
    let l = rlcc::map_codelength(n, &s, &t, &w, &modules).unwrap();
    assert_eq!(bits(&[l]), bits(&r.f64s("infomap_map_codelength")));
    // the caller's lists (librlcc's own, distances sqdist / 2) give the same
    let (idx, sq) = rlcc::knn(&x0, n, d, 15, 0).unwrap();
    let half: Vec<f32> = sq.iter().map(|v| v / 2.0).collect();
    let lists = rlcc::InfomapKnn { indices: &idx, distances: &half };
    let o2 = rlcc::InfomapOptions::default();
    // x0's rows are unit within the tolerance, so the normalised copy and
    // the rows themselves may differ in the last bits: compare like with like
    let own = rlcc::infomap_pseudo_labels(Some(&x0), n, d, None, None, &o2).unwrap();
    let given = rlcc::infomap_pseudo_labels(None, n, d, Some(lists), None, &o2).unwrap();
    assert_eq!(own, given);
    // the same bytes for every thread count and budget
    for (threads, budget) in [(1, 0), (2, 1 << 24), (0, 1 << 30)] {
        let o3 = rlcc::InfomapOptions { n_threads: threads, max_bytes: budget, ..o2 };
        assert_eq!(rlcc::infomap_pseudo_labels(Some(&x0), n, d, None, None, &o3).unwrap(), own);
    }
}

#[test]
fn infomap_options_have_the_c_layout() {
    let r = Reference::run();
    let v = rlcc::sys::rlcc_infomap_options::default();
    let base = &v as *const _ as usize;
    let offsets = vec![
        std::mem::size_of::<rlcc::sys::rlcc_infomap_options>() as i64,
        (std::ptr::addr_of!(v.struct_size) as usize - base) as i64,
        (std::ptr::addr_of!(v.k) as usize - base) as i64,
        (std::ptr::addr_of!(v.cluster_num) as usize - base) as i64,
        (std::ptr::addr_of!(v.min_sim) as usize - base) as i64,
        (std::ptr::addr_of!(v.seed) as usize - base) as i64,
        (std::ptr::addr_of!(v.trials) as usize - base) as i64,
        (std::ptr::addr_of!(v.normalize) as usize - base) as i64,
        (std::ptr::addr_of!(v.n_threads) as usize - base) as i64,
        (std::ptr::addr_of!(v.reserved) as usize - base) as i64,
        (std::ptr::addr_of!(v.max_bytes) as usize - base) as i64,
    ];
    assert_eq!(offsets, r.i64("layout_infomap_options"));
}

#[test]
fn infomap_errors() {
    let x = [1.0f32, 0.0, 0.0, 1.0, 0.6, 0.8];
    let bad = |o: rlcc::InfomapOptions, text: &str| {
        let e = rlcc::infomap_pseudo_labels(Some(&x), 3, 2, None, None, &o).unwrap_err();
        assert_eq!(e.code, rlcc::code::INVALID_ARGUMENT);
        assert!(e.message.contains(text), "{} lacks {}", e.message, text);
    };
    let o = rlcc::InfomapOptions { k: 2, ..Default::default() };
    bad(rlcc::InfomapOptions { k: 4, ..o }, "options.k: 4 must be in [1, n = 3]");
    bad(rlcc::InfomapOptions { k: 0, ..o }, "options.k: 0");
    bad(rlcc::InfomapOptions { min_sim: f64::NAN, ..o }, "options.min_sim: nan");
    bad(rlcc::InfomapOptions { min_sim: 2.0, ..o }, "options.min_sim: 2");
    bad(rlcc::InfomapOptions { cluster_num: -1, ..o }, "options.cluster_num: -1");
    bad(rlcc::InfomapOptions { trials: 0, ..o }, "options.trials: 0");
    let e = rlcc::infomap_pseudo_labels(Some(&x[..5]), 3, 2, None, None, &o).unwrap_err();
    assert!(e.message.contains("x: 5 values"), "{}", e.message);
    let e = rlcc::infomap_pseudo_labels(Some(&x), 3, 2, None, Some(&[0, -1, 0]), &o).unwrap_err();
    assert!(e.message.contains("modules: sample 1 has module -1"), "{}", e.message);
    let e = rlcc::infomap_pseudo_labels(Some(&x), 3, 2, None, Some(&[0, 0]), &o).unwrap_err();
    assert!(e.message.contains("modules: 2 entries"), "{}", e.message);
    let idx = [0i64, 1, 1, 2, 2, 3];
    let dist = [0.0f32, 0.1, 0.0, 0.2, 0.0, 0.3];
    let lists = rlcc::InfomapKnn { indices: &idx, distances: &dist };
    let e = rlcc::infomap_pseudo_labels(None, 3, 2, Some(lists), None, &o).unwrap_err();
    assert!(e.message.contains("knn: entry 1 of row 2 is 3, outside [0, 3)"), "{}", e.message);
    let short = rlcc::InfomapKnn { indices: &idx[..4], distances: &dist };
    let e = rlcc::infomap_pseudo_labels(None, 3, 2, Some(short), None, &o).unwrap_err();
    assert!(e.message.contains("knn.indices: 4 values"), "{}", e.message);
    let e = rlcc::map_codelength(2, &[0, 1], &[1, 1], &[1.0, 1.0], &[0, 0]).unwrap_err();
    assert!(e.message.contains("self-link"), "{}", e.message);
    let e = rlcc::map_codelength(2, &[0, 1], &[1, 0], &[1.0, 0.0], &[0, 0]).unwrap_err();
    assert!(e.message.contains("weight: link 1 has weight 0"), "{}", e.message);
    let e = rlcc::map_codelength(2, &[0, 1], &[1, 2], &[1.0, 1.0], &[0, 0]).unwrap_err();
    assert!(e.message.contains("dst: link 1 has node 2"), "{}", e.message);
    let e = rlcc::map_codelength(2, &[0, 1], &[1, 0], &[1.0], &[0, 0]).unwrap_err();
    assert!(e.message.contains("lengths"), "{}", e.message);
    let e = rlcc::map_codelength(2, &[0, 1], &[1, 0], &[1.0, 1.0], &[0, -5]).unwrap_err();
    assert!(e.message.contains("modules: node 1 has module -5"), "{}", e.message);
    // Infomap 1.3.0's printed codelength of a graph with a dangling node
    let l = rlcc::map_codelength(7, &[0, 1, 2, 2, 3, 4, 5, 5, 1], &[1, 2, 0, 3, 4, 5, 3, 0, 6],
                                 &[1.0, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 0.25, 2.0], &[1, 1, 1, 2, 2, 2, 1]).unwrap();
    assert!((l - 2.19670238).abs() < 5e-9);
}
