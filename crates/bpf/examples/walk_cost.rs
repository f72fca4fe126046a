//! What the flow walk costs on eBPF objects and binaries that embed them: the largest walk
//! (its `work`, the unit of the walk's bound) and the time of all walks, both ways of
//! reading `const volatile` data. Used to set the bound (crates/bpf/src/flow.rs):
//!
//!     cargo run --release -p depsurf-bpf --example walk_cost -- FILE...
use std::time::{Duration, Instant};

fn main() {
    let mut worst = (0usize, String::new());
    let mut total = Duration::ZERO;
    let mut walks = 0;
    for path in std::env::args().skip(1) {
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{path}: {e}");
                std::process::exit(2);
            }
        };
        let mut objects = vec![(0, data.len())];
        objects.extend(depsurf_bpf::embedded::find(&data));
        for (at, len) in objects {
            let Ok(o) = depsurf_bpf::BpfObject::parse(&path, &data[at..at + len]) else {
                continue;
            };
            for p in &o.programs {
                for rodata_as_compiled in [true, false] {
                    let env = depsurf_bpf::flow::Env {
                        rodata_as_compiled,
                        ..Default::default()
                    };
                    let t = Instant::now();
                    let f = depsurf_bpf::flow::walk(&o.code, p.entry, &env);
                    let took = t.elapsed();
                    total += took;
                    walks += 1;
                    if !f.exact {
                        println!("gave up: {path} {} after {took:?}", p.name);
                    }
                    if f.work > worst.0 {
                        worst = (f.work, format!("{path} {} ({took:?})", p.name));
                    }
                }
            }
        }
    }
    println!(
        "{walks} walks in {total:?}; the largest: work {} at {}",
        worst.0, worst.1
    );
}
