//! System calls, read out of the image's data (SPEC §3): each entry of `sys_call_table` (and
//! of the compatibility tables an architecture has) is the address of a function, whose
//! symbol, without the architecture's prefix, names the call.

use std::collections::BTreeMap;

use depsurf_image::KernelMemory;

/// The tables an image may have: (symbol, ABI; "" for the native table).
pub const TABLES: [(&str, &str); 6] = [
    ("sys_call_table", ""),
    ("ia32_sys_call_table", "ia32"),
    ("x32_sys_call_table", "x32"),
    ("compat_sys_call_table", "compat"),
    ("sys_call_table_emu", "emu"),
    ("sys_oabi_call_table", "oabi"),
];

/// Prefixes of system call entry points, most specific first.
const PREFIXES: [&str; 24] = [
    "__x64_sys_",
    "__ia32_compat_sys_",
    "__ia32_sys_",
    "__x32_compat_sys_",
    "__arm64_compat_sys_",
    "__arm64_sys_",
    "__s390x_sys_",
    "__s390_compat_sys_",
    "__s390_sys_",
    "__powerpc_compat_sys_",
    "__powerpc_sys_",
    "__riscv_compat_sys_",
    "__riscv_sys_",
    "__loongarch_sys_",
    "__se_compat_sys_",
    "__se_sys_",
    "compat_sys_",
    "sys32_x32_",
    "sys32_",
    "ptregs_sys_",
    "sys_",
    "ppc64_",
    "ppc_",
    "stub_",
];

/// Most entries read from one table (tables have a few hundred).
const MAX_ENTRIES: u64 = 4096;

/// The call a symbol names, and the rank of the prefix it had (lower: more specific).
fn strip(symbol: &str) -> Option<(usize, &str)> {
    PREFIXES.iter().enumerate().find_map(|(rank, p)| {
        let rest = symbol.strip_prefix(p)?;
        let rest = rest.strip_suffix("_wrapper").unwrap_or(rest);
        (!rest.is_empty()).then_some((rank, rest))
    })
}

/// One table's reading.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub symbol: &'static str,
    pub abi: &'static str,
    pub entries: BTreeMap<u32, String>,
    /// Slots that hold `sys_ni_syscall` (numbers not implemented): not in `entries`.
    pub unimplemented: Vec<u32>,
    /// Slots whose address no symbol names as a system call (their first symbol's name is
    /// used).
    pub unprefixed: Vec<(u32, String)>,
    /// Slots whose address has no symbol at all.
    pub unnamed: Vec<u32>,
}

/// Reads every system call table the image has.
pub fn scan(mem: &KernelMemory<'_>) -> Result<Vec<Table>, String> {
    let ps = u64::from(mem.ptr_size);
    let mut out = Vec::new();
    for (symbol, abi) in TABLES {
        let Some(start) = mem.symbols.addr(symbol) else {
            continue;
        };
        // Without a recorded size (tables written in assembly, or symbols from a System.map),
        // the table runs to the next symbol at most, and ends at the first entry that is not
        // the address of a system call's entry point.
        let sized = mem.symbols.get(symbol).is_some_and(|s| s.size > 0);
        let end = mem.symbols.end_of(symbol).ok_or_else(|| {
            format!("cannot tell where {symbol} ends (no size, nothing after it)")
        })?;
        let count = end.saturating_sub(start) / ps;
        if count > MAX_ENTRIES {
            return Err(format!("{symbol} would have {count} entries: too many"));
        }
        let mut t = Table {
            symbol,
            abi,
            ..Table::default()
        };
        for nr in 0..count {
            let slot = start + nr * ps;
            let nr = nr as u32;
            let f = mem
                .ptr(slot)
                .ok_or_else(|| format!("cannot read entry {nr} of {symbol} at {slot:#x}"))?;
            let mut syms = mem.symbols.at(f);
            if syms.is_empty() && f & 1 == 1 {
                // A Thumb-2 function's address has its low bit set.
                syms = mem.symbols.at(f & !1);
            }
            if syms.is_empty() {
                if !sized {
                    break;
                }
                t.unnamed.push(nr);
                continue;
            }
            if syms.iter().any(|s| s.name.ends_with("sys_ni_syscall")) {
                t.unimplemented.push(nr);
                continue;
            }
            let best = syms
                .iter()
                .filter_map(|s| strip(&s.name))
                .min_by(|a, b| a.cmp(b));
            match best {
                Some((_, name)) => {
                    t.entries.insert(nr, name.to_string());
                }
                // Past the end of a table of unknown size.
                None if !sized => break,
                None => {
                    let name = syms[0].name.clone();
                    t.unprefixed.push((nr, name.clone()));
                    t.entries.insert(nr, name);
                }
            }
        }
        out.push(t);
    }
    if out.iter().all(|t| !t.abi.is_empty()) {
        return Err("no sys_call_table symbol".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_stripped() {
        assert_eq!(strip("__x64_sys_read"), Some((0, "read")));
        assert_eq!(strip("__ia32_compat_sys_open").map(|x| x.1), Some("open"));
        assert_eq!(strip("__arm64_sys_openat").map(|x| x.1), Some("openat"));
        assert_eq!(
            strip("sys_fstatfs64_wrapper").map(|x| x.1),
            Some("fstatfs64")
        );
        assert_eq!(strip("ppc_rtas").map(|x| x.1), Some("rtas"));
        assert_eq!(strip("do_fork"), None);
        assert_eq!(strip("sys_"), None);
    }
}
