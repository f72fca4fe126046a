//! One verification: a kernel booted with a set of objects, turned into a typed result and
//! cached.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::guest::Guest;
use crate::kernel::{BootKernel, sha256_hex};
use crate::protocol::{
    Failure, FunctionsRecord, HelperTable, Job, JobObject, KernelFacts, PROTOCOL_VERSION,
    ProgramInfo, ProgramRecord, Record,
};
use crate::qemu::{self, Accel, BootSpec, Ended};

/// An eBPF object to load.
#[derive(Clone, Debug)]
pub struct ObjectInput {
    /// The name results are reported under (usually the file name).
    pub name: String,
    pub bytes: Vec<u8>,
    /// The programs to try, by name; `None` for all.
    pub programs: Option<Vec<String>>,
}

impl ObjectInput {
    /// Reads an object file; its name is the file name.
    pub fn from_file(path: &Path) -> Result<ObjectInput> {
        let bytes = std::fs::read(path).map_err(|e| Error::Object {
            name: path.display().to_string(),
            problem: e.to_string(),
        })?;
        if !bytes.starts_with(b"\x7fELF") {
            return Err(Error::Object {
                name: path.display().to_string(),
                problem: "not an ELF file (an eBPF object is one)".into(),
            });
        }
        Ok(ObjectInput {
            name: path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            bytes,
            programs: None,
        })
    }
}

/// What to do besides loading the objects, and how.
#[derive(Clone, Debug)]
pub struct Options {
    /// Probe the helper table (every program type × every helper id; minutes under TCG).
    pub helper_table: bool,
    /// Kernel functions whose traceability to report.
    pub functions: Vec<String>,
    /// Also return ftrace's whole available_filter_functions list.
    pub filter_functions_list: bool,
    /// Wall-clock limit for the boot; `None` picks one from the work asked for.
    pub timeout: Option<Duration>,
    /// Limit for one program in the guest (load, attach, workload).
    pub program_timeout: Duration,
    /// Force an accelerator; `None` uses `DEPSURF_QEMU_ACCEL` or detects (KVM when it
    /// works, else TCG).
    pub accel: Option<Accel>,
    pub memory_mib: u32,
    pub cpus: u32,
    /// Appended to the kernel command line (`lsm=...,bpf` to enable BPF LSM on a kernel
    /// that has it built in but not active).
    pub extra_kernel_args: Vec<String>,
    /// `max_entries` for maps declared with 0 that libbpf does not size itself.
    pub default_max_entries: u32,
    /// The same for ring buffers, in bytes.
    pub default_ringbuf_bytes: u32,
    /// How the result cache is used.
    pub cache: CachePolicy,
    /// gzip the initramfs.
    pub gzip_initramfs: bool,
    /// Boot the uncompressed ELF vmlinux through its PVH entry when the kernel has one
    /// (faster: the boot image's decompressor is slow under emulation); `false` always
    /// boots the boot image.
    pub pvh_boot: bool,
    /// Keep the run directory (initramfs, console log, result port) here instead of a
    /// temporary directory.
    pub keep_dir: Option<PathBuf>,
    /// Modules of the kernel's package to load before the objects (with those they depend
    /// on, from each module's `.modinfo`), by name (`tcp_bbr`).
    pub modules: Vec<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            helper_table: false,
            functions: Vec::new(),
            filter_functions_list: false,
            timeout: None,
            program_timeout: Duration::from_secs(60),
            accel: None,
            memory_mib: 1024,
            cpus: 1,
            extra_kernel_args: Vec::new(),
            default_max_entries: 1024,
            default_ringbuf_bytes: 256 << 10,
            cache: CachePolicy::Use,
            gzip_initramfs: false,
            pvh_boot: true,
            keep_dir: None,
            modules: Vec::new(),
        }
    }
}

/// How [`Verifier::run`] uses the result cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CachePolicy {
    /// Return a cached result when there is one; store completed results.
    Use,
    /// Always boot; store the completed result.
    Refresh,
    /// Always boot; store nothing.
    Off,
}

/// How the boot went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The guest reported everything and powered off.
    Completed,
    /// The wall-clock limit was reached first.
    TimedOut,
    /// The kernel panicked (the console shows `Kernel panic`).
    KernelPanic,
    /// QEMU exited without the guest's `done` record and without a visible panic.
    Stopped,
}

