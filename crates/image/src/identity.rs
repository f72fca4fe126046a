//! Who a kernel is: release, version, ABI, flavour, architecture, distribution, compiler.
//!
//! Hints come from file and package names, a package's control file, and the image's own
//! banner (`Linux version ...`). The banner is the authority: names can be missing or wrong.

use serde::Serialize;

/// The identity of one kernel image. Every field is optional: a raw BTF blob says nothing
/// about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// `uname -r`: `6.1.0-47-amd64`, `6.12.117+deb13-arm64-16k`, `5.4.0-26-generic`.
    pub release: Option<String>,
    /// Upstream version, as precise as known: `6.1.170` (or `6.1` from a release name alone).
    pub version: Option<String>,
    /// `major.minor`: `6.1`.
    pub series: Option<String>,
    /// ABI name or number: `47`, `deb13`, `26`.
    pub abi: Option<String>,
    /// Flavour as the distribution names it: `amd64`, `cloud-amd64`, `rt-arm64`, `generic`.
    pub flavour: Option<String>,
    /// Debian architecture name: `amd64`, `arm64`, `armhf`, `ppc64el`, `s390x`, `i386`.
    pub arch: Option<String>,
    /// `Debian` or `Ubuntu`.
    pub distro: Option<String>,
    /// Source package version: `6.1.170-3`, `5.4.0-26.30`.
    pub package_version: Option<String>,
    /// Compiler and linker, from the banner or `.comment`.
    pub compiler: Option<String>,
    /// The banner string, when the image carries one.
    pub banner: Option<String>,
}

/// What a release string (`uname -r`) says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Release {
    pub release: String,
    pub series: String,
    /// Full upstream version when the name carries it (Debian 13 and later names do).
    pub version: Option<String>,
    pub abi: String,
    pub flavour: String,
    pub distro: Option<&'static str>,
    pub arch: Option<&'static str>,
}

/// Debian flavours (without featureset prefixes such as `rt-` or `cloud-`) and their
/// architectures.
const DEBIAN_FLAVOURS: &[(&str, &str)] = &[
    ("amd64", "amd64"),
    ("arm64", "arm64"),
    ("arm64-16k", "arm64"),
    ("armmp", "armhf"),
    ("armmp-lpae", "armhf"),
    ("marvell", "armel"),
    ("rpi", "armel"),
    ("686", "i386"),
    ("686-pae", "i386"),
    ("powerpc64le", "ppc64el"),
    ("powerpc64le-64k", "ppc64el"),
    ("powerpc64", "ppc64"),
    ("powerpc", "powerpc"),
    ("powerpc-smp", "powerpc"),
    ("s390x", "s390x"),
    ("riscv64", "riscv64"),
    ("loong64", "loong64"),
    ("loongson-3", "mips64el"),
    ("mips64r2el", "mips64el"),
    ("mips64r6el", "mips64el"),
    ("mips32r2el", "mipsel"),
    ("octeon", "mips64el"),
    ("alpha-generic", "alpha"),
    ("alpha-smp", "alpha"),
    ("parisc", "hppa"),
    ("parisc64", "hppa"),
    ("m68k", "m68k"),
    ("sparc64", "sparc64"),
    ("sparc64-smp", "sparc64"),
    ("sh7751r", "sh4"),
    ("sh7785lcr", "sh4"),
    ("itanium", "ia64"),
    ("mckinley", "ia64"),
];

/// Featuresets Debian prefixes to flavours.
const DEBIAN_FEATURESETS: &[&str] = &["cloud", "rt"];

/// Ubuntu's flavours (the suffix of its release names).
const UBUNTU_FLAVOURS: &[&str] = &[
    "generic",
    "generic-64k",
    "generic-lpae",
    "generic-pae",
    "lowlatency",
    "lowlatency-64k",
    "aws",
    "azure",
    "azure-cvm",
    "gcp",
    "gke",
    "gkeop",
    "oracle",
    "ibm",
    "kvm",
    "raspi",
    "raspi-nolpae",
    "oem",
    "nvidia",
    "nvidia-64k",
    "intel-iotg",
    "realtime",
    "fips",
    "xilinx-zynqmp",
];

