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