/// The results for one object, in the order the objects were given.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ObjectResult {
    pub name: String,
    /// Every program of the object, as libbpf listed it in the guest.
    pub listed: Vec<ProgramInfo>,
    /// Why the object could not be opened (then `programs` is empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
    /// One entry per program tried.
    pub programs: Vec<ProgramRecord>,
}

/// Times measured for one boot.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Timings {
    /// From QEMU's start to the guest's first record, host clock.
    pub boot_ms: Option<u64>,
    /// The guest kernel's uptime when its `/init` started.
    pub guest_uptime_at_start_ms: Option<u64>,
    /// The guest kernel's uptime at its `done` record.
    pub guest_uptime_at_done_ms: Option<u64>,
    /// The whole boot, host clock (QEMU start to exit).
    pub total_ms: u64,
}

/// Everything one boot told.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Verification {
    pub outcome: Outcome,
    pub accel: Accel,
    /// Whether the kernel was booted as an ELF through its PVH entry (else as the boot
    /// image).
    pub pvh_boot: bool,
    /// Why KVM was not used although /dev/kvm exists (it stayed silent), if so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accel_note: Option<String>,
    /// The boot image's SHA-256.
    pub kernel_sha256: String,
    pub kernel: Option<KernelFacts>,
    /// Setup steps in the guest that failed (a mount, a sysctl).
    pub setup_problems: Vec<SetupProblem>,
    pub objects: Vec<ObjectResult>,
    pub helpers: Option<HelperTable>,
    pub functions: Option<FunctionsRecord>,
    pub filter_functions: Option<Vec<String>>,
    pub timings: Timings,
    /// The console's last lines when the outcome is not [`Outcome::Completed`].
    pub console_tail: Vec<String>,
    /// Records the host could not parse (a guest bug; kept for diagnosis).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unparsed: Vec<String>,
    /// True when this result came from the cache (no boot happened).
    #[serde(default)]
    pub from_cache: bool,
    /// The modules put in the initramfs for the guest to load, in load order; one that
    /// failed is in `setup_problems` (`load module PATH`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<ModuleLoad>,
}

/// A module the guest was given.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ModuleLoad {
    pub name: String,
    /// Its path in the initramfs, as `load module` problems name it.
    pub path: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SetupProblem {
    pub step: String,
    pub error: String,
}

/// Counts over all programs of a verification.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub tried: usize,
    pub loaded: usize,
    pub load_failed: usize,
    pub attached: usize,
    pub attach_failed: usize,
    /// Programs that ran at least once during the workload.
    pub with_events: usize,
    /// The sum of all programs' run counts.
    pub events: u64,
}

impl Verification {
    pub fn summary(&self) -> Summary {
        use crate::protocol::{Attach, Load};
        let mut s = Summary::default();
        for p in self.objects.iter().flat_map(|o| &o.programs) {
            s.tried += 1;
            match p.load {
                Load::Ok => s.loaded += 1,
                Load::Error { .. } | Load::Died(_) => s.load_failed += 1,
                Load::Skipped { .. } => {}
            }
            match p.attach {
                Attach::Ok => s.attached += 1,
                Attach::Error { .. } | Attach::Died(_) => s.attach_failed += 1,
                Attach::NotAttached { .. } => {}
            }
            if let Some(e) = p.events {
                s.events += e;
                s.with_events += usize::from(e > 0);
            }
        }
        s
    }
}

/// Runs verifications; shareable between threads (`&Verifier` is `Sync`), one boot per
/// call.
pub struct Verifier {
    cache_dir: PathBuf,
    guest: Guest,
    /// Whether KVM was seen to work (`None`: not tried yet in this process).
    kvm_works: Mutex<Option<bool>>,
}

/// Where the verifier keeps its files.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Default: `$XDG_CACHE_HOME/depsurf/verify` (`~/.cache/depsurf/verify`).
    pub cache_dir: Option<PathBuf>,
    /// A prebuilt guest; default: `$DEPSURF_GUEST`, else built from source.
    pub guest: Option<PathBuf>,
}

/// The default cache directory: `$XDG_CACHE_HOME/depsurf/verify`, else
/// `$HOME/.cache/depsurf/verify`, else a directory under the system's temporary directory.
pub fn default_cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })
        .unwrap_or_else(std::env::temp_dir);
    base.join("depsurf").join("verify")
}

