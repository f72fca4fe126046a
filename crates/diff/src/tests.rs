use super::*;

fn int() -> TypeRef {
    TypeRef::Int("int".into())
}
fn long() -> TypeRef {
    TypeRef::Int("long int".into())
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
fn names(c: &[Change]) -> Vec<&'static str> {
    c.iter().map(Change::name).collect()
}

#[test]
fn struct_changes_in_report_order() {
    let old = Composite {
        size: 16,
        members: vec![
            m("a", 0, int()),
            m("gone1", 32, int()),
            m("b", 64, int()),
            m("gone2", 96, int()),
        ],
    };
    let new = Composite {
        size: 16,
        members: vec![
            m("new1", 0, int()),
            m("a", 32, long()),
            m("b", 64, int()),
            m("new2", 96, long()),
        ],
    };
    let c = composites(&old, &new);
    assert_eq!(
        names(&c),
        [
            "Field added",
            "Field added",
            "Field removed",
            "Field removed",
            "Field type changed"
        ]
    );
    assert_eq!(c[0].parts().0, "int new1");
    assert_eq!(c[1].parts().0, "long int new2");
    assert_eq!(c[2].parts().0, "int gone1");
    assert_eq!(
        c[4].parts(),
        ("int a".to_string(), Some("long int a".to_string()))
    );
    assert_eq!(c[4].consequence(), Consequence::StrayRead);
}

#[test]
fn layout_only_changes_are_their_own_category() {
    let old = Composite {
        size: 8,
        members: vec![m("a", 0, int()), m("b", 32, int())],
    };
    let moved = Composite {
        size: 16,
        members: vec![m("a", 0, int()), m("b", 64, int())],
    };
    let c = composites(&old, &moved);
    assert_eq!(names(&c), ["Layout changed"]);
    assert_eq!(c[0].parts().0, "size 8 ➡️ 16, b at bit 32 ➡️ 64");
    assert!(composites(&old, &old).is_empty());
}

#[test]
fn function_changes_in_report_order() {
    let old = Proto {
        params: vec![p("a", int()), p("b", int()), p("c", int()), p("old", int())],
        ret: int(),
    };
    let new = Proto {
        params: vec![
            p("b", int()),
            p("a", long()),
            p("new", int()),
            p("c", int()),
        ],
        ret: TypeRef::Void,
    };
    let c = protos(&old, &new);
    assert_eq!(
        names(&c),
        [
            "Param added",
            "Param removed",
            "Param reordered",
            "Param type changed",
            "Return type changed"
        ]
    );
    assert_eq!(
        c[2].parts(),
        ("a, b, c".to_string(), Some("b, a, c".to_string()))
    );
    assert_eq!(c[4].parts(), ("int".to_string(), Some("void".to_string())));
    assert!(protos(&old, &old).is_empty());
}

#[test]
fn enum_and_config_changes() {
    let old = Enum {
        size: 4,
        values: vec![("A".into(), 0), ("B".into(), 1), ("C".into(), 2)],
    };
    let new = Enum {
        size: 4,
        values: vec![("A".into(), 0), ("C".into(), 3), ("D".into(), 4)],
    };
    let c = enums(&old, &new);
    assert_eq!(names(&c), ["Value added", "Value removed", "Value changed"]);
    assert_eq!(
        c[2].parts(),
        ("C = 2".to_string(), Some("C = 3".to_string()))
    );
    let c = items(Item::Config("y"), Item::Config("m"));
    assert_eq!(names(&c), ["Config changed"]);
    assert!(items(Item::Config("y"), Item::Config("y")).is_empty());
}

#[test]
fn tracepoint_changes_nest_struct_and_function_changes() {
    let tp = |fmt: &str| Tracepoint {
        class: "consume_skb".into(),
        system: "skb".into(),
        fmt: fmt.into(),
    };
    let void_ptr = || TypeRef::Ptr(Box::new(TypeRef::Void));
    let old_event = Composite {
        size: 16,
        members: vec![m("ent", 0, int()), m("skbaddr", 64, void_ptr())],
    };
    let new_event = Composite {
        size: 24,
        members: vec![
            m("ent", 0, int()),
            m("skbaddr", 64, void_ptr()),
            m("location", 128, void_ptr()),
        ],
    };
    let old_func = Proto {
        params: vec![p("__data", void_ptr()), p("skb", void_ptr())],
        ret: TypeRef::Void,
    };
    let new_func = Proto {
        params: vec![
            p("__data", void_ptr()),
            p("skb", void_ptr()),
            p("location", void_ptr()),
        ],
        ret: TypeRef::Void,
    };
    let (a, b) = (tp("\"skbaddr=%p\""), tp("\"skbaddr=%p location=%pS\""));
    let c = items(
        Item::Tracepoint {
            tp: &a,
            event: Some(&old_event),
            func: Some(&old_func),
        },
        Item::Tracepoint {
            tp: &b,
            event: Some(&new_event),
            func: Some(&new_func),
        },
    );
    assert_eq!(
        names(&c),
        ["Event changed", "Func changed", "Format changed"]
    );
    assert_eq!(names(c[0].nested()), ["Field added"]);
    assert_eq!(names(c[1].nested()), ["Param added"]);
    assert_eq!(
        c[0].parts(),
        ("struct trace_event_raw_consume_skb".to_string(), None)
    );
    assert_eq!(
        c[1].parts(),
        ("trace_event_raw_event_consume_skb".to_string(), None)
    );
    assert_eq!(
        c[2].parts(),
        (
            "\"skbaddr=%p\"".to_string(),
            Some("\"skbaddr=%p location=%pS\"".to_string())
        )
    );
    // Adding a parameter makes the probe read a stray argument; only the format: nothing.
    assert_eq!(c[1].consequence(), Consequence::StrayRead);
    assert_eq!(c[2].consequence(), Consequence::None);

    // Only the format changed: that alone is listed.
    let only_fmt = items(
        Item::Tracepoint {
            tp: &a,
            event: Some(&old_event),
            func: Some(&old_func),
        },
        Item::Tracepoint {
            tp: &b,
            event: Some(&old_event),
            func: Some(&old_func),
        },
    );
    assert_eq!(names(&only_fmt), ["Format changed"]);
    // Syscalls: presence only, a number moving is not a change.
    assert!(items(Item::Syscall(2), Item::Syscall(5)).is_empty());
}
