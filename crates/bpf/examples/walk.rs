//! Prints what the walk of one program finds with no kernel answers known: how many
//! instructions it reaches, which only other values of `const volatile` globals reach, and
//! the context reads.
//!
//! ```text
//! cargo run -p depsurf-bpf --example walk -- OBJECT.bpf.o PROGRAM
//! ```

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(name)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: walk OBJECT.bpf.o PROGRAM");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("walk: {path}: {e}");
            std::process::exit(2);
        }
    };
    let obj = match depsurf_bpf::BpfObject::parse(path, &bytes) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("walk: {path}: {e}");
            std::process::exit(2);
        }
    };
    let Some(p) = obj.programs.iter().find(|p| &p.name == name) else {
        eprintln!("walk: {path} has no program {name}");
        std::process::exit(2);
    };
    for compiled in [true, false] {
        let env = depsurf_bpf::flow::Env {
            rodata_as_compiled: compiled,
            ..Default::default()
        };
        let f = depsurf_bpf::flow::walk(&obj.code, p.entry, &env);
        println!(
            "{}: exact {}, {} instructions reached ({} only on paths a loader's values choose), \
             context reads {:?}, only on such paths {:?}",
            if compiled {
                "as compiled"
            } else {
                "any values"
            },
            f.exact,
            f.reachable.len(),
            f.chosen.len(),
            f.ctx_reads,
            f.chosen_ctx_reads
        );
    }
}
