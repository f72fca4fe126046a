//! Booting a kernel and an initramfs under QEMU, watching the console, and collecting what
//! the guest writes on its result port.
//!
//! The machine: `qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot
//! -accel kvm|tcg -cpu host|max -m MEM -smp N -kernel IMAGE -initrd INITRD
//! -append "console=ttyS0 panic=-1 ..." -serial stdio -serial file:RESULTS -monitor none`:
//! the first serial port (ttyS0) is the kernel console, read live from QEMU's standard
//! output; the second (ttyS1) is the guest's result port, a file. `panic=-1` reboots at
//! once on a panic and `-no-reboot` turns the reboot into QEMU's exit, as the guest's final
//! power-off does.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How QEMU runs the guest's CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    /// Hardware virtualisation through /dev/kvm.
    Kvm,
    /// QEMU's own emulation: slow, always available.
    Tcg,
}

impl Accel {
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }

    /// `kvm` or `tcg`.
    pub fn parse(s: &str) -> Option<Accel> {
        match s.trim().to_ascii_lowercase().as_str() {
            "kvm" => Some(Accel::Kvm),
            "tcg" => Some(Accel::Tcg),
            _ => None,
        }
    }
}

impl std::fmt::Display for Accel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The environment variable that forces the accelerator.
pub const ACCEL_ENV: &str = "DEPSURF_QEMU_ACCEL";

/// Whether /dev/kvm exists and can be opened for reading and writing (it may still hang,
/// as nested virtualisation sometimes does: [`boot`] watches for that).
pub fn kvm_available() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
}

/// The QEMU binary for a machine (`x86_64` → `qemu-system-x86_64`).
pub fn qemu_binary(arch: &str) -> String {
    format!("qemu-system-{arch}")
}

