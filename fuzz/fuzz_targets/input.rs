//! The whole input layer on one in-memory file: recognition, archives, decompression,
//! boot images, ELF, BTF, System.map, config, identity, and the inspection report.
#![no_main]
use depsurf_image::{Inspection, OpenOptions, open_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(images) = open_bytes("input", data.to_vec(), &OpenOptions::default()) {
        for img in &images {
            let _ = Inspection::of(img);
        }
    }
});
