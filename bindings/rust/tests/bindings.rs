//! The Rust binding against the C library: labels, errors with messages,
//! the owned CSR, the refiner, and a panicking closure.

#[test]
fn version_matches() {
    let number = unsafe { rlcc::sys::rlcc_version_number() };
    assert_eq!(rlcc::version(), format!("{}.{}.{}", number / 10000, number / 100 % 100, number % 100));
    // the crate and the library it binds are released together: same MAJOR.MINOR
    let release = format!("{}.{}.", env!("CARGO_PKG_VERSION_MAJOR"), env!("CARGO_PKG_VERSION_MINOR"));
    assert!(rlcc::version().starts_with(&release), "{} is not {}x", rlcc::version(), release);
}

#[test]
fn dbscan_three_inputs_agree() {
    let x = [0.0f32, 0.5, 1.0, 10.0, 10.5, 11.0, 40.0];
    let f = rlcc::dbscan_features(&x, 7, 1, 0.6, 2, &Default::default()).unwrap();
    assert_eq!(f.labels, vec![0, 0, 0, 1, 1, 1, -1]);
    assert_eq!(f.n_clusters, 2);
    let mut dist = vec![0f32; 49];
    for i in 0..7 {
        for j in 0..7 {
            dist[i * 7 + j] = (x[i] - x[j]).abs();
        }
    }
    assert_eq!(rlcc::dbscan_dense(&dist, 7, 0.6, 2, &Default::default()).unwrap(), f);
}

#[test]
fn errors_carry_the_library_message() {
    let x = [0.0f32, f32::NAN, 1.0];
    let e = rlcc::dbscan_features(&x, 3, 1, 0.6, 2, &Default::default()).unwrap_err();
    assert_eq!(e.code, rlcc::code::INVALID_ARGUMENT);
    assert!(e.message.contains("row 1 has NaN"), "{}", e.message);
    let e = rlcc::dbscan_features(&[0.0f32; 4], 4, 1, -1.0, 2, &Default::default()).unwrap_err();
    assert!(e.message.contains("eps"));
    assert!(rlcc::dbscan_features(&[0.0f32; 3], 4, 1, 1.0, 2, &Default::default()).is_err());
}

#[test]
fn jaccard_is_symmetric_and_clusters() {
    let mut x = Vec::new();
    for i in 0..60 {
        let a = (i % 3) as f32 * 2.0 + (i as f32) * 0.001;
        x.push(a.cos());
        x.push(a.sin());
    }
    let o = rlcc::JaccardOptions { k1: 10, k2: 3, cutoff: 0.9, ..Default::default() };
    let g = rlcc::jaccard(&x, 60, 2, None, &o).unwrap();
    let (ip, ix, v) = (g.indptr(), g.indices(), g.data());
    for i in 0..60 {
        for e in ip[i] as usize..ip[i + 1] as usize {
            let j = ix[e] as usize;
            let back = (ip[j] as usize..ip[j + 1] as usize).find(|&f| ix[f] as usize == i).unwrap();
            assert_eq!(v[back], v[e]);
        }
    }
    let r = rlcc::dbscan_csr(ip, ix, v, 0.6, 4, &Default::default()).unwrap();
    assert_eq!(r.n_clusters, 3);
}

#[test]
fn refiner_steps_and_a_panicking_closure() {
    let n = 60;
    let x: Vec<f32> = (0..n).flat_map(|i| {
        let a = (i % 3) as f32 * 2.0 + (i as f32) * 0.001;
        vec![a.cos(), a.sin()]
    }).collect();
    let mut r = rlcc::Refiner::new(n, 2).unwrap();
    for generation in 1..=3 {
        let g = r.step(|start, rows| rows.copy_from_slice(&x[start * 2..start * 2 + rows.len()]), 16).unwrap();
        assert_eq!(g.generation, generation);
        let t = r.targets(&[0, 5, 59]).unwrap();
        let k = g.n_classes as usize;
        for q in 0..3 {
            let sum: f32 = t[q * k..(q + 1) * k].iter().sum();
            assert!((sum - 1.0).abs() < 1e-5);
        }
    }
    let e = r.step(|start, _rows| if start > 20 { panic!("extraction failed") }, 16).unwrap_err();
    assert_eq!(e.code, rlcc::code::CALLBACK);
    // the process goes on and the refiner is as it was
    assert!(r.targets(&[1]).is_ok());
}

