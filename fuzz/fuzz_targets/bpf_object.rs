//! eBPF objects and .BTF.ext: parse an object (ELF, BTF, .BTF.ext, instructions), look for
//! embedded objects, and parse the bytes as a .BTF.ext section on their own.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = depsurf_btf::ext::BtfExt::parse(data);
    let _ = depsurf_bpf::BpfObject::parse("fuzz", data);
    for (at, len) in depsurf_bpf::embedded::find(data) {
        let _ = depsurf_bpf::BpfObject::parse("fuzz", &data[at..at + len]);
    }
});
