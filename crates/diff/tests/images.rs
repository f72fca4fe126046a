//! Whole-image differences on a constructed pair of images whose surfaces differ in every
//! way SPEC §4 names (and in layout only), stored and read back as a dataset.

use std::collections::BTreeMap;

use depsurf_diff::images::diff_images;
use depsurf_surface::manifest::{Manifest, infer_groups};
use depsurf_surface::model::{Composite, Enum, Member, Param, Proto, Surface, Tracepoint, TypeRef};
use depsurf_surface::store::StoreBuilder;
use depsurf_surface::{Dataset, ImageMeta, Kind};

fn int() -> TypeRef {
    TypeRef::Int("int".into())
}
fn m(name: &str, off: u32, ty: TypeRef) -> Member {
    Member {
        name: name.into(),
        bit_offset: off,
        bitfield: 0,
        ty,
    }
}
fn p(name: &str, ty: TypeRef) -> Param {
    Param {
        name: name.into(),
        ty,
    }
}

fn surfaces() -> (Surface, Surface) {
    let mut a = Surface::default();
    let mut b = Surface::default();
    // Struct: a field added, one removed, one whose type changes; another struct whose
    // members only move; one removed, one added.
    a.structs.insert(
        "s".into(),
        Composite {
            size: 8,
            members: vec![m("x", 0, int()), m("gone", 32, int())],
        },
    );
    b.structs.insert(
        "s".into(),
        Composite {
            size: 16,
            members: vec![
                m("x", 0, TypeRef::Int("long int".into())),
                m("new", 64, int()),
            ],
        },
    );
    let moved = |off| Composite {
        size: 16,
        members: vec![m("a", 0, int()), m("b", off, int())],
    };
    a.structs.insert("moved".into(), moved(32));
    b.structs.insert("moved".into(), moved(64));
    a.structs.insert("only_old".into(), moved(32));
    b.structs.insert("only_new".into(), moved(32));
    // Enum: a value added, one removed, one changed.
    a.enums.insert(
        "e".into(),
        Enum {
            size: 4,
            values: vec![("A".into(), 0), ("B".into(), 1)],
        },
    );
    b.enums.insert(
        "e".into(),
        Enum {
            size: 4,
            values: vec![("A".into(), 5), ("C".into(), 2)],
        },
    );
    // Function: params added, removed, reordered, retyped; return type changed.
    a.funcs.insert(
        "f".into(),
        Proto {
            params: vec![p("a", int()), p("b", int()), p("c", int()), p("old", int())],
            ret: int(),
        },
    );
    b.funcs.insert(
        "f".into(),
        Proto {
            params: vec![
                p("b", int()),
                p("a", TypeRef::Int("long int".into())),
                p("new", int()),
                p("c", int()),
            ],
            ret: TypeRef::Void,
        },
    );
    // Tracepoint: its struct, its function and its format change.
    let tp = |fmt: &str| Tracepoint {
        class: "ev".into(),
        system: "sys".into(),
        fmt: fmt.into(),
    };
    a.tracepoints.insert("ev".into(), tp("\"a=%d\""));
    b.tracepoints.insert("ev".into(), tp("\"a=%d b=%d\""));
    a.structs.insert(
        "trace_event_raw_ev".into(),
        Composite {
            size: 8,
            members: vec![m("a", 0, int())],
        },
    );
    b.structs.insert(
        "trace_event_raw_ev".into(),
        Composite {
            size: 8,
            members: vec![m("a", 0, int()), m("b", 32, int())],
        },
    );
    a.funcs.insert(
        "trace_event_raw_event_ev".into(),
        Proto {
            params: vec![p("a", int())],
            ret: TypeRef::Void,
        },
    );
    b.funcs.insert(
        "trace_event_raw_event_ev".into(),
        Proto {
            params: vec![p("a", int()), p("b", int())],
            ret: TypeRef::Void,
        },
    );
    // Config, syscalls, variables.
    a.config.insert("X".into(), "y".into());
    b.config.insert("X".into(), "m".into());
    a.syscalls = BTreeMap::from([(0, "read".into()), (1, "gone".into())]);
    b.syscalls = BTreeMap::from([(0, "read".into()), (2, "added".into())]);
    a.vars.insert("v".into(), int());
    b.vars.insert("w".into(), TypeRef::Void);
    (a, b)
}

fn dataset() -> Dataset {
    let (a, b) = surfaces();
    dataset_of(&[("old-1", &a), ("new-2", &b)])
}

/// A dataset of `surfaces` (id, surface), groups inferred, the first image the default.
fn dataset_of(surfaces: &[(&str, &Surface)]) -> Dataset {
    let mut sb = StoreBuilder::default();
    for (id, s) in surfaces {
        sb.add(id, s);
    }
    let images: Vec<ImageMeta> = surfaces
        .iter()
        .map(|(id, _)| ImageMeta {
            id: id.to_string(),
            ..Default::default()
        })
        .collect();
    let (default, groups) = infer_groups(&images, Some(surfaces[0].0));
    let m = Manifest {
        format: 1,
        name: "t".into(),
        store: "t.dsf".into(),
        default,
        infer_groups: false,
        images,
        groups,
    };
    Dataset::from_parts(
        &m.to_toml(),
        depsurf_image::Bytes::from_vec(sb.finish()),
        "test",
    )
    .unwrap()
}

