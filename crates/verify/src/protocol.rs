//! The protocol between the host and the guest (`depsurf-guest`, the initramfs's `/init`):
//! the job the host puts in the initramfs as `/job.json`, and the records the guest writes
//! back, one JSON object per line, on its own serial port.
//!
//! This module is the documented definition. The guest is a separate cargo package (so that
//! building depsurf never needs libelf); it keeps a copy of these types, and both copies are
//! tested against the same examples (`crates/verify/tests/protocol/job.json` and
//! `records.jsonl`), which docs/verify-internals.md also shows.
//!
//! Compatibility: [`PROTOCOL_VERSION`] changes whenever a shape changes incompatibly; the
//! guest refuses a job of another version (a `setup` record says so), and the host refuses
//! a guest whose `hello` carries another version.
//!
//! # The job (`/job.json`)
//!
//! ```json
//! {"protocol": 1,
//!  "objects": [{"name": "core_fields.bpf.o", "path": "/objects/0.bpf.o", "programs": null}],
//!  "helper_table": false, "functions": ["do_nanosleep"], "filter_functions_list": false,
//!  "program_timeout_ms": 60000, "helper_table_timeout_ms": 1200000,
//!  "default_max_entries": 1024, "default_ringbuf_bytes": 262144}
//! ```
//!
//! # The records, in the order the guest writes them
//!
//! 1. `hello`: userspace is up (`uptime_ms`: the kernel's uptime then).
//! 2. `setup`: zero or more setup steps that failed (a mount, `lo`, a sysctl), not fatal.
//! 3. `kernel`: [`KernelFacts`].
//! 4. per object: `object` ([`ObjectRecord`]), then one `program` ([`ProgramRecord`]) per
//!    program tried.
//! 5. `helpers` ([`HelperTable`]) when the job asks for it.
//! 6. `functions` ([`FunctionsRecord`]) and `filter_functions` when asked.
//! 7. `done`: the guest finished and powers off. A run without `done` was cut short.

use serde::{Deserialize, Serialize};

/// The version of the job and record shapes.
pub const PROTOCOL_VERSION: u32 = 1;

/// The marker before a record written to the console (`/dev/console`) when the guest could
/// not open a serial port of its own. The host reads records from both places.
pub const CONSOLE_MARKER: &str = "@@depsurf@@ ";

/// What the guest is asked to do.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Job {
    /// [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// The objects, in the order their results are reported.
    pub objects: Vec<JobObject>,
    /// Probe which helpers each program type may call.
    #[serde(default)]
    pub helper_table: bool,
    /// Kernel functions whose traceability to report.
    #[serde(default)]
    pub functions: Vec<String>,
    /// Also report the whole of ftrace's available_filter_functions (tens of thousands of
    /// names).
    #[serde(default)]
    pub filter_functions_list: bool,
    /// Kernel modules to load before the objects, in this order (paths in the initramfs);
    /// one that fails to load is a setup problem (`load module NAME`).
    #[serde(default)]
    pub modules: Vec<String>,
    /// Deadline for one program (load, attach, workload), in milliseconds.
    pub program_timeout_ms: u64,
    /// Deadline for the helper-table probe, in milliseconds.
    pub helper_table_timeout_ms: u64,
    /// `max_entries` given to a map that declares 0 and that libbpf does not size itself.
    pub default_max_entries: u32,
    /// The same for ring buffers (bytes; a power of two and a multiple of the page size).
    pub default_ringbuf_bytes: u32,
}

/// One eBPF object in the initramfs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct JobObject {
    /// The name results are reported under (the caller's file name).
    pub name: String,
    /// Its path inside the initramfs.
    pub path: String,
    /// The programs to try, by name; `null` for all of them.
    #[serde(default)]
    pub programs: Option<Vec<String>>,
}

/// One line the guest writes, tagged by `"record"`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    /// The guest started; `uptime_ms` is the kernel's uptime at that moment.
    Hello {
        protocol: u32,
        uptime_ms: u64,
    },
    Kernel(KernelFacts),
    /// A setup step that failed (the run goes on).
    Setup {
        step: String,
        error: String,
    },
    Object(ObjectRecord),
    Program(ProgramRecord),
    Helpers(HelperTable),
    Functions(FunctionsRecord),
    /// ftrace's available_filter_functions, in the file's order, module suffixes dropped.
    FilterFunctions {
        names: Vec<String>,
    },
    /// The last record; `uptime_ms` is the kernel's uptime at that moment.
    Done {
        uptime_ms: u64,
    },
}

