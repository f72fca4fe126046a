//! The on-disk format of a dataset's surfaces: compact, deduplicated, versioned.
//!
//! Every string, type reference, prototype, struct/union body and enum body is stored once,
//! however many images share it; an image is, per kind, a list of (name, definition) pairs.
//! Identical definitions therefore have identical ids, which makes "unchanged" a comparison
//! of two integers.
//!
//! ```text
//! "DEPSURF\0"  format version (u32 LE)  section count (u32 LE)
//! per section: name length (u8), name, offset, compressed length, raw length (u64 LE)
//! sections: zstd-compressed postcard encodings of the tables below
//! ```
//! Sections are decoded on first use, so a struct report never decodes the functions.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::OnceLock;

use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::model::{
    Callers, Collision, Composite, Enum, FuncEntry, FuncStatus, FuncSymbol, InlineAttr, InlineType,
    Kind, Member, Param, Proto, Surface, Tracepoint, TypeRef,
};
use depsurf_model::{FuncTrace, Reasons, Traceability};

pub const MAGIC: &[u8; 8] = b"DEPSURF\0";
/// The format version this build writes and reads.
/// Version 2 sorts the string table and delta-encodes the names of the per-image indexes.
/// Version 3 adds tracepoints and system call tables; version 4 kernel variables; version 5
/// the traceability of function symbols (older stores load with it unknown); version 6 what
/// the research layout needs written back: the `sys_ni_syscall` slots of the system call
/// tables, integer types, the line order of the files an image was read from, and its config
/// file's text (older stores load without them).
pub const FORMAT_VERSION: u32 = 6;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not a depsurf surface store (bad magic)")]
    BadMagic,
    #[error(
        "the store has format version {0}, newer than this depsurf understands ({FORMAT_VERSION}); \
         upgrade depsurf"
    )]
    TooNew(u32),
    #[error("the store is truncated or corrupt: {0}")]
    Corrupt(String),
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
enum TypeNode {
    Void,
    Int(u32),
    Float(u32),
    Struct(u32),
    Union(u32),
    Enum(u32, u32),
    Typedef(u32),
    Fwd(u32, bool),
    Ptr(u32),
    Const(u32),
    Volatile(u32),
    Restrict(u32),
    Array(u32, u32),
    FuncProto(u32),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct ProtoNode {
    params: Vec<(u32, u32)>,
    ret: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct CompositeNode {
    size: u32,
    /// (name, bit offset, bitfield, type)
    members: Vec<(u32, u32, u32, u32)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct EnumNode {
    size: u32,
    values: Vec<(u32, i64)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct TracepointNode {
    class: u32,
    system: u32,
    fmt: u32,
}

/// One image's system call tables: (ABI name, ""` for the native table; its (number, name)
/// entries).
type SyscallTables = Vec<(u32, Vec<(u32, u32)>)>;

/// A system call table: number → name.
pub type SyscallTable = BTreeMap<u32, String>;

/// One image's research-layout extras (version 6): the `sys_ni_syscall` slots per table
/// (ABI name, delta-encoded numbers), integer types (name, size), and the file orders
/// (directory name, names in file order).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct ExtrasWire {
    ni_syscalls: Vec<(u32, Vec<u32>)>,
    ints: Vec<(u32, u32)>,
    order: Vec<(u32, Vec<u32>)>,
}

/// One image's traceability as stored: the names ftrace can patch, and the names with
/// reasons against them (each list delta-encoded, as the per-image indexes are), with the
/// reasons' bits apart so that they compress on their own.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct TraceWire {
    kprobe_on_notrace: bool,
    ftrace: Vec<u32>,
    exceptions: Vec<u32>,
    reasons: Vec<u8>,
}

/// One image's traceability, decoded: sorted string ids.
#[derive(Clone, Debug, Default)]
struct TraceIndex {
    kprobe_on_notrace: bool,
    ftrace: Vec<u32>,
    exceptions: Vec<(u32, Reasons)>,
}

fn delta_encode(ids: impl Iterator<Item = u32>) -> Vec<u32> {
    let mut prev = 0u32;
    ids.map(|n| {
        let d = n.wrapping_sub(prev);
        prev = n;
        d
    })
    .collect()
}

fn delta_decode(deltas: &[u32]) -> Vec<u32> {
    let mut prev = 0u32;
    deltas
        .iter()
        .map(|&d| {
            prev = prev.wrapping_add(d);
            prev
        })
        .collect()
}

impl TraceIndex {
    fn to_wire(&self) -> TraceWire {
        TraceWire {
            kprobe_on_notrace: self.kprobe_on_notrace,
            ftrace: delta_encode(self.ftrace.iter().copied()),
            exceptions: delta_encode(self.exceptions.iter().map(|e| e.0)),
            reasons: self.exceptions.iter().map(|e| e.1.0).collect(),
        }
    }

    fn from_wire(w: &TraceWire) -> Result<TraceIndex, String> {
        if w.exceptions.len() != w.reasons.len() {
            return Err("traceability: exceptions and reasons differ in number".into());
        }
        Ok(TraceIndex {
            kprobe_on_notrace: w.kprobe_on_notrace,
            ftrace: delta_decode(&w.ftrace),
            exceptions: delta_decode(&w.exceptions)
                .into_iter()
                .zip(w.reasons.iter().map(|&r| Reasons(r)))
                .collect(),
        })
    }
}

/// An entry without its address: addresses differ between builds, the rest often does not,
/// so addresses live in a per-image list and entries are shared.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct EntryNode {
    external: bool,
    loc: u32,
    file: u32,
    inline: u8,
    caller_inline: (u32, Vec<u32>),
    caller_func: (u32, Vec<u32>),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct SymbolNode {
    name: u32,
    section: u32,
    bind: u32,
    size: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct StatusNode {
    collision: u8,
    inline: u8,
    entries: Vec<EntryNode>,
    symbols: Vec<SymbolNode>,
}

const COLLISIONS: [Collision; 5] = [
    Collision::UniqueGlobal,
    Collision::UniqueStatic,
    Collision::StaticDuplication,
    Collision::StaticStaticCollision,
    Collision::StaticGlobalCollision,
];
const INLINE_TYPES: [InlineType; 3] = [InlineType::No, InlineType::Full, InlineType::Selective];
const INLINE_ATTRS: [InlineAttr; 5] = [
    InlineAttr::NotDeclaredNotInlined,
    InlineAttr::NotDeclaredInlined,
    InlineAttr::DeclaredNotInlined,
    InlineAttr::DeclaredInlined,
    InlineAttr::SeenUnknown,
];

/// The address symbol addresses are stored relative to: the first entry address, else base.
fn anchor(entry_addrs: impl Iterator<Item = u64>, base: u64) -> u64 {
    entry_addrs.into_iter().find(|&a| a != 0).unwrap_or(base)
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn pos<T: PartialEq>(all: &[T], v: &T) -> u8 {
    all.iter().position(|x| x == v).unwrap_or(0) as u8
}

/// The addresses of one image's function status, in index order: for each name, its
/// entries' addresses (0 for none, else offset from `base` plus 1), then its symbols'
/// addresses as zigzag-encoded differences from the name's first entry address (or from
/// `base`): a function's symbol usually sits at its entry's address, a difference of 0.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct ImageAddrs {
    base: u64,
    addrs: Vec<u64>,
}

#[derive(Default, Serialize, Deserialize)]
struct Strings {
    /// All strings back to back.
    text: String,
    /// End offset of each string in `text`.
    ends: Vec<u32>,
}

impl Strings {
    fn get(&self, id: u32) -> &str {
        let i = id as usize;
        let end = self.ends.get(i).copied().unwrap_or(0) as usize;
        let start = if i == 0 {
            0
        } else {
            self.ends.get(i - 1).copied().unwrap_or(0) as usize
        };
        self.text.get(start..end).unwrap_or("")
    }
}

#[derive(Default, Serialize, Deserialize)]
struct TypeTables {
    types: Vec<TypeNode>,
    protos: Vec<ProtoNode>,
}

/// Per image, for one kind: (name id, definition id), sorted by name.
#[derive(Default)]
struct KindIndex {
    images: Vec<Vec<(u32, u32)>>,
}

/// A [`KindIndex`] as stored: from version 2, each name id as the difference from the
/// previous one (they increase, the string table being sorted).
#[derive(Default, Serialize, Deserialize)]
struct KindIndexWire {
    images: Vec<Vec<(u32, u32)>>,
}

impl KindIndex {
    fn to_wire(&self) -> KindIndexWire {
        KindIndexWire {
            images: self
                .images
                .iter()
                .map(|img| {
                    let mut prev = 0u32;
                    img.iter()
                        .map(|&(n, d)| {
                            let delta = n.wrapping_sub(prev);
                            prev = n;
                            (delta, d)
                        })
                        .collect()
                })
                .collect(),
        }
    }

    fn from_wire(w: KindIndexWire, delta: bool) -> KindIndex {
        if !delta {
            return KindIndex { images: w.images };
        }
        KindIndex {
            images: w
                .images
                .into_iter()
                .map(|img| {
                    let mut prev = 0u32;
                    img.into_iter()
                        .map(|(d, def)| {
                            prev = prev.wrapping_add(d);
                            (prev, def)
                        })
                        .collect()
                })
                .collect(),
        }
    }
}

struct Interner<T: Hash + Eq + Clone> {
    items: Vec<T>,
    ids: HashMap<T, u32>,
}

impl<T: Hash + Eq + Clone> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            items: Vec::new(),
            ids: HashMap::new(),
        }
    }
}

