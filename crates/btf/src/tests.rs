use crate::builder::Builder;
use crate::dump::dump_raw;
use crate::{Btf, BtfError, Endian, Kind};

/// A small blob with one type of every kind.
fn every_kind(endian: Endian) -> Vec<u8> {
    let mut b = Builder::new(endian);
    let int = b.int("int", 4, 32, 1); // 1
    let ptr = b.reference(Kind::Ptr, "", int); // 2
    let arr = b.array(int, int, 3); // 3
    let st = b.composite(
        Kind::Struct,
        "task",
        16,
        &[("pid", int, 0, 0), ("flags", int, 32, 3), ("", arr, 64, 0)],
    ); // 4
    b.composite(Kind::Union, "u", 4, &[("a", int, 0, 0), ("b", ptr, 0, 0)]); // 5
    b.enumeration("state", 4, false, &[("RUNNING", 0), ("BIG", 0xffff_fff0)]); // 6
    b.fwd("later", true); // 7
    b.reference(Kind::Typedef, "pid_t", int); // 8
    b.reference(Kind::Volatile, "", int); // 9
    b.reference(Kind::Const, "", st); // 10
    b.reference(Kind::Restrict, "", ptr); // 11
    let proto = b.func_proto(int, &[("t", ptr), ("", 0)]); // 12
    let func = b.func("do_it", proto, 1); // 13
    let var = b.var("counter", int, 1); // 14
    b.datasec(".data", 8, &[(var, 0, 4)]); // 15
    b.float("double", 8); // 16
    b.decl_tag("bpf_kfunc", func, -1); // 17
    b.reference(Kind::TypeTag, "user", int); // 18
    b.enum64("wide", true, &[("NEG", (-2i64) as u64), ("HUGE", 1 << 40)]); // 19
    b.enumeration("sgn", 1, true, &[("M", -1)]); // 20
    b.finish()
}

const EVERY_KIND_DUMP: &str = "\
[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
[2] PTR '(anon)' type_id=1
[3] ARRAY '(anon)' type_id=1 index_type_id=1 nr_elems=3
[4] STRUCT 'task' size=16 vlen=3
\t'pid' type_id=1 bits_offset=0
\t'flags' type_id=1 bits_offset=32 bitfield_size=3
\t'(anon)' type_id=3 bits_offset=64
[5] UNION 'u' size=4 vlen=2
\t'a' type_id=1 bits_offset=0
\t'b' type_id=2 bits_offset=0
[6] ENUM 'state' encoding=UNSIGNED size=4 vlen=2
\t'RUNNING' val=0
\t'BIG' val=4294967280
[7] FWD 'later' fwd_kind=union
[8] TYPEDEF 'pid_t' type_id=1
[9] VOLATILE '(anon)' type_id=1
[10] CONST '(anon)' type_id=4
[11] RESTRICT '(anon)' type_id=2
[12] FUNC_PROTO '(anon)' ret_type_id=1 vlen=2
\t't' type_id=2
\t'(anon)' type_id=0
[13] FUNC 'do_it' type_id=12 linkage=global
[14] VAR 'counter' type_id=1, linkage=global
[15] DATASEC '.data' size=8 vlen=1
\ttype_id=14 offset=0 size=4 (VAR 'counter')
[16] FLOAT 'double' size=8
[17] DECL_TAG 'bpf_kfunc' type_id=13 component_idx=-1
[18] TYPE_TAG 'user' type_id=1
[19] ENUM64 'wide' encoding=SIGNED size=8 vlen=2
\t'NEG' val=-2LL
\t'HUGE' val=1099511627776LL
[20] ENUM 'sgn' encoding=SIGNED size=1 vlen=1
\t'M' val=-1
";

