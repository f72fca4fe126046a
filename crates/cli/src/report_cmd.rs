//! `depsurf report` and `depsurf list`.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::{Args, ValueEnum};
use depsurf_report::term::TermOptions;
use depsurf_surface::Kind;

use crate::dataset_cmd::DatasetArg;
use crate::inspect::emit;

/// `s` as one of `kinds`, or a message listing them.
fn kind_among(s: &str, kinds: &[Kind]) -> Result<Kind, String> {
    match Kind::parse(s) {
        Some(k) if kinds.contains(&k) => Ok(k),
        _ => Err(format!(
            "unknown kind {s:?}; one of: {}",
            kinds
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Any kind (`report`, `list`).
fn parse_kind(s: &str) -> Result<Kind, String> {
    kind_among(s, &Kind::ALL)
}

/// A kind whose items stand on their own (`diff --kind`, `site --kind`).
pub fn parse_item_kind(s: &str) -> Result<Kind, String> {
    kind_among(s, &Kind::ITEMS)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// The research system's page, byte for byte (the default when piped).
    Md,
    /// A compact, coloured view for a person (the default on a terminal).
    Term,
    /// JSON (docs/report-schema.md).
    Json,
}

#[derive(Args)]
pub struct ReportArgs {
    /// struct, union, field, enum, func, lsm, kfunc, config.
    #[arg(value_parser = parse_kind)]
    pub kind: Kind,
    /// The dependency: `task_struct`, `task_struct::__state`, `vfs_read`, `CONFIG_BPF`.
    pub name: String,
    #[command(flatten)]
    pub dataset: DatasetArg,
    /// `term` on a terminal, `md` otherwise.
    #[arg(long, short, value_enum)]
    pub format: Option<ReportFormat>,
    /// The terminal view shows every image's definition, not only the default image's.
    #[arg(long)]
    pub full: bool,
    /// Print the terminal view straight to standard output, without a pager.
    #[arg(long)]
    pub no_pager: bool,
}

pub fn report(args: &ReportArgs) -> Result<ExitCode> {
    let ds = args.dataset.load()?;
    let r = depsurf_report::build(&ds, args.kind, &args.name).map_err(|e| anyhow!(e))?;
    let tty = std::io::stdout().is_terminal();
    let format = args.format.unwrap_or(if tty {
        ReportFormat::Term
    } else {
        ReportFormat::Md
    });
    let text = match format {
        ReportFormat::Md => depsurf_report::markdown(&r),
        ReportFormat::Term => depsurf_report::term::render(
            &r,
            &TermOptions {
                color: tty && std::env::var_os("NO_COLOR").is_none(),
                width: crate::output::term_width(),
                full: args.full,
                default: ds.manifest.default.clone(),
            },
        ),
        ReportFormat::Json => {
            let mut s = serde_json::to_string_pretty(&r)?;
            s.push('\n');
            s
        }
    };
    if format == ReportFormat::Term && tty && !args.no_pager {
        crate::output::page(&text)?;
    } else {
        emit(text.as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Names, one per line.
    Text,
    /// The index page: a table with one column per image and status symbols.
    Md,
    Json,
}

#[derive(Args)]
pub struct ListArgs {
    #[arg(value_parser = parse_kind)]
    pub kind: Kind,
    /// A glob (`task_*`) or a substring to match names against.
    pub pattern: Option<String>,
    #[command(flatten)]
    pub dataset: DatasetArg,
    #[arg(long, short, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

pub fn list(args: &ListArgs) -> Result<ExitCode> {
    let ds = args.dataset.load()?;
    // Names of a kind some images cannot list are not all there are: say so (the index
    // pages mark those images' cells unknown).
    let unknown = ds.unknown_in(args.kind);
    if !unknown.is_empty() {
        let mut some = unknown
            .iter()
            .take(3)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        if unknown.len() > 3 {
            some.push_str(&format!(" and {} more", unknown.len() - 3));
        }
        eprintln!(
            "depsurf: note: {}s are unknown in {} of {} images ({some}): their inputs did not \
             list them, so the names below are only those known",
            args.kind.as_str(),
            unknown.len(),
            ds.images().len()
        );
    }
    let text = match args.format {
        ListFormat::Text => {
            let names = depsurf_report::suggest::all_names(&ds, args.kind)?;
            names
                .into_iter()
                .filter(|n| {
                    args.pattern
                        .as_deref()
                        .is_none_or(|p| depsurf_report::index::matches(p, n))
                })
                .map(|n| n + "\n")
                .collect()
        }
        ListFormat::Md => {
            let ix = depsurf_report::index::build(&ds, args.kind, args.pattern.as_deref())?;
            depsurf_report::index::markdown(&ix)
        }
        ListFormat::Json => {
            let ix = depsurf_report::index::build(&ds, args.kind, args.pattern.as_deref())?;
            let mut s = serde_json::to_string_pretty(&ix)?;
            s.push('\n');
            s
        }
    };
    emit(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
