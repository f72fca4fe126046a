//! Extraction: a [`KernelImage`] in, a [`Surface`] and the image's [`ImageMeta`] out.
//! Extraction reads images; it never renders.

pub mod btf;
pub mod syscalls;
pub mod trace;
pub mod tracepoints;

use depsurf_image::KernelImage;
use serde::{Deserialize, Serialize};

use crate::model::{Facet, Kind, Surface, TypeRef};

/// Who an image is and where its surface came from; kept in the dataset manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageMeta {
    /// Unique name of the image in its dataset: the release (`6.1.0-47-amd64`).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abi: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flavour: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compiler: Option<String>,
    /// Packages the image was read from: `name version arch`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    /// Where each part of the surface came from (`types: BTF, section .BTF of ...`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Kinds this image's surface lacks, because its inputs could not provide them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<crate::model::Kind>,
    /// Facts about its functions this image's inputs could not give (function status
    /// without DWARF, traceability without the mcount table or symbols): unknown, not none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<crate::model::Facet>,
    /// Why those kinds are missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
    /// Which helpers each program type may call, probed on the kernel booted
    /// (`depsurf verify --record-helpers`); `None` when never probed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helpers: Option<crate::helpers::HelperTable>,
}

impl ImageMeta {
    pub fn from_image(img: &KernelImage) -> ImageMeta {
        let id = &img.identity;
        ImageMeta {
            id: crate::manifest::plain_name(&id.release.clone().unwrap_or_else(|| img.name())),
            release: id.release.clone(),
            version: id.version.clone(),
            series: id.series.clone(),
            abi: id.abi.clone(),
            flavour: id.flavour.clone(),
            arch: id.arch.clone(),
            distro: id.distro.clone(),
            package_version: id.package_version.clone(),
            compiler: id.compiler.clone(),
            packages: img
                .packages
                .iter()
                .map(|p| format!("{} {} {}", p.name, p.version, p.arch))
                .collect(),
            sources: Vec::new(),
            missing: Vec::new(),
            unknown: Vec::new(),
            pending: None,
            helpers: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("{0}: {1}")]
    Image(String, depsurf_image::Problem),
    #[error("{0}: {1}")]
    Dwarf(String, depsurf_dwarf::DwarfError),
}

/// An origin (`/path/to/pkg.deb: member`) without the directories of the machine that read
/// it, for manifests that travel.
fn short(origin: &str) -> String {
    let (file, rest) = match origin.find(": ") {
        Some(i) => (&origin[..i], &origin[i..]),
        None => (origin, ""),
    };
    let file = std::path::Path::new(file)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.to_string());
    format!("{file}{rest}")
}

/// Where types come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TypeSource {
    /// BTF when the image has it, else DWARF (SPEC §3).
    #[default]
    Auto,
    Btf,
    Dwarf,
}

/// How to extract.
#[derive(Clone, Copy, Debug)]
pub struct ExtractOptions {
    pub types: TypeSource,
    /// Compute function status when the image has DWARF and a symbol table.
    pub status: bool,
    /// Keep callers' names in function status (else only their number).
    pub keep_callers: bool,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            types: TypeSource::Auto,
            status: true,
            keep_callers: true,
        }
    }
}

/// Extracts the surface of one image with the default options.
pub fn extract(img: &KernelImage) -> Result<(ImageMeta, Surface), ExtractError> {
    extract_with(img, &ExtractOptions::default())
}

/// Hooks are the members of `struct security_hook_heads` (or, since Linux 6.10 removed it,
/// of `union security_list_options`); each hook's signature is `security_<hook>`'s, else the
/// hook's own function-pointer type.
pub(crate) fn lsm_hooks(s: &mut Surface) {
    let options = s.unions.get("security_list_options");
    let Some(list) = s.structs.get("security_hook_heads").or(options) else {
        return;
    };
    let mut hooks = std::collections::BTreeMap::new();
    for m in &list.members {
        if m.name.starts_with("(anon") {
            continue;
        }
        let own = options
            .and_then(|o| o.member(&m.name))
            .and_then(|om| match &om.ty {
                TypeRef::Ptr(inner) => match &**inner {
                    TypeRef::FuncProto(p) => Some((**p).clone()),
                    _ => None,
                },
                _ => None,
            });
        if let Some(p) = s
            .funcs
            .get(&format!("security_{}", m.name))
            .cloned()
            .or(own)
        {
            hooks.insert(m.name.clone(), p);
        }
    }
    s.lsm_hooks = hooks;
}

