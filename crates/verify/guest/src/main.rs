//! depsurf-guest: the `/init` of depsurf verify's initramfs.
//!
//! Booted as PID 1 by a kernel under QEMU, it mounts what eBPF needs, reads `/job.json`,
//! loads each requested program of each object with libbpf (each in a forked child under a
//! deadline), attaches it, runs a small workload, reads how often the program ran, and
//! writes one JSON record per line to a serial port of its own (`/dev/ttyS1`), ending with a
//! `done` record; then it powers the machine off. The record shapes are documented in
//! `depsurf_verify::protocol`.
//!
//! Outside a VM (not PID 1) it runs the same job on the running kernel:
//! `depsurf-guest --job JOB.json [--out RESULTS.jsonl]` (writes to standard output without
//! `--out`), without mounting anything or powering off.

mod bpf;
mod child;
mod funcs;
mod helpers;
mod protocol;
mod setup;
mod workload;

use std::time::Duration;

use protocol::{
    Attach, Failure, Job, KernelFacts, Load, ObjectRecord, ProgramRecord, Reason, Record,
};
use setup::Output;

const JOB_PATH: &str = "/job.json";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(workload::CHILD_ARG) {
        workload::child();
        return;
    }
    if std::process::id() == 1 {
        as_init();
    }
    match standalone(&args) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("depsurf-guest: {e}");
            std::process::exit(2);
        }
    }
}

/// PID 1: never returns and never panics out (the kernel would panic with it).
fn as_init() -> ! {
    let mut problems = Vec::new();
    setup::mount_all(&mut problems);
    let (mut out, more) = Output::open();
    problems.extend(more);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        emit(
            &mut out,
            &Record::Hello {
                protocol: protocol::PROTOCOL_VERSION,
                uptime_ms: setup::uptime_ms(),
            },
        );
        setup::loopback_up(&mut problems);
        setup::raise_memlock(&mut problems);
        setup::write_proc("/proc/sys/kernel/bpf_stats_enabled", "1", &mut problems);
        for p in problems.drain(..) {
            emit(
                &mut out,
                &Record::Setup {
                    step: p.step,
                    error: p.error,
                },
            );
        }
        match std::fs::read(JOB_PATH)
            .map_err(|e| format!("{JOB_PATH}: {e}"))
            .and_then(|b| serde_json::from_slice::<Job>(&b).map_err(|e| format!("{JOB_PATH}: {e}")))
        {
            Ok(job) => run_job(&job, &mut out),
            Err(e) => emit(
                &mut out,
                &Record::Setup {
                    step: "read the job".into(),
                    error: e,
                },
            ),
        }
    }));
    if let Err(p) = r {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        emit(
            &mut out,
            &Record::Setup {
                step: "guest".into(),
                error: format!("the guest panicked: {msg}"),
            },
        );
    }
    emit(
        &mut out,
        &Record::Done {
            uptime_ms: setup::uptime_ms(),
        },
    );
    out.drain();
    setup::power_off()
}

/// Not PID 1: runs a job file on the running kernel (for debugging the guest itself).
fn standalone(args: &[String]) -> Result<(), String> {
    let mut job_path = None;
    let mut out_path = None;
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--job" => job_path = it.next().cloned(),
            "--out" => out_path = it.next().cloned(),
            _ => {
                return Err(format!(
                    "unknown argument {a}; usage: depsurf-guest --job JOB.json [--out FILE]"
                ));
            }
        }
    }
    let job_path = job_path.ok_or("usage: depsurf-guest --job JOB.json [--out FILE]")?;
    let bytes = std::fs::read(&job_path).map_err(|e| format!("{job_path}: {e}"))?;
    let job: Job = serde_json::from_slice(&bytes).map_err(|e| format!("{job_path}: {e}"))?;
    let file = match &out_path {
        Some(p) => std::fs::File::create(p).map_err(|e| format!("{p}: {e}"))?,
        // SAFETY: duplicating our own standard output.
        None => unsafe { std::os::fd::FromRawFd::from_raw_fd(libc::dup(1)) },
    };
    let mut out = Output::to_file(file);
    emit(
        &mut out,
        &Record::Hello {
            protocol: protocol::PROTOCOL_VERSION,
            uptime_ms: setup::uptime_ms(),
        },
    );
    run_job(&job, &mut out);
    emit(
        &mut out,
        &Record::Done {
            uptime_ms: setup::uptime_ms(),
        },
    );
    out.drain();
    Ok(())
}

fn emit(out: &mut Output, r: &Record) {
    match serde_json::to_string(r) {
        Ok(s) => out.line(&s),
        Err(e) => out.line(&format!(
            "{{\"record\":\"setup\",\"step\":\"serialise a record\",\"error\":{:?}}}",
            e.to_string()
        )),
    }
}

