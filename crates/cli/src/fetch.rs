//! `depsurf fetch`: download kernel packages with the user's own apt configuration
//! (`apt-get download`, honouring `APT_CONFIG`), into a cache, with a progress bar.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use depsurf_image::identity::parse_release;

use crate::inspect::emit;
use crate::output::size;
use crate::progress;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum What {
    /// The debug package (-dbg / -dbgsym): vmlinux with DWARF, System.map.
    Debug,
    /// The image packages: vmlinuz, config.
    Image,
    /// Both.
    All,
}

#[derive(Args)]
pub struct FetchArgs {
    /// Kernel releases (`6.1.0-47-amd64`, `6.12.117+deb13-arm64`, `5.4.0-26-generic`) or
    /// package names (`linux-image-6.1.0-47-amd64-dbg`).
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
    /// Which packages of a release to download.
    #[arg(long, value_enum, default_value_t = What::All)]
    pub what: What,
    /// Cache directory [default: $XDG_CACHE_HOME/depsurf/packages].
    #[arg(long, value_name = "DIR", env = "DEPSURF_CACHE")]
    pub cache: Option<PathBuf>,
    /// Only resolve and print what would be downloaded.
    #[arg(long)]
    pub dry_run: bool,
}

/// One package as apt knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Candidate {
    package: String,
    version: String,
    arch: String,
    size: u64,
}

impl Candidate {
    /// The file name `apt-get download` writes.
    fn file_name(&self) -> String {
        format!(
            "{}_{}_{}.deb",
            self.package,
            self.version.replace(':', "%3a"),
            self.arch
        )
    }
}

/// The package cache: `$XDG_CACHE_HOME/depsurf/packages`.
pub fn default_cache() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("depsurf").join("packages")
}

