//! The kernel to boot: a boot image given directly, or the one inside a Debian package
//! (`boot/vmlinuz-<release>`, or `usr/lib/modules/<release>/vmlinuz` in Debian 14's
//! `linux-binary-*` packages), extracted once into the cache.

use std::io::Read;
use std::path::{Path, PathBuf};

use depsurf_image::archive::{self, Member, Selector};
use depsurf_image::sniff::{Format, sniff};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A bootable kernel image on disk.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BootKernel {
    /// The boot image (a file of the cache when it came from a package).
    pub image: PathBuf,
    /// SHA-256 of the boot image, hex.
    pub sha256: String,
    /// What the user named: the package or the image.
    pub input: PathBuf,
    /// The release from the package member's name (`vmlinuz-6.1.0-47-amd64`), when known.
    pub release: Option<String>,
    /// The machine it boots on (`x86_64`).
    pub arch: String,
    /// The uncompressed ELF `vmlinux` from the boot image, when it has a PVH entry point
    /// (`CONFIG_PVH`): QEMU boots it directly, which skips the boot image's decompressor
    /// (about 8 of the 14 seconds a TCG boot of Debian's 6.1 takes).
    #[serde(default)]
    pub pvh_elf: Option<PathBuf>,
}

/// Prepares `input` (a `.deb` holding `boot/vmlinuz-*`, or a boot image) for booting,
/// extracting into `cache_dir/kernels/` when needed.
pub fn prepare(input: &Path, cache_dir: &Path) -> Result<BootKernel> {
    let err = |problem: String| Error::Kernel {
        input: input.display().to_string(),
        problem,
    };
    let mut file = std::fs::File::open(input).map_err(|e| err(e.to_string()))?;
    let mut head = Vec::with_capacity(4096);
    (&mut file)
        .take(4096)
        .read_to_end(&mut head)
        .map_err(|e| err(e.to_string()))?;
    match sniff(&head) {
        Format::Ar => from_package(input, cache_dir),
        Format::BzImage => {
            let bytes = std::fs::read(input).map_err(|e| err(e.to_string()))?;
            let sha256 = sha256_hex(&bytes);
            let dir = cache_dir.join("kernels").join(&sha256[..32]);
            Ok(BootKernel {
                pvh_elf: pvh_elf(&bytes, &dir),
                image: input.to_path_buf(),
                sha256,
                input: input.to_path_buf(),
                release: release_of_name(&input.file_name().unwrap_or_default().to_string_lossy()),
                arch: "x86_64".into(),
            })
        }
        f @ (Format::Arm64Image | Format::EfiZboot | Format::ArmZImage | Format::S390Image) => {
            Err(err(format!(
                "a {} cannot be booted yet: only x86-64 kernels are (see docs/verify-internals.md)",
                f.describe()
            )))
        }
        Format::Elf => Err(err(
            "an ELF vmlinux is not a boot image: give the package or the vmlinuz (bzImage)".into(),
        )),
        other => Err(err(format!(
            "not a kernel package or boot image ({})",
            other.describe()
        ))),
    }
}

/// `6.1.0-47-amd64` from `vmlinuz-6.1.0-47-amd64`.
fn release_of_name(name: &str) -> Option<String> {
    name.strip_prefix("vmlinuz-").map(str::to_string)
}

/// The release a package member's path names: `boot/vmlinuz-<release>` or
/// `[usr/]lib/modules/<release>/vmlinuz`.
fn release_of_member(path: &str) -> Option<String> {
    if let Some(name) = path.strip_prefix("boot/") {
        return release_of_name(name).filter(|r| !r.is_empty() && !r.contains('/'));
    }
    let rest = path.strip_prefix("usr/").unwrap_or(path);
    let rel = rest
        .strip_prefix("lib/modules/")?
        .strip_suffix("/vmlinuz")?;
    (!rel.is_empty() && !rel.contains('/')).then(|| rel.to_string())
}

struct BootMember;

impl Selector for BootMember {
    fn wants(&mut self, path: &str) -> bool {
        release_of_member(path).is_some()
    }
    fn done(&mut self, kept: &[Member], _next: &str) -> bool {
        !kept.is_empty()
    }
}

/// What the cache remembers of a package it extracted.
#[derive(Serialize, Deserialize)]
struct Extracted {
    member: String,
    sha256: String,
    arch: String,
    /// Whether `vmlinux` (a PVH-bootable ELF) was written beside `vmlinuz`.
    pvh: bool,
}

/// The file name of the PVH-bootable ELF in a kernel's cache directory.
const PVH_ELF: &str = "vmlinux";

