//! Turning whatever the user has into [`KernelImage`]s.
//!
//! Every file is recognised by its content. Packages and archives are streamed and only the
//! members that describe a kernel are kept. Directories are walked. What was found is then
//! grouped by kernel release (from the image's own banner first, names second), so one call
//! can read a `-dbg` package, the image package and a loose `config` as one image, or a
//! directory of many packages as many images.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::archive::{self, Member, Scratch, Selector};
use crate::boot::{self, BootImage, Inner};
use crate::bytes::Bytes;
use crate::config::Config;
use crate::decompress::{Decoder, Limits, problem_from_io};
use crate::elf::{ElfImage, ElfKind};
use crate::error::{Context, Error, Problem, Result};
use crate::identity::{self, Banner, IdentityBuilder, NameHint};
use crate::image::{BtfBlob, KernelImage, ModuleInfo, PackageRef, Sourced};
use crate::sniff::{Format, sniff};
use crate::sysmap::SystemMap;

/// Called as input is read: (input, bytes done, bytes in all).
pub type ProgressFn = dyn Fn(&str, u64, u64) + Send + Sync;

/// How to open inputs.
#[derive(Clone, Default)]
pub struct OpenOptions {
    /// Base BTF (a vmlinux, or raw BTF) for inputs whose BTF is split: modules.
    pub base_btf: Option<PathBuf>,
    /// Where large archive members are spooled.
    pub scratch: Scratch,
    pub progress: Option<Arc<ProgressFn>>,
}

/// What a piece of input holds.
enum Content {
    Elf(ElfImage),
    Boot(BootImage),
    Btf(Bytes),
    SystemMap(SystemMap),
    Config(Config),
}

/// One thing found in the inputs.
struct Piece {
    origin: String,
    /// Name hints with where they came from (file name, package, control file).
    hints: Vec<(String, NameHint)>,
    banner: Option<Banner>,
    module: Option<ModuleInfo>,
    content: Content,
}

impl Piece {
    fn release(&self) -> Option<String> {
        if let Some(b) = &self.banner {
            return Some(b.release.clone());
        }
        if let Some(m) = &self.module
            && let Some(v) = &m.vermagic
        {
            return v.split_whitespace().next().map(str::to_string);
        }
        self.hints.iter().find_map(|(_, h)| h.release.clone())
    }
}

/// Opens every input and returns the kernel images they describe, in release order.
pub fn open(inputs: &[PathBuf], opts: &OpenOptions) -> Result<Vec<KernelImage>> {
    // Every file to read: given files, and the regular files under given directories.
    let mut files: Vec<(PathBuf, bool)> = Vec::new();
    for path in inputs {
        let meta = std::fs::metadata(path).input(path.display())?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk_dir(path, 0, &mut found).input(path.display())?;
            found.sort();
            files.extend(found.into_iter().map(|f| (f, false)));
        } else {
            files.push((path.clone(), true));
        }
    }
    // Files are read in parallel; results keep the order of the inputs.
    let loaded: Vec<Result<(Vec<Piece>, Vec<PathBuf>)>> = files
        .par_iter()
        .map(|(path, explicit)| {
            let mut pieces = Vec::new();
            let mut skipped = Vec::new();
            load_file(path, opts, &mut pieces, *explicit, &mut skipped)?;
            Ok((pieces, skipped))
        })
        .collect();
    let mut pieces = Vec::new();
    let mut skipped = Vec::new();
    for r in loaded {
        let (p, s) = r?;
        pieces.extend(p);
        skipped.extend(s);
    }
    add_siblings(inputs, opts, &mut pieces, &mut skipped)?;
    if pieces.is_empty() {
        let what = inputs
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Error::new(
            what,
            Problem::Unrecognised(if skipped.is_empty() {
                "no files".into()
            } else {
                format!("none of its {} files is a kernel input", skipped.len())
            }),
        ));
    }
    let base = match &opts.base_btf {
        Some(p) => Some(load_base_btf(p, opts)?),
        None => None,
    };
    let mut images = assemble(pieces, base)?;
    if !skipped.is_empty()
        && let Some(first) = images.first_mut()
    {
        first.notes.push(format!(
            "skipped {} files that are not kernel inputs",
            skipped.len()
        ));
    }
    Ok(images)
}

