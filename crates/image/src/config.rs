//! Kernel configuration: `CONFIG_X=value` lines, `# CONFIG_X is not set` for unset options.

use std::collections::BTreeMap;

use crate::error::Problem;
use crate::sysmap::truncate;

/// A parsed kernel `.config`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// Set options without the `CONFIG_` prefix, with their values (`y`, `m`, `"str"`, `42`).
    pub set: BTreeMap<String, String>,
    /// Options explicitly not set.
    pub unset: Vec<String>,
    /// The `# Linux/x86 6.1.170 Kernel Configuration` line's text, when present.
    pub title: Option<String>,
}

impl Config {
    pub fn parse(data: &[u8]) -> Result<Config, Problem> {
        let text = std::str::from_utf8(data).map_err(|e| {
            Problem::Invalid(format!(
                "config is not text (bad UTF-8 at byte {})",
                e.valid_up_to()
            ))
        })?;
        let mut cfg = Config::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.is_empty() {
                continue;
            }
            if let Some(comment) = line.strip_prefix('#') {
                let comment = comment.trim();
                if let Some(name) = comment
                    .strip_prefix("CONFIG_")
                    .and_then(|r| r.strip_suffix(" is not set"))
                {
                    cfg.unset.push(name.to_string());
                } else if comment.ends_with("Kernel Configuration") && cfg.title.is_none() {
                    cfg.title = Some(comment.to_string());
                }
                continue;
            }
            let Some((name, value)) = line.strip_prefix("CONFIG_").and_then(|r| r.split_once('='))
            else {
                return Err(Problem::Invalid(format!(
                    "config line {}: expected CONFIG_X=value, found {:?}",
                    i + 1,
                    truncate(line, 60)
                )));
            };
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(Problem::Invalid(format!(
                    "config line {}: bad option name {:?}",
                    i + 1,
                    truncate(name, 60)
                )));
            }
            cfg.set.insert(name.to_string(), value.to_string());
        }
        Ok(cfg)
    }

    /// The value of `CONFIG_<name>`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.set
            .get(name.strip_prefix("CONFIG_").unwrap_or(name))
            .map(String::as_str)
    }

    pub fn is_enabled(&self, name: &str) -> bool {
        matches!(self.get(name), Some("y") | Some("m"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_set_and_unset() {
        let c = Config::parse(b"#\n# Linux/x86 6.1.170 Kernel Configuration\n#\nCONFIG_64BIT=y\nCONFIG_HZ=250\nCONFIG_LOCALVERSION=\"\"\n# CONFIG_IKCONFIG is not set\n").unwrap();
        assert_eq!(c.get("CONFIG_HZ"), Some("250"));
        assert!(c.is_enabled("64BIT"));
        assert_eq!(c.unset, ["IKCONFIG"]);
        assert_eq!(
            c.title.as_deref(),
            Some("Linux/x86 6.1.170 Kernel Configuration")
        );
        assert!(Config::parse(b"CONFIG_X=y\nnonsense\n").is_err());
    }
}
