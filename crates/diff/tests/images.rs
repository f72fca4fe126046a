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
    let mut sb = StoreBuilder::default();
    sb.add("old-1", &a);
    sb.add("new-2", &b);
    let images: Vec<ImageMeta> = ["old-1", "new-2"]
        .iter()
        .map(|id| ImageMeta {
            id: id.to_string(),
            ..Default::default()
        })
        .collect();
    let (default, groups) = infer_groups(&images, Some("old-1"));
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