/// Opens inputs that must describe exactly one kernel.
pub fn open_one(inputs: &[PathBuf], opts: &OpenOptions) -> Result<KernelImage> {
    let mut images = open(inputs, opts)?;
    if images.len() != 1 {
        let names: Vec<String> = images.iter().map(|i| i.name()).collect();
        let what = inputs
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Error::new(
            what,
            Problem::Invalid(format!(
                "these inputs describe {} kernels ({}), expected one",
                names.len(),
                names.join(", ")
            )),
        ));
    }
    Ok(images.remove(0))
}

/// `System.map-<release>` and `config-<release>` lying beside an input file, as in `/boot`
/// or an unpacked package, join the image when no input gave them.
fn add_siblings(
    inputs: &[PathBuf],
    opts: &OpenOptions,
    pieces: &mut Vec<Piece>,
    skipped: &mut Vec<PathBuf>,
) -> Result<()> {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let given: Vec<PathBuf> = inputs.iter().map(|p| canon(p)).collect();
    let releases: std::collections::BTreeSet<String> =
        pieces.iter().filter_map(Piece::release).collect();
    for input in inputs.iter().filter(|p| p.is_file()) {
        let Some(dir) = input.parent() else { continue };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        for rel in &releases {
            let has = |pieces: &[Piece], map: bool| {
                pieces.iter().any(|p| {
                    p.release().as_deref() == Some(rel.as_str())
                        && match &p.content {
                            Content::SystemMap(m) => map && !m.placeholder,
                            Content::Config(_) => !map,
                            _ => false,
                        }
                })
            };
            for (file, map) in [
                (format!("System.map-{rel}"), true),
                (format!("config-{rel}"), false),
            ] {
                let cand = dir.join(file);
                if cand.is_file() && !given.contains(&canon(&cand)) && !has(pieces, map) {
                    load_file(&cand, opts, pieces, false, skipped)?;
                }
            }
        }
    }
    Ok(())
}

fn load_base_btf(path: &Path, opts: &OpenOptions) -> Result<Bytes> {
    let sub = OpenOptions {
        base_btf: None,
        ..opts.clone()
    };
    let img = open_one(&[path.to_path_buf()], &sub)?;
    match img.btf {
        Some(b) if b.base.is_none() => Ok(b.bytes),
        _ => Err(Error::new(
            path.display(),
            Problem::Invalid("no base BTF in this input (it must be a vmlinux or raw BTF)".into()),
        )),
    }
}

/// Regular files under `dir`, not following symbolic links (unpacked packages link the same
/// vmlinux under several names).
fn walk_dir(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if depth > 16 {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let ty = entry.file_type()?;
        if ty.is_dir() {
            walk_dir(&entry.path(), depth + 1, out)?;
        } else if ty.is_file() {
            out.push(entry.path());
        }
    }
    Ok(())
}

/// Reads a file, reporting progress.
struct ProgressReader<R> {
    inner: R,
    name: String,
    done: u64,
    total: u64,
    last: u64,
    progress: Option<Arc<ProgressFn>>,
}

impl<R: Read> Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if let Some(p) = &self.progress
            && (self.done - self.last >= 4 << 20 || n == 0)
        {
            self.last = self.done;
            p(&self.name, self.done, self.total);
        }
        Ok(n)
    }
}

fn read_head(file: &mut File) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(4096);
    file.by_ref().take(4096).read_to_end(&mut head)?;
    Ok(head)
}

/// A file whose first bytes were read to recognise it; reading goes on from the start
/// without seeking, so pipes work too.
struct Peeked {
    head: std::io::Cursor<Vec<u8>>,
    file: File,
}

impl Read for Peeked {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.head.read(buf)?;
        if n > 0 {
            return Ok(n);
        }
        self.file.read(buf)
    }
}

fn file_hint(path: &Path) -> NameHint {
    path.file_name()
        .map(|n| identity::hint_from_file_name(&n.to_string_lossy()))
        .unwrap_or_default()
}

