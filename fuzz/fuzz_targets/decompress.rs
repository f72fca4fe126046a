//! Every decompressor; the first byte picks the format.
#![no_main]
use depsurf_image::decompress::{Compression, Limits, decompress};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let c = Compression::ALL[usize::from(pick) % Compression::ALL.len()];
    let limits = Limits {
        max_output: 64 << 20,
        max_ratio: 1000,
        ratio_after: 1 << 20,
    };
    let _ = decompress(rest, c, limits);
    let _ = Compression::find_all(rest);
});
