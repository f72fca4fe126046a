//! `depsurf check`: eBPF objects against the kernels of a dataset.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use depsurf_bpf::BpfObject;
use depsurf_check::{Live, Options, render};
use depsurf_diff::Consequence;
use depsurf_surface::Dataset;

use crate::dataset_cmd::DatasetArg;
use crate::inspect::emit;
use crate::output::write_into;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// A matrix per group of images, coloured when the output is a terminal.
    Term,
    Md,
    Json,
    /// SARIF 2.1.0, for code-scanning tools: one result per dependency and image with a
    /// consequence.
    Sarif,
    /// The study's program tables (Markdown): per kind, how many programs and unique
    /// dependencies are Absent, Changed, Full Inline, Selective Inline, Transformation or
    /// Duplicate in at least one image of the Regular and Arch groups, and the same per
    /// program (docs/study.md). No verdicts: the exit code is 0.
    Study,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Exit 1 when the program fails to load or attach on a checked image.
    Error,
    /// ... or reads the wrong data.
    Stray,
    /// ... or misses calls.
    Miss,
}

#[derive(Args)]
pub struct CheckArgs {
    /// eBPF objects (`*.bpf.o`), or binaries and libraries that embed them (libbpf
    /// skeletons).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub dataset: DatasetArg,
    /// Check only these images: an image id (`6.1.0-47-arm64`) or a label a group gives it
    /// (`6.1`, `arm64`). Repeatable.
    #[arg(long = "image", value_name = "NAME")]
    pub images: Vec<String>,
    /// An attach target set at run time: `--map old=new` checks `new` where the object's
    /// section names `old`; `--map old=` says it is no kernel item (an fentry program
    /// attached to another BPF program). Repeatable.
    #[arg(long = "map", value_name = "OLD=NEW")]
    pub map: Vec<String>,
    /// Check only these programs (name or glob; repeatable): those your loader loads. The
    /// others count as turned off, but what libbpf does for the whole object (every map,
    /// every extern) still applies.
    #[arg(long = "program", value_name = "NAME")]
    pub programs: Vec<String>,
    /// A TOML file of attach targets set at run time: `old = "new"` lines (in a `[map]`
    /// table or at the top level).
    #[arg(long, value_name = "FILE")]
    pub map_file: Option<PathBuf>,
    /// Check against one kernel instead of a dataset: `running` (this machine's
    /// /sys/kernel/btf/vmlinux and /proc/kallsyms), or the inputs of a kernel (vmlinux, raw
    /// BTF, package, boot image with System.map...). Repeatable for several inputs.
    #[arg(long, value_name = "INPUT", conflicts_with = "dataset")]
    pub kernel: Vec<String>,
    #[arg(long, short, value_enum, default_value_t = CheckFormat::Term)]
    pub format: CheckFormat,
    /// The least severe consequence that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Do not page the terminal matrix (it goes through $PAGER, or `less -FRX`, when the
    /// output is a terminal).
    #[arg(long)]
    pub no_pager: bool,
    /// With `--format study`: write every form into DIR instead of printing the Markdown:
    /// study.md, study-summary.csv, study-programs.csv, study-dependencies.csv and
    /// study-figure.svg.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// With `--format study`: a program (object) the figure shows, by the name the tables
    /// give it (`biotop-libbpf@0x50640`, or `biotop-libbpf` for every object that binary
    /// embeds); repeatable. Default: every program with an issue.
    #[arg(long = "figure", value_name = "PROGRAM")]
    pub figure: Vec<String>,
}

/// Members of a package worth searching for eBPF objects: not documentation.
struct Binaries;

impl depsurf_image::archive::Selector for Binaries {
    fn wants(&mut self, path: &str) -> bool {
        ![
            "usr/share/doc/",
            "usr/share/man/",
            "usr/share/locale/",
            "usr/share/info/",
        ]
        .iter()
        .any(|p| path.starts_with(p))
    }
}

/// Every eBPF object in a file: the file itself, those embedded in it, or those in the
/// files of a Debian package.
pub fn objects(path: &PathBuf) -> Result<Vec<BpfObject>> {
    Ok(objects_with_bytes(path)?
        .into_iter()
        .map(|(o, _)| o)
        .collect())
}

