//! `depsurf`: the command line.

mod check_cmd;
mod compare_cmd;
mod data_cmd;
mod dataset_cmd;
mod diff_cmd;
mod fetch;
mod funcs_cmd;
mod helper_probe;
mod inspect;
mod output;
mod progress;
mod report_cmd;
mod serve_cmd;
mod site_cmd;
mod summary_cmd;
mod verify_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "depsurf",
    version,
    about = "Map the dependency surface of Linux kernels for eBPF programs",
    long_about = "depsurf reads kernel images (Debian/Ubuntu packages, vmlinux, vmlinuz, raw BTF) \
                  and tells what an eBPF program can depend on in them and how it changes."
)]
struct Cli {
    /// No progress bars or informational messages.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Show what kernel inputs are and hold: identity, sources, sizes, BTF kinds.
    Inspect(inspect::InspectArgs),
    /// Work with an image's BTF.
    #[command(subcommand)]
    Btf(BtfCmd),
    /// Download Debian/Ubuntu kernel packages with apt-get into a cache.
    Fetch(fetch::FetchArgs),
    /// Extract the surfaces of kernel images into a dataset.
    Extract(dataset_cmd::ExtractArgs),
    /// The report of one dependency across a dataset's images (seed format, or JSON).
    Report(report_cmd::ReportArgs),
    /// List the dependencies of a kind, or print the kind's index page.
    List(report_cmd::ListArgs),
    /// Show a dataset: images, provenance, groups.
    Dataset(dataset_cmd::ShowArgs),
    /// Write a dataset in the research system's layout.
    Export(dataset_cmd::ExportArgs),
    /// Read a dataset in the research system's layout into a depsurf dataset.
    Import(dataset_cmd::ImportArgs),
    /// Compare the types an image's BTF describes with those its DWARF describes.
    CompareTypes(compare_cmd::CompareArgs),
    /// Function status from an image's DWARF: class counts, or named functions in full.
    Funcs(funcs_cmd::FuncsArgs),
    /// Tracepoints of an image, read from its data (class, struct, function, format).
    Tracepoints(data_cmd::DataArgs),
    /// System call tables of an image, read from its data: number and name.
    Syscalls(data_cmd::DataArgs),
    /// Compare two images of a dataset, kind by kind: added, removed and changed items, and
    /// how many have each change.
    Diff(diff_cmd::DiffArgs),
    /// The study's tables for a whole dataset: changes per group pair and kind, change
    /// names, differences across arches and flavours, function statistics (Markdown, CSV,
    /// SVG).
    Summary(summary_cmd::SummaryArgs),
    /// Write a dataset as a static website: a page per dependency, index pages, the dataset
    /// page, search.
    Site(site_cmd::SiteArgs),
    /// Serve the website and a JSON API (/api/<kind>/<name>, /api/search?q=) on loopback.
    Serve(serve_cmd::ServeArgs),
    /// Check eBPF programs against every kernel of a dataset: where they fail to load,
    /// read the wrong data, or miss events, and why.
    Check(check_cmd::CheckArgs),
    /// Boot the dataset's kernels under QEMU, load eBPF programs in them with libbpf, and
    /// compare what happened with what `check` predicts.
    Verify(verify_cmd::VerifyArgs),
}

#[derive(Subcommand)]
enum BtfCmd {
    /// Print an image's BTF in the format of `bpftool btf dump file X` (raw).
    Dump(BtfDumpArgs),
    /// Write an image's BTF as a raw blob (what /sys/kernel/btf/vmlinux holds).
    Extract(BtfExtractArgs),
}

#[derive(Args)]
struct BtfExtractArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Where to write the blob (written to a temporary file, then renamed).
    #[arg(long, short, value_name = "FILE")]
    output: PathBuf,
}

/// Inputs that together describe one kernel.
#[derive(Args)]
pub struct InputArgs {
    /// Packages (.deb/.ddeb), vmlinux, vmlinuz, raw BTF, System.map, config, or directories.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Base BTF for split BTF (a kernel module): a vmlinux, package or raw BTF.
    #[arg(long, short = 'B', value_name = "BASE")]
    pub base: Option<PathBuf>,
    /// Directory for temporary files when unpacking large package members.
    #[arg(long, value_name = "DIR", env = "DEPSURF_TMPDIR")]
    pub tmpdir: Option<PathBuf>,
}

#[derive(Args)]
struct BtfDumpArgs {
    #[command(flatten)]
    input: InputArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Inspect(a) => inspect::run(&a, cli.quiet),
        Cmd::Btf(BtfCmd::Dump(a)) => inspect::btf_dump(&a.input, cli.quiet),
        Cmd::Btf(BtfCmd::Extract(a)) => inspect::btf_extract(&a.input, &a.output, cli.quiet),
        Cmd::Fetch(a) => fetch::run(&a, cli.quiet),
        Cmd::Extract(a) => dataset_cmd::extract(&a, cli.quiet),
        Cmd::Report(a) => report_cmd::report(&a),
        Cmd::List(a) => report_cmd::list(&a),
        Cmd::Dataset(a) => dataset_cmd::show(&a),
        Cmd::Export(a) => dataset_cmd::export(&a, cli.quiet),
        Cmd::Import(a) => dataset_cmd::import(&a, cli.quiet),
        Cmd::CompareTypes(a) => compare_cmd::run(&a, cli.quiet),
        Cmd::Funcs(a) => funcs_cmd::run(&a, cli.quiet),
        Cmd::Tracepoints(a) => data_cmd::tracepoints(&a, cli.quiet),
        Cmd::Syscalls(a) => data_cmd::syscalls(&a, cli.quiet),
        Cmd::Check(a) => check_cmd::run(&a),
        Cmd::Verify(a) => verify_cmd::run(&a, cli.quiet),
        Cmd::Diff(a) => diff_cmd::run(&a),
        Cmd::Summary(a) => summary_cmd::run(&a),
        Cmd::Site(a) => site_cmd::run(&a, cli.quiet),
        Cmd::Serve(a) => serve_cmd::run(&a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("depsurf: {e:#}");
            ExitCode::from(2)
        }
    }
}
