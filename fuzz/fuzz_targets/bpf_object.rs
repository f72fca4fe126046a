//! eBPF objects and .BTF.ext: parse an object (ELF, BTF, .BTF.ext, instructions), look for
//! embedded objects, follow each program's flow, and parse the bytes as a .BTF.ext section
//! on their own.
#![no_main]
use libfuzzer_sys::fuzz_target;

fn object(data: &[u8]) {
    let Ok(o) = depsurf_bpf::BpfObject::parse("fuzz", data) else {
        return;
    };
    for p in &o.programs {
        if let Some((_, bytes)) = o.code.iter().find(|(n, _)| *n == p.section) {
            let code = depsurf_bpf::flow::Code {
                bytes,
                big_endian: o.big_endian,
                start: p.start,
                end: p.start + p.insns,
            };
            let _ = depsurf_bpf::flow::reachable(&code, &Default::default());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = depsurf_btf::ext::BtfExt::parse(data);
    object(data);
    for (at, len) in depsurf_bpf::embedded::find(data) {
        object(&data[at..at + len]);
    }
});
