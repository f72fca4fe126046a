//! Which helpers each program type may call on one kernel: the kernel decides this in code
//! (each program type's `get_func_proto`), no table of the image spells it out, so it is
//! probed on the kernel booted (`depsurf verify --record-helpers`) and kept in the dataset
//! manifest beside the image it belongs to.
//!
//! In the manifest each program type's helper ids are one string of ranges
//! (`KPROBE = "1-9,11-17,20-27"`), so that a table of thirty types stays readable.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The helper table of one kernel, with how it was obtained.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelperTable {
    /// The tool that probed it (`depsurf 0.1.0 verify`).
    pub tool: String,
    /// The libbpf version that probed it (`1.7.0`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub libbpf: String,
    /// When (`2026-05-02`, UTC).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub date: String,
    /// The release the booted kernel reported (`uname -r`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kernel: String,
    /// `__BPF_FUNC_MAX_ID` of the kernel's `enum bpf_func_id`: ids 1 to this minus one were
    /// probed for every type in `types`.
    pub max_helper_id: u32,
    /// Program types (`enum bpf_prog_type` names without `BPF_PROG_TYPE_`: `KPROBE`,
    /// `SCHED_CLS`) → the helper ids the verifier accepts for a program of that type.
    #[serde(default)]
    pub types: BTreeMap<String, HelperSet>,
    /// Types the kernel knows whose helpers could not be probed: those that need an attach
    /// target to load at all (`TRACING`, `LSM`, `STRUCT_OPS`, `EXT`). Unknown, not none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unprobed: Vec<String>,
    /// Types the kernel knows but would not load in the probe (no device for
    /// `LIRC_MODE2`): unknown too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsupported: Vec<String>,
}

impl HelperTable {
    /// Whether a program of `prog_type` (`KPROBE`, or `BPF_PROG_TYPE_KPROBE`, any case) may
    /// call helper `helper_id` on this kernel; `None` when the table cannot tell (the type
    /// was not probed, or this kernel does not know it).
    ///
    /// The probe loads each type with libbpf's default expected attach type; for the few
    /// types whose helpers also depend on the attach type (the `CGROUP_SOCK_ADDR` hooks,
    /// `bpf_get_func_ip` of `kprobe.multi`) the answer is that of the default.
    pub fn allows(&self, prog_type: &str, helper_id: u32) -> Option<bool> {
        let set = self.types.get(&type_key(prog_type))?;
        Some(set.contains(helper_id))
    }

    /// The helper ids allowed for `prog_type`, when it was probed.
    pub fn allowed(&self, prog_type: &str) -> Option<&HelperSet> {
        self.types.get(&type_key(prog_type))
    }
}

/// `kprobe`, `BPF_PROG_TYPE_KPROBE` → `KPROBE`.
fn type_key(prog_type: &str) -> String {
    let up = prog_type.to_ascii_uppercase();
    match up.strip_prefix("BPF_PROG_TYPE_") {
        Some(s) => s.to_string(),
        None => up,
    }
}

/// A set of helper ids, written as ranges (`1-5,7,9-12`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HelperSet(pub BTreeSet<u32>);

impl HelperSet {
    pub fn contains(&self, id: u32) -> bool {
        self.0.contains(&id)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().copied()
    }

    /// Parses `1-5,7,9-12` (spaces allowed around items; the empty string is the empty
    /// set).
    pub fn parse(text: &str) -> Result<HelperSet, String> {
        let mut set = BTreeSet::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let num = |s: &str| {
                s.trim()
                    .parse::<u32>()
                    .map_err(|_| format!("{item:?} is not a helper id or a range of them"))
            };
            match item.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (num(a)?, num(b)?);
                    if a > b {
                        return Err(format!("{item:?}: the range runs backwards"));
                    }
                    // Helper ids are small; a range beyond any kernel's is a typo.
                    if b - a > 100_000 {
                        return Err(format!("{item:?}: the range is too long"));
                    }
                    set.extend(a..=b);
                }
                None => {
                    set.insert(num(item)?);
                }
            }
        }
        Ok(HelperSet(set))
    }
}

impl FromIterator<u32> for HelperSet {
    fn from_iter<I: IntoIterator<Item = u32>>(iter: I) -> HelperSet {
        HelperSet(iter.into_iter().collect())
    }
}

impl fmt::Display for HelperSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut it = self.0.iter().copied().peekable();
        while let Some(start) = it.next() {
            let mut end = start;
            while it.peek() == Some(&(end + 1)) {
                end += 1;
                it.next();
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if end == start {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
        }
        Ok(())
    }
}

impl Serialize for HelperSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HelperSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<HelperSet, D::Error> {
        let text = String::deserialize(d)?;
        HelperSet::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_round_trip() {
        let s: HelperSet = [1, 2, 3, 4, 5, 7, 9, 10, 11, 12, 200].into_iter().collect();
        assert_eq!(s.to_string(), "1-5,7,9-12,200");
        assert_eq!(HelperSet::parse("1-5,7,9-12,200").unwrap(), s);
        assert_eq!(
            HelperSet::parse(" 1 - 3 , 5 ").unwrap().to_string(),
            "1-3,5"
        );
        assert_eq!(HelperSet::default().to_string(), "");
        assert!(HelperSet::parse("").unwrap().is_empty());
    }

    #[test]
    fn bad_ranges_are_refused() {
        for bad in ["5-3", "x", "1-", "-2", "1-2-3", "0-4294967295"] {
            assert!(HelperSet::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn allows_answers_for_probed_types_only() {
        let mut t = HelperTable {
            tool: "test".into(),
            max_helper_id: 10,
            ..HelperTable::default()
        };
        t.types
            .insert("KPROBE".into(), HelperSet::parse("1-3").unwrap());
        t.unprobed.push("TRACING".into());
        assert_eq!(t.allows("KPROBE", 2), Some(true));
        assert_eq!(t.allows("kprobe", 9), Some(false));
        assert_eq!(t.allows("BPF_PROG_TYPE_KPROBE", 1), Some(true));
        assert_eq!(t.allows("TRACING", 1), None);
        assert_eq!(t.allows("SYSCALL", 1), None);
    }

    #[test]
    fn the_manifest_form_is_readable() {
        #[derive(Serialize, Deserialize)]
        struct Image {
            id: String,
            helpers: Option<HelperTable>,
        }
        let mut t = HelperTable {
            tool: "depsurf 0.1.0 verify".into(),
            libbpf: "1.7.0".into(),
            date: "2026-05-02".into(),
            kernel: "6.1.0-47-amd64".into(),
            max_helper_id: 212,
            unprobed: vec!["TRACING".into()],
            ..HelperTable::default()
        };
        t.types
            .insert("KPROBE".into(), HelperSet::parse("1-9,11").unwrap());
        let text = toml::to_string_pretty(&Image {
            id: "x".into(),
            helpers: Some(t.clone()),
        })
        .unwrap();
        assert!(text.contains("KPROBE = \"1-9,11\""), "{text}");
        let back: Image = toml::from_str(&text).unwrap();
        assert_eq!(back.helpers, Some(t));
        let bare: Image = toml::from_str("id = \"x\"").unwrap();
        assert_eq!(bare.helpers, None);
    }
}