fn load_file(
    path: &Path,
    opts: &OpenOptions,
    pieces: &mut Vec<Piece>,
    explicit: bool,
    skipped: &mut Vec<PathBuf>,
) -> Result<()> {
    let name = path.display().to_string();
    let mut file = File::open(path).input(&name)?;
    let head = read_head(&mut file).input(&name)?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let reader = ProgressReader {
        inner: Peeked {
            head: std::io::Cursor::new(head.clone()),
            file,
        },
        name: name.clone(),
        done: 0,
        total,
        last: 0,
        progress: opts.progress.clone(),
    };
    let hints = vec![("file name".to_string(), file_hint(path))];
    if sniff(&head) == Format::Unknown && !explicit {
        skipped.push(path.to_path_buf());
        return Ok(());
    }
    load_source(&name, reader, &head, hints, opts, pieces)
}

/// Something an input can be read from: streamed, or taken whole.
trait Source: Read + Send {
    fn into_bytes(self) -> std::io::Result<Bytes>;
    fn len(&self) -> Option<u64>;
}

impl Source for ProgressReader<Peeked> {
    fn into_bytes(self) -> std::io::Result<Bytes> {
        let Peeked { head, mut file } = self.inner;
        if let Some(mapped) = Bytes::try_map(&file) {
            return Ok(mapped);
        }
        // Not mappable (a pipe, a sysfs attribute): what was peeked, then the rest.
        let mut data = head.into_inner();
        file.read_to_end(&mut data)?;
        Ok(Bytes::from_vec(data))
    }
    fn len(&self) -> Option<u64> {
        let m = self.inner.file.metadata().ok()?;
        m.is_file().then_some(self.total)
    }
}

/// Reads shared bytes as a stream.
struct BytesReader {
    bytes: Bytes,
    pos: usize,
}

