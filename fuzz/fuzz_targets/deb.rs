//! ar + control/data tar as a Debian package, keeping every member.
#![no_main]
use depsurf_image::archive::{KeepAll, Scratch, read_deb};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_deb(
        data,
        Some(data.len() as u64),
        &mut KeepAll,
        &Scratch::default(),
    );
});