fn host_arch() -> Option<String> {
    let out = Command::new("dpkg")
        .arg("--print-architecture")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

/// What apt knows, asked in one `apt-cache show` for many packages: each call re-reads the
/// package indexes, which takes seconds when apt's binary cache is off.
#[derive(Default)]
struct AptKnows {
    found: Vec<Candidate>,
}

impl AptKnows {
    /// Asks about every `package` or `package:arch` in `specs`.
    fn ask(specs: &[String]) -> Result<AptKnows> {
        if specs.is_empty() {
            return Ok(AptKnows::default());
        }
        let out = Command::new("apt-cache")
            .args(["show", "--no-all-versions"])
            .args(specs)
            .stderr(Stdio::null())
            .output()
            .map_err(|e| {
                anyhow::anyhow!("cannot run apt-cache ({e}); `depsurf fetch` needs apt")
            })?;
        // apt-cache exits non-zero when none is known; the known ones are printed anyway.
        let text = String::from_utf8_lossy(&out.stdout);
        let mut found = Vec::new();
        for stanza in text.split("\n\n") {
            let mut c = Candidate {
                package: String::new(),
                version: String::new(),
                arch: String::new(),
                size: 0,
            };
            for line in stanza.lines() {
                if let Some((k, v)) = line.split_once(": ") {
                    match k {
                        "Package" => c.package = v.trim().to_string(),
                        "Version" => c.version = v.trim().to_string(),
                        "Architecture" => c.arch = v.trim().to_string(),
                        "Size" => c.size = v.trim().parse().unwrap_or(0),
                        _ => {}
                    }
                }
            }
            if !c.package.is_empty() && !c.version.is_empty() {
                found.push(c);
            }
        }
        Ok(AptKnows { found })
    }

    /// The package, for architecture `arch` when given (else the first known).
    fn get(&self, package: &str, arch: Option<&str>) -> Option<Candidate> {
        self.found
            .iter()
            .find(|c| c.package == package && arch.is_none_or(|a| c.arch == a || c.arch == "all"))
            .cloned()
    }
}

/// Every package name a release might expand to, for asking apt once.
fn candidate_names(r: &str, ubuntu: bool) -> Vec<String> {
    if ubuntu {
        vec![
            format!("linux-image-unsigned-{r}-dbgsym"),
            format!("linux-image-{r}-dbgsym"),
            format!("linux-binary-{r}"),
            format!("linux-base-{r}"),
            format!("linux-image-unsigned-{r}"),
            format!("linux-image-{r}"),
            format!("linux-modules-{r}"),
        ]
    } else {
        vec![
            format!("linux-image-{r}-dbg"),
            format!("linux-binary-{r}"),
            format!("linux-base-{r}"),
            format!("linux-image-{r}-unsigned"),
            format!("linux-image-{r}"),
        ]
    }
}

/// A name given on the command line, as what to ask apt about.
struct Request {
    name: String,
    /// `Some` for a release: its parse; `None` for a package name.
    release: Option<depsurf_image::identity::Release>,
    /// The architecture to ask for explicitly (foreign to this machine).
    arch: Option<String>,
}

fn request(name: &str, host: Option<&str>) -> Result<Request> {
    if name.starts_with("linux-") {
        return Ok(Request {
            name: name.to_string(),
            release: None,
            arch: None,
        });
    }
    let Some(rel) = parse_release(name) else {
        bail!(
            "{name}: neither a package name (linux-...) nor a kernel release \
             (6.1.0-47-amd64, 6.12.117+deb13-arm64, 5.4.0-26-generic)"
        );
    };
    // Ask for foreign architectures explicitly; apt needs them enabled.
    let arch = rel.arch.filter(|a| host != Some(*a)).map(str::to_string);
    Ok(Request {
        name: name.to_string(),
        release: Some(rel),
        arch,
    })
}

fn specs(req: &Request) -> Vec<String> {
    let names = match &req.release {
        None => vec![req.name.clone()],
        Some(rel) => candidate_names(&rel.release, rel.distro == Some("Ubuntu")),
    };
    names
        .into_iter()
        .map(|n| match &req.arch {
            Some(a) => format!("{n}:{a}"),
            None => n,
        })
        .collect()
}

/// The packages that make up a request: a package name stands for itself; a release
/// expands to its debug and/or image packages, named as its distribution names them.
fn expand(req: &Request, what: What, apt: &AptKnows) -> Result<Vec<Candidate>> {
    let name = &req.name;
    let Some(rel) = &req.release else {
        return match apt.get(name, None) {
            Some(c) => Ok(vec![c]),
            None => bail!(
                "{name}: no such package in your apt sources (see docs/fetch.md to add suites \
                 and architectures)"
            ),
        };
    };
    let arch_q = req.arch.as_deref();
    let first = |names: &[String]| names.iter().find_map(|n| apt.get(n, arch_q.or(rel.arch)));
    let r = &rel.release;
    let ubuntu = rel.distro == Some("Ubuntu");
    let mut out = Vec::new();
    let mut missing = Vec::new();
    if matches!(what, What::Debug | What::All) {
        let names = if ubuntu {
            vec![
                format!("linux-image-unsigned-{r}-dbgsym"),
                format!("linux-image-{r}-dbgsym"),
            ]
        } else {
            vec![format!("linux-image-{r}-dbg")]
        };
        match first(&names) {
            Some(c) => out.push(c),
            None => missing.push(names.join(" or ")),
        }
    }
    if matches!(what, What::Image | What::All) {
        if let Some(bin) = first(&[format!("linux-binary-{r}")]) {
            // Debian 14 splits the image: the kernel in linux-binary, config in linux-base.
            out.push(bin);
            if let Some(base) = first(&[format!("linux-base-{r}")]) {
                out.push(base);
            }
        } else {
            let names = if ubuntu {
                vec![
                    format!("linux-image-unsigned-{r}"),
                    format!("linux-image-{r}"),
                ]
            } else {
                vec![
                    format!("linux-image-{r}-unsigned"),
                    format!("linux-image-{r}"),
                ]
            };
            match first(&names) {
                Some(c) => out.push(c),
                None => missing.push(names.join(" or ")),
            }
            if ubuntu && let Some(m) = first(&[format!("linux-modules-{r}")]) {
                out.push(m);
            }
        }
    }
    if out.is_empty() {
        bail!(
            "{name}: apt knows none of {}{}; add the suite that has it (see docs/fetch.md)",
            missing.join(", "),
            arch_q
                .map(|a| format!(" for architecture {a} (enable it with APT::Architectures)"))
                .unwrap_or_default()
        );
    }
    for m in missing {
        eprintln!("depsurf: {name}: apt knows no {m}; fetching the rest");
    }
    Ok(out)
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Downloads one package into `cache` (through a private partial directory) and returns
/// its path.
fn download(c: &Candidate, cache: &Path, quiet: bool) -> Result<PathBuf> {
    let dest = cache.join(c.file_name());
    if let Ok(meta) = std::fs::metadata(&dest)
        && (c.size == 0 || meta.len() == c.size)
    {
        if !quiet {
            eprintln!("depsurf: {} is cached", dest.display());
        }
        return Ok(dest);
    }
    let partial = tempfile::Builder::new()
        .prefix(".partial-")
        .tempdir_in(cache)
        .with_context(|| format!("creating a download directory in {}", cache.display()))?;
    let spec = format!("{}:{}={}", c.package, c.arch, c.version);
    let mut child = Command::new("apt-get")
        .args(["download", "-q", &spec])
        .current_dir(partial.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot run apt-get ({e}); `depsurf fetch` needs apt"))?;
    let bar = progress::enabled(quiet).then(|| progress::bytes_bar(c.size, c.package.clone()));
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if let Some(b) = &bar {
            b.set_position(dir_size(partial.path()).min(c.size));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut stderr);
    }
    if !status.success() {
        let msg: Vec<&str> = stderr.lines().filter(|l| !l.starts_with("W:")).collect();
        bail!("apt-get download {spec} failed: {}", msg.join("; "));
    }
    let got = partial.path().join(c.file_name());
    let got = if got.exists() {
        got
    } else {
        // apt may encode the name differently; take the one .deb it wrote.
        let debs: Vec<PathBuf> = std::fs::read_dir(partial.path())?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "deb" || x == "ddeb"))
            .collect();
        match debs.as_slice() {
            [one] => one.clone(),
            _ => bail!("apt-get download {spec} succeeded but wrote no package file"),
        }
    };
    let size_got = std::fs::metadata(&got)?.len();
    if c.size != 0 && size_got != c.size {
        bail!(
            "apt-get download {spec}: got {} but apt-cache announced {}",
            size(size_got),
            size(c.size)
        );
    }
    std::fs::rename(&got, &dest)
        .with_context(|| format!("moving the download to {}", dest.display()))?;
    Ok(dest)
}