#[test]
fn rlcc_functions_fit_together() {
    let n = 60;
    let x: Vec<f32> = (0..n).flat_map(|i| {
        let a = (i % 3) as f32 * 2.0 + (i as f32) * 0.001;
        vec![a.cos(), a.sin()]
    }).collect();
    let p = rlcc::pseudo_labels(&x, n, 2, &Default::default()).unwrap();
    assert_eq!(p.n_classes, 3);
    let k = p.n_classes as usize;
    let c = rlcc::centroids(&x, n, 2, &p.labels, k).unwrap();
    let probs = rlcc::class_probabilities(&x, n, 2, &c, k, 30.0).unwrap();
    let chat = rlcc::consensus(&p.labels, &p.labels, 0, 0, rlcc::Normalize::Sum).unwrap();
    let s = rlcc::propagate(&p.labels, &chat, k, k, Some(&probs), 0.9, 0.0).unwrap();
    let t = rlcc::blend(&p.labels, &s, k, 0.9).unwrap();
    for i in 0..n {
        let sum: f32 = t[i * k..(i + 1) * k].iter().sum();
        assert!((sum - 1.0).abs() < 1e-5);
        let top = (0..k).max_by(|&a, &b| t[i * k + a].partial_cmp(&t[i * k + b]).unwrap()).unwrap();
        assert_eq!(top as i32, p.labels[i]);
    }
    let e = rlcc::blend(&p.labels, &s, k, 1.5).unwrap_err();
    assert!(e.message.contains("alpha"));
    let e = rlcc::pseudo_labels(&x, n, 2, &rlcc::PseudoOptions { eps: vec![0.5, 0.6], ..Default::default() }).unwrap_err();
    assert!(e.message.contains("eps"));
}

/// Two generations of noisy labels over 90 samples: 6 classes, then 7.
fn two_labelings() -> (Vec<i32>, Vec<i32>) {
    let prev: Vec<i32> = (0..90).map(|i| if i % 17 == 0 { -1 } else { i % 6 }).collect();
    let cur: Vec<i32> = (0..90).map(|i| if i % 23 == 0 { -1 } else { (i + i / 40) % 7 }).collect();
    (prev, cur)
}

#[test]
fn consensus_dense_sparse_and_counts_agree() {
    use rlcc::{Kind, Normalize};
    let (prev, cur) = two_labelings();
    let counts = rlcc::consensus_counts(&prev, &cur, 0, 0).unwrap();
    assert_eq!(counts.len(), 6 * 7);
    let both = prev.iter().zip(&cur).filter(|(a, b)| **a >= 0 && **b >= 0).count() as i64;
    assert_eq!(counts.iter().sum::<i64>(), both);
    let raw = rlcc::consensus_of(&prev, &cur, 0, 0, Kind::Count, Normalize::None).unwrap();
    assert!(raw.iter().zip(&counts).all(|(f, c)| *f == *c as f32));
    for normalize in [Normalize::None, Normalize::Sum] {
        let dense = rlcc::consensus_of(&prev, &cur, 0, 0, Kind::Iou, normalize).unwrap();
        let sparse = rlcc::consensus_csr(&prev, &cur, 0, 0, Kind::Iou, normalize).unwrap();
        assert_eq!((sparse.rows(), sparse.cols()), (6, 7));
        let mut rebuilt = vec![0f32; 42];
        for a in 0..6 {
            for p in sparse.indptr()[a] as usize..sparse.indptr()[a + 1] as usize {
                rebuilt[a * 7 + sparse.indices()[p] as usize] = sparse.data()[p];
            }
        }
        assert_eq!(rebuilt, dense); // bit for bit
    }
    let e = rlcc::consensus_csr(&prev, &cur, 0, 0, Kind::Iou, Normalize::Softmax).err().unwrap();
    assert!(e.message.contains("softmax"), "{}", e.message);
    let e = rlcc::consensus_counts(&prev, &cur[1..], 0, 0).unwrap_err();
    assert_eq!(e.code, rlcc::code::INVALID_ARGUMENT);
    let e = rlcc::consensus_counts(&prev, &cur, 3, 0).unwrap_err();
    assert!(e.message.contains("prev"), "{}", e.message);
}