/// What the booted kernel says about itself.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KernelFacts {
    /// `uname -r`.
    pub release: String,
    /// `uname -v`.
    pub version: String,
    /// `uname -m`.
    pub machine: String,
    /// Whether `/sys/kernel/btf/vmlinux` exists.
    pub btf_vmlinux: bool,
    /// The active LSMs (`/sys/kernel/security/lsm`); `bpf` must be among them for LSM
    /// programs to run.
    pub lsm: Option<String>,
    /// The kernel command line.
    pub cmdline: String,
    pub cpus: u32,
}

/// An object and its programs (or why it could not be opened).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ObjectRecord {
    /// Its index in [`Job::objects`].
    pub index: usize,
    pub name: String,
    /// Every program of the object, in the object's order.
    pub programs: Vec<ProgramInfo>,
    /// Set when libbpf could not open the object (or crashed doing so); no `program`
    /// records follow then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

/// A program as libbpf sees it after opening the object.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProgramInfo {
    /// The program's name (its ELF symbol).
    pub name: String,
    /// Its ELF section (`kprobe/do_nanosleep`).
    pub section: String,
    /// libbpf's name of its program type (`kprobe`, `tracing`, `lsm`, ...).
    pub prog_type: String,
}

/// A failure with libbpf's own words.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Failure {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno: Option<i32>,
    pub message: String,
    /// libbpf's warnings, condensed (see [`ProgramRecord::log`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<String>,
}

/// What happened to one program, loaded alone: the object opened afresh, every other
/// program set not to load.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProgramRecord {
    /// The object's index in [`Job::objects`].
    pub object: usize,
    pub name: String,
    pub section: String,
    pub prog_type: String,
    pub load: Load,
    pub attach: Attach,
    /// How many times the program ran during the workload (`run_cnt` of its
    /// `bpf_prog_info`, counted because the guest enables `kernel.bpf_stats_enabled`);
    /// absent when it was not attached or the workload did not finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
    /// The total time it ran (`run_time_ns`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_time_ns: Option<u64>,
    /// Set when the loader died after attaching (during the workload or while reading the
    /// counters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_died: Option<Died>,
    /// Maps declared with `max_entries` 0 that the guest sized (libbpf sizes perf event
    /// arrays itself; local-storage maps must stay 0).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maps_resized: Vec<MapResize>,
    /// Maps the kernel refused to create (libbpf: `map 'X': failed to create`): the load
    /// was retried without them, so the program fails only if it uses one of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maps_not_created: Vec<String>,
    /// Kernel functions (kfunc externs) the kernel lacks, which libbpf would refuse for the
    /// whole object: the load was retried with them made weak externs, so the program fails
    /// only if it calls one of them (the verifier then says `kfunc 'X' is referenced but
    /// wasn't resolved`). A libbpf tool loading the whole object fails on such a kernel.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub externs_weakened: Vec<String>,
    /// libbpf's warnings: every line (at most 40) outside a verifier log, and the last 30
    /// lines of each verifier log, each line cut at 400 bytes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<String>,
    /// Wall-clock milliseconds spent on this program in the guest.
    pub ms: u64,
}

/// The load step (`bpf_object__load` with only this program set to load).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Load {
    Ok,
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        errno: Option<i32>,
        message: String,
    },
    /// Not loaded, for the reason given (libbpf cannot load it without a target the tool
    /// would set).
    Skipped {
        reason: Reason,
    },
    /// The loader process died during the load (the verifier or libbpf crashed or hung).
    Died(Died),
}

/// The attach step.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Attach {
    Ok,
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        errno: Option<i32>,
        message: String,
    },
    NotAttached {
        reason: Reason,
    },
    Died(Died),
}

/// Why a step was not taken.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The load failed.
    LoadFailed,
    /// The program attaches to something the tool chooses: a user-space binary (uprobe,
    /// usdt), an interface (xdp, tc), a cgroup, a socket, a perf event, another program.
    NeedsTarget,
    /// The section names no target (`SEC("kprobe")`, `SEC("fentry")`): the tool sets it at
    /// run time.
    TargetSetAtRunTime,
    /// The program is run on demand (`BPF_PROG_TYPE_SYSCALL`), not attached.
    RunsOnDemand,
    /// libbpf has no automatic attachment for the section.
    NoAutoAttach,
    /// An earlier step died.
    NotReached,
}

/// How the loader process of a program ended abnormally; exactly one field is set.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Died {
    /// Killed by this signal (a crash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// Exited with this non-zero status (101: a panic of the guest's own code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Killed after this deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

impl std::fmt::Display for Died {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(s) = self.signal {
            write!(f, "killed by signal {s}")
        } else if let Some(t) = self.timeout_ms {
            write!(f, "timed out after {t} ms")
        } else {
            write!(f, "exited with status {}", self.exit_code.unwrap_or(-1))
        }
    }
}

