//! A dataset's manifest.toml: images, groups, versions, provenance.
#![no_main]
use depsurf_surface::manifest::Manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(m) = Manifest::parse(text)
    {
        // What it writes back must parse again.
        let _ = Manifest::parse(&m.to_toml()).expect("a parsed manifest writes back parseable");
    }
});
