//! Tracepoints, read out of the image's data (SPEC §3): the `struct trace_event_call`s that
//! `__start_ftrace_events` .. `__stop_ftrace_events` point to, read with the offsets of the
//! image's own types.

use std::collections::BTreeMap;

use depsurf_image::KernelMemory;

use crate::model::{Surface, Tracepoint};

/// Most events read (a kernel has a few thousand).
const MAX_EVENTS: u64 = 1 << 20;
/// Longest format string read.
const MAX_FMT: usize = 1 << 16;
/// Longest name read.
const MAX_NAME: usize = 512;

/// What a scan found, with the counts that explain what was left out.
#[derive(Clone, Debug, Default)]
pub struct TracepointScan {
    pub tracepoints: BTreeMap<String, Tracepoint>,
    /// Pointers between the start and stop symbols.
    pub events: usize,
    /// Events flagged `TRACE_EVENT_FL_IGNORE_ENABLE` (ftrace's own records).
    pub ignored: usize,
    /// Events without `TRACE_EVENT_FL_TRACEPOINT` (syscall events, kprobe-style events).
    pub not_tracepoints: usize,
    /// Tracepoints whose class could not be named (no `event_class_<class>` symbol).
    pub unnamed: Vec<String>,
    /// A second event of a name already seen (`system/event`).
    pub duplicates: Vec<String>,
    /// Tracepoints without a `__tracepoint_<name>` symbol.
    pub without_symbol: Vec<String>,
    /// Tracepoints without their `trace_event_raw_<class>` struct in the image's types.
    pub without_struct: Vec<String>,
}

/// Byte offset of `member` of struct `owner` in the image's types.
fn offset(s: &Surface, owner: &str, member: &str) -> Result<u64, String> {
    let c = s
        .structs
        .get(owner)
        .ok_or_else(|| format!("the image's types have no struct {owner}"))?;
    let m = c
        .member(member)
        .ok_or_else(|| format!("struct {owner} has no member {member}"))?;
    Ok(u64::from(m.bit_offset / 8))
}

/// A value of the image's enums (the flags are in an anonymous enum).
fn enum_value(s: &Surface, name: &str) -> Result<u64, String> {
    s.enums
        .values()
        .flat_map(|e| e.values.iter())
        .find(|(n, _)| n == name)
        .map(|&(_, v)| v as u64)
        .ok_or_else(|| format!("the image's enums have no {name}"))
}

/// Reads the tracepoints of an image whose types are already in `s`.
pub fn scan(mem: &KernelMemory<'_>, s: &Surface) -> Result<TracepointScan, String> {
    let sym = |n: &str| {
        mem.symbols
            .addr(n)
            .ok_or_else(|| format!("no {n} symbol (is CONFIG_EVENT_TRACING set?)"))
    };
    let (start, stop) = (sym("__start_ftrace_events")?, sym("__stop_ftrace_events")?);
    let call = "trace_event_call";
    let off_class = offset(s, call, "class")?;
    let off_name = offset(s, call, "tp").or_else(|_| offset(s, call, "name"))?;
    let off_fmt = offset(s, call, "print_fmt")?;
    let off_flags = offset(s, call, "flags")?;
    let off_system = offset(s, "trace_event_class", "system")?;
    let off_tp_name = offset(s, "tracepoint", "name")?;
    let fl_ignore = enum_value(s, "TRACE_EVENT_FL_IGNORE_ENABLE")?;
    let fl_tracepoint = enum_value(s, "TRACE_EVENT_FL_TRACEPOINT")?;
    let ps = u64::from(mem.ptr_size);
    let count = stop.checked_sub(start).ok_or_else(|| {
        format!("__stop_ftrace_events ({stop:#x}) lies before __start_ftrace_events ({start:#x})")
    })? / ps;
    if count > MAX_EVENTS {
        return Err(format!(
            "{count} events between the ftrace_events symbols: too many"
        ));
    }
    let unreadable = |what: &str, at: u64| format!("cannot read {what} at {at:#x}");
    let mut out = TracepointScan {
        events: count as usize,
        ..TracepointScan::default()
    };
    for i in 0..count {
        let slot = start + i * ps;
        let ev = mem
            .ptr(slot)
            .ok_or_else(|| unreadable("the event pointer", slot))?;
        let flags = mem
            .uint(ev + off_flags, 4)
            .ok_or_else(|| unreadable("the flags of the event", ev))?;
        if flags & fl_ignore != 0 {
            out.ignored += 1;
            continue;
        }
        if flags & fl_tracepoint == 0 {
            out.not_tracepoints += 1;
            continue;
        }
        let class_ptr = mem
            .ptr(ev + off_class)
            .ok_or_else(|| unreadable("the class of the event", ev))?;
        // The event's name: its symbol, else the name of its struct tracepoint.
        let name = match mem.symbols.name_at(ev, "event_") {
            Some(n) => n.to_string(),
            None => mem
                .ptr(ev + off_name)
                .and_then(|tp| mem.ptr(tp + off_tp_name))
                .and_then(|p| mem.cstr(p, MAX_NAME))
                .ok_or_else(|| unreadable("the name of the event", ev))?,
        };
        let system = mem
            .ptr(class_ptr + off_system)
            .and_then(|p| mem.cstr(p, MAX_NAME))
            .unwrap_or_default();
        let class = match mem.symbols.name_at(class_ptr, "event_class_") {
            Some(c) => c.to_string(),
            // TRACE_EVENT() makes a class of the event's own name.
            None if s.structs.contains_key(&format!("trace_event_raw_{name}")) => name.clone(),
            None => {
                out.unnamed.push(format!("{system}/{name}"));
                continue;
            }
        };
        let fmt = match mem.ptr(ev + off_fmt) {
            Some(0) | None => String::new(),
            Some(p) => mem
                .cstr(p, MAX_FMT)
                .ok_or_else(|| unreadable("the format string", p))?,
        };
        if out.tracepoints.contains_key(&name) {
            out.duplicates.push(format!("{system}/{name}"));
            continue;
        }
        let tp = Tracepoint { class, system, fmt };
        if mem.symbols.addr(&format!("__tracepoint_{name}")).is_none() {
            out.without_symbol.push(name.clone());
        }
        if !s.structs.contains_key(&tp.struct_name()) {
            out.without_struct.push(name.clone());
        }
        out.tracepoints.insert(name, tp);
    }
    Ok(out)
}
