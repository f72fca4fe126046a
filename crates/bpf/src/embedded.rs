//! eBPF objects inside other files: libbpf skeletons embed the whole object file in the
//! loader's read-only data, so each one is an ELF header with `EM_BPF` and a section table
//! that ends inside the holder.

use crate::elf::object_len;

/// (offset, length) of every eBPF object file inside `bytes`, in order, not overlapping.
/// The holder itself counts when it is an eBPF object.
pub fn find(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&bytes[from..], b"\x7fELF") {
        let at = from + i;
        match object_len(&bytes[at..]) {
            Some(len) if len >= 64 => {
                out.push((at, len));
                from = at + len;
            }
            _ => from = at + 1,
        }
    }
    out
}