/// [`objects`], each with its bytes (what a loader is given).
pub fn objects_with_bytes(path: &PathBuf) -> Result<Vec<(BpfObject, Vec<u8>)>> {
    let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
    let name = path.display().to_string();
    if bytes.starts_with(b"!<arch>\n") {
        let pkg = depsurf_image::archive::read_deb(
            &bytes[..],
            Some(bytes.len() as u64),
            &mut Binaries,
            &Default::default(),
        )
        .map_err(|e| anyhow!("{name}: {e}"))?;
        let mut out = Vec::new();
        for m in &pkg.members {
            let inner = format!("{name}:{}", m.path);
            out.extend(objects_in(&inner, &m.bytes, true)?);
        }
        if out.is_empty() {
            bail!(
                "{name}: no eBPF object in any of its {} files",
                pkg.members.len()
            );
        }
        return Ok(out);
    }
    objects_in(&name, &bytes, false)
}

/// The objects in one file's bytes; `quiet`: none is not an error (a package member).
fn objects_in(name: &str, bytes: &[u8], quiet: bool) -> Result<Vec<(BpfObject, Vec<u8>)>> {
    let name = name.to_string();
    let machine = match BpfObject::parse(&name, bytes) {
        Ok(o) => return Ok(vec![(o, bytes.to_vec())]),
        Err(depsurf_bpf::BpfError::NotElf) => None,
        Err(depsurf_bpf::BpfError::NotBpf(m)) => Some(m),
        Err(e) => bail!("{name}: {e}"),
    };
    let found = depsurf_bpf::embedded::find(bytes);
    if found.is_empty() && !quiet {
        match machine {
            // Most often the program compiled for the host rather than for eBPF.
            Some(m) => bail!(
                "{name}: an ELF file for {}, not an eBPF object, and no eBPF object is \
                 embedded in it; compile the program with `clang --target=bpf` and give \
                 that object (*.bpf.o), or the binary that embeds it",
                depsurf_image::elf::machine_name(m)
            ),
            None => bail!("{name}: not an eBPF object, and no eBPF object is embedded in it"),
        }
    }
    found
        .into_iter()
        .map(|(at, len)| {
            let mut o = BpfObject::parse(&format!("{name}@{at:#x}"), &bytes[at..at + len])
                .map_err(|e| anyhow!("{name}: the eBPF object at offset {at:#x}: {e}"))?;
            let progs: Vec<&str> = o.programs.iter().map(|p| p.name.as_str()).collect();
            o.name = format!("{name}@{at:#x} [{}]", progs.join(", "));
            Ok((o, bytes[at..at + len].to_vec()))
        })
        .collect()
}

/// A dataset of one kernel, extracted now from its inputs; for `running`, with what the
/// running kernel tells about itself (symbols, what ftrace and kprobes accept, tracepoints).
pub(crate) fn kernel_dataset(inputs: &[String]) -> Result<(Dataset, Option<Live>)> {
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut running = false;
    for i in inputs {
        if i == "running" {
            let btf = PathBuf::from("/sys/kernel/btf/vmlinux");
            if !btf.exists() {
                bail!(
                    "--kernel running: {} does not exist (this kernel was built without \
                     CONFIG_DEBUG_INFO_BTF); give its vmlinux, BTF or package with --kernel",
                    btf.display()
                );
            }
            paths.push(btf);
            if let Some(c) = running_config() {
                paths.push(c);
            }
            running = true;
        } else {
            paths.push(PathBuf::from(i));
        }
    }
    let img = depsurf_image::open_one(&paths, &Default::default())?;
    let opts = depsurf_surface::extract::ExtractOptions {
        status: false,
        ..Default::default()
    };
    let (mut meta, mut surface) = depsurf_surface::extract::extract_with(&img, &opts)?;
    let mut live = None;
    if running {
        if let Ok(release) = std::fs::read_to_string("/proc/sys/kernel/osrelease") {
            // The running kernel, named by its release rather than by /sys/kernel/btf/vmlinux.
            meta.id = depsurf_surface::manifest::plain_name(release.trim());
            meta.release = Some(release.trim().to_string());
            if meta.version.is_none() {
                meta.version = Some(release.trim().to_string());
            }
        }
        if meta.arch.is_none() {
            meta.arch = Some(
                std::env::consts::ARCH
                    .replace("x86_64", "amd64")
                    .replace("aarch64", "arm64"),
            );
        }
        if let Some(n) = running_tracepoints(&mut surface) {
            meta.missing
                .retain(|k| *k != depsurf_surface::Kind::Tracepoint);
            meta.sources.push(format!("tracepoints: {n} from tracefs"));
        } else if let Some(n) = btf_tracepoints(&mut surface) {
            meta.missing
                .retain(|k| *k != depsurf_surface::Kind::Tracepoint);
            meta.sources.push(format!(
                "tracepoints: {n} from the BTF's btf_trace_* types (tracefs is not mounted)"
            ));
        }
        live = Some(running_facts(&meta.id, &surface)?);
    }
    let mut sb = depsurf_surface::store::StoreBuilder::default();
    sb.add(&meta.id, &surface);
    let store = sb.finish();
    let (default, groups) =
        depsurf_surface::manifest::infer_groups(std::slice::from_ref(&meta), Some(&meta.id));
    let manifest = depsurf_surface::manifest::Manifest {
        format: 1,
        name: "kernel".into(),
        store: "kernel.dsf".into(),
        default,
        infer_groups: true,
        images: vec![meta],
        groups,
    };
    let ds = Dataset::from_parts(
        &manifest.to_toml(),
        depsurf_image::Bytes::from_vec(store),
        "--kernel",
    )?;
    Ok((ds, live))
}

