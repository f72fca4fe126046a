//! Split BTF on top of a small valid base.
#![no_main]
use depsurf_btf::{Btf, Endian, Kind, builder::Builder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let endian = if data.first() == Some(&0xeb) {
        Endian::Big
    } else {
        Endian::Little
    };
    let mut b = Builder::new(endian);
    let int = b.int("int", 4, 32, 1);
    let p = b.reference(Kind::Ptr, "", int);
    b.composite(Kind::Struct, "s", 8, &[("p", p, 0, 0)]);
    let base_blob = b.finish();
    let base = Btf::parse(&base_blob).expect("the base is valid");
    if let Ok(split) = Btf::parse_split(data, &base) {
        let _ = split.kind_counts();
        let _ = depsurf_btf::dump::dump_raw(&split, &mut std::io::sink());
    }
});
