//! ELF headers, symbols, reads by address, and the inspection of the result.
#![no_main]
use depsurf_image::{Bytes, elf::ElfImage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(elf) = ElfImage::parse(Bytes::from_vec(data.to_vec())) {
        let _ = elf.find_symbols(&["linux_banner", "_text"]);
        let _ = elf.read_addr(0, 64);
        let _ = depsurf_image::input::elf_banner(&elf);
        let _ = depsurf_image::input::elf_comment(&elf);
        for s in &elf.sections {
            let _ = elf.section_bytes(s);
        }
    }
});