/// Writes the ELF `vmlinux` of bzImage `bytes` into `dir` when it has a PVH entry note,
/// returning its path (or finds it there from an earlier call). `None` when the kernel
/// cannot be booted that way or the cache cannot be written: the boot image still boots.
fn pvh_elf(bytes: &[u8], dir: &Path) -> Option<PathBuf> {
    let path = dir.join(PVH_ELF);
    if path.exists() {
        return Some(path);
    }
    let unpacked = depsurf_image::boot::unpack(
        &depsurf_image::Bytes::from_vec(bytes.to_vec()),
        Format::BzImage,
    )
    .ok()?;
    let depsurf_image::boot::Inner::Elf(elf) = unpacked.inner else {
        return None;
    };
    if !has_pvh_note(&elf.bytes) {
        return None;
    }
    std::fs::create_dir_all(dir).ok()?;
    depsurf_image::atomic::write_atomic(&path, &elf.bytes).ok()?;
    Some(path)
}

/// Xen's ELF note type for the 32-bit PVH entry point (`XEN_ELFNOTE_PHYS32_ENTRY`), which
/// QEMU's loader looks for to boot an ELF kernel directly.
const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;

/// Whether an ELF kernel carries a note `Xen`/`XEN_ELFNOTE_PHYS32_ENTRY`.
fn has_pvh_note(elf: &[u8]) -> bool {
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
    for ph in phdrs {
        let Ok(Some(mut notes)) = ph.notes(endian, elf) else {
            continue;
        };
        while let Ok(Some(note)) = notes.next() {
            if note.name() == b"Xen" && note.n_type(endian).0 == XEN_ELFNOTE_PHYS32_ENTRY {
                return true;
            }
        }
    }
    false
}

fn from_package(input: &Path, cache_dir: &Path) -> Result<BootKernel> {
    let err = |problem: String| Error::Kernel {
        input: input.display().to_string(),
        problem,
    };
    // The extraction is keyed by the package's identity on disk (path, size, mtime):
    // reading a 70 MB package again only to hash it would cost more than the lookup saves.
    let meta = std::fs::metadata(input).map_err(|e| err(e.to_string()))?;
    let canonical = input.canonicalize().map_err(|e| err(e.to_string()))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let key = sha256_hex(format!("{}\0{}\0{}", canonical.display(), meta.len(), mtime).as_bytes());
    let dir = cache_dir.join("kernels").join(&key[..32]);
    let image = dir.join("vmlinuz");
    let info_path = dir.join("extracted.json");
    if let (Ok(info), true) = (std::fs::read(&info_path), image.exists())
        && let Ok(info) = serde_json::from_slice::<Extracted>(&info)
    {
        return Ok(BootKernel {
            release: release_of_member(&info.member),
            pvh_elf: Some(dir.join(PVH_ELF)).filter(|p| info.pvh && p.exists()),
            image,
            sha256: info.sha256,
            input: input.to_path_buf(),
            arch: info.arch,
        });
    }
    let file = std::fs::File::open(input).map_err(|e| err(e.to_string()))?;
    let scratch = archive::Scratch {
        dir: Some(std::env::temp_dir()),
    };
    let pkg = archive::read_deb(
        std::io::BufReader::new(file),
        Some(meta.len()),
        &mut BootMember,
        &scratch,
    )
    .map_err(|p| err(p.to_string()))?;
    let Some(member) = pkg.members.into_iter().next() else {
        return Err(err(format!(
            "the package ({}) has no boot/vmlinuz-* or usr/lib/modules/*/vmlinuz member: not \
             a kernel image package",
            pkg.control.package.as_deref().unwrap_or("unnamed")
        )));
    };
    let bytes: &[u8] = &member.bytes;
    let arch = match sniff(&bytes[..bytes.len().min(4096)]) {
        Format::BzImage => "x86_64".to_string(),
        other => {
            return Err(err(format!(
                "{} is a {}: only x86-64 kernels can be booted yet",
                member.path,
                other.describe()
            )));
        }
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    depsurf_image::atomic::write_atomic(&image, bytes).map_err(|e| Error::io(&image, e))?;
    let pvh = pvh_elf(bytes, &dir);
    let info = Extracted {
        member: member.path.clone(),
        sha256: sha256_hex(bytes),
        arch: arch.clone(),
        pvh: pvh.is_some(),
    };
    let json = serde_json::to_vec_pretty(&info).expect("plain data serialises");
    depsurf_image::atomic::write_atomic(&info_path, &json).map_err(|e| Error::io(&info_path, e))?;
    Ok(BootKernel {
        image,
        sha256: info.sha256,
        input: input.to_path_buf(),
        release: release_of_member(&member.path),
        arch,
        pvh_elf: pvh,
    })
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_that_are_not_kernels_are_refused_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "hello\n").unwrap();
        let e = prepare(&text, dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("notes.txt") && e.contains("not a kernel package"),
            "{e}"
        );
        let missing = dir.path().join("missing.deb");
        let e = prepare(&missing, dir.path()).unwrap_err().to_string();
        assert!(e.contains("missing.deb"), "{e}");
        // A truncated package names the problem.
        let deb = dir.path().join("cut.deb");
        std::fs::write(
            &deb,
            b"!<arch>\ndebian-binary   0           0     0     100644  4         `\n2.0\n",
        )
        .unwrap();
        let e = prepare(&deb, dir.path()).unwrap_err().to_string();
        assert!(e.contains("cut.deb") && e.contains("data.tar"), "{e}");
    }

    #[test]
    fn boot_images_are_found_in_both_package_layouts() {
        assert_eq!(
            release_of_member("boot/vmlinuz-6.1.0-47-amd64").as_deref(),
            Some("6.1.0-47-amd64")
        );
        assert_eq!(
            release_of_member("usr/lib/modules/7.2.13+deb14-amd64/vmlinuz").as_deref(),
            Some("7.2.13+deb14-amd64")
        );
        assert_eq!(
            release_of_member("lib/modules/5.10.0-32-amd64/vmlinuz").as_deref(),
            Some("5.10.0-32-amd64")
        );
        assert_eq!(release_of_member("boot/System.map-6.1.0-47-amd64"), None);
        assert_eq!(
            release_of_member("usr/lib/modules/7.2.13+deb14-amd64/kernel/x/vmlinuz"),
            None
        );
        assert_eq!(release_of_member("boot/vmlinuz-"), None);
    }

    #[test]
    fn a_bzimage_is_used_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let mut img = vec![0u8; 4096];
        img[0x202..0x206].copy_from_slice(b"HdrS");
        let p = dir.path().join("vmlinuz-6.1.0-47-amd64");
        std::fs::write(&p, &img).unwrap();
        let k = prepare(&p, dir.path()).unwrap();
        assert_eq!(k.image, p);
        assert_eq!(k.release.as_deref(), Some("6.1.0-47-amd64"));
        assert_eq!(k.sha256, sha256_hex(&img));
    }
}