/// The running kernel's configuration: /proc/config.gz, else /boot/config-$(uname -r).
fn running_config() -> Option<PathBuf> {
    let proc = PathBuf::from("/proc/config.gz");
    if std::fs::File::open(&proc).is_ok() {
        return Some(proc);
    }
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    let boot = PathBuf::from(format!("/boot/config-{}", release.trim()));
    boot.exists().then_some(boot)
}

/// Where tracefs is mounted, if readable.
fn tracefs() -> Option<PathBuf> {
    ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.join("events").is_dir())
}

/// The running kernel's tracepoints, from tracefs's `events/<system>/<event>/format`, added
/// to `surface` with their class (the event's own struct `trace_event_raw_<event>` when the
/// BTF has it, else the struct whose fields the format lists). `None` when tracefs cannot
/// be read.
fn running_tracepoints(surface: &mut depsurf_surface::Surface) -> Option<usize> {
    let events = tracefs()?.join("events");
    let mut n = 0;
    let mut systems: Vec<_> = std::fs::read_dir(&events).ok()?.flatten().collect();
    systems.sort_by_key(|e| e.file_name());
    for sys in systems {
        if !sys.path().is_dir() {
            continue;
        }
        let system = sys.file_name().to_string_lossy().into_owned();
        let Ok(list) = std::fs::read_dir(sys.path()) else {
            continue;
        };
        for ev in list.flatten() {
            let Ok(format) = std::fs::read_to_string(ev.path().join("format")) else {
                continue;
            };
            let event = ev.file_name().to_string_lossy().into_owned();
            let fields: Vec<String> = format
                .lines()
                .filter_map(|l| {
                    let decl = l.trim().strip_prefix("field:")?.split(';').next()?;
                    let name = decl.rsplit([' ', '*']).next()?.split('[').next()?;
                    (!name.starts_with("common_")).then(|| name.to_string())
                })
                .collect();
            let fmt = format
                .lines()
                .find_map(|l| l.strip_prefix("print fmt: "))
                .unwrap_or("")
                .to_string();
            let class = if surface
                .structs
                .contains_key(&format!("trace_event_raw_{event}"))
            {
                event.clone()
            } else {
                surface
                    .structs
                    .iter()
                    .find(|(name, c)| {
                        name.starts_with("trace_event_raw_")
                            && c.members
                                .iter()
                                .map(|m| m.name.as_str())
                                .filter(|m| *m != "ent" && *m != "__data")
                                .eq(fields.iter().map(|f| f.as_str()))
                    })
                    .and_then(|(name, _)| name.strip_prefix("trace_event_raw_"))
                    .unwrap_or(&event)
                    .to_string()
            };
            surface.tracepoints.insert(
                event,
                depsurf_surface::Tracepoint {
                    class,
                    system: system.clone(),
                    fmt,
                },
            );
            n += 1;
        }
    }
    (n > 0).then_some(n)
}

