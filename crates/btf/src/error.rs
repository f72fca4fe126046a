use thiserror::Error;

/// Why a blob is not acceptable BTF. Every variant names the place in the blob.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum BtfError {
    #[error("{0} bytes is too short for a BTF header (24 bytes)")]
    TooShort(usize),
    #[error("bad magic {0:#06x} (BTF starts with 0xeb9f in either byte order)")]
    BadMagic(u16),
    #[error("unsupported BTF version {0} (only version 1 exists)")]
    Version(u8),
    #[error("header length {hdr_len} is invalid for a {len}-byte blob")]
    HeaderLen { hdr_len: u32, len: usize },
    #[error("{section} section [{start}, {end}) lies outside the {len} bytes after the header")]
    SectionBounds {
        section: &'static str,
        start: u64,
        end: u64,
        len: usize,
    },
    #[error("type section ends at {type_end}, after the string section starts at {str_off}")]
    SectionLayout { type_end: u64, str_off: u32 },
    #[error("type section offset {0} is not 4-byte aligned")]
    Misaligned(u32),
    #[error("string section {0}")]
    Strings(&'static str),
    #[error("string section is not valid UTF-8 (first bad byte at offset {0})")]
    StringsUtf8(usize),
    #[error("type [{id}] at byte {offset} of the type section: header is truncated")]
    TruncatedHeader { id: u32, offset: usize },
    #[error("type [{id}]: unknown kind {kind}")]
    UnknownKind { id: u32, kind: u8 },
    #[error("type [{id}] ({kind}) needs {need} bytes but only {have} remain in the type section")]
    TruncatedType {
        id: u32,
        kind: &'static str,
        need: usize,
        have: usize,
    },
    #[error("type [{id}]: {what} name offset {offset} is not a string of the string section")]
    BadName {
        id: u32,
        what: &'static str,
        offset: u32,
    },
    #[error("type [{id}]: {what} refers to type {target}, but the last type id is {last}")]
    BadTypeId {
        id: u32,
        what: &'static str,
        target: u32,
        last: u32,
    },
    #[error("type [{id}]: {what}")]
    Invalid { id: u32, what: String },
    #[error("too many types ({0}) for 32-bit type ids")]
    TooManyTypes(usize),
}