/// The architecture a Debian flavour builds for, if it is a Debian flavour.
pub fn debian_flavour_arch(flavour: &str) -> Option<&'static str> {
    let mut rest = flavour;
    for fs in DEBIAN_FEATURESETS {
        if let Some(r) = rest.strip_prefix(fs).and_then(|r| r.strip_prefix('-')) {
            rest = r;
            break;
        }
    }
    DEBIAN_FLAVOURS
        .iter()
        .find(|(f, _)| *f == rest)
        .map(|(_, a)| *a)
}

fn split_version(v: &str) -> Option<(String, Option<String>)> {
    // "6.1.0" -> series 6.1 ; "6.12.117" -> series 6.12, version 6.12.117
    let parts: Vec<&str> = v.split('.').collect();
    if parts.len() < 2
        || parts.len() > 3
        || !parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let series = format!("{}.{}", parts[0], parts[1]);
    let full = match parts.get(2) {
        Some(&"0") | None => None,
        Some(_) => Some(v.to_string()),
    };
    Some((series, full))
}

/// Parses a release string (`uname -r`) in Debian's or Ubuntu's form.
pub fn parse_release(release: &str) -> Option<Release> {
    let release = release.trim();
    if release.is_empty() || release.len() > 128 || release.contains(char::is_whitespace) {
        return None;
    }
    // Debian 13+: 6.12.117+deb13-arm64-16k
    if let Some((ver, rest)) = release.split_once('+') {
        let (abi, flavour) = rest.split_once('-')?;
        let (series, full) = split_version(ver)?;
        if abi.is_empty() || flavour.is_empty() {
            return None;
        }
        let arch = debian_flavour_arch(flavour);
        return Some(Release {
            release: release.to_string(),
            series,
            version: full.or_else(|| Some(ver.to_string())),
            abi: abi.to_string(),
            flavour: flavour.to_string(),
            distro: Some("Debian"),
            arch,
        });
    }
    // Debian up to 12 and Ubuntu: 6.1.0-47-amd64, 5.4.0-26-generic
    let mut parts = release.splitn(3, '-');
    let ver = parts.next()?;
    let abi = parts.next()?;
    let flavour = parts.next()?;
    if abi.is_empty() || !abi.bytes().all(|c| c.is_ascii_digit()) || flavour.is_empty() {
        return None;
    }
    let (series, full) = split_version(ver)?;
    let arch = debian_flavour_arch(flavour);
    let distro = if arch.is_some() {
        Some("Debian")
    } else if UBUNTU_FLAVOURS.contains(&flavour) {
        Some("Ubuntu")
    } else {
        None
    };
    Some(Release {
        release: release.to_string(),
        series,
        version: full,
        abi: abi.to_string(),
        flavour: flavour.to_string(),
        distro,
        arch,
    })
}

/// What a package or file name says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameHint {
    pub release: Option<String>,
    pub package: Option<String>,
    pub package_version: Option<String>,
    pub arch: Option<String>,
    /// The package is Ubuntu's (`.ddeb`, `-dbgsym`, `linux-image-unsigned-`).
    pub ubuntu: bool,
}

const PACKAGE_PREFIXES: &[&str] = &[
    "linux-image-unsigned-",
    "linux-image-",
    "linux-binary-",
    "linux-modules-extra-",
    "linux-modules-",
    "linux-headers-",
];
const PACKAGE_SUFFIXES: &[&str] = &["-dbgsym", "-dbg", "-unsigned"];
const FILE_PREFIXES: &[&str] = &["vmlinux-", "vmlinuz-", "System.map-", "config-", "Image-"];
const FILE_SUFFIXES: &[&str] = &[
    ".btf.tar.xz",
    ".btf.xz",
    ".btf.zst",
    ".btf",
    ".deb",
    ".ddeb",
    ".xz",
    ".gz",
    ".zst",
];

/// The release named by a package name (`linux-image-6.1.0-47-amd64-dbg`), if any.
pub fn release_from_package(package: &str) -> Option<String> {
    let rest = PACKAGE_PREFIXES
        .iter()
        .find_map(|p| package.strip_prefix(p))?;
    let rest = PACKAGE_SUFFIXES
        .iter()
        .find_map(|s| rest.strip_suffix(s))
        .unwrap_or(rest);
    parse_release(rest).map(|r| r.release)
}