impl<T: Hash + Eq + Clone> Interner<T> {
    fn id(&mut self, v: T) -> u32 {
        if let Some(&id) = self.ids.get(&v) {
            return id;
        }
        let id = self.items.len() as u32;
        self.items.push(v.clone());
        self.ids.insert(v, id);
        id
    }
}

/// zstd level for sections: fast, within 15% of the smallest.
pub const DEFAULT_LEVEL: i32 = 12;
/// zstd level for the smallest stores (the bundled dataset), several times slower.
pub const COMPACT_LEVEL: i32 = 19;

/// Builds a store from surfaces.
#[derive(Default)]
pub struct StoreBuilder {
    /// zstd level of the sections; [`DEFAULT_LEVEL`] when `None`.
    pub level: Option<i32>,
    strings: Interner<String>,
    types: Interner<TypeNode>,
    protos: Interner<ProtoNode>,
    composites: Interner<CompositeNode>,
    enums: Interner<EnumNode>,
    statuses: Interner<StatusNode>,
    tracepoints: Interner<TracepointNode>,
    syscalls: Vec<SyscallTables>,
    status_index: KindIndex,
    status_addrs: Vec<ImageAddrs>,
    traces: Vec<Option<TraceIndex>>,
    extras: Vec<ExtrasWire>,
    config_texts: Vec<Option<String>>,
    index: HashMap<Kind, KindIndex>,
    images: usize,
    ids: Vec<String>,
}

impl StoreBuilder {
    fn s(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.strings.ids.get(s) {
            return id;
        }
        self.strings.id(s.to_string())
    }

    fn ty(&mut self, t: &TypeRef) -> u32 {
        let node = match t {
            TypeRef::Void => TypeNode::Void,
            TypeRef::Int(n) => TypeNode::Int(self.s(n)),
            TypeRef::Float(n) => TypeNode::Float(self.s(n)),
            TypeRef::Struct(n) => TypeNode::Struct(self.s(n)),
            TypeRef::Union(n) => TypeNode::Union(self.s(n)),
            TypeRef::Enum { name, size } => TypeNode::Enum(self.s(name), *size),
            TypeRef::Typedef(n) => TypeNode::Typedef(self.s(n)),
            TypeRef::Fwd { name, union } => TypeNode::Fwd(self.s(name), *union),
            TypeRef::Ptr(i) => TypeNode::Ptr(self.ty(i)),
            TypeRef::Const(i) => TypeNode::Const(self.ty(i)),
            TypeRef::Volatile(i) => TypeNode::Volatile(self.ty(i)),
            TypeRef::Restrict(i) => TypeNode::Restrict(self.ty(i)),
            TypeRef::Array { nelems, elem } => TypeNode::Array(*nelems, self.ty(elem)),
            TypeRef::FuncProto(p) => TypeNode::FuncProto(self.proto(p)),
        };
        self.types.id(node)
    }

    fn proto(&mut self, p: &Proto) -> u32 {
        let node = ProtoNode {
            params: p
                .params
                .iter()
                .map(|param| (self.s(&param.name), self.ty(&param.ty)))
                .collect(),
            ret: self.ty(&p.ret),
        };
        self.protos.id(node)
    }

    fn composite(&mut self, c: &Composite) -> u32 {
        let node = CompositeNode {
            size: c.size,
            members: c
                .members
                .iter()
                .map(|m| (self.s(&m.name), m.bit_offset, m.bitfield, self.ty(&m.ty)))
                .collect(),
        };
        self.composites.id(node)
    }

    fn enumeration(&mut self, e: &Enum) -> u32 {
        let node = EnumNode {
            size: e.size,
            values: e.values.iter().map(|(n, v)| (self.s(n), *v)).collect(),
        };
        self.enums.id(node)
    }

    fn callers(&mut self, c: &Callers) -> (u32, Vec<u32>) {
        (c.count, c.names.iter().map(|n| self.s(n)).collect())
    }

    fn status(&mut self, st: &FuncStatus) -> u32 {
        let mut entries = Vec::with_capacity(st.entries.len());
        for e in &st.entries {
            entries.push(EntryNode {
                external: e.external,
                loc: self.s(&e.loc),
                file: self.s(&e.file),
                inline: pos(&INLINE_ATTRS, &e.inline),
                caller_inline: self.callers(&e.caller_inline),
                caller_func: self.callers(&e.caller_func),
            });
        }
        let symbols = st
            .symbols
            .iter()
            .map(|s| SymbolNode {
                name: self.s(&s.name),
                section: self.s(&s.section),
                bind: self.s(&s.bind),
                size: s.size,
            })
            .collect();
        let node = StatusNode {
            collision: pos(&COLLISIONS, &st.collision),
            inline: pos(&INLINE_TYPES, &st.inline),
            entries,
            symbols,
        };
        self.statuses.id(node)
    }

    fn push(&mut self, kind: Kind, entries: Vec<(u32, u32)>) {
        let idx = self.index.entry(kind).or_default();
        idx.images.resize_with(self.images, Vec::new);
        idx.images.push(entries);
    }

    /// Adds the surface of image `id`; images are numbered in the order added.
    pub fn add(&mut self, id: &str, s: &Surface) {
        self.ids.push(id.to_string());
        let mut e = Vec::new();
        for (n, c) in &s.structs {
            e.push((self.s(n), self.composite(c)));
        }
        self.push(Kind::Struct, std::mem::take(&mut e));
        for (n, c) in &s.unions {
            e.push((self.s(n), self.composite(c)));
        }
        self.push(Kind::Union, std::mem::take(&mut e));
        for (n, en) in &s.enums {
            e.push((self.s(n), self.enumeration(en)));
        }
        self.push(Kind::Enum, std::mem::take(&mut e));
        for (kind, map) in [
            (Kind::Func, &s.funcs),
            (Kind::Lsm, &s.lsm_hooks),
            (Kind::Kfunc, &s.kfuncs),
        ] {
            for (n, p) in map {
                e.push((self.s(n), self.proto(p)));
            }
            self.push(kind, std::mem::take(&mut e));
        }
        for (n, tp) in &s.tracepoints {
            let node = TracepointNode {
                class: self.s(&tp.class),
                system: self.s(&tp.system),
                fmt: self.s(&tp.fmt),
            };
            e.push((self.s(n), self.tracepoints.id(node)));
        }
        self.push(Kind::Tracepoint, std::mem::take(&mut e));
        for (n, t) in &s.vars {
            e.push((self.s(n), self.ty(t)));
        }
        self.push(Kind::Var, std::mem::take(&mut e));
        for (n, v) in &s.config {
            e.push((self.s(n), self.s(v)));
        }
        self.push(Kind::Config, e);
        let mut tables = Vec::new();
        for (abi, table) in std::iter::once(("", &s.syscalls))
            .chain(s.compat_syscalls.iter().map(|(abi, t)| (abi.as_str(), t)))
        {
            if abi.is_empty() || !table.is_empty() {
                let entries = table.iter().map(|(&nr, n)| (nr, self.s(n))).collect();
                tables.push((self.s(abi), entries));
            }
        }
        self.syscalls.resize_with(self.images, Vec::new);
        self.syscalls.push(tables);
        let mut st = Vec::with_capacity(s.func_status.len());
        let base = s
            .func_status
            .values()
            .flat_map(|f| {
                f.entries
                    .iter()
                    .map(|e| e.addr)
                    .filter(|&a| a != 0)
                    .chain(f.symbols.iter().map(|y| y.addr))
            })
            .min()
            .unwrap_or(0);
        let mut addrs = Vec::new();
        for (n, f) in &s.func_status {
            st.push((self.s(n), self.status(f)));
            for e in &f.entries {
                addrs.push(if e.addr == 0 {
                    0
                } else {
                    e.addr.wrapping_sub(base).wrapping_add(1)
                });
            }
            let anchor = anchor(f.entries.iter().map(|e| e.addr), base);
            for y in &f.symbols {
                addrs.push(zigzag(y.addr.wrapping_sub(anchor) as i64));
            }
        }
        self.status_index.images.resize_with(self.images, Vec::new);
        self.status_index.images.push(st);
        self.status_addrs
            .resize_with(self.images, ImageAddrs::default);
        self.status_addrs.push(ImageAddrs { base, addrs });
        let trace = s.traceability.as_ref().map(|t| TraceIndex {
            kprobe_on_notrace: t.kprobe_on_notrace,
            ftrace: t.ftrace.iter().map(|n| self.s(n)).collect(),
            exceptions: t.exceptions.iter().map(|(n, r)| (self.s(n), *r)).collect(),
        });
        self.traces.resize_with(self.images, || None);
        self.traces.push(trace);
        let extras = ExtrasWire {
            ni_syscalls: s
                .ni_syscalls
                .iter()
                .filter(|(_, nrs)| !nrs.is_empty())
                .map(|(abi, nrs)| (self.s(abi), delta_encode(nrs.iter().copied())))
                .collect(),
            ints: s.ints.iter().map(|(n, &size)| (self.s(n), size)).collect(),
            order: s
                .file_order
                .iter()
                .map(|(dir, names)| (self.s(dir), names.iter().map(|n| self.s(n)).collect()))
                .collect(),
        };
        self.extras.resize_with(self.images, ExtrasWire::default);
        self.extras.push(extras);
        self.config_texts.resize_with(self.images, || None);
        self.config_texts.push(s.config_text.clone());
        self.images += 1;
    }

