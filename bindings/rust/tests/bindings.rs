//! The Rust binding against the C library: labels, errors with messages,
//! the owned CSR, the refiner, and a panicking closure.

#[test]
fn version_matches() {
    assert_eq!(rlcc::version(), "1.2.0");
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
