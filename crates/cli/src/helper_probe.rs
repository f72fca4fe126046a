//! Which helpers each program type may call on the running kernel, asked of the kernel
//! itself, for `check --kernel running`. The kernel decides this in code (its
//! `*_func_proto()` functions), so the only way to know is to try: per program type, a
//! program of two instructions (call helper N; exit) is loaded with the bpf(2) system call.
//! The verifier refuses a helper the type may not call by name ("unknown func", "invalid
//! func", "program of this type cannot use helper"); any other outcome (loaded, or refused
//! later for the helper's arguments or its return value) means the call itself was allowed.
//! This is the question `bpftool feature probe` and `depsurf verify --record-helpers` ask.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use depsurf_check::HelperTable;

const BPF_PROG_LOAD: libc::c_long = 5;
/// `BPF_F_SLEEPABLE`: syscall programs are loaded sleepable.
const BPF_F_SLEEPABLE: u32 = 1 << 4;

/// The first fields of `union bpf_attr` for `BPF_PROG_LOAD` (the kernel zero-fills the rest).
#[repr(C)]
#[derive(Default)]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// Program types the probe leaves out: they load only with a target (a kernel function, a
/// struct_ops member, another program), which a probe does not have.
const NEEDS_TARGET: [&str; 4] = ["TRACING", "LSM", "EXT", "STRUCT_OPS"];

/// The attach type a program type must name to load at all (by `enum bpf_attach_type`
/// name, looked up in the kernel's own enum).
fn attach_type_for(prog_type: &str) -> Option<&'static str> {
    Some(match prog_type {
        "CGROUP_SOCK_ADDR" => "BPF_CGROUP_INET4_CONNECT",
        "CGROUP_SOCKOPT" => "BPF_CGROUP_GETSOCKOPT",
        "SK_LOOKUP" => "BPF_SK_LOOKUP",
        "NETFILTER" => "BPF_NETFILTER",
        _ => return None,
    })
}

/// The kernel's own enums the probe needs, as (name, value), from its BTF.
pub struct KernelEnums {
    pub funcs: Vec<(String, i64)>,
    pub prog_types: Vec<(String, i64)>,
    pub attach_types: Vec<(String, i64)>,
}

impl KernelEnums {
    /// Those of image `id` of `ds` (empty where the image lacks one).
    pub fn of(ds: &depsurf_surface::Dataset, id: &str) -> anyhow::Result<KernelEnums> {
        let e = |name: &str| -> anyhow::Result<Vec<(String, i64)>> {
            Ok(depsurf_check::kernel_enum(ds, id, name)
                .map_err(|e| anyhow::anyhow!(e))?
                .unwrap_or_default())
        };
        Ok(KernelEnums {
            funcs: e("bpf_func_id")?,
            prog_types: e("bpf_prog_type")?,
            attach_types: e("bpf_attach_type")?,
        })
    }

    /// `__BPF_FUNC_MAX_ID`: helper ids below it exist (else one past the highest).
    fn max_helper(&self) -> u32 {
        self.funcs
            .iter()
            .find(|(n, _)| n == "__BPF_FUNC_MAX_ID")
            .map(|(_, v)| *v)
            .unwrap_or_else(|| self.funcs.iter().map(|(_, v)| v + 1).max().unwrap_or(0))
            .clamp(0, 100_000) as u32
    }

    /// How a program of type `short` (`KPROBE`) is loaded: its attach type and flags;
    /// `None` when it needs an attach type this kernel does not have.
    fn load_params(&self, short: &str) -> Option<(u32, u32)> {
        let attach = match attach_type_for(short) {
            Some(a) => self
                .attach_types
                .iter()
                .find(|(n, _)| n == a)
                .map(|(_, v)| *v as u32)?,
            None => 0,
        };
        let flags = if short == "SYSCALL" {
            BPF_F_SLEEPABLE
        } else {
            0
        };
        Some((attach, flags))
    }
}

/// What the probe found: the table, the types it could not load at all, and how long.
pub struct Probed {
    pub table: HelperTable,
    pub not_loadable: Vec<String>,
    pub ms: u128,
}

/// How one load ended.
enum Load {
    Ok,
    /// The verifier refused the helper by name.
    HelperRefused,
    /// Refused for another reason (errno and the verifier's log).
    Other(i32, String),
}

struct Loader {
    log: Vec<u8>,
    kern_version: u32,
}

impl Loader {
    fn new(release: &str) -> Loader {
        Loader {
            log: vec![0; 64 * 1024],
            kern_version: version_code(release),
        }
    }

