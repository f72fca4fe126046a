//! The surface model: what one kernel image exposes, in normalised form (SPEC §3).
//!
//! Type references are shallow (kind and name) except through pointers, arrays, qualifiers
//! and function prototypes, so two images' definitions compare equal exactly when an eBPF
//! program sees no difference in them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A reference to a type, as a definition uses it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TypeRef {
    Void,
    Int(String),
    Float(String),
    Struct(String),
    Union(String),
    Enum { name: String, size: u32 },
    Typedef(String),
    Fwd { name: String, union: bool },
    Ptr(Box<TypeRef>),
    Const(Box<TypeRef>),
    Volatile(Box<TypeRef>),
    Restrict(Box<TypeRef>),
    Array { nelems: u32, elem: Box<TypeRef> },
    FuncProto(Box<Proto>),
}

/// A parameter: name (empty when the prototype names none) and type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub ty: TypeRef,
}

/// A function prototype. A variadic function ends with a parameter of type `Void` and no
/// name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Proto {
    pub params: Vec<Param>,
    pub ret: TypeRef,
}

impl Proto {
    pub fn is_variadic(&self) -> bool {
        self.params
            .last()
            .is_some_and(|p| p.ty == TypeRef::Void && p.name.is_empty())
    }
}

/// A member of a struct or union, after anonymous structs and unions are flattened.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Member {
    pub name: String,
    pub bit_offset: u32,
    /// Bitfield width; 0 for an ordinary member.
    pub bitfield: u32,
    pub ty: TypeRef,
}

/// A struct or union definition.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Composite {
    pub size: u32,
    pub members: Vec<Member>,
}

impl Composite {
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }
}

/// An enum definition; values read as signed numbers of the enum's size.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Enum {
    pub size: u32,
    pub values: Vec<(String, i64)>,
}

/// How the functions of one name collide (SPEC §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Collision {
    UniqueGlobal,
    UniqueStatic,
    /// Several static definitions at one declaration location (a header function).
    StaticDuplication,
    StaticStaticCollision,
    StaticGlobalCollision,
}

impl Collision {
    pub fn as_str(self) -> &'static str {
        match self {
            Collision::UniqueGlobal => "Unique Global",
            Collision::UniqueStatic => "Unique Static",
            Collision::StaticDuplication => "Static Duplication",
            Collision::StaticStaticCollision => "Static-Static Collision",
            Collision::StaticGlobalCollision => "Static-Global Collision",
        }
    }

    pub fn parse(s: &str) -> Option<Collision> {
        [
            Collision::UniqueGlobal,
            Collision::UniqueStatic,
            Collision::StaticDuplication,
            Collision::StaticStaticCollision,
            Collision::StaticGlobalCollision,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// Whether a function survives as a callable symbol (SPEC §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum InlineType {
    /// A symbol, and no entry inlined anywhere.
    No,
    /// No symbol at all: the function exists only inlined.
    Full,
    /// A symbol, and some entry inlined somewhere.
    Selective,
}

impl InlineType {
    pub fn as_str(self) -> &'static str {
        match self {
            InlineType::No => "No",
            InlineType::Full => "Full",
            InlineType::Selective => "Selective",
        }
    }

    pub fn parse(s: &str) -> Option<InlineType> {
        [InlineType::No, InlineType::Full, InlineType::Selective]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// The DWARF inline attribute of an entry (`DW_AT_inline`), or its absence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum InlineAttr {
    NotDeclaredNotInlined,
    NotDeclaredInlined,
    DeclaredNotInlined,
    DeclaredInlined,
    /// No `DW_AT_inline`: the compiler said nothing.
    SeenUnknown,
}

impl InlineAttr {
    pub fn from_dwarf(v: Option<u64>) -> InlineAttr {
        match v {
            Some(0) => InlineAttr::NotDeclaredNotInlined,
            Some(1) => InlineAttr::NotDeclaredInlined,
            Some(2) => InlineAttr::DeclaredNotInlined,
            Some(3) => InlineAttr::DeclaredInlined,
            _ => InlineAttr::SeenUnknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            InlineAttr::NotDeclaredNotInlined => "not declared, not inlined",
            InlineAttr::NotDeclaredInlined => "not declared, inlined",
            InlineAttr::DeclaredNotInlined => "declared, not inlined",
            InlineAttr::DeclaredInlined => "declared, inlined",
            InlineAttr::SeenUnknown => "seen, unknown",
        }
    }

    pub fn parse(s: &str) -> Option<InlineAttr> {
        [
            InlineAttr::NotDeclaredNotInlined,
            InlineAttr::NotDeclaredInlined,
            InlineAttr::DeclaredNotInlined,
            InlineAttr::DeclaredInlined,
            InlineAttr::SeenUnknown,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// Callers of an entry: their names, or only how many when a dataset keeps counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Callers {
    pub count: u32,
    /// The callers' names, sorted; empty when only the count was kept.
    pub names: Vec<String>,
}

/// One definition of a function (SPEC §3 "Function status"): an external definition, or a
/// static one per (declaration location, compile unit).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FuncEntry {
    /// Address of the out-of-line instance; 0 when there is none.
    pub addr: u64,
    pub external: bool,
    /// Declaration `file:line`, relative to the kernel source tree.
    pub loc: String,
    /// The compile unit, relative to the kernel source tree.
    pub file: String,
    pub inline: InlineAttr,
    /// Functions that inlined this one.
    pub caller_inline: Callers,
    /// Functions that call it.
    pub caller_func: Callers,
}

/// A function symbol of `.symtab` (`foo`, `foo.isra.0`, `foo.cold`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FuncSymbol {
    pub addr: u64,
    pub name: String,
    pub section: String,
    /// `LOCAL`, `GLOBAL`, `WEAK`.
    pub bind: String,
    pub size: u64,
}

/// Everything known about the functions of one name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FuncStatus {
    pub collision: Collision,
    pub inline: InlineType,
    pub entries: Vec<FuncEntry>,
    pub symbols: Vec<FuncSymbol>,
}