    /// Renumbers strings in sorted order, so every per-image index (sorted by name) lists
    /// increasing ids, which delta-encode to a byte or two.
    fn sort_strings(&mut self) {
        let mut order: Vec<u32> = (0..self.strings.items.len() as u32).collect();
        order.sort_by(|&a, &b| self.strings.items[a as usize].cmp(&self.strings.items[b as usize]));
        let mut rank = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            rank[old as usize] = new as u32;
        }
        let r = |id: &mut u32| *id = rank[*id as usize];
        let sorted: Vec<String> = order
            .iter()
            .map(|&o| std::mem::take(&mut self.strings.items[o as usize]))
            .collect();
        self.strings.items = sorted;
        self.strings.ids.clear();
        for t in &mut self.types.items {
            match t {
                TypeNode::Int(n)
                | TypeNode::Float(n)
                | TypeNode::Struct(n)
                | TypeNode::Union(n)
                | TypeNode::Enum(n, _)
                | TypeNode::Typedef(n)
                | TypeNode::Fwd(n, _) => r(n),
                _ => {}
            }
        }
        for p in &mut self.protos.items {
            p.params.iter_mut().for_each(|(n, _)| r(n));
        }
        for c in &mut self.composites.items {
            c.members.iter_mut().for_each(|m| r(&mut m.0));
        }
        for e in &mut self.enums.items {
            e.values.iter_mut().for_each(|v| r(&mut v.0));
        }
        for st in &mut self.statuses.items {
            for e in &mut st.entries {
                r(&mut e.loc);
                r(&mut e.file);
                e.caller_inline.1.iter_mut().for_each(r);
                e.caller_func.1.iter_mut().for_each(r);
            }
            for y in &mut st.symbols {
                r(&mut y.name);
                r(&mut y.section);
                r(&mut y.bind);
            }
        }
        for tp in &mut self.tracepoints.items {
            r(&mut tp.class);
            r(&mut tp.system);
            r(&mut tp.fmt);
        }
        for img in &mut self.syscalls {
            for (abi, entries) in img.iter_mut() {
                r(abi);
                entries.iter_mut().for_each(|(_, n)| r(n));
            }
        }
        for (kind, idx) in self.index.iter_mut() {
            for img in &mut idx.images {
                for (n, d) in img.iter_mut() {
                    r(n);
                    if *kind == Kind::Config {
                        r(d); // a config option's definition is its value's string
                    }
                }
            }
        }
        for img in &mut self.status_index.images {
            img.iter_mut().for_each(|(n, _)| r(n));
        }
        for t in self.traces.iter_mut().flatten() {
            t.ftrace.iter_mut().for_each(r);
            t.exceptions.iter_mut().for_each(|(n, _)| r(n));
        }
        for x in &mut self.extras {
            x.ni_syscalls.iter_mut().for_each(|(abi, _)| r(abi));
            // Int names are renumbered in sorted order, so they stay sorted.
            x.ints.iter_mut().for_each(|(n, _)| r(n));
            for (dir, names) in &mut x.order {
                r(dir);
                names.iter_mut().for_each(r);
            }
        }
    }

    /// The encoded store.
    pub fn finish(mut self) -> Vec<u8> {
        self.sort_strings();
        let mut strings = Strings::default();
        for s in &self.strings.items {
            strings.text.push_str(s);
            strings.ends.push(strings.text.len() as u32);
        }
        let mut sections: Vec<(String, Vec<u8>)> = vec![
            ("images".into(), encode(&self.ids)),
            ("strings".into(), encode(&strings)),
            (
                "types".into(),
                encode(&TypeTables {
                    types: self.types.items,
                    protos: self.protos.items,
                }),
            ),
            ("composites".into(), encode(&self.composites.items)),
            ("enums".into(), encode(&self.enums.items)),
            ("funcstatus".into(), encode(&self.statuses.items)),
            ("tracepoints".into(), encode(&self.tracepoints.items)),
        ];
        let mut syscalls = self.syscalls;
        syscalls.resize_with(self.images, Vec::new);
        sections.push(("syscalls".into(), encode(&syscalls)));
        let mut status_index = self.status_index;
        status_index.images.resize_with(self.images, Vec::new);
        sections.push(("index.funcstatus".into(), encode(&status_index.to_wire())));
        let mut status_addrs = self.status_addrs;
        status_addrs.resize_with(self.images, ImageAddrs::default);
        sections.push(("funcaddrs".into(), encode(&status_addrs)));
        let mut traces = self.traces;
        traces.resize_with(self.images, || None);
        let traces: Vec<Option<TraceWire>> = traces
            .iter()
            .map(|t| t.as_ref().map(TraceIndex::to_wire))
            .collect();
        sections.push(("traceability".into(), encode(&traces)));
        let mut extras = self.extras;
        extras.resize_with(self.images, ExtrasWire::default);
        sections.push(("extras".into(), encode(&extras)));
        let mut config_texts = self.config_texts;
        config_texts.resize_with(self.images, || None);
        sections.push(("configtext".into(), encode(&config_texts)));
        let mut index = self.index;
        for kind in Kind::STORED {
            let mut idx = index.remove(&kind).unwrap_or_default();
            idx.images.resize_with(self.images, Vec::new);
            sections.push((format!("index.{}", kind.as_str()), encode(&idx.to_wire())));
        }
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(sections.len() as u32).to_le_bytes());
        let level = self.level.unwrap_or(DEFAULT_LEVEL);
        let compressed: Vec<(String, Vec<u8>, u64)> = sections
            .into_par_iter()
            .map(|(n, raw)| {
                let c = zstd::bulk::compress(&raw, level).unwrap_or_else(|_| raw.clone());
                (n, c, raw.len() as u64)
            })
            .collect();
        let dir_len: usize = compressed.iter().map(|(n, _, _)| 1 + n.len() + 24).sum();
        let mut offset = (out.len() + dir_len) as u64;
        for (n, c, raw) in &compressed {
            out.push(n.len() as u8);
            out.extend_from_slice(n.as_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
            out.extend_from_slice(&(c.len() as u64).to_le_bytes());
            out.extend_from_slice(&raw.to_le_bytes());
            offset += c.len() as u64;
        }
        for (_, c, _) in compressed {
            out.extend_from_slice(&c);
        }
        out
    }
}

fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    postcard::to_allocvec(v).expect("postcard encodes in-memory tables")
}

/// A section's bytes and its decoded form, decoded on first use.
struct Section<T> {
    raw: std::ops::Range<usize>,
    raw_len: u64,
    value: OnceLock<Result<T, String>>,
}

/// A loaded store. Sections are decoded lazily and at most once.
pub struct Store {
    data: depsurf_image::Bytes,
    version: u32,
    images: usize,
    ids: Vec<String>,
    strings: Section<Strings>,
    types: Section<TypeTables>,
    composites: Section<Vec<CompositeNode>>,
    enums: Section<Vec<EnumNode>>,
    /// Absent in stores written before function status existed.
    statuses: Option<Section<Vec<StatusNode>>>,
    status_index: Option<Section<KindIndex>>,
    status_addrs: Option<Section<Vec<ImageAddrs>>>,
    /// Per image, where each status name's addresses start in its image's address list
    /// (the sum of the address counts of the names before it), computed on first use.
    status_starts: OnceLock<Result<Vec<Vec<usize>>, String>>,
    /// Absent in stores before version 3.
    tracepoints: Option<Section<Vec<TracepointNode>>>,
    syscalls: Option<Section<Vec<SyscallTables>>>,
    /// Absent in stores before version 5: every image's traceability is unknown.
    traces: Option<Section<Vec<Option<TraceIndex>>>>,
    /// Absent in stores before version 6: no image has any.
    extras: Option<Section<Vec<ExtrasWire>>>,
    config_texts: Option<Section<Vec<Option<String>>>>,
    index: HashMap<Kind, Section<KindIndex>>,
}

/// Most a section may claim to decompress to.
const SECTION_MAX: u64 = 1 << 30;

/// Decompresses a section that must come to exactly `raw_len` bytes. Memory grows with
/// what the data really holds, not with what the directory claims.
fn inflate(compressed: &[u8], raw_len: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::with_capacity(raw_len.min(compressed.len() as u64 * 8) as usize);
    zstd::stream::read::Decoder::with_buffer(compressed)
        .map_err(|e| e.to_string())?
        .take(raw_len + 1)
        .read_to_end(&mut out)
        .map_err(|e| e.to_string())?;
    if out.len() as u64 != raw_len {
        return Err(format!(
            "a section decompresses to {} bytes, its directory says {raw_len}",
            out.len()
        ));
    }
    Ok(out)
}

impl Store {
    pub fn open(data: depsurf_image::Bytes) -> Result<Store, StoreError> {
        let d = &data[..];
        if d.len() < 16 || &d[..8] != MAGIC {
            return Err(StoreError::BadMagic);
        }
        let version = u32::from_le_bytes([d[8], d[9], d[10], d[11]]);
        if version > FORMAT_VERSION {
            return Err(StoreError::TooNew(version));
        }
        if version == 0 {
            return Err(corrupt("format version 0"));
        }
        let count = u32::from_le_bytes([d[12], d[13], d[14], d[15]]) as usize;
        let mut pos = 16;
        let mut dir = HashMap::new();
        for _ in 0..count.min(256) {
            let n = *d
                .get(pos)
                .ok_or_else(|| corrupt("section directory truncated"))?
                as usize;
            let name = d
                .get(pos + 1..pos + 1 + n)
                .and_then(|b| std::str::from_utf8(b).ok())
                .ok_or_else(|| corrupt("bad section name"))?
                .to_string();
            pos += 1 + n;
            let word = |p: usize| -> Result<u64, StoreError> {
                let b = d
                    .get(p..p + 8)
                    .ok_or_else(|| corrupt("section directory truncated"))?;
                Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
            };
            let (off, len, raw_len) = (word(pos)?, word(pos + 8)?, word(pos + 16)?);
            pos += 24;
            let end = off
                .checked_add(len)
                .filter(|&e| e <= d.len() as u64)
                .ok_or_else(|| corrupt(format!("section {name} lies outside the file")))?;
            if raw_len > SECTION_MAX {
                return Err(corrupt(format!("section {name} claims {raw_len} bytes")));
            }
            dir.insert(name, (off as usize..end as usize, raw_len));
        }
        let mut take = |name: &str| -> Result<(std::ops::Range<usize>, u64), StoreError> {
            dir.remove(name)
                .ok_or_else(|| corrupt(format!("section {name} is missing")))
        };
        fn section<T>((raw, raw_len): (std::ops::Range<usize>, u64)) -> Section<T> {
            Section {
                raw,
                raw_len,
                value: OnceLock::new(),
            }
        }
        let ids_section: Section<Vec<String>> = section(take("images")?);
        let ids = Self::decode(&data, &ids_section)?.clone();
        let strings = section(take("strings")?);
        let types = section(take("types")?);
        let composites = section(take("composites")?);
        let enums = section(take("enums")?);

        let mut index = HashMap::new();
        for kind in Kind::STORED {
            let name = format!("index.{}", kind.as_str());
            if (version < 3 && kind == Kind::Tracepoint) || (version < 4 && kind == Kind::Var) {
                // Written before this kind was extracted: no image has any.
                let empty = Section {
                    raw: 0..0,
                    raw_len: 0,
                    value: OnceLock::new(),
                };
                let _ = empty.value.set(Ok(KindIndex {
                    images: vec![Vec::new(); ids.len()],
                }));
                index.insert(kind, empty);
                continue;
            }
            index.insert(kind, section(take(&name)?));
        }
        let (tracepoints, syscalls) = if version >= 3 {
            (
                Some(section(take("tracepoints")?)),
                Some(section(take("syscalls")?)),
            )
        } else {
            (None, None)
        };
        let statuses = take("funcstatus").ok().map(section);
        let status_index = take("index.funcstatus").ok().map(section);
        let status_addrs = take("funcaddrs").ok().map(section);
        let traces = if version >= 5 {
            Some(section(take("traceability")?))
        } else {
            None
        };
        let (extras, config_texts) = if version >= 6 {
            (
                Some(section(take("extras")?)),
                Some(section(take("configtext")?)),
            )
        } else {
            (None, None)
        };
        let mut store = Store {
            data,
            version,
            images: 0,
            ids,
            strings,
            types,
            composites,
            enums,
            statuses,
            status_index,
            status_addrs,
            status_starts: OnceLock::new(),
            tracepoints,
            syscalls,
            traces,
            extras,
            config_texts,
            index,
        };
        store.images = store.ids.len();
        for kind in Kind::STORED {
            if store.kind_index(kind)?.images.len() != store.images {
                return Err(corrupt(format!(
                    "index of {} does not cover every image",
                    kind.as_str()
                )));
            }
        }
        Ok(store)
    }

