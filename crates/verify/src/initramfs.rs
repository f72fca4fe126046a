//! The initramfs the guest kernel unpacks: a `newc` cpio archive written here, optionally
//! gzip-compressed.
//!
//! # The newc format
//!
//! Each entry is a 110-byte ASCII header, its NUL-terminated name, padding to a multiple of
//! 4 bytes, the data, and padding to a multiple of 4 again. The header is the magic
//! `070701` followed by 13 fields of 8 hexadecimal digits: inode, mode (file type and
//! permission bits), uid, gid, number of links, modification time, data size, the device's
//! major and minor numbers, the major and minor numbers of the device a special file stands
//! for, the name's size including its NUL, and a checksum (0 in this format). The archive
//! ends with an entry named `TRAILER!!!`. The kernel accepts concatenated and compressed
//! archives; one uncompressed archive is what is written here by default (under emulation,
//! decompressing costs more than reading the larger image).
//!
//! # Contents
//!
//! ```text
//! /init              the guest (0755)
//! /dev/console       character device 5:1 (the kernel opens it for /init's stdio)
//! /dev, /proc, /sys, /tmp, /objects   directories
//! /objects/N.bpf.o   the objects, by index
//! /job.json          the job
//! /lib..., /usr/lib...  the guest's shared libraries and dynamic loader, when it is not
//!                    statically linked
//! ```

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// File type bits of `st_mode`.
const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;

/// The longest name accepted (the kernel's limit is PATH_MAX).
const NAME_MAX: usize = 4095;

/// Writes a newc cpio archive. Entries are written as they are added; [`Cpio::finish`]
/// writes the trailer.
pub struct Cpio<W: Write> {
    out: W,
    ino: u32,
    written: u64,
    /// Every name added, to refuse duplicates and to add missing parent directories.
    names: BTreeSet<String>,
}

impl<W: Write> Cpio<W> {
    pub fn new(out: W) -> Cpio<W> {
        Cpio {
            out,
            ino: 721,
            written: 0,
            names: BTreeSet::new(),
        }
    }

    /// A directory (`0755` for the usual `mode`). Parents are added as needed.
    pub fn dir(&mut self, path: &str, mode: u32) -> io::Result<()> {
        let name = self.prepare(path)?;
        if self.names.contains(&name) {
            return Ok(());
        }
        self.entry(&name, S_IFDIR | (mode & 0o7777), 2, (0, 0), &[])
    }

    /// A regular file. Parents are added as directories as needed.
    pub fn file(&mut self, path: &str, mode: u32, data: &[u8]) -> io::Result<()> {
        let name = self.prepare(path)?;
        self.refuse_duplicate(&name)?;
        self.entry(&name, S_IFREG | (mode & 0o7777), 1, (0, 0), data)
    }

    /// A symbolic link to `target`.
    pub fn symlink(&mut self, path: &str, target: &str) -> io::Result<()> {
        let name = self.prepare(path)?;
        self.refuse_duplicate(&name)?;
        self.entry(&name, S_IFLNK | 0o777, 1, (0, 0), target.as_bytes())
    }

    /// A character device node for device `major:minor`.
    pub fn char_device(&mut self, path: &str, mode: u32, major: u32, minor: u32) -> io::Result<()> {
        let name = self.prepare(path)?;
        self.refuse_duplicate(&name)?;
        self.entry(&name, S_IFCHR | (mode & 0o7777), 1, (major, minor), &[])
    }

