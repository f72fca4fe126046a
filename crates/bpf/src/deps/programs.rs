//! Programs: the functions of executable sections other than `.text`, with what their
//! section names say — program and attach type, attach point, and what the program type
//! needs from the kernel's configuration.

use super::{Deps, Origin, Target};
use crate::Program;
use crate::code::{Code, Loc};
use crate::sections::{self, Attach};

pub(super) fn read(code: &Code, deps: &mut Deps) -> Vec<Program> {
    let mut programs = Vec::new();
    for (sec, s) in code.sections.iter().enumerate() {
        if s.bytes.is_empty() || s.name == ".text" {
            continue;
        }
        let def = sections::parse(&s.name);
        for f in &s.funcs {
            let fname = &f.name;
            let origin = Origin {
                section: s.name.clone(),
                program: fname.clone(),
                insn: None,
                relo: None,
            };
            if let Some(d) = &def {
                deps.add(
                    Target::ProgType {
                        name: d.prog_type.to_string(),
                    },
                    false,
                    origin.clone(),
                );
                if let Some(a) = d.attach_type {
                    deps.add(
                        Target::AttachType {
                            name: a.to_string(),
                        },
                        false,
                        origin.clone(),
                    );
                }
                // What the program type needs from the kernel's configuration.
                let trampoline = matches!(d.attach, Attach::Trampoline(_))
                    || d.prog_type == "EXT"
                    || (d.prog_type == "LSM" && d.attach_type == Some("LSM_MAC"));
                if trampoline {
                    deps.add(
                        Target::KernelConfig {
                            name: "DYNAMIC_FTRACE_WITH_DIRECT_CALLS".into(),
                            item: None,
                            miss: false,
                        },
                        false,
                        origin.clone(),
                    );
                }
                if d.prog_type == "LSM" {
                    deps.add(
                        Target::KernelConfig {
                            name: "BPF_LSM".into(),
                            item: None,
                            miss: false,
                        },
                        false,
                        origin.clone(),
                    );
                    deps.add(
                        Target::KernelConfig {
                            name: "LSM".into(),
                            item: Some("bpf".into()),
                            miss: true,
                        },
                        false,
                        origin.clone(),
                    );
                }
                let attach = match &d.attach {
                    Attach::Kprobe(f) => Some(Target::Kprobe {
                        func: f.split('+').next().unwrap_or(f).to_string(),
                    }),
                    Attach::KprobeMulti(g) => Some(Target::KprobeMulti { glob: g.clone() }),
                    Attach::Trampoline(f) => Some(Target::Trampoline { func: f.clone() }),
                    Attach::Tracepoint { system, event } => Some(Target::Tracepoint {
                        system: system.clone(),
                        event: event.clone(),
                    }),
                    Attach::Syscall(n) => Some(Target::Syscall { name: n.clone() }),
                    Attach::Lsm(h) => Some(Target::Lsm { hook: h.clone() }),
                    Attach::Iter(n) => Some(Target::Iter { name: n.clone() }),
                    Attach::StructOps(_) | Attach::None => None,
                };
                if let Some(t) = attach {
                    deps.add(t, false, origin.clone());
                }
                // An iterator's context is `struct bpf_iter__<target>`.
                if let Attach::Iter(n) = &d.attach {
                    deps.add(
                        Target::Type {
                            name: format!("bpf_iter__{n}"),
                            btf_kind: "struct".into(),
                        },
                        false,
                        origin.clone(),
                    );
                }
            }
            programs.push(Program {
                name: fname.clone(),
                section: s.name.clone(),
                prog_type: def.as_ref().map(|d| d.prog_type),
                attach: def
                    .as_ref()
                    .map(|d| d.attach.clone())
                    .unwrap_or(Attach::None),
                start: f.start,
                insns: f.end.saturating_sub(f.start),
                entry: Loc { sec, insn: f.start },
                autoload: !s.name.starts_with('?'),
                ctx: None,
            });
        }
    }

    programs
}