impl Read for BytesReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = &self.bytes[self.pos.min(self.bytes.len())..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

impl Source for BytesReader {
    fn into_bytes(self) -> std::io::Result<Bytes> {
        Ok(self.bytes)
    }
    fn len(&self) -> Option<u64> {
        Some(self.bytes.len() as u64)
    }
}

/// Reads one in-memory input, as if it were a file called `name`, into kernel images. The
/// same recognition and limits apply as for files; fuzzers and tests use it.
pub fn open_bytes(name: &str, data: Vec<u8>, opts: &OpenOptions) -> Result<Vec<KernelImage>> {
    let bytes = Bytes::from_vec(data);
    let head = bytes[..bytes.len().min(4096)].to_vec();
    let hints = vec![("file name".to_string(), identity::hint_from_file_name(name))];
    let mut pieces = Vec::new();
    load_source(
        name,
        BytesReader { bytes, pos: 0 },
        &head,
        hints,
        opts,
        &mut pieces,
    )?;
    assemble(pieces, None)
}

fn load_source<S: Source>(
    name: &str,
    reader: S,
    head: &[u8],
    hints: Vec<(String, NameHint)>,
    opts: &OpenOptions,
    pieces: &mut Vec<Piece>,
) -> Result<()> {
    match sniff(head) {
        Format::Ar => {
            let mut sel = KernelSelector::default();
            let len = reader.len();
            let pkg = archive::read_deb(reader, len, &mut sel, &opts.scratch).input(name)?;
            let mut hints = hints;
            if let Some(p) = &pkg.control.package {
                let hint = NameHint {
                    release: identity::release_from_package(p),
                    package: Some(p.clone()),
                    package_version: pkg.control.version.clone(),
                    arch: pkg.control.architecture.clone(),
                    ubuntu: name.ends_with(".ddeb") || p.ends_with("-dbgsym"),
                };
                hints.insert(0, ("package control file".to_string(), hint));
            }
            if pkg.members.is_empty() {
                return Err(Error::new(
                    name,
                    Problem::Unrecognised(format!(
                        "package {} holds no kernel image, System.map, config or BTF",
                        pkg.control.package.as_deref().unwrap_or("?")
                    )),
                ));
            }
            add_members(name, pkg.members, &hints, pieces)
        }
        Format::Tar => {
            let mut sel = KernelSelector::default();
            let members = archive::read_tar(reader, &mut sel, &opts.scratch, name).input(name)?;
            add_members(name, members, &hints, pieces)
        }
        Format::Compressed(c) => {
            let mut buffered = BufReader::with_capacity(1 << 20, reader);
            buffered.fill_buf().input(name)?;
            let decoder = Decoder::new(buffered, c, Limits::PAYLOAD, true).input(name)?;
            let mut decoded = BufReader::with_capacity(1 << 20, decoder);
            let inner_head = decoded
                .fill_buf()
                .map_err(|e| problem_from_io(e, c))
                .input(name)?
                .to_vec();
            if sniff(&inner_head) == Format::Tar {
                // A BTFHub archive (<release>.btf.tar.xz) or a tarball of kernel files.
                let mut sel = KernelSelector::default();
                let members =
                    archive::read_tar(decoded, &mut sel, &opts.scratch, name).input(name)?;
                return add_members(name, members, &hints, pieces);
            }
            let mut data = Vec::new();
            decoded
                .read_to_end(&mut data)
                .map_err(|e| problem_from_io(e, c))
                .input(name)?;
            let origin = format!("{name} ({} decompressed)", c.name());
            load_bytes(Bytes::from_vec(data), origin, hints, pieces, 0)
        }
        _ => {
            let bytes = reader.into_bytes().input(name)?;
            load_bytes(bytes, name.to_string(), hints, pieces, 0)
        }
    }
}

fn add_members(
    container: &str,
    members: Vec<Member>,
    hints: &[(String, NameHint)],
    pieces: &mut Vec<Piece>,
) -> Result<()> {
    for m in members {
        let mut hints = hints.to_vec();
        hints.insert(0, ("member name".to_string(), member_hint(&m.path)));
        load_bytes(
            m.bytes,
            format!("{container}: {}", m.path),
            hints,
            pieces,
            0,
        )?;
    }
    Ok(())
}

/// A member's name, or its directory for `lib/modules/<release>/vmlinux`-style layouts.
fn member_hint(path: &str) -> NameHint {
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    let mut hint = identity::hint_from_file_name(file);
    if hint.release.is_none() {
        let parent = dir.rsplit('/').next().unwrap_or("");
        hint.release = identity::parse_release(parent).map(|r| r.release);
    }
    hint
}

fn load_bytes(
    bytes: Bytes,
    origin: String,
    hints: Vec<(String, NameHint)>,
    pieces: &mut Vec<Piece>,
    depth: usize,
) -> Result<()> {
    let format = sniff(&bytes[..bytes.len().min(4096)]);
    let mut piece = Piece {
        origin: origin.clone(),
        hints,
        banner: None,
        module: None,
        content: Content::Btf(Bytes::from_vec(Vec::new())),
    };
    piece.content = match format {
        Format::Elf => {
            let elf = ElfImage::parse(bytes).input(&origin)?;
            if elf.kind == ElfKind::Relocatable && elf.section(".modinfo").is_some() {
                piece.module = Some(module_info(&elf));
            } else {
                piece.banner = elf_banner(&elf).and_then(|b| identity::parse_banner(&b));
            }
            Content::Elf(elf)
        }
        Format::Btf => Content::Btf(bytes),
        Format::BzImage
        | Format::Arm64Image
        | Format::EfiZboot
        | Format::ArmZImage
        | Format::S390Image => {
            let boot = boot::unpack(&bytes, format).input(&origin)?;
            piece.banner = boot_banner(&boot);
            Content::Boot(boot)
        }
        Format::SystemMap => Content::SystemMap(SystemMap::parse(&bytes).input(&origin)?),
        Format::Config => Content::Config(Config::parse(&bytes).input(&origin)?),
        Format::Compressed(c) if depth < 2 => {
            let data = crate::decompress::decompress(&bytes, c, Limits::PAYLOAD).input(&origin)?;
            let origin = format!("{origin} ({} decompressed)", c.name());
            return load_bytes(
                Bytes::from_vec(data),
                origin,
                piece.hints,
                pieces,
                depth + 1,
            );
        }
        Format::Ar | Format::Tar => {
            return Err(Error::new(
                origin,
                Problem::Unsupported("an archive inside an archive is not read".into()),
            ));
        }
        other => {
            return Err(Error::new(
                origin,
                Problem::Unrecognised(format!(
                    "{} (expected a .deb/.ddeb, vmlinux, vmlinuz, raw BTF, System.map or config)",
                    other.describe()
                )),
            ));
        }
    };
    pieces.push(piece);
    Ok(())
}

/// The kernel banner of an ELF vmlinux: the `linux_banner` symbol, else a scan of `.rodata`.
pub fn elf_banner(elf: &ElfImage) -> Option<String> {
    if let Ok(found) = elf.find_symbols(&["linux_banner"])
        && let Some((addr, size)) = found[0]
        && let Some(data) = elf.read_addr(addr, size.clamp(16, 1024))
    {
        let end = memchr::memchr(0, data).unwrap_or(data.len());
        if let Ok(s) = std::str::from_utf8(&data[..end]) {
            return Some(s.trim_end().to_string());
        }
    }
    let rodata = elf.section_data(".rodata")?;
    identity::find_banner(&rodata)
}

fn boot_banner(boot: &BootImage) -> Option<Banner> {
    let inner = match &boot.inner {
        Inner::Elf(e) => elf_banner(e),
        Inner::Raw(b) => identity::find_banner(b),
    };
    inner.and_then(|b| identity::parse_banner(&b)).or_else(|| {
        boot.header_version
            .as_deref()
            .and_then(identity::parse_banner)
    })
}

fn module_info(elf: &ElfImage) -> ModuleInfo {
    let mut info = ModuleInfo::default();
    if let Some(data) = elf.section_data(".modinfo") {
        for field in data.split(|&b| b == 0) {
            let field = String::from_utf8_lossy(field);
            if let Some(v) = field.strip_prefix("name=") {
                info.name = Some(v.to_string());
            } else if let Some(v) = field.strip_prefix("vermagic=") {
                info.vermagic = Some(v.trim().to_string());
            }
        }
    }
    info
}

/// BTF somewhere inside a flat kernel binary: the first header that parses.
fn find_btf_in_raw(data: &[u8]) -> Option<(usize, usize)> {
    let mut candidates: Vec<usize> = memchr::memmem::find_iter(data, &[0x9f, 0xeb, 1, 0])
        .chain(memchr::memmem::find_iter(data, &[0xeb, 0x9f, 1, 0]))
        .take(256)
        .collect();
    candidates.sort_unstable();
    for pos in candidates {
        let Ok((_, h)) = depsurf_btf::Btf::peek_header(&data[pos..]) else {
            continue;
        };
        if h.hdr_len != 24 || h.type_off != 0 {
            continue;
        }
        let len = 24u64 + u64::from(h.str_off) + u64::from(h.str_len);
        let Some(end) = pos.checked_add(len as usize).filter(|&e| e <= data.len()) else {
            continue;
        };
        if depsurf_btf::Btf::parse(&data[pos..end]).is_ok() {
            return Some((pos, end));
        }
    }
    None
}

/// Keeps the members of a package or archive that describe a kernel, and stops once the
/// directory holding the kernel binary has been read.
#[derive(Default)]
struct KernelSelector {
    binary_dir: Option<String>,
}

#[derive(PartialEq)]
enum Wanted {
    Binary,
    Other,
}

fn classify_member(path: &str) -> Option<Wanted> {
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    let in_release_dir = identity::parse_release(dir.rsplit('/').next().unwrap_or("")).is_some();
    let binary = ["vmlinux-", "vmlinuz-", "Image-"]
        .iter()
        .any(|p| file.starts_with(p))
        || (in_release_dir && matches!(file, "vmlinux" | "vmlinuz" | "Image"));
    if binary {
        return Some(Wanted::Binary);
    }
    let other = file.starts_with("System.map-")
        || file.starts_with("config-")
        || file.ends_with(".btf")
        || (in_release_dir && matches!(file, "System.map" | "config"));
    other.then_some(Wanted::Other)
}

impl Selector for KernelSelector {
    fn wants(&mut self, path: &str) -> bool {
        match classify_member(path) {
            Some(Wanted::Binary) => {
                self.binary_dir = Some(path.rsplit_once('/').map(|(d, _)| d).unwrap_or("").into());
                true
            }
            Some(Wanted::Other) => true,
            None => false,
        }
    }

    fn done(&mut self, _kept: &[Member], next: &str) -> bool {
        let Some(dir) = &self.binary_dir else {
            return false;
        };
        let next_dir = next.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        next_dir != dir && classify_member(next).is_none()
    }
}

/// Groups pieces by release and builds one image per group.
fn assemble(pieces: Vec<Piece>, base: Option<Bytes>) -> Result<Vec<KernelImage>> {
    let mut groups: BTreeMap<Option<String>, Vec<Piece>> = BTreeMap::new();
    for p in pieces {
        groups.entry(p.release()).or_default().push(p);
    }
    // Pieces that name no kernel join the only kernel there is.
    if groups.len() == 2
        && let Some(orphans) = groups.remove(&None)
        && let Some((_, g)) = groups.iter_mut().next()
    {
        g.extend(orphans);
    }
    groups
        .into_values()
        .map(|g| build_image(g, base.clone()))
        .collect()
}

fn build_image(pieces: Vec<Piece>, base: Option<Bytes>) -> Result<KernelImage> {
    let mut img = KernelImage::default();
    let mut id = IdentityBuilder::default();
    for p in &pieces {
        if let Some(b) = &p.banner {
            id.banner(b);
        }
    }
    for p in &pieces {
        if let Some(m) = &p.module
            && let Some(v) = &m.vermagic
            && let Some(r) = v.split_whitespace().next()
        {
            id.release(r, "module vermagic");
        }
    }
    let release_arch = id_arch(&pieces);
    for p in &pieces {
        let arch = match &p.content {
            Content::Elf(e) => e.debian_arch().map(|a| (a, "ELF header")),
            Content::Boot(b) => match (&b.inner, b.format) {
                (Inner::Elf(e), _) => e.debian_arch().map(|a| (a, "ELF header")),
                (_, Format::Arm64Image | Format::EfiZboot) => Some(("arm64", "boot image header")),
                (_, Format::S390Image) => Some(("s390x", "boot image header")),
                (_, Format::ArmZImage) => Some(("armhf", "boot image header")),
                _ => None,
            },
            _ => None,
        };
        if let Some((mut a, src)) = arch {
            // ELF says "ARM"; the flavour knows whether it is armhf or armel.
            if a == "armhf" && release_arch.as_deref() == Some("armel") {
                a = "armel";
            }
            id.arch(a, src);
        }
    }
    for p in &pieces {
        for (src, hint) in &p.hints {
            id.package(hint, src);
        }
    }
    for p in &pieces {
        if let Content::Elf(e) = &p.content
            && let Some(c) = elf_comment(e)
        {
            id.fallback_compiler(&c);
        }
    }
    let (identity, notes) = id.finish();
    img.identity = identity;
    img.notes = notes;
    for p in &pieces {
        for (src, h) in &p.hints {
            if src != "package control file" {
                continue;
            }
            let pkg = PackageRef {
                name: h.package.clone().unwrap_or_default(),
                version: h.package_version.clone().unwrap_or_default(),
                arch: h.arch.clone().unwrap_or_default(),
            };
            if !img.packages.contains(&pkg) {
                img.packages.push(pkg);
            }
        }
    }

    for p in pieces {
        img.inputs.push(p.origin.clone());
        let origin = p.origin;
        match p.content {
            Content::Elf(e) => {
                if p.module.is_some() {
                    img.module = p.module;
                }
                let better = match &img.elf {
                    None => true,
                    Some(cur) => {
                        cur.value.section(".debug_info").is_none()
                            && e.section(".debug_info").is_some()
                    }
                };
                if better {
                    img.elf = Some(Sourced { origin, value: e });
                } else {
                    img.notes.push(format!(
                        "also read {origin}, not used: another ELF was better"
                    ));
                }
            }
            Content::Boot(b) => {
                if img.boot.is_none() {
                    img.boot = Some(Sourced { origin, value: b });
                } else {
                    img.notes
                        .push(format!("ignored a second boot image: {origin}"));
                }
            }
            Content::Btf(bytes) => {
                if img.btf.is_none() {
                    img.btf = Some(BtfBlob {
                        origin,
                        location: "raw BTF".into(),
                        bytes,
                        base: None,
                    });
                }
            }
            Content::SystemMap(m) => {
                if m.placeholder {
                    img.notes.push(format!(
                        "{origin} is Debian's placeholder System.map; the real one is in the -dbg package"
                    ));
                    if img.system_map.is_none() {
                        img.system_map = Some(Sourced { origin, value: m });
                    }
                } else if img.system_map.as_ref().is_none_or(|s| s.value.placeholder) {
                    img.system_map = Some(Sourced { origin, value: m });
                }
            }
            Content::Config(c) => {
                if img.config.is_none() {
                    img.config = Some(Sourced { origin, value: c });
                }
            }
        }
    }
    // BTF from the ELF images first: they are the kernel itself.
    let from_elf = img
        .elf
        .as_ref()
        .map(|e| (e.origin.clone(), &e.value))
        .or_else(|| match &img.boot {
            Some(b) => match &b.value.inner {
                Inner::Elf(e) => Some((b.origin.clone(), e)),
                Inner::Raw(_) => None,
            },
            None => None,
        })
        .and_then(|(origin, e)| {
            e.section_data(".BTF")
                .filter(|d| !d.is_empty())
                .map(|bytes| BtfBlob {
                    origin,
                    location: "section .BTF".into(),
                    bytes,
                    base: None,
                })
        });
    let from_raw = || match &img.boot {
        Some(b) => match &b.value.inner {
            Inner::Raw(r) => find_btf_in_raw(r).and_then(|(s, e)| {
                r.slice(s..e).map(|bytes| BtfBlob {
                    origin: b.origin.clone(),
                    location: format!("inside the flat kernel at offset {s:#x}"),
                    bytes,
                    base: None,
                })
            }),
            Inner::Elf(_) => None,
        },
        None => None,
    };
    if let Some(found) = from_elf.or_else(from_raw) {
        img.btf = Some(found);
    }
    if let Some(b) = &mut img.btf {
        b.base = base;
    }
    Ok(img)
}

fn id_arch(pieces: &[Piece]) -> Option<String> {
    pieces
        .iter()
        .find_map(|p| p.release())
        .and_then(|r| identity::parse_release(&r))
        .and_then(|r| r.arch.map(str::to_string))
}

/// The compilers named in `.comment`, deduplicated.
pub fn elf_comment(elf: &ElfImage) -> Option<String> {
    let data = elf.section_data(".comment")?;
    let mut seen: Vec<String> = Vec::new();
    for part in data.split(|&b| b == 0) {
        let s = String::from_utf8_lossy(part).trim().to_string();
        if !s.is_empty() && !seen.contains(&s) {
            seen.push(s);
        }
    }
    (!seen.is_empty()).then(|| seen.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_selection_follows_debian_layouts() {
        for p in [
            "usr/lib/debug/boot/vmlinux-6.1.0-47-amd64",
            "boot/vmlinuz-6.1.0-47-amd64",
            "usr/lib/modules/7.2.13+deb14-amd64/vmlinuz",
            "usr/lib/debug/lib/modules/7.2.13+deb14-amd64/vmlinux",
        ] {
            assert!(classify_member(p) == Some(Wanted::Binary), "{p}");
        }
        for p in [
            "boot/System.map-6.1.0-47-amd64",
            "boot/config-6.1.0-47-amd64",
            "usr/lib/modules/7.2.13+deb14-amd64/config",
            "usr/lib/debug/lib/modules/7.2.13+deb14-amd64/System.map",
            "5.4.0-26-generic.btf",
        ] {
            assert!(classify_member(p) == Some(Wanted::Other), "{p}");
        }
        for p in [
            "usr/lib/debug/lib/modules/6.1.0-47-amd64/kernel/fs/ext4/ext4.ko",
            "usr/share/doc/linux-image/changelog.gz",
            "usr/lib/modules/7.2.13+deb14-amd64/modules.order",
        ] {
            assert!(classify_member(p).is_none(), "{p}");
        }
        let mut s = KernelSelector::default();
        assert!(s.wants("usr/lib/debug/boot/vmlinux-6.1.0-47-amd64"));
        assert!(!s.done(&[], "usr/lib/debug/boot/System.map-6.1.0-47-amd64"));
        assert!(s.done(&[], "usr/lib/debug/lib/modules/6.1.0-47-amd64/kernel/a.ko"));
    }

    #[test]
    fn finds_btf_inside_flat_binaries() {
        let mut b = depsurf_btf::builder::Builder::new(depsurf_btf::Endian::Big);
        b.int("int", 4, 32, 1);
        let blob = b.finish();
        let mut data = vec![0u8; 1000];
        data.extend_from_slice(&[0xeb, 0x9f, 1, 0, 0, 0, 0, 99]); // a false start
        let at = data.len();
        data.extend_from_slice(&blob);
        data.extend_from_slice(&[0u8; 100]);
        assert_eq!(find_btf_in_raw(&data), Some((at, at + blob.len())));
    }
}