/// Records that `kind` could not be extracted, and why.
fn set_missing(meta: &mut ImageMeta, kind: Kind, why: String) {
    if !meta.missing.contains(&kind) {
        meta.missing.push(kind);
    }
    meta.pending = Some(match meta.pending.take() {
        Some(p) => format!("{p}; {why}"),
        None => why,
    });
}

/// A list of names for a message: the first few, and how many more.
fn some(names: &[String]) -> String {
    let mut s = names.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > 5 {
        s.push_str(&format!(" and {} more", names.len() - 5));
    }
    s
}

/// Records that `facet` could not be extracted, and why.
fn set_unknown(meta: &mut ImageMeta, facet: Facet, why: String) {
    if !meta.unknown.contains(&facet) {
        meta.unknown.push(facet);
    }
    meta.pending = Some(match meta.pending.take() {
        Some(p) => format!("{p}; {why}"),
        None => why,
    });
}

/// Tracepoints, system calls, variables and traceability, read from the image's data and
/// symbols (tracepoints need its types).
fn data_kinds<'a>(
    img: &'a KernelImage,
    meta: &mut ImageMeta,
    s: &mut Surface,
    have_types: bool,
) -> Option<depsurf_image::KernelMemory<'a>> {
    let mem = match depsurf_image::KernelMemory::of(img) {
        Ok(m) => m,
        Err(p) => {
            let why = format!(
                "tracepoints, system calls, variables and traceability need the kernel's data \
                 and symbols: {p}"
            );
            set_missing(meta, Kind::Tracepoint, why);
            for k in [Kind::Syscall, Kind::Var] {
                if !meta.missing.contains(&k) {
                    meta.missing.push(k);
                }
            }
            if !meta.unknown.contains(&Facet::Traceability) {
                meta.unknown.push(Facet::Traceability);
            }
            return None;
        }
    };
    let relocated = match mem.relocations() {
        0 => String::new(),
        n => format!(" ({n} relocations applied)"),
    };
    let from = format!(
        "data of {}{relocated}, symbols from {} of {}",
        short(&mem.memory_from),
        mem.symbols_kind,
        short(&mem.symbols_from)
    );
    // Variables by symbol (untyped `__ksym` externs resolve through kallsyms); those BTF
    // describes keep their type.
    let typed = s.vars.len();
    for sym in mem.symbols.iter().filter(|y| y.data) {
        s.vars
            .entry(sym.name.clone())
            .or_insert(crate::model::TypeRef::Void);
    }
    meta.sources.push(format!(
        "vars: {} ({typed} with BTF types); {} of {}",
        s.vars.len(),
        mem.symbols_kind,
        short(&mem.symbols_from)
    ));
    match syscalls::scan(&mem) {
        Ok(tables) => {
            let mut parts = Vec::new();
            for t in tables {
                let mut part = format!("{} {}", t.entries.len(), t.symbol);
                if !t.unimplemented.is_empty() {
                    part.push_str(&format!(
                        " ({} slots not implemented)",
                        t.unimplemented.len()
                    ));
                    s.ni_syscalls
                        .insert(t.abi.to_string(), t.unimplemented.iter().copied().collect());
                }
                if !t.unprefixed.is_empty() || !t.unnamed.is_empty() {
                    part.push_str(&format!(
                        " ({} named by an unprefixed symbol, {} by none)",
                        t.unprefixed.len(),
                        t.unnamed.len()
                    ));
                }
                parts.push(part);
                if t.abi.is_empty() {
                    s.syscalls = t.entries;
                } else {
                    s.compat_syscalls.insert(t.abi.to_string(), t.entries);
                }
            }
            meta.sources
                .push(format!("syscalls: {}; {from}", parts.join(", ")));
        }
        Err(e) => set_missing(meta, Kind::Syscall, format!("system calls: {e}")),
    }
    let arch = img.identity.arch.as_deref().unwrap_or("");
    match trace::scan(&mem, arch, img.config.as_ref().map(|c| &c.value.set)) {
        Ok(t) => {
            let tr = &t.traceability;
            let mut line = format!(
                "traceability: {} of {} function symbols patchable by ftrace ({} mcount records: \
                 {} empty, {} in init code, {} at no function entry); {} with reasons against",
                tr.ftrace.len(),
                t.functions,
                t.records,
                t.empty,
                t.init,
                t.stray,
                tr.exceptions.len(),
            );
            line.push_str(&format!(
                "; kprobe blacklist: {} entries ({} at no function symbol)",
                t.blacklisted, t.blacklist_unmatched
            ));
            for (area, n) in &t.areas {
                line.push_str(&format!(", {n} in {area}"));
            }
            line.push_str(&format!("; {from}"));
            meta.sources.push(line);
            s.traceability = Some(t.traceability);
        }
        Err(e) => set_unknown(meta, Facet::Traceability, format!("traceability: {e}")),
    }
    if !have_types {
        set_missing(
            meta,
            Kind::Tracepoint,
            "tracepoints are read with the image's types".into(),
        );
        return Some(mem);
    }
    match tracepoints::scan(&mem, s) {
        Ok(t) => {
            let mut line = format!(
                "tracepoints: {} of {} events ({} not tracepoints, {} ignored)",
                t.tracepoints.len(),
                t.events,
                t.not_tracepoints,
                t.ignored
            );
            for (what, list) in [
                ("without a class symbol", &t.unnamed),
                ("duplicate names", &t.duplicates),
                ("without __tracepoint_ symbol", &t.without_symbol),
                ("without trace_event_raw_ struct", &t.without_struct),
            ] {
                if !list.is_empty() {
                    line.push_str(&format!("; {} {what}: {}", list.len(), some(list)));
                }
            }
            line.push_str(&format!("; {from}"));
            meta.sources.push(line);
            s.tracepoints = t.tracepoints;
        }
        Err(e) => set_missing(meta, Kind::Tracepoint, format!("tracepoints: {e}")),
    }
    Some(mem)
}