impl FuncStatus {
    /// Some symbol carries a compiler suffix (`.isra.0`, `.constprop.0`, `.part.0`, `.cold`).
    pub fn transformed(&self) -> bool {
        self.symbols.iter().any(|s| s.name.contains('.'))
    }

    /// The status issues of SPEC §5, in a fixed order.
    pub fn issues(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        match self.collision {
            Collision::StaticDuplication => v.push("Duplicate"),
            Collision::StaticStaticCollision | Collision::StaticGlobalCollision => {
                v.push("Collision")
            }
            _ => {}
        }
        match self.inline {
            InlineType::Full => v.push("Full Inline"),
            InlineType::Selective => v.push("Selective Inline"),
            InlineType::No => {}
        }
        if self.transformed() {
            v.push("Transformation");
        }
        v
    }
}

/// A tracepoint (SPEC §3): the event's class, the system it is listed under in tracefs
/// (`sched` for `sched/sched_switch`) and its `print_fmt`. Its surface also holds the struct
/// `trace_event_raw_<class>` and the function `trace_event_raw_event_<class>`, kept with the
/// image's other structs and functions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tracepoint {
    pub class: String,
    pub system: String,
    pub fmt: String,
}

impl Tracepoint {
    /// The struct of the event's record: `trace_event_raw_<class>`.
    pub fn struct_name(&self) -> String {
        format!("trace_event_raw_{}", self.class)
    }

    /// The function that records the event: `trace_event_raw_event_<class>`.
    pub fn func_name(&self) -> String {
        format!("trace_event_raw_event_{}", self.class)
    }
}