    /// Writes the trailer and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.header("TRAILER!!!", 0, 1, (0, 0), 0)?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// How many bytes were written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// A clean relative name (no leading `/`, no `.` or `..` parts), with its parent
    /// directories added.
    fn prepare(&mut self, path: &str) -> io::Result<String> {
        let parts: Vec<&str> = path
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        if parts.is_empty() || parts.contains(&"..") || path.contains('\0') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cpio: unusable path {path:?}"),
            ));
        }
        let name = parts.join("/");
        if name.len() > NAME_MAX {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cpio: path longer than {NAME_MAX} bytes"),
            ));
        }
        for i in 1..parts.len() {
            let parent = parts[..i].join("/");
            if !self.names.contains(&parent) {
                self.entry(&parent, S_IFDIR | 0o755, 2, (0, 0), &[])?;
            }
        }
        Ok(name)
    }

    fn refuse_duplicate(&self, name: &str) -> io::Result<()> {
        if self.names.contains(name) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("cpio: {name} added twice"),
            ));
        }
        Ok(())
    }

    fn entry(
        &mut self,
        name: &str,
        mode: u32,
        nlink: u32,
        rdev: (u32, u32),
        data: &[u8],
    ) -> io::Result<()> {
        let size = u32::try_from(data.len()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cpio: {name} is larger than the format's 4 GiB"),
            )
        })?;
        self.header(name, mode, nlink, rdev, size)?;
        self.out.write_all(data)?;
        self.written += data.len() as u64;
        self.pad()?;
        self.names.insert(name.to_string());
        Ok(())
    }

    fn header(
        &mut self,
        name: &str,
        mode: u32,
        nlink: u32,
        rdev: (u32, u32),
        size: u32,
    ) -> io::Result<()> {
        self.ino += 1;
        let namesize = name.len() as u32 + 1;
        let fields = [
            self.ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev.0, rdev.1, namesize, 0,
        ];
        let mut h = String::with_capacity(110);
        h.push_str("070701");
        for f in fields {
            h.push_str(&format!("{f:08x}"));
        }
        self.out.write_all(h.as_bytes())?;
        self.out.write_all(name.as_bytes())?;
        self.out.write_all(&[0])?;
        self.written += 110 + namesize as u64;
        self.pad()
    }

    fn pad(&mut self) -> io::Result<()> {
        let n = (4 - (self.written % 4) as usize) % 4;
        self.out.write_all(&[0u8; 3][..n])?;
        self.written += n as u64;
        Ok(())
    }
}

/// One entry read back from an archive (for tests and for inspecting an initramfs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpioEntry {
    pub name: String,
    pub mode: u32,
    pub rdev: (u32, u32),
    pub data: Vec<u8>,
}

/// Reads a newc archive up to its trailer.
pub fn read_cpio(mut data: &[u8]) -> Result<Vec<CpioEntry>, String> {
    let mut out = Vec::new();
    let mut offset = 0usize;
    loop {
        if data.len() < 110 {
            return Err(format!("cpio: truncated header at offset {offset}"));
        }
        if &data[..6] != b"070701" {
            return Err(format!("cpio: bad magic at offset {offset}"));
        }
        let field = |i: usize| -> Result<u32, String> {
            let s = std::str::from_utf8(&data[6 + 8 * i..14 + 8 * i])
                .map_err(|_| format!("cpio: non-ASCII header at offset {offset}"))?;
            u32::from_str_radix(s, 16)
                .map_err(|_| format!("cpio: bad field {s:?} at offset {offset}"))
        };
        let mode = field(1)?;
        let size = field(6)? as usize;
        let rdev = (field(9)?, field(10)?);
        let namesize = field(11)? as usize;
        let name_end = 110 + namesize;
        if namesize == 0 || data.len() < name_end {
            return Err(format!("cpio: truncated name at offset {offset}"));
        }
        let name = String::from_utf8_lossy(&data[110..name_end - 1]).into_owned();
        let data_start = name_end.next_multiple_of(4);
        let data_end = data_start + size;
        if data.len() < data_end {
            return Err(format!("cpio: truncated data of {name} at offset {offset}"));
        }
        if name == "TRAILER!!!" {
            return Ok(out);
        }
        out.push(CpioEntry {
            name,
            mode,
            rdev,
            data: data[data_start..data_end].to_vec(),
        });
        let next = data_end.next_multiple_of(4).min(data.len());
        offset += next;
        data = &data[next..];
    }
}