/// Reads what a file name says: a package file (`name_version_arch.deb`), a boot file
/// (`vmlinuz-<release>`), a BTFHub file (`<release>.btf.tar.xz`), or a bare release.
pub fn hint_from_file_name(file_name: &str) -> NameHint {
    let mut hint = NameHint {
        ubuntu: file_name.ends_with(".ddeb"),
        ..NameHint::default()
    };
    let stem = FILE_SUFFIXES
        .iter()
        .find_map(|s| file_name.strip_suffix(s))
        .unwrap_or(file_name);
    // Debian package file: package_version_arch
    let fields: Vec<&str> = stem.split('_').collect();
    if fields.len() == 3 && PACKAGE_PREFIXES.iter().any(|p| fields[0].starts_with(p)) {
        hint.package = Some(fields[0].to_string());
        hint.package_version = Some(fields[1].replace("%2b", "+").replace("%3a", ":"));
        hint.arch = Some(fields[2].to_string());
        hint.release = release_from_package(fields[0]);
        hint.ubuntu |=
            fields[0].ends_with("-dbgsym") || fields[0].starts_with("linux-image-unsigned-");
        return hint;
    }
    if PACKAGE_PREFIXES.iter().any(|p| stem.starts_with(p)) {
        hint.release = release_from_package(stem);
        return hint;
    }
    let rest = FILE_PREFIXES
        .iter()
        .find_map(|p| stem.strip_prefix(p))
        .unwrap_or(stem);
    hint.release = parse_release(rest).map(|r| r.release);
    hint
}

/// What a banner (`Linux version 6.1.0-47-amd64 (builder) (compiler) #1 SMP ... Debian
/// 6.1.170-3 (date)`) says. Also accepts the bzImage header's version string, which is the
/// banner without `Linux version ` and without the compiler.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Banner {
    pub text: String,
    pub release: String,
    pub compiler: Option<String>,
    pub distro: Option<&'static str>,
    pub package_version: Option<String>,
    pub upstream: Option<String>,
}

/// Splits `s` into its leading balanced `( ... )` group and the rest.
fn paren_group(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    if !s.starts_with('(') {
        return None;
    }
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some((&s[1..i], &s[i + 1..]));
                }
            }
            _ => {}
        }
    }
    None
}

pub fn parse_banner(text: &str) -> Option<Banner> {
    let text = text.trim_end_matches(['\n', '\0']).trim();
    let body = text.strip_prefix("Linux version ").unwrap_or(text);
    let (release, mut rest) = body.split_once(' ').unwrap_or((body, ""));
    parse_release(release).or_else(|| {
        // An unknown naming scheme still has a version in front.
        let v = release.split(['-', '+']).next()?;
        split_version(v).map(|_| Release::default())
    })?;
    let mut groups = Vec::new();
    while let Some((g, r)) = paren_group(rest) {
        groups.push(g);
        rest = r;
    }
    let compiler = groups
        .iter()
        .find(|g| g.contains("gcc") || g.contains("clang") || g.contains("GCC"))
        .map(|g| g.to_string());
    let tail = rest.trim();
    let mut b = Banner {
        text: text.to_string(),
        release: release.to_string(),
        compiler,
        ..Banner::default()
    };
    let words: Vec<&str> = tail.split_whitespace().collect();
    if let Some(i) = words.iter().position(|w| *w == "Debian") {
        b.distro = Some("Debian");
        if let Some(v) = words
            .get(i + 1)
            .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        {
            b.package_version = Some(v.to_string());
            b.upstream = v.rsplit_once('-').map(|(u, _)| u.to_string());
        }
    } else if tail.contains("Ubuntu") {
        b.distro = Some("Ubuntu");
        // "(Ubuntu 5.4.0-26.30-generic 5.4.30)"
        if let Some(pos) = tail.find("(Ubuntu ") {
            let inner = &tail[pos + 8..];
            let inner = inner.split(')').next().unwrap_or("");
            let mut it = inner.split_whitespace();
            if let Some(pv) = it.next() {
                let flavour_cut = pv
                    .rsplit_once('-')
                    .filter(|(_, f)| f.starts_with(|c: char| c.is_ascii_alphabetic()))
                    .map(|(v, _)| v)
                    .unwrap_or(pv);
                b.package_version = Some(flavour_cut.to_string());
            }
            b.upstream = it.next().map(str::to_string);
        }
    }
    Some(b)
}

