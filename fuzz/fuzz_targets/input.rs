//! The whole input layer on one in-memory file: recognition, archives, decompression,
//! boot images, ELF, BTF, System.map, config, identity, the inspection report, and the
//! kernel's memory and symbols (relocations, kallsyms).
#![no_main]
use depsurf_image::{Inspection, KernelMemory, OpenOptions, open_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(images) = open_bytes("input", data.to_vec(), &OpenOptions::default()) {
        for img in &images {
            let _ = Inspection::of(img);
            if let Ok(mem) = KernelMemory::of(img) {
                let _ = mem.ptr(mem.symbols.addr("sys_call_table").unwrap_or(0));
            }
        }
    }
});