/// A loadable module of a kernel's package, decompressed, for the guest to load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    /// Its name as the kernel knows it (`tcp_bbr`: dashes as underscores).
    pub name: String,
    pub bytes: Vec<u8>,
}

/// `tcp_bbr` from `kernel/net/ipv4/tcp_bbr.ko.xz` (or a name given as `tcp-bbr`).
fn module_name(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let base = [".ko.xz", ".ko.zst", ".ko.gz", ".ko"]
        .iter()
        .find_map(|s| base.strip_suffix(s))
        .unwrap_or(base);
    base.replace('-', "_")
}

/// The modules a module needs: the `depends=` entry of its `.modinfo` section (what depmod
/// reads to write modules.dep, which Debian's packages do not ship: it is made on install).
fn module_depends(ko: &[u8]) -> std::result::Result<Vec<String>, String> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(ko).map_err(|e| format!("not an ELF module: {e}"))?;
    let Some(section) = file.section_by_name(".modinfo") else {
        return Ok(Vec::new());
    };
    let data = section.data().map_err(|e| format!(".modinfo: {e}"))?;
    Ok(data
        .split(|b| *b == 0)
        .filter_map(|entry| entry.strip_prefix(b"depends="))
        .flat_map(|list| {
            String::from_utf8_lossy(list)
                .split(',')
                .map(module_name)
                .collect::<Vec<_>>()
        })
        .filter(|n| !n.is_empty())
        .collect())
}

/// `names` and what they need, dependencies first, each once; `depends` gives a module's
/// direct dependencies.
fn load_order(
    names: &[String],
    depends: &std::collections::HashMap<String, Vec<String>>,
) -> Vec<String> {
    fn visit(
        name: &str,
        depends: &std::collections::HashMap<String, Vec<String>>,
        seen: &mut std::collections::HashSet<String>,
        out: &mut Vec<String>,
    ) {
        if !seen.insert(name.to_string()) {
            return;
        }
        for d in depends.get(name).into_iter().flatten() {
            visit(d, depends, seen, out);
        }
        out.push(name.to_string());
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for n in names {
        visit(&module_name(n), depends, &mut seen, &mut out);
    }
    out
}

/// Keeps the modules of `lib/modules/<release>/` (or `usr/lib/...`) whose names are in
/// `wanted`, until all are found.
struct ModuleMembers<'a> {
    release: &'a str,
    wanted: std::collections::HashSet<String>,
}

