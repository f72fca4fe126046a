//! The kernel's own symbol table, `kallsyms`, found inside a boot image that has no symbol
//! table and no System.map beside it. Only kernels built with `CONFIG_KALLSYMS_ALL` list
//! their data symbols there too (Debian's amd64 kernels; not its arm64, armhf, i386,
//! ppc64el or s390x ones), and the data is what tracepoints and system calls are read from.
//!
//! `scripts/kallsyms` writes these tables, each starting at a pointer-size boundary:
//! `kallsyms_num_syms`, `kallsyms_names` (per symbol: a length, then token numbers),
//! `kallsyms_markers` (the offset of every 256th name), `kallsyms_token_table` (256
//! NUL-terminated tokens), `kallsyms_token_index` (256 `u16` offsets into the token table);
//! the addresses, as `kallsyms_offsets` from `kallsyms_relative_base` (or as absolute
//! `kallsyms_addresses`), come before `kallsyms_num_syms` until Linux 6.3 and after the token
//! index since 6.4 (6.2 and 6.3 put `kallsyms_seqs_of_names` between the markers and the
//! tokens). Nothing records where the tables are, so they are found by their contents: a
//! token table holds the digits as one-character tokens at their own codes, `"0"` to `"9"`
//! one after the other, and its index must match it exactly; every other table is then
//! checked against what it must contain.

use crate::symbols::Sym;

/// The tables' layout, as found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kallsyms {
    pub symbols: Vec<Sym>,
    /// Symbol types, by symbol (`T`, `t`, `D`, ...), in the same order.
    pub types: Vec<u8>,
    /// Where `kallsyms_token_table` was found (an address).
    pub token_table: u64,
}

/// How the image is laid out for reading the tables.
pub struct Layout<'a> {
    /// The bytes holding the tables and the address of their first byte.
    pub bytes: &'a [u8],
    pub addr: u64,
    pub ptr_size: u8,
    pub big_endian: bool,
    /// Reads a pointer at an address (relocations applied).
    pub ptr: &'a dyn Fn(u64) -> Option<u64>,
    /// Relocations (address, value), sorted, for a flat image not yet placed at its address.
    pub relocs: &'a [(u64, u64)],
    /// The address of `_text`, where known: since Linux 6.14 the offsets count from it and
    /// there is no `kallsyms_relative_base`.
    pub text: Option<u64>,
}

const MAX_SYMS: u32 = 4 << 20;

