//! Errors that name the input and what is wrong with it.

use std::fmt;
use std::io;

/// What is wrong with an input.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("not a kernel input depsurf recognises ({0})")]
    Unrecognised(String),
    #[error("invalid BTF: {0}")]
    Btf(#[from] depsurf_btf::BtfError),
    #[error("invalid ELF: {0}")]
    Elf(String),
    #[error("invalid archive: {0}")]
    Archive(String),
    #[error("archive member {0:?} would be written outside the extraction directory")]
    UnsafePath(String),
    #[error("corrupt {format} data: {message}")]
    Corrupt {
        format: &'static str,
        message: String,
    },
    #[error("{format} data decompresses to more than {limit} bytes (the limit for this input)")]
    TooLarge { format: &'static str, limit: u64 },
    #[error(
        "{format} data expands {ratio}x ({input} -> {output} bytes so far): \
         refusing a likely decompression bomb"
    )]
    Bomb {
        format: &'static str,
        input: u64,
        output: u64,
        ratio: u64,
    },
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Invalid(String),
}

/// An error about one input: `<input>: <problem>`.
#[derive(Debug)]
pub struct Error {
    /// The input as the user named it, with the archive member when there is one.
    pub input: String,
    pub problem: Problem,
}

impl Error {
    pub fn new(input: impl fmt::Display, problem: impl Into<Problem>) -> Error {
        Error {
            input: input.to_string(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.input, self.problem)
    }
}

/// The message already includes the problem's cause, so no source chain is exposed
/// (which would print it twice).
impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches an input name to a `Result<_, Problem>`.
pub trait Context<T> {
    fn input(self, name: impl fmt::Display) -> Result<T>;
}

impl<T, P: Into<Problem>> Context<T> for std::result::Result<T, P> {
    fn input(self, name: impl fmt::Display) -> Result<T> {
        self.map_err(|p| Error::new(name, p))
    }
}
