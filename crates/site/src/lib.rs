//! A static website of a dataset (`depsurf site`): the per-dependency reports as HTML pages
//! (collapsible statuses and changes, highlighted C), per-kind index pages with the symbol
//! matrix (SPEC §6), a dataset page (images, groups, provenance, the summary), and a search
//! page that works from `file://` (the index is a script, not fetched). Pages come from
//! minijinja templates (`templates/`); nothing at view time needs the network, and only
//! the search needs JavaScript.

use std::path::{Path, PathBuf};

use depsurf_report::index;
use depsurf_surface::{Dataset, Kind};
use minijinja::{Environment, context};
use rayon::prelude::*;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    // The detail comes from the source chain.
    #[error("template")]
    Template(#[from] minijinja::Error),
    #[error(transparent)]
    Store(#[from] depsurf_surface::store::StoreError),
    #[error(transparent)]
    Report(#[from] depsurf_report::ReportError),
}

/// Kinds on the site (fields are shown in their structs).
pub const KINDS: [Kind; 10] = Kind::ITEMS;

/// Kinds with a page per item. Variables (tens of thousands per image, each only present or
/// absent) are shown in their index pages only.
fn has_pages(k: Kind) -> bool {
    k != Kind::Var
}

/// Rows per index page: the function index would otherwise be one page of many megabytes.
const ROWS_PER_PAGE: usize = 2000;

/// What booting the kernels showed for one object, from `depsurf verify`: per row (a
/// program's name, or `object` for the object as its loader loads it) and image id.
#[derive(Clone, Debug, Default)]
pub struct Booted(pub std::collections::HashMap<(String, String), BootedCell>);

/// One program (or the object) on one booted kernel.
#[derive(Clone, Debug)]
pub struct BootedCell {
    /// `loads`, `fails`, `loads with alternatives`, `n/a`, `no result`.
    pub outcome: String,
    /// Whether `check`'s prediction held; `None` when there was nothing to compare.
    pub agrees: Option<bool>,
    /// What the kernel did, in words (load, attach, events, the loader's line).
    pub detail: String,
}

impl BootedCell {
    /// The mark a verified cell carries after its verdict symbol.
    fn mark(&self) -> &'static str {
        match self.agrees {
            Some(true) => "✓",
            Some(false) => "✗",
            None => "",
        }
    }
}

/// An object's check with, when it was verified, what the kernels did.
pub struct CheckedObject {
    pub check: depsurf_check::ObjectCheck,
    pub booted: Booted,
}

/// What was written.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Written {
    pub pages: usize,
    pub bytes: u64,
}

#[derive(Serialize)]
struct KindLink {
    slug: &'static str,
    title: String,
    count: usize,
}

fn env() -> Result<Environment<'static>, SiteError> {
    let mut e = Environment::new();
    for (name, text) in [
        ("base.html", include_str!("../templates/base.html")),
        ("report.html", include_str!("../templates/report.html")),
        ("change.html", include_str!("../templates/change.html")),
        ("index.html", include_str!("../templates/index.html")),
        ("home.html", include_str!("../templates/home.html")),
        ("dataset.html", include_str!("../templates/dataset.html")),
        ("search.html", include_str!("../templates/search.html")),
        ("check.html", include_str!("../templates/check.html")),
    ] {
        e.add_template(name, text)?;
    }
    Ok(e)
}

/// A file name for an item: kernel names are identifiers, but variables may hold dots and
/// anything else is escaped.
fn file_name(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 5);
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
            s.push(c);
        } else {
            s.push_str(&format!("~{:x}", c as u32));
        }
    }
    if s.starts_with('.') {
        s.insert(0, '_');
    }
    s.push_str(".html");
    s
}