/// The running kernel's tracepoints from its BTF, when tracefs is not mounted: the kernel
/// declares a `btf_trace_<event>` type for each (what `tp_btf` programs attach by). The
/// class is the event's own when `trace_event_raw_<event>` exists, else unknown (its record
/// then unknown too); the system is unknown.
fn btf_tracepoints(surface: &mut depsurf_surface::Surface) -> Option<usize> {
    let bytes = std::fs::read("/sys/kernel/btf/vmlinux").ok()?;
    let btf = depsurf_btf::Btf::parse(&bytes).ok()?;
    let mut n = 0;
    for t in btf.types() {
        if t.kind() != depsurf_btf::Kind::Typedef {
            continue;
        }
        let Some(event) = t.name().strip_prefix("btf_trace_") else {
            continue;
        };
        surface
            .tracepoints
            .entry(event.to_string())
            .or_insert_with(|| depsurf_surface::Tracepoint {
                class: event.to_string(),
                system: String::new(),
                fmt: String::new(),
            });
        n += 1;
    }
    (n > 0).then_some(n)
}

/// What the running kernel says of its functions: its text symbols (/proc/kallsyms), what
/// ftrace can patch (`available_filter_functions`) and what kprobes refuse (debugfs
/// `kprobes/blacklist`), each when readable.
fn running_facts(id: &str, surface: &depsurf_surface::Surface) -> Result<Live> {
    let kallsyms = std::fs::read("/proc/kallsyms")
        .map_err(|e| anyhow!("--kernel running: /proc/kallsyms: {e}"))?;
    let map = depsurf_image::sysmap::SystemMap::parse_kallsyms(&kallsyms)
        .map_err(|e| anyhow!("--kernel running: /proc/kallsyms: {e}"))?;
    let mut symbols: std::collections::HashMap<String, u32> = Default::default();
    for s in &map.symbols {
        if matches!(s.kind, b'T' | b't' | b'W' | b'w') && s.module.is_none() {
            *symbols.entry(s.name.clone()).or_default() += 1;
        }
    }
    let ftrace = tracefs()
        .and_then(|t| std::fs::read_to_string(t.join("available_filter_functions")).ok())
        .map(|text| {
            text.lines()
                .filter_map(|l| l.split_whitespace().next())
                .map(str::to_string)
                .collect()
        });
    let kprobe_blacklist = std::fs::read_to_string("/sys/kernel/debug/kprobes/blacklist")
        .ok()
        .map(|text| {
            text.lines()
                .filter_map(|l| l.split_whitespace().nth(1))
                .map(str::to_string)
                .collect()
        });
    Ok(Live {
        id: id.to_string(),
        symbols,
        ftrace,
        kprobe_blacklist,
        kprobe_on_notrace: surface
            .config
            .get("KPROBE_EVENTS_ON_NOTRACE")
            .is_some_and(|v| v == "y"),
    })
}

/// Which helpers each program type may call on the running kernel, probed now; when this
/// process may not load programs, none (helper checks then say unknown), with a note.
fn running_helpers(ds: &Dataset, id: &str) -> Result<BTreeMap<String, depsurf_check::HelperTable>> {
    let enums = crate::helper_probe::KernelEnums::of(ds, id)?;
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut out = BTreeMap::new();
    match crate::helper_probe::probe(&enums, release.trim()) {
        Ok(p) => {
            eprintln!(
                "depsurf: --kernel running: helpers probed for {} program types in {} ms{}",
                p.table.allowed.len(),
                p.ms,
                if p.not_loadable.is_empty() {
                    String::new()
                } else {
                    format!(" (not loadable here: {})", p.not_loadable.join(", "))
                }
            );
            out.insert(id.to_string(), p.table);
        }
        Err(why) => eprintln!(
            "depsurf: --kernel running: which helpers each program type may call is unknown: {why}"
        ),
    }
    Ok(out)
}