/// A map given a size by the guest.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct MapResize {
    pub map: String,
    pub max_entries: u32,
    /// The value size given where the object left it to the tool (stack maps), in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_size: Option<u32>,
}

/// Which helpers each program type may call, as the verifier answers.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HelperTable {
    /// `__BPF_FUNC_MAX_ID` of the kernel's `enum bpf_func_id`; helpers 1 to this minus one
    /// were probed.
    pub max_helper_id: u32,
    /// Helper names by id (`map_lookup_elem` for 1), from the kernel's BTF.
    pub helper_names: Vec<String>,
    /// Every program type of the kernel's `enum bpf_prog_type` but `unspec`.
    pub prog_types: Vec<ProgTypeHelpers>,
    /// How long the probe took in the guest.
    pub ms: u64,
    /// Why there is no table (no kernel BTF, the probe crashed or timed out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The version of the libbpf that probed it (`1.7`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub libbpf: Option<String>,
}

/// The helpers of one program type.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProgTypeHelpers {
    /// Its value in `enum bpf_prog_type`.
    pub id: u32,
    /// Lower case, without `BPF_PROG_TYPE_` (`kprobe`, `sched_cls`).
    pub name: String,
    /// Whether the kernel loads a program of this type (`libbpf_probe_bpf_prog_type`).
    pub supported: bool,
    /// The helper ids the verifier accepts for this type (`libbpf_probe_bpf_helper`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub helpers: Vec<u32>,
    /// Why the type or its helpers could not be probed (libbpf cannot probe types that
    /// need an attach target: tracing, lsm, ext, struct_ops).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The traceability of the functions the job named.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FunctionsRecord {
    pub functions: Vec<FunctionStatus>,
    /// How many lines available_filter_functions has (absent when it could not be read).
    pub available_filter_functions: Option<u64>,
    /// How many functions the kprobe blacklist has (absent when it could not be read).
    pub kprobe_blacklist: Option<u64>,
    /// Files that could not be read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FunctionStatus {
    pub name: String,
    /// In available_filter_functions: ftrace can patch it (fentry/fexit, ftrace-based
    /// kprobes).
    pub ftrace: bool,
    /// In /sys/kernel/debug/kprobes/blacklist: kprobes refuse it.
    pub kprobe_blacklisted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOB: &str = include_str!("../tests/protocol/job.json");
    const RECORDS: &str = include_str!("../tests/protocol/records.jsonl");

    /// The documented examples parse into these types and serialise back to the same JSON
    /// (the guest's copy of the types passes the same test).
    #[test]
    fn examples_round_trip() {
        let job: Job = serde_json::from_str(JOB).unwrap();
        assert_eq!(job.protocol, PROTOCOL_VERSION);
        assert_eq!(
            serde_json::to_value(&job).unwrap(),
            serde_json::from_str::<serde_json::Value>(JOB).unwrap()
        );
        let mut kinds = std::collections::BTreeSet::new();
        for line in RECORDS.lines().filter(|l| !l.trim().is_empty()) {
            let r: Record = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            let v = serde_json::to_value(&r).unwrap();
            kinds.insert(v["record"].as_str().unwrap().to_string());
            assert_eq!(v, serde_json::from_str::<serde_json::Value>(line).unwrap());
        }
        assert_eq!(kinds.len(), 9, "{kinds:?}");
    }

    #[test]
    fn shapes_are_as_documented() {
        let r = Record::Program(ProgramRecord {
            object: 0,
            name: "p".into(),
            section: "kprobe".into(),
            prog_type: "kprobe".into(),
            load: Load::Ok,
            attach: Attach::NotAttached {
                reason: Reason::TargetSetAtRunTime,
            },
            events: None,
            run_time_ns: None,
            workload_died: None,
            maps_resized: vec![],
            maps_not_created: vec![],
            externs_weakened: vec![],
            log: vec![],
            ms: 3,
        });
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"record":"program","object":0,"name":"p","section":"kprobe","prog_type":"kprobe","load":{"result":"ok"},"attach":{"result":"not_attached","reason":"target_set_at_run_time"},"ms":3}"#
        );
        let d = Load::Died(Died {
            signal: Some(11),
            ..Died::default()
        });
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"result":"died","signal":11}"#
        );
        // Unknown fields from a newer guest are ignored, missing optional ones default.
        let r: Record =
            serde_json::from_str(r#"{"record":"done","uptime_ms":5,"extra":true}"#).unwrap();
        assert_eq!(r, Record::Done { uptime_ms: 5 });
        // A record of an unknown kind is an error the reader reports.
        assert!(serde_json::from_str::<Record>(r#"{"record":"nonsense"}"#).is_err());
    }
}