fn write(out: &Path, rel: &str, text: &str, w: &mut Written) -> Result<(), SiteError> {
    let p = out.join(rel);
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).map_err(|e| SiteError::Io(d.to_path_buf(), e))?;
    }
    // A page left from an earlier build is unlinked rather than truncated: ext4 flushes a
    // file truncated and rewritten on close (auto_da_alloc), which made rebuilding a site
    // into its old directory twice as slow as building it afresh.
    match std::fs::remove_file(&p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(SiteError::Io(p.clone(), e));
        }
        _ => {}
    }
    std::fs::write(&p, text).map_err(|e| SiteError::Io(p.clone(), e))?;
    w.pages += 1;
    w.bytes += text.len() as u64;
    Ok(())
}

/// Text made safe inside HTML.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

const C_KEYWORDS: &[&str] = &[
    "struct", "union", "enum", "const", "volatile", "restrict", "typedef", "extern", "static",
    "unsigned", "signed",
];
const C_TYPES: &[&str] = &[
    "void", "char", "short", "int", "long", "float", "double", "_Bool", "bool",
];

/// C text as HTML with keywords, base types, comments and numbers in spans.
pub fn highlight(code: &str) -> String {
    let esc = escape;
    let mut o = String::with_capacity(code.len() * 2);
    let b = code.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if code[i..].starts_with("/*") {
            let end = code[i..].find("*/").map_or(code.len(), |e| i + e + 2);
            o.push_str(&format!("<span class=\"cm\">{}</span>", esc(&code[i..end])));
            i = end;
        } else if b[i].is_ascii_alphabetic() || b[i] == b'_' {
            let end = code[i..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(code.len(), |e| i + e);
            let w = &code[i..end];
            if C_KEYWORDS.contains(&w) {
                o.push_str(&format!("<span class=\"kw\">{w}</span>"));
            } else if C_TYPES.contains(&w) {
                o.push_str(&format!("<span class=\"ty\">{w}</span>"));
            } else {
                o.push_str(w);
            }
            i = end;
        } else if b[i].is_ascii_digit() {
            let end = code[i..]
                .find(|c: char| !(c.is_ascii_alphanumeric()))
                .map_or(code.len(), |e| i + e);
            o.push_str(&format!("<span class=\"nb\">{}</span>", &code[i..end]));
            i = end;
        } else {
            let ch = code[i..].chars().next().unwrap_or(' ');
            o.push_str(&esc(&ch.to_string()));
            i += ch.len_utf8();
        }
    }
    o
}

#[derive(Serialize)]
struct ChangeView {
    name: &'static str,
    code: String,
    new: Option<String>,
    consequence: Option<&'static str>,
    nested: Vec<ChangeView>,
}

fn change_view(c: &depsurf_report::report::ChangeReport) -> ChangeView {
    ChangeView {
        name: c.name,
        code: c.code.clone(),
        new: c.new.clone(),
        consequence: c.consequence,
        nested: c.nested.iter().map(change_view).collect(),
    }
}

/// One dependency's page.
fn report_page(
    ds: &Dataset,
    e: &Environment<'_>,
    kind: Kind,
    name: &str,
    common: &minijinja::Value,
) -> Result<String, SiteError> {
    let r = depsurf_report::build(ds, kind, name)?;
    let groups: Vec<minijinja::Value> = r
        .groups
        .iter()
        .map(|g| {
            let status: Vec<minijinja::Value> = g
                .status
                .iter()
                .map(|s| {
                    let presence = match s.presence {
                        depsurf_report::report::Presence::Present => "Present",
                        depsurf_report::report::Presence::Absent => "Absent",
                        depsurf_report::report::Presence::Unknown => "Unknown",
                    };
                    context! {
                        label => s.label,
                        presence => presence,
                        class => presence.to_lowercase(),
                        issues => s.issues.join(", "),
                        definition => s.definition.as_deref().map(|d| minijinja::Value::from_safe_string(highlight(d))),
                        trace => depsurf_report::report::trace_line(s.traceability.as_ref()),
                    }
                })
                .collect();
            let pairs = g.differences.as_ref().map(|ps| {
                ps.iter()
                    .filter(|p| p.state != depsurf_report::report::PairState::Absent)
                    .map(|p| {
                        context! {
                            old => p.old.label,
                            new => p.new.label,
                            changes => p.changes.iter().map(change_view).collect::<Vec<_>>(),
                        }
                    })
                    .collect::<Vec<_>>()
            });
            context! { name => g.name, status => status, pairs => pairs }
        })
        .collect();
    let t = e.get_template("report.html")?;
    Ok(t.render(context! {
        r => context! { title => kind.title(), name => r.name, groups => groups },
        ..common.clone()
    })?)
}

