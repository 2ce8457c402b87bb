//! The Rust binding gives the C library's bits: tests/bindings/reference.c
//! calls every computing function on the committed fixture and writes what
//! it got; the same calls through this crate must give identical values.


const BATCH: [i64; 4] = [5, 0, 119, 7];

mod common;
use common::Reference;

/// Bitwise equality of float slices (assert_eq! on f32 would accept -0.0 == 0.0).
fn same_bits(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{}: length", what);
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert_eq!(a.to_bits(), b.to_bits(), "{}[{}]: {} vs C {}", what, i, a, b);
    }
}

fn flags(core: &[bool]) -> Vec<i32> {
    core.iter().map(|&c| c as i32).collect()
}

#[test]
fn every_function_gives_the_c_results() {
    use rlcc::{Kind, Normalize};
    let r = Reference::run();
    let shape = r.i64("shape");
    let (n, d) = (shape[0] as usize, shape[1] as usize);
    let (x0, x1) = (r.f32("x0"), r.f32("x1"));

    let e = rlcc::dbscan_features(&x0, n, d, 0.9, 4, &Default::default()).unwrap();
    assert_eq!(e.labels, r.i32("dbscan_euclidean_labels"));
    assert_eq!(flags(&e.core), r.i32("dbscan_euclidean_core"));
    assert_eq!(e.n_clusters, r.i64("dbscan_euclidean_clusters")[0]);
    let cosine = rlcc::DbscanOptions { metric: rlcc::Metric::Cosine, ..Default::default() };
    let c = rlcc::dbscan_features(&x0, n, d, 0.4, 4, &cosine).unwrap();
    assert_eq!(c.labels, r.i32("dbscan_cosine_labels"));

    let (indices, sqdist) = rlcc::knn(&x0, n, d, 10, 0).unwrap();
    assert_eq!(indices, r.i64("knn_indices"));
    same_bits("knn_sqdist", &sqdist, &r.f32("knn_sqdist"));

    // the block kNN as reference.c runs it: query blocks [0, 50) and [50, n),
    // reference blocks [0, 37), [37, 81) and [81, n); per query block, a is
    // offered block 2 then the queries themselves, b block 1 then block 0,
    // and b is merged into a
    let (query_cuts, ref_cuts) = ([0, 50, n], [0, 37, 81, n]);
    let rows = |r0: usize, r1: usize| &x0[r0 * d..r1 * d];
    let (mut block_indices, mut block_sqdist, mut block_updates) = (Vec::new(), Vec::new(), Vec::new());
    for b in 0..2 {
        let (q0, q1) = (query_cuts[b], query_cuts[b + 1]);
        let queries = rows(q0, q1);
        let mut a = rlcc::KnnState::new(q1 - q0, q0, d, 10, &Default::default()).unwrap();
        let mut other = rlcc::KnnState::new(q1 - q0, q0, d, 10, &Default::default()).unwrap();
        a.update(queries, rows(ref_cuts[2], ref_cuts[3]), ref_cuts[3] - ref_cuts[2], ref_cuts[2]).unwrap();
        a.update(queries, queries, q1 - q0, q0).unwrap();
        other.update(queries, rows(ref_cuts[1], ref_cuts[2]), ref_cuts[2] - ref_cuts[1], ref_cuts[1]).unwrap();
        other.update(queries, rows(0, ref_cuts[1]), ref_cuts[1], 0).unwrap();
        a.merge(&other).unwrap();
        let (i, s) = a.finish().unwrap();
        block_indices.extend(i);
        block_sqdist.extend(s);
        block_updates.push(a.stats().n_updates);
    }
    assert_eq!(block_indices, r.i64("knn_block_indices"));
    same_bits("knn_block_sqdist", &block_sqdist, &r.f32("knn_block_sqdist"));
    assert_eq!(block_updates, r.i64("knn_block_updates"));
    // and C's blocks are C's whole-matrix kNN
    assert_eq!(r.i64("knn_block_indices"), r.i64("knn_indices"));
    same_bits("knn_block_sqdist vs knn_sqdist", &r.f32("knn_block_sqdist"), &r.f32("knn_sqdist"));

    let o = rlcc::JaccardOptions { k1: 10, k2: 3, cutoff: 0.9, ..Default::default() };
    let g = rlcc::jaccard(&x0, n, d, None, &o).unwrap();
    assert_eq!(g.indptr(), &r.i64("jaccard_indptr")[..]);
    assert_eq!(g.indices(), &r.i32("jaccard_indices")[..]);
    same_bits("jaccard_data", g.data(), &r.f32("jaccard_data"));
    let dense = rlcc::jaccard_dense(&x0, n, d, None, &o).unwrap();
    same_bits("jaccard_dense", &dense, &r.f32("jaccard_dense"));
    let by_graph = rlcc::dbscan_csr(g.indptr(), g.indices(), g.data(), 0.6, 4, &Default::default()).unwrap();
    assert_eq!(by_graph.labels, r.i32("dbscan_csr_labels"));
    assert_eq!(flags(&by_graph.core), r.i32("dbscan_csr_core"));
    let by_dense = rlcc::dbscan_dense(&dense, n, 0.6, 4, &Default::default()).unwrap();
    assert_eq!(by_dense.labels, r.i32("dbscan_dense_labels"));

    let mut p = rlcc::PseudoOptions { k1: 10, k2: 3, ..Default::default() };
    let g0 = rlcc::pseudo_labels(&x0, n, d, &p).unwrap();
    p.threshold = Some(g0.threshold);
    let g1 = rlcc::pseudo_labels(&x1, n, d, &p).unwrap();
    assert_eq!(g0.labels, r.i32("pseudo0_labels"));
    assert_eq!(g1.labels, r.i32("pseudo1_labels"));
    assert_eq!(g0.threshold.to_bits(), r.f64("pseudo0_threshold").to_bits());

    let (k_prev, k_cur) = (g0.n_classes as usize, g1.n_classes as usize);
    let cents = rlcc::centroids(&x0, n, d, &g0.labels, k_prev).unwrap();
    same_bits("centroids", &cents, &r.f32("centroids"));
    assert_eq!(rlcc::consensus_counts(&g0.labels, &g1.labels, 0, 0).unwrap(), r.i64("consensus_counts"));
    let iou = rlcc::consensus(&g0.labels, &g1.labels, 0, 0, Normalize::Sum).unwrap();
    same_bits("consensus_iou_sum", &iou, &r.f32("consensus_iou_sum"));
    let chat = rlcc::consensus_csr(&g0.labels, &g1.labels, 0, 0, Kind::Iou, Normalize::Sum).unwrap();
    assert_eq!(vec![chat.rows() as i64, chat.cols() as i64], r.i64("consensus_csr_shape"));
    assert_eq!(chat.indptr(), &r.i64("consensus_csr_indptr")[..]);
    assert_eq!(chat.indices(), &r.i32("consensus_csr_indices")[..]);
    same_bits("consensus_csr_data", chat.data(), &r.f32("consensus_csr_data"));

    // the 1.4 twins give the same bytes, for any thread count
    for n_threads in [1, 2] {
        let co = rlcc::CentroidOptions { n_threads, ..Default::default() };
        same_bits("centroids_opts", &rlcc::centroids_opts(&x0, n, d, &g0.labels, k_prev, &co).unwrap(), &r.f32("centroids"));
        let cons = rlcc::ConsensusOptions { n_threads, ..Default::default() };
        assert_eq!(rlcc::consensus_counts_opts(&g0.labels, &g1.labels, 0, 0, &cons).unwrap(), r.i64("consensus_counts"));
        same_bits("consensus_opts", &rlcc::consensus_opts(&g0.labels, &g1.labels, 0, 0, &cons).unwrap(),
                  &r.f32("consensus_iou_sum"));
        let chat_opts = rlcc::consensus_csr_opts(&g0.labels, &g1.labels, 0, 0, &cons).unwrap();
        assert_eq!(chat_opts.indptr(), &r.i64("consensus_csr_indptr")[..]);
        assert_eq!(chat_opts.indices(), &r.i32("consensus_csr_indices")[..]);
        same_bits("consensus_csr_opts", chat_opts.data(), &r.f32("consensus_csr_data"));
        for (suffix, rows) in [("all", None), ("batch", Some(&BATCH[..]))] {
            let po = rlcc::ProbabilityOptions { n_threads, ..Default::default() };
            let probs = rlcc::class_probabilities_opts(&x1, n, d, &cents, k_prev, rows, &po).unwrap();
            let pr = rlcc::PropagateOptions { w: 0.9, beta: 0.3, n_threads, ..Default::default() };
            let s = rlcc::propagate_opts(&g0.labels, &chat, Some(&probs), rows, &pr).unwrap();
            let bo = rlcc::BlendOptions { alpha: 0.9, n_threads, ..Default::default() };
            let t = rlcc::blend_opts(&g1.labels, Some(&s), k_cur, rows, &bo).unwrap();
            same_bits(&format!("probs_{} (opts)", suffix), &probs, &r.f32(&format!("probs_{}", suffix)));
            same_bits(&format!("propagated_{} (opts)", suffix), &s, &r.f32(&format!("propagated_{}", suffix)));
            same_bits(&format!("blended_{} (opts)", suffix), &t, &r.f32(&format!("blended_{}", suffix)));
        }
    }

    let all: Vec<i64> = (0..n as i64).collect();
    for (suffix, rows) in [("all", None), ("batch", Some(&BATCH[..]))] {
        let probs = rlcc::class_probabilities_rows(&x1, n, d, &cents, k_prev, 30.0, rows.unwrap_or(&all)).unwrap();
        if rows.is_none() {
            same_bits("probs_all (no row list)", &rlcc::class_probabilities(&x1, n, d, &cents, k_prev, 30.0).unwrap(),
                      &r.f32("probs_all"));
        }
        let s = rlcc::propagate_csr(&g0.labels, &chat, Some(&probs), 0.9, 0.3, rows).unwrap();
        let t = rlcc::blend_rows(&g1.labels, Some(&s), k_cur, 0.9, rows).unwrap();
        same_bits(&format!("probs_{}", suffix), &probs, &r.f32(&format!("probs_{}", suffix)));
        same_bits(&format!("propagated_{}", suffix), &s, &r.f32(&format!("propagated_{}", suffix)));
        same_bits(&format!("blended_{}", suffix), &t, &r.f32(&format!("blended_{}", suffix)));
    }

    p.threshold = None;
    let mut refiner = rlcc::Refiner::with_options(n, d, &p, &Default::default()).unwrap();
    for x in [&x0, &x1] {
        refiner.step(|start, rows| rows.copy_from_slice(&x[start * d..start * d + rows.len()]), 32).unwrap();
    }
    assert_eq!(refiner.labels().unwrap(), r.i32("refiner_labels"));
    same_bits("refiner_centroids", &refiner.centroids().unwrap(), &r.f32("refiner_centroids"));
    same_bits("refiner_targets_all", &refiner.targets_all().unwrap(), &r.f32("refiner_targets_all"));
    same_bits("refiner_targets_batch", &refiner.targets(&BATCH).unwrap(), &r.f32("refiner_targets_batch"));
    assert_eq!(refiner.threshold().to_bits(), r.f64("refiner_threshold").to_bits());
    assert_eq!(refiner.bytes(), r.i64("refiner_bytes")[0]);

    // 1.4: the same two generations from the matrix, copied and borrowed
    let mut copying = rlcc::Refiner::with_options(n, d, &p, &Default::default()).unwrap();
    for x in [&x0, &x1] {
        copying.step_matrix(x, d).unwrap();
    }
    assert_eq!(copying.labels().unwrap(), r.i32("refiner_labels"));
    same_bits("refiner_centroids (matrix)", &copying.centroids().unwrap(), &r.f32("refiner_centroids"));
    same_bits("refiner_targets_all (matrix)", &copying.targets_all().unwrap(), &r.f32("refiner_targets_all"));
    let to = rlcc::TargetsOptions { n_threads: 2, ..Default::default() };
    same_bits("refiner_targets_batch (matrix, opts)", &copying.targets_opts(Some(&BATCH), &to).unwrap(),
              &r.f32("refiner_targets_batch"));
    assert_eq!(copying.bytes(), r.i64("refiner_matrix_bytes")[0]);
    let mut borrowing = rlcc::Refiner::with_options(n, d, &p, &Default::default()).unwrap();
    borrowing.step_borrowed(&x0, d).unwrap();
    let (_, borrowed) = borrowing.step_borrowed(&x1, d).unwrap();
    assert_eq!(borrowed.labels().unwrap(), r.i32("refiner_labels"));
    same_bits("refiner_targets_all (borrowed)", &borrowed.targets_all().unwrap(), &r.f32("refiner_targets_all"));
    same_bits("refiner_targets_batch (borrowed)", &borrowed.targets(&BATCH).unwrap(), &r.f32("refiner_targets_batch"));
    assert_eq!(borrowed.bytes(), r.i64("refiner_borrow_bytes")[0]);
}