impl Selector for ModuleMembers<'_> {
    fn wants(&mut self, path: &str) -> bool {
        let rest = path.strip_prefix("usr/").unwrap_or(path);
        let Some(rel) = rest
            .strip_prefix("lib/modules/")
            .and_then(|r| r.strip_prefix(self.release))
            .and_then(|r| r.strip_prefix('/'))
        else {
            return false;
        };
        rel.contains(".ko") && self.wanted.contains(&module_name(rel))
    }
    fn done(&mut self, kept: &[Member], _next: &str) -> bool {
        kept.len() >= self.wanted.len()
    }
}

/// A module file's bytes, decompressed by its name's suffix.
fn decompress_module(path: &str, bytes: &[u8]) -> std::result::Result<Vec<u8>, String> {
    use depsurf_image::decompress::{Compression, Limits, decompress};
    let format = if path.ends_with(".xz") {
        Compression::Xz
    } else if path.ends_with(".zst") {
        Compression::Zstd
    } else if path.ends_with(".gz") {
        Compression::Gzip
    } else {
        return Ok(bytes.to_vec());
    };
    decompress(bytes, format, Limits::PAYLOAD).map_err(|p| format!("{path}: {p}"))
}

/// The modules `names` and the modules they need (their `.modinfo` says), decompressed, in
/// the order they must be loaded, from the kernel image package `package` of `release`.
/// One pass over the package per level of dependencies.
pub fn modules(package: &Path, release: &str, names: &[String]) -> Result<Vec<Module>> {
    let err = |problem: String| Error::Kernel {
        input: package.display().to_string(),
        problem,
    };
    let mut found: std::collections::HashMap<String, Vec<u8>> = Default::default();
    let mut depends: std::collections::HashMap<String, Vec<String>> = Default::default();
    let mut pending: std::collections::HashSet<String> =
        names.iter().map(|n| module_name(n)).collect();
    while !pending.is_empty() {
        let file = std::fs::File::open(package).map_err(|e| err(e.to_string()))?;
        let len = file.metadata().ok().map(|m| m.len());
        let scratch = archive::Scratch {
            dir: Some(std::env::temp_dir()),
        };
        let mut sel = ModuleMembers {
            release,
            wanted: pending.clone(),
        };
        let pkg = archive::read_deb(std::io::BufReader::new(file), len, &mut sel, &scratch)
            .map_err(|p| err(p.to_string()))?;
        for m in &pkg.members {
            let name = module_name(&m.path);
            let bytes = decompress_module(&m.path, &m.bytes).map_err(&err)?;
            let deps = module_depends(&bytes).map_err(|e| err(format!("{}: {e}", m.path)))?;
            pending.remove(&name);
            depends.insert(name.clone(), deps);
            found.insert(name, bytes);
        }
        if let Some(missing) = pending.iter().next() {
            return Err(err(format!(
                "no module {missing} under lib/modules/{release}/ in the package (Debian 14's \
                 linux-binary-* packages ship their modules apart, in linux-modules-*, which \
                 verify does not read yet)"
            )));
        }
        pending = depends
            .values()
            .flatten()
            .filter(|d| !found.contains_key(*d))
            .cloned()
            .collect();
    }
    Ok(load_order(names, &depends)
        .into_iter()
        .map(|name| Module {
            bytes: found.remove(&name).unwrap_or_default(),
            name,
        })
        .collect())
}

#[cfg(test)]
mod module_tests {
    use super::*;

    #[test]
    fn modules_load_after_what_they_need() {
        let depends: std::collections::HashMap<String, Vec<String>> = [
            ("a", vec!["b", "c_d"]),
            ("b", vec!["c_d"]),
            ("c_d", vec![]),
            ("tcp_bbr", vec![]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into_iter().map(str::to_string).collect()))
        .collect();
        assert_eq!(
            load_order(&["a".into(), "tcp-bbr".into(), "b".into()], &depends),
            ["c_d", "b", "a", "tcp_bbr"]
        );
        assert_eq!(module_name("kernel/lib/c-d.ko.xz"), "c_d");
        assert_eq!(module_name("kernel/net/ipv4/tcp_bbr.ko"), "tcp_bbr");
    }
}