/// The stylesheet and the search script every page uses.
pub const STYLE: &str = include_str!("../assets/style.css");
pub const SEARCH_JS: &str = include_str!("../assets/search.js");

/// A dataset's website, rendered page by page: all at once into a directory
/// ([`Site::write`]), or one page per request (`depsurf serve`).
pub struct Site<'d> {
    ds: &'d Dataset,
    env: Environment<'static>,
    names: Vec<(Kind, Vec<String>)>,
    kinds: Vec<KindLink>,
    dataset: String,
}

impl<'d> Site<'d> {
    /// The site of `ds` for `kinds` (every kind of [`KINDS`] when empty).
    pub fn new(ds: &'d Dataset, kinds: &[Kind]) -> Result<Site<'d>, SiteError> {
        let mut names = Vec::new();
        for k in KINDS
            .into_iter()
            .filter(|k| kinds.is_empty() || kinds.contains(k))
        {
            let n: Vec<String> = depsurf_report::suggest::all_names(ds, k)?
                .into_iter()
                .collect();
            names.push((k, n));
        }
        let kinds = names
            .iter()
            .map(|(k, n)| KindLink {
                slug: k.as_str(),
                title: plural(*k),
                count: n.len(),
            })
            .collect();
        Ok(Site {
            ds,
            env: env()?,
            names,
            kinds,
            dataset: ds.manifest.name.clone(),
        })
    }

    fn common(&self, root: &'static str) -> minijinja::Value {
        // The relative path to the site's root ("", "../"): ours, so not escaped.
        let root = minijinja::Value::from_safe_string(root.to_string());
        context! { root => root, kinds => &self.kinds, dataset => &self.dataset }
    }

    /// The kinds on the site.
    pub fn kinds(&self) -> impl Iterator<Item = Kind> + '_ {
        self.names.iter().map(|(k, _)| *k)
    }

    /// The item a page file names (`task_struct.html` → `task_struct`), if there is one.
    pub fn item_of_file(&self, kind: Kind, file: &str) -> Option<&str> {
        let (_, names) = self.names.iter().find(|(k, _)| *k == kind)?;
        if !has_pages(kind) {
            return None;
        }
        names
            .iter()
            .find(|n| file_name(n) == file)
            .map(String::as_str)
    }

    /// The page of one dependency.
    pub fn report(&self, kind: Kind, name: &str) -> Result<String, SiteError> {
        report_page(self.ds, &self.env, kind, name, &self.common("../"))
    }

    /// A kind's index pages: (file name, HTML).
    pub fn index_pages(&self, kind: Kind) -> Result<Vec<(String, String)>, SiteError> {
        let Some((_, names)) = self.names.iter().find(|(k, _)| *k == kind) else {
            return Ok(Vec::new());
        };
        let ix = index::build(self.ds, kind, None)?;
        let mut groups: Vec<(String, usize)> = Vec::new();
        for c in &ix.columns {
            match groups.last_mut() {
                Some((g, n)) if *g == c.group => *n += 1,
                _ => groups.push((c.group.clone(), 1)),
            }
        }
        let groups: Vec<minijinja::Value> = groups
            .iter()
            .map(|(g, n)| context! { name => g, span => n })
            .collect();
        let columns: Vec<&str> = ix.columns.iter().map(|c| c.label.as_str()).collect();
        let chunks: Vec<&[index::Row]> = ix.rows.chunks(ROWS_PER_PAGE).collect();
        let n_pages = chunks.len().max(1);
        let page_file = |i: usize| {
            if i == 0 {
                "index.html".to_string()
            } else {
                format!("index-{}.html", i + 1)
            }
        };
        let mut out = Vec::with_capacity(n_pages);
        for i in 0..n_pages {
            let rows: Vec<minijinja::Value> = chunks
                .get(i)
                .copied()
                .unwrap_or(&[])
                .iter()
                .map(|r| {
                    let file = has_pages(kind).then(|| file_name(&r.name));
                    context! { name => r.name, file => file, cells => r.cells }
                })
                .collect();
            let pages: Vec<minijinja::Value> = (0..n_pages)
                .map(|j| {
                    let first = chunks
                        .get(j)
                        .and_then(|c| c.first())
                        .map_or("", |r| r.name.as_str());
                    context! { file => page_file(j), label => format!("{} {}", j + 1, first), current => i == j }
                })
                .collect();
            let html = self.env.get_template("index.html")?.render(context! {
                title => format!("{} ({})", plural(kind), names.len()),
                count => names.len(),
                groups => groups,
                columns => columns,
                rows => rows,
                pages => pages,
                ..self.common("../")
            })?;
            out.push((page_file(i), html));
        }
        Ok(out)
    }

