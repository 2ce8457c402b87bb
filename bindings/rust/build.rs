//! Finds librlcc: RLCC_LIB_DIR (a directory), then the `pkg-config` program,
//! then the checkout's `lib/`. Sets an rpath so tests and examples run
//! without LD_LIBRARY_PATH.
use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=RLCC_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    let dir = env::var("RLCC_LIB_DIR")
        .ok()
        .map(PathBuf::from)
        .or_else(|| {
            let out = Command::new("pkg-config").args(["--variable=libdir", "rlcc"]).output().ok()?;
            if !out.status.success() {
                return None;
            }
            Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_string()))
        })
        .or_else(|| {
            let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").ok()?);
            let lib = manifest.join("../../lib");
            lib.join("librlcc.so.1").exists().then(|| lib.canonicalize().ok()).flatten()
        })
        .unwrap_or_else(|| {
            panic!("librlcc not found: set RLCC_LIB_DIR, install it (pkg-config rlcc), or run `make` in the checkout")
        });
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-lib=dylib=rlcc");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
}
