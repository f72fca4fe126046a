//! Shared, cheaply cloned byte buffers: a memory-mapped file or an owned vector.

use std::fs::File;
use std::ops::{Deref, Range};
use std::path::Path;
use std::sync::Arc;

enum Storage {
    Mmap(memmap2::Mmap),
    Owned(Vec<u8>),
    Static(&'static [u8]),
}

impl Storage {
    fn as_slice(&self) -> &[u8] {
        match self {
            Storage::Mmap(m) => m,
            Storage::Owned(v) => v,
            Storage::Static(s) => s,
        }
    }
}

/// A view into shared bytes. Cloning shares the storage; slicing narrows the view.
#[derive(Clone)]
pub struct Bytes {
    storage: Arc<Storage>,
    range: Range<usize>,
}

impl Bytes {
    /// Bytes built into the program.
    pub fn from_static(s: &'static [u8]) -> Bytes {
        Bytes {
            storage: Arc::new(Storage::Static(s)),
            range: 0..s.len(),
        }
    }

    pub fn from_vec(v: Vec<u8>) -> Bytes {
        let len = v.len();
        Bytes {
            storage: Arc::new(Storage::Owned(v)),
            range: 0..len,
        }
    }

    /// Maps a file read-only. The file must not be truncated while mapped, which holds for
    /// the inputs and private temporary files depsurf maps. Files that cannot be mapped
    /// (sysfs attributes such as /sys/kernel/btf/vmlinux) are read from the start instead.
    pub fn map_file(file: &File) -> std::io::Result<Bytes> {
        match Bytes::try_map(file) {
            Some(b) => Ok(b),
            None => {
                use std::io::{Read, Seek};
                let mut f = file;
                f.seek(std::io::SeekFrom::Start(0))?;
                let mut data = Vec::new();
                f.read_to_end(&mut data)?;
                Ok(Bytes::from_vec(data))
            }
        }
    }

    /// Maps a regular, non-empty file; `None` when it cannot be mapped.
    pub fn try_map(file: &File) -> Option<Bytes> {
        let meta = file.metadata().ok()?;
        if !meta.is_file() || meta.len() == 0 {
            return None;
        }
        // SAFETY: a read-only private mapping; depsurf never writes to mapped files, and the
        // type only hands out shared slices of it.
        let map = unsafe { memmap2::Mmap::map(file) }.ok()?;
        let len = map.len();
        Some(Bytes {
            storage: Arc::new(Storage::Mmap(map)),
            range: 0..len,
        })
    }

    pub fn map_path(path: &Path) -> std::io::Result<Bytes> {
        Bytes::map_file(&File::open(path)?)
    }

    /// A narrower view; `None` if `range` is outside this view.
    pub fn slice(&self, range: Range<usize>) -> Option<Bytes> {
        if range.start > range.end || range.end > self.range.len() {
            return None;
        }
        Some(Bytes {
            storage: self.storage.clone(),
            range: self.range.start + range.start..self.range.start + range.end,
        })
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.storage.as_slice()[self.range.clone()]
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bytes({} bytes)", self.len())
    }
}