    /// The verifier's log of the last load, up to its terminating NUL.
    fn last_log(&self) -> String {
        let end = self
            .log
            .iter()
            .position(|b| *b == 0)
            .unwrap_or(self.log.len());
        String::from_utf8_lossy(&self.log[..end]).into_owned()
    }

    fn load(&mut self, prog_type: u32, attach: u32, flags: u32, insns: &[u64]) -> Load {
        const LICENSE: &[u8] = b"GPL\0";
        // The kernel writes its log NUL-terminated: clearing the first byte empties it.
        self.log[0] = 0;
        let attr = ProgLoad {
            prog_type,
            insn_cnt: insns.len() as u32,
            insns: insns.as_ptr() as u64,
            license: LICENSE.as_ptr() as u64,
            log_level: 1,
            log_size: self.log.len() as u32,
            log_buf: self.log.as_mut_ptr() as u64,
            kern_version: self.kern_version,
            prog_flags: flags,
            expected_attach_type: attach,
            ..Default::default()
        };
        // SAFETY: `attr` is a valid BPF_PROG_LOAD attribute whose pointers (instructions,
        // license, log buffer) outlive the call; its size is passed.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                BPF_PROG_LOAD,
                &attr as *const ProgLoad,
                std::mem::size_of::<ProgLoad>(),
            )
        };
        if fd >= 0 {
            // SAFETY: a descriptor the kernel just gave us, closed once.
            unsafe { libc::close(fd as libc::c_int) };
            return Load::Ok;
        }
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        let log = self.last_log();
        if log.contains("unknown func ")
            || log.contains("invalid func ")
            || log.contains("cannot use helper ")
        {
            Load::HelperRefused
        } else {
            Load::Other(errno, log)
        }
    }
}

/// `call helper; exit`.
fn call(helper: u32) -> [u64; 2] {
    [0x85 | (u64::from(helper) << 32), 0x95]
}

/// `r0 = 0; exit`: loads for every type the kernel has.
const RETURN_0: [u64; 2] = [0xb7, 0x95];

/// `LINUX_VERSION_CODE` of a release such as `6.1.0-47-amd64` (kprobe programs of old
/// kernels had to name it).
fn version_code(release: &str) -> u32 {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u32>().unwrap_or(0));
    let (a, b, c) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    (a << 16) | (b.min(255) << 8) | c.min(255)
}

