//! An object built to make the flow walk explode (found by the fuzzer: calls and loops in
//! 148 instructions) makes it give up at its bound, having marked every instruction of the
//! program reachable, rather than run for seconds.

#[test]
fn a_walk_that_explodes_gives_up_at_its_bound() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/bpf_object/regress-walk-explodes"
    );
    let data = std::fs::read(path).unwrap();
    let o = depsurf_bpf::BpfObject::parse("regress-walk-explodes", &data).unwrap();
    let mut gave_up = 0;
    for p in &o.programs {
        let f = depsurf_bpf::flow::walk(&o.code, p.entry, &Default::default());
        assert!(f.work <= 2_000_000, "{}: work {}", p.name, f.work);
        if !f.exact {
            gave_up += 1;
            for (start, end) in o.code.closure(p.entry) {
                for insn in start.insn..end {
                    let at = depsurf_bpf::Loc {
                        sec: start.sec,
                        insn,
                    };
                    assert!(f.reachable.contains(&at), "{}: {at:?}", p.name);
                }
            }
        }
    }
    assert_eq!(gave_up, 1, "one program of the input explodes");
}
