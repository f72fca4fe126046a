//! Extracting one image's surface from its BTF (target, issue 3: < 0.3 s), and encoding a
//! store. With `DEPSURF_BENCH_KERNEL=input[,input...]` (a debug vmlinux, or a boot image
//! and its System.map), also tracepoints and system calls read from that kernel's data
//! (target, issue 5: both kinds for one image < 1 s) and traceability (the mcount table and
//! kprobe blacklist against the symbols); the CLI's numbers, process and
//! decompression included, come from scripts/bench-data.sh.

use criterion::{Criterion, criterion_group, criterion_main};
use depsurf_image::OpenOptions;
use depsurf_surface::extract::{syscalls, trace, tracepoints};
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

    let Ok(kernel) = std::env::var("DEPSURF_BENCH_KERNEL") else {
        eprintln!("data kinds: set DEPSURF_BENCH_KERNEL to a kernel's inputs to run them");
        return;
    };
    let inputs: Vec<PathBuf> = kernel.split(',').map(PathBuf::from).collect();
    let img = depsurf_image::open_one(&inputs, &OpenOptions::default()).unwrap();
    let (_, s) = depsurf_surface::extract(&img).unwrap();
    let mut g = c.benchmark_group(format!("data kinds of {}", img.name()));
    g.sample_size(10);
    g.bench_function("kernel memory and symbols", |b| {
        b.iter(|| black_box(depsurf_image::KernelMemory::of(&img).unwrap().symbols.len()))
    });
    let mem = depsurf_image::KernelMemory::of(&img).unwrap();
    g.bench_function("tracepoints", |b| {
        b.iter(|| black_box(tracepoints::scan(&mem, &s).unwrap().tracepoints.len()))
    });
    g.bench_function("syscalls", |b| {
        b.iter(|| black_box(syscalls::scan(&mem).unwrap().len()))
    });
    let arch = img.identity.arch.clone().unwrap_or_default();
    let config = img.config.as_ref().map(|c| c.value.set.clone());
    g.bench_function("traceability", |b| {
        b.iter(|| {
            let t = trace::scan(&mem, &arch, config.as_ref()).unwrap();
            black_box(t.traceability.ftrace.len())
        })
    });
    g.bench_function("both kinds, memory and symbols included", |b| {
        b.iter(|| {
            let mem = depsurf_image::KernelMemory::of(&img).unwrap();
            let t = tracepoints::scan(&mem, &s).unwrap().tracepoints.len();
            black_box(t + syscalls::scan(&mem).unwrap().len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
