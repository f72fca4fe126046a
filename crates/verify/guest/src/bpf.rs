//! Loading and attaching one program of an object with libbpf, the way a libbpf-based tool
//! would, and reading how often it ran.

use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::ptr;
use std::sync::Mutex;
use std::time::Instant;

use libbpf_rs::PrintLevel;
use libbpf_sys as sys;

use crate::child::Pipe;
use crate::protocol::{Attach, Failure, Job, Load, MapResize, ProgramInfo, ProgramRecord, Reason};

// ---------------------------------------------------------------------------------------
// libbpf's messages

static MESSAGES: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn on_message(_level: PrintLevel, msg: String) {
    if let Ok(mut m) = MESSAGES.lock()
        && m.len() < 4096
    {
        m.push(msg);
    }
}

/// Routes libbpf's warnings (which include the verifier's log of a failed load) to a buffer
/// that [`take_log`] empties.
pub fn capture_libbpf_messages() {
    libbpf_rs::set_print(Some((PrintLevel::Warn, on_message)));
}

/// Lines of the verifier log kept from its end.
const VERIFIER_TAIL: usize = 30;
/// Other lines kept.
const OTHER_LINES: usize = 40;
/// Longest line kept, in bytes.
const LINE_MAX: usize = 400;

fn clip(line: &str) -> String {
    if line.len() <= LINE_MAX {
        return line.to_string();
    }
    let mut end = LINE_MAX;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &line[..end])
}

/// The captured messages, condensed: every line outside a verifier log (at most
/// [`OTHER_LINES`]), and the last [`VERIFIER_TAIL`] lines of each verifier log.
pub fn take_log() -> Vec<String> {
    let msgs = std::mem::take(&mut *MESSAGES.lock().unwrap_or_else(|e| e.into_inner()));
    condense(&msgs)
}