/// The cache key's inputs, hashed into the result file's name.
#[derive(Serialize)]
struct CacheKey<'a> {
    protocol: u32,
    kernel_sha256: &'a str,
    guest_sha256: &'a str,
    objects: Vec<(&'a str, String, &'a Option<Vec<String>>)>,
    helper_table: bool,
    functions: &'a [String],
    filter_functions_list: bool,
    program_timeout_ms: u64,
    extra_kernel_args: &'a [String],
    default_max_entries: u32,
    default_ringbuf_bytes: u32,
    cpus: u32,
    pvh_boot: bool,
    modules: &'a [String],
}

impl Verifier {
    /// Locates (or builds) the guest and prepares the cache directory. `progress` hears
    /// about a guest build, the only slow step here.
    pub fn new(config: Config, progress: &dyn Fn(&str)) -> Result<Verifier> {
        let cache_dir = config.cache_dir.unwrap_or_else(default_cache_dir);
        std::fs::create_dir_all(&cache_dir).map_err(|e| Error::io(&cache_dir, e))?;
        let guest = crate::guest::locate(config.guest.as_deref(), &cache_dir, progress)?;
        Ok(Verifier {
            cache_dir,
            guest,
            kvm_works: Mutex::new(None),
        })
    }

    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    pub fn guest(&self) -> &Guest {
        &self.guest
    }

    /// Prepares a kernel input (a package or a boot image) for booting.
    pub fn kernel(&self, input: &Path) -> Result<BootKernel> {
        crate::kernel::prepare(input, &self.cache_dir)
    }

    /// Boots `kernel` with `objects` and reports what happened, from the cache when the same
    /// kernel, objects, options and guest were run before (and completed).
    pub fn run(
        &self,
        kernel: &BootKernel,
        objects: &[ObjectInput],
        options: &Options,
    ) -> Result<Verification> {
        let object_hashes: Vec<String> = objects.iter().map(|o| sha256_hex(&o.bytes)).collect();
        let key = CacheKey {
            protocol: PROTOCOL_VERSION,
            kernel_sha256: &kernel.sha256,
            guest_sha256: &self.guest.sha256,
            objects: objects
                .iter()
                .zip(&object_hashes)
                .map(|(o, h)| (o.name.as_str(), h.clone(), &o.programs))
                .collect(),
            helper_table: options.helper_table,
            functions: &options.functions,
            filter_functions_list: options.filter_functions_list,
            program_timeout_ms: options.program_timeout.as_millis() as u64,
            extra_kernel_args: &options.extra_kernel_args,
            default_max_entries: options.default_max_entries,
            default_ringbuf_bytes: options.default_ringbuf_bytes,
            cpus: options.cpus,
            pvh_boot: options.pvh_boot && kernel.pvh_elf.is_some(),
            modules: &options.modules,
        };
        let key = sha256_hex(&serde_json::to_vec(&key).expect("plain data serialises"));
        let cache_file = self
            .cache_dir
            .join("results")
            .join(format!("{}.json", &key[..40]));
        if options.cache == CachePolicy::Use
            && let Ok(bytes) = std::fs::read(&cache_file)
            && let Ok(mut v) = serde_json::from_slice::<Verification>(&bytes)
        {
            v.from_cache = true;
            return Ok(v);
        }
        let v = self.boot_and_collect(kernel, objects, options)?;
        if options.cache != CachePolicy::Off && v.outcome == Outcome::Completed {
            let dir = cache_file.parent().expect("has a parent");
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            let json = serde_json::to_vec(&v).expect("plain data serialises");
            depsurf_image::atomic::write_atomic(&cache_file, &json)
                .map_err(|e| Error::io(&cache_file, e))?;
        }
        Ok(v)
    }

