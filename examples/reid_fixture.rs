//! The task every language's example does on the same committed fixture
//! (examples/data): RLCC pseudo labels for generation 0's re-ID features,
//! one more RLCC generation on generation 1's, then the labels and the
//! training targets. Prints exactly what reid_fixture.c prints.
//!
//!     cd bindings/rust && cargo run --offline --example reid_fixture -- ../../examples/data

use std::fs;
use std::path::Path;

/// Reads a 2-D little-endian float32 C-order .npy file (format 1.0).
fn load_npy(path: &Path) -> Result<(Vec<f32>, usize, usize), String> {
    let raw = fs::read(path).map_err(|e| format!("{}: {}", path.display(), e))?;
    if raw.len() < 10 || &raw[..8] != b"\x93NUMPY\x01\x00" {
        return Err(format!("{}: not a version 1.0 .npy file", path.display()));
    }
    let header_end = 10 + u16::from_le_bytes([raw[8], raw[9]]) as usize;
    let header = String::from_utf8_lossy(&raw[10..header_end]);
    let shape: Vec<usize> = header
        .split("'shape': (").nth(1)
        .and_then(|rest| rest.split(')').next())
        .map(|dims| dims.split(',').filter_map(|v| v.trim().parse().ok()).collect())
        .unwrap_or_default();
    if !header.contains("'descr': '<f4'") || !header.contains("'fortran_order': False") || shape.len() != 2 {
        return Err(format!("{}: not a 2-D float32 C-order array", path.display()));
    }
    let body = &raw[header_end..];
    if body.len() != shape[0] * shape[1] * 4 {
        return Err(format!("{}: wrong data size", path.display()));
    }
    let values = body.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    Ok((values, shape[0], shape[1]))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "examples/data".to_string());
    let mut features = Vec::new();
    for g in 0..2 {
        features.push(load_npy(&Path::new(&dir).join(format!("reid_gen{}.npy", g)))?);
    }
    let (n, d) = (features[0].1, features[0].2);
    // RLCC's defaults, with neighbour lists sized for 10 images per identity
    let pseudo = rlcc::PseudoOptions { k1: 10, k2: 3, ..Default::default() };
    let mut refiner = rlcc::Refiner::with_options(n, d, &pseudo, &Default::default())?;
    println!("librlcc {}, {} samples x {}", rlcc::version(), n, d);
    for (g, (x, _, _)) in features.iter().enumerate() {
        let generation = refiner.step_matrix(x, d)?;
        println!("generation {}: {} classes, reliability threshold {:.6}", g, generation.n_classes, generation.threshold);
        let labels: Vec<String> = generation.labels.iter().map(|l| l.to_string()).collect();
        println!("labels: {}", labels.join(" "));
    }
    let targets = refiner.targets_all()?;
    let k = refiner.n_classes() as usize;
    let total: f64 = targets.iter().fold(0.0, |sum, &v| sum + v as f64); // in order, in double
    println!("targets: {} x {}, total {:.6}", n, k, total);
    let best: Vec<usize> = (0..n)
        .map(|i| (1..k).fold(0, |b, c| if targets[i * k + c] > targets[i * k + b] { c } else { b }))
        .collect();
    let weight = |i: usize| targets[i * k + best[i]];
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| weight(a).partial_cmp(&weight(b)).unwrap()); // stable: ties by index
    for &i in &order[..5] {
        println!("uncertain sample {}: class {}, weight {:.6}", i, best[i], weight(i));
    }
    Ok(())
}
