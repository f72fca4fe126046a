//! The kallsyms reader against the kernel's own `scripts/kallsyms`, as Debian ships it in
//! `linux-kbuild-*` (.ci/run installs 6.1 and 6.12: the two table layouts). The test links
//! the miniature kernel (tests/fixtures/data/kernel.c) with five thousand more symbols and the
//! tables the tool writes for it, relinking until they describe the image they are in, as
//! the kernel's link does; strips it; and reads every symbol back from the bytes alone.

use std::path::{Path, PathBuf};
use std::process::Command;

use depsurf_image::{KernelMemory, OpenOptions, open_one};

fn sh(dir: &Path, script: &str) -> String {
    let o = Command::new("sh")
        .arg("-ec")
        .arg(script)
        .current_dir(dir)
        .output()
        .expect("run sh");
    assert!(
        o.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every `scripts/kallsyms` installed from Debian's linux-kbuild packages.
fn kallsyms_tools() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("linux-kbuild-"))
        .map(|e| e.path().join("scripts/kallsyms"))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found
}

fn required() -> bool {
    std::env::var("DEPSURF_REQUIRE_TOOLS").as_deref() == Ok("1")
}

/// Names spread over the alphabet and the digits (the token table keeps each character
/// used), some global and some local, as a kernel's are.
fn filler() -> String {
    let words = [
        "sched", "task", "mm", "page", "net", "dev", "bpf", "irq", "lock", "timer", "fs", "inode",
        "vm", "cpu", "kvm", "xdp", "quota", "json", "zswap", "wb",
    ];
    let mut s = String::from(".text\n.globl _text\n_text:\n");
    for i in 0..5000 {
        let name = format!("{}_{}_{i}", words[i % 20], words[(i / 20) % 20]);
        let bind = if i % 3 == 0 { "local" } else { "globl" };
        s.push_str(&format!(".{bind} {name}\n{name}:\n nop\n"));
    }
    s
}

/// The symbols `nm` lists that kallsyms keeps with `--all-symbols`, as (address, name).
fn nm_symbols(dir: &Path, file: &str) -> Vec<(u64, String)> {
    sh(dir, &format!("nm -n {file}"))
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let [addr, ty, name] = f[..] else { return None };
            // kallsyms leaves out absolute symbols and, in 6.1, its own tables.
            if ty.eq_ignore_ascii_case("a") || ty == "U" || ty == "w" {
                return None;
            }
            Some((u64::from_str_radix(addr, 16).ok()?, name.to_string()))
        })
        .collect()
}

#[test]
fn kallsyms_tables_written_by_the_kernels_tool_read_back() {
    let tools = kallsyms_tools();
    let have = ["gcc", "nm", "objcopy"].iter().all(|t| {
        Command::new("sh")
            .args(["-c", &format!("command -v {t}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if tools.is_empty() || !have {
        assert!(
            !required(),
            "linux-kbuild-*, gcc and binutils are required (DEPSURF_REQUIRE_TOOLS=1)"
        );
        eprintln!("SKIPPED: no linux-kbuild-*/scripts/kallsyms (.ci/run installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let kernel = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/data/kernel.c");
    std::fs::write(d.join("fill.S"), filler()).unwrap();
    // scripts/kallsyms' output includes <asm/bitsperlong.h> from the kernel tree.
    std::fs::create_dir_all(d.join("inc/asm")).unwrap();
    std::fs::write(
        d.join("inc/asm/bitsperlong.h"),
        "#define BITS_PER_LONG 64\n",
    )
    .unwrap();
    let link = "gcc -g -O0 -nostdlib -static -fno-pie -no-pie -Wl,--no-warn-execstack -o";
    sh(d, &format!("{link} v0 fill.S {}", kernel.display()));

    let mut checked = Vec::new();
    for tool in &tools {
        let usage = Command::new(tool).output().unwrap();
        let usage = String::from_utf8_lossy(&usage.stderr).into_owned();
        let mut option_sets = vec!["--all-symbols", "--all-symbols --absolute-percpu"];
        if usage.contains("--base-relative") {
            option_sets = vec![
                "--all-symbols",
                "--all-symbols --base-relative",
                "--all-symbols --base-relative --absolute-percpu",
            ];
        }
        for opts in option_sets {
            // Link, list, write the tables, relink, until the tables stop changing.
            sh(d, "nm -n v0 > map; rm -f prev.S");
            let mut stable = false;
            for _ in 0..6 {
                sh(
                    d,
                    &format!(
                        "{tool} {opts} map > tables.S
                         gcc -I inc -c tables.S -o tables.o
                         {link} v fill.S {kernel} tables.o
                         nm -n v > map",
                        tool = tool.display(),
                        kernel = kernel.display()
                    ),
                );
                let now = std::fs::read(d.join("tables.S")).unwrap();
                if std::fs::read(d.join("prev.S")).ok().as_ref() == Some(&now) {
                    stable = true;
                    break;
                }
                std::fs::write(d.join("prev.S"), now).unwrap();
            }
            assert!(stable, "{tool:?} {opts}: tables never settled");
            sh(d, "objcopy --strip-all v v.stripped");

            let img = open_one(&[d.join("v.stripped")], &OpenOptions::default()).unwrap();
            let mem = KernelMemory::of(&img).unwrap();
            assert_eq!(mem.symbols_kind, "kallsyms", "{tool:?} {opts}");
            let mut got: Vec<(u64, String)> = mem
                .symbols
                .iter()
                .map(|s| (s.addr, s.name.clone()))
                .collect();
            let mut want = nm_symbols(d, "v");
            // 6.1's tool leaves its own tables out; 6.12's keeps them.
            let own: Vec<&(u64, String)> = got
                .iter()
                .filter(|(_, n)| n.starts_with("kallsyms_"))
                .collect();
            if own.is_empty() {
                want.retain(|(_, n)| !n.starts_with("kallsyms_"));
            }
            got.sort();
            want.sort();
            assert!(got.len() > 5000, "{tool:?} {opts}: {} symbols", got.len());
            assert_eq!(got, want, "{tool:?} {opts}");
            checked.push(format!("{} {opts}", tool.display()));
        }
    }
    eprintln!("kallsyms layouts read back: {checked:#?}");
}