    fn boot_and_collect(
        &self,
        kernel: &BootKernel,
        objects: &[ObjectInput],
        options: &Options,
    ) -> Result<Verification> {
        if !qemu::qemu_installed(&kernel.arch) {
            return Err(Error::Qemu(format!(
                "{} is not installed (Debian: apt-get install qemu-system-x86)",
                qemu::qemu_binary(&kernel.arch)
            )));
        }
        // The run directory: the initramfs, the console log and the result port's file.
        let tmp;
        let dir: &Path = match &options.keep_dir {
            Some(d) => {
                std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
                d
            }
            None => {
                tmp = tempfile::Builder::new()
                    .prefix("depsurf-verify-")
                    .tempdir()
                    .map_err(|e| Error::io(std::env::temp_dir(), e))?;
                tmp.path()
            }
        };
        let modules = if options.modules.is_empty() {
            Vec::new()
        } else {
            let release = kernel.release.as_deref().ok_or_else(|| Error::Kernel {
                input: kernel.input.display().to_string(),
                problem: "modules can be loaded only from a kernel package (its release names \
                          lib/modules/<release>)"
                    .into(),
            })?;
            crate::kernel::modules(&kernel.input, release, &options.modules)?
        };
        let module_paths: Vec<String> = modules
            .iter()
            .enumerate()
            .map(|(i, m)| format!("objects/m{i}-{}.ko", m.name))
            .collect();
        let job = Job {
            protocol: PROTOCOL_VERSION,
            modules: module_paths.iter().map(|p| format!("/{p}")).collect(),
            objects: objects
                .iter()
                .enumerate()
                .map(|(i, o)| JobObject {
                    name: o.name.clone(),
                    path: format!("/objects/{i}.bpf.o"),
                    programs: o.programs.clone(),
                })
                .collect(),
            helper_table: options.helper_table,
            functions: options.functions.clone(),
            filter_functions_list: options.filter_functions_list,
            program_timeout_ms: options.program_timeout.as_millis() as u64,
            helper_table_timeout_ms: 1_800_000,
            default_max_entries: options.default_max_entries,
            default_ringbuf_bytes: options.default_ringbuf_bytes,
        };
        let job_json = serde_json::to_vec_pretty(&job).expect("plain data serialises");
        let init = std::fs::read(&self.guest.path).map_err(|e| Error::io(&self.guest.path, e))?;
        let mut libraries = Vec::new();
        for lib in &self.guest.libraries {
            let bytes = std::fs::read(lib).map_err(|e| Error::io(lib, e))?;
            libraries.push((lib.clone(), bytes));
        }
        let object_files: Vec<(String, &[u8])> = objects
            .iter()
            .enumerate()
            .map(|(i, o)| (format!("objects/{i}.bpf.o"), o.bytes.as_slice()))
            .chain(
                module_paths
                    .iter()
                    .zip(&modules)
                    .map(|(p, m)| (p.clone(), m.bytes.as_slice())),
            )
            .collect();
        let initrd_bytes = crate::initramfs::build(
            &crate::initramfs::Contents {
                init: &init,
                libraries: &libraries,
                objects: &object_files,
                job: &job_json,
            },
            options.gzip_initramfs,
        )
        .map_err(|e| Error::Guest(format!("building the initramfs: {e}")))?;
        let initrd = dir.join("initramfs.cpio");
        std::fs::write(&initrd, &initrd_bytes).map_err(|e| Error::io(&initrd, e))?;

        let timeout = options
            .timeout
            .unwrap_or_else(|| default_timeout(objects, options));
        let pvh = kernel.pvh_elf.as_ref().filter(|_| options.pvh_boot);
        let mut spec = BootSpec {
            arch: kernel.arch.clone(),
            kernel: pvh.unwrap_or(&kernel.image).clone(),
            initrd,
            extra_append: options.extra_kernel_args.clone(),
            memory_mib: options.memory_mib,
            cpus: options.cpus,
            accel: Accel::Tcg,
            timeout,
            silence_limit: None,
            results: dir.join("results.jsonl"),
            console_log: dir.join("console.log"),
        };
        let (accel, probing) = self.choose_accel(options.accel)?;
        spec.accel = accel;
        let mut accel_note = None;
        if probing {
            spec.silence_limit = Some(KVM_SILENCE);
        }
        let mut out = qemu::boot(&spec)?;
        if probing {
            // KVM that does not work either stays silent (nested virtualisation that
            // hangs) or makes QEMU fail before the kernel prints anything (a CPU model
            // the host's KVM cannot set up).
            let silent = out.ended == Ended::NoConsoleOutput;
            let failed = matches!(out.ended, Ended::Exited { .. })
                && out.console_bytes == 0
                && out.results.is_empty();
            let works = !silent && !failed;
            *self.kvm_works.lock().unwrap_or_else(|e| e.into_inner()) = Some(works);
            if !works {
                accel_note = Some(if silent {
                    format!(
                        "KVM showed no console output within {} s: booted again under TCG",
                        KVM_SILENCE.as_secs()
                    )
                } else {
                    format!(
                        "QEMU failed under KVM before the kernel printed anything ({}): booted \
                         again under TCG",
                        first_line(&out.qemu_stderr)
                    )
                });
                spec.accel = Accel::Tcg;
                spec.silence_limit = None;
                out = qemu::boot(&spec)?;
            }
        }
        let mut records = out.results.clone();
        records.extend(qemu::console_records(&spec.console_log));
        let mut v = collect(&records, objects)?;
        v.accel = spec.accel;
        v.pvh_boot = pvh.is_some();
        v.accel_note = accel_note;
        v.kernel_sha256 = kernel.sha256.clone();
        v.modules = modules
            .iter()
            .zip(&module_paths)
            .map(|(m, p)| ModuleLoad {
                name: m.name.clone(),
                path: format!("/{p}"),
            })
            .collect();
        v.timings.boot_ms = out.first_record.map(|d| d.as_millis() as u64);
        v.timings.total_ms = out.elapsed.as_millis() as u64;
        let done = v.timings.guest_uptime_at_done_ms.is_some();
        v.outcome = if done {
            Outcome::Completed
        } else if out.panicked {
            Outcome::KernelPanic
        } else if out.ended == Ended::TimedOut {
            Outcome::TimedOut
        } else {
            Outcome::Stopped
        };
        if v.outcome != Outcome::Completed {
            v.console_tail = out.console_tail;
            if !out.qemu_stderr.trim().is_empty() {
                v.console_tail
                    .push(format!("[qemu] {}", out.qemu_stderr.trim()));
            }
        }
        Ok(v)
    }