/// What kind of dependency. The order is the order of listings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Struct,
    Union,
    Field,
    Enum,
    Func,
    Tracepoint,
    Lsm,
    Kfunc,
    Syscall,
    Var,
    Config,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::Struct,
        Kind::Union,
        Kind::Field,
        Kind::Enum,
        Kind::Func,
        Kind::Tracepoint,
        Kind::Lsm,
        Kind::Kfunc,
        Kind::Syscall,
        Kind::Var,
        Kind::Config,
    ];

    /// Kinds whose items stand on their own: every kind but fields, which are part of their
    /// struct or union. A whole-image diff and the website cover these.
    pub const ITEMS: [Kind; 10] = [
        Kind::Struct,
        Kind::Union,
        Kind::Enum,
        Kind::Func,
        Kind::Tracepoint,
        Kind::Lsm,
        Kind::Kfunc,
        Kind::Syscall,
        Kind::Var,
        Kind::Config,
    ];

    /// Kinds read from the image's data and symbols (SPEC §3), with the types' help.
    pub const DATA: [Kind; 2] = [Kind::Tracepoint, Kind::Syscall];

    /// Kinds that come from an image's types (BTF, or DWARF).
    pub const TYPES: [Kind; 6] = [
        Kind::Struct,
        Kind::Union,
        Kind::Enum,
        Kind::Func,
        Kind::Lsm,
        Kind::Kfunc,
    ];

    /// Kinds stored as a name → definition index (fields are derived from structs and
    /// unions; syscalls are stored as whole tables).
    pub const STORED: [Kind; 9] = [
        Kind::Struct,
        Kind::Union,
        Kind::Enum,
        Kind::Func,
        Kind::Tracepoint,
        Kind::Lsm,
        Kind::Kfunc,
        Kind::Var,
        Kind::Config,
    ];

    /// The word a report's title uses: `Struct`, `Function`, `LSM hook`, ...
    pub fn title(self) -> &'static str {
        match self {
            Kind::Struct => "Struct",
            Kind::Union => "Union",
            Kind::Field => "Field",
            Kind::Enum => "Enum",
            Kind::Func => "Function",
            Kind::Tracepoint => "Tracepoint",
            Kind::Syscall => "Syscall",
            Kind::Lsm => "LSM hook",
            Kind::Kfunc => "kfunc",
            Kind::Var => "Variable",
            Kind::Config => "Config",
        }
    }

    /// The name used on the command line and in file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Struct => "struct",
            Kind::Union => "union",
            Kind::Field => "field",
            Kind::Enum => "enum",
            Kind::Func => "func",
            Kind::Tracepoint => "tracepoint",
            Kind::Syscall => "syscall",
            Kind::Lsm => "lsm",
            Kind::Kfunc => "kfunc",
            Kind::Var => "var",
            Kind::Config => "config",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s.to_ascii_lowercase().as_str() {
            "struct" | "structs" => Kind::Struct,
            "union" | "unions" => Kind::Union,
            "field" | "fields" => Kind::Field,
            "enum" | "enums" => Kind::Enum,
            "func" | "function" | "funcs" | "functions" => Kind::Func,
            "lsm" | "lsm-hook" | "lsm_hook" | "hook" => Kind::Lsm,
            "kfunc" | "kfuncs" => Kind::Kfunc,
            "tracepoint" | "tracepoints" | "tp" | "event" => Kind::Tracepoint,
            "syscall" | "syscalls" => Kind::Syscall,
            "var" | "vars" | "variable" | "variables" | "ksym" => Kind::Var,
            "config" | "configs" => Kind::Config,
            _ => return None,
        })
    }
}

/// Facts about an image's functions that are not kinds of their own, and that its inputs
/// may not give: an image records those it could not extract, so that reports say unknown
/// rather than none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Facet {
    /// Function status (inlining, duplicates, clones): needs DWARF and a symbol table.
    FuncStatus,
    /// Which functions ftrace can patch and kprobes refuse: needs the mcount table and
    /// symbols.
    Traceability,
}

impl Facet {
    pub fn as_str(self) -> &'static str {
        match self {
            Facet::FuncStatus => "function status",
            Facet::Traceability => "traceability",
        }
    }
}

