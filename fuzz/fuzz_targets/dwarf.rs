//! DWARF: function status and types from arbitrary .debug_info/.debug_abbrev/.debug_str/
//! .debug_line contents. The input starts with three little-endian u16 lengths (info,
//! abbrev, str); the rest is .debug_line. The first byte's low bit picks the byte order.
#![no_main]
use std::borrow::Cow;

use depsurf_dwarf::{Options, Sections, analyze_sections};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 6 {
        return;
    }
    let len = |i: usize| usize::from(u16::from_le_bytes([data[i], data[i + 1]]));
    let (a, b, c) = (len(0), len(2), len(4));
    let rest = &data[6..];
    let take = |start: usize, n: usize| rest.get(start..(start + n).min(rest.len())).unwrap_or(&[]);
    let info = take(0, a);
    let abbrev = take(a, b);
    let strs = take(a + b, c);
    let line = rest.get(a + b + c..).unwrap_or(&[]);
    let sections = Sections::from_parts(
        vec![
            (".debug_info", Cow::Borrowed(info)),
            (".debug_abbrev", Cow::Borrowed(abbrev)),
            (".debug_str", Cow::Borrowed(strs)),
            (".debug_line", Cow::Borrowed(line)),
        ],
        data[0] & 1 == 1,
    );
    let _ = analyze_sections(&sections, &[], &Options::default());
});