/// Finds the banner inside raw kernel bytes: `Linux version <digit>...` up to a newline or NUL.
pub fn find_banner(data: &[u8]) -> Option<String> {
    let needle = b"Linux version ";
    for pos in memchr::memmem::find_iter(data, needle) {
        let rest = &data[pos..];
        if !rest.get(needle.len()).is_some_and(u8::is_ascii_digit) {
            continue;
        }
        let end = rest
            .iter()
            .take(1024)
            .position(|&b| b == 0 || b == b'\n')
            .unwrap_or(rest.len().min(1024));
        if let Ok(s) = std::str::from_utf8(&rest[..end])
            && parse_banner(s).is_some()
        {
            return Some(s.to_string());
        }
    }
    None
}

/// Collects hints and settles an [`Identity`]. Sources are added from most to least
/// authoritative; a later source only fills gaps, and disagreements become notes.
#[derive(Default)]
pub struct IdentityBuilder {
    id: Identity,
    notes: Vec<String>,
}

impl IdentityBuilder {
    fn set(
        &mut self,
        field: &str,
        slot: fn(&mut Identity) -> &mut Option<String>,
        value: Option<String>,
        source: &str,
    ) {
        let Some(value) = value else { return };
        let current = slot(&mut self.id);
        match current {
            None => *current = Some(value),
            Some(existing) if *existing != value => {
                let note =
                    format!("{source} says {field} {value:?}, but the image says {existing:?}");
                if !self.notes.contains(&note) {
                    self.notes.push(note);
                }
            }
            _ => {}
        }
    }

    pub fn banner(&mut self, b: &Banner) {
        let src = "banner";
        self.set("release", |i| &mut i.release, Some(b.release.clone()), src);
        self.set("compiler", |i| &mut i.compiler, b.compiler.clone(), src);
        self.set(
            "distribution",
            |i| &mut i.distro,
            b.distro.map(str::to_string),
            src,
        );
        self.set(
            "package version",
            |i| &mut i.package_version,
            b.package_version.clone(),
            src,
        );
        self.set("version", |i| &mut i.version, b.upstream.clone(), src);
        if self.id.banner.is_none() && b.text.starts_with("Linux version") {
            self.id.banner = Some(b.text.clone());
        }
        self.release(&b.release.clone(), src);
    }

    /// The release string's own fields (after anything more precise).
    pub fn release(&mut self, release: &str, source: &str) {
        let Some(r) = parse_release(release) else {
            self.set(
                "release",
                |i| &mut i.release,
                Some(release.to_string()),
                source,
            );
            return;
        };
        self.set(
            "release",
            |i| &mut i.release,
            Some(r.release.clone()),
            source,
        );
        if self.id.release.as_deref() != Some(r.release.as_str()) {
            return; // a different kernel's name: its fields do not apply
        }
        self.set("series", |i| &mut i.series, Some(r.series.clone()), source);
        if self.id.version.is_none() {
            self.id.version = r.version.clone().or_else(|| Some(r.series.clone()));
        }
        self.set("ABI", |i| &mut i.abi, Some(r.abi.clone()), source);
        self.set(
            "flavour",
            |i| &mut i.flavour,
            Some(r.flavour.clone()),
            source,
        );
        self.set(
            "distribution",
            |i| &mut i.distro,
            r.distro.map(str::to_string),
            source,
        );
        self.set(
            "architecture",
            |i| &mut i.arch,
            r.arch.map(str::to_string),
            source,
        );
    }

    pub fn arch(&mut self, arch: &str, source: &str) {
        self.set(
            "architecture",
            |i| &mut i.arch,
            Some(arch.to_string()),
            source,
        );
    }

    /// A compiler from `.comment`, used only when the banner named none: the two name the
    /// same compiler in different words, so a difference is not a disagreement.
    pub fn fallback_compiler(&mut self, compiler: &str) {
        if self.id.compiler.is_none() {
            self.id.compiler = Some(compiler.to_string());
        }
    }

