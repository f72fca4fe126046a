//! Recognising inputs by their content, never by their names.

use crate::decompress::Compression;

/// What a byte stream is, judged from its first bytes (about 4 KiB are enough).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `ar` archive: a Debian `.deb` or Ubuntu `.ddeb`.
    Ar,
    Tar,
    Elf,
    /// Raw BTF (`/sys/kernel/btf/vmlinux`, pahole's detached BTF).
    Btf,
    Compressed(Compression),
    /// x86 bzImage (`HdrS` boot protocol header).
    BzImage,
    /// arm64 `Image` (uncompressed, possibly with an EFI stub).
    Arm64Image,
    /// EFI zboot: a PE stub wrapping a compressed kernel (arm64, riscv64, loongarch).
    EfiZboot,
    /// 32-bit ARM `zImage`.
    ArmZImage,
    /// s390x boot image.
    S390Image,
    /// A `System.map` symbol listing.
    SystemMap,
    /// A kernel `.config`.
    Config,
    Unknown,
}

impl Format {
    pub fn describe(self) -> &'static str {
        match self {
            Format::Ar => "ar archive (.deb/.ddeb)",
            Format::Tar => "tar archive",
            Format::Elf => "ELF file",
            Format::Btf => "raw BTF",
            Format::Compressed(c) => c.name(),
            Format::BzImage => "x86 bzImage",
            Format::Arm64Image => "arm64 Image",
            Format::EfiZboot => "EFI zboot image",
            Format::ArmZImage => "ARM zImage",
            Format::S390Image => "s390x boot image",
            Format::SystemMap => "System.map",
            Format::Config => "kernel config",
            Format::Unknown => "unknown data",
        }
    }
}

fn at(head: &[u8], off: usize, magic: &[u8]) -> bool {
    head.get(off..off + magic.len()) == Some(magic)
}

/// The s390 boot image starts with an IPL PSW, then these channel commands (at offset 8).
const S390_IPL: [u8; 24] = [
    0x02, 0x00, 0x00, 0x18, 0x60, 0x00, 0x00, 0x50, 0x02, 0x00, 0x00, 0x68, 0x60, 0x00, 0x00, 0x50,
    0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40,
];

/// Recognises `head`, the first bytes of an input.
pub fn sniff(head: &[u8]) -> Format {
    if at(head, 0, b"!<arch>\n") {
        return Format::Ar;
    }
    if at(head, 0, b"\x7fELF") {
        return Format::Elf;
    }
    if at(head, 0, &[0x9f, 0xeb, 1]) || at(head, 0, &[0xeb, 0x9f, 1]) {
        return Format::Btf;
    }
    if at(head, 0x202, b"HdrS") {
        return Format::BzImage;
    }
    if at(head, 0x38, b"ARM\x64") {
        return Format::Arm64Image;
    }
    if at(head, 0, b"MZ") && at(head, 4, b"zimg") {
        return Format::EfiZboot;
    }
    if at(head, 0x24, &0x016f2818u32.to_le_bytes()) || at(head, 0x24, &0x016f2818u32.to_be_bytes())
    {
        return Format::ArmZImage;
    }
    if at(head, 8, &S390_IPL) {
        return Format::S390Image;
    }
    if let Some(c) = Compression::sniff(head) {
        return Format::Compressed(c);
    }
    if at(head, 257, b"ustar") {
        return Format::Tar;
    }
    sniff_text(head)
}

fn sniff_text(head: &[u8]) -> Format {
    // Judge only complete lines.
    let text = match head.iter().rposition(|&b| b == b'\n') {
        Some(end) => &head[..end],
        None => head,
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return Format::Unknown;
    };
    let mut lines = text.lines().filter(|l| !l.is_empty()).peekable();
    if lines.peek().is_none() {
        return Format::Unknown;
    }
    if text.contains("\nCONFIG_")
        || text.starts_with("CONFIG_")
        || text.contains("# CONFIG_")
        || text.contains("Kernel Configuration")
    {
        let config_like = text.lines().all(|l| {
            l.is_empty() || l.starts_with('#') || (l.starts_with("CONFIG_") && l.contains('='))
        });
        if config_like {
            return Format::Config;
        }
    }
    if text
        .lines()
        .filter(|l| !l.is_empty())
        .all(is_system_map_line)
    {
        return Format::SystemMap;
    }
    Format::Unknown
}

/// `ffffffff81000000 T _text`: a hex address, a one-letter type, a symbol name.
pub(crate) fn is_system_map_line(line: &str) -> bool {
    let mut parts = line.split(' ');
    let (Some(addr), Some(ty), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    (8..=16).contains(&addr.len())
        && addr.bytes().all(|b| b.is_ascii_hexdigit())
        && ty.len() == 1
        && ty.as_bytes()[0].is_ascii_graphic()
        && !name.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_text_inputs() {
        assert_eq!(
            sniff(b"ffffffff81000000 T _text\nffffffff81000000 T startup_64\n"),
            Format::SystemMap
        );
        assert_eq!(
            sniff(b"#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86 6.1.170 Kernel Configuration\n#\nCONFIG_64BIT=y\n# CONFIG_IKCONFIG is not set\n"),
            Format::Config
        );
        assert_eq!(sniff(b"hello world\n"), Format::Unknown);
        assert_eq!(sniff(b""), Format::Unknown);
    }
}