/// Probes the running kernel, whose enums are `k` and release `release`. An error when this
/// process may not load programs at all (not root, no CAP_BPF, or unprivileged BPF
/// restricted).
pub fn probe(k: &KernelEnums, release: &str) -> Result<Probed, String> {
    let start = Instant::now();
    let mut loader = Loader::new(release);
    let max_helper = k.max_helper();
    // A socket filter loads on every kernel with BPF: if it does not, nothing will.
    if let Load::Other(errno, log) = loader.load(1, 0, 0, &RETURN_0) {
        return Err(format!(
            "bpf(BPF_PROG_LOAD) of a minimal program fails: {}{}",
            std::io::Error::from_raw_os_error(errno),
            if log.is_empty() {
                String::new()
            } else {
                format!(" ({})", log.trim())
            }
        ));
    }
    let mut allowed = BTreeMap::new();
    let mut not_loadable = Vec::new();
    for (name, value) in &k.prog_types {
        let Some(short) = name.strip_prefix("BPF_PROG_TYPE_") else {
            continue;
        };
        if *value <= 0 || name.starts_with("__") || NEEDS_TARGET.contains(&short) {
            continue;
        }
        let Some((attach, flags)) = k.load_params(short) else {
            not_loadable.push(short.to_string());
            continue;
        };
        let ty = *value as u32;
        if !matches!(loader.load(ty, attach, flags, &RETURN_0), Load::Ok) {
            not_loadable.push(short.to_string());
            continue;
        }
        let set: BTreeSet<u32> = (1..max_helper)
            .filter(|h| {
                !matches!(
                    loader.load(ty, attach, flags, &call(*h)),
                    Load::HelperRefused
                )
            })
            .collect();
        allowed.insert(short.to_string(), set);
    }
    Ok(Probed {
        table: HelperTable { allowed },
        not_loadable,
        ms: start.elapsed().as_millis(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_codes() {
        assert_eq!(version_code("6.1.0-47-amd64"), (6 << 16) | (1 << 8));
        assert_eq!(version_code("5.10.262"), (5 << 16) | (10 << 8) | 255);
        assert_eq!(version_code("6.18.44-fc-v1045"), (6 << 16) | (18 << 8) | 44);
        assert_eq!(version_code(""), 0);
    }

    /// The running kernel, probed by us and by bpftool (libbpf's probe): the same helpers
    /// for every program type both probed, over the helper ids bpftool knows.
    #[test]
    fn the_running_kernel_answers_as_bpftool_does() {
        let required = std::env::var("DEPSURF_REQUIRE_TOOLS").as_deref() == Ok("1");
        let bpftool = std::process::Command::new("bpftool")
            .args(["feature", "probe", "kernel", "-j"])
            .output();
        let Ok(out) = bpftool.as_ref().map_err(|e| e.to_string()) else {
            assert!(!required, "bpftool is required (DEPSURF_REQUIRE_TOOLS=1)");
            eprintln!("SKIPPED: no bpftool");
            return;
        };
        if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() || !out.status.success() {
            eprintln!(
                "SKIPPED: this kernel has no BTF or bpftool cannot probe it: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return;
        }
        let (ds, live) = crate::check_cmd::kernel_dataset(&["running".to_string()]).unwrap();
        let k = KernelEnums::of(&ds, &live.unwrap().id).unwrap();
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        let probed = match probe(&k, release.trim()) {
            Ok(p) => p,
            Err(why) => {
                eprintln!("SKIPPED: this process may not load BPF programs: {why}");
                return;
            }
        };
        let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let by_name: BTreeMap<String, u32> = k
            .funcs
            .iter()
            .filter_map(|(n, v)| Some((format!("bpf_{}", n.strip_prefix("BPF_FUNC_")?), *v as u32)))
            .collect();
        let lists = theirs["helpers"].as_object().unwrap();
        // bpftool asks about the ids of its own headers: compare up to the highest it knows.
        let known = lists
            .values()
            .flat_map(|l| l.as_array().unwrap())
            .filter_map(|n| by_name.get(n.as_str().unwrap()))
            .max()
            .copied()
            .unwrap();
        // bpftool leaves out helpers whose load writes to the kernel log (trace_printk,
        // trace_vprintk, probe_write_user) unless asked for a full probe.
        let noisy: BTreeSet<u32> = [
            "bpf_trace_printk",
            "bpf_trace_vprintk",
            "bpf_probe_write_user",
        ]
        .iter()
        .filter_map(|n| by_name.get(*n).copied())
        .collect();
        let type_ids: BTreeMap<&str, u32> = k
            .prog_types
            .iter()
            .filter_map(|(n, v)| Some((n.strip_prefix("BPF_PROG_TYPE_")?, *v as u32)))
            .collect();
        let mut loader = Loader::new(release.trim());
        let (mut compared, mut agree, mut newer_message) = (0, 0, 0);
        let mut differ = Vec::new();
        for (ty, ours) in &probed.table.allowed {
            let key = format!("{}_available_helpers", ty.to_lowercase());
            let Some(list) = lists.get(&key).and_then(|l| l.as_array()) else {
                continue;
            };
            compared += 1;
            let theirs: BTreeSet<u32> = list
                .iter()
                .filter_map(|n| by_name.get(n.as_str().unwrap()).copied())
                .collect();
            for h in 1..=known {
                if noisy.contains(&h) {
                    continue;
                }
                match (ours.contains(&h), theirs.contains(&h)) {
                    (a, b) if a == b => agree += 1,
                    // bpftool 7.1's libbpf knows the verifier's older wordings only; newer
                    // kernels say "program of this type cannot use helper": ask again.
                    (false, true) => {
                        let (attach, flags) = k.load_params(ty).unwrap();
                        loader.load(type_ids[ty.as_str()], attach, flags, &call(h));
                        let log = loader.last_log();
                        if log.contains("program of this type cannot use helper") {
                            newer_message += 1;
                        } else {
                            differ.push(format!("{ty}: helper {h} refused by us only: {log}"));
                        }
                    }
                    (true, false) => differ.push(format!("{ty}: helper {h} allowed by us only")),
                    _ => unreachable!(),
                }
            }
        }
        eprintln!(
            "{compared} program types: {agree} answers as bpftool's, {newer_message} refusals \
             in the wording bpftool's libbpf does not know"
        );
        assert!(compared >= 20, "{compared} program types compared");
        assert!(differ.is_empty(), "{}", differ.join("\n"));
    }

    #[test]
    fn instructions() {
        // call 14 (bpf_get_current_pid_tgid): opcode 0x85, imm 14 in the high word.
        assert_eq!(call(14)[0].to_le_bytes(), [0x85, 0, 0, 0, 14, 0, 0, 0]);
        assert_eq!(RETURN_0[0].to_le_bytes(), [0xb7, 0, 0, 0, 0, 0, 0, 0]);
    }
}
