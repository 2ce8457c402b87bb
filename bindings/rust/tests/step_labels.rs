//! A refiner stepped from the caller's generation (librlcc 1.8):
//! `Refiner::step_labels` fed `pseudo_labels` and `centroids` of each
//! generation's features shows what a `step_matrix` refiner shows (labels,
//! classes, threshold, centroids) and, through `targets_rows` with the
//! batch's rows, the same target bytes; bad input is refused with the
//! library's message and the refiner left at its generation.

use rlcc::code::INVALID_ARGUMENT;
use rlcc::{PseudoOptions, Refiner, RefinerOptions, StepOptions, TargetsOptions};

const N: usize = 120;
const D: usize = 12;

/// tests/checkpoint.rs's generator: unit rows around 15 directions, every
/// 13th sample moved each generation.
fn features(t: usize) -> Vec<f32> {
    let mut s = 4242u64 + t as u64;
    let mut x = vec![0f32; N * D];
    for i in 0..N {
        let id = (i % 15 + usize::from(i % 13 == t)) % 15;
        let mut sum = 0.0f64;
        for c in 0..D {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let u = (s >> 33) as f64 / 4294967296.0 - 0.5;
            let v = if c == id % D { 1.0 } else { 0.0 } + if c == (id + 3) % D { 0.6 } else { 0.0 } + 0.3 * u;
            x[i * D + c] = v as f32;
            sum += v * v;
        }
        for c in 0..D {
            x[i * D + c] = (x[i * D + c] as f64 / sum.sqrt()) as f32;
        }
    }
    x
}

fn pseudo() -> PseudoOptions {
    PseudoOptions { k1: 20, k2: 4, min_samples: 3, eps: vec![0.5, 0.55, 0.6], ..Default::default() }
}

fn gather(x: &[f32], rows: &[i64]) -> Vec<f32> {
    rows.iter().flat_map(|&r| x[r as usize * D..(r as usize + 1) * D].to_vec()).collect()
}

#[test]
fn labels_steps_match_matrix_steps() {
    for beta in [0.0f32, 1.0] {
        let options = RefinerOptions { beta, ..Default::default() };
        let mut a = Refiner::with_options(N, D, &pseudo(), &options).unwrap();
        let mut b = Refiner::with_options(N, D, &pseudo(), &options).unwrap();
        let rows: Vec<i64> = vec![3, 77, 3, 119, 0, 45];
        for t in 0..4 {
            let x = features(t);
            let ga = a.step_matrix(&x, D).unwrap();
            let mut p = pseudo();
            if t > 0 {
                p.threshold = Some(b.threshold());
            }
            let got = rlcc::pseudo_labels(&x, N, D, &p).unwrap();
            let k = got.n_classes as usize;
            let c = rlcc::centroids(&x, N, D, &got.labels, k).unwrap();
            let gb = b.step_labels(&got.labels, k, &c, got.threshold, &StepOptions::default()).unwrap();
            assert_eq!((&ga.labels, ga.n_classes, ga.generation), (&gb.labels, gb.n_classes, gb.generation),
                       "beta {beta}, generation {t}");
            assert_eq!(a.threshold().to_bits(), b.threshold().to_bits());
            assert_eq!(a.centroids().unwrap(), b.centroids().unwrap());
            let o = TargetsOptions::default();
            let want = a.targets(&rows).unwrap();
            let batch = gather(&x, &rows);
            let got_rows = b.targets_rows(&rows, Some(&batch), D, &o).unwrap();
            assert_eq!(want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                       got_rows.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
            // a wider stride gives the same bytes
            let wide: Vec<f32> = batch.chunks(D).flat_map(|r| [r, &[9.0f32; 3][..]].concat()).collect();
            assert_eq!(b.targets_rows(&rows, Some(&wide), D + 3, &o).unwrap(), got_rows);
            if t >= 1 && beta < 1.0 {
                let e = b.targets(&rows).unwrap_err();
                assert_eq!(e.code, INVALID_ARGUMENT);
                assert!(e.message.contains("rlcc_refiner_targets_rows"), "{}", e.message);
                let e = b.targets_rows(&rows, None, D, &o).unwrap_err();
                assert!(e.message.starts_with("x: is NULL"), "{}", e.message);
            } else {
                assert_eq!(b.targets(&rows).unwrap(), want);
                assert_eq!(b.targets_rows(&rows, None, D, &o).unwrap(), want);
            }
        }
    }
}

#[test]
fn step_labels_refusals() {
    let mut r = Refiner::with_options(N, D, &pseudo(), &RefinerOptions::default()).unwrap();
    let x = features(0);
    let got = rlcc::pseudo_labels(&x, N, D, &pseudo()).unwrap();
    let k = got.n_classes as usize;
    let c = rlcc::centroids(&x, N, D, &got.labels, k).unwrap();
    let so = StepOptions::default();
    let e = r.step_labels(&got.labels[1..], k, &c, got.threshold, &so).unwrap_err();
    assert!(e.message.starts_with("labels:"), "{}", e.message);
    let e = r.step_labels(&got.labels, k, &c[1..], got.threshold, &so).unwrap_err();
    assert!(e.message.starts_with("centroids:"), "{}", e.message);
    let mut bad = got.labels.clone();
    bad[5] = k as i32;
    let e = r.step_labels(&bad, k, &c, got.threshold, &so).unwrap_err();
    assert_eq!(e.code, INVALID_ARGUMENT);
    let mut unnormal = c.clone();
    unnormal[0] *= 3.0;
    let e = r.step_labels(&got.labels, k, &unnormal, got.threshold, &so).unwrap_err();
    assert!(e.message.contains("squared norm"), "{}", e.message);
    let e = r.step_labels(&got.labels, k, &c, f64::NAN, &so).unwrap_err();
    assert!(e.message.starts_with("threshold"), "{}", e.message);
    assert_eq!(r.generation(), 0);
    r.step_labels(&got.labels, k, &c, got.threshold, &so).unwrap();
    assert_eq!(r.generation(), 1);
    let e = r.step_labels(&got.labels, k, &c, got.threshold + 1e-9, &so).unwrap_err();
    assert!(e.message.contains("not the refiner's"), "{}", e.message);
    assert_eq!(r.generation(), 1);
    let e = r.targets_rows(&[1, 2], Some(&x[..D]), D, &TargetsOptions::default()).unwrap_err();
    assert!(e.message.starts_with("x:"), "{}", e.message);
}