    pub fn home(&self) -> Result<String, SiteError> {
        self.home_with(&[])
    }

    /// The home page, listing program check reports (file, name).
    pub fn home_with(&self, programs: &[(String, String)]) -> Result<String, SiteError> {
        let programs: Vec<minijinja::Value> = programs
            .iter()
            .map(|(file, name)| context! { file => file, name => name })
            .collect();
        Ok(self.env.get_template("home.html")?.render(context! {
            images => self.ds.images().iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
            programs => programs,
            ..self.common("")
        })?)
    }

    /// The report of a program check: verdicts with their reasons, then per group the
    /// matrix of dependencies and images.
    /// Where a kernel was booted (`booted`, from `depsurf verify`), the verdict rows' cells
    /// carry ✓ (the kernel did as predicted) or ✗ (it did not) and what it did.
    pub fn check_page(
        &self,
        chk: &depsurf_check::ObjectCheck,
        booted: &Booted,
    ) -> Result<String, SiteError> {
        use depsurf_check::render;
        let booted_at =
            |row: &str, image: &str| booted.0.get(&(row.to_string(), image.to_string()));
        let verdicts: Vec<minijinja::Value> = chk
            .verdicts
            .iter()
            .map(|v| {
                let problems: Vec<minijinja::Value> = chk
                    .rows
                    .iter()
                    .filter_map(|r| {
                        let c = r.cells.get(&v.image)?;
                        let k = c.consequence?;
                        Some(context! {
                            consequence => depsurf_check::consequence_name(k),
                            kind => r.kind, label => r.label, detail => c.detail,
                        })
                    })
                    .collect();
                let b = booted_at("object", &v.image);
                context! {
                    image => v.image, verdict => v.verdict, problems => problems,
                    booted => b.map(|b| context! {
                        outcome => b.outcome, mark => b.mark(), detail => b.detail,
                    }),
                }
            })
            .collect();
        let groups: Vec<minijinja::Value> = render::pages(self.ds, chk)
            .into_iter()
            .map(|(group, cols)| {
                let mut rows: Vec<minijinja::Value> = chk
                    .rows
                    .iter()
                    .map(|r| {
                        let cells: Vec<minijinja::Value> = cols
                            .iter()
                            .map(|(id, _)| {
                                let c = r.cells.get(id);
                                context! {
                                    symbol => c.map(render::symbol).unwrap_or(""),
                                    detail => c.map(|c| c.detail.clone()).unwrap_or_default(),
                                }
                            })
                            .collect();
                        context! { kind => r.kind, label => r.label, cells => cells }
                    })
                    .collect();
                // Then the object's verdict and each program's, one row each.
                for (name, vs) in render::verdict_rows(chk) {
                    let cells: Vec<minijinja::Value> = cols
                        .iter()
                        .map(|(id, _)| {
                            let v = vs.iter().find(|v| &v.image == id);
                            let symbol = v.map(render::verdict_symbol).unwrap_or("");
                            let detail = v.map(|v| v.verdict.clone()).unwrap_or_default();
                            match booted_at(&name, id) {
                                Some(b) => context! {
                                    symbol => format!("{symbol}{}", b.mark()),
                                    detail => format!("{detail}; booted: {}", b.detail),
                                },
                                None => context! { symbol => symbol, detail => detail },
                            }
                        })
                        .collect();
                    let object = name == "object";
                    rows.push(context! {
                        kind => if object { "verdict" } else { "program" },
                        label => if object { "(object)".to_string() } else { name },
                        cells => cells,
                    });
                }
                let columns: Vec<&str> = cols.iter().map(|(_, l)| l.as_str()).collect();
                context! { name => group, columns => columns, rows => rows }
            })
            .collect();
        let programs: Vec<String> = chk
            .programs
            .iter()
            .map(|p| format!("{} ({})", p.program.name, p.program.section))
            .collect();
        Ok(self.env.get_template("check.html")?.render(context! {
            object => chk.object, programs => programs, verdicts => verdicts,
            groups => groups, legend => render::LEGEND, verified => !booted.0.is_empty(),
            ..self.common("../")
        })?)
    }