fn condense(msgs: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut other = 0usize;
    for msg in msgs {
        let mut verifier: Option<Vec<&str>> = None;
        for line in msg.lines() {
            if line.contains("-- BEGIN PROG LOAD LOG --") {
                out.push(clip(line));
                verifier = Some(Vec::new());
                continue;
            }
            if let Some(v) = verifier.as_mut() {
                if line.contains("-- END PROG LOAD LOG --") {
                    let skip = v.len().saturating_sub(VERIFIER_TAIL);
                    if skip > 0 {
                        out.push(format!("[{skip} earlier verifier log lines left out]"));
                    }
                    out.extend(v[skip..].iter().map(|l| clip(l)));
                    out.push(clip(line));
                    verifier = None;
                } else {
                    v.push(line);
                }
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            if other < OTHER_LINES {
                out.push(clip(line));
            } else if other == OTHER_LINES {
                out.push("[further libbpf messages left out]".into());
            }
            other += 1;
        }
        // A verifier log without its end marker (cut by libbpf's buffer).
        if let Some(v) = verifier {
            let skip = v.len().saturating_sub(VERIFIER_TAIL);
            out.extend(v[skip..].iter().map(|l| clip(l)));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Small wrappers

/// The words for an errno, libbpf's own codes (4000 and up: bad ELF, bad relocation, ...)
/// included.
fn errno_message(errno: i32) -> String {
    if (4000..4100).contains(&errno) {
        let mut buf = [0 as std::os::raw::c_char; 128];
        // SAFETY: a buffer of the size passed; libbpf NUL-terminates it.
        unsafe { sys::libbpf_strerror(errno, buf.as_mut_ptr(), buf.len() as _) };
        let s = c_string(buf.as_ptr());
        if !s.is_empty() {
            return format!("{s} (libbpf error {errno})");
        }
    }
    std::io::Error::from_raw_os_error(errno).to_string()
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn c_string(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: libbpf returns NUL-terminated strings that live as long as the object.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

pub fn prog_type_name(t: sys::bpf_prog_type) -> String {
    // SAFETY: returns a static string or NULL.
    let s = c_string(unsafe { sys::libbpf_bpf_prog_type_str(t) });
    if s.is_empty() { format!("type {t}") } else { s }
}

/// An opened object, closed on drop. Objects opened from memory keep their buffer, which
/// libbpf reads until the load.
struct Object {
    ptr: *mut sys::bpf_object,
    /// The bytes libbpf reads the object from.
    _buf: Vec<u8>,
}

impl Object {
    fn open(path: &str) -> Result<Object, Failure> {
        Object::open_patched(path, &[])
    }

    /// Opens the object at `path` with the undefined global symbols named in `weaken` made
    /// weak (see [`weaken_externs`]).
    fn open_patched(path: &str, weaken: &[String]) -> Result<Object, Failure> {
        let fail = |message: String| Failure {
            errno: None,
            message,
            log: Vec::new(),
        };
        let c =
            CString::new(path).map_err(|_| fail(format!("object path {path:?} contains NUL")))?;
        let mut bytes = std::fs::read(path).map_err(|e| fail(format!("{path}: {e}")))?;
        if !weaken.is_empty() {
            weaken_externs(&mut bytes, weaken);
        }
        // The object's name (which prefixes its internal maps' names) comes from the path,
        // as bpf_object__open_file would have it.
        let opts = sys::bpf_object_open_opts {
            sz: std::mem::size_of::<sys::bpf_object_open_opts>() as _,
            object_name: c.as_ptr(),
            ..Default::default()
        };
        // SAFETY: a valid buffer (kept alive with the object), its size, and options whose
        // strings outlive the call.
        let obj =
            unsafe { sys::bpf_object__open_mem(bytes.as_ptr().cast(), bytes.len() as _, &opts) };
        if obj.is_null() {
            let errno = last_errno();
            return Err(Failure {
                errno: Some(errno),
                message: format!("libbpf cannot open the object: {}", errno_message(errno)),
                log: take_log(),
            });
        }
        Ok(Object {
            ptr: obj,
            _buf: bytes,
        })
    }

    fn programs(&self) -> Vec<*mut sys::bpf_program> {
        let mut out = Vec::new();
        let mut p = ptr::null_mut();
        loop {
            // SAFETY: iterating the programs of a live object.
            p = unsafe { sys::bpf_object__next_program(self.ptr, p) };
            if p.is_null() {
                return out;
            }
            out.push(p);
        }
    }

    fn maps(&self) -> Vec<*mut sys::bpf_map> {
        let mut out = Vec::new();
        let mut m = ptr::null_mut();
        loop {
            // SAFETY: iterating the maps of a live object.
            m = unsafe { sys::bpf_object__next_map(self.ptr, m) };
            if m.is_null() {
                return out;
            }
            out.push(m);
        }
    }
}

impl Drop for Object {
    fn drop(&mut self) {
        // SAFETY: the object was opened by us and is closed once.
        unsafe { sys::bpf_object__close(self.ptr) };
    }
}

fn prog_info(p: *mut sys::bpf_program) -> ProgramInfo {
    // SAFETY: `p` belongs to a live object.
    unsafe {
        ProgramInfo {
            name: c_string(sys::bpf_program__name(p)),
            section: c_string(sys::bpf_program__section_name(p)),
            prog_type: prog_type_name(sys::bpf_program__type(p)),
        }
    }
}

/// The programs of an object, in the object's order.
pub fn list(path: &str) -> Result<Vec<ProgramInfo>, Failure> {
    let obj = Object::open(path)?;
    let progs = obj.programs().into_iter().map(prog_info).collect();
    let _ = take_log();
    Ok(progs)
}

/// Makes the undefined global symbols named in `names` weak, in place, in a 64-bit
/// little-endian ELF object (eBPF objects are; anything else is left alone). libbpf then
/// resolves a missing kernel function of that name to nothing instead of failing the whole
/// object, and the verifier refuses only a program that really calls it.
fn weaken_externs(elf: &mut [u8], names: &[String]) -> usize {
    fn rd<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
        b.get(off..off.checked_add(N)?)?.try_into().ok()
    }
    let u16_at = |b: &[u8], o: usize| rd::<2>(b, o).map(u16::from_le_bytes);
    let u32_at = |b: &[u8], o: usize| rd::<4>(b, o).map(u32::from_le_bytes);
    let u64_at = |b: &[u8], o: usize| rd::<8>(b, o).map(u64::from_le_bytes);
    const SHT_SYMTAB: u32 = 2;
    const STB_GLOBAL: u8 = 1;
    const STB_WEAK: u8 = 2;
    if elf.get(..6) != Some(b"\x7fELF\x02\x01") {
        return 0;
    }
    let Some((shoff, shentsize, shnum)) = (|| {
        Some((
            usize::try_from(u64_at(elf, 0x28)?).ok()?,
            usize::from(u16_at(elf, 0x3a)?),
            usize::from(u16_at(elf, 0x3c)?),
        ))
    })() else {
        return 0;
    };
    if shentsize < 64 {
        return 0;
    }
    let section = |i: usize| -> Option<(u32, usize, usize, u32, usize)> {
        let h = shoff.checked_add(i.checked_mul(shentsize)?)?;
        Some((
            u32_at(elf, h + 4)?,
            usize::try_from(u64_at(elf, h + 0x18)?).ok()?,
            usize::try_from(u64_at(elf, h + 0x20)?).ok()?,
            u32_at(elf, h + 0x28)?,
            usize::try_from(u64_at(elf, h + 0x38)?).ok()?,
        ))
    };
    let sections: Vec<_> = (0..shnum).map(section).collect();
    let mut weaken_at = Vec::new();
    for &(kind, off, size, link, entsize) in sections.iter().flatten() {
        if kind != SHT_SYMTAB || entsize < 24 {
            continue;
        }
        let Some(&Some((_, stroff, strsize, _, _))) = sections.get(link as usize) else {
            continue;
        };
        let Some(strtab) = elf.get(stroff..stroff.saturating_add(strsize)) else {
            continue;
        };
        for k in 0..size / entsize {
            let sym = off.saturating_add(k * entsize);
            let (Some(name_off), Some(shndx), Some(&info)) =
                (u32_at(elf, sym), u16_at(elf, sym + 6), elf.get(sym + 4))
            else {
                break;
            };
            if shndx != 0 || info >> 4 != STB_GLOBAL {
                continue;
            }
            let Some(rest) = strtab.get(name_off as usize..) else {
                continue;
            };
            let name = &rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())];
            if names.iter().any(|n| n.as_bytes() == name) {
                weaken_at.push((sym + 4, (STB_WEAK << 4) | (info & 0xf)));
            }
        }
    }
    for &(at, info) in &weaken_at {
        elf[at] = info;
    }
    weaken_at.len()
}

/// The kernel function libbpf could not find, from its warning
/// `extern (func ksym) 'NAME': not found in kernel or module BTFs`.
fn missing_kfunc(log: &[String]) -> Option<String> {
    log.iter().find_map(|l| {
        let rest = l.split("extern (func ksym) '").nth(1)?;
        let (name, after) = rest.split_once('\'')?;
        after.contains("not found").then(|| name.to_string())
    })
}

// ---------------------------------------------------------------------------------------
// What to do with a program, from its section

/// What the guest does with a program after loading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// `bpf_program__attach` (libbpf's auto-attach by section).
    AutoAttach,
    /// Attach the object's struct_ops maps (which hold the program).
    StructOps,
    /// Load, do not attach.
    LoadOnly(Reason),
    /// Neither load nor attach: libbpf refuses to load it without a target the tool sets.
    Skip(Reason),
}

/// Sections whose programs attach in user space (need a binary or a USDT probe).
const USER_SPACE: &[&str] = &[
    "uprobe",
    "uretprobe",
    "uprobe.s",
    "uretprobe.s",
    "uprobe.multi",
    "uretprobe.multi",
    "uprobe.multi.s",
    "uretprobe.multi.s",
    "uprobe.session",
    "uprobe.session.s",
    "usdt",
    "usdt.s",
];

/// Kernel attach points that libbpf attaches from the section (kprobes, tracepoints).
const KERNEL: &[&str] = &[
    "kprobe",
    "kretprobe",
    "ksyscall",
    "kretsyscall",
    "kprobe.multi",
    "kretprobe.multi",
    "kprobe.session",
    "tracepoint",
    "tp",
    "raw_tracepoint",
    "raw_tp",
    "raw_tracepoint.w",
    "raw_tp.w",
];

/// Kernel attach points resolved through BTF at load time: without a target in the
/// section libbpf does not load the program at all.
const KERNEL_BTF: &[&str] = &[
    "tp_btf",
    "fentry",
    "fexit",
    "fmod_ret",
    "fentry.s",
    "fexit.s",
    "fmod_ret.s",
    "fsession",
    "fsession.s",
    "lsm",
    "lsm.s",
    "iter",
    "iter.s",
];

pub fn plan(section: &str) -> Plan {
    let (kind, target) = match section.split_once('/') {
        Some((k, t)) => (k, Some(t).filter(|t| !t.is_empty())),
        None => (section, None),
    };
    if kind == "struct_ops" || kind == "struct_ops.s" {
        Plan::StructOps
    } else if kind == "syscall" {
        Plan::LoadOnly(Reason::RunsOnDemand)
    } else if kind == "freplace" {
        // The program it replaces is given at load time.
        Plan::Skip(Reason::NeedsTarget)
    } else if kind == "lsm_cgroup" {
        match target {
            None => Plan::Skip(Reason::TargetSetAtRunTime),
            Some(_) => Plan::LoadOnly(Reason::NeedsTarget),
        }
    } else if USER_SPACE.contains(&kind) {
        Plan::LoadOnly(Reason::NeedsTarget)
    } else if KERNEL_BTF.contains(&kind) {
        match target {
            None => Plan::Skip(Reason::TargetSetAtRunTime),
            Some(_) => Plan::AutoAttach,
        }
    } else if KERNEL.contains(&kind) {
        match target {
            None => Plan::LoadOnly(Reason::TargetSetAtRunTime),
            Some(_) => Plan::AutoAttach,
        }
    } else {
        // xdp, tc, tcx, netkit, cgroup*, socket, sk_*, sockops, flow_dissector, perf_event,
        // lwt_*, netfilter, lirc_mode2, ...: attached to an interface, a cgroup, a socket
        // or a perf event the tool chooses.
        Plan::LoadOnly(Reason::NeedsTarget)
    }
}

// ---------------------------------------------------------------------------------------
// Trying one program

/// Map types whose max_entries must stay 0, or that libbpf sizes itself.
fn keeps_zero(t: sys::bpf_map_type) -> bool {
    matches!(
        t,
        sys::BPF_MAP_TYPE_PERF_EVENT_ARRAY
            | sys::BPF_MAP_TYPE_CGROUP_STORAGE
            | sys::BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE
            | sys::BPF_MAP_TYPE_SK_STORAGE
            | sys::BPF_MAP_TYPE_STRUCT_OPS
            | sys::BPF_MAP_TYPE_INODE_STORAGE
            | sys::BPF_MAP_TYPE_TASK_STORAGE
            | sys::BPF_MAP_TYPE_CGRP_STORAGE
    )
}

/// How many maps (and, apart, how many kernel functions) a load may be retried without.
const MAX_RETRIES: usize = 8;

struct Prepared {
    obj: Object,
    prog: *mut sys::bpf_program,
    resized: Vec<MapResize>,
}

/// Opens the object and prepares `name` alone for loading: other programs off, struct_ops
/// maps off unless `name` is a struct_ops program, unsized maps sized, the maps in
/// `not_created` off, and the kernel functions in `weakened` made weak externs.
fn prepare(
    path: &str,
    name: &str,
    job: &Job,
    not_created: &[String],
    weakened: &[String],
) -> Result<Prepared, Failure> {
    let obj = Object::open_patched(path, weakened)?;
    let mut target = ptr::null_mut();
    for p in obj.programs() {
        // SAFETY: `p` belongs to `obj`.
        if c_string(unsafe { sys::bpf_program__name(p) }) == name {
            target = p;
        }
    }
    if target.is_null() {
        return Err(Failure {
            errno: None,
            message: format!("the object has no program named {name}"),
            log: Vec::new(),
        });
    }
    // SAFETY: programs and maps of `obj`, which is open and not loaded yet.
    unsafe {
        let target_is_struct_ops = sys::bpf_program__type(target) == sys::BPF_PROG_TYPE_STRUCT_OPS;
        // A `?` section starts with autoload off: the tool turns on the program it wants.
        sys::bpf_program__set_autoload(target, true);
        for p in obj.programs() {
            if p == target {
                continue;
            }
            // struct_ops programs are loaded with (and only with) their maps: libbpf decides
            // which ones, from the maps that are created.
            if target_is_struct_ops && sys::bpf_program__type(p) == sys::BPF_PROG_TYPE_STRUCT_OPS {
                continue;
            }
            sys::bpf_program__set_autoload(p, false);
        }
        let mut resized = Vec::new();
        for m in obj.maps() {
            let t = sys::bpf_map__type(m);
            let map_name = c_string(sys::bpf_map__name(m));
            if (t == sys::BPF_MAP_TYPE_STRUCT_OPS && !target_is_struct_ops)
                || not_created.contains(&map_name)
            {
                sys::bpf_map__set_autocreate(m, false);
                continue;
            }
            // A stack map whose value size the tool sets at run time (from its maximum
            // stack depth): the kernel's own maximum, 127 frames of 8 bytes.
            if t == sys::BPF_MAP_TYPE_STACK_TRACE
                && sys::bpf_map__value_size(m) == 0
                && sys::bpf_map__set_value_size(m, 127 * 8) == 0
            {
                let entries = if sys::bpf_map__max_entries(m) == 0 {
                    let _ = sys::bpf_map__set_max_entries(m, job.default_max_entries);
                    job.default_max_entries
                } else {
                    sys::bpf_map__max_entries(m)
                };
                resized.push(MapResize {
                    map: map_name,
                    max_entries: entries,
                    value_size: Some(127 * 8),
                });
                continue;
            }
            if sys::bpf_map__max_entries(m) == 0 && !keeps_zero(t) {
                let size = if t == sys::BPF_MAP_TYPE_RINGBUF || t == sys::BPF_MAP_TYPE_USER_RINGBUF
                {
                    job.default_ringbuf_bytes
                } else {
                    job.default_max_entries
                };
                if sys::bpf_map__set_max_entries(m, size) == 0 {
                    resized.push(MapResize {
                        map: map_name,
                        max_entries: size,
                        value_size: None,
                    });
                }
            }
        }
        Ok(Prepared {
            obj,
            prog: target,
            resized,
        })
    }
}

/// The map libbpf failed to create, from its warning `map 'NAME': failed to create: ...`.
fn failed_map(log: &[String]) -> Option<String> {
    log.iter().find_map(|l| {
        let rest = l.split("map '").nth(1)?;
        let (name, after) = rest.split_once('\'')?;
        after
            .starts_with(": failed to create")
            .then(|| name.to_string())
    })
}

/// A link, destroyed on drop.
struct Link(*mut sys::bpf_link);

impl Drop for Link {
    fn drop(&mut self) {
        // SAFETY: a link returned by libbpf, destroyed once.
        unsafe { sys::bpf_link__destroy(self.0) };
    }
}

/// Fault injection, for testing how the host reports a loader that crashes or hangs: the
/// kernel command line's `depsurf.fault=abort:NAME` makes the loader of program NAME abort
/// before it loads anything, `depsurf.fault=hang:NAME` makes it sleep until its deadline.
fn fault(name: &str) {
    let Ok(cmdline) = std::fs::read_to_string("/proc/cmdline") else {
        return;
    };
    for arg in cmdline.split_whitespace() {
        let Some(spec) = arg.strip_prefix("depsurf.fault=") else {
            continue;
        };
        match spec.split_once(':') {
            Some(("abort", n)) if n == name => std::process::abort(),
            Some(("hang", n)) if n == name => loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            },
            _ => {}
        }
    }
}

/// Loads, attaches and exercises program `name` of object `index`, reporting a record to
/// `pipe` after the load and attach and again at the end (the parent keeps the last one, and
/// knows from it where a crash happened).
pub fn try_program(index: usize, path: &str, info: &ProgramInfo, job: &Job, pipe: &mut Pipe) {
    let start = Instant::now();
    let mut rec = ProgramRecord {
        object: index,
        name: info.name.clone(),
        section: info.section.clone(),
        prog_type: info.prog_type.clone(),
        load: Load::Skipped {
            reason: Reason::NotReached,
        },
        attach: Attach::NotAttached {
            reason: Reason::NotReached,
        },
        events: None,
        run_time_ns: None,
        workload_died: None,
        maps_resized: Vec::new(),
        maps_not_created: Vec::new(),
        externs_weakened: Vec::new(),
        log: Vec::new(),
        ms: 0,
    };
    let send = |rec: &mut ProgramRecord, pipe: &mut Pipe| {
        rec.ms = start.elapsed().as_millis() as u64;
        if let Ok(s) = serde_json::to_string(&Record::Program(rec.clone())) {
            pipe.send(&s);
        }
    };
    let plan = plan(&info.section);
    fault(&info.name);
    if let Plan::Skip(reason) = plan {
        rec.load = Load::Skipped { reason };
        rec.attach = Attach::NotAttached { reason };
        send(&mut rec, pipe);
        return;
    }

    // Load. Two things fail a whole object although one program may not need them: a map
    // the kernel refuses to create, and a kernel function (kfunc) the kernel lacks. The
    // load is retried without such a map, or with such a function made a weak extern
    // (libbpf then poisons calls to it, and the verifier refuses only a program that
    // calls it). Each retry starts afresh: a libbpf object is loaded at most once.
    let mut not_created: Vec<String> = Vec::new();
    let mut weakened: Vec<String> = Vec::new();
    let mut log = Vec::new();
    let loaded = loop {
        let prepared = match prepare(path, &info.name, job, &not_created, &weakened) {
            Ok(p) => p,
            Err(f) => {
                log.extend(f.log);
                rec.load = Load::Error {
                    errno: f.errno,
                    message: f.message,
                };
                break None;
            }
        };
        // SAFETY: a prepared, not yet loaded object.
        let err = unsafe { sys::bpf_object__load(prepared.obj.ptr) };
        let msgs = take_log();
        rec.maps_resized = prepared.resized.clone();
        if err == 0 {
            log.extend(msgs);
            rec.load = Load::Ok;
            break Some(prepared);
        }
        let errno = -err;
        if let Some(map) = failed_map(&msgs)
            && !not_created.contains(&map)
            && not_created.len() < MAX_RETRIES
        {
            log.push(format!(
                "map '{map}' could not be created; loading again without it"
            ));
            log.extend(msgs);
            not_created.push(map);
            continue;
        }
        if let Some(func) = missing_kfunc(&msgs)
            && !weakened.contains(&func)
            && weakened.len() < MAX_RETRIES
        {
            log.push(format!(
                "kernel function '{func}' is missing; loading again with it as a weak extern"
            ));
            log.extend(msgs);
            weakened.push(func);
            continue;
        }
        log.extend(msgs);
        rec.load = Load::Error {
            errno: Some(errno),
            message: errno_message(errno),
        };
        break None;
    };
    rec.maps_not_created = not_created;
    rec.externs_weakened = weakened;
    let Some(prepared) = loaded else {
        rec.attach = Attach::NotAttached {
            reason: Reason::LoadFailed,
        };
        rec.log = log;
        send(&mut rec, pipe);
        return;
    };
    rec.log = log.clone();
    // Checkpoint: loaded, attach not reached.
    send(&mut rec, pipe);

    let mut links = Vec::new();
    let mut iter_links = Vec::new();
    match plan {
        Plan::AutoAttach => {
            // SAFETY: a loaded program of a live object.
            let l = unsafe { sys::bpf_program__attach(prepared.prog) };
            if l.is_null() {
                let errno = last_errno();
                rec.attach = Attach::Error {
                    errno: Some(errno),
                    message: errno_message(errno),
                };
            } else {
                rec.attach = Attach::Ok;
                if info.section.starts_with("iter") {
                    iter_links.push(l);
                }
                links.push(Link(l));
            }
        }
        Plan::StructOps => {
            rec.attach = Attach::Ok;
            for m in prepared.obj.maps() {
                // SAFETY: maps of a loaded object.
                unsafe {
                    if sys::bpf_map__type(m) != sys::BPF_MAP_TYPE_STRUCT_OPS
                        || !sys::bpf_map__autocreate(m)
                    {
                        continue;
                    }
                    let l = sys::bpf_map__attach_struct_ops(m);
                    if l.is_null() {
                        let errno = last_errno();
                        rec.attach = Attach::Error {
                            errno: Some(errno),
                            message: format!(
                                "struct_ops map '{}': {}",
                                c_string(sys::bpf_map__name(m)),
                                errno_message(errno)
                            ),
                        };
                        break;
                    }
                    links.push(Link(l));
                }
            }
        }
        Plan::LoadOnly(reason) | Plan::Skip(reason) => {
            rec.attach = Attach::NotAttached { reason };
        }
    }
    rec.log.extend(take_log());

    if rec.attach == Attach::Ok {
        // Checkpoint: attached, workload not run.
        send(&mut rec, pipe);
        crate::workload::run();
        for l in iter_links {
            read_iterator(l);
        }
        // SAFETY: the program's descriptor and an info structure of the size we pass.
        unsafe {
            let fd = sys::bpf_program__fd(prepared.prog);
            let mut info: sys::bpf_prog_info = std::mem::zeroed();
            let mut len = std::mem::size_of::<sys::bpf_prog_info>() as u32;
            if sys::bpf_prog_get_info_by_fd(fd, &mut info, &mut len) == 0 {
                rec.events = Some(info.run_cnt);
                rec.run_time_ns = Some(info.run_time_ns);
            } else {
                rec.log.push(format!(
                    "bpf_prog_get_info_by_fd: {}",
                    errno_message(last_errno())
                ));
            }
        }
    }
    drop(links);
    drop(prepared);
    send(&mut rec, pipe);
}

/// Runs an iterator program once by reading an iterator created from its link.
fn read_iterator(link: *mut sys::bpf_link) {
    // SAFETY: a live link; the iterator descriptor is ours and closed here.
    unsafe {
        let fd = sys::bpf_iter_create(sys::bpf_link__fd(link));
        if fd < 0 {
            return;
        }
        let mut buf = [0u8; 4096];
        let mut total = 0usize;
        while total < (16 << 20) {
            let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
            if n <= 0 {
                break;
            }
            total += n as usize;
        }
        libc::close(fd);
    }
}

use crate::protocol::Record;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_follow_libbpf_sections() {
        assert_eq!(plan("kprobe/do_nanosleep"), Plan::AutoAttach);
        assert_eq!(plan("kprobe"), Plan::LoadOnly(Reason::TargetSetAtRunTime));
        assert_eq!(plan("fentry"), Plan::Skip(Reason::TargetSetAtRunTime));
        assert_eq!(plan("fentry/do_group_exit"), Plan::AutoAttach);
        assert_eq!(plan("tp/sched/sched_switch"), Plan::AutoAttach);
        assert_eq!(plan("tp_btf/sched_switch"), Plan::AutoAttach);
        assert_eq!(plan("iter/task"), Plan::AutoAttach);
        assert_eq!(plan("lsm/file_open"), Plan::AutoAttach);
        assert_eq!(plan("struct_ops/ssthresh"), Plan::StructOps);
        assert_eq!(plan("struct_ops"), Plan::StructOps);
        assert_eq!(plan("uprobe"), Plan::LoadOnly(Reason::NeedsTarget));
        assert_eq!(
            plan("uprobe//bin/sh:main"),
            Plan::LoadOnly(Reason::NeedsTarget)
        );
        assert_eq!(plan("xdp"), Plan::LoadOnly(Reason::NeedsTarget));
        assert_eq!(plan("tc/ingress"), Plan::LoadOnly(Reason::NeedsTarget));
        assert_eq!(plan("cgroup/connect4"), Plan::LoadOnly(Reason::NeedsTarget));
        assert_eq!(plan("syscall"), Plan::LoadOnly(Reason::RunsOnDemand));
        assert_eq!(plan("freplace/foo"), Plan::Skip(Reason::NeedsTarget));
        assert_eq!(plan("ksyscall/openat"), Plan::AutoAttach);
    }

    #[test]
    fn failed_map_is_found_in_libbpf_warnings() {
        let log = vec![
            "libbpf: Error in bpf_create_map_xattr(cgrp):Invalid argument(-22). Retrying without BTF.".to_string(),
            "libbpf: map 'cgrp_store': failed to create: Invalid argument(-22)".to_string(),
        ];
        assert_eq!(failed_map(&log).as_deref(), Some("cgrp_store"));
        assert_eq!(failed_map(&log[..1]), None);
    }

    #[test]
    fn libbpf_errors_have_words() {
        assert_eq!(
            errno_message(4001),
            "BPF object format invalid (libbpf error 4001)"
        );
        assert!(errno_message(2).contains("No such file"));
    }

    #[test]
    fn missing_kfuncs_are_found_in_libbpf_warnings() {
        let log = vec![
            "libbpf: extern (func ksym) 'bpf_task_acquire': not found in kernel or module BTFs"
                .to_string(),
        ];
        assert_eq!(missing_kfunc(&log).as_deref(), Some("bpf_task_acquire"));
        let var =
            vec!["libbpf: extern (var ksym) 'runqueues': not found in kernel BTF".to_string()];
        assert_eq!(missing_kfunc(&var), None);
    }

    /// A tiny ELF64 object: a symbol table with an undefined global `f`, a defined global
    /// `g` and an undefined global `h`.
    fn object_with_symbols() -> Vec<u8> {
        let strtab = b"\0f\0g\0h\0".to_vec();
        let mut symtab = vec![0u8; 24]; // the null symbol
        for (name, shndx) in [(1u32, 0u16), (3, 1), (5, 0)] {
            let mut sym = vec![0u8; 24];
            sym[..4].copy_from_slice(&name.to_le_bytes());
            sym[4] = (1 << 4) | 2; // GLOBAL FUNC
            sym[6..8].copy_from_slice(&shndx.to_le_bytes());
            symtab.extend(sym);
        }
        let mut elf = vec![0u8; 64];
        elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
        let sym_off = elf.len();
        elf.extend(&symtab);
        let str_off = elf.len();
        elf.extend(&strtab);
        let shoff = elf.len();
        let sh = |kind: u32, off: usize, size: usize, link: u32, entsize: u64| {
            let mut h = vec![0u8; 64];
            h[4..8].copy_from_slice(&kind.to_le_bytes());
            h[0x18..0x20].copy_from_slice(&(off as u64).to_le_bytes());
            h[0x20..0x28].copy_from_slice(&(size as u64).to_le_bytes());
            h[0x28..0x2c].copy_from_slice(&link.to_le_bytes());
            h[0x38..0x40].copy_from_slice(&entsize.to_le_bytes());
            h
        };
        let headers = [
            sh(0, 0, 0, 0, 0),
            sh(2, sym_off, symtab.len(), 2, 24),
            sh(3, str_off, strtab.len(), 0, 0),
        ];
        for h in headers {
            elf.extend(h);
        }
        elf[0x28..0x30].copy_from_slice(&(shoff as u64).to_le_bytes());
        elf[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        elf[0x3c..0x3e].copy_from_slice(&3u16.to_le_bytes());
        elf
    }

    #[test]
    fn externs_are_made_weak_by_name() {
        let mut elf = object_with_symbols();
        let bind = |elf: &[u8], i: usize| elf[64 + 24 * i + 4] >> 4;
        assert_eq!(
            weaken_externs(&mut elf, &["f".into(), "g".into()]),
            1,
            "g is defined"
        );
        assert_eq!((bind(&elf, 1), bind(&elf, 2), bind(&elf, 3)), (2, 1, 1));
        assert_eq!(elf[64 + 24 + 4] & 0xf, 2, "the type is kept");
        // Truncated or foreign input is left alone, without panicking.
        let whole = object_with_symbols();
        for cut in [0, 10, 64, 100, whole.len() - 1] {
            let mut part = whole[..cut].to_vec();
            let before = part.clone();
            assert_eq!(weaken_externs(&mut part, &["f".into()]), 0, "cut at {cut}");
            assert_eq!(part, before);
        }
    }

    #[test]
    fn verifier_logs_are_cut_to_their_tail() {
        let mut v = String::from("libbpf: prog 'p': -- BEGIN PROG LOAD LOG --\n");
        for i in 0..100 {
            v.push_str(&format!("{i}: insn\n"));
        }
        v.push_str("invalid access\n-- END PROG LOAD LOG --\n");
        let out = condense(&[v, "libbpf: prog 'p': failed to load: -13\n".into()]);
        assert!(out[0].contains("BEGIN PROG LOAD LOG"));
        assert_eq!(out[1], "[71 earlier verifier log lines left out]");
        assert!(out.iter().any(|l| l == "invalid access"));
        assert_eq!(out.last().unwrap(), "libbpf: prog 'p': failed to load: -13");
        assert_eq!(out.len(), 1 + 1 + VERIFIER_TAIL + 1 + 1);
    }
}
