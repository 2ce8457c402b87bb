//! Finds librlcc and links it.
//!
//! Where: `RLCC_LIB_DIR` (a directory), then the `pkg-config` program
//! (`rlcc.pc`, or the program named by `PKG_CONFIG`), then the checkout's
//! `lib/`.
//!
//! How: `RLCC_LINK=static` (the default) or `RLCC_LINK=dynamic`.
//!
//! - static: `librlcc.a` goes into this crate's rlib, and what it needs
//!   (OpenBLAS, LLVM's OpenMP runtime `libomp.so.5`, libm, libpthread) is
//!   linked as shared libraries through `rustc-link-lib`, which cargo hands on
//!   to every crate that depends on this one. Any binary that uses the crate,
//!   a dependent's included, then needs only those system libraries at run
//!   time, and ld.so finds them without a path.
//! - dynamic: `librlcc.so`, with an rpath to its folder for this package's own
//!   tests, doc tests and examples. Cargo gives `rustc-link-arg` to this
//!   package's own targets only, so a dependent's binary has no such rpath:
//!   it needs the library on ld.so's path (ldconfig, `LD_LIBRARY_PATH`) or an
//!   rpath from its own build script (`DEP_RLCC_LIB_DIR`, below).
//!
//! The link flags of librlcc's dependencies come from `pkg-config --static
//! --libs rlcc` when the library was found that way, else from the list in
//! `builtin_dependencies`. `-l:FILE` (a file name, e.g. `-l:libomp.so.5`,
//! which rustc 1.63 cannot pass on) becomes a one-line linker script
//! `INPUT(FILE)` in `OUT_DIR`, found through `rustc-link-search` like any
//! library, so it reaches dependents too.
//!
//! Dependents' build scripts get `DEP_RLCC_LIB_DIR` (the folder) and
//! `DEP_RLCC_LINK` (`static` or `dynamic`).
use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Link {
    Static,
    Dynamic,
}

impl Link {
    /// The file in the library folder that this kind of link reads.
    fn file(self) -> &'static str {
        match self {
            Link::Static => "librlcc.a",
            Link::Dynamic => "librlcc.so",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Link::Static => "static",
            Link::Dynamic => "dynamic",
        }
    }
}

/// Where librlcc was found and the flags to link it with.
struct Found {
    dir: PathBuf,
    /// pkg-config's flags, or the built-in list; `-lrlcc` among them or not.
    flags: Vec<String>,
    /// Files whose change must rerun this script.
    watch: Vec<PathBuf>,
}

fn main() {
    for var in ["RLCC_LIB_DIR", "RLCC_LINK", "PKG_CONFIG", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR", "PKG_CONFIG_SYSROOT_DIR"] {
        println!("cargo:rerun-if-env-changed={}", var);
    }
    let link = match env::var("RLCC_LINK").as_deref() {
        Err(_) | Ok("") | Ok("static") => Link::Static,
        Ok("dynamic") => Link::Dynamic,
        Ok(other) => panic!("RLCC_LINK={}: expected `static` (the default) or `dynamic`", other),
    };
    let found = from_env(link).or_else(|| from_pkg_config(link)).or_else(|| from_checkout(link)).unwrap_or_else(|| {
        panic!(
            "librlcc not found ({} for RLCC_LINK={}): set RLCC_LIB_DIR, install it (make install; pkg-config rlcc), \
             or run `make` in the checkout",
            link.file(),
            link.name()
        )
    });
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let mut lines = Vec::new();
    lines.push(format!("cargo:rustc-link-search=native={}", found.dir.display()));
    if link == Link::Static {
        lines.push("cargo:rustc-link-lib=static=rlcc".to_string());
    }
    let mut saw_rlcc = false;
    for flag in &found.flags {
        if flag == "-lrlcc" {
            saw_rlcc = true;
            if link == Link::Dynamic {
                lines.push("cargo:rustc-link-lib=dylib=rlcc".to_string());
            }
        } else {
            lines.extend(translate(flag, &out_dir));
        }
    }
    if link == Link::Dynamic {
        if !saw_rlcc {
            lines.push("cargo:rustc-link-lib=dylib=rlcc".to_string());
        }
        lines.push(format!("cargo:rustc-link-arg=-Wl,-rpath,{}", found.dir.display()));
    }
    lines.push(format!("cargo:lib_dir={}", found.dir.display()));
    lines.push(format!("cargo:link={}", link.name()));
    let mut printed: Vec<String> = Vec::new();
    for line in lines {
        if !printed.contains(&line) {
            println!("{}", line);
            printed.push(line);
        }
    }
    for file in &found.watch {
        println!("cargo:rerun-if-changed={}", file.display());
    }
}

/// RLCC_LIB_DIR: a folder holding librlcc.a (static) or librlcc.so (dynamic),
/// linked with the built-in dependency list.
fn from_env(link: Link) -> Option<Found> {
    let dir = PathBuf::from(env::var_os("RLCC_LIB_DIR").filter(|d| !d.is_empty())?);
    let dir = dir.canonicalize().unwrap_or(dir);
    let file = dir.join(link.file());
    if !file.exists() {
        panic!("RLCC_LIB_DIR={}: no {} there{}", dir.display(), link.file(), hint(link));
    }
    Some(Found { dir, flags: builtin_dependencies(link), watch: vec![file] })
}