/// Whether the QEMU binary for `arch` runs.
pub fn qemu_installed(arch: &str) -> bool {
    Command::new(qemu_binary(arch))
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// One boot.
#[derive(Clone, Debug)]
pub struct BootSpec {
    pub arch: String,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    /// Kernel command line arguments after the fixed `console=ttyS0 panic=-1`.
    pub extra_append: Vec<String>,
    pub memory_mib: u32,
    pub cpus: u32,
    pub accel: Accel,
    /// Wall-clock limit for the whole boot.
    pub timeout: Duration,
    /// Give up (ending with [`Ended::NoConsoleOutput`]) when the console stays silent this
    /// long: how a hanging KVM shows.
    pub silence_limit: Option<Duration>,
    /// Where the result port's file goes.
    pub results: PathBuf,
    /// Where the whole console is copied.
    pub console_log: PathBuf,
}

impl BootSpec {
    /// The kernel command line.
    pub fn append(&self) -> String {
        let mut a = vec!["console=ttyS0".to_string(), "panic=-1".to_string()];
        a.extend(self.extra_append.iter().cloned());
        a.join(" ")
    }

    /// QEMU's arguments.
    pub fn args(&self) -> Vec<String> {
        let mut v: Vec<String> = [
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-no-reboot",
            "-monitor",
            "none",
            "-accel",
            self.accel.name(),
            "-cpu",
            match self.accel {
                Accel::Kvm => "host",
                Accel::Tcg => "max",
            },
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend([
            "-m".into(),
            format!("{}", self.memory_mib),
            "-smp".into(),
            format!("{}", self.cpus.max(1)),
            "-kernel".into(),
            self.kernel.display().to_string(),
            "-initrd".into(),
            self.initrd.display().to_string(),
            "-append".into(),
            self.append(),
            "-serial".into(),
            "stdio".into(),
            "-serial".into(),
            format!("file:{}", self.results.display()),
        ]);
        v
    }
}

/// How a boot ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ended {
    /// QEMU exited by itself (the guest powered off, or the kernel panicked and rebooted).
    Exited { status: Option<i32> },
    /// Killed at the wall-clock limit.
    TimedOut,
    /// Killed because the console stayed silent (KVM that does not run).
    NoConsoleOutput,
}

/// What one boot produced.
#[derive(Clone, Debug)]
pub struct BootOutput {
    pub ended: Ended,
    /// The result port's bytes.
    pub results: Vec<u8>,
    /// The console's last lines.
    pub console_tail: Vec<String>,
    /// Whether the console shows a kernel panic.
    pub panicked: bool,
    /// How many bytes the console printed.
    pub console_bytes: u64,
    /// From QEMU's start to the first complete record on the result port.
    pub first_record: Option<Duration>,
    pub elapsed: Duration,
    /// What QEMU itself wrote on its standard error.
    pub qemu_stderr: String,
}

/// Lines of console kept for reports.
pub const CONSOLE_TAIL: usize = 40;

/// A bounded tail of lines, fed with raw bytes.
struct Tail {
    lines: VecDeque<String>,
    partial: Vec<u8>,
    panicked: bool,
    bytes: u64,
}

impl Tail {
    fn new() -> Tail {
        Tail {
            lines: VecDeque::new(),
            partial: Vec::new(),
            panicked: false,
            bytes: 0,
        }
    }

    fn feed(&mut self, data: &[u8]) {
        self.bytes += data.len() as u64;
        for &b in data {
            if b == b'\n' {
                let line = String::from_utf8_lossy(&self.partial)
                    .trim_end_matches('\r')
                    .to_string();
                self.partial.clear();
                if line.contains("Kernel panic - not syncing") {
                    self.panicked = true;
                }
                self.lines.push_back(line);
                // Records written to the console (no result port) are kept whole elsewhere;
                // here only the tail matters.
                while self.lines.len() > CONSOLE_TAIL * 4 {
                    self.lines.pop_front();
                }
            } else if self.partial.len() < 4096 {
                self.partial.push(b);
            }
        }
    }

    fn tail(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .lines
            .iter()
            .filter(|l| !l.starts_with(crate::protocol::CONSOLE_MARKER))
            .cloned()
            .collect();
        if !self.partial.is_empty() {
            v.push(String::from_utf8_lossy(&self.partial).to_string());
        }
        let skip = v.len().saturating_sub(CONSOLE_TAIL);
        v.split_off(skip)
    }
}

/// Whether `results` holds a complete `done` record (the guest finished).
fn has_done(results: &[u8]) -> bool {
    results
        .split(|&b| b == b'\n')
        .any(|l| l.windows(15).any(|w| w == b"\"record\":\"done\""))
}

/// Boots `spec` and waits for QEMU to end (by itself, at the time limit, or after a silent
/// console). Errors only when QEMU cannot be started.
pub fn boot(spec: &BootSpec) -> Result<BootOutput> {
    let qemu = qemu_binary(&spec.arch);
    let _ = std::fs::remove_file(&spec.results);
    let mut child = Command::new(&qemu)
        .args(spec.args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Error::Qemu(if e.kind() == std::io::ErrorKind::NotFound {
                format!("{qemu} is not installed (Debian: apt-get install qemu-system-x86)")
            } else {
                format!("cannot start {qemu}: {e}")
            })
        })?;
    let start = Instant::now();
    let tail = Arc::new(Mutex::new(Tail::new()));
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let console_log =
        std::fs::File::create(&spec.console_log).map_err(|e| Error::io(&spec.console_log, e))?;
    let t2 = Arc::clone(&tail);
    let reader = std::thread::spawn(move || {
        let mut log = std::io::BufWriter::new(console_log);
        let mut buf = [0u8; 16384];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let _ = log.write_all(&buf[..n]);
                    t2.lock().unwrap_or_else(|e| e.into_inner()).feed(&buf[..n]);
                }
            }
        }
        let _ = log.flush();
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = (&mut stderr).take(64 << 10).read_to_end(&mut s);
        // Drain the rest so QEMU never blocks on a full pipe.
        let _ = std::io::copy(&mut stderr, &mut std::io::sink());
        String::from_utf8_lossy(&s).into_owned()
    });

    let mut first_record = None;
    let mut results_file: Option<std::fs::File> = None;
    let mut seen = Vec::new();
    let mut done_at: Option<Instant> = None;
    let ended = loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| Error::Qemu(format!("waiting for {qemu}: {e}")))?
        {
            break Ended::Exited {
                status: status.code(),
            };
        }
        let now = Instant::now();
        let elapsed = now - start;
        if results_file.is_none() {
            results_file = std::fs::File::open(&spec.results).ok();
        }
        if let Some(f) = results_file.as_mut() {
            let before = seen.len();
            let _ = f.read_to_end(&mut seen);
            if seen.len() > before {
                if first_record.is_none() && seen.contains(&b'\n') {
                    first_record = Some(elapsed);
                }
                // A `done` record is short: look at the new bytes and a little before.
                if done_at.is_none() && has_done(&seen[before.saturating_sub(64)..]) {
                    done_at = Some(now);
                }
            }
        }
        // The guest is done and powers off; give it a moment, then stop QEMU.
        if done_at.is_some_and(|d| now - d > Duration::from_secs(20)) {
            let _ = child.kill();
            let status = child.wait().ok().and_then(|s| s.code());
            break Ended::Exited { status };
        }
        if elapsed > spec.timeout {
            let _ = child.kill();
            let _ = child.wait();
            break Ended::TimedOut;
        }
        // Silent: nothing on the console (`quiet` may be among the kernel arguments) and
        // nothing on the result port either.
        if let Some(limit) = spec.silence_limit
            && elapsed > limit
            && seen.is_empty()
            && tail.lock().unwrap_or_else(|e| e.into_inner()).bytes == 0
        {
            let _ = child.kill();
            let _ = child.wait();
            break Ended::NoConsoleOutput;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let elapsed = start.elapsed();
    let _ = reader.join();
    let qemu_stderr = err_reader.join().unwrap_or_default();
    let results = std::fs::read(&spec.results).unwrap_or_default();
    if first_record.is_none() && results.contains(&b'\n') {
        first_record = Some(elapsed);
    }
    let t = tail.lock().unwrap_or_else(|e| e.into_inner());
    Ok(BootOutput {
        ended,
        results,
        console_tail: t.tail(),
        panicked: t.panicked,
        console_bytes: t.bytes,
        first_record,
        elapsed,
        qemu_stderr,
    })
}

