//! Debian packages (`.deb`, Ubuntu `.ddeb`) and tar archives, streamed: only the members
//! that matter are kept, small ones in memory and large ones in private temporary files, and
//! the rest of the archive is decompressed and skipped without being written anywhere.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Component, Path};

use crate::bytes::Bytes;
use crate::decompress::{Compression, Decoder, Limits, problem_from_io, read_full};
use crate::error::Problem;

/// Members up to this size are kept in memory; larger ones go to a temporary file.
const IN_MEMORY_MAX: u64 = 64 << 20;
/// No single member may claim to be larger than this.
const MEMBER_MAX: u64 = 16 << 30;

/// The fields of a package's `control` file that identify a kernel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Control {
    pub package: Option<String>,
    pub version: Option<String>,
    pub architecture: Option<String>,
}

impl Control {
    fn parse(text: &str) -> Control {
        let mut c = Control::default();
        for line in text.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let v = Some(v.trim().to_string());
            match k {
                "Package" => c.package = v,
                "Version" => c.version = v,
                "Architecture" => c.architecture = v,
                _ => {}
            }
        }
        c
    }
}

/// A member kept from an archive.
#[derive(Clone, Debug)]
pub struct Member {
    /// Its path inside the archive, without a leading `./`.
    pub path: String,
    pub bytes: Bytes,
}

/// Which members to keep, and when the rest of the archive no longer matters.
pub trait Selector {
    /// Whether to keep the regular file at `path`.
    fn wants(&mut self, path: &str) -> bool;
    /// Called after each kept member; `true` ends the walk early.
    fn done(&mut self, _kept: &[Member], _next_path: &str) -> bool {
        false
    }
}

/// Keeps every member (for tools that list or test archives).
pub struct KeepAll;

impl Selector for KeepAll {
    fn wants(&mut self, _: &str) -> bool {
        true
    }
}

/// Where to put large members.
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    /// Directory for temporary files; the system's default when `None`.
    pub dir: Option<std::path::PathBuf>,
}

impl Scratch {
    fn file(&self) -> io::Result<std::fs::File> {
        match &self.dir {
            Some(d) => tempfile::tempfile_in(d),
            None => tempfile::tempfile(),
        }
    }
}

/// The useful contents of a Debian package.
#[derive(Debug, Default)]
pub struct Package {
    pub control: Control,
    /// `data.tar.xz`, `data.tar.zst`, ...
    pub data_member: String,
    pub members: Vec<Member>,
}

/// A member path made safe: relative, no `..`, no leading `./`.
pub fn clean_member_path(raw: &[u8]) -> Result<String, Problem> {
    let s = String::from_utf8_lossy(raw).into_owned();
    let path = Path::new(&s);
    let mut parts = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(Problem::UnsafePath(s));
            }
        }
    }
    Ok(parts.join("/"))
}

/// The members of an `ar` archive in the common format dpkg writes: `!<arch>\n`, then per
/// member a 60-byte header (name of at most 16 bytes, possibly ending in `/`; size in
/// decimal; "`\n"), its data, and a padding byte to an even offset. GNU's symbol and name
/// tables (`/`, `//`) are skipped; long names do not occur in packages.
struct ArReader<R> {
    input: R,
    /// Where the input is.
    pos: u64,
    /// Where the current member's data ends.
    end: u64,
    /// Where the next header starts (after the padding byte of an odd-sized member).
    next: u64,
}

impl<R: Read> ArReader<R> {
    fn new(mut input: R) -> Result<ArReader<R>, Problem> {
        let mut magic = [0u8; 8];
        input
            .read_exact(&mut magic)
            .map_err(|_| Problem::Archive("ar: shorter than its magic number".into()))?;
        if &magic != b"!<arch>\n" {
            return Err(Problem::Archive("ar: bad magic number".into()));
        }
        Ok(ArReader {
            input,
            pos: 8,
            end: 8,
            next: 8,
        })
    }