/// What every image records last: its config (or that it has none, so config options are
/// unknown, not unset), and whether its function status is known.
fn finish(img: &KernelImage, meta: &mut ImageMeta, s: &Surface) {
    match &img.config {
        Some(c) => meta.sources.push(format!("config: {}", short(&c.origin))),
        None => {
            meta.sources.push("config: none".into());
            set_missing(
                meta,
                Kind::Config,
                format!(
                    "no config for {}: its options are unknown (Debian ships it in the image \
                     package, as /boot/config-*)",
                    img.name()
                ),
            );
        }
    }
    if s.func_status.is_empty() && !meta.unknown.contains(&Facet::FuncStatus) {
        // No DWARF (or status not asked for): said in sources, not as a problem.
        meta.unknown.push(Facet::FuncStatus);
    }
}

/// Extracts the surface of one image. An image without types still yields what it has
/// (its config), with the type kinds listed as missing.
pub fn extract_with(
    img: &KernelImage,
    opts: &ExtractOptions,
) -> Result<(ImageMeta, Surface), ExtractError> {
    let mut meta = ImageMeta::from_image(img);
    let mut s = Surface::default();
    if let Some(c) = &img.config {
        s.config = c.value.set.clone();
    }
    let dwarf_elf = img
        .best_elf()
        .filter(|(_, e)| e.section(".debug_info").is_some());
    let btf = img.btf.as_ref().filter(|_| opts.types != TypeSource::Dwarf);
    let mut have_types = false;
    if let Some(blob) = btf {
        blob.with(|b| btf::extract_types(b, &mut s))
            .map_err(|p| ExtractError::Image(blob.origin.clone(), p))?;
        meta.sources.push(format!(
            "types: BTF, {} of {}",
            blob.location,
            short(&blob.origin)
        ));
        have_types = true;
    }
    let want_dwarf_types = !have_types && opts.types != TypeSource::Btf;
    let fill_from_dwarf = have_types && opts.types == TypeSource::Auto;
    if let Some((origin, elf)) = dwarf_elf
        && (opts.status || want_dwarf_types || fill_from_dwarf)
    {
        let a = depsurf_dwarf::analyze(
            elf,
            &depsurf_dwarf::Options {
                status: opts.status,
                types: true,
                keep_callers: opts.keep_callers,
            },
        )
        .map_err(|e| ExtractError::Dwarf(short(origin), e))?;
        if let Some(t) = a.types {
            if want_dwarf_types {
                s.structs = t.structs;
                s.unions = t.unions;
                s.enums = t.enums;
                s.funcs = t.funcs;
                meta.sources
                    .push(format!("types: DWARF of {}", short(origin)));
                have_types = true;
            } else if fill_from_dwarf {
                // Functions BTF leaves out (inlined away, or left out by pahole) get their
                // prototypes from DWARF.
                let mut added = 0usize;
                for (name, p) in t.funcs {
                    if let std::collections::btree_map::Entry::Vacant(v) = s.funcs.entry(name) {
                        v.insert(p);
                        added += 1;
                    }
                }
                meta.sources.push(format!(
                    "prototypes of {added} functions without BTF: DWARF of {}",
                    short(origin)
                ));
            }
        }
        if opts.status {
            s.func_status = a.func_status;
            meta.sources.push(format!(
                "function status: DWARF and .symtab of {} ({} units)",
                short(origin),
                a.stats.units
            ));
        }
    }
    if !have_types {
        meta.missing = Kind::TYPES.to_vec();
        meta.pending = Some(format!(
            "no BTF and no DWARF in {}: its types are unknown; extract it again with its BTF \
             (/sys/kernel/btf/vmlinux on that kernel) or its debug image (the -dbg or -dbgsym \
             package)",
            img.name()
        ));
        data_kinds(img, &mut meta, &mut s, false);
        finish(img, &mut meta, &s);
        return Ok((meta, s));
    }
    lsm_hooks(&mut s);
    let tagged = s.kfuncs.len();
    let mem = data_kinds(img, &mut meta, &mut s, true);

    // kfuncs listed by BTF id symbols (the decl tags of newer kernels were read above).
    let mut listed = Vec::new();
    let mut collect = |name: &str| {
        if let Some(f) = btf::btf_id_func(name)
            && !f.starts_with("bpf_lsm_")
        {
            listed.push(f.to_string());
        }
    };
    let symbols_from = if let Some((origin, elf)) = img
        .best_elf()
        .filter(|(_, e)| e.section(".symtab").is_some())
    {
        elf.for_each_symbol(|sym| collect(sym.name))
            .map_err(|p| ExtractError::Image(origin.to_string(), p))?;
        Some(format!("symbols: .symtab of {}", short(origin)))
    } else if let Some(map) = img.system_map.as_ref().filter(|m| !m.value.placeholder) {
        for sym in &map.value.symbols {
            collect(&sym.name);
        }
        Some(format!("symbols: {}", short(&map.origin)))
    } else if let Some(m) = mem.as_ref().filter(|m| m.symbols_kind == "kallsyms") {
        // The boot image alone: its kallsyms hold the BTF id symbols too.
        for sym in m.symbols.iter() {
            collect(&sym.name);
        }
        Some(format!("symbols: kallsyms of {}", short(&m.symbols_from)))
    } else {
        None
    };
    for f in listed {
        if let Some(p) = s.funcs.get(&f) {
            s.kfuncs.insert(f, p.clone());
        }
    }
    match symbols_from {
        Some(line) => meta.sources.push(line),
        None if tagged > 0 => meta
            .sources
            .push("symbols: none (kfuncs only from bpf_kfunc decl tags)".to_string()),
        None => {
            meta.sources.push("symbols: none".to_string());
            set_missing(
                &mut meta,
                Kind::Kfunc,
                format!(
                    "kfuncs are listed by the BTF id symbols, and {} has no symbol table, \
                     System.map or kallsyms with them (and no bpf_kfunc decl tags): give its \
                     System.map or debug image",
                    img.name()
                ),
            );
        }
    }
    finish(img, &mut meta, &s);
    s.resolve_forwards();
    Ok((meta, s))
}
