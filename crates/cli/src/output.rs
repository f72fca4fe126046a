//! Helpers for text output.

/// `630.6 MiB`-style sizes.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// `152,021`-style counts.
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Writes `data` to `path` atomically (see `depsurf_image::atomic`).
pub fn write_atomic(path: &std::path::Path, data: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    depsurf_image::atomic::write_atomic(path, data)
        .with_context(|| format!("writing {}", path.display()))
}

/// Shows `text` through the user's pager (`$PAGER`, else `less` quitting when it fits and
/// keeping colours), as git does; straight to the terminal when there is none.
pub fn page(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let pager = std::env::var("PAGER").unwrap_or_else(|_| "less".into());
    if pager.trim().is_empty() || pager == "cat" {
        return crate::inspect::emit(text.as_bytes());
    }
    let child = Command::new("sh")
        .args(["-c", &pager])
        .env(
            "LESS",
            std::env::var("LESS").unwrap_or_else(|_| "FRX".into()),
        )
        .stdin(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        return crate::inspect::emit(text.as_bytes());
    };
    if let Some(mut stdin) = child.stdin.take() {
        // The user may quit the pager before reading everything.
        let _ = stdin.write_all(text.as_bytes());
    }
    let _ = child.wait();
    Ok(())
}

/// The width of the terminal for views that fit one: `$COLUMNS` when set, else 100.
pub fn term_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&w| w >= 40)
        .unwrap_or(100)
}

/// Writes each `(name, text)` into `dir` (created if needed), each file atomically: a reader
/// never sees half a file. The texts are all made before this is called, so a failure to
/// compute one leaves nothing written.
pub fn write_into(dir: &std::path::Path, files: &[(&str, String)]) -> anyhow::Result<()> {
    use anyhow::Context;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, text) in files {
        write_atomic(&dir.join(name), text.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats() {
        assert_eq!(super::size(512), "512 B");
        assert_eq!(super::size(630_643_528), "601.4 MiB");
        assert_eq!(super::count(152021), "152,021");
        assert_eq!(super::count(7), "7");
    }
}
