//! Extracting one image's surface from its BTF (target, issue 3: < 0.3 s), and encoding a
//! store.

use criterion::{Criterion, criterion_group, criterion_main};
use depsurf_image::OpenOptions;
use std::hint::black_box;
use std::path::PathBuf;

fn bench(c: &mut Criterion) {
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/btf/6.1.0-47-amd64.btf.xz");
    let img = depsurf_image::open_one(&[fixture], &OpenOptions::default()).unwrap();
    c.bench_function("extract surface of 6.1.0-47-amd64 from BTF", |b| {
        b.iter(|| black_box(depsurf_surface::extract(&img).unwrap().1.funcs.len()))
    });
    let (_, s) = depsurf_surface::extract(&img).unwrap();
    let mut g = c.benchmark_group("store");
    g.sample_size(10);
    g.bench_function("encode one image", |b| {
        b.iter(|| {
            let mut sb = depsurf_surface::store::StoreBuilder::default();
            sb.add("x", &s);
            black_box(sb.finish().len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