    /// The accelerator to use, and whether KVM is being tried for the first time (then the
    /// boot watches for a silent console).
    fn choose_accel(&self, forced: Option<Accel>) -> Result<(Accel, bool)> {
        let forced = match forced {
            Some(a) => Some(a),
            None => match std::env::var(qemu::ACCEL_ENV) {
                Ok(s) if !s.trim().is_empty() => Some(Accel::parse(&s).ok_or_else(|| {
                    Error::Qemu(format!("{}={s:?}: expected kvm or tcg", qemu::ACCEL_ENV))
                })?),
                _ => None,
            },
        };
        if let Some(a) = forced {
            if a == Accel::Kvm && !qemu::kvm_available() {
                return Err(Error::Qemu(
                    "KVM was asked for but /dev/kvm cannot be opened".into(),
                ));
            }
            return Ok((a, false));
        }
        if !qemu::kvm_available() {
            return Ok((Accel::Tcg, false));
        }
        match *self.kvm_works.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(true) => Ok((Accel::Kvm, false)),
            Some(false) => Ok((Accel::Tcg, false)),
            None => Ok((Accel::Kvm, true)),
        }
    }
}

fn first_line(s: &str) -> &str {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .trim()
}

/// How long a first KVM boot may keep the console silent before KVM is judged not to work.
/// A working KVM prints the kernel's banner within a second.
pub const KVM_SILENCE: Duration = Duration::from_secs(8);

/// The wall-clock limit when none is given: room for a slow TCG boot plus the work.
fn default_timeout(objects: &[ObjectInput], options: &Options) -> Duration {
    let mut secs = 180 + 60 * objects.len() as u64;
    if options.helper_table {
        secs += 1200;
    }
    if options.filter_functions_list || !options.functions.is_empty() {
        secs += 60;
    }
    Duration::from_secs(secs)
}