/// Downloads one exact package version (`name`, `version`, `arch` as a dataset manifest
/// records them) into `cache`, unless it is there already; returns its path.
pub fn download_exact(
    package: &str,
    version: &str,
    arch: &str,
    cache: &Path,
    quiet: bool,
) -> Result<PathBuf> {
    std::fs::create_dir_all(cache)
        .with_context(|| format!("creating the cache directory {}", cache.display()))?;
    let c = Candidate {
        package: package.to_string(),
        version: version.to_string(),
        arch: arch.to_string(),
        size: 0,
    };
    download(&c, cache, quiet)
}

/// The file name `apt-get download` gives a package version.
pub fn package_file_name(package: &str, version: &str, arch: &str) -> String {
    Candidate {
        package: package.to_string(),
        version: version.to_string(),
        arch: arch.to_string(),
        size: 0,
    }
    .file_name()
}

pub fn run(args: &FetchArgs, quiet: bool) -> Result<ExitCode> {
    let cache = args.cache.clone().unwrap_or_else(default_cache);
    let host = host_arch();
    let requests: Vec<Request> = args
        .names
        .iter()
        .map(|n| request(n, host.as_deref()))
        .collect::<Result<_>>()?;
    let all_specs: Vec<String> = requests.iter().flat_map(specs).collect();
    let apt = AptKnows::ask(&all_specs)?;
    let mut plan = Vec::new();
    for req in &requests {
        for c in expand(req, args.what, &apt)? {
            if !plan.contains(&c) {
                plan.push(c);
            }
        }
    }
    if args.dry_run {
        let mut text = String::new();
        for c in &plan {
            text.push_str(&format!(
                "{}\t{}\t{}\t{}\n",
                c.package,
                c.version,
                c.arch,
                size(c.size)
            ));
        }
        emit(text.as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    std::fs::create_dir_all(&cache)
        .with_context(|| format!("creating the cache directory {}", cache.display()))?;
    let mut paths = String::new();
    for c in &plan {
        let p = download(c, &cache, quiet)?;
        paths.push_str(&format!("{}\n", p.display()));
    }
    emit(paths.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
