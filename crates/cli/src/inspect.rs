//! `depsurf inspect` and `depsurf btf dump`.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use depsurf_image::archive::Scratch;
use depsurf_image::image::BtfBlob;
use depsurf_image::{Inspection, KernelImage, OpenOptions};
use std::path::Path;

use crate::output::write_atomic;

use crate::InputArgs;
use crate::output::{count, size};
use crate::progress;

#[derive(Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Print JSON (an array with one object per kernel image) instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn open_options(input: &InputArgs, quiet: bool) -> OpenOptions {
    OpenOptions {
        base_btf: input.base.clone(),
        scratch: Scratch {
            dir: input.tmpdir.clone(),
        },
        progress: progress::reader_callback(quiet),
    }
}

/// Writes all of `text` to stdout; a closed pipe (`| head`) is not an error.
pub fn emit(text: &[u8]) -> Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text).and_then(|_| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("writing to standard output"),
    }
}

pub fn run(args: &InspectArgs, quiet: bool) -> Result<ExitCode> {
    let images = depsurf_image::open(&args.input.inputs, &open_options(&args.input, quiet))?;
    let mut reports = Vec::with_capacity(images.len());
    for img in &images {
        reports.push(Inspection::of(img).map_err(|p| depsurf_image::Error::new(img.name(), p))?);
    }
    let text = if args.json {
        let mut s = serde_json::to_string_pretty(&reports)?;
        s.push('\n');
        s
    } else {
        reports.iter().map(render).collect::<Vec<_>>().join("\n")
    };
    emit(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn row(out: &mut String, key: &str, value: impl AsRef<str>) {
    let _ = writeln!(out, "    {key:<12}{}", value.as_ref());
}

fn absent(out: &mut String, key: &str) {
    row(out, key, "absent");
}

/// The text form of one inspection.
pub fn render(r: &Inspection) -> String {
    let mut out = String::new();
    let id = &r.identity;
    let _ = writeln!(out, "{}", r.name);
    out.push_str("  identity\n");
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".into());
    row(&mut out, "release", dash(&id.release));
    let mut version = dash(&id.version);
    let mut extra = Vec::new();
    if let Some(s) = &id.series
        && Some(s) != id.version.as_ref()
    {
        extra.push(format!("series {s}"));
    }
    if let Some(a) = &id.abi {
        extra.push(format!("ABI {a}"));
    }
    if !extra.is_empty() {
        let _ = write!(version, " ({})", extra.join(", "));
    }
    row(&mut out, "version", version);
    row(&mut out, "flavour", dash(&id.flavour));
    row(&mut out, "arch", dash(&id.arch));
    let distro = match (&id.distro, &id.package_version) {
        (Some(d), Some(v)) => format!("{d} {v}"),
        (Some(d), None) => d.clone(),
        (None, Some(v)) => format!("unknown ({v})"),
        (None, None) => "unknown".into(),
    };
    row(&mut out, "distro", distro);
    row(&mut out, "compiler", dash(&id.compiler));
    if let Some(b) = &id.banner {
        row(&mut out, "banner", b);
    }
    if let Some(m) = &r.module {
        row(&mut out, "module", dash(&m.name));
        row(&mut out, "vermagic", dash(&m.vermagic));
    }

    out.push_str("  inputs\n");
    for i in &r.inputs {
        let _ = writeln!(out, "    {i}");
    }

    out.push_str("  sources\n");
    match &r.elf {
        Some(e) => row(
            &mut out,
            "ELF",
            format!(
                "{}  ELF{} {} {} {:?}, {} sections",
                size(e.size),
                e.class,
                e.endian,
                e.machine,
                e.kind,
                e.sections
            )
            .replace("Executable", "executable")
            .replace("Relocatable", "relocatable")
            .replace("Shared", "shared object")
            .replace("Other", "file"),
        ),
        None => absent(&mut out, "ELF"),
    }
    match &r.boot {
        Some(b) => row(
            &mut out,
            "boot image",
            format!(
                "{}  {}{}, kernel inside: {} ({})",
                size(b.summary.size),
                b.summary.format,
                b.summary
                    .compression
                    .map(|c| format!(
                        ", {c} payload at {:#x}",
                        b.summary.payload_offset.unwrap_or(0)
                    ))
                    .unwrap_or_default(),
                b.summary.kernel,
                size(b.summary.kernel_size)
            ),
        ),
        None => absent(&mut out, "boot image"),
    }
    match &r.dwarf {
        Some(d) => {
            let versions = d
                .versions
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let mut s = format!(
                "version {}{}, .debug_info {} (all .debug_* {})",
                if versions.is_empty() {
                    "?".into()
                } else {
                    versions
                },
                d.units
                    .map(|u| format!(", {} units", count(u)))
                    .unwrap_or_default(),
                size(d.debug_info_size),
                size(d.debug_total_size)
            );
            if d.compressed {
                s.push_str(", compressed");
            }
            if d.debug_relocations {
                let relocatable = r
                    .elf
                    .as_ref()
                    .is_some_and(|e| e.kind == depsurf_image::elf::ElfKind::Relocatable);
                s.push_str(if relocatable {
                    ", with .rela.debug_* (applied when read)"
                } else {
                    ", with .rela.debug_* (from --emit-relocs; not applied)"
                });
            }
            row(&mut out, "DWARF", s);
        }
        None => absent(&mut out, "DWARF"),
    }
    match &r.btf {
        Some(b) if b.needs_base => row(
            &mut out,
            "BTF",
            format!(
                "{}  {}, split ({}); give --base <vmlinux> to read its types",
                size(b.size),
                b.endian,
                b.location
            ),
        ),
        Some(b) => row(
            &mut out,
            "BTF",
            format!(
                "{}  {}{}, {} types, strings {}  ({})",
                size(b.size),
                b.endian,
                if b.split { ", split" } else { "" },
                count(b.types.unwrap_or(0)),
                size(b.strings_size.unwrap_or(0)),
                b.location
            ),
        ),
        None => absent(&mut out, "BTF"),
    }
    match &r.symtab {
        Some(s) => row(
            &mut out,
            "symtab",
            format!(
                "{} symbols, {} functions",
                count(s.symbols),
                count(s.functions)
            ),
        ),
        None => absent(&mut out, "symtab"),
    }
    match &r.system_map {
        Some(m) if m.placeholder => row(
            &mut out,
            "System.map",
            "placeholder only (real one in -dbg)",
        ),
        Some(m) => row(
            &mut out,
            "System.map",
            format!(
                "{} symbols, {} functions",
                count(m.symbols),
                count(m.functions)
            ),
        ),
        None => absent(&mut out, "System.map"),
    }
    match &r.config {
        Some(c) => row(
            &mut out,
            "config",
            format!(
                "{} options set, {} unset{}",
                count(c.set),
                count(c.unset),
                c.debug_info_btf
                    .as_ref()
                    .map(|v| format!(", CONFIG_DEBUG_INFO_BTF={v}"))
                    .unwrap_or_else(|| ", CONFIG_DEBUG_INFO_BTF unset".into())
            ),
        ),
        None => absent(&mut out, "config"),
    }
    if let Some(b) = r.btf.as_ref().filter(|b| !b.kinds.is_empty()) {
        out.push_str("  BTF kinds\n");
        let mut kinds: Vec<(&String, &u32)> = b.kinds.iter().collect();
        kinds.sort_by_key(|(k, _)| kind_order(k));
        for (k, n) in kinds {
            let _ = writeln!(out, "    {k:<12}{:>9}", count(u64::from(*n)));
        }
    }
    if !r.notes.is_empty() {
        out.push_str("  notes\n");
        for n in &r.notes {
            let _ = writeln!(out, "    {n}");
        }
    }
    out
}

fn kind_order(name: &str) -> usize {
    depsurf_btf::Kind::ALL
        .iter()
        .position(|k| k.as_str() == name)
        .unwrap_or(usize::MAX)
}

fn describe_missing_btf(img: &KernelImage) -> String {
    let mut why = format!("{} has no BTF", img.name());
    if let Some(c) = &img.config
        && c.value.get("DEBUG_INFO_BTF").is_none()
    {
        why.push_str(" (its config has CONFIG_DEBUG_INFO_BTF unset)");
    }
    if img.has_dwarf() {
        why.push_str(
            "; it has DWARF: `pahole --btf_encode_detached=OUT vmlinux` makes BTF from it",
        );
    } else {
        why.push_str(
            " and no DWARF; give its BTF (/sys/kernel/btf/vmlinux on that kernel) or its \
             debug image (the -dbg or -dbgsym package)",
        );
    }
    why
}

fn image_btf(input: &InputArgs, quiet: bool) -> Result<(KernelImage, BtfBlob)> {
    let img = depsurf_image::open_one(&input.inputs, &open_options(input, quiet))?;
    let Some(blob) = img.btf.clone() else {
        bail!("{}", describe_missing_btf(&img));
    };
    Ok((img, blob))
}

pub fn btf_extract(input: &InputArgs, output: &Path, quiet: bool) -> Result<ExitCode> {
    let (_, blob) = image_btf(input, quiet)?;
    // Refuse to write what does not parse.
    blob.with(|_| ())
        .map_err(|p| depsurf_image::Error::new(&blob.origin, p))?;
    write_atomic(output, &blob.bytes)?;
    if !quiet {
        eprintln!(
            "depsurf: wrote {} of BTF from {} ({}) to {}",
            size(blob.bytes.len() as u64),
            blob.origin,
            blob.location,
            output.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn btf_dump(input: &InputArgs, quiet: bool) -> Result<ExitCode> {
    let (_, blob) = image_btf(input, quiet)?;
    let blob = &blob;
    let mut text = Vec::with_capacity(blob.bytes.len() * 3);
    blob.with(|btf| depsurf_btf::dump::dump_raw(btf, &mut text))
        .map_err(|p| depsurf_image::Error::new(&blob.origin, p))??;
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}