impl Layout<'_> {
    fn u16(&self, o: usize) -> Option<u16> {
        let b: [u8; 2] = self.bytes.get(o..o + 2)?.try_into().ok()?;
        Some(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u32(&self, o: usize) -> Option<u32> {
        let b: [u8; 4] = self.bytes.get(o..o + 4)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    fn word(&self, o: usize, size: usize) -> Option<u64> {
        match size {
            4 => self.u32(o).map(u64::from),
            _ => {
                let b: [u8; 8] = self.bytes.get(o..o + 8)?.try_into().ok()?;
                Some(if self.big_endian {
                    u64::from_be_bytes(b)
                } else {
                    u64::from_le_bytes(b)
                })
            }
        }
    }

    fn align(&self) -> usize {
        usize::from(self.ptr_size)
    }

    fn align_up(&self, o: usize) -> usize {
        align_to(o, self.align())
    }

    /// The places a table following offset `o` may start: tables are pointer-aligned up to
    /// Linux 6.x, 4-byte aligned in later ones.
    fn next_table(&self, o: usize) -> Vec<usize> {
        let mut v = vec![o, align_to(o, 4), self.align_up(o)];
        v.dedup();
        v
    }
}

fn align_to(o: usize, a: usize) -> usize {
    o.div_ceil(a) * a
}

/// The token table at `start`, when it is one: 256 tokens, and right after them (aligned)
/// the index that points at each. Returns the tokens and where the index ends.
fn tokens_at<'b>(l: &Layout<'b>, start: usize) -> Option<(Vec<&'b [u8]>, usize)> {
    let mut tokens = Vec::with_capacity(256);
    let mut o = start;
    for _ in 0..256 {
        let len = memchr::memchr(0, l.bytes.get(o..)?)?;
        if len == 0 || len > 64 {
            return None;
        }
        tokens.push(&l.bytes[o..o + len]);
        o += len + 1;
    }
    let index = l.next_table(align_to(o, 2)).into_iter().find(|&index| {
        let mut off = 0usize;
        tokens.iter().enumerate().all(|(i, t)| {
            let ok = l.u16(index + 2 * i).map(usize::from) == Some(off);
            off += t.len() + 1;
            ok
        })
    })?;
    Some((tokens, index + 512))
}

/// Where the token table starts, given where its token `"0"` is: 48 tokens earlier.
fn table_start(l: &Layout<'_>, zero: usize) -> Option<usize> {
    let mut p = zero;
    for _ in 0..48 {
        // The token before ends with the NUL at p - 1 and starts after the NUL before that.
        let end = p.checked_sub(1)?;
        if l.bytes[end] != 0 {
            return None;
        }
        let start = memchr::memrchr(0, &l.bytes[..end]).map_or(0, |i| i + 1);
        if end - start == 0 || end - start > 64 {
            return None;
        }
        p = start;
    }
    Some(p)
}

/// The markers ending at `end`: entries of `size` bytes, strictly increasing from 0, at
/// least 16 of them (a kernel has hundreds). Returns their start and values.
fn markers_ending_at(l: &Layout<'_>, end: usize, size: usize) -> Option<(usize, Vec<u64>)> {
    let mut o = end.checked_sub(size)?;
    let mut values = Vec::new();
    let mut prev = u64::MAX;
    loop {
        let v = l.word(o, size)?;
        if v >= prev {
            return None;
        }
        values.push(v);
        prev = v;
        if v == 0 {
            break;
        }
        o = o.checked_sub(size)?;
    }
    if values.len() < 16 {
        return None;
    }
    values.reverse();
    Some((o, values))
}

/// Names decoded from `kallsyms_names`: (type letter, name) pairs, each name's offset from
/// the table's start, and where the table ends.
type Names = (Vec<(u8, String)>, Vec<usize>, usize);

/// Decodes `count` names starting at `start`; returns them with where they end.
fn decode_names(l: &Layout<'_>, tokens: &[&[u8]], start: usize, count: u32) -> Option<Names> {
    let mut names = Vec::with_capacity(count as usize);
    let mut offsets = Vec::with_capacity(count as usize);
    let mut o = start;
    let mut buf = Vec::new();
    for _ in 0..count {
        offsets.push(o - start);
        let b0 = *l.bytes.get(o)?;
        let (len, hdr) = if b0 & 0x80 != 0 {
            // Names of 128 tokens or more: a two-byte length.
            let b1 = *l.bytes.get(o + 1)?;
            (usize::from(b0 & 0x7f) | (usize::from(b1) << 7), 2)
        } else {
            (usize::from(b0), 1)
        };
        if len == 0 {
            return None;
        }
        let data = l.bytes.get(o + hdr..o + hdr + len)?;
        buf.clear();
        for &t in data {
            buf.extend_from_slice(tokens[usize::from(t)]);
        }
        let (&ty, name) = buf.split_first()?;
        names.push((ty, String::from_utf8_lossy(name).into_owned()));
        o += hdr + len;
    }
    Some((names, offsets, o))
}

/// Finds and reads the kallsyms tables in `l`, if they are there.
pub fn find(l: &Layout<'_>) -> Option<Kallsyms> {
    let digits = b"0\x001\x002\x003\x004\x005\x006\x007\x008\x009\x00";
    for zero in memchr::memmem::find_iter(l.bytes, digits) {
        if let Some(k) = read_at(l, zero) {
            return Some(k);
        }
    }
    None
}

fn read_at(l: &Layout<'_>, zero: usize) -> Option<Kallsyms> {
    let table = table_start(l, zero)?;
    let (tokens, index_end) = tokens_at(l, table)?;
    // The markers end right before the token table, or before kallsyms_seqs_of_names (3
    // bytes per symbol) where that table sits between them. They are `.long` since Linux
    // 4.20 (pointer-sized before).
    let lowest = table.saturating_sub(3 * MAX_SYMS as usize);
    let mut end = table & !3;
    while end > lowest {
        for size in [4, l.align()] {
            if let Some((start, markers)) = markers_ending_at(l, end, size)
                && let Some(k) = read_names(l, &tokens, table, index_end, start, &markers)
            {
                return Some(k);
            }
        }
        end -= 4;
    }
    None
}

/// The names and addresses before markers found at `markers_start`.
fn read_names(
    l: &Layout<'_>,
    tokens: &[&[u8]],
    table: usize,
    index_end: usize,
    markers_start: usize,
    markers: &[u64],
) -> Option<Kallsyms> {
    let blocks = markers.len() as u32;
    // kallsyms_num_syms, then (aligned) the names, which end where the markers start (up to
    // alignment).
    let lowest = markers_start.saturating_sub(64 * 256 * blocks as usize);
    let mut pos = markers_start.checked_sub(4)? & !3;
    while pos > lowest {
        pos -= 4;
        let Some(n) = l.u32(pos) else { continue };
        if n == 0 || n > MAX_SYMS || n.div_ceil(256) != blocks {
            continue;
        }
        let Some((names, name_offsets, names_end)) = l
            .next_table(pos + 4)
            .into_iter()
            .find_map(|start| decode_names(l, tokens, start, n))
        else {
            continue;
        };
        if !l.next_table(names_end).contains(&markers_start) {
            continue;
        }
        if markers
            .iter()
            .enumerate()
            .any(|(i, &m)| name_offsets.get(i * 256).map(|&o| o as u64) != Some(m))
        {
            continue;
        }
        let addrs = addresses(l, pos, index_end, n)?;
        let types = names.iter().map(|(t, _)| *t).collect();
        let symbols = names
            .into_iter()
            .zip(addrs)
            .map(|((ty, name), addr)| Sym {
                addr,
                size: 0,
                name,
                data: crate::symbols::is_data_type(ty),
                code: crate::symbols::is_code_type(ty),
            })
            .collect();
        return Some(Kallsyms {
            symbols,
            types,
            token_table: l.addr + table as u64,
        });
    }
    None
}

/// The symbols' addresses: `kallsyms_offsets` and `kallsyms_relative_base` before
/// `kallsyms_num_syms` (at `num_pos`) or after the token index (ending at `index_end`), or
/// absolute `kallsyms_addresses` before `kallsyms_num_syms`. The right reading is the one
/// whose addresses are sorted (kallsyms sorts by address) and start at the base.
fn addresses(l: &Layout<'_>, num_pos: usize, index_end: usize, n: u32) -> Option<Vec<u64>> {
    let n = n as usize;
    let ps = l.align();
    let offsets_len = l.align_up(4 * n);
    // (where the offsets are, where the base is read from; `None`: the base is `_text`)
    let mut candidates: Vec<(usize, Option<usize>)> = Vec::new();
    // Linux up to 6.3: offsets, relative base, num_syms.
    if let Some(base_pos) = num_pos.checked_sub(ps)
        && let Some(offsets_at) = base_pos.checked_sub(offsets_len)
    {
        candidates.push((offsets_at, Some(base_pos)));
    }
    // Linux 6.4 to 6.13: token index, offsets, relative base; since 6.14: no relative base.
    for offsets_at in l.next_table(index_end) {
        candidates.push((offsets_at, Some(l.align_up(offsets_at + 4 * n))));
        candidates.push((offsets_at, None));
    }
    for (offsets_at, base_pos) in candidates {
        let base = match base_pos {
            Some(p) => {
                let Some(mut base) = (l.ptr)(l.addr + p as u64) else {
                    continue;
                };
                if base == 0 {
                    // A flat arm64 Image keeps the base as a relocation; the image starts at
                    // the base (`_text`), so its slot's address less its value is the slot's
                    // place in the image.
                    if let Some(&(_, v)) = l
                        .relocs
                        .iter()
                        .find(|&&(o, v)| o.wrapping_sub(v) == l.addr + p as u64)
                    {
                        base = v;
                    }
                }
                base
            }
            None => l.text.unwrap_or(0),
        };
        // How an entry counts: from the base, unsigned (up to 6.13); as percpu-absolute when
        // non-negative, else backwards from the base (x86-64 up to 6.13); signed from its own
        // place (Linux 7), or from `_text`.
        let modes: &[Mode] = if base_pos.is_some() {
            &[Mode::Unsigned, Mode::AbsolutePercpu]
        } else if l.text.is_some() {
            &[Mode::PlaceRelative, Mode::Signed]
        } else {
            &[Mode::PlaceRelative]
        };
        for &mode in modes {
            let mut v = Vec::with_capacity(n);
            for i in 0..n {
                let Some(raw) = l.u32(offsets_at + 4 * i) else {
                    break;
                };
                let raw = raw as i32;
                v.push(match mode {
                    Mode::Unsigned => base.wrapping_add(u64::from(raw as u32)),
                    Mode::AbsolutePercpu if raw >= 0 => raw as u64,
                    Mode::AbsolutePercpu => {
                        base.wrapping_sub(1).wrapping_sub(i64::from(raw) as u64)
                    }
                    Mode::Signed => base.wrapping_add(i64::from(raw) as u64),
                    Mode::PlaceRelative => {
                        (l.addr + (offsets_at + 4 * i) as u64).wrapping_add(i64::from(raw) as u64)
                    }
                });
            }
            let low = match mode {
                Mode::PlaceRelative => v.first().copied().unwrap_or(0),
                _ => base,
            };
            if v.len() == n && plausible(&v, low) {
                return Some(v);
            }
        }
    }
    // Absolute addresses (CONFIG_KALLSYMS_BASE_RELATIVE unset).
    let addrs_at = num_pos.checked_sub(l.align_up(ps * n))?;
    let v: Option<Vec<u64>> = (0..n)
        .map(|i| (l.ptr)(l.addr + (addrs_at + ps * i) as u64))
        .collect();
    let v = v?;
    plausible(&v, v.iter().copied().find(|&a| a != 0).unwrap_or(0)).then_some(v)
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    Unsigned,
    AbsolutePercpu,
    Signed,
    PlaceRelative,
}

/// Kernel addresses as kallsyms keeps them: mostly sorted, and most at or above the base.
fn plausible(v: &[u64], base: u64) -> bool {
    if v.is_empty() {
        return false;
    }
    let sorted = v.windows(2).filter(|w| w[0] <= w[1]).count();
    let above = v.iter().filter(|&&a| a >= base).count();
    sorted * 100 >= (v.len() - 1) * 99 && above * 10 >= v.len() * 9
}