fn kernel_facts() -> KernelFacts {
    // SAFETY: uname fills a zeroed structure.
    let uts = unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        libc::uname(&mut u);
        u
    };
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    KernelFacts {
        release: field(&uts.release),
        version: field(&uts.version),
        machine: field(&uts.machine),
        btf_vmlinux: std::path::Path::new("/sys/kernel/btf/vmlinux").exists(),
        lsm: std::fs::read_to_string("/sys/kernel/security/lsm")
            .ok()
            .map(|s| s.trim().to_string()),
        cmdline: std::fs::read_to_string("/proc/cmdline")
            .unwrap_or_default()
            .trim()
            .to_string(),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
    }
}

fn run_job(job: &Job, out: &mut Output) {
    emit(out, &Record::Kernel(kernel_facts()));
    if job.protocol != protocol::PROTOCOL_VERSION {
        emit(
            out,
            &Record::Setup {
                step: "read the job".into(),
                error: format!(
                    "job protocol {} but this guest speaks {}",
                    job.protocol,
                    protocol::PROTOCOL_VERSION
                ),
            },
        );
        return;
    }
    for m in &job.modules {
        if let Err(error) = setup::load_module(m) {
            emit(
                out,
                &Record::Setup {
                    step: format!("load module {m}"),
                    error,
                },
            );
        }
    }
    bpf::capture_libbpf_messages();
    let timeout = Duration::from_millis(job.program_timeout_ms.max(1));
    for (index, obj) in job.objects.iter().enumerate() {
        run_object(job, index, obj, timeout, out);
    }
    if job.helper_table {
        let o = child::run(
            Duration::from_millis(job.helper_table_timeout_ms.max(1)),
            |pipe| {
                let t = helpers::probe();
                if let Ok(s) = serde_json::to_string(&Record::Helpers(t)) {
                    pipe.send(&s);
                }
            },
        );
        match (o.lines.last(), &o.end) {
            (Some(line), child::End::Clean) => out.line(line),
            (_, end) => {
                let why = match end {
                    child::End::Died(d) => child::describe(d),
                    child::End::Clean => "no result".into(),
                };
                emit(
                    out,
                    &Record::Helpers(protocol::HelperTable {
                        max_helper_id: 0,
                        helper_names: Vec::new(),
                        prog_types: Vec::new(),
                        ms: 0,
                        error: Some(format!("the helper probe {why}")),
                        libbpf: Some(helpers::libbpf_version()),
                    }),
                );
            }
        }
    }
    if !job.functions.is_empty() || job.filter_functions_list {
        let all = if job.filter_functions_list {
            match funcs::filter_functions() {
                Ok(v) => Some(v),
                Err(e) => {
                    emit(
                        out,
                        &Record::Setup {
                            step: "read available_filter_functions".into(),
                            error: e,
                        },
                    );
                    None
                }
            }
        } else {
            None
        };
        if !job.functions.is_empty() {
            emit(
                out,
                &Record::Functions(funcs::check(&job.functions, all.as_deref())),
            );
        }
        if let Some(names) = all {
            emit(out, &Record::FilterFunctions { names });
        }
    }
}

fn run_object(
    job: &Job,
    index: usize,
    obj: &protocol::JobObject,
    timeout: Duration,
    out: &mut Output,
) {
    // List the programs in a child: libbpf parses the untrusted object there.
    let path = obj.path.clone();
    let listing = child::run(timeout, move |pipe| {
        let r = bpf::list(&path);
        if let Ok(s) = serde_json::to_string(&r) {
            pipe.send(&s);
        }
    });
    let parsed: Option<Result<Vec<protocol::ProgramInfo>, Failure>> = listing
        .lines
        .last()
        .and_then(|l| serde_json::from_str(l).ok());
    let programs = match (parsed, &listing.end) {
        (Some(Ok(p)), _) => p,
        (Some(Err(f)), _) => {
            emit(
                out,
                &Record::Object(ObjectRecord {
                    index,
                    name: obj.name.clone(),
                    programs: Vec::new(),
                    error: Some(f),
                }),
            );
            return;
        }
        (None, end) => {
            let why = match end {
                child::End::Died(d) => format!(
                    "the loader crashed opening the object ({})",
                    child::describe(d)
                ),
                child::End::Clean => "the loader reported nothing about the object".into(),
            };
            emit(
                out,
                &Record::Object(ObjectRecord {
                    index,
                    name: obj.name.clone(),
                    programs: Vec::new(),
                    error: Some(Failure {
                        errno: None,
                        message: why,
                        log: Vec::new(),
                    }),
                }),
            );
            return;
        }
    };
    emit(
        out,
        &Record::Object(ObjectRecord {
            index,
            name: obj.name.clone(),
            programs: programs.clone(),
            error: None,
        }),
    );
    let wanted: Vec<protocol::ProgramInfo> =
        match &obj.programs {
            None => programs,
            Some(names) => names
                .iter()
                .map(|n| {
                    programs.iter().find(|p| &p.name == n).cloned().unwrap_or(
                        protocol::ProgramInfo {
                            name: n.clone(),
                            section: String::new(),
                            prog_type: String::new(),
                        },
                    )
                })
                .collect(),
        };
    for info in wanted {
        if info.section.is_empty() {
            emit(
                out,
                &Record::Program(ProgramRecord {
                    object: index,
                    name: info.name.clone(),
                    section: String::new(),
                    prog_type: String::new(),
                    load: Load::Error {
                        errno: None,
                        message: format!("the object has no program named {}", info.name),
                    },
                    attach: Attach::NotAttached {
                        reason: Reason::LoadFailed,
                    },
                    events: None,
                    run_time_ns: None,
                    workload_died: None,
                    maps_resized: Vec::new(),
                    maps_not_created: Vec::new(),
                    externs_weakened: Vec::new(),
                    log: Vec::new(),
                    ms: 0,
                }),
            );
            continue;
        }
        let path = obj.path.clone();
        let i2 = info.clone();
        let o = child::run(timeout, move |pipe| {
            bpf::try_program(index, &path, &i2, job, pipe)
        });
        emit(out, &Record::Program(settle(index, &info, o)));
    }
}

