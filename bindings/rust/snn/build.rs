//! Lets this crate's own tests and examples find libsnn at run time: snn-sys
//! reports the directory it linked from (DEP_SNN_LIB_DIR), which becomes an
//! rpath of those binaries. A program that depends on `snn` finds the library
//! the usual way (installed system-wide, LD_LIBRARY_PATH, or its own rpath).

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_SNN_LIB_DIR");
    let unix = std::env::var("CARGO_CFG_TARGET_FAMILY").map_or(false, |f| f == "unix");
    if let (true, Some(dir)) = (unix, std::env::var_os("DEP_SNN_LIB_DIR")) {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", std::path::Path::new(&dir).display());
    }
}
