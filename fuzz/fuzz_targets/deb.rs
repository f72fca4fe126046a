//! ar + control/data tar as a Debian package, keeping every member.
#![no_main]
use depsurf_image::archive::{Scratch, Selector, read_deb};
use libfuzzer_sys::fuzz_target;

struct All;
impl Selector for All {
    fn wants(&mut self, _: &str) -> bool {
        true
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = read_deb(data, Some(data.len() as u64), &mut All, &Scratch::default());
});
