//! Tar archives, plain or compressed.
#![no_main]
use depsurf_image::archive::{KeepAll, Scratch, read_tar};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_tar(data, &mut KeepAll, &Scratch::default(), "fuzz");
});
