//! Writing outputs atomically: to a temporary file beside the target, synced, then renamed,
//! so a path holds either its old content or all of the new, never a part.
//!
//! The temporary file is named `.<target name>.<random>.tmp` (created exclusively, so two
//! writers never share one); a writer killed before the rename leaves it behind, and
//! [`is_temp_of`] tells such leftovers apart for whoever cleans the directory.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `data` to `path` atomically, with the permissions of a newly created file
/// (`0644` before the umask). The data is synced before the rename and the directory after
/// it, so once this returns the new content survives a crash.
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.as_deref().unwrap_or("out")))
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)?;
    tmp.write_all(data)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let umask = current_umask();
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o666 & !umask))?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

const TEMP_SUFFIX: &str = ".tmp";

/// Whether `file_name` is a temporary file [`write_atomic`] makes for a target whose name
/// starts with `target_prefix` (e.g. `surfaces-` or `manifest.toml`).
pub fn is_temp_of(file_name: &str, target_prefix: &str) -> bool {
    file_name
        .strip_prefix('.')
        .is_some_and(|r| r.starts_with(target_prefix) && r.ends_with(TEMP_SUFFIX))
}

/// A new directory written in full before it appears: a temporary directory beside `out`
/// (named `.<prefix><random>`), renamed to `out` by [`NewDir::finish`]; dropped unfinished,
/// it is removed with what was written into it.
pub struct NewDir {
    tmp: tempfile::TempDir,
    out: PathBuf,
}

impl NewDir {
    /// Creates the temporary directory beside `out` (creating `out`'s parent), with the
    /// permissions of an ordinary directory. An error names the path it concerns.
    pub fn beside(out: &Path, prefix: &str) -> Result<NewDir, (PathBuf, std::io::Error)> {
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| (parent.clone(), e))?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{prefix}"))
            .tempdir_in(&parent)
            .map_err(|e| (parent.clone(), e))?;
        #[cfg(unix)]
        {
            // A temporary directory is private; the result is an ordinary directory.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
                .map_err(|e| (tmp.path().to_path_buf(), e))?;
        }
        Ok(NewDir {
            tmp,
            out: out.to_path_buf(),
        })
    }

    /// Where to write the directory's content.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Renames the directory to `out` (removing it if that fails).
    pub fn finish(self) -> std::io::Result<()> {
        let kept = self.tmp.keep();
        std::fs::rename(&kept, &self.out).inspect_err(|_| {
            let _ = std::fs::remove_dir_all(&kept);
        })
    }
}

/// The process umask, read from /proc (it cannot be read without changing it otherwise).
#[cfg(unix)]
fn current_umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out");
        super::write_atomic(&p, b"first").unwrap();
        super::write_atomic(&p, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o644, 0o644 & mode);
        assert!(mode & 0o400 != 0 && mode & 0o004 != 0, "{mode:o}");
    }

    #[test]
    fn temporary_files_are_recognisable() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = tempfile::Builder::new()
            .prefix(".manifest.toml.")
            .suffix(super::TEMP_SUFFIX)
            .tempfile_in(dir.path())
            .unwrap();
        let name = tmp.path().file_name().unwrap().to_str().unwrap();
        assert!(super::is_temp_of(name, "manifest.toml"), "{name}");
        assert!(!super::is_temp_of(name, "surfaces-"), "{name}");
        assert!(!super::is_temp_of("manifest.toml", "manifest.toml"));
        assert!(!super::is_temp_of(".lock", "manifest.toml"));
    }
}