/// pkg-config: the library folder from `--variable=libdir`, the flags from
/// `--static --libs` (static) or `--libs` (dynamic).
fn from_pkg_config(link: Link) -> Option<Found> {
    let dir = PathBuf::from(pkg_config_variable("libdir")?);
    let file = dir.join(link.file());
    if !file.exists() {
        panic!("pkg-config rlcc: no {} in its libdir {}{}", link.file(), dir.display(), hint(link));
    }
    let mut watch = vec![file];
    if let Some(pcdir) = pkg_config_variable("pcfiledir") {
        let pc = Path::new(&pcdir).join("rlcc.pc");
        if pc.exists() {
            watch.push(pc);
        }
    }
    let flags = match link {
        Link::Dynamic => pkg_config(&["--libs", "rlcc"]).unwrap_or_else(|| vec!["-lrlcc".to_string()]),
        Link::Static => {
            // rlcc.pc from 1.2.2 and earlier says `Requires.private: openblas`
            // and `Libs.private: -fopenmp -lm`: --static then adds OpenBLAS's
            // own static dependencies (-lgfortran), which a link to the shared
            // OpenBLAS does not need, and -fopenmp, which is no library name.
            // That file stands for the built-in list.
            let requires = pkg_config(&["--print-requires-private", "rlcc"]).unwrap_or_default();
            match pkg_config(&["--static", "--libs", "rlcc"]) {
                Some(flags) if requires.is_empty() && !flags.iter().any(|f| f == "-fopenmp") => flags,
                _ => builtin_dependencies(link),
            }
        }
    };
    Some(Found { dir, flags, watch })
}

/// The checkout's lib/ (after `make`), with the built-in dependency list.
fn from_checkout(link: Link) -> Option<Found> {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR")?);
    let dir = manifest.join("../../lib").canonicalize().ok()?;
    let file = dir.join(link.file());
    if !file.exists() {
        return None;
    }
    Some(Found { dir, flags: builtin_dependencies(link), watch: vec![file] })
}

/// What librlcc.a needs, as rlcc.pc's `Libs.private` says it: OpenBLAS (its
/// pkg-config flags when it has them), LLVM's OpenMP runtime (the library is
/// built with clang -fopenmp), libm, libpthread. librlcc.so records these
/// itself (DT_NEEDED).
fn builtin_dependencies(link: Link) -> Vec<String> {
    match link {
        Link::Dynamic => vec!["-lrlcc".to_string()],
        Link::Static => {
            let mut flags = pkg_config(&["--libs", "openblas"]).unwrap_or_else(|| vec!["-lopenblas".to_string()]);
            flags.extend(["-l:libomp.so.5", "-lm", "-lpthread"].iter().map(|f| f.to_string()));
            flags
        }
    }
}

/// One linker flag as cargo instructions.
fn translate(flag: &str, out_dir: &Path) -> Vec<String> {
    if let Some(dir) = flag.strip_prefix("-L") {
        vec![format!("cargo:rustc-link-search=native={}", dir)]
    } else if let Some(file) = flag.strip_prefix("-l:") {
        verbatim(file, out_dir)
    } else if let Some(name) = flag.strip_prefix("-l") {
        vec![format!("cargo:rustc-link-lib=dylib={}", name)]
    } else if flag == "-pthread" {
        vec!["cargo:rustc-link-lib=dylib=pthread".to_string()]
    } else if flag == "-fopenmp" {
        verbatim("libomp.so.5", out_dir)
    } else {
        // e.g. -Wl,-rpath,... from a checkout's rlcc.pc: this package's own
        // targets only, as cargo does with every rustc-link-arg
        vec![format!("cargo:rustc-link-arg={}", flag)]
    }
}

/// `-l:FILE` as a library name: `OUT_DIR/link/librlcc_dep_<FILE>.so` is the
/// linker script `INPUT(FILE)`, which the linker resolves through its library
/// search path exactly as it would `-l:FILE` (GNU ld, gold and lld alike).
fn verbatim(file: &str, out_dir: &Path) -> Vec<String> {
    let dir = out_dir.join("link");
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {}", dir.display(), e));
    let stem: String = file.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let name = format!("rlcc_dep_{}", stem);
    let script = dir.join(format!("lib{}.so", name));
    let text = format!("/* -l:{} for rustc, written by the rlcc crate's build.rs */\nINPUT({})\n", file, file);
    fs::write(&script, text).unwrap_or_else(|e| panic!("{}: {}", script.display(), e));
    vec![format!("cargo:rustc-link-search=native={}", dir.display()), format!("cargo:rustc-link-lib=dylib={}", name)]
}

fn hint(link: Link) -> &'static str {
    match link {
        Link::Static => " (RLCC_LINK=dynamic links librlcc.so instead)",
        Link::Dynamic => "",
    }
}

/// What pkg-config prints for ARGS, or None when it fails or is missing.
fn pkg_config_output(args: &[&str]) -> Option<String> {
    let program = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_string());
    let out = Command::new(program).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The words pkg-config prints for ARGS.
fn pkg_config(args: &[&str]) -> Option<Vec<String>> {
    Some(pkg_config_output(args)?.split_whitespace().map(str::to_string).collect())
}

/// rlcc.pc's variable NAME, None when unset or when there is no rlcc.pc.
fn pkg_config_variable(name: &str) -> Option<String> {
    let value = pkg_config_output(&[&format!("--variable={}", name), "rlcc"])?;
    if value.is_empty() {
        None
    } else {
        Some(value)
    }
}
