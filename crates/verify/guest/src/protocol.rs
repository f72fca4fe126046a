//! The guest's copy of the job and result shapes. The documented definition is
//! `depsurf_verify::protocol` (crates/verify/src/protocol.rs); both sides are tested against
//! the same example files in crates/verify/tests/protocol/.

use serde::{Deserialize, Serialize};

pub const PROTOCOL_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Job {
    pub protocol: u32,
    pub objects: Vec<JobObject>,
    #[serde(default)]
    pub helper_table: bool,
    #[serde(default)]
    pub functions: Vec<String>,
    #[serde(default)]
    pub filter_functions_list: bool,
    #[serde(default)]
    pub modules: Vec<String>,
    pub program_timeout_ms: u64,
    pub helper_table_timeout_ms: u64,
    pub default_max_entries: u32,
    pub default_ringbuf_bytes: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct JobObject {
    pub name: String,
    pub path: String,
    #[serde(default)]
    pub programs: Option<Vec<String>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    Hello { protocol: u32, uptime_ms: u64 },
    Kernel(KernelFacts),
    Setup { step: String, error: String },
    Object(ObjectRecord),
    Program(ProgramRecord),
    Helpers(HelperTable),
    Functions(FunctionsRecord),
    FilterFunctions { names: Vec<String> },
    Done { uptime_ms: u64 },
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KernelFacts {
    pub release: String,
    pub version: String,
    pub machine: String,
    pub btf_vmlinux: bool,
    pub lsm: Option<String>,
    pub cmdline: String,
    pub cpus: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ObjectRecord {
    pub index: usize,
    pub name: String,
    pub programs: Vec<ProgramInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProgramInfo {
    pub name: String,
    pub section: String,
    pub prog_type: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Failure {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno: Option<i32>,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProgramRecord {
    pub object: usize,
    pub name: String,
    pub section: String,
    pub prog_type: String,
    pub load: Load,
    pub attach: Attach,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_time_ns: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_died: Option<Died>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maps_resized: Vec<MapResize>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maps_not_created: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub externs_weakened: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<String>,
    pub ms: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Load {
    Ok,
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        errno: Option<i32>,
        message: String,
    },
    Skipped {
        reason: Reason,
    },
    Died(Died),
}

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

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    LoadFailed,
    NeedsTarget,
    TargetSetAtRunTime,
    RunsOnDemand,
    NoAutoAttach,
    NotReached,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Died {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct MapResize {
    pub map: String,
    pub max_entries: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_size: Option<u32>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HelperTable {
    pub max_helper_id: u32,
    pub helper_names: Vec<String>,
    pub prog_types: Vec<ProgTypeHelpers>,
    pub ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub libbpf: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProgTypeHelpers {
    pub id: u32,
    pub name: String,
    pub supported: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub helpers: Vec<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FunctionsRecord {
    pub functions: Vec<FunctionStatus>,
    pub available_filter_functions: Option<u64>,
    pub kprobe_blacklist: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FunctionStatus {
    pub name: String,
    pub ftrace: bool,
    pub kprobe_blacklisted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOB: &str = include_str!("../../tests/protocol/job.json");
    const RECORDS: &str = include_str!("../../tests/protocol/records.jsonl");

    /// The guest reads the documented example job and writes records of exactly the
    /// documented shapes: every example record parses and serialises back to the same JSON.
    #[test]
    fn shapes_match_the_documented_examples() {
        let job: Job = serde_json::from_str(JOB).expect("example job");
        assert_eq!(job.protocol, PROTOCOL_VERSION);
        let again: serde_json::Value = serde_json::to_value(&job).unwrap();
        let original: serde_json::Value = serde_json::from_str(JOB).unwrap();
        assert_eq!(again, original);
        let mut kinds = std::collections::BTreeSet::new();
        for line in RECORDS.lines().filter(|l| !l.trim().is_empty()) {
            let r: Record = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            let v = serde_json::to_value(&r).unwrap();
            kinds.insert(v["record"].as_str().unwrap().to_string());
            let original: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v, original, "{line}");
        }
        assert_eq!(
            kinds.len(),
            9,
            "every record kind has an example: {kinds:?}"
        );
    }
}