#[test]
fn batch_rows_equal_full_rows() {
    use rlcc::{Kind, Normalize};
    let (prev, cur) = two_labelings();
    let n = prev.len();
    let d = 4;
    let x: Vec<f32> = (0..n * d).map(|i| ((i * 7919) % 101) as f32 / 101.0 - 0.5).collect();
    let prev_train: Vec<i32> = prev.iter().map(|&l| l.max(0)).collect();
    let cents = rlcc::centroids(&x, n, d, &prev_train, 6).unwrap();
    let probs = rlcc::class_probabilities(&x, n, d, &cents, 6, 30.0).unwrap();
    let chat = rlcc::consensus_csr(&prev, &cur, 0, 0, Kind::Iou, Normalize::Sum).unwrap();
    let s = rlcc::propagate_csr(&prev, &chat, Some(&probs), 0.9, 0.2, None).unwrap();
    let t = rlcc::blend_rows(&cur, Some(&s), 7, 0.9, None).unwrap();
    let batch = [89i64, 0, 17, 45];
    let bp = rlcc::class_probabilities_rows(&x, n, d, &cents, 6, 30.0, &batch).unwrap();
    let bs = rlcc::propagate_csr(&prev, &chat, Some(&bp), 0.9, 0.2, Some(&batch)).unwrap();
    let bt = rlcc::blend_rows(&cur, Some(&bs), 7, 0.9, Some(&batch)).unwrap();
    for (r, &i) in batch.iter().enumerate() {
        for c in 0..7 {
            assert!((bt[r * 7 + c] - t[i as usize * 7 + c]).abs() <= 1e-6);
        }
    }
    // generation-0 targets: S = 0, alpha = 1 is the hard label; an empty batch is empty
    let hard = rlcc::blend_rows(&cur, None, 7, 1.0, Some(&[1])).unwrap();
    assert_eq!(hard[cur[1] as usize], 1.0);
    assert!(rlcc::blend_rows(&cur, None, 7, 1.0, Some(&[])).unwrap().is_empty());
    let e = rlcc::propagate_csr(&prev, &chat, None, 0.9, 0.2, None).unwrap_err();
    assert!(e.message.contains("probs"), "{}", e.message);
    let e = rlcc::class_probabilities_rows(&x, n, d, &cents, 6, 30.0, &[90]).unwrap_err();
    assert!(e.message.contains("rows"), "{}", e.message);
}

