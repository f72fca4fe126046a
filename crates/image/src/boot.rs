//! Boot images (`vmlinuz`) as distributions ship them: find and decompress the kernel inside.
//!
//! * x86 bzImage (amd64, i386): the setup header says where the payload is; it holds a
//!   stripped ELF `vmlinux` that keeps `.BTF`.
//! * arm64 `Image` (Debian ships it uncompressed and signed), `Image.gz` (a gzip stream
//!   around it), and EFI zboot (a PE stub whose header names the payload and its compression).
//! * 32-bit ARM `zImage` and the s390x image: the payload's place is not in a header, so every
//!   compressed stream inside is tried until one holds a kernel.
//! * ppc64el ships a plain ELF `vmlinux`, handled as ELF.

use serde::Serialize;

use crate::bytes::Bytes;
use crate::decompress::{Compression, Limits, decompress};
use crate::elf::ElfImage;
use crate::error::Problem;
use crate::sniff::{Format, sniff};

/// The kernel inside a boot image.
#[derive(Clone, Debug)]
pub enum Inner {
    Elf(ElfImage),
    /// A flat binary (arm64 `Image`, s390x `vmlinux.bin`): no sections, no symbols.
    Raw(Bytes),
}

impl Inner {
    pub fn bytes(&self) -> &Bytes {
        match self {
            Inner::Elf(e) => &e.bytes,
            Inner::Raw(b) => b,
        }
    }
}

/// An unpacked boot image.
#[derive(Clone, Debug)]
pub struct BootImage {
    pub format: Format,
    /// Size of the boot image file.
    pub size: u64,
    /// How the kernel was compressed inside it, and where the stream started.
    pub compression: Option<(Compression, usize)>,
    /// The version string of an x86 setup header (a banner without the compiler).
    pub header_version: Option<String>,
    pub inner: Inner,
}

/// Facts about a boot image for display.
#[derive(Clone, Debug, Serialize)]
pub struct BootSummary {
    pub format: &'static str,
    pub size: u64,
    pub compression: Option<&'static str>,
    pub payload_offset: Option<usize>,
    pub kernel: &'static str,
    pub kernel_size: u64,
}

impl BootImage {
    pub fn summary(&self) -> BootSummary {
        BootSummary {
            format: self.format.describe(),
            size: self.size,
            compression: self.compression.map(|(c, _)| c.name()),
            payload_offset: self.compression.map(|(_, o)| o),
            kernel: match self.inner {
                Inner::Elf(_) => "ELF vmlinux",
                Inner::Raw(_) => "flat binary",
            },
            kernel_size: self.inner.bytes().len() as u64,
        }
    }
}