/// Every `#[repr(C)]` options struct of `rlcc::sys` has the size and field
/// offsets the C compiler gives `rlcc.h`'s (reference.c's layout_*.i64).
#[test]
fn sys_structs_have_the_c_layout() {
    use rlcc::sys::*;
    macro_rules! layout {
        ($t:ty; $($field:ident),*) => {{
            let value = <$t>::default();
            let base = &value as *const $t as usize;
            let mut offsets = vec![std::mem::size_of::<$t>() as i64];
            $( offsets.push((std::ptr::addr_of!(value.$field) as usize - base) as i64); )*
            offsets
        }};
    }
    let r = Reference::run();
    let cases = [
        ("pseudo_options", layout!(rlcc_pseudo_options; struct_size, metric, k1, k2, variant, normalize, outliers,
                                    reliability, guard, n_threads, n_eps, cutoff, reserved, eps, threshold,
                                    min_samples, max_bytes, knn, method, reserved2)),
        ("dbscan_options", layout!(rlcc_dbscan_options; struct_size, metric, n_threads, max_bytes, algorithm,
                                    reserved)),
        ("centroid_options", layout!(rlcc_centroid_options; struct_size, n_threads, reserved, max_bytes, norm,
                                      reserved2)),
        ("consensus_options", layout!(rlcc_consensus_options; struct_size, kind, normalize, n_threads, reserved,
                                       max_bytes)),
        ("probability_options", layout!(rlcc_probability_options; struct_size, scale, n_threads, max_bytes)),
        ("propagate_options", layout!(rlcc_propagate_options; struct_size, w, beta, n_threads, reserved, max_bytes)),
        ("blend_options", layout!(rlcc_blend_options; struct_size, alpha, n_threads, max_bytes)),
        ("step_options", layout!(rlcc_step_options; struct_size, batch, logits, logits_data, progress,
                                  progress_data, borrow, n_threads, max_bytes)),
        ("targets_options", layout!(rlcc_targets_options; struct_size, n_threads, reserved, max_bytes)),
        ("load_options", layout!(rlcc_load_options; struct_size, n_threads, reserved, max_bytes)),
    ];
    for (name, rust) in cases {
        assert_eq!(rust, r.i64(&format!("layout_{}", name)), "{}: size and offsets, Rust vs C", name);
    }
    #[cfg(target_pointer_width = "64")]
    assert_eq!(std::mem::size_of::<rlcc_pseudo_options>(), 192); // rlcc.h's LP64 size (1.7)
}