    /// The next member's name and size; its data is then read through [`Self::data`].
    fn next_member(&mut self) -> Result<Option<(String, u64)>, Problem> {
        loop {
            // Skip what the caller left of the previous member, and its padding.
            let skip = self.next.saturating_sub(self.pos);
            let skipped = io::copy(&mut (&mut self.input).take(skip), &mut io::sink())?;
            self.pos += skipped;
            if skipped < skip {
                return Err(Problem::Archive(format!(
                    "ar: truncated: the archive ends at byte {} inside a member",
                    self.pos
                )));
            }
            let mut h = [0u8; 60];
            let got = read_full(&mut self.input, &mut h)?;
            if got == 0 {
                return Ok(None);
            }
            self.pos += got as u64;
            if got < h.len() {
                return Err(Problem::Archive(format!(
                    "ar: truncated: a member header ends at byte {}",
                    self.pos
                )));
            }
            if &h[58..60] != b"`\n" {
                return Err(Problem::Archive(format!(
                    "ar: bad member header at byte {}",
                    self.pos - 60
                )));
            }
            let size = std::str::from_utf8(&h[48..58])
                .ok()
                .map(str::trim_end)
                .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|t| t.parse::<u64>().ok())
                .ok_or_else(|| {
                    Problem::Archive(format!(
                        "ar: member size {:?} at byte {} is not a number",
                        String::from_utf8_lossy(&h[48..58]),
                        self.pos - 60
                    ))
                })?;
            self.end = self.pos.saturating_add(size);
            self.next = self.end.saturating_add(size & 1);
            let raw = String::from_utf8_lossy(&h[..16]);
            let name = raw.trim_end_matches(' ');
            if name == "/" || name == "//" || name == "/SYM64/" {
                continue;
            }
            return Ok(Some((name.trim_end_matches('/').to_string(), size)));
        }
    }

    /// The current member's data (at most its size).
    fn data(&mut self) -> impl Read + '_ {
        let size = self.end.saturating_sub(self.pos);
        Counted {
            inner: (&mut self.input).take(size),
            pos: &mut self.pos,
        }
    }
}

/// Adds what is read through it to a position.
struct Counted<'p, R> {
    inner: R,
    pos: &'p mut u64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        *self.pos += n as u64;
        Ok(n)
    }
}

/// Reads an `ar` archive holding a Debian package. `len`, when known, is the archive's size:
/// members that claim to run past it are reported as truncated.
pub fn read_deb<R: Read + Send>(
    input: R,
    len: Option<u64>,
    selector: &mut dyn Selector,
    scratch: &Scratch,
) -> Result<Package, Problem> {
    let mut archive = ArReader::new(input)?;
    let mut pkg = Package::default();
    let mut saw_version = false;
    while let Some((name, size)) = archive.next_member()? {
        if let Some(len) = len
            && archive.pos.saturating_add(size) > len
        {
            return Err(Problem::Archive(format!(
                "member {name} claims {size} bytes from offset {}, past the end of the \
                 {len}-byte file (truncated?)",
                archive.pos
            )));
        }
        if name == "debian-binary" {
            saw_version = true;
            continue;
        }
        if name.starts_with("control.tar") {
            let mut sel = ControlSelector;
            let members = read_tar(archive.data(), &mut sel, scratch, &name)?;
            if let Some(m) = members.first() {
                pkg.control = Control::parse(&String::from_utf8_lossy(&m.bytes));
            }
        } else if name.starts_with("data.tar") {
            pkg.members = read_tar(archive.data(), selector, scratch, &name)?;
            pkg.data_member = name;
            // Nothing after data.tar matters.
            break;
        }
    }
    if !saw_version {
        return Err(Problem::Archive(
            "ar archive without a debian-binary member: not a Debian package".into(),
        ));
    }
    if pkg.data_member.is_empty() {
        return Err(Problem::Archive(format!(
            "Debian package without a data.tar member (the archive ends after {} bytes)",
            archive.pos
        )));
    }
    Ok(pkg)
}

struct ControlSelector;

impl Selector for ControlSelector {
    fn wants(&mut self, path: &str) -> bool {
        path == "control"
    }
    fn done(&mut self, kept: &[Member], _: &str) -> bool {
        !kept.is_empty()
    }
}

/// Reads a tar archive, compressed or not (the compression is recognised from its first
/// bytes), keeping the members `selector` wants. `what` names the archive in messages.
pub fn read_tar<R: Read + Send>(
    input: R,
    selector: &mut dyn Selector,
    scratch: &Scratch,
    what: &str,
) -> Result<Vec<Member>, Problem> {
    let mut buffered = BufReader::with_capacity(1 << 20, input);
    let head = buffered.fill_buf()?;
    let compression = Compression::sniff(head);
    match compression {
        Some(c) => {
            let decoder = Decoder::new(buffered, c, Limits::PACKAGE, true)?;
            walk_tar(decoder, selector, scratch, what).map_err(|p| match p {
                Problem::Io(e) => problem_from_io(e, c),
                other => other,
            })
        }
        None => walk_tar(buffered, selector, scratch, what),
    }
}

