//! Loading the bundled dataset and rendering reports from it.
//! Targets (issue 3): load + one report < 0.1 s; every struct report < 10 s.

use criterion::{Criterion, criterion_group, criterion_main};
use depsurf_surface::{Dataset, Kind};
use std::hint::black_box;
use std::path::PathBuf;

fn bundled() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../datasets/bundled")
}

fn bench(c: &mut Criterion) {
    c.bench_function("open bundled dataset + struct task_struct report", |b| {
        b.iter(|| {
            let ds = Dataset::open(&bundled()).unwrap();
            let r = depsurf_report::build(&ds, Kind::Struct, "task_struct").unwrap();
            black_box(depsurf_report::markdown(&r).len())
        })
    });
    let ds = Dataset::open(&bundled()).unwrap();
    let names = depsurf_report::suggest::all_names(&ds, Kind::Struct).unwrap();
    let mut g = c.benchmark_group("all struct reports");
    g.sample_size(10);
    g.bench_function(format!("{} structs", names.len()), |b| {
        b.iter(|| {
            let mut total = 0;
            for n in &names {
                let r = depsurf_report::build(&ds, Kind::Struct, n).unwrap();
                total += depsurf_report::markdown(&r).len();
            }
            black_box(total)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