/// Everything one image exposes. Maps are keyed by name and ordered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Surface {
    pub structs: BTreeMap<String, Composite>,
    pub unions: BTreeMap<String, Composite>,
    /// Named enums, and every anonymous enum merged under `(anon)`.
    pub enums: BTreeMap<String, Enum>,
    pub funcs: BTreeMap<String, Proto>,
    /// LSM hook name (without `security_`) → the signature of `security_<hook>`.
    pub lsm_hooks: BTreeMap<String, Proto>,
    pub kfuncs: BTreeMap<String, Proto>,
    /// Set options (without `CONFIG_`) and their values; unset options are absent.
    pub config: BTreeMap<String, String>,
    /// Function status by name (from DWARF and the symbol table), when known.
    #[serde(default)]
    pub func_status: BTreeMap<String, FuncStatus>,
    /// Tracepoints by event name.
    #[serde(default)]
    pub tracepoints: BTreeMap<String, Tracepoint>,
    /// The native system call table: number → name (prefixes such as `__x64_sys_`
    /// stripped; unimplemented numbers left out: see `ni_syscalls`).
    #[serde(default)]
    pub syscalls: BTreeMap<u32, String>,
    /// Compatibility tables by ABI (`ia32`, `x32`, `compat`, `emu`...), where present.
    #[serde(default)]
    pub compat_syscalls: BTreeMap<String, BTreeMap<u32, String>>,
    /// Kernel variables (what `__ksym` externs resolve to): the type of those the image's
    /// BTF describes (per-CPU variables), `Void` for those only its symbols list.
    #[serde(default)]
    pub vars: BTreeMap<String, TypeRef>,
    /// Which function symbols ftrace can patch and kprobes refuse; `None` when the image's
    /// inputs could not tell (no mcount table, or no symbols).
    #[serde(default)]
    pub traceability: Option<crate::trace::Traceability>,
    /// The slots of the system call tables that hold `sys_ni_syscall` (numbers the kernel
    /// does not implement), by ABI (`""` for the native table). They are not system calls:
    /// listings, reports, diffs and checks read `syscalls` and `compat_syscalls`, which
    /// leave them out. Kept so that a table is written back whole, as the research layout
    /// has it (`"134": "ni_syscall"`).
    #[serde(default)]
    pub ni_syscalls: BTreeMap<String, std::collections::BTreeSet<u32>>,
    /// Integer types: name and size in bytes (the research layout's `types_int/`). Not a
    /// dependency kind.
    #[serde(default)]
    pub ints: BTreeMap<String, u32>,
    /// The order of the lines of the research layout's files the surface was read from, per
    /// directory (`tracepoints`, `types_enum`, `types_union`, `types_int`, ...): names in
    /// file order. Export writes these names first, in that order, then any others by
    /// name. Empty for extracted images.
    #[serde(default)]
    pub file_order: BTreeMap<String, Vec<String>>,
    /// The config file as read (comments, blank lines and order included), when kept;
    /// `config` holds what it sets.
    #[serde(default)]
    pub config_text: Option<String>,
}

impl TypeRef {
    /// Calls `f` on this reference and every reference inside it.
    fn visit_mut(&mut self, f: &mut dyn FnMut(&mut TypeRef)) {
        f(self);
        match self {
            TypeRef::Ptr(i) | TypeRef::Const(i) | TypeRef::Volatile(i) | TypeRef::Restrict(i) => {
                i.visit_mut(f)
            }
            TypeRef::Array { elem, .. } => elem.visit_mut(f),
            TypeRef::FuncProto(p) => p.visit_mut(f),
            _ => {}
        }
    }
}

impl Proto {
    fn visit_mut(&mut self, f: &mut dyn FnMut(&mut TypeRef)) {
        for p in &mut self.params {
            p.ty.visit_mut(f);
        }
        self.ret.visit_mut(f);
    }
}