fn dump(btf: &Btf<'_>) -> String {
    let mut out = Vec::new();
    dump_raw(btf, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn every_kind_in_both_byte_orders() {
    for endian in [Endian::Little, Endian::Big] {
        let blob = every_kind(endian);
        let btf = Btf::parse(&blob).unwrap();
        assert_eq!(btf.endian(), endian);
        assert_eq!(btf.type_count(), 21);
        assert_eq!(dump(&btf), EVERY_KIND_DUMP, "{endian:?}");
        let counts = btf.kind_counts();
        assert_eq!(counts.total(), 20);
        assert_eq!(counts.get(Kind::Enum), 2);
        let st = btf.type_by_id(4).unwrap();
        let m: Vec<_> = st
            .members()
            .map(|m| (m.name, m.bit_offset, m.bitfield_size))
            .collect();
        assert_eq!(m, [("pid", 0, 0), ("flags", 32, 3), ("", 64, 0)]);
    }
}

#[test]
fn split_btf_reads_base_types_and_strings() {
    let base_blob = every_kind(Endian::Little);
    let base = Btf::parse(&base_blob).unwrap();
    let mut s = Builder::split(Endian::Little, base.type_count(), base.strings_len() as u32);
    let p = s.reference(Kind::Ptr, "", 4); // 21 -> base struct task
    let name = s.str("pid"); // reuse of a base-like name, stored locally
    assert!(name >= base.strings_len() as u32);
    s.composite(Kind::Struct, "mod_state", 8, &[("task", p, 0, 0)]); // 22
    let blob = s.finish();
    let split = Btf::parse_split(&blob, &base).unwrap();
    assert_eq!(split.start_id(), 21);
    assert_eq!(split.type_count(), 23);
    assert_eq!(
        dump(&split),
        "[21] PTR '(anon)' type_id=4\n[22] STRUCT 'mod_state' size=8 vlen=1\n\t'task' type_id=21 bits_offset=0\n"
    );
    assert_eq!(split.type_by_id(4).unwrap().name(), "task");
    // Without its base, the blob's references do not resolve.
    assert!(Btf::parse(&blob).is_err());
}

#[test]
fn every_truncation_is_an_error() {
    let blob = every_kind(Endian::Big);
    for len in 0..blob.len() {
        assert!(Btf::parse(&blob[..len]).is_err(), "truncated to {len}");
    }
}

#[test]
fn every_single_byte_corruption_is_handled() {
    // Not every corruption is detectable (a changed offset may still be valid), but none
    // may panic, and the ones that break structure must be errors.
    let blob = every_kind(Endian::Little);
    for i in 0..blob.len() {
        for v in [0x00, 0xff, 0x7f, 0x13] {
            let mut b = blob.clone();
            b[i] = v;
            if let Ok(btf) = Btf::parse(&b) {
                let _ = dump(&btf);
            }
        }
    }
}

#[test]
fn specific_errors_name_the_problem() {
    let good = every_kind(Endian::Little);
    let mut bad = good.clone();
    bad[0] = 0x12;
    assert!(matches!(Btf::parse(&bad), Err(BtfError::BadMagic(_))));
    let mut bad = good.clone();
    bad[2] = 2;
    assert_eq!(Btf::parse(&bad).unwrap_err(), BtfError::Version(2));
    // str_len that runs past the end
    let mut bad = good.clone();
    bad[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        Btf::parse(&bad),
        Err(BtfError::SectionBounds {
            section: "string",
            ..
        })
    ));
    // type 2 (PTR) pointing at a type that does not exist
    let mut bad = good.clone();
    let ptr_type_field = 24 + 12 + 4 + 8;
    bad[ptr_type_field..ptr_type_field + 4].copy_from_slice(&999u32.to_le_bytes());
    let err = Btf::parse(&bad).unwrap_err();
    assert!(
        matches!(
            err,
            BtfError::BadTypeId {
                id: 2,
                target: 999,
                ..
            }
        ),
        "{err}"
    );
    // unknown kind in type 1
    let mut bad = good.clone();
    bad[24 + 4 + 3] = 25;
    assert!(matches!(
        Btf::parse(&bad),
        Err(BtfError::UnknownKind { id: 1, kind: 25 })
    ));
    // a name offset outside the string section
    let mut bad = good.clone();
    bad[24..28].copy_from_slice(&0x00ff_ffffu32.to_le_bytes());
    assert!(matches!(
        Btf::parse(&bad),
        Err(BtfError::BadName { id: 1, .. })
    ));
    // a vlen lying about the number of members
    let mut bad = good;
    let struct_info = 24 + 16 + 12 + 24 + 4; // type 4's info word
    bad[struct_info..struct_info + 2].copy_from_slice(&0xfff0u16.to_le_bytes());
    assert!(Btf::parse(&bad).is_err());
}
