//! `System.map`: the kernel's symbol listing, `address type name` per line.

use crate::error::Problem;
use crate::sniff::is_system_map_line;

/// A parsed System.map.
#[derive(Clone, Debug, Default)]
pub struct SystemMap {
    pub symbols: Vec<MapSymbol>,
    /// Debian's image packages ship a one-line stand-in that points to the `-dbg` package.
    pub placeholder: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapSymbol {
    pub addr: u64,
    pub kind: u8,
    pub name: String,
    /// The module it belongs to (`/proc/kallsyms` writes `name\t[module]`); `None` for
    /// vmlinux.
    pub module: Option<String>,
}

impl SystemMap {
    pub fn parse(data: &[u8]) -> Result<SystemMap, Problem> {
        let text = std::str::from_utf8(data).map_err(|e| {
            Problem::Invalid(format!(
                "System.map is not text (bad UTF-8 at byte {})",
                e.valid_up_to()
            ))
        })?;
        let mut symbols = Vec::with_capacity(text.len() / 32);
        for (i, line) in text.lines().enumerate() {
            if line.is_empty() {
                continue;
            }
            if !is_system_map_line(line) {
                return Err(Problem::Invalid(format!(
                    "System.map line {}: expected `address type name`, found {:?}",
                    i + 1,
                    truncate(line, 60)
                )));
            }
            let mut parts = line.splitn(3, ' ');
            let addr = parts.next().unwrap_or_default();
            let kind = parts.next().unwrap_or_default().as_bytes()[0];
            let rest = parts.next().unwrap_or_default();
            let (name, module) = match rest.split_once('\t') {
                Some((n, m)) => (
                    n,
                    Some(
                        m.trim()
                            .trim_start_matches('[')
                            .trim_end_matches(']')
                            .to_string(),
                    ),
                ),
                None => (rest, None),
            };
            let addr = u64::from_str_radix(addr, 16)
                .map_err(|e| Problem::Invalid(format!("System.map line {}: {e}", i + 1)))?;
            symbols.push(MapSymbol {
                addr,
                kind,
                name: name.to_string(),
                module,
            });
        }
        let placeholder = symbols.len() == 1 && text.contains("The real System.map is in");
        if placeholder {
            symbols.clear();
        }
        Ok(SystemMap {
            symbols,
            placeholder,
        })
    }

    pub fn get(&self, name: &str) -> Option<&MapSymbol> {
        self.symbols.iter().find(|s| s.name == name)
    }

    /// A running kernel's symbol list (`/proc/kallsyms`): the same lines as a System.map, with
    /// `\t[module]` after the names of module symbols (and addresses zeroed for readers
    /// without the right to see them).
    pub fn parse_kallsyms(data: &[u8]) -> Result<SystemMap, Problem> {
        Self::parse(data)
    }

    /// Number of text (function) symbols.
    pub fn functions(&self) -> usize {
        self.symbols
            .iter()
            .filter(|s| matches!(s.kind, b'T' | b't'))
            .count()
    }
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_spots_debian_placeholder() {
        let m = SystemMap::parse(
            b"ffffffff81000000 T _text\nffffffff81000010 t helper\n0000000000001000 A abs\n",
        )
        .unwrap();
        assert_eq!(m.symbols.len(), 3);
        assert_eq!(m.functions(), 2);
        assert_eq!(m.get("helper").unwrap().addr, 0xffffffff81000010);
        let p = SystemMap::parse(
            b"ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n",
        )
        .unwrap();
        assert!(p.placeholder);
        assert!(p.symbols.is_empty());
        let err = SystemMap::parse(b"ffffffff81000000 T _text\ngarbage here\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
