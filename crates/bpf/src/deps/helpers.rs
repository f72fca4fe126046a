//! Helper calls: `call imm` with source 0 and no relocation, by `enum bpf_func_id` number.

use super::{Deps, Origin, Target};
use crate::code::{Code, Loc};
use crate::insn::{self, Insn};

pub(super) fn read(code: &Code, deps: &mut Deps) {
    for (sec, s) in code.sections.iter().enumerate() {
        let mut i = 0;
        while i < insn::count(&s.bytes) {
            let Some(ins) = Insn::at(&s.bytes, i, code.big_endian) else {
                break;
            };
            if ins.is_call() && ins.src == 0 && !s.relocs.contains_key(&i) && ins.imm > 0 {
                deps.add(
                    Target::Helper { id: ins.imm as u32 },
                    false,
                    Origin {
                        section: s.name.clone(),
                        program: code
                            .func_at(Loc { sec, insn: i })
                            .map(|f| f.name.clone())
                            .unwrap_or_default(),
                        insn: Some(i as u32),
                        relo: None,
                    },
                );
            }
            i += if ins.is_ld_imm64() { 2 } else { 1 };
        }
    }
}
