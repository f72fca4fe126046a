//! Which helpers the kernel allows for which program types, probed the way
//! `bpftool feature probe` does: for every program type the kernel loads, a tiny program
//! calling each helper id in turn, refused or not by the verifier.

use std::ffi::CString;
use std::time::Instant;

use libbpf_sys as sys;

use crate::protocol::{HelperTable, ProgTypeHelpers};

/// The values of a kernel enum, read from the running kernel's BTF: (name, value).
fn enum_values(btf: *const sys::btf, name: &str) -> Option<Vec<(String, i64)>> {
    let c = CString::new(name).ok()?;
    // SAFETY: `btf` is a live BTF object; the enum entries follow the type record, `vlen`
    // of them, as the BTF format lays them out.
    unsafe {
        let id = sys::btf__find_by_name_kind(btf, c.as_ptr(), sys::BTF_KIND_ENUM);
        if id <= 0 {
            return None;
        }
        let t = sys::btf__type_by_id(btf, id as u32);
        if t.is_null() {
            return None;
        }
        let vlen = ((*t).info & 0xffff) as usize;
        let first = t.add(1) as *const sys::btf_enum;
        let mut out = Vec::with_capacity(vlen);
        for i in 0..vlen {
            let e = *first.add(i);
            let n = sys::btf__name_by_offset(btf, e.name_off);
            let n = if n.is_null() {
                String::new()
            } else {
                std::ffi::CStr::from_ptr(n).to_string_lossy().into_owned()
            };
            out.push((n, e.val as i64));
        }
        Some(out)
    }
}

/// The version of the libbpf linked in (`1.7`), as libbpf reports it.
pub fn libbpf_version() -> String {
    // SAFETY: plain getters of constants.
    let (major, minor) = unsafe { (sys::libbpf_major_version(), sys::libbpf_minor_version()) };
    format!("{major}.{minor}")
}

/// Probes every (program type, helper) pair of the running kernel.
pub fn probe() -> HelperTable {
    let start = Instant::now();
    let mut table = HelperTable {
        max_helper_id: 0,
        helper_names: Vec::new(),
        prog_types: Vec::new(),
        ms: 0,
        error: None,
        libbpf: Some(libbpf_version()),
    };
    // SAFETY: loads the running kernel's BTF; freed below.
    let btf = unsafe { sys::btf__load_vmlinux_btf() };
    if btf.is_null() {
        table.error = Some(format!(
            "cannot read the kernel's BTF: {}",
            std::io::Error::last_os_error()
        ));
        return table;
    }
    let funcs = enum_values(btf, "bpf_func_id");
    let types = enum_values(btf, "bpf_prog_type");
    // SAFETY: freeing the BTF loaded above, once.
    unsafe { sys::btf__free(btf) };
    let (Some(funcs), Some(types)) = (funcs, types) else {
        table.error = Some("the kernel's BTF lacks enum bpf_func_id or enum bpf_prog_type".into());
        return table;
    };
    let max = funcs
        .iter()
        .find(|(n, _)| n == "__BPF_FUNC_MAX_ID")
        .map(|(_, v)| *v)
        .unwrap_or_else(|| funcs.iter().map(|(_, v)| v + 1).max().unwrap_or(0));
    let max = max.clamp(0, 100_000) as u32;
    table.max_helper_id = max;
    table.helper_names = vec![String::new(); max as usize];
    for (n, v) in &funcs {
        if let Some(slot) = usize::try_from(*v)
            .ok()
            .and_then(|i| table.helper_names.get_mut(i))
        {
            *slot = n.strip_prefix("BPF_FUNC_").unwrap_or(n).to_string();
        }
    }
    for (name, value) in types {
        let Some(short) = name.strip_prefix("BPF_PROG_TYPE_") else {
            continue;
        };
        if value <= 0 || name.starts_with("__") {
            continue;
        }
        let id = value as u32;
        let mut entry = ProgTypeHelpers {
            id,
            name: short.to_ascii_lowercase(),
            supported: false,
            helpers: Vec::new(),
            error: None,
        };
        // SAFETY: a probe with default options.
        let r = unsafe { sys::libbpf_probe_bpf_prog_type(id, std::ptr::null()) };
        if r < 0 {
            entry.error = Some(format!(
                "libbpf cannot probe this type: {}",
                std::io::Error::from_raw_os_error(-r)
            ));
        } else {
            entry.supported = r == 1;
        }
        if entry.supported {
            for helper in 1..max {
                // SAFETY: a probe with default options.
                let r = unsafe { sys::libbpf_probe_bpf_helper(id, helper, std::ptr::null()) };
                if r < 0 {
                    entry.error = Some(format!(
                        "libbpf cannot probe helpers for this type: {}",
                        std::io::Error::from_raw_os_error(-r)
                    ));
                    entry.helpers.clear();
                    break;
                }
                if r == 1 {
                    entry.helpers.push(helper);
                }
            }
        }
        table.prog_types.push(entry);
    }
    table.ms = start.elapsed().as_millis() as u64;
    table
}