/// The record of a program from its child's last checkpoint and how the child ended.
fn settle(index: usize, info: &protocol::ProgramInfo, o: child::Outcome) -> ProgramRecord {
    let last: Option<ProgramRecord> = o.lines.last().and_then(|l| match serde_json::from_str(l) {
        Ok(Record::Program(p)) => Some(p),
        _ => None,
    });
    let died = match o.end {
        child::End::Clean => None,
        child::End::Died(d) => Some(d),
    };
    match (last, died) {
        (Some(r), None) => r,
        (None, d) => ProgramRecord {
            object: index,
            name: info.name.clone(),
            section: info.section.clone(),
            prog_type: info.prog_type.clone(),
            load: Load::Died(d.unwrap_or_default()),
            attach: Attach::NotAttached {
                reason: Reason::NotReached,
            },
            events: None,
            run_time_ns: None,
            workload_died: None,
            maps_resized: Vec::new(),
            maps_not_created: Vec::new(),
            externs_weakened: Vec::new(),
            log: vec!["the loader reported nothing before it ended".into()],
            ms: 0,
        },
        (Some(mut r), Some(d)) => {
            let not_reached = Attach::NotAttached {
                reason: Reason::NotReached,
            };
            if r.load == Load::Ok && r.attach == not_reached {
                r.attach = Attach::Died(d);
            } else if r.attach == Attach::Ok && r.events.is_none() {
                r.workload_died = Some(d);
            } else {
                r.log.push(format!(
                    "the loader {} after reporting",
                    child::describe(&d)
                ));
            }
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{Died, ProgramInfo};

    fn info() -> ProgramInfo {
        ProgramInfo {
            name: "p".into(),
            section: "kprobe/f".into(),
            prog_type: "kprobe".into(),
        }
    }

    fn checkpoint(load: Load, attach: Attach) -> String {
        let r = ProgramRecord {
            object: 0,
            name: "p".into(),
            section: "kprobe/f".into(),
            prog_type: "kprobe".into(),
            load,
            attach,
            events: None,
            run_time_ns: None,
            workload_died: None,
            maps_resized: Vec::new(),
            maps_not_created: Vec::new(),
            externs_weakened: Vec::new(),
            log: Vec::new(),
            ms: 1,
        };
        serde_json::to_string(&Record::Program(r)).unwrap()
    }

    fn segv() -> child::End {
        child::End::Died(Died {
            signal: Some(11),
            ..Died::default()
        })
    }

    /// A loader that dies is reported at the step it had reached.
    #[test]
    fn deaths_are_placed_at_the_last_checkpoint() {
        let not_reached = Attach::NotAttached {
            reason: Reason::NotReached,
        };
        let died = Died {
            signal: Some(11),
            ..Died::default()
        };
        // Nothing reported: died loading.
        let r = settle(
            0,
            &info(),
            child::Outcome {
                lines: vec![],
                end: segv(),
            },
        );
        assert_eq!(r.load, Load::Died(died.clone()));
        assert_eq!(r.attach, not_reached);
        // Loaded, not attached yet: died attaching.
        let lines = vec![checkpoint(Load::Ok, not_reached.clone())];
        let r = settle(0, &info(), child::Outcome { lines, end: segv() });
        assert_eq!((r.load, r.attach), (Load::Ok, Attach::Died(died.clone())));
        // Attached, no events yet: died in the workload.
        let lines = vec![checkpoint(Load::Ok, Attach::Ok)];
        let r = settle(0, &info(), child::Outcome { lines, end: segv() });
        assert_eq!(r.attach, Attach::Ok);
        assert_eq!(r.workload_died, Some(died));
        // A clean end keeps the last record as it is.
        let lines = vec![checkpoint(Load::Ok, Attach::Ok)];
        let r = settle(
            0,
            &info(),
            child::Outcome {
                lines,
                end: child::End::Clean,
            },
        );
        assert_eq!(r.workload_died, None);
    }
}