    fn decode<'a, T: DeserializeOwned>(
        data: &[u8],
        s: &'a Section<T>,
    ) -> Result<&'a T, StoreError> {
        Self::decode_as(data, s, |t: T| t)
    }

    /// Decodes a section stored as `W` into its in-memory form `T`.
    fn decode_as<'a, W: DeserializeOwned, T>(
        data: &[u8],
        s: &'a Section<T>,
        convert: impl FnOnce(W) -> T,
    ) -> Result<&'a T, StoreError> {
        s.value
            .get_or_init(|| {
                let raw = inflate(&data[s.raw.clone()], s.raw_len)?;
                postcard::from_bytes(&raw)
                    .map(convert)
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(corrupt)
    }

    fn decode_index<'a>(&self, s: &'a Section<KindIndex>) -> Result<&'a KindIndex, StoreError> {
        let delta = self.version >= 2;
        Self::decode_as(&self.data, s, |w: KindIndexWire| {
            KindIndex::from_wire(w, delta)
        })
    }

    fn strings(&self) -> Result<&Strings, StoreError> {
        Self::decode(&self.data, &self.strings)
    }

    fn kind_index(&self, kind: Kind) -> Result<&KindIndex, StoreError> {
        let s = self
            .index
            .get(&kind)
            .ok_or_else(|| corrupt(format!("no index for {}", kind.as_str())))?;
        self.decode_index(s)
    }

    /// The ids of the images, in slot order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// Number of images in the store.
    pub fn len(&self) -> usize {
        self.images
    }

    pub fn is_empty(&self) -> bool {
        self.images == 0
    }

    /// The definition id of `name` (of a stored kind) in image `image`. Equal ids mean equal
    /// definitions.
    /// For a system call, the "definition" is its number in the native table.
    pub fn def_id(&self, image: usize, kind: Kind, name: &str) -> Result<Option<u32>, StoreError> {
        let strings = self.strings()?;
        if kind == Kind::Syscall {
            return Ok(self.native_syscalls(image)?.and_then(|t| {
                t.iter()
                    .find(|&&(_, n)| strings.get(n) == name)
                    .map(|&(nr, _)| nr)
            }));
        }
        let Some(entries) = self.kind_index(kind)?.images.get(image) else {
            return Ok(None);
        };
        Ok(entries
            .binary_search_by(|&(n, _)| strings.get(n).cmp(name))
            .ok()
            .map(|i| entries[i].1))
    }

    /// Names of `kind` in image `image`, sorted.
    /// (name, definition id) of every item of a stored kind in image `image`, sorted by
    /// name. Equal ids mean equal definitions (for syscalls: the native number).
    pub fn entries(&self, image: usize, kind: Kind) -> Result<Vec<(&str, u32)>, StoreError> {
        let strings = self.strings()?;
        if kind == Kind::Syscall {
            let mut v: Vec<(&str, u32)> = self
                .native_syscalls(image)?
                .map(|t| t.iter().map(|&(nr, n)| (strings.get(n), nr)).collect())
                .unwrap_or_default();
            v.sort_unstable();
            v.dedup_by(|a, b| a.0 == b.0);
            return Ok(v);
        }
        Ok(self
            .kind_index(kind)?
            .images
            .get(image)
            .map(|e| e.iter().map(|&(n, d)| (strings.get(n), d)).collect())
            .unwrap_or_default())
    }

    pub fn names(&self, image: usize, kind: Kind) -> Result<Vec<&str>, StoreError> {
        let strings = self.strings()?;
        if kind == Kind::Syscall {
            let mut v: Vec<&str> = self
                .native_syscalls(image)?
                .map(|t| t.iter().map(|&(_, n)| strings.get(n)).collect())
                .unwrap_or_default();
            v.sort_unstable();
            v.dedup();
            return Ok(v);
        }
        Ok(self
            .kind_index(kind)?
            .images
            .get(image)
            .map(|e| e.iter().map(|&(n, _)| strings.get(n)).collect())
            .unwrap_or_default())
    }

    fn type_ref(
        &self,
        t: &TypeTables,
        s: &Strings,
        id: u32,
        depth: usize,
    ) -> Result<TypeRef, StoreError> {
        if depth > 256 {
            return Err(corrupt("type references nest too deeply"));
        }
        let node = t
            .types
            .get(id as usize)
            .ok_or_else(|| corrupt(format!("type {id} out of range")))?;
        let name = |n: u32| s.get(n).to_string();
        let sub = |i: u32| -> Result<Box<TypeRef>, StoreError> {
            Ok(Box::new(self.type_ref(t, s, i, depth + 1)?))
        };
        Ok(match *node {
            TypeNode::Void => TypeRef::Void,
            TypeNode::Int(n) => TypeRef::Int(name(n)),
            TypeNode::Float(n) => TypeRef::Float(name(n)),
            TypeNode::Struct(n) => TypeRef::Struct(name(n)),
            TypeNode::Union(n) => TypeRef::Union(name(n)),
            TypeNode::Enum(n, size) => TypeRef::Enum {
                name: name(n),
                size,
            },
            TypeNode::Typedef(n) => TypeRef::Typedef(name(n)),
            TypeNode::Fwd(n, union) => TypeRef::Fwd {
                name: name(n),
                union,
            },
            TypeNode::Ptr(i) => TypeRef::Ptr(sub(i)?),
            TypeNode::Const(i) => TypeRef::Const(sub(i)?),
            TypeNode::Volatile(i) => TypeRef::Volatile(sub(i)?),
            TypeNode::Restrict(i) => TypeRef::Restrict(sub(i)?),
            TypeNode::Array(n, e) => TypeRef::Array {
                nelems: n,
                elem: sub(e)?,
            },
            TypeNode::FuncProto(p) => {
                TypeRef::FuncProto(Box::new(self.proto_of(t, s, p, depth + 1)?))
            }
        })
    }

    fn proto_of(
        &self,
        t: &TypeTables,
        s: &Strings,
        id: u32,
        depth: usize,
    ) -> Result<Proto, StoreError> {
        let p = t
            .protos
            .get(id as usize)
            .ok_or_else(|| corrupt(format!("prototype {id} out of range")))?;
        Ok(Proto {
            params: p
                .params
                .iter()
                .map(|&(n, ty)| {
                    Ok(Param {
                        name: s.get(n).to_string(),
                        ty: self.type_ref(t, s, ty, depth + 1)?,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            ret: self.type_ref(t, s, p.ret, depth + 1)?,
        })
    }

    /// A struct or union body by definition id.
    pub fn composite(&self, id: u32) -> Result<Composite, StoreError> {
        let s = self.strings()?;
        let t = Self::decode(&self.data, &self.types)?;
        let c = Self::decode(&self.data, &self.composites)?
            .get(id as usize)
            .ok_or_else(|| corrupt(format!("composite {id} out of range")))?;
        Ok(Composite {
            size: c.size,
            members: c
                .members
                .iter()
                .map(|&(n, off, bits, ty)| {
                    Ok(Member {
                        name: s.get(n).to_string(),
                        bit_offset: off,
                        bitfield: bits,
                        ty: self.type_ref(t, s, ty, 0)?,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
        })
    }

    pub fn enumeration(&self, id: u32) -> Result<Enum, StoreError> {
        let s = self.strings()?;
        let e = Self::decode(&self.data, &self.enums)?
            .get(id as usize)
            .ok_or_else(|| corrupt(format!("enum {id} out of range")))?;
        Ok(Enum {
            size: e.size,
            values: e
                .values
                .iter()
                .map(|&(n, v)| (s.get(n).to_string(), v))
                .collect(),
        })
    }

    /// A type by id (a variable's definition).
    pub fn type_of(&self, id: u32) -> Result<TypeRef, StoreError> {
        let s = self.strings()?;
        let t = Self::decode(&self.data, &self.types)?;
        self.type_ref(t, s, id, 0)
    }

    pub fn proto(&self, id: u32) -> Result<Proto, StoreError> {
        let s = self.strings()?;
        let t = Self::decode(&self.data, &self.types)?;
        self.proto_of(t, s, id, 0)
    }

    /// Function status of `name` in image `image`, when recorded.
    pub fn func_status(&self, image: usize, name: &str) -> Result<Option<FuncStatus>, StoreError> {
        let (Some(nodes), Some(index), Some(addrs)) =
            (&self.statuses, &self.status_index, &self.status_addrs)
        else {
            return Ok(None);
        };
        let strings = self.strings()?;
        let index = self.decode_index(index)?;
        let Some(entries) = index.images.get(image) else {
            return Ok(None);
        };
        let Ok(i) = entries.binary_search_by(|&(n, _)| strings.get(n).cmp(name)) else {
            return Ok(None);
        };
        let nodes = Self::decode(&self.data, nodes)?;
        let node_of = |id: u32| {
            nodes
                .get(id as usize)
                .ok_or_else(|| corrupt("function status out of range"))
        };
        let start = *self
            .status_starts(&index.images, nodes)?
            .get(image)
            .and_then(|s| s.get(i))
            .ok_or_else(|| corrupt("function status out of range"))?;
        let img_addrs = Self::decode(&self.data, addrs)?
            .get(image)
            .ok_or_else(|| corrupt("no addresses for this image"))?;
        let node = node_of(entries[i].1)?;
        let want = node.entries.len() + node.symbols.len();
        let a = img_addrs
            .addrs
            .get(start..start + want)
            .ok_or_else(|| corrupt("function addresses out of range"))?;
        Ok(Some(self.status_of(strings, node, img_addrs.base, a)))
    }

    /// The addresses of each status name start after those of every name before it.
    fn status_starts(
        &self,
        images: &[Vec<(u32, u32)>],
        nodes: &[StatusNode],
    ) -> Result<&Vec<Vec<usize>>, StoreError> {
        self.status_starts
            .get_or_init(|| {
                images
                    .iter()
                    .map(|entries| {
                        let mut start = 0usize;
                        entries
                            .iter()
                            .map(|&(_, id)| {
                                let n = nodes
                                    .get(id as usize)
                                    .ok_or_else(|| "function status out of range".to_string())?;
                                let at = start;
                                start += n.entries.len() + n.symbols.len();
                                Ok(at)
                            })
                            .collect()
                    })
                    .collect()
            })
            .as_ref()
            .map_err(|e| corrupt(e.clone()))
    }

    /// Names with function status in image `image`, sorted.
    pub fn status_names(&self, image: usize) -> Result<Vec<&str>, StoreError> {
        let Some(index) = &self.status_index else {
            return Ok(Vec::new());
        };
        let strings = self.strings()?;
        Ok(self
            .decode_index(index)?
            .images
            .get(image)
            .map(|e| e.iter().map(|&(n, _)| strings.get(n)).collect())
            .unwrap_or_default())
    }

    /// The functions of image `image` that have a definition in DWARF (a function status)
    /// and a function symbol of exactly their name, sorted: the functions pahole encodes as
    /// BTF `FUNC` from DWARF, so those the study counts (it encodes every image's BTF from
    /// its DWARF). Fully inlined functions and those only compiled as clones
    /// (`foo.isra.0`) have no such symbol. Empty when the image has no function status.
    pub fn prototype_funcs(&self, image: usize) -> Result<Vec<&str>, StoreError> {
        let (Some(nodes), Some(index)) = (&self.statuses, &self.status_index) else {
            return Ok(Vec::new());
        };
        let strings = self.strings()?;
        let index = self.decode_index(index)?;
        let Some(entries) = index.images.get(image) else {
            return Ok(Vec::new());
        };
        let nodes = Self::decode(&self.data, nodes)?;
        let mut out = Vec::new();
        for &(name, id) in entries {
            let node = nodes
                .get(id as usize)
                .ok_or_else(|| corrupt("function status out of range"))?;
            // Strings are stored once: a symbol of the same name has the same id.
            if node.symbols.iter().any(|y| y.name == name) {
                out.push(strings.get(name));
            }
        }
        Ok(out)
    }

    /// Every image's traceability, decoded on first use; empty for stores before version 5.
    fn traces(&self) -> Result<&[Option<TraceIndex>], StoreError> {
        let Some(sec) = &self.traces else {
            return Ok(&[]);
        };
        sec.value
            .get_or_init(|| {
                let raw = inflate(&self.data[sec.raw.clone()], sec.raw_len)?;
                let wire: Vec<Option<TraceWire>> =
                    postcard::from_bytes(&raw).map_err(|e| e.to_string())?;
                wire.iter()
                    .map(|t| t.as_ref().map(TraceIndex::from_wire).transpose())
                    .collect()
            })
            .as_ref()
            .map(|v| v.as_slice())
            .map_err(corrupt)
    }

    fn trace_index(&self, image: usize) -> Result<Option<&TraceIndex>, StoreError> {
        Ok(self.traces()?.get(image).and_then(Option::as_ref))
    }

    /// Whether image `image`'s traceability is known (extracted from its mcount table and
    /// symbols; unknown in stores before version 5).
    pub fn has_traceability(&self, image: usize) -> Result<bool, StoreError> {
        Ok(self.trace_index(image)?.is_some())
    }

    /// What image `image` allows on the function symbol `name` (ftrace, kprobes, and why
    /// not), by the kernel's rules for suffixed symbols too; `None` when unknown for the
    /// image.
    pub fn func_trace(&self, image: usize, name: &str) -> Result<Option<FuncTrace>, StoreError> {
        let Some(t) = self.trace_index(image)? else {
            return Ok(None);
        };
        let strings = self.strings()?;
        let facts = |n: &str| {
            let ftrace = t
                .ftrace
                .binary_search_by(|&id| strings.get(id).cmp(n))
                .is_ok();
            match t
                .exceptions
                .binary_search_by(|&(id, _)| strings.get(id).cmp(n))
            {
                Ok(i) => Some((ftrace, t.exceptions[i].1)),
                Err(_) if ftrace => Some((true, Reasons::default())),
                Err(_) => None,
            }
        };
        Ok(Some(depsurf_model::trace::query(
            name,
            t.kprobe_on_notrace,
            facts,
        )))
    }

    /// The compiler-made clones of function `base` among image `image`'s function symbols
    /// (`base.isra.0`, `base.cold`, ...), each with what the image allows on it; `None` when
    /// the image's traceability is unknown.
    pub fn func_trace_clones(
        &self,
        image: usize,
        base: &str,
    ) -> Result<Option<Vec<(String, FuncTrace)>>, StoreError> {
        let Some(t) = self.trace_index(image)? else {
            return Ok(None);
        };
        let strings = self.strings()?;
        let prefix = format!("{base}.");
        let clone = |id: u32| strings.get(id).starts_with(&prefix);
        // Names are sorted: the clones are one run in each list.
        let start = t
            .ftrace
            .partition_point(|&id| strings.get(id) < prefix.as_str());
        let mut names: Vec<&str> = t.ftrace[start..]
            .iter()
            .copied()
            .take_while(|&id| clone(id))
            .map(|id| strings.get(id))
            .collect();
        let start = t
            .exceptions
            .partition_point(|&(id, _)| strings.get(id) < prefix.as_str());
        names.extend(
            t.exceptions[start..]
                .iter()
                .map(|e| e.0)
                .take_while(|&id| clone(id))
                .map(|id| strings.get(id)),
        );
        names.sort_unstable();
        names.dedup();
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            if let Some(f) = self.func_trace(image, n)? {
                out.push((n.to_string(), f));
            }
        }
        Ok(Some(out))
    }

    /// The whole traceability of image `image`; `None` when unknown.
    pub fn traceability(&self, image: usize) -> Result<Option<Traceability>, StoreError> {
        let Some(t) = self.trace_index(image)? else {
            return Ok(None);
        };
        let strings = self.strings()?;
        Ok(Some(Traceability {
            ftrace: t
                .ftrace
                .iter()
                .map(|&n| strings.get(n).to_string())
                .collect(),
            exceptions: t
                .exceptions
                .iter()
                .map(|&(n, r)| (strings.get(n).to_string(), r))
                .collect(),
            kprobe_on_notrace: t.kprobe_on_notrace,
        }))
    }

    fn status_of(&self, s: &Strings, n: &StatusNode, base: u64, addrs: &[u64]) -> FuncStatus {
        let (entry_addrs, sym_addrs) = addrs.split_at(n.entries.len().min(addrs.len()));
        let entry_abs: Vec<u64> = entry_addrs
            .iter()
            .map(|&a| if a == 0 { 0 } else { base.wrapping_add(a - 1) })
            .collect();
        let anchor = anchor(entry_abs.iter().copied(), base);
        let callers = |c: &(u32, Vec<u32>)| Callers {
            count: c.0,
            names: c.1.iter().map(|&i| s.get(i).to_string()).collect(),
        };
        FuncStatus {
            collision: COLLISIONS[usize::from(n.collision).min(COLLISIONS.len() - 1)],
            inline: INLINE_TYPES[usize::from(n.inline).min(INLINE_TYPES.len() - 1)],
            entries: n
                .entries
                .iter()
                .zip(&entry_abs)
                .map(|(e, &a)| FuncEntry {
                    addr: a,
                    external: e.external,
                    loc: s.get(e.loc).to_string(),
                    file: s.get(e.file).to_string(),
                    inline: INLINE_ATTRS[usize::from(e.inline).min(INLINE_ATTRS.len() - 1)],
                    caller_inline: callers(&e.caller_inline),
                    caller_func: callers(&e.caller_func),
                })
                .collect(),
            symbols: n
                .symbols
                .iter()
                .zip(sym_addrs)
                .map(|(y, &a)| FuncSymbol {
                    addr: anchor.wrapping_add(unzigzag(a) as u64),
                    name: s.get(y.name).to_string(),
                    section: s.get(y.section).to_string(),
                    bind: s.get(y.bind).to_string(),
                    size: y.size,
                })
                .collect(),
        }
    }

    /// Whether the store can hold items of `kind` (stores before version 3 hold no
    /// tracepoints and no system calls, before version 4 no variables).
    pub fn holds(&self, kind: Kind) -> bool {
        match kind {
            Kind::Var => self.version >= 4,
            k if Kind::DATA.contains(&k) => self.version >= 3,
            _ => true,
        }
    }

    fn syscall_tables(&self, image: usize) -> Result<Option<&SyscallTables>, StoreError> {
        match &self.syscalls {
            Some(sec) => Ok(Self::decode(&self.data, sec)?.get(image)),
            None => Ok(None),
        }
    }

    fn native_syscalls(&self, image: usize) -> Result<Option<&[(u32, u32)]>, StoreError> {
        let strings = self.strings()?;
        Ok(self.syscall_tables(image)?.and_then(|t| {
            t.iter()
                .find(|(abi, _)| strings.get(*abi).is_empty())
                .map(|(_, e)| e.as_slice())
        }))
    }

    /// The system call tables of image `image`: the native one, and the compatibility ones
    /// by ABI.
    pub fn syscalls(
        &self,
        image: usize,
    ) -> Result<(SyscallTable, BTreeMap<String, SyscallTable>), StoreError> {
        let strings = self.strings()?;
        let mut native = SyscallTable::new();
        let mut compat = BTreeMap::new();
        for (abi, entries) in self.syscall_tables(image)?.into_iter().flatten() {
            let table: SyscallTable = entries
                .iter()
                .map(|&(nr, n)| (nr, strings.get(n).to_string()))
                .collect();
            match strings.get(*abi) {
                "" => native = table,
                abi => {
                    compat.insert(abi.to_string(), table);
                }
            }
        }
        Ok((native, compat))
    }

    /// Image `image`'s `sys_ni_syscall` slots, integer types and file orders (none in stores
    /// before version 6).
    #[allow(clippy::type_complexity)]
    pub fn research_extras(
        &self,
        image: usize,
    ) -> Result<
        (
            BTreeMap<String, std::collections::BTreeSet<u32>>,
            BTreeMap<String, u32>,
            BTreeMap<String, Vec<String>>,
        ),
        StoreError,
    > {
        let Some(sec) = &self.extras else {
            return Ok(Default::default());
        };
        let Some(x) = Self::decode(&self.data, sec)?.get(image) else {
            return Ok(Default::default());
        };
        let s = self.strings()?;
        let ni = x
            .ni_syscalls
            .iter()
            .map(|(abi, nrs)| {
                (
                    s.get(*abi).to_string(),
                    delta_decode(nrs).into_iter().collect(),
                )
            })
            .collect();
        let ints = x
            .ints
            .iter()
            .map(|&(n, size)| (s.get(n).to_string(), size))
            .collect();
        let order = x
            .order
            .iter()
            .map(|(dir, names)| {
                (
                    s.get(*dir).to_string(),
                    names.iter().map(|&n| s.get(n).to_string()).collect(),
                )
            })
            .collect();
        Ok((ni, ints, order))
    }

    /// Image `image`'s config file as read, when kept (never in stores before version 6).
    pub fn config_text(&self, image: usize) -> Result<Option<String>, StoreError> {
        let Some(sec) = &self.config_texts else {
            return Ok(None);
        };
        Ok(Self::decode(&self.data, sec)?.get(image).cloned().flatten())
    }

    /// A tracepoint by definition id.
    pub fn tracepoint(&self, id: u32) -> Result<Tracepoint, StoreError> {
        let s = self.strings()?;
        let sec = self
            .tracepoints
            .as_ref()
            .ok_or_else(|| corrupt("no tracepoints in this store"))?;
        let t = Self::decode(&self.data, sec)?
            .get(id as usize)
            .ok_or_else(|| corrupt(format!("tracepoint {id} out of range")))?;
        Ok(Tracepoint {
            class: s.get(t.class).to_string(),
            system: s.get(t.system).to_string(),
            fmt: s.get(t.fmt).to_string(),
        })
    }

    /// A config value by its string id.
    pub fn string(&self, id: u32) -> Result<String, StoreError> {
        Ok(self.strings()?.get(id).to_string())
    }

    /// The whole surface of one image.
    pub fn surface(&self, image: usize) -> Result<Surface, StoreError> {
        let mut s = Surface::default();
        let strings = self.strings()?;
        let entries = |kind: Kind| -> Result<Vec<(String, u32)>, StoreError> {
            Ok(self
                .kind_index(kind)?
                .images
                .get(image)
                .map(|e| {
                    e.iter()
                        .map(|&(n, d)| (strings.get(n).to_string(), d))
                        .collect()
                })
                .unwrap_or_default())
        };
        for (n, d) in entries(Kind::Struct)? {
            s.structs.insert(n, self.composite(d)?);
        }
        for (n, d) in entries(Kind::Union)? {
            s.unions.insert(n, self.composite(d)?);
        }
        for (n, d) in entries(Kind::Enum)? {
            s.enums.insert(n, self.enumeration(d)?);
        }
        for (n, d) in entries(Kind::Func)? {
            s.funcs.insert(n, self.proto(d)?);
        }
        for (n, d) in entries(Kind::Lsm)? {
            s.lsm_hooks.insert(n, self.proto(d)?);
        }
        for (n, d) in entries(Kind::Kfunc)? {
            s.kfuncs.insert(n, self.proto(d)?);
        }
        for (n, d) in entries(Kind::Config)? {
            s.config.insert(n, self.string(d)?);
        }
        for (n, d) in entries(Kind::Var)? {
            s.vars.insert(n, self.type_of(d)?);
        }
        for (n, d) in entries(Kind::Tracepoint)? {
            s.tracepoints.insert(n, self.tracepoint(d)?);
        }
        (s.syscalls, s.compat_syscalls) = self.syscalls(image)?;
        for n in self.status_names(image)? {
            if let Some(f) = self.func_status(image, n)? {
                s.func_status.insert(n.to_string(), f);
            }
        }
        s.traceability = self.traceability(image)?;
        (s.ni_syscalls, s.ints, s.file_order) = self.research_extras(image)?;
        s.config_text = self.config_text(image)?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(extra: bool) -> Surface {
        let mut s = Surface::default();
        let int = TypeRef::Int("int".into());
        s.structs.insert(
            "task".into(),
            Composite {
                size: 8,
                members: vec![Member {
                    name: "pid".into(),
                    bit_offset: 0,
                    bitfield: 0,
                    ty: int.clone(),
                }],
            },
        );
        s.funcs.insert(
            "f".into(),
            Proto {
                params: vec![Param {
                    name: "t".into(),
                    ty: TypeRef::Ptr(Box::new(TypeRef::Struct("task".into()))),
                }],
                ret: int,
            },
        );
        s.enums.insert(
            "(anon)".into(),
            Enum {
                size: 4,
                values: vec![("A".into(), -1)],
            },
        );
        s.config.insert("BPF".into(), "y".into());
        s.func_status.insert(
            "f".into(),
            FuncStatus {
                collision: Collision::StaticDuplication,
                inline: InlineType::Selective,
                entries: vec![
                    FuncEntry {
                        addr: 0xffff_ffff_8100_1000 + u64::from(extra),
                        external: false,
                        loc: "include/linux/f.h:3".into(),
                        file: "kernel/a.c".into(),
                        inline: InlineAttr::DeclaredInlined,
                        caller_inline: Callers {
                            count: 2,
                            names: vec!["a".into(), "b".into()],
                        },
                        caller_func: Callers::default(),
                    },
                    FuncEntry {
                        addr: 0,
                        external: false,
                        loc: "include/linux/f.h:3".into(),
                        file: "kernel/b.c".into(),
                        inline: InlineAttr::SeenUnknown,
                        caller_inline: Callers::default(),
                        caller_func: Callers {
                            count: 7,
                            names: Vec::new(),
                        },
                    },
                ],
                symbols: vec![FuncSymbol {
                    addr: 0xffff_ffff_8100_1000,
                    name: "f.isra.0".into(),
                    section: ".text".into(),
                    bind: "LOCAL".into(),
                    size: 64,
                }],
            },
        );
        s.tracepoints.insert(
            "sched_switch".into(),
            Tracepoint {
                class: "sched_switch".into(),
                system: "sched".into(),
                fmt: "\"prev_comm=%s\", REC->prev_comm".into(),
            },
        );
        s.syscalls.insert(0, "read".into());
        s.syscalls.insert(1, "write".into());
        s.syscalls.insert(2, "read".into());
        if extra {
            s.config.insert("BPF_LSM".into(), "y".into());
            s.compat_syscalls
                .insert("ia32".into(), BTreeMap::from([(3, "read".into())]));
            let mut t = Traceability::default();
            t.ftrace.insert("f".into());
            t.ftrace.insert("nokprobe".into());
            let mut r = Reasons::default();
            r.add(depsurf_model::TraceReason::Notrace);
            t.exceptions.insert("f.isra.0".into(), r);
            t.exceptions.insert("inline_helper".into(), r);
            let mut b = Reasons::default();
            b.add(depsurf_model::TraceReason::Blacklist);
            t.exceptions.insert("nokprobe".into(), b);
            s.traceability = Some(t);
            s.ni_syscalls
                .insert(String::new(), [3, 4, 9].into_iter().collect());
            s.ni_syscalls
                .insert("ia32".into(), [0].into_iter().collect());
            s.ints.insert("int".into(), 4);
            s.ints.insert("char".into(), 1);
            s.file_order.insert(
                "types_int".into(),
                vec!["int".into(), "char".into(), "zzz_not_an_int".into()],
            );
            s.file_order
                .insert("tracepoints".into(), vec!["sched_switch".into()]);
            s.config_text = Some("#\n# A title\n#\nCONFIG_BPF=y\n\nCONFIG_BPF_LSM=y\n".into());
        }
        s
    }

    /// `a` and `b` stored as images `a` and `b`: the store's bytes and the store read back.
    fn stored(a: &Surface, b: &Surface) -> (Vec<u8>, Store) {
        let mut builder = StoreBuilder::default();
        builder.add("a", a);
        builder.add("b", b);
        let bytes = builder.finish();
        let store = Store::open(depsurf_image::Bytes::from_vec(bytes.clone())).unwrap();
        (bytes, store)
    }

    #[test]
    fn research_extras_round_trip_and_older_stores_have_none() {
        let (a, b) = (sample(false), sample(true));
        let (bytes, store) = stored(&a, &b);
        let back = store.surface(1).unwrap();
        assert_eq!(back.ni_syscalls, b.ni_syscalls);
        assert_eq!(back.ints, b.ints);
        assert_eq!(back.file_order, b.file_order);
        assert_eq!(back.config_text, b.config_text);
        // The unimplemented slots are no system calls.
        assert_eq!(store.names(1, Kind::Syscall).unwrap(), ["read", "write"]);
        assert_eq!(store.def_id(1, Kind::Syscall, "ni_syscall").unwrap(), None);
        assert_eq!(store.surface(0).unwrap(), a);
        // A version 5 store (no such sections) loads, with none of them.
        let old = as_older(&bytes, 5, &["extras", "configtext"]);
        let store = Store::open(depsurf_image::Bytes::from_vec(old)).unwrap();
        let mut without = b.clone();
        without.ni_syscalls.clear();
        without.ints.clear();
        without.file_order.clear();
        without.config_text = None;
        assert_eq!(store.surface(1).unwrap(), without);
        // A version 6 store without them is corrupt.
        let broken = as_older(&bytes, 6, &["extras"]);
        assert!(Store::open(depsurf_image::Bytes::from_vec(broken)).is_err());
    }

    /// The store re-encoded as format `version` without the sections named in `drop`, as an
    /// older depsurf wrote it.
    fn as_older(bytes: &[u8], version: u32, drop: &[&str]) -> Vec<u8> {
        let count = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
        let mut pos = 16;
        let mut kept = Vec::new();
        for _ in 0..count {
            let n = bytes[pos] as usize;
            let name = std::str::from_utf8(&bytes[pos + 1..pos + 1 + n])
                .unwrap()
                .to_string();
            pos += 1 + n;
            let w = |p: usize| u64::from_le_bytes(bytes[p..p + 8].try_into().unwrap()) as usize;
            let (off, len, raw) = (w(pos), w(pos + 8), w(pos + 16));
            pos += 24;
            if !drop.contains(&name.as_str()) {
                kept.push((name, bytes[off..off + len].to_vec(), raw as u64));
            }
        }
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&(kept.len() as u32).to_le_bytes());
        let dir: usize = kept.iter().map(|(n, _, _)| 1 + n.len() + 24).sum();
        let mut offset = (out.len() + dir) as u64;
        for (n, c, raw) in &kept {
            out.push(n.len() as u8);
            out.extend_from_slice(n.as_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
            out.extend_from_slice(&(c.len() as u64).to_le_bytes());
            out.extend_from_slice(&raw.to_le_bytes());
            offset += c.len() as u64;
        }
        for (_, c, _) in kept {
            out.extend_from_slice(&c);
        }
        out
    }

    #[test]
    fn traceability_round_trips_and_older_stores_say_unknown() {
        let (a, b) = (sample(false), sample(true));
        let (bytes, store) = stored(&a, &b);
        assert!(!store.has_traceability(0).unwrap());
        assert_eq!(
            store.func_trace(0, "f").unwrap(),
            None,
            "unknown, not absent"
        );
        assert!(store.has_traceability(1).unwrap());
        assert_eq!(store.traceability(1).unwrap(), b.traceability);
        let f = store.func_trace(1, "f").unwrap().unwrap();
        assert!(f.symbol && f.ftrace && f.kprobe.is_none());
        let clone = store.func_trace(1, "f.isra.0").unwrap().unwrap();
        assert!(!clone.ftrace);
        assert_eq!(clone.kprobe, None, "judged by f, which has a record");
        assert_eq!(clone.base.as_deref(), Some("f"));
        let inl = store.func_trace(1, "inline_helper").unwrap().unwrap();
        assert_eq!(inl.kprobe, Some(depsurf_model::TraceReason::Notrace));
        let nk = store.func_trace(1, "nokprobe").unwrap().unwrap();
        assert!(nk.ftrace);
        assert_eq!(nk.kprobe, Some(depsurf_model::TraceReason::Blacklist));
        let none = store.func_trace(1, "missing").unwrap().unwrap();
        assert!(!none.symbol);
        let clones = store.func_trace_clones(1, "f").unwrap().unwrap();
        assert_eq!(clones.len(), 1);
        assert_eq!(clones[0].0, "f.isra.0");
        assert_eq!(store.func_trace_clones(0, "f").unwrap(), None);

        // A version 4 store (no traceability section) loads, with traceability unknown.
        let old = as_older(&bytes, 4, &["traceability"]);
        let store = Store::open(depsurf_image::Bytes::from_vec(old)).unwrap();
        assert!(!store.has_traceability(1).unwrap());
        assert_eq!(store.func_trace(1, "f").unwrap(), None);
        let mut without = b.clone();
        without.traceability = None;
        // Nor what version 6 adds.
        without.ni_syscalls.clear();
        without.ints.clear();
        without.file_order.clear();
        without.config_text = None;
        assert_eq!(store.surface(1).unwrap(), without);
        // A version 5 store without it is corrupt.
        let broken = as_older(&bytes, 5, &["traceability"]);
        assert!(Store::open(depsurf_image::Bytes::from_vec(broken)).is_err());
    }

    #[test]
    fn round_trip_and_dedup() {
        let (a, b) = (sample(false), sample(true));
        let (bytes, store) = stored(&a, &b);
        assert_eq!(store.len(), 2);
        assert_eq!(store.ids(), ["a", "b"]);
        assert_eq!(store.surface(0).unwrap(), a);
        assert_eq!(store.surface(1).unwrap(), b);
        // One definition stored for both images.
        assert_eq!(
            store.def_id(0, Kind::Struct, "task").unwrap(),
            store.def_id(1, Kind::Struct, "task").unwrap()
        );
        assert_eq!(store.def_id(0, Kind::Config, "BPF_LSM").unwrap(), None);
        assert_eq!(
            store.func_status(1, "f").unwrap().as_ref(),
            b.func_status.get("f")
        );
        assert_eq!(store.func_status(1, "nope").unwrap(), None);
        assert_eq!(store.def_id(0, Kind::Syscall, "read").unwrap(), Some(0));
        assert_eq!(store.def_id(0, Kind::Syscall, "open").unwrap(), None);
        assert_eq!(store.names(0, Kind::Syscall).unwrap(), ["read", "write"]);
        assert_eq!(
            store.def_id(0, Kind::Tracepoint, "sched_switch").unwrap(),
            store.def_id(1, Kind::Tracepoint, "sched_switch").unwrap()
        );
        // Every truncation is an error, not a panic.
        for cut in [0, 10, 20, bytes.len() / 2, bytes.len() - 1] {
            if let Ok(s) = Store::open(depsurf_image::Bytes::from_vec(bytes[..cut].to_vec())) {
                assert!(s.surface(1).is_err(), "cut at {cut}");
            }
        }
        let mut newer = bytes.clone();
        newer[8] = 9;
        assert!(matches!(
            Store::open(depsurf_image::Bytes::from_vec(newer)),
            Err(StoreError::TooNew(9))
        ));
    }
}