/// One item of a surface, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item<'a> {
    Composite(&'a Composite),
    Field {
        owner: &'a Composite,
        member: &'a Member,
    },
    Enum(&'a Enum),
    Func(&'a Proto),
    /// A tracepoint with its struct and function, where the image has them.
    Tracepoint {
        tp: &'a Tracepoint,
        event: Option<&'a Composite>,
        func: Option<&'a Proto>,
    },
    /// A system call: its number.
    Syscall(u32),
    /// A kernel variable: its type (`Void` when only a symbol).
    Var(&'a TypeRef),
    Config(&'a str),
}

impl Enum {
    /// The merged anonymous enum: every (name, value) once, sorted, so the order in which a
    /// source met the anonymous enums does not matter.
    pub fn merged_anonymous(size: u32, mut values: Vec<(String, i64)>) -> Enum {
        values.sort();
        values.dedup();
        Enum { size, values }
    }
}

impl Surface {
    /// A forward declaration of a struct or union the image defines means that definition:
    /// BTF deduplication resolves them, DWARF keeps them per compile unit. Normalising both
    /// the same way makes the two sources agree.
    pub fn resolve_forwards(&mut self) {
        let structs: std::collections::HashSet<String> = self.structs.keys().cloned().collect();
        let unions: std::collections::HashSet<String> = self.unions.keys().cloned().collect();
        let mut fix = |t: &mut TypeRef| {
            if let TypeRef::Fwd { name, union } = t {
                if *union && unions.contains(name.as_str()) {
                    *t = TypeRef::Union(std::mem::take(name));
                } else if !*union && structs.contains(name.as_str()) {
                    *t = TypeRef::Struct(std::mem::take(name));
                }
            }
        };
        for c in self.structs.values_mut().chain(self.unions.values_mut()) {
            for m in &mut c.members {
                m.ty.visit_mut(&mut fix);
            }
        }
        for p in self
            .funcs
            .values_mut()
            .chain(self.lsm_hooks.values_mut())
            .chain(self.kfuncs.values_mut())
        {
            p.visit_mut(&mut fix);
        }
    }

    /// The item of `kind` named `name` (`struct::field` for fields).
    pub fn get(&self, kind: Kind, name: &str) -> Option<Item<'_>> {
        match kind {
            Kind::Struct => self.structs.get(name).map(Item::Composite),
            Kind::Union => self.unions.get(name).map(Item::Composite),
            Kind::Field => {
                let (owner, field) = name.split_once("::")?;
                let c = self.structs.get(owner).or_else(|| self.unions.get(owner))?;
                c.member(field)
                    .map(|member| Item::Field { owner: c, member })
            }
            Kind::Enum => self.enums.get(name).map(Item::Enum),
            Kind::Func => self.funcs.get(name).map(Item::Func),
            Kind::Lsm => self.lsm_hooks.get(name).map(Item::Func),
            Kind::Kfunc => self.kfuncs.get(name).map(Item::Func),
            Kind::Tracepoint => self.tracepoints.get(name).map(|tp| Item::Tracepoint {
                tp,
                event: self.structs.get(&tp.struct_name()),
                func: self.funcs.get(&tp.func_name()),
            }),
            Kind::Syscall => self.syscall_number(name).map(Item::Syscall),
            Kind::Var => self.vars.get(name).map(Item::Var),
            Kind::Config => self
                .config
                .get(name.strip_prefix("CONFIG_").unwrap_or(name))
                .map(|v| Item::Config(v.as_str())),
        }
    }

    /// Names of every item of `kind` (fields as `struct::field`), in order.
    pub fn names(&self, kind: Kind) -> Vec<String> {
        match kind {
            Kind::Struct => self.structs.keys().cloned().collect(),
            Kind::Union => self.unions.keys().cloned().collect(),
            Kind::Field => self
                .structs
                .iter()
                .chain(self.unions.iter())
                .flat_map(|(s, c)| c.members.iter().map(move |m| format!("{s}::{}", m.name)))
                .collect(),
            Kind::Enum => self.enums.keys().cloned().collect(),
            Kind::Func => self.funcs.keys().cloned().collect(),
            Kind::Lsm => self.lsm_hooks.keys().cloned().collect(),
            Kind::Kfunc => self.kfuncs.keys().cloned().collect(),
            Kind::Tracepoint => self.tracepoints.keys().cloned().collect(),
            Kind::Syscall => {
                let names: std::collections::BTreeSet<&String> = self.syscalls.values().collect();
                names.into_iter().cloned().collect()
            }
            Kind::Var => self.vars.keys().cloned().collect(),
            Kind::Config => self.config.keys().cloned().collect(),
        }
    }

    /// The lowest number of the native system call `name`.
    pub fn syscall_number(&self, name: &str) -> Option<u32> {
        self.syscalls
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(&nr, _)| nr)
    }

    /// Number of items of each stored kind.
    pub fn counts(&self) -> BTreeMap<Kind, usize> {
        BTreeMap::from([
            (Kind::Struct, self.structs.len()),
            (Kind::Union, self.unions.len()),
            (Kind::Enum, self.enums.len()),
            (Kind::Func, self.funcs.len()),
            (Kind::Lsm, self.lsm_hooks.len()),
            (Kind::Kfunc, self.kfuncs.len()),
            (Kind::Tracepoint, self.tracepoints.len()),
            (Kind::Syscall, self.names(Kind::Syscall).len()),
            (Kind::Var, self.vars.len()),
            (Kind::Config, self.config.len()),
        ])
    }
}