    pub fn package(&mut self, hint: &NameHint, source: &str) {
        if let Some(r) = &hint.release {
            self.release(r, source);
        }
        if self.id.release.is_some() && hint.release.is_some() && self.id.release != hint.release {
            return;
        }
        self.set(
            "package version",
            |i| &mut i.package_version,
            hint.package_version.clone(),
            source,
        );
        if let Some(a) = &hint.arch {
            // Architecture "all" packages say nothing about the kernel.
            if a != "all" {
                self.arch(a, source);
            }
        }
        if hint.ubuntu {
            self.set(
                "distribution",
                |i| &mut i.distro,
                Some("Ubuntu".into()),
                source,
            );
        }
        if self.id.version.as_deref() == self.id.series.as_deref()
            && let Some(pv) = &hint.package_version
        {
            // Debian's package version carries the upstream version: 6.1.170-3.
            if let Some((up, _)) = pv.rsplit_once('-')
                && self
                    .id
                    .series
                    .as_deref()
                    .is_some_and(|s| up.starts_with(&format!("{s}.")))
                && self.id.distro.as_deref() != Some("Ubuntu")
            {
                self.id.version = Some(up.to_string());
            }
        }
    }

    pub fn finish(self) -> (Identity, Vec<String>) {
        (self.id, self.notes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(
        s: &str,
    ) -> (
        String,
        Option<String>,
        String,
        String,
        Option<&'static str>,
        Option<&'static str>,
    ) {
        let r = parse_release(s).unwrap_or_else(|| panic!("{s}"));
        (r.series, r.version, r.abi, r.flavour, r.distro, r.arch)
    }

    #[test]
    fn debian_release_names() {
        assert_eq!(
            rel("6.1.0-47-amd64"),
            (
                "6.1".into(),
                None,
                "47".into(),
                "amd64".into(),
                Some("Debian"),
                Some("amd64")
            )
        );
        assert_eq!(rel("6.1.0-47-cloud-amd64").3, "cloud-amd64");
        assert_eq!(rel("6.1.0-47-cloud-amd64").5, Some("amd64"));
        assert_eq!(rel("6.1.0-47-rt-arm64").5, Some("arm64"));
        assert_eq!(
            rel("6.12.117+deb13-arm64-16k"),
            (
                "6.12".into(),
                Some("6.12.117".into()),
                "deb13".into(),
                "arm64-16k".into(),
                Some("Debian"),
                Some("arm64")
            )
        );
        assert_eq!(rel("6.1.0-47-powerpc64le").5, Some("ppc64el"));
        assert_eq!(rel("6.1.0-47-686-pae").5, Some("i386"));
        assert_eq!(rel("6.1.0-47-armmp").5, Some("armhf"));
        assert_eq!(rel("6.1.0-47-s390x").5, Some("s390x"));
        assert_eq!(rel("7.2.13+deb14-amd64").1.as_deref(), Some("7.2.13"));
        assert_eq!(rel("5.10.0-32-amd64").0, "5.10");
    }

    #[test]
    fn ubuntu_release_names() {
        assert_eq!(
            rel("5.4.0-26-generic"),
            (
                "5.4".into(),
                None,
                "26".into(),
                "generic".into(),
                Some("Ubuntu"),
                None
            )
        );
        assert_eq!(rel("6.8.0-1012-aws").4, Some("Ubuntu"));
        assert!(parse_release("garbage").is_none());
        assert!(parse_release("6.1-x").is_none());
        assert!(parse_release("").is_none());
    }

    #[test]
    fn package_file_names() {
        let h = hint_from_file_name("linux-image-6.1.0-47-amd64-dbg_6.1.170-3_amd64.deb");
        assert_eq!(h.release.as_deref(), Some("6.1.0-47-amd64"));
        assert_eq!(h.package.as_deref(), Some("linux-image-6.1.0-47-amd64-dbg"));
        assert_eq!(h.package_version.as_deref(), Some("6.1.170-3"));
        assert_eq!(h.arch.as_deref(), Some("amd64"));
        let h = hint_from_file_name(
            "linux-image-unsigned-5.4.0-26-generic-dbgsym_5.4.0-26.30_amd64.ddeb",
        );
        assert_eq!(h.release.as_deref(), Some("5.4.0-26-generic"));
        assert!(h.ubuntu);
        assert_eq!(h.package_version.as_deref(), Some("5.4.0-26.30"));
        let h =
            hint_from_file_name("linux-image-6.12.117+deb13-amd64-unsigned_6.12.117-1_amd64.deb");
        assert_eq!(h.release.as_deref(), Some("6.12.117+deb13-amd64"));
        let h = hint_from_file_name("linux-binary-7.2.13+deb14-amd64_7.2.13-1_amd64.deb");
        assert_eq!(h.release.as_deref(), Some("7.2.13+deb14-amd64"));
        assert_eq!(
            hint_from_file_name("vmlinuz-6.1.0-47-686-pae")
                .release
                .as_deref(),
            Some("6.1.0-47-686-pae")
        );
        assert_eq!(
            hint_from_file_name("System.map-6.1.0-47-arm64")
                .release
                .as_deref(),
            Some("6.1.0-47-arm64")
        );
        assert_eq!(
            hint_from_file_name("5.4.0-26-generic.btf.tar.xz")
                .release
                .as_deref(),
            Some("5.4.0-26-generic")
        );
        assert_eq!(hint_from_file_name("vmlinux").release, None);
    }

    #[test]
    fn banners() {
        let b = parse_banner("Linux version 6.1.0-47-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.170-3 (2026-05-08)\n").unwrap();
        assert_eq!(b.release, "6.1.0-47-amd64");
        assert_eq!(
            b.compiler.as_deref(),
            Some("gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40")
        );
        assert_eq!(b.distro, Some("Debian"));
        assert_eq!(b.package_version.as_deref(), Some("6.1.170-3"));
        assert_eq!(b.upstream.as_deref(), Some("6.1.170"));
        let u = parse_banner("Linux version 5.4.0-26-generic (buildd@lcy01-amd64-029) (gcc version 9.3.0 (Ubuntu 9.3.0-10ubuntu2)) #30-Ubuntu SMP Mon Apr 20 16:58:30 UTC 2020 (Ubuntu 5.4.0-26.30-generic 5.4.30)").unwrap();
        assert_eq!(u.distro, Some("Ubuntu"));
        assert_eq!(u.package_version.as_deref(), Some("5.4.0-26.30"));
        assert_eq!(u.upstream.as_deref(), Some("5.4.30"));
        assert_eq!(
            u.compiler.as_deref(),
            Some("gcc version 9.3.0 (Ubuntu 9.3.0-10ubuntu2)")
        );
        let h = parse_banner("6.1.0-47-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.170-3 (2026-05-08)").unwrap();
        assert_eq!(h.release, "6.1.0-47-amd64");
        assert_eq!(h.compiler, None);
        assert!(parse_banner("Linux version ").is_none());
        assert!(parse_banner("hello").is_none());
    }

    #[test]
    fn banner_wins_over_a_wrong_name() {
        let mut b = IdentityBuilder::default();
        b.banner(&parse_banner("Linux version 6.1.0-47-arm64 (x@y) (gcc-12 12.2.0) #1 SMP Debian 6.1.170-3 (2026-05-08)").unwrap());
        b.package(
            &hint_from_file_name("linux-image-6.1.0-47-amd64-dbg_6.1.170-3_amd64.deb"),
            "file name",
        );
        b.arch("arm64", "ELF header");
        let (id, notes) = b.finish();
        assert_eq!(id.release.as_deref(), Some("6.1.0-47-arm64"));
        assert_eq!(id.arch.as_deref(), Some("arm64"));
        assert_eq!(id.version.as_deref(), Some("6.1.170"));
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("6.1.0-47-amd64"));
    }

    #[test]
    fn finds_banner_in_raw_bytes() {
        let mut data = vec![0u8; 100];
        data.extend_from_slice(b"Linux version %s\0junk Linux version 6.1.0-47-s390x (x@y) (gcc-12 12.2.0) #1 SMP Debian 6.1.170-3 (2026-05-08)\n\0");
        let b = find_banner(&data).unwrap();
        assert!(b.starts_with("Linux version 6.1.0-47-s390x"));
    }
}