fn le16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn le32(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn c_string(b: &[u8], off: usize, max: usize) -> Option<String> {
    let rest = b.get(off..)?;
    let rest = &rest[..rest.len().min(max)];
    let end = memchr::memchr(0, rest)?;
    let s = std::str::from_utf8(&rest[..end]).ok()?;
    (!s.is_empty()).then(|| s.to_string())
}

/// Turns decompressed kernel bytes into an [`Inner`].
fn inner_from(data: Vec<u8>) -> Result<Inner, Problem> {
    let bytes = Bytes::from_vec(data);
    if sniff(&bytes) == Format::Elf {
        Ok(Inner::Elf(ElfImage::parse(bytes)?))
    } else {
        Ok(Inner::Raw(bytes))
    }
}

/// Unpacks a boot image of `format` (as [`sniff`] recognised it).
pub fn unpack(bytes: &Bytes, format: Format) -> Result<BootImage, Problem> {
    let size = bytes.len() as u64;
    match format {
        Format::BzImage => unpack_bzimage(bytes),
        Format::Arm64Image => Ok(BootImage {
            format,
            size,
            compression: None,
            header_version: None,
            inner: Inner::Raw(bytes.clone()),
        }),
        Format::EfiZboot => unpack_zboot(bytes),
        Format::ArmZImage | Format::S390Image => unpack_by_search(bytes, format),
        other => Err(Problem::Unrecognised(format!(
            "{} is not a boot image",
            other.describe()
        ))),
    }
}

fn unpack_bzimage(b: &Bytes) -> Result<BootImage, Problem> {
    let bad = |what: &str| Problem::Invalid(format!("bzImage setup header: {what}"));
    let protocol = le16(b, 0x206).ok_or_else(|| bad("truncated"))?;
    if protocol < 0x208 {
        return Err(Problem::Unsupported(format!(
            "bzImage boot protocol {}.{:02} predates payload offsets (2.08); \
             extract the kernel with extract-vmlinux",
            protocol >> 8,
            protocol & 0xff
        )));
    }
    let setup_sects = match b[0x1f1] {
        0 => 4,
        n => usize::from(n),
    };
    let payload_offset = le32(b, 0x248).ok_or_else(|| bad("truncated"))? as usize;
    let payload_length = le32(b, 0x24c).ok_or_else(|| bad("truncated"))? as usize;
    let start = (setup_sects + 1) * 512 + payload_offset;
    let payload = start
        .checked_add(payload_length)
        .and_then(|end| b.get(start..end))
        .ok_or_else(|| {
            bad(&format!(
                "payload [{start:#x}, +{payload_length:#x}) lies outside the {}-byte file",
                b.len()
            ))
        })?;
    let header_version = le16(b, 0x20e)
        .filter(|&p| p != 0)
        .and_then(|p| c_string(b, usize::from(p) + 0x200, 512));
    let compression = Compression::sniff(payload)
        .ok_or_else(|| bad("the payload does not start with a known compression format"))?;
    let data = decompress(payload, compression, Limits::PAYLOAD)?;
    Ok(BootImage {
        format: Format::BzImage,
        size: b.len() as u64,
        compression: Some((compression, start)),
        header_version,
        inner: inner_from(data)?,
    })
}

fn unpack_zboot(b: &Bytes) -> Result<BootImage, Problem> {
    let bad = |what: String| Problem::Invalid(format!("EFI zboot header: {what}"));
    let offset = le32(b, 8).ok_or_else(|| bad("truncated".into()))? as usize;
    let length = le32(b, 12).ok_or_else(|| bad("truncated".into()))? as usize;
    let payload = offset
        .checked_add(length)
        .and_then(|end| b.get(offset..end))
        .ok_or_else(|| {
            bad(format!(
                "payload [{offset:#x}, +{length:#x}) lies outside the file"
            ))
        })?;
    let named = c_string(b, 24, 32).unwrap_or_default();
    let compression = Compression::sniff(payload).ok_or_else(|| {
        bad(format!(
            "payload compressed with {named:?}, which depsurf cannot read"
        ))
    })?;
    let data = decompress(payload, compression, Limits::PAYLOAD)?;
    Ok(BootImage {
        format: Format::EfiZboot,
        size: b.len() as u64,
        compression: Some((compression, offset)),
        header_version: None,
        inner: inner_from(data)?,
    })
}

/// Tries every compressed stream in the image, first to last, and keeps the first that
/// decompresses to something holding a kernel banner.
fn unpack_by_search(b: &Bytes, format: Format) -> Result<BootImage, Problem> {
    let candidates = Compression::find_all(b);
    let mut tried = Vec::new();
    for &(pos, c) in &candidates {
        if c == Compression::Lzo {
            continue;
        }
        match decompress(&b[pos..], c, Limits::PAYLOAD) {
            Ok(data)
                if data.len() >= 64 * 1024 && crate::identity::find_banner(&data).is_some() =>
            {
                return Ok(BootImage {
                    format,
                    size: b.len() as u64,
                    compression: Some((c, pos)),
                    header_version: None,
                    inner: inner_from(data)?,
                });
            }
            Ok(_) => tried.push(format!("{} at {pos:#x} (no kernel inside)", c.name())),
            Err(e @ (Problem::Bomb { .. } | Problem::TooLarge { .. })) => return Err(e),
            Err(_) => tried.push(format!("{} at {pos:#x} (corrupt)", c.name())),
        }
        if tried.len() >= 64 {
            break;
        }
    }
    Err(Problem::Invalid(format!(
        "no compressed kernel found inside the {}{}",
        format.describe(),
        if tried.is_empty() {
            String::new()
        } else {
            format!("; tried {}", tried.join(", "))
        }
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decompress::gzip;

    fn kernel_bytes() -> Vec<u8> {
        let mut k = vec![0x11u8; 70_000];
        k.extend_from_slice(b"Linux version 6.1.0-47-armmp (x@y) (gcc-12 12.2.0) #1 SMP Debian 6.1.170-3 (2026-05-08)\n\0");
        k
    }

    #[test]
    fn zimage_payload_found_by_search() {
        let mut img = vec![0u8; 0x40];
        img[0x24..0x28].copy_from_slice(&0x016f2818u32.to_le_bytes());
        img.extend_from_slice(b"\x1f\x8b\x08 not really gzip");
        let at = img.len();
        img.extend_from_slice(&gzip(&kernel_bytes()));
        img.extend_from_slice(&[1, 2, 3, 4]);
        let bytes = Bytes::from_vec(img);
        assert_eq!(sniff(&bytes), Format::ArmZImage);
        let boot = unpack(&bytes, Format::ArmZImage).unwrap();
        assert_eq!(boot.compression, Some((Compression::Gzip, at)));
        assert!(matches!(boot.inner, Inner::Raw(ref r) if r.len() == kernel_bytes().len()));
    }

    #[test]
    fn bzimage_with_lying_payload_length_is_an_error() {
        let mut img = vec![0u8; 0x1000];
        img[0x1f1] = 1;
        img[0x202..0x206].copy_from_slice(b"HdrS");
        img[0x206..0x208].copy_from_slice(&0x020fu16.to_le_bytes());
        img[0x248..0x24c].copy_from_slice(&0u32.to_le_bytes());
        img[0x24c..0x250].copy_from_slice(&0xffff_0000u32.to_le_bytes());
        let bytes = Bytes::from_vec(img);
        let err = unpack(&bytes, Format::BzImage).unwrap_err();
        assert!(err.to_string().contains("outside"), "{err}");
    }

    #[test]
    fn zimage_without_kernel_is_an_error() {
        let mut img = vec![0u8; 0x40];
        img[0x24..0x28].copy_from_slice(&0x016f2818u32.to_le_bytes());
        img.extend_from_slice(&gzip(b"not a kernel"));
        let err = unpack(&Bytes::from_vec(img), Format::ArmZImage).unwrap_err();
        assert!(err.to_string().contains("no compressed kernel"), "{err}");
    }
}
