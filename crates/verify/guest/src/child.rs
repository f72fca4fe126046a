//! Running risky work (libbpf on an untrusted object, the verifier, the workload) in a forked
//! child under a deadline, so a crash or a hang costs one program's result, not the run's.

use std::io::{self, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::protocol::Died;

/// How a child ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Exited with status 0.
    Clean,
    Died(Died),
}

/// The lines a child wrote to its pipe, and how it ended.
pub struct Outcome {
    pub lines: Vec<String>,
    pub end: End,
}

/// A pipe's write end handed to the child: lines written here reach the parent.
pub struct Pipe {
    fd: std::fs::File,
}

impl Pipe {
    /// Writes one line (a JSON record, without its newline).
    pub fn send(&mut self, line: &str) {
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        let _ = self.fd.write_all(&buf);
    }
}

/// Runs `work` in a forked child (its own process group), killing the group after
/// `timeout`. The parent must be single-threaded, which PID 1 is.
pub fn run<F: FnOnce(&mut Pipe)>(timeout: Duration, work: F) -> Outcome {
    let mut fds = [0; 2];
    // SAFETY: a two-element array for pipe2.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return failed_to_start(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned here.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: fork in a single-threaded process; the child only runs Rust code of ours.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return failed_to_start(io::Error::last_os_error());
    }
    if pid == 0 {
        drop(read_end);
        // SAFETY: setpgid on ourselves.
        unsafe { libc::setpgid(0, 0) };
        let mut pipe = Pipe {
            fd: std::fs::File::from(write_end),
        };
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&mut pipe)));
        drop(pipe);
        // SAFETY: leaving the child without running the parent's exit handlers.
        unsafe { libc::_exit(if ok.is_ok() { 0 } else { 101 }) };
    }
    drop(write_end);
    let mut reader = std::fs::File::from(read_end);
    let deadline = Instant::now() + timeout;
    let mut buf = Vec::new();
    let mut timed_out = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            timed_out = true;
            break;
        }
        let mut pfd = libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(&reader),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, ms.max(1)) };
        if n < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        if n == 0 {
            continue;
        }
        let mut chunk = [0u8; 65536];
        match io::Read::read(&mut reader, &mut chunk) {
            Ok(0) => break,
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    if timed_out {
        // SAFETY: killing the child's own process group.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
    let end = wait(pid, timed_out.then_some(timeout));
    // The workload's grandchildren were reparented to us; reap them too.
    reap_orphans();
    let text = String::from_utf8_lossy(&buf);
    // A line cut by a crash or a kill has no newline: drop it.
    let complete = match text.rfind('\n') {
        Some(i) => &text[..i],
        None => "",
    };
    Outcome {
        lines: complete
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        end,
    }
}

fn wait(pid: libc::pid_t, timed_out: Option<Duration>) -> End {
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        if r < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return End::Died(Died {
                exit_code: Some(-1),
                ..Died::default()
            });
        }
    }
    if let Some(t) = timed_out {
        return End::Died(Died {
            timeout_ms: Some(t.as_millis() as u64),
            ..Died::default()
        });
    }
    if libc::WIFSIGNALED(status) {
        End::Died(Died {
            signal: Some(libc::WTERMSIG(status)),
            ..Died::default()
        })
    } else if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        End::Clean
    } else {
        End::Died(Died {
            exit_code: Some(libc::WEXITSTATUS(status)),
            ..Died::default()
        })
    }
}

/// Collects exited processes that are not ours to wait for (PID 1 inherits orphans).
pub fn reap_orphans() {
    let mut status = 0;
    // SAFETY: non-blocking wait for any child.
    while unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) } > 0 {}
}

fn failed_to_start(e: io::Error) -> Outcome {
    eprintln!("depsurf-guest: cannot start a child: {e}");
    Outcome {
        lines: Vec::new(),
        end: End::Died(Died {
            exit_code: Some(-1),
            ..Died::default()
        }),
    }
}

/// A human-readable description of a death, for messages.
pub fn describe(d: &Died) -> String {
    if let Some(s) = d.signal {
        format!("killed by signal {s}")
    } else if let Some(t) = d.timeout_ms {
        format!("timed out after {t} ms")
    } else {
        format!("exited with status {}", d.exit_code.unwrap_or(-1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The children below neither allocate nor take locks: the test harness is
    // multi-threaded, and only async-signal-safe work is sound after its fork. The tests
    // take turns, since `run` reaps any exited child (as PID 1 must) and would take
    // another test's.
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn turn() -> std::sync::MutexGuard<'static, ()> {
        TURN.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[test]
    fn a_crash_is_reported_with_its_signal() {
        let _turn = turn();
        // (Not a raised SIGSEGV: Rust's handler for stack overflows returns from one that no
        // fault caused; a real fault in libbpf kills the child as SIGSEGV.)
        let o = run(Duration::from_secs(10), |_| {
            // SAFETY: aborting the child.
            unsafe { libc::abort() };
        });
        assert_eq!(
            o.end,
            End::Died(Died {
                signal: Some(libc::SIGABRT),
                ..Died::default()
            })
        );
        assert!(o.lines.is_empty());
    }

    #[test]
    fn a_hang_is_killed_at_the_deadline() {
        let _turn = turn();
        let start = Instant::now();
        let o = run(Duration::from_millis(300), |_| {
            // SAFETY: sleeping in the child.
            unsafe { libc::sleep(30) };
        });
        assert_eq!(
            o.end,
            End::Died(Died {
                timeout_ms: Some(300),
                ..Died::default()
            })
        );
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn an_exit_status_is_kept() {
        let _turn = turn();
        let o = run(Duration::from_secs(10), |_| {
            // SAFETY: leaving the child at once.
            unsafe { libc::_exit(3) };
        });
        assert_eq!(
            o.end,
            End::Died(Died {
                exit_code: Some(3),
                ..Died::default()
            })
        );
        assert_eq!(run(Duration::from_secs(10), |_| {}).end, End::Clean);
    }
}