/// The records on the console (written there when the guest found no result port).
pub fn console_records(console_log: &Path) -> Vec<u8> {
    let text = std::fs::read(console_log).unwrap_or_default();
    let mut out = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        if let Some(pos) = line
            .windows(crate::protocol::CONSOLE_MARKER.len())
            .position(|w| w == crate::protocol::CONSOLE_MARKER.as_bytes())
        {
            out.extend_from_slice(&line[pos + crate::protocol::CONSOLE_MARKER.len()..]);
            out.push(b'\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_is_as_documented() {
        let spec = BootSpec {
            arch: "x86_64".into(),
            kernel: "/k/vmlinuz".into(),
            initrd: "/k/initrd".into(),
            extra_append: vec!["lsm=bpf".into()],
            memory_mib: 1024,
            cpus: 1,
            accel: Accel::Tcg,
            timeout: Duration::from_secs(60),
            silence_limit: None,
            results: "/r/results".into(),
            console_log: "/r/console".into(),
        };
        let args = spec.args().join(" ");
        assert_eq!(
            args,
            "-nodefaults -no-user-config -display none -no-reboot -monitor none -accel tcg \
             -cpu max -m 1024 -smp 1 -kernel /k/vmlinuz -initrd /k/initrd \
             -append console=ttyS0 panic=-1 lsm=bpf -serial stdio -serial file:/r/results"
        );
    }

    #[test]
    fn console_tail_keeps_the_end_and_sees_panics() {
        let mut t = Tail::new();
        for i in 0..500 {
            t.feed(format!("line {i}\r\n").as_bytes());
        }
        t.feed(b"[    1.0] Kernel panic - not syncing: VFS: Unable to mount root\n@@depsurf@@ {}\npartial");
        let tail = t.tail();
        assert_eq!(tail.len(), CONSOLE_TAIL);
        assert_eq!(tail.last().unwrap(), "partial");
        assert!(tail.iter().any(|l| l.contains("Kernel panic")));
        assert!(!tail.iter().any(|l| l.starts_with("@@depsurf@@")));
        assert!(t.panicked);
    }

    #[test]
    fn done_is_found_only_as_a_record() {
        assert!(has_done(
            b"{\"record\":\"hello\"}\n{\"record\":\"done\",\"uptime_ms\":1}\n"
        ));
        assert!(!has_done(b"{\"record\":\"hello\"}\n"));
    }

    #[test]
    fn accel_names() {
        assert_eq!(Accel::parse(" KVM "), Some(Accel::Kvm));
        assert_eq!(Accel::parse("tcg"), Some(Accel::Tcg));
        assert_eq!(Accel::parse("hvf"), None);
    }
}
