//! The kernel's data as untrusted bytes: the kallsyms tables search, relocation scanning of
//! flat kernels, and the tracepoint/system call readers on whatever memory results.
#![no_main]
use depsurf_image::kallsyms::{Layout, find};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, bytes)) = data.split_first() else {
        return;
    };
    let ptr_size = if flags & 1 == 0 { 8 } else { 4 };
    let big_endian = flags & 2 != 0;
    let ptr = |a: u64| -> Option<u64> {
        let o = usize::try_from(a).ok()?;
        let b = bytes.get(o..o.checked_add(usize::from(ptr_size))?)?;
        let mut v = 0u64;
        for &x in if big_endian {
            b.to_vec()
        } else {
            b.iter().rev().copied().collect()
        }
        .iter()
        {
            v = (v << 8) | u64::from(x);
        }
        Some(v)
    };
    let layout = Layout {
        bytes,
        addr: 0,
        ptr_size,
        big_endian,
        ptr: &ptr,
        relocs: &[],
        text: (flags & 4 != 0).then_some(0),
    };
    let _ = find(&layout);
});
