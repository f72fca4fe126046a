//! A small fixed workload run after attaching, so that attached programs see events: a few
//! syscalls (among them a signal 0 sent to ourselves with tgkill), a file created, written,
//! read and removed, a cgroup made and removed, a fork and exec of this binary in child mode, a TCP round trip over
//! loopback with the default congestion control and one more with each registered
//! congestion control that is not built in (a struct_ops one loaded by the program under
//! test), and a nanosleep.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// The argument that makes the binary run [`child`] and exit (the exec'ed half of the
/// workload).
pub const CHILD_ARG: &str = "--workload-child";

/// Runs the workload. Failures are ignored: the workload only has to cause events.
pub fn run() {
    // A few plain syscalls.
    // SAFETY: calls without arguments or with valid buffers.
    unsafe {
        libc::getpid();
        libc::getppid();
        libc::getuid();
        let mut uts: libc::utsname = std::mem::zeroed();
        libc::uname(&mut uts);
        // Signal 0 checks the target and delivers nothing: reaches do_tkill.
        libc::syscall(libc::SYS_tgkill, libc::getpid(), libc::gettid(), 0);
    }
    let _ = std::fs::read_to_string("/proc/self/stat");

    // A file: create, write, read back, remove.
    let path = "/tmp/depsurf-workload";
    if let Ok(mut f) = std::fs::File::create(path) {
        let _ = f.write_all(b"depsurf workload\n");
        let _ = f.sync_all();
    }
    let _ = std::fs::read(path);
    let _ = std::fs::remove_file(path);

    // A cgroup made and removed (cgroup v2 is mounted at /sys/fs/cgroup).
    let cg = "/sys/fs/cgroup/depsurf-workload";
    if std::fs::create_dir(cg).is_ok() {
        let _ = std::fs::remove_dir(cg);
    }

    // fork + exec of ourselves in child mode.
    if let Ok(me) = std::env::current_exe().or_else(|_| std::fs::read_link("/proc/self/exe"))
        && let Ok(mut c) = std::process::Command::new(me).arg(CHILD_ARG).spawn()
    {
        let _ = c.wait();
    }

    tcp_round_trip(None);
    for cc in extra_congestion_controls() {
        tcp_round_trip(Some(&cc));
    }

    std::thread::sleep(Duration::from_millis(5));
}

/// The exec'ed child: a couple of syscalls and exit.
pub fn child() {
    let _ = std::fs::metadata("/");
    std::thread::sleep(Duration::from_millis(1));
}

/// Congestion controls registered besides the built-in `reno` and `cubic`.
fn extra_congestion_controls() -> Vec<String> {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_available_congestion_control")
        .unwrap_or_default()
        .split_whitespace()
        .filter(|c| *c != "reno" && *c != "cubic")
        .map(str::to_string)
        .collect()
}

/// Sets TCP_CONGESTION on a socket (ignoring failure).
fn set_congestion(s: &TcpStream, cc: &str) {
    use std::os::fd::AsRawFd;
    // SAFETY: setsockopt with a valid buffer and its length.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_CONGESTION,
            cc.as_ptr().cast(),
            cc.len() as libc::socklen_t,
        );
    }
}

fn tcp_round_trip(cc: Option<&str>) {
    let Ok(listener) = TcpListener::bind("127.0.0.1:0") else {
        return;
    };
    let Ok(addr) = listener.local_addr() else {
        return;
    };
    let Ok(mut client) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return;
    };
    if let Some(cc) = cc {
        set_congestion(&client, cc);
    }
    let _ = client.set_read_timeout(Some(Duration::from_secs(2)));
    let Ok((mut server, _)) = listener.accept() else {
        return;
    };
    let _ = server.set_read_timeout(Some(Duration::from_secs(2)));
    if let Some(cc) = cc {
        set_congestion(&server, cc);
    }
    // Enough data for a few acknowledgements both ways (congestion control callbacks run
    // on them).
    let block = vec![0x5au8; 16 << 10];
    let mut back = vec![0u8; block.len()];
    for _ in 0..4 {
        if client.write_all(&block).is_err() || server.read_exact(&mut back).is_err() {
            return;
        }
        if server.write_all(&block).is_err() || client.read_exact(&mut back).is_err() {
            return;
        }
    }
}