/// What goes into an initramfs besides the fixed layout.
pub struct Contents<'a> {
    /// The guest binary, installed as `/init`.
    pub init: &'a [u8],
    /// Files installed at their own absolute paths (the guest's shared libraries).
    pub libraries: &'a [(PathBuf, Vec<u8>)],
    /// `(path inside the initramfs, bytes)` of each object.
    pub objects: &'a [(String, &'a [u8])],
    /// `/job.json`.
    pub job: &'a [u8],
}

/// Builds the initramfs; `gzip` compresses it.
pub fn build(contents: &Contents<'_>, gzip: bool) -> io::Result<Vec<u8>> {
    let mut cpio = Cpio::new(Vec::with_capacity(contents.init.len() + (1 << 20)));
    for d in ["dev", "proc", "sys", "tmp", "objects", "run"] {
        cpio.dir(d, 0o755)?;
    }
    cpio.char_device("dev/console", 0o600, 5, 1)?;
    cpio.file("init", 0o755, contents.init)?;
    for (path, bytes) in contents.libraries {
        cpio.file(&path.to_string_lossy(), 0o755, bytes)?;
    }
    for (path, bytes) in contents.objects {
        cpio.file(path, 0o644, bytes)?;
    }
    cpio.file("job.json", 0o644, contents.job)?;
    let raw = cpio.finish()?;
    if !gzip {
        return Ok(raw);
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&raw)?;
    enc.finish()
}

/// The shared libraries and dynamic loader a dynamically linked binary needs, as `ldd`
/// resolves them (absolute paths on this machine); empty for a static binary.
pub fn shared_libraries(binary: &Path) -> io::Result<Vec<PathBuf>> {
    let bytes = std::fs::read(binary)?;
    if !has_interpreter(&bytes) {
        return Ok(Vec::new());
    }
    let out = std::process::Command::new("ldd")
        .arg(binary)
        .output()
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("running ldd on {}: {e}", binary.display()),
            )
        })?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "ldd {}: {}",
            binary.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(parse_ldd(&String::from_utf8_lossy(&out.stdout)))
}

/// Paths from `ldd` output: `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)` and the
/// loader's own line `/lib64/ld-linux-x86-64.so.2 (0x...)`.
fn parse_ldd(text: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        if let Some(p) = path
            && p.starts_with('/')
            && !out.iter().any(|o: &PathBuf| o == Path::new(p))
        {
            out.push(PathBuf::from(p));
        }
    }
    out
}

