//! `depsurf summary`: the study's tables for a whole dataset.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::{Args, ValueEnum};
use depsurf_report::summary;

use crate::dataset_cmd::DatasetArg;
use crate::inspect::emit;
use crate::output::write_into;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    Md,
    /// The pair table: one row per group pair and kind.
    Csv,
}

#[derive(Args)]
pub struct SummaryArgs {
    #[command(flatten)]
    pub dataset: DatasetArg,
    #[arg(long, short, value_enum, default_value_t = SummaryFormat::Md)]
    pub format: SummaryFormat,
    /// Write every form into DIR instead: summary.md, summary-pairs.csv,
    /// summary-functions.csv and summary-functions.svg.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(args: &SummaryArgs) -> Result<ExitCode> {
    let ds = args.dataset.load()?;
    let s = summary::build(&ds).map_err(|e| anyhow!(e))?;
    match &args.out {
        Some(dir) => {
            let svg = summary::funcs_svg(&s).map_err(|e| anyhow!("drawing the plot: {e}"))?;
            write_into(
                dir,
                &[
                    ("summary.md", summary::markdown(&s)),
                    ("summary-pairs.csv", summary::pairs_csv(&s)),
                    ("summary-functions.csv", summary::funcs_csv(&s)),
                    ("summary-functions.svg", svg),
                ],
            )?;
        }
        None => {
            let text = match args.format {
                SummaryFormat::Md => summary::markdown(&s),
                SummaryFormat::Csv => summary::pairs_csv(&s),
            };
            emit(text.as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
