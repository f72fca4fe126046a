//! Points the build at the bundled dataset's store, whose file name (a content hash) the
//! manifest records, so the binary can embed it. A source tree without the dataset builds a
//! binary that says so when asked for it.

use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"))
        .join("../../datasets/bundled");
    let manifest = dir.join("manifest.toml");
    println!("cargo:rerun-if-changed={}", manifest.display());
    let store = std::fs::read_to_string(&manifest).ok().and_then(|text| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix("store = \""))
            .and_then(|r| r.strip_suffix('"'))
            .map(|s| dir.join(s))
    });
    let (manifest, store) = match store.filter(|s| s.exists()) {
        Some(store) => (manifest, store),
        None => {
            let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
            let (m, s) = (out.join("no-manifest.toml"), out.join("no-store.dsf"));
            std::fs::write(&m, "").expect("write to OUT_DIR");
            std::fs::write(&s, "").expect("write to OUT_DIR");
            (m, s)
        }
    };
    println!("cargo:rerun-if-changed={}", store.display());
    println!("cargo:rustc-env=DEPSURF_BUNDLED_STORE={}", store.display());
    println!(
        "cargo:rustc-env=DEPSURF_BUNDLED_MANIFEST={}",
        manifest.display()
    );
}
