//! Finds libsnn for linking, in this order:
//!
//! 1. `SNN_LIB_DIR`: a directory holding the shared library (libsnn.so,
//!    libsnn.dylib or snn.lib/snn.dll), e.g. a CMake build directory or an
//!    install's lib/ directory. Nothing is built.
//! 2. pkg-config: `pkg-config --libs snn` (an installed libsnn whose snn.pc is
//!    on PKG_CONFIG_PATH), when the `pkg-config` program is present and knows
//!    a libsnn of this crate's major version. `SNN_NO_PKG_CONFIG=1` skips it.
//! 3. CMake: builds libsnn from its source tree (`SNN_SOURCE_DIR`, by default
//!    the repository this crate sits in) into OUT_DIR.
//!
//! The directory found is passed on to dependent build scripts as
//! `DEP_SNN_LIB_DIR` (the `snn` crate uses it to set an rpath on its own tests
//! and examples). Only std is used.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    for var in ["SNN_LIB_DIR", "SNN_NO_PKG_CONFIG", "SNN_SOURCE_DIR", "PKG_CONFIG_PATH"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed=build.rs");

    let lib_dir = match env::var_os("SNN_LIB_DIR") {
        Some(dir) if !dir.is_empty() => Some(from_env(PathBuf::from(dir))),
        _ => match pkg_config() {
            Some(found) => found,
            None => Some(build_with_cmake()),
        },
    };
    if let Some(dir) = lib_dir {
        println!("cargo:rustc-link-search=native={}", dir.display());
        println!("cargo:lib_dir={}", dir.display());
        // The crate's own tests find the library where it was linked from.
        if env::var("CARGO_CFG_TARGET_FAMILY").map_or(false, |f| f == "unix") {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
        }
    }
    println!("cargo:rustc-link-lib=dylib=snn");
}

/// The file names a linker looks for when asked for `-l snn`.
fn library_names() -> &'static [&'static str] {
    match env::var("CARGO_CFG_TARGET_OS").as_deref() {
        Ok("windows") => &["snn.lib", "libsnn.dll.a", "libsnn.a"],
        Ok("macos") | Ok("ios") => &["libsnn.dylib"],
        _ => &["libsnn.so"],
    }
}

fn has_library(dir: &Path) -> bool {
    library_names().iter().any(|name| dir.join(name).exists())
}

fn from_env(dir: PathBuf) -> PathBuf {
    if !has_library(&dir) {
        panic!(
            "SNN_LIB_DIR={} holds no {}: point it at a directory with the shared library \
             (a CMake build of libsnn, or an install's lib/), or unset it to use pkg-config or CMake",
            dir.display(),
            library_names().join(" / ")
        );
    }
    dir.canonicalize().unwrap_or(dir)
}

/// `Some(Some(dir))`: found with a -L directory; `Some(None)`: found in the
/// linker's default path; `None`: pkg-config is absent or has no usable snn.
fn pkg_config() -> Option<Option<PathBuf>> {
    if env::var_os("SNN_NO_PKG_CONFIG").map_or(false, |v| !v.is_empty() && v != "0") {
        return None;
    }
    let program = env::var_os("PKG_CONFIG").unwrap_or_else(|| "pkg-config".into());
    let run = |args: &[&str]| -> Option<String> {
        let out = Command::new(&program).args(args).output().ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8(out.stdout).ok()
    };
    let version = run(&["--modversion", "snn"])?;
    let major = version.trim().split('.').next().unwrap_or("");
    let wanted = env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_default();
    if major != wanted {
        println!(
            "cargo:warning=pkg-config finds libsnn {} but snn-sys declares major version {}; ignoring it",
            version.trim(),
            wanted
        );
        return None;
    }
    let libs = run(&["--libs", "snn"])?;
    let mut dir = None;
    for flag in libs.split_whitespace() {
        if let Some(d) = flag.strip_prefix("-L") {
            if dir.is_none() && has_library(Path::new(d)) {
                dir = Some(PathBuf::from(d));
            }
        }
    }
    Some(dir)
}

fn build_with_cmake() -> PathBuf {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let source = match env::var_os("SNN_SOURCE_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => manifest.join("../../.."),
    };
    if !source.join("include/snn/snn.h").exists() || !source.join("CMakeLists.txt").exists() {
        panic!(
            "libsnn not found: set SNN_LIB_DIR to a directory holding libsnn, install libsnn with its \
             snn.pc for pkg-config, or set SNN_SOURCE_DIR to libsnn's source tree (none at {})",
            source.display()
        );
    }
    let source = source.canonicalize().unwrap_or(source);
    for part in ["CMakeLists.txt", "include", "src", "cmake"] {
        println!("cargo:rerun-if-changed={}", source.join(part).display());
    }
    let build = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("libsnn-build");
    let cmake = env::var_os("CMAKE").unwrap_or_else(|| "cmake".into());
    let run = |args: Vec<std::ffi::OsString>| {
        let status = Command::new(&cmake).args(&args).status().unwrap_or_else(|e| {
            panic!(
                "cannot run cmake ({e}) to build libsnn; install CMake, or set SNN_LIB_DIR to a \
                 directory holding a built libsnn"
            )
        });
        if !status.success() {
            panic!("building libsnn with CMake failed: cmake {args:?} exited with {status}");
        }
    };
    run(vec![
        "-S".into(),
        source.into_os_string(),
        "-B".into(),
        build.clone().into_os_string(),
        "-DCMAKE_BUILD_TYPE=Release".into(),
        "-DSNN_BUILD_TESTS=OFF".into(),
        "-DSNN_BUILD_EXAMPLES=OFF".into(),
    ]);
    let jobs = env::var("NUM_JOBS").unwrap_or_else(|_| "2".into());
    run(vec![
        "--build".into(),
        build.clone().into_os_string(),
        "--config".into(),
        "Release".into(),
        "--parallel".into(),
        jobs.into(),
        "--target".into(),
        "snn".into(),
    ]);
    for dir in [build.clone(), build.join("Release")] {
        if has_library(&dir) {
            return dir;
        }
    }
    panic!("CMake built libsnn, but no {} is in {}", library_names().join(" / "), build.display());
}