    /// The dataset page, with the summary (HTML) when given.
    pub fn dataset_page(&self, summary_html: Option<&str>) -> Result<String, SiteError> {
        let images: Vec<minijinja::Value> = self
            .ds
            .images()
            .iter()
            .map(|m| {
                context! {
                    id => m.id, arch => m.arch, version => m.package_version,
                    packages => m.packages, sources => m.sources,
                }
            })
            .collect();
        let groups: Vec<minijinja::Value> = self
            .ds
            .manifest
            .groups
            .iter()
            .map(|g| {
                let labels: Vec<&str> = g
                    .reference
                    .iter()
                    .chain(&g.images)
                    .map(|l| l.label.as_str())
                    .collect();
                context! { name => g.name, labels => labels.join(", "), report => g.report }
            })
            .collect();
        Ok(self.env.get_template("dataset.html")?.render(context! {
            images => images, groups => groups, summary => summary_html, ..self.common("")
        })?)
    }

    pub fn search_page(&self) -> Result<String, SiteError> {
        Ok(self
            .env
            .get_template("search.html")?
            .render(self.common(""))?)
    }

    /// Every (kind, name, page path from the site root).
    pub fn entries(&self) -> Vec<(&'static str, &str, String)> {
        let mut v = Vec::new();
        for (k, names) in &self.names {
            for n in names {
                let path = if has_pages(*k) {
                    format!("{}/{}", k.as_str(), file_name(n))
                } else {
                    format!("{}/index.html", k.as_str())
                };
                v.push((k.as_str(), n.as_str(), path));
            }
        }
        v
    }

