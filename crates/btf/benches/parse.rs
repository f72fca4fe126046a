//! Parsing a whole kernel's BTF, and dumping it as bpftool does.
//!
//! Reads `$DEPSURF_BENCH_BTF`, or the 6.1.0-47-amd64 fixture (decompressed with `xz`).
//! `scripts/bench.sh` compares the same work against bpftool in one run.

use criterion::{Criterion, criterion_group, criterion_main};
use depsurf_btf::Btf;
use std::hint::black_box;

fn kernel_btf() -> Vec<u8> {
    if let Ok(path) = std::env::var("DEPSURF_BENCH_BTF") {
        return std::fs::read(path).expect("read $DEPSURF_BENCH_BTF");
    }
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/btf/6.1.0-47-amd64.btf.xz"
    );
    let out = std::process::Command::new("xz")
        .args(["-dc", fixture])
        .output()
        .expect("xz is needed to decompress the benchmark fixture");
    assert!(out.status.success());
    out.stdout
}

fn bench(c: &mut Criterion) {
    let data = kernel_btf();
    c.bench_function("parse+validate kernel BTF", |b| {
        b.iter(|| Btf::parse(black_box(&data)).unwrap().type_count())
    });
    let btf = Btf::parse(&data).unwrap();
    c.bench_function("kind counts", |b| b.iter(|| black_box(&btf).kind_counts()));
    c.bench_function("raw dump (bpftool format)", |b| {
        let mut out = Vec::with_capacity(16 << 20);
        b.iter(|| {
            out.clear();
            depsurf_btf::dump::dump_raw(&btf, &mut out).unwrap();
            out.len()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