#[test]
fn refiner_logits_progress_and_their_panics() {
    let n = 60;
    let x: Vec<f32> = (0..n).flat_map(|i| {
        let a = (i % 3) as f32 * 2.0 + (i as f32) * 0.001;
        vec![a.cos(), a.sin()]
    }).collect();
    let pseudo = rlcc::PseudoOptions { k1: 10, k2: 3, ..Default::default() };
    let options = rlcc::RefinerOptions { alpha: 0.5, ..Default::default() };
    let mut r = rlcc::Refiner::with_options(n, 2, &pseudo, &options).unwrap();
    let mut fill = |start: usize, rows: &mut [f32]| -> rlcc::CallbackResult {
        rows.copy_from_slice(&x[start * 2..start * 2 + rows.len()]);
        Ok(())
    };
    r.step_with(&mut fill, 16, None, None).unwrap();
    // generation 1 through the logits closure: logits that favour class 0 for everyone
    let mut calls = 0;
    let mut logits = |_start: usize, k_prev: usize, block: &mut [f32]| -> rlcc::CallbackResult {
        calls += 1;
        for row in block.chunks_mut(k_prev) {
            row.fill(0.0);
            row[0] = 10.0;
        }
        Ok(())
    };
    let g = r.step_with(&mut fill, 16, Some(&mut logits), None).unwrap();
    assert!(calls > 0);
    assert_eq!(g.generation, 2);
    let t = r.targets_all().unwrap();
    let k = g.n_classes as usize;
    for i in 0..n {
        let sum: f32 = t[i * k..(i + 1) * k].iter().sum();
        assert!((sum - 1.0).abs() < 1e-5);
        assert!(t[i * k + g.labels[i] as usize] >= 0.5);
    }
    assert_eq!(r.centroids().unwrap().len(), k * 2);
    let before = r.labels().unwrap();
    let mut bad_logits = |_: usize, _: usize, _: &mut [f32]| -> rlcc::CallbackResult { panic!("no logits today") };
    let e = r.step_with(&mut fill, 16, Some(&mut bad_logits), None).unwrap_err();
    assert_eq!(e.code, rlcc::code::CALLBACK);
    assert!(e.message.contains("logits closure panicked"), "{}", e.message);
    // a closure that returns an error: the step stops with the error's text
    let mut failing = |start: usize, rows: &mut [f32]| -> rlcc::CallbackResult {
        if start >= 32 {
            return Err(std::io::Error::new(std::io::ErrorKind::NotFound, "camera disk gone").into());
        }
        rows.fill(0.5);
        Ok(())
    };
    let e = r.step_with(&mut failing, 16, None, None).unwrap_err();
    assert_eq!(e.code, rlcc::code::CALLBACK);
    assert!(e.message.contains("the features closure failed: camera disk gone"), "{}", e.message);
    let mut failing_logits = |_: usize, _: usize, _: &mut [f32]| -> rlcc::CallbackResult { Err("no head".into()) };
    let e = r.step_with(&mut fill, 16, Some(&mut failing_logits), None).unwrap_err();
    assert!(e.message.contains("the logits closure failed: no head"), "{}", e.message);
    let mut bad_progress = |_: rlcc::Stage, _: f64| -> bool { panic!("progress") };
    let e = r.step_with(&mut fill, 16, None, Some(&mut bad_progress)).unwrap_err();
    assert_eq!(e.code, rlcc::code::CANCELED);
    assert!(e.message.contains("progress closure panicked"), "{}", e.message);
    assert_eq!(r.generation(), 2);
    assert_eq!(r.labels().unwrap(), before);
    let e = rlcc::Refiner::with_options(n, 2, &rlcc::PseudoOptions { eps: vec![], ..Default::default() }, &options).err().unwrap();
    assert!(e.message.contains("eps"));
    let e = rlcc::Refiner::with_options(n, 2, &pseudo, &rlcc::RefinerOptions { alpha: 2.0, ..Default::default() }).err().unwrap();
    assert!(e.message.contains("alpha"), "{}", e.message);
}

#[test]
fn jaccard_dense_matches_sparse_and_refuses_bad_lists() {
    let x: Vec<f32> = (0..40).flat_map(|i| {
        let a = (i % 4) as f32 * 1.5 + (i as f32) * 0.002;
        vec![a.cos(), a.sin()]
    }).collect();
    let o = rlcc::JaccardOptions { k1: 8, k2: 2, ..Default::default() };
    let dense = rlcc::jaccard_dense(&x, 40, 2, None, &o).unwrap();
    let sparse = rlcc::jaccard(&x, 40, 2, None, &o).unwrap();
    assert_eq!(sparse.cols(), 40);
    let stored: usize = sparse.data().len();
    assert_eq!(dense.iter().filter(|&&v| v < 1.0).count(), sparse.data().iter().filter(|&&v| v < 1.0).count());
    assert!(stored > 40);
    let (lists, _) = rlcc::knn(&x, 40, 2, 8, 1).unwrap();
    assert_eq!(rlcc::jaccard_dense(&x, 40, 2, Some(&lists), &o).unwrap(), dense);
    let e = rlcc::jaccard_dense(&x, 40, 2, Some(&lists[1..]), &o).unwrap_err();
    assert!(e.message.contains("knn"), "{}", e.message);
    let mut repeated = lists;
    repeated[1] = repeated[0];
    let e = rlcc::jaccard_dense(&x, 40, 2, Some(&repeated), &o).unwrap_err();
    assert_eq!(e.code, rlcc::code::INVALID_ARGUMENT);
    let e = rlcc::jaccard(&[3.0f32, 4.0], 2, 1, None, &rlcc::JaccardOptions { k1: 2, k2: 1, ..Default::default() }).err().unwrap();
    assert!(e.message.contains("norm"), "{}", e.message);
}