fn walk_tar<R: Read>(
    input: R,
    selector: &mut dyn Selector,
    scratch: &Scratch,
    what: &str,
) -> Result<Vec<Member>, Problem> {
    let mut archive = tar::Archive::new(input);
    let mut kept: Vec<Member> = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| Problem::Archive(format!("{what}: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| tar_error(what, e))?;
        let path = clean_member_path(&entry.path_bytes())?;
        let header = entry.header();
        let regular = header.entry_type().is_file();
        if !regular {
            continue;
        }
        if selector.done(&kept, &path) {
            break;
        }
        if !selector.wants(&path) {
            continue;
        }
        let size = entry.size();
        if size > MEMBER_MAX {
            return Err(Problem::Archive(format!(
                "{what}: member {path} claims {size} bytes, more than the {MEMBER_MAX}-byte limit"
            )));
        }
        let bytes = if size <= IN_MEMORY_MAX {
            // The header's size bounds what is read, not the first allocation.
            let mut buf = Vec::with_capacity(size.min(1 << 20) as usize);
            entry
                .read_to_end(&mut buf)
                .map_err(|e| tar_error(what, e))?;
            Bytes::from_vec(buf)
        } else {
            let mut file = scratch.file()?;
            {
                let mut w = io::BufWriter::with_capacity(1 << 20, &mut file);
                io::copy(&mut entry, &mut w).map_err(|e| tar_error(what, e))?;
                w.flush()?;
            }
            Bytes::map_file(&file)?
        };
        if (bytes.len() as u64) != size {
            return Err(Problem::Archive(format!(
                "{what}: member {path} is truncated ({} of {size} bytes)",
                bytes.len()
            )));
        }
        kept.push(Member { path, bytes });
    }
    Ok(kept)
}

fn tar_error(what: &str, e: io::Error) -> Problem {
    // Limit and decompression errors travel inside io::Error; keep them intact.
    if e.get_ref().is_some() && e.kind() == io::ErrorKind::Other {
        return Problem::Io(e);
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof => Problem::Archive(format!(
            "{what}: archive ends in the middle of a member (truncated?)"
        )),
        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::Other => {
            Problem::Archive(format!("{what}: {e}"))
        }
        _ => Problem::Io(e),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a tar archive from (path, contents) pairs without path checks.
    pub(crate) fn tar_bytes(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (path, data) in members {
            let mut h = [0u8; 512];
            h[..path.len()].copy_from_slice(path.as_bytes());
            h[100..108].copy_from_slice(b"0000644\0");
            h[108..116].copy_from_slice(b"0000000\0");
            h[116..124].copy_from_slice(b"0000000\0");
            let size = format!("{:011o}\0", data.len());
            h[124..136].copy_from_slice(size.as_bytes());
            h[136..148].copy_from_slice(b"00000000000\0");
            h[156] = b'0';
            h[257..263].copy_from_slice(b"ustar\0");
            h[263..265].copy_from_slice(b"00");
            h[148..156].copy_from_slice(b"        ");
            let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
            h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
            out.extend_from_slice(&h);
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.resize(out.len() + 1024, 0);
        out
    }

    /// Builds an ar archive (a .deb when given debian-binary, control and data members).
    pub(crate) fn ar_bytes(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = b"!<arch>\n".to_vec();
        for (name, data) in members {
            let header = format!(
                "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
                name,
                0,
                0,
                0,
                "100644",
                data.len()
            );
            out.extend_from_slice(header.as_bytes());
            out.extend_from_slice(data);
            if data.len() % 2 == 1 {
                out.push(b'\n');
            }
        }
        out
    }

    use super::KeepAll as All;

    #[test]
    fn reads_a_deb() {
        let control = tar_bytes(&[(
            "./control",
            b"Package: linux-image-x\nVersion: 1.0-1\nArchitecture: arm64\n",
        )]);
        let data = tar_bytes(&[("./boot/config-6.1.0-47-arm64", b"CONFIG_X=y\n")]);
        let deb = ar_bytes(&[
            ("debian-binary", b"2.0\n"),
            ("control.tar", &control),
            ("data.tar", &data),
        ]);
        let pkg = read_deb(
            &deb[..],
            Some(deb.len() as u64),
            &mut All,
            &Scratch::default(),
        )
        .unwrap();
        assert_eq!(pkg.control.architecture.as_deref(), Some("arm64"));
        assert_eq!(pkg.members.len(), 1);
        assert_eq!(pkg.members[0].path, "boot/config-6.1.0-47-arm64");
        assert_eq!(&*pkg.members[0].bytes, b"CONFIG_X=y\n");
    }

    #[test]
    fn escaping_member_paths_are_errors() {
        for bad in ["../etc/passwd", "./boot/../../x", "/abs/path"] {
            let data = tar_bytes(&[(bad, b"x")]);
            let err = read_tar(&data[..], &mut All, &Scratch::default(), "t").unwrap_err();
            assert!(matches!(err, Problem::UnsafePath(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn truncated_archives_are_errors() {
        let data = tar_bytes(&[("./boot/vmlinuz-x", &[7u8; 4000])]);
        for cut in [100, 600, 3000] {
            assert!(
                read_tar(&data[..cut], &mut All, &Scratch::default(), "t").is_err(),
                "{cut}"
            );
        }
        let deb = ar_bytes(&[("debian-binary", b"2.0\n")]);
        assert!(read_deb(&deb[..], None, &mut All, &Scratch::default()).is_err());
        assert!(read_deb(&b"!<arch>\nshort"[..], None, &mut All, &Scratch::default()).is_err());
    }
}
