//! What the integration tests share: the C reference (tests/bindings/reference.c),
//! built and run once per call into a folder of its own, whose outputs the
//! crate's results are held to bit for bit.

#![allow(dead_code)] // each test file reads the kinds of outputs it needs

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The outputs of one run of the C reference, removed when dropped.
pub struct Reference {
    dir: PathBuf,
}

/// The tests of a file run on several threads: one `make` (and one run) at
/// a time, so no thread executes the reference while another relinks it.
static BUILD: Mutex<()> = Mutex::new(());
static CALLS: AtomicUsize = AtomicUsize::new(0);

impl Reference {
    pub fn run() -> Reference {
        let top = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap();
        let _one_at_a_time = BUILD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let built = Command::new("make")
            .args(["-s", "--no-print-directory", "build/reference/rlcc-reference"])
            .current_dir(&top)
            .status()
            .expect("make");
        assert!(built.success(), "building the C reference failed");
        // one folder per call: each test drops its own
        let call = CALLS.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("rlcc-reference-{}-{}", std::process::id(), call));
        std::fs::create_dir_all(&dir).unwrap();
        let ran = Command::new(top.join("build/reference/rlcc-reference"))
            .arg(top.join("examples/data"))
            .arg(&dir)
            .status()
            .expect("the C reference");
        assert!(ran.success(), "running the C reference failed");
        Reference { dir }
    }

    pub fn bytes(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(name)).unwrap_or_else(|e| panic!("{}: {}", name, e))
    }

    pub fn f32(&self, name: &str) -> Vec<f32> {
        self.bytes(&format!("{}.f32", name)).chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
    }

    /// The first double of `name`.f64.
    pub fn f64(&self, name: &str) -> f64 {
        self.f64s(name)[0]
    }

    pub fn f64s(&self, name: &str) -> Vec<f64> {
        self.bytes(&format!("{}.f64", name)).chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect()
    }

    pub fn i32(&self, name: &str) -> Vec<i32> {
        self.bytes(&format!("{}.i32", name)).chunks_exact(4).map(|b| i32::from_le_bytes(b.try_into().unwrap())).collect()
    }

    pub fn i64(&self, name: &str) -> Vec<i64> {
        self.bytes(&format!("{}.i64", name)).chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap())).collect()
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// splitmix64 for the randomised cases (tests/block.rs, tests/knn_state.rs):
/// the crate has no dependencies, and the cases must repeat.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn uniform(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}