pub fn run(args: &CheckArgs) -> Result<ExitCode> {
    let study = args.format == CheckFormat::Study;
    if !study && args.out.is_some() {
        bail!("--out writes the study's tables: it goes with --format study");
    }
    if !study && !args.figure.is_empty() {
        bail!("--figure chooses the programs of the study's figure: it goes with --format study");
    }
    if study && !args.images.is_empty() {
        bail!(
            "--image does not apply to --format study: the study's tables cover the images of \
             the Regular and Arch groups"
        );
    }
    let (ds, live) = if args.kernel.is_empty() {
        (args.dataset.load()?, None)
    } else {
        kernel_dataset(&args.kernel)?
    };
    let mut map = BTreeMap::new();
    if let Some(f) = &args.map_file {
        let text = std::fs::read_to_string(f).with_context(|| format!("{}", f.display()))?;
        let v: toml::Table = toml::from_str(&text).map_err(|e| anyhow!("{}: {e}", f.display()))?;
        let table = match v.get("map") {
            Some(toml::Value::Table(t)) => t.clone(),
            _ => v,
        };
        for (k, val) in table {
            let Some(new) = val.as_str() else {
                bail!(
                    "{}: {k} must map to a string (a function, tracepoint...)",
                    f.display()
                );
            };
            map.insert(k, new.to_string());
        }
    }
    for m in &args.map {
        let (a, b) = m
            .split_once('=')
            .ok_or_else(|| anyhow!("--map {m}: expected OLD=NEW"))?;
        map.insert(a.to_string(), b.to_string());
    }
    let mut images = Vec::new();
    for want in &args.images {
        let mut found: Vec<String> = ds
            .images()
            .iter()
            .filter(|m| &m.id == want)
            .map(|m| m.id.clone())
            .collect();
        for g in &ds.manifest.groups {
            for l in g.reference.iter().chain(&g.images) {
                if &l.label == want && !found.contains(&l.image) {
                    found.push(l.image.clone());
                }
            }
        }
        if found.is_empty() {
            let ids: Vec<&str> = ds.images().iter().map(|m| m.id.as_str()).collect();
            bail!(
                "--image {want}: no image has that id or label; images: {}",
                ids.join(", ")
            );
        }
        images.extend(found);
    }
    // The study's tables do not ask which helpers a program type may call.
    let helpers = match &live {
        Some(l) if !study => running_helpers(&ds, &l.id)?,
        _ => Default::default(),
    };
    let opts = Options {
        images,
        map,
        programs: args.programs.clone(),
        live,
        helpers,
    };
    let mut objs = Vec::new();
    for f in &args.files {
        objs.extend(objects(f)?);
    }
    if study {
        return run_study(args, &ds, &objs, &opts);
    }
    let mut checks = Vec::new();
    for o in &objs {
        checks.push(depsurf_check::check(&ds, o, &opts).map_err(|e| anyhow!(e))?);
    }
    let text = match args.format {
        CheckFormat::Json => {
            let v = serde_json::json!({"schema": 2, "objects": checks});
            let mut s = serde_json::to_string_pretty(&v)?;
            s.push('\n');
            s
        }
        CheckFormat::Sarif => {
            let mut s = serde_json::to_string_pretty(&render::sarif(&checks))?;
            s.push('\n');
            s
        }
        CheckFormat::Md => checks
            .iter()
            .map(|c| render::markdown(&ds, c))
            .collect::<Vec<_>>()
            .join("\n"),
        // Answered above, before any check.
        CheckFormat::Study => return run_study(args, &ds, &objs, &opts),
        CheckFormat::Term => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            checks
                .iter()
                .map(|c| render::terminal(&ds, c, color, 100))
                .collect::<Vec<_>>()
                .join("\n")
        }
    };
    let tty = args.format == CheckFormat::Term && std::io::stdout().is_terminal();
    if tty && !args.no_pager {
        crate::output::page(&text)?;
    } else {
        emit(text.as_bytes())?;
    }
    let worst = match args.fail_on {
        FailOn::Error => Consequence::Error,
        FailOn::Stray => Consequence::StrayRead,
        FailOn::Miss => Consequence::MissingInvocation,
    };
    let failed = checks.iter().any(|c| {
        c.verdicts.iter().any(|v| match v.verdict.as_str() {
            "fails" => true,
            "loads with alternatives" | "loads" => false,
            text => match worst {
                Consequence::StrayRead => text.contains("stray"),
                Consequence::MissingInvocation => true,
                _ => false,
            },
        })
    });
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `--format study`: the study's program tables, printed as Markdown or written into `--out`.
fn run_study(
    args: &CheckArgs,
    ds: &Dataset,
    objs: &[BpfObject],
    opts: &Options,
) -> Result<ExitCode> {
    use depsurf_report::study as table;
    let s = depsurf_check::study::study(ds, objs, opts, &args.figure).map_err(|e| anyhow!(e))?;
    match &args.out {
        Some(dir) => {
            const FIGURE: &str = "study-figure.svg";
            let svg = table::figure_svg(&s).map_err(|e| anyhow!("drawing the figure: {e}"))?;
            write_into(
                dir,
                &[
                    ("study.md", table::markdown(&s, Some(FIGURE))),
                    ("study-summary.csv", table::summary_csv(&s)),
                    ("study-programs.csv", table::programs_csv(&s)),
                    ("study-dependencies.csv", table::deps_csv(&s)),
                    (FIGURE, svg),
                ],
            )?;
        }
        None => emit(table::markdown(&s, None).as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}
