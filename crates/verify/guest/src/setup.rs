//! What PID 1 does before any eBPF work: file systems, loopback, limits, the result port,
//! and the power-off at the end.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd};

/// A setup step that failed; reported, never fatal.
pub struct Problem {
    pub step: String,
    pub error: String,
}

fn cstr(s: &str) -> CString {
    CString::new(s).expect("no NUL in a constant path")
}

fn mount(source: &str, target: &str, fstype: &str, problems: &mut Vec<Problem>) {
    let _ = std::fs::create_dir_all(target);
    let (s, t, f) = (cstr(source), cstr(target), cstr(fstype));
    // SAFETY: valid NUL-terminated strings; no data argument.
    let rc = unsafe { libc::mount(s.as_ptr(), t.as_ptr(), f.as_ptr(), 0, std::ptr::null()) };
    if rc != 0 {
        let e = io::Error::last_os_error();
        // Already mounted (devtmpfs automount) is fine.
        if e.raw_os_error() != Some(libc::EBUSY) {
            problems.push(Problem {
                step: format!("mount {fstype} on {target}"),
                error: e.to_string(),
            });
        }
    }
}

/// Mounts what eBPF loading, tracing and the workload need.
pub fn mount_all(problems: &mut Vec<Problem>) {
    mount("proc", "/proc", "proc", problems);
    mount("sysfs", "/sys", "sysfs", problems);
    mount("devtmpfs", "/dev", "devtmpfs", problems);
    mount("tmpfs", "/tmp", "tmpfs", problems);
    mount("bpf", "/sys/fs/bpf", "bpf", problems);
    mount("debugfs", "/sys/kernel/debug", "debugfs", problems);
    mount("securityfs", "/sys/kernel/security", "securityfs", problems);
    // tracefs is also reachable as /sys/kernel/debug/tracing on older kernels; mounted
    // explicitly it is the same file system.
    mount("tracefs", "/sys/kernel/tracing", "tracefs", problems);
    mount("cgroup2", "/sys/fs/cgroup", "cgroup2", problems);
}

/// Sets the loopback interface up (SIOCSIFFLAGS with IFF_UP|IFF_RUNNING).
pub fn loopback_up(problems: &mut Vec<Problem>) {
    // SAFETY: plain socket and ioctl calls on a zeroed ifreq whose name fits.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            problems.push(Problem {
                step: "socket for lo".into(),
                error: io::Error::last_os_error().to_string(),
            });
            return;
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        if libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req) == 0 {
            req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            if libc::ioctl(fd, libc::SIOCSIFFLAGS, &req) != 0 {
                problems.push(Problem {
                    step: "set lo up".into(),
                    error: io::Error::last_os_error().to_string(),
                });
            }
        } else {
            problems.push(Problem {
                step: "get lo flags".into(),
                error: io::Error::last_os_error().to_string(),
            });
        }
        libc::close(fd);
    }
}

/// RLIMIT_MEMLOCK to infinity (kernels before 5.11 charge BPF memory to it).
pub fn raise_memlock(problems: &mut Vec<Problem>) {
    let lim = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: a valid rlimit structure.
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &lim) } != 0 {
        problems.push(Problem {
            step: "setrlimit(RLIMIT_MEMLOCK, infinity)".into(),
            error: io::Error::last_os_error().to_string(),
        });
    }
}

pub fn write_proc(path: &str, value: &str, problems: &mut Vec<Problem>) {
    if let Err(e) = std::fs::write(path, value) {
        problems.push(Problem {
            step: format!("write {value} to {path}"),
            error: e.to_string(),
        });
    }
}

/// Where records go: a serial port of their own, or (when none can be opened) the
/// console with a marker before each line, which the host also recognises.
pub struct Output {
    file: File,
    prefix: &'static str,
    is_tty: bool,
}

/// The marker of records written to the console when no dedicated port exists.
pub const CONSOLE_MARKER: &str = "@@depsurf@@ ";

impl Output {
    pub fn open() -> (Output, Vec<Problem>) {
        let mut problems = Vec::new();
        for path in ["/dev/ttyS1", "/dev/hvc0"] {
            match std::fs::OpenOptions::new()
                .write(true)
                .custom_flags_noctty()
                .open(path)
            {
                Ok(file) => {
                    let is_tty = make_raw(&file);
                    if is_tty {
                        return (
                            Output {
                                file,
                                prefix: "",
                                is_tty,
                            },
                            problems,
                        );
                    }
                    problems.push(Problem {
                        step: format!("open {path}"),
                        error: "not a working serial port".into(),
                    });
                }
                Err(e) => problems.push(Problem {
                    step: format!("open {path}"),
                    error: e.to_string(),
                }),
            }
        }
        // SAFETY: duplicating our own standard output.
        let fd = unsafe { libc::dup(1) };
        // SAFETY: `fd` is a fresh descriptor we own.
        let file = unsafe { File::from_raw_fd(fd) };
        (
            Output {
                file,
                prefix: CONSOLE_MARKER,
                is_tty: false,
            },
            problems,
        )
    }

    /// Writes to a file instead (the guest run outside a VM, for debugging).
    pub fn to_file(file: File) -> Output {
        Output {
            file,
            prefix: "",
            is_tty: false,
        }
    }

    pub fn line(&mut self, json: &str) {
        let mut buf = String::with_capacity(json.len() + 16);
        buf.push_str(self.prefix);
        buf.push_str(json);
        buf.push('\n');
        // Nothing sensible is left to do when the port fails.
        let _ = self.file.write_all(buf.as_bytes());
    }

    /// Waits until everything written has left the port.
    pub fn drain(&mut self) {
        let _ = self.file.flush();
        if self.is_tty {
            // SAFETY: tcdrain on our own descriptor.
            unsafe { libc::tcdrain(self.file.as_raw_fd()) };
        } else {
            let _ = self.file.sync_all();
        }
    }
}

trait NoCtty {
    fn custom_flags_noctty(&mut self) -> &mut Self;
}

impl NoCtty for std::fs::OpenOptions {
    fn custom_flags_noctty(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(libc::O_NOCTTY)
    }
}

/// Raw mode: no newline translation, no echo. `false` when the device is not a tty.
fn make_raw(file: &File) -> bool {
    // SAFETY: termios calls on our own descriptor with a zeroed structure filled by tcgetattr.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(file.as_raw_fd(), &mut t) != 0 {
            return false;
        }
        libc::cfmakeraw(&mut t);
        libc::tcsetattr(file.as_raw_fd(), libc::TCSANOW, &t) == 0
    }
}

/// Milliseconds since the kernel started (from /proc/uptime).
pub fn uptime_ms() -> u64 {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map(|s| (s * 1000.0) as u64)
        .unwrap_or(0)
}

/// Syncs and powers the machine off; QEMU started with -no-reboot then exits.
pub fn power_off() -> ! {
    // SAFETY: sync and reboot have no memory-safety preconditions.
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_POWER_OFF);
    }
    // reboot only returns on failure (not PID 1, or no permission).
    std::process::exit(1)
}

/// Loads the kernel module at `path` (`finit_module`); one already loaded (built in, or
/// loaded as another's dependency) is fine.
pub fn load_module(path: &str) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let params = c"";
    // SAFETY: a file descriptor we own and a NUL-terminated, empty parameter string.
    let r = unsafe {
        libc::syscall(
            libc::SYS_finit_module,
            std::os::fd::AsRawFd::as_raw_fd(&file),
            params.as_ptr(),
            0,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EEXIST) {
        return Ok(());
    }
    Err(format!("finit_module: {e}"))
}
