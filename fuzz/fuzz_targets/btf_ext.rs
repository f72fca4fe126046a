//! `.BTF.ext` sections on their own: function, line and CO-RE relocation records.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = depsurf_btf::ext::BtfExt::parse(data);
});
