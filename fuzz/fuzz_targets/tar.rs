//! Tar archives, plain or compressed.
#![no_main]
use depsurf_image::archive::{Scratch, Selector, read_tar};
use libfuzzer_sys::fuzz_target;

struct All;
impl Selector for All {
    fn wants(&mut self, _: &str) -> bool {
        true
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = read_tar(data, &mut All, &Scratch::default(), "fuzz");
});
