//! `depsurf compare-types`: the types an image's BTF describes against those its DWARF
//! describes, for every struct, union, enum and function both have.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use depsurf_surface::extract::{ExtractOptions, TypeSource, extract_with};
use depsurf_surface::{Item, Surface};

use crate::InputArgs;
use crate::inspect::{emit, open_options};

#[derive(Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// How many examples to show per kind of difference.
    #[arg(long, default_value_t = 5)]
    pub examples: usize,
}

/// One kind of item compared: how many both sources have, and how they differ.
#[derive(Default)]
struct Tally {
    both: usize,
    only_btf: Vec<String>,
    only_dwarf: usize,
    equal: usize,
    /// (reason, difference description) → names.
    differ: BTreeMap<(String, String), Vec<String>>,
}

/// Why two sources may disagree about one name.
const SEVERAL: &str = "several different definitions share this name; BTF (pahole) kept \
                       another one than depsurf reads from DWARF (the first, or for functions \
                       the one at the address of the name's symbol)";
const IMPLICIT: &str = "pahole writes kfuncs with implicit arguments without them, and the full \
                        prototype as <name>_impl (pahole 1.30 and later)";
const UNEXPLAINED: &str = "unexplained";

fn compare<'a, T: PartialEq>(
    tally: &mut Tally,
    kind: &'static str,
    btf: &'a BTreeMap<String, T>,
    dwarf: &'a BTreeMap<String, T>,
    item: impl Fn(&'a T) -> Item<'a>,
    several: &dyn Fn(&'static str, &str) -> bool,
) {
    for (name, b) in btf {
        let Some(d) = dwarf.get(name) else {
            tally.only_btf.push(name.clone());
            continue;
        };
        tally.both += 1;
        if b == d {
            tally.equal += 1;
            continue;
        }
        let changes = depsurf_diff::items(item(b), item(d));
        let mut what: Vec<&str> = changes.iter().map(|c| c.name()).collect();
        what.dedup();
        let what = if what.is_empty() {
            "differs in order only".to_string()
        } else {
            what.join(", ")
        };
        let reason = if kind == "func" && btf.contains_key(&format!("{name}_impl")) {
            IMPLICIT
        } else if several(kind, name) {
            SEVERAL
        } else {
            UNEXPLAINED
        };
        let key = (reason.to_string(), what);
        let mut example = name.clone();
        if let Some(c) = changes.first() {
            let (old, new) = c.parts();
            let _ = write!(example, ": {old}");
            if let Some(n) = new {
                let _ = write!(example, " (BTF) vs {n} (DWARF)");
            }
        }
        tally.differ.entry(key).or_default().push(example);
    }
    tally.only_dwarf = dwarf.keys().filter(|k| !btf.contains_key(*k)).count();
}

pub fn run(args: &CompareArgs, quiet: bool) -> Result<ExitCode> {
    let img = depsurf_image::open_one(&args.input.inputs, &open_options(&args.input, quiet))?;
    let only = |types, status| ExtractOptions {
        types,
        status,
        keep_callers: false,
    };
    let Some(blob) = &img.btf else {
        anyhow::bail!("{}: no BTF to compare with", img.name());
    };
    if !img.has_dwarf() {
        anyhow::bail!("{}: no DWARF to compare with", img.name());
    }
    let (_, b) = extract_with(&img, &only(TypeSource::Btf, false))?;
    let (_, d) = extract_with(&img, &only(TypeSource::Dwarf, false))?;
    let Some((_, elf)) = img.best_elf() else {
        anyhow::bail!("{}: no ELF", img.name());
    };
    let definitions = depsurf_dwarf::analyze(
        elf,
        &depsurf_dwarf::Options {
            status: false,
            types: true,
            keep_callers: false,
        },
    )?
    .types
    .map(|t| t.func_definitions)
    .unwrap_or_default();
    let counts = blob
        .with(depsurf_surface::extract::btf::definitions_per_name)
        .map_err(|p| depsurf_image::Error::new(&blob.origin, p))?;
    // Several definitions: BTF keeps more than one, or DWARF has more than one function of
    // the name (a weak stub and the real function, say).
    let several = |kind: &'static str, name: &str| {
        counts
            .get(&(kind, name.to_string()))
            .is_some_and(|&n| n > 1)
            || (kind == "func" && definitions.get(name).is_some_and(|&n| n > 1))
    };
    let kinds: [(&str, Tally); 4] = [
        (
            "structs",
            tally_of(&b, &d, "struct", |s| &s.structs, Item::Composite, &several),
        ),
        (
            "unions",
            tally_of(&b, &d, "union", |s| &s.unions, Item::Composite, &several),
        ),
        (
            "enums",
            tally_of(&b, &d, "enum", |s| &s.enums, Item::Enum, &several),
        ),
        (
            "functions",
            tally_of(&b, &d, "func", |s| &s.funcs, Item::Func, &several),
        ),
    ];
    let mut o = String::new();
    let _ = writeln!(o, "{}: types from BTF against types from DWARF", img.name());
    for (kind, t) in &kinds {
        let _ = writeln!(
            o,
            "{kind}: {} in both, {} equal, {} differ; {} only in BTF, {} only in DWARF",
            t.both,
            t.equal,
            t.both - t.equal,
            t.only_btf.len(),
            t.only_dwarf
        );
        if !t.only_btf.is_empty() {
            let impls = t.only_btf.iter().filter(|n| n.ends_with("_impl")).count();
            let shown: Vec<&str> = t
                .only_btf
                .iter()
                .take(args.examples)
                .map(String::as_str)
                .collect();
            let _ = writeln!(
                o,
                "  only in BTF: {} ({impls} of them <kfunc>_impl prototypes pahole adds)",
                shown.join(", ")
            );
        }
        let mut reason_now = "";
        for ((reason, what), names) in &t.differ {
            if reason != reason_now {
                let total: usize = t
                    .differ
                    .iter()
                    .filter(|((r, _), _)| r == reason)
                    .map(|(_, v)| v.len())
                    .sum();
                let _ = writeln!(o, "  {total} because {reason}:");
                reason_now = reason;
            }
            let _ = writeln!(o, "    {} x {what}", names.len());
            for n in names.iter().take(args.examples) {
                let _ = writeln!(o, "        {n}");
            }
        }
    }
    emit(o.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn tally_of<'a, T: PartialEq + 'a>(
    b: &'a Surface,
    d: &'a Surface,
    kind: &'static str,
    get: impl Fn(&'a Surface) -> &'a BTreeMap<String, T>,
    item: impl Fn(&'a T) -> Item<'a>,
    several: &dyn Fn(&'static str, &str) -> bool,
) -> Tally {
    let mut t = Tally::default();
    compare(&mut t, kind, get(b), get(d), item, several);
    t
}
