//! Whether kernel functions can be traced: listed in ftrace's available_filter_functions
//! (ftrace can patch them, so fentry/kprobe via ftrace work) and not on the kprobe
//! blacklist.

use std::collections::HashSet;

use crate::protocol::{FunctionStatus, FunctionsRecord};

const FILTER_FUNCTIONS: &[&str] = &[
    "/sys/kernel/tracing/available_filter_functions",
    "/sys/kernel/debug/tracing/available_filter_functions",
];
const BLACKLIST: &str = "/sys/kernel/debug/kprobes/blacklist";

/// The names in available_filter_functions, in the file's order (a name may repeat: static
/// functions of different files; entries of modules carry ` [module]`, dropped here).
pub fn filter_functions() -> Result<Vec<String>, String> {
    let mut last = String::new();
    for path in FILTER_FUNCTIONS {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                return Ok(text
                    .lines()
                    .filter_map(|l| l.split_whitespace().next())
                    .map(str::to_string)
                    .collect());
            }
            Err(e) => last = format!("{path}: {e}"),
        }
    }
    Err(last)
}

/// The kprobe blacklist's function names (lines `0xSTART-0xEND\tname`).
fn blacklist() -> Result<HashSet<String>, String> {
    let text = std::fs::read_to_string(BLACKLIST).map_err(|e| format!("{BLACKLIST}: {e}"))?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .map(str::to_string)
        .collect())
}

pub fn check(names: &[String], all: Option<&[String]>) -> FunctionsRecord {
    let mut errors = Vec::new();
    let owned;
    let filter: Option<&[String]> = match all {
        Some(a) => Some(a),
        None => match filter_functions() {
            Ok(v) => {
                owned = v;
                Some(&owned)
            }
            Err(e) => {
                errors.push(e);
                None
            }
        },
    };
    let filter_set: HashSet<&str> = filter
        .unwrap_or_default()
        .iter()
        .map(String::as_str)
        .collect();
    let black = match blacklist() {
        Ok(b) => Some(b),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    FunctionsRecord {
        functions: names
            .iter()
            .map(|n| FunctionStatus {
                name: n.clone(),
                ftrace: filter_set.contains(n.as_str()),
                kprobe_blacklisted: black.as_ref().is_some_and(|b| b.contains(n)),
            })
            .collect(),
        available_filter_functions: filter.map(|f| f.len() as u64),
        kprobe_blacklist: black.as_ref().map(|b| b.len() as u64),
        errors,
    }
}
