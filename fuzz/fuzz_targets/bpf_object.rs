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
        let _ = o.code.closure(p.entry);
        for rodata_as_compiled in [true, false] {
            let env = depsurf_bpf::flow::Env {
                rodata_as_compiled,
                ..Default::default()
            };
            let _ = depsurf_bpf::flow::walk(&o.code, p.entry, &env);
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
