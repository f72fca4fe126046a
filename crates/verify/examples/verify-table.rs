//! Boots kernels with eBPF objects and prints one table row per kernel (used by
//! scripts/verify-smoke.sh; `depsurf verify` is the command for users).
//!
//! ```text
//! verify-table [--helpers] [--functions a,b,...] [--filter-list] [--accel kvm|tcg]
//!              [--jobs N] [--no-cache] [--no-pvh] [--gzip] [--append KERNEL_ARG]
//!              [--detail] [--json DIR] [--keep DIR]
//!              --kernel PKG_OR_VMLINUZ... --object OBJ.bpf.o...
//! ```

use std::path::PathBuf;
use std::sync::Mutex;

use depsurf_verify::protocol::{Attach, Load};
use depsurf_verify::{Accel, Config, ObjectInput, Options, Verifier};

fn main() {
    if let Err(e) = real_main() {
        eprintln!("verify-table: {e}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<(), String> {
    let mut kernels: Vec<PathBuf> = Vec::new();
    let mut objects: Vec<PathBuf> = Vec::new();
    let mut opts = Options::default();
    let mut jobs = 1usize;
    let mut json_dir: Option<PathBuf> = None;
    let mut keep: Option<PathBuf> = None;
    let mut detail = false;
    let mut args = std::env::args().skip(1);
    let mut list: Option<&str> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--kernel" => list = Some("kernel"),
            "--object" => list = Some("object"),
            "--helpers" => opts.helper_table = true,
            "--filter-list" => opts.filter_functions_list = true,
            "--detail" => detail = true,
            "--no-pvh" => opts.pvh_boot = false,
            "--gzip" => opts.gzip_initramfs = true,
            "--append" => opts
                .extra_kernel_args
                .push(args.next().ok_or("--append needs a kernel argument")?),
            "--no-cache" => opts.cache = depsurf_verify::CachePolicy::Refresh,
            "--functions" => {
                opts.functions = args
                    .next()
                    .ok_or("--functions needs a list")?
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            }
            "--accel" => {
                let s = args.next().ok_or("--accel needs kvm or tcg")?;
                opts.accel = Some(Accel::parse(&s).ok_or("--accel needs kvm or tcg")?);
            }
            "--jobs" => {
                jobs = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--jobs needs a number")?
            }
            "--json" => json_dir = Some(args.next().ok_or("--json needs a directory")?.into()),
            "--keep" => keep = Some(args.next().ok_or("--keep needs a directory")?.into()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            s => match list {
                Some("kernel") => kernels.push(s.into()),
                Some("object") => objects.push(s.into()),
                _ => return Err(format!("{s}: give --kernel or --object first")),
            },
        }
    }
    if kernels.is_empty() {
        return Err("no --kernel given".into());
    }
    let objects: Vec<ObjectInput> = objects
        .iter()
        .map(|p| ObjectInput::from_file(p))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let verifier =
        Verifier::new(Config::default(), &|m| eprintln!("{m}")).map_err(|e| e.to_string())?;
    if let Some(d) = &json_dir {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    println!(
        "| kernel | outcome | accel | boot s | total s | programs | loaded | failed | attached | attach failed | with events | events | helper probe s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let next = Mutex::new(0usize);
    let print = Mutex::new(());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                loop {
                    let i = {
                        let mut n = next.lock().unwrap();
                        let i = *n;
                        *n += 1;
                        i
                    };
                    let Some(k) = kernels.get(i) else { break };
                    let mut o = opts.clone();
                    if let Some(base) = &keep {
                        o.keep_dir = Some(base.join(k.file_name().unwrap_or_default()));
                    }
                    let row = match verifier.kernel(k).and_then(|kern| verifier.run(&kern, &objects, &o).map(|v| (kern, v))) {
                        Err(e) => format!("| {} | error: {e} |", k.display()),
                        Ok((kern, v)) => {
                            if let Some(d) = &json_dir {
                                let name = kern.release.clone().unwrap_or_else(|| kern.sha256[..12].to_string());
                                let _ = std::fs::write(
                                    d.join(format!("{name}.json")),
                                    serde_json::to_vec_pretty(&v).unwrap_or_default(),
                                );
                            }
                            let s = v.summary();
                            let secs = |ms: Option<u64>| ms.map_or("-".to_string(), |m| format!("{:.1}", m as f64 / 1000.0));
                            let mut row = format!(
                                "| {} | {:?}{} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                                v.kernel.as_ref().map_or_else(|| kern.release.clone().unwrap_or_default(), |k| k.release.clone()),
                                v.outcome,
                                if v.from_cache { " (cached)" } else { "" },
                                v.accel,
                                secs(v.timings.boot_ms),
                                secs(Some(v.timings.total_ms)),
                                s.tried,
                                s.loaded,
                                s.load_failed,
                                s.attached,
                                s.attach_failed,
                                s.with_events,
                                s.events,
                                secs(v.helpers.as_ref().map(|h| h.ms)),
                            );
                            if detail {
                                for (obj, res) in objects.iter().zip(&v.objects) {
                                    if let Some(e) = &res.error {
                                        row.push_str(&format!("\n    {}: {}", obj.name, e.message));
                                    }
                                    for p in &res.programs {
                                        let load = match &p.load {
                                            Load::Ok => "loaded".to_string(),
                                            Load::Error { message, .. } => format!("LOAD FAILED ({message})"),
                                            Load::Skipped { reason } => format!("not loaded ({reason:?})"),
                                            Load::Died(d) => format!("LOADER DIED ({d})"),
                                        };
                                        let attach = match &p.attach {
                                            Attach::Ok => format!("attached, {} events", p.events.map_or("?".into(), |e| e.to_string())),
                                            Attach::Error { message, .. } => format!("ATTACH FAILED ({message})"),
                                            Attach::NotAttached { reason } => format!("not attached ({reason:?})"),
                                            Attach::Died(d) => format!("LOADER DIED attaching ({d})"),
                                        };
                                        row.push_str(&format!("\n    {}/{}: {load}; {attach}", obj.name, p.name));
                                    }
                                }
                                if !v.console_tail.is_empty() {
                                    row.push_str("\n    console tail:");
                                    for l in &v.console_tail {
                                        row.push_str(&format!("\n      {l}"));
                                    }
                                }
                            }
                            row
                        }
                    };
                    let _g = print.lock().unwrap();
                    println!("{row}");
                }
            });
        }
    });
    Ok(())
}
