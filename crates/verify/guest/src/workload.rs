//! A small fixed workload run after attaching, so that attached programs see events: a few
//! syscalls, a file created, written, read and removed, a fork and exec of this binary in
//! child mode, a TCP round trip over loopback, and a nanosleep.

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

    // fork + exec of ourselves in child mode.
    if let Ok(me) = std::env::current_exe().or_else(|_| std::fs::read_link("/proc/self/exe"))
        && let Ok(mut c) = std::process::Command::new(me).arg(CHILD_ARG).spawn()
    {
        let _ = c.wait();
    }

    tcp_round_trip();

    std::thread::sleep(Duration::from_millis(5));
}

/// The exec'ed child: a couple of syscalls and exit.
pub fn child() {
    let _ = std::fs::metadata("/");
    std::thread::sleep(Duration::from_millis(1));
}

fn tcp_round_trip() {
    let Ok(listener) = TcpListener::bind("127.0.0.1:0") else {
        return;
    };
    let Ok(addr) = listener.local_addr() else {
        return;
    };
    let Ok(mut client) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return;
    };
    let _ = client.set_read_timeout(Some(Duration::from_secs(2)));
    let Ok((mut server, _)) = listener.accept() else {
        return;
    };
    let _ = server.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 4];
    if client.write_all(b"ping").is_ok() && server.read_exact(&mut buf).is_ok() {
        let _ = server.write_all(b"pong");
        let _ = client.read_exact(&mut buf);
    }
}