    /// Names matching `q` (case-insensitive): exact first, then prefixes, then substrings.
    pub fn search(&self, q: &str, limit: usize) -> Vec<(&'static str, &str, String)> {
        let q = q.to_lowercase();
        let mut scored: Vec<(u8, (&'static str, &str, String))> = self
            .entries()
            .into_iter()
            .filter_map(|e| {
                let n = e.1.to_lowercase();
                let rank = if n == q {
                    0
                } else if n.starts_with(&q) {
                    1
                } else if n.contains(&q) {
                    2
                } else {
                    return None;
                };
                Some((rank, e))
            })
            .collect();
        scored.sort_by_key(|(r, _)| *r);
        scored.into_iter().take(limit).map(|(_, e)| e).collect()
    }

    /// `search-index.js`: the entries as a script, so search works from `file://`.
    pub fn search_index_js(&self) -> String {
        let entries: Vec<serde_json::Value> = self
            .entries()
            .into_iter()
            .map(|(k, n, p)| serde_json::json!([k, n, p]))
            .collect();
        format!(
            "window.DEPSURF_INDEX = {};\n",
            serde_json::to_string(&entries).unwrap_or_else(|_| "[]".into())
        )
    }

    /// Writes every page into `out`. `summary_html`, when given, is the dataset's summary
    /// for the dataset page, with `summary_svg` beside it.
    pub fn write(
        &self,
        out: &Path,
        summary_html: Option<&str>,
        summary_svg: Option<&str>,
        checks: &[CheckedObject],
    ) -> Result<Written, SiteError> {
        let mut w = Written::default();
        let mut programs = Vec::new();
        for (i, c) in checks.iter().enumerate() {
            let file = format!("checks/{}.html", i + 1);
            write(out, &file, &self.check_page(&c.check, &c.booted)?, &mut w)?;
            programs.push((file, c.check.object.clone()));
        }
        for (k, names) in &self.names {
            if !has_pages(*k) {
                continue;
            }
            // Each page is written by the thread that rendered it, so that writing overlaps
            // rendering.
            let written = names
                .par_iter()
                .map(|n| {
                    let html = self.report(*k, n)?;
                    let mut one = Written::default();
                    write(
                        out,
                        &format!("{}/{}", k.as_str(), file_name(n)),
                        &html,
                        &mut one,
                    )?;
                    Ok::<_, SiteError>(one)
                })
                .try_reduce(Written::default, |a, b| {
                    Ok(Written {
                        pages: a.pages + b.pages,
                        bytes: a.bytes + b.bytes,
                    })
                })?;
            w.pages += written.pages;
            w.bytes += written.bytes;
        }
        for k in self.kinds() {
            for (file, html) in self.index_pages(k)? {
                write(out, &format!("{}/{file}", k.as_str()), &html, &mut w)?;
            }
        }
        write(out, "index.html", &self.home_with(&programs)?, &mut w)?;
        write(
            out,
            "dataset.html",
            &self.dataset_page(summary_html)?,
            &mut w,
        )?;
        if let Some(svg) = summary_svg {
            write(out, "summary-functions.svg", svg, &mut w)?;
        }
        write(out, "search.html", &self.search_page()?, &mut w)?;
        write(out, "search-index.js", &self.search_index_js(), &mut w)?;
        write(out, "search.js", SEARCH_JS, &mut w)?;
        write(out, "style.css", STYLE, &mut w)?;
        Ok(w)
    }
}

/// Writes the site of `ds` into `out`, for `kinds` (every kind when empty).
pub fn build(
    ds: &Dataset,
    out: &Path,
    kinds: &[Kind],
    summary_html: Option<&str>,
    summary_svg: Option<&str>,
    checks: &[CheckedObject],
) -> Result<Written, SiteError> {
    Site::new(ds, kinds)?.write(out, summary_html, summary_svg, checks)
}

fn plural(k: Kind) -> String {
    match k {
        Kind::Func => "Functions".into(),
        Kind::Lsm => "LSM hooks".into(),
        Kind::Kfunc => "kfuncs".into(),
        Kind::Var => "Variables".into(),
        Kind::Config => "Config options".into(),
        k => format!("{}s", k.title()),
    }
}

/// Markdown tables (as the summary writes them) as HTML tables, headings as headings.
pub fn markdown_tables_to_html(md: &str) -> String {
    let esc = escape;
    let mut o = String::new();
    let mut in_table = false;
    for line in md.lines() {
        let t = line.trim();
        if t.starts_with('|') {
            let cells: Vec<&str> = t.trim_matches('|').split('|').map(str::trim).collect();
            if cells
                .iter()
                .all(|c| c.chars().all(|x| matches!(x, '-' | ':')))
            {
                continue;
            }
            if !in_table {
                o.push_str("<div class=\"table-wrap\"><table>\n");
                in_table = true;
                o.push_str("<tr>");
                for c in &cells {
                    o.push_str(&format!("<th scope=\"col\">{}</th>", esc(c)));
                }
                o.push_str("</tr>\n");
                continue;
            }
            o.push_str("<tr>");
            for c in &cells {
                o.push_str(&format!("<td>{}</td>", esc(c)));
            }
            o.push_str("</tr>\n");
        } else {
            if in_table {
                o.push_str("</table></div>\n");
                in_table = false;
            }
            if let Some(h) = t.strip_prefix("## ") {
                o.push_str(&format!("<h3>{}</h3>\n", esc(h)));
            }
        }
    }
    if in_table {
        o.push_str("</table></div>\n");
    }
    o
}