#[test]
fn every_change_name_is_counted() {
    let ds = dataset();
    let d = diff_images(&ds, "old-1", "new-2", &[]).unwrap();
    let by = |k: Kind| d.kinds.iter().find(|x| x.kind == k).unwrap();
    let s = by(Kind::Struct);
    assert_eq!((s.old, s.new, s.added, s.removed), (4, 4, 1, 1));
    assert_eq!(s.added_names, ["only_new"]);
    assert_eq!(s.removed_names, ["only_old"]);
    for (name, n) in [
        ("Field added", 2),
        ("Field removed", 1),
        ("Field type changed", 1),
        ("Layout changed", 1),
    ] {
        assert_eq!(s.changes.get(name), Some(&n), "{name}: {:?}", s.changes);
    }
    let e = by(Kind::Enum);
    for name in ["Value added", "Value removed", "Value changed"] {
        assert_eq!(e.changes.get(name), Some(&1), "{name}");
    }
    let f = by(Kind::Func);
    for name in [
        "Param added",
        "Param removed",
        "Param reordered",
        "Param type changed",
        "Return type changed",
    ] {
        assert!(f.changes.contains_key(name), "{name}: {:?}", f.changes);
    }
    let t = by(Kind::Tracepoint);
    assert_eq!(t.changed, 1);
    for name in ["Event changed", "Func changed", "Format changed"] {
        assert_eq!(t.changes.get(name), Some(&1), "{name}");
    }
    assert_eq!(by(Kind::Config).changes.get("Config changed"), Some(&1));
    let sc = by(Kind::Syscall);
    assert_eq!(
        (sc.added_names.clone(), sc.removed_names.clone(), sc.changed),
        (vec!["added".to_string()], vec!["gone".to_string()], 0)
    );
    let v = by(Kind::Var);
    assert_eq!((v.added, v.removed, v.changed), (1, 1, 0));
    // Every change name of SPEC §4, and Layout changed, appears somewhere.
    let all: std::collections::BTreeSet<&str> = d
        .kinds
        .iter()
        .flat_map(|k| k.changes.keys().copied())
        .collect();
    assert_eq!(all.len(), 16, "{all:?}");
    // An image against itself: nothing.
    let same = diff_images(&ds, "old-1", "old-1", &[]).unwrap();
    assert!(
        same.kinds
            .iter()
            .all(|k| k.added + k.removed + k.changed == 0)
    );
}

/// A function status with these symbols (none: inlined everywhere).
fn status(symbols: &[&str]) -> depsurf_surface::model::FuncStatus {
    use depsurf_surface::model::{
        Callers, Collision, FuncEntry, FuncStatus, FuncSymbol, InlineAttr, InlineType,
    };
    FuncStatus {
        collision: Collision::UniqueGlobal,
        inline: if symbols.is_empty() {
            InlineType::Full
        } else {
            InlineType::No
        },
        entries: vec![FuncEntry {
            addr: 0x1000,
            external: true,
            loc: "a.c:1".into(),
            file: "a.c".into(),
            inline: InlineAttr::NotDeclaredNotInlined,
            caller_inline: Callers::default(),
            caller_func: Callers::default(),
        }],
        symbols: symbols
            .iter()
            .map(|n| FuncSymbol {
                addr: 0x1000,
                name: n.to_string(),
                section: ".text".into(),
                bind: "GLOBAL".into(),
                size: 16,
            })
            .collect(),
    }
}

#[test]
fn functions_are_counted_by_prototype_when_status_is_known() {
    let (mut a, mut b) = surfaces();
    let proto = |n: usize| Proto {
        params: (0..n).map(|i| p(&format!("p{i}"), int())).collect(),
        ret: int(),
    };
    // Old: `f` and `kept` have a symbol of their name; `inl` is inlined everywhere; `cl`
    // exists only as a clone `cl.isra.0`. New: `kept` changes, `inl` gets a symbol (added
    // by prototype), `cl` too, `f` is inlined everywhere (removed by prototype).
    for (s, name, n) in [(&mut a, "kept", 1), (&mut b, "kept", 2)] {
        s.funcs.insert(name.into(), proto(n));
    }
    for s in [&mut a, &mut b] {
        s.funcs.insert("inl".into(), proto(1));
        s.funcs.insert("cl".into(), proto(1));
    }
    a.func_status.insert("f".into(), status(&["f"]));
    a.func_status.insert("kept".into(), status(&["kept"]));
    a.func_status.insert("inl".into(), status(&[]));
    a.func_status.insert("cl".into(), status(&["cl.isra.0"]));
    b.func_status.insert("f".into(), status(&[]));
    b.func_status.insert("kept".into(), status(&["kept"]));
    b.func_status.insert("inl".into(), status(&["inl"]));
    b.func_status
        .insert("cl".into(), status(&["cl.isra.0", "cl"]));
    // The new image again without function status: every function it lists counts.
    let mut c = b.clone();
    c.func_status.clear();
    let ds = dataset_of(&[("old-1", &a), ("new-2", &b), ("new-3", &c)]);
    assert_eq!(ds.prototype_funcs("old-1").unwrap().unwrap(), ["f", "kept"]);
    assert_eq!(ds.prototype_funcs("new-3").unwrap(), None);
    let d = diff_images(&ds, "old-1", "new-2", &[Kind::Func]).unwrap();
    let f = &d.kinds[0];
    assert_eq!(f.counted, Some(depsurf_diff::images::FuncCount::Prototypes));
    assert_eq!(
        (f.old, f.new, f.added, f.removed, f.changed),
        (2, 3, 2, 1, 1)
    );
    assert_eq!(f.added_names, ["cl", "inl"]);
    assert_eq!(f.removed_names, ["f"]);
    assert_eq!(f.changed_items[0].0, "kept");
    // Without status on one side, that side lists every function its types give.
    let d = diff_images(&ds, "old-1", "new-3", &[Kind::Func]).unwrap();
    let f = &d.kinds[0];
    assert_eq!(f.counted, Some(depsurf_diff::images::FuncCount::Listed));
    assert_eq!((f.old, f.new), (2, 5));
}