/// Whether an ELF file has a PT_INTERP program header (is dynamically linked).
fn has_interpreter(elf: &[u8]) -> bool {
    use object::read::elf::{FileHeader, ProgramHeader};
    let Ok(header) = object::elf::FileHeader64::<object::Endianness>::parse(elf) else {
        return false;
    };
    let Ok(endian) = header.endian() else {
        return false;
    };
    let Ok(phdrs) = header.program_headers(endian, elf) else {
        return false;
    };
    phdrs
        .iter()
        .any(|p| p.p_type(endian) == object::elf::PT_INTERP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_newc_that_reads_back() {
        let mut c = Cpio::new(Vec::new());
        c.dir("dev", 0o755).unwrap();
        c.char_device("/dev/console", 0o600, 5, 1).unwrap();
        c.file("/a/b/c.txt", 0o644, b"hello").unwrap();
        c.symlink("lib64", "lib").unwrap();
        c.file("odd", 0o755, b"123").unwrap();
        let bytes = c.finish().unwrap();
        assert_eq!(bytes.len() % 4, 0);
        let entries = read_cpio(&bytes).unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "dev",
                "dev/console",
                "a",
                "a/b",
                "a/b/c.txt",
                "lib64",
                "odd"
            ]
        );
        let console = &entries[1];
        assert_eq!(console.mode, S_IFCHR | 0o600);
        assert_eq!(console.rdev, (5, 1));
        assert_eq!(entries[4].data, b"hello");
        assert_eq!(entries[4].mode, S_IFREG | 0o644);
        assert_eq!(entries[5].data, b"lib");
        assert_eq!(entries[5].mode & 0o170000, S_IFLNK);
        assert_eq!(entries[6].data, b"123");
        // The header layout, byte for byte, of the first entry.
        let h = std::str::from_utf8(&bytes[..110]).unwrap();
        assert_eq!(&h[..6], "070701");
        assert_eq!(&h[6 + 8..6 + 16], "000041ed"); // mode: directory 0755
        assert_eq!(&h[6 + 11 * 8..6 + 12 * 8], "00000004"); // "dev" + NUL
        assert_eq!(&bytes[110..114], b"dev\0");
    }

    #[test]
    fn refuses_bad_paths_and_duplicates() {
        let mut c = Cpio::new(Vec::new());
        assert!(c.file("../x", 0o644, b"").is_err());
        assert!(c.file("/", 0o644, b"").is_err());
        assert!(c.file("a\0b", 0o644, b"").is_err());
        c.file("x", 0o644, b"1").unwrap();
        assert!(c.file("/x", 0o644, b"2").is_err());
    }

    #[test]
    fn reader_reports_truncation() {
        let mut c = Cpio::new(Vec::new());
        c.file("x", 0o644, b"some data").unwrap();
        let bytes = c.finish().unwrap();
        for cut in [0, 50, 115, 120, bytes.len() - 120] {
            assert!(read_cpio(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(read_cpio(b"070702").is_err());
    }

    /// When a cpio tool is installed, it lists what was written.
    #[test]
    fn cpio_tool_agrees_when_installed() {
        let mut c = Cpio::new(Vec::new());
        c.char_device("dev/console", 0o600, 5, 1).unwrap();
        c.file("init", 0o755, b"#!/bin/sh\n").unwrap();
        let bytes = c.finish().unwrap();
        let tool = ["cpio", "bsdtar"].into_iter().find(|t| {
            std::process::Command::new(t)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
        let Some(tool) = tool else {
            eprintln!("SKIPPED: neither cpio nor bsdtar is installed");
            return;
        };
        let args: &[&str] = if tool == "cpio" {
            &["-t", "--quiet"]
        } else {
            &["-tf", "-"]
        };
        let mut child = std::process::Command::new(tool)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&bytes).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(listed, ["dev", "dev/console", "init"]);
    }

    #[test]
    fn initramfs_has_the_fixed_layout() {
        let objects = [("objects/0.bpf.o".to_string(), &b"\x7fELF"[..])];
        let libs = [(
            PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
            b"libc".to_vec(),
        )];
        let contents = Contents {
            init: b"guest",
            libraries: &libs,
            objects: &objects,
            job: b"{}",
        };
        let raw = build(&contents, false).unwrap();
        let names: Vec<String> = read_cpio(&raw)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        for want in [
            "dev/console",
            "init",
            "objects/0.bpf.o",
            "job.json",
            "lib/x86_64-linux-gnu/libc.so.6",
            "proc",
            "sys",
            "tmp",
        ] {
            assert!(
                names.iter().any(|n| n == want),
                "{want} missing from {names:?}"
            );
        }
        let gz = build(&contents, true).unwrap();
        let mut d = flate2::read::GzDecoder::new(&gz[..]);
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut d, &mut back).unwrap();
        assert_eq!(back, raw);
    }

    #[test]
    fn ldd_output_is_parsed() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        assert_eq!(
            parse_ldd(text),
            [
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2")
            ]
        );
    }

    /// A dynamically linked system binary needs at least the C library and the loader.
    #[test]
    fn dynamic_binaries_list_their_libraries() {
        let Some(bin) = ["/bin/true", "/usr/bin/true"]
            .into_iter()
            .map(Path::new)
            .find(|p| p.exists())
        else {
            eprintln!("SKIPPED: no /bin/true");
            return;
        };
        let bytes = std::fs::read(bin).unwrap();
        if !has_interpreter(&bytes) {
            eprintln!("SKIPPED: {} is static", bin.display());
            return;
        }
        let libs = shared_libraries(bin).unwrap();
        assert!(
            libs.iter().any(|l| l.to_string_lossy().contains("libc.so")),
            "{libs:?}"
        );
        assert!(
            libs.iter()
                .any(|l| l.to_string_lossy().contains("ld-linux")),
            "{libs:?}"
        );
    }
}