/// Turns the result port's lines into a [`Verification`] (outcome and timings are the
/// caller's to fill).
fn collect(records: &[u8], objects: &[ObjectInput]) -> Result<Verification> {
    let mut v = Verification {
        outcome: Outcome::Stopped,
        accel: Accel::Tcg,
        pvh_boot: false,
        accel_note: None,
        kernel_sha256: String::new(),
        kernel: None,
        setup_problems: Vec::new(),
        objects: objects
            .iter()
            .map(|o| ObjectResult {
                name: o.name.clone(),
                listed: Vec::new(),
                error: None,
                programs: Vec::new(),
            })
            .collect(),
        helpers: None,
        functions: None,
        filter_functions: None,
        timings: Timings::default(),
        console_tail: Vec::new(),
        unparsed: Vec::new(),
        from_cache: false,
        modules: Vec::new(),
    };
    for raw in records.split(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(raw);
        let line = line.trim_matches(|c: char| c == '\r' || c == '\0' || c.is_whitespace());
        if line.is_empty() {
            continue;
        }
        let record: Record = match serde_json::from_str(line) {
            Ok(r) => r,
            Err(_) => {
                if v.unparsed.len() < 20 {
                    let mut l = line.to_string();
                    if l.len() > 300 {
                        let mut end = 300;
                        while !l.is_char_boundary(end) {
                            end -= 1;
                        }
                        l.truncate(end);
                    }
                    v.unparsed.push(l);
                }
                continue;
            }
        };
        match record {
            Record::Hello {
                protocol,
                uptime_ms,
            } => {
                if protocol != PROTOCOL_VERSION {
                    return Err(Error::Protocol {
                        guest: protocol,
                        host: PROTOCOL_VERSION,
                    });
                }
                v.timings.guest_uptime_at_start_ms = Some(uptime_ms);
            }
            Record::Kernel(k) => v.kernel = Some(k),
            Record::Setup { step, error } => v.setup_problems.push(SetupProblem { step, error }),
            Record::Object(o) => {
                if let Some(slot) = v.objects.get_mut(o.index) {
                    slot.listed = o.programs;
                    slot.error = o.error;
                }
            }
            Record::Program(p) => {
                if let Some(slot) = v.objects.get_mut(p.object) {
                    slot.programs.push(p);
                }
            }
            Record::Helpers(h) => v.helpers = Some(h),
            Record::Functions(f) => v.functions = Some(f),
            Record::FilterFunctions { names } => v.filter_functions = Some(names),
            Record::Done { uptime_ms } => v.timings.guest_uptime_at_done_ms = Some(uptime_ms),
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(name: &str) -> ObjectInput {
        ObjectInput {
            name: name.into(),
            bytes: b"\x7fELF".to_vec(),
            programs: None,
        }
    }

    #[test]
    fn records_become_a_verification() {
        let records = include_str!("../tests/protocol/records.jsonl");
        let objects = [
            obj("core_fields.bpf.o"),
            obj("attach_kinds.bpf.o"),
            obj("broken.bpf.o"),
        ];
        let mut bytes = b"garbage line\r\n".to_vec();
        bytes.extend_from_slice(records.replace('\n', "\r\n").as_bytes());
        let v = collect(&bytes, &objects).unwrap();
        assert_eq!(v.unparsed, ["garbage line"]);
        assert_eq!(v.timings.guest_uptime_at_start_ms, Some(2312));
        assert_eq!(v.timings.guest_uptime_at_done_ms, Some(58200));
        assert_eq!(v.kernel.as_ref().unwrap().release, "6.1.0-47-amd64");
        assert_eq!(v.setup_problems.len(), 1);
        assert_eq!(v.objects[0].listed.len(), 1);
        assert_eq!(v.objects[0].programs.len(), 1);
        assert_eq!(v.objects[1].programs.len(), 7);
        assert!(
            v.objects[2]
                .error
                .as_ref()
                .unwrap()
                .message
                .contains("cannot open")
        );
        assert_eq!(v.helpers.as_ref().unwrap().max_helper_id, 212);
        assert_eq!(v.functions.as_ref().unwrap().functions.len(), 2);
        assert_eq!(v.filter_functions.as_ref().unwrap().len(), 2);
        let s = v.summary();
        assert_eq!(
            s,
            Summary {
                tried: 8,
                loaded: 5,
                load_failed: 2,
                attached: 3,
                attach_failed: 1,
                with_events: 2,
                events: 4,
            }
        );
    }

    #[test]
    fn another_protocol_is_refused() {
        let e = collect(
            b"{\"record\":\"hello\",\"protocol\":99,\"uptime_ms\":1}\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("protocol 99"), "{e}");
    }

    #[test]
    fn objects_must_be_elf() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.bpf.o");
        std::fs::write(&p, "not elf").unwrap();
        let e = ObjectInput::from_file(&p).unwrap_err().to_string();
        assert!(e.contains("x.bpf.o") && e.contains("not an ELF"), "{e}");
    }
}
