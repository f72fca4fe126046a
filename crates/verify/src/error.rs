//! Errors of the host side. A kernel that panics, hangs or refuses a program is not an
//! error: it is a result ([`crate::Verification`]). These are the problems that prevent a
//! run: a missing tool, an unreadable input, a guest that cannot be built.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kernel input could not be used.
    #[error("{input}: {problem}")]
    Kernel { input: String, problem: String },

    /// An eBPF object could not be used.
    #[error("{name}: {problem}")]
    Object { name: String, problem: String },

    /// The guest binary could not be found or built.
    #[error("the verify guest: {0}")]
    Guest(String),

    /// QEMU is missing or could not be started.
    #[error("{0}")]
    Qemu(String),

    /// The guest spoke a protocol this host does not.
    #[error(
        "the verify guest speaks protocol {guest}, this depsurf speaks {host}: rebuild the guest"
    )]
    Protocol { guest: u32, host: u32 },

    /// A file of the cache or of the run directory. (The message includes the cause, so
    /// no source chain is exposed, which would print it twice.)
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            error,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
