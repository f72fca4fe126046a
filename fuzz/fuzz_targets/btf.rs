//! Base BTF: parse, then touch every type the way the dump and inspect do.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(btf) = depsurf_btf::Btf::parse(data) {
        let _ = btf.kind_counts();
        let _ = depsurf_btf::dump::dump_raw(&btf, &mut std::io::sink());
    }
});