/// Every wrapper's refusals cross the boundary with the library's code and
/// message (or, for what only Rust can see, the same code and its own).
#[test]
fn every_wrapper_reports_refusals() {
    use rlcc::code::{INVALID_ARGUMENT, MEMORY_LIMIT};
    use rlcc::{Kind, Normalize};
    fn refused<T: std::fmt::Debug>(result: Result<T, rlcc::Error>, code: i32, text: &str) {
        let e = result.expect_err(text);
        assert_eq!(e.code, code, "{}: {}", text, e.message);
        assert!(e.message.contains(text), "{:?} does not mention {:?}", e.message, text);
    }
    let dflt = rlcc::DbscanOptions::default();
    let big: Vec<f32> = (0..400 * 8).map(|i| (i % 13) as f32).collect();
    refused(rlcc::dbscan_features(&big, 400, 8, 1.0, 2, &rlcc::DbscanOptions { max_bytes: 1024, ..dflt }),
            MEMORY_LIMIT, "max_bytes");
    refused(rlcc::dbscan_features(&[0.0, 1.0], 2, 1, 0.5, 2, &rlcc::DbscanOptions { n_threads: -1, ..dflt }),
            INVALID_ARGUMENT, "n_threads");
    refused(rlcc::dbscan_dense(&[0.0, -1.0, 1.0, 0.0], 2, 0.5, 1, &dflt), INVALID_ARGUMENT, "dist");
    refused(rlcc::dbscan_csr(&[0, 2, 2], &[1, 0], &[1.0, 1.0], 0.5, 1, &dflt), INVALID_ARGUMENT, "unsorted");
    refused(rlcc::knn(&[0.0, 1.0], 2, 1, 3, 0), INVALID_ARGUMENT, "k");
    refused(rlcc::jaccard(&[1.0, 1.0], 2, 1, None, &Default::default()), INVALID_ARGUMENT, "k1: 30 must be in [1, n = 2]");
    refused(rlcc::jaccard_dense(&[1.0, 1.0], 2, 1, Some(&[0]), &Default::default()), INVALID_ARGUMENT, "knn");
    refused(rlcc::pseudo_labels(&[1.0, 1.0], 2, 1, &rlcc::PseudoOptions { eps: vec![0.95], reliability: false, ..Default::default() }),
            INVALID_ARGUMENT, "cutoff");
    refused(rlcc::centroids(&[1.0, 1.0], 2, 1, &[0, 5], 2), INVALID_ARGUMENT, "labels");
    refused(rlcc::consensus_counts(&[0, -2], &[0, 0], 0, 0), INVALID_ARGUMENT, "prev");
    refused(rlcc::consensus_of(&[0], &[0, 1], 0, 0, Kind::Iou, Normalize::Sum), INVALID_ARGUMENT, "lengths differ");
    refused(rlcc::consensus_csr(&[0], &[0], 0, 0, Kind::Iou, Normalize::Softmax), INVALID_ARGUMENT, "softmax");
    refused(rlcc::class_probabilities(&[f32::INFINITY], 1, 1, &[1.0], 1, 30.0), INVALID_ARGUMENT, "inf");
    refused(rlcc::class_probabilities_rows(&[1.0], 1, 1, &[1.0], 1, 30.0, &[4]), INVALID_ARGUMENT, "rows");
    let chat = rlcc::Csr::from_parts(vec![0, 1], vec![0], vec![1.0]);
    refused(rlcc::propagate_csr(&[0], &chat, None, 0.0, 0.5, None), INVALID_ARGUMENT, "probs");
    refused(rlcc::propagate(&[0], &[1.0], 1, 1, Some(&[1.0]), 2.0, 0.0), INVALID_ARGUMENT, "w");
    refused(rlcc::blend_rows(&[3], None, 2, 1.0, None), INVALID_ARGUMENT, "cur");
    refused(rlcc::blend_rows(&[0], Some(&[1.0]), 2, 1.0, None), INVALID_ARGUMENT, "s");
    refused(rlcc::Refiner::new(10, 0), INVALID_ARGUMENT, "d");
}
