//! The `moderation` command.
//!
//! `moderation score` reads posts as JSON lines and writes one verdict per
//! line, in order; `moderation rules check` validates rule files.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use moderation_core::{Engine, Post};

mod cli;

/// Forum moderation engine: scores posts for spam, scams, misinformation and
/// leaked secrets, and explains every verdict.
#[derive(Parser)]
#[command(name = "moderation", version, about, long_about = None)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Score posts: JSON lines on standard input, one verdict per line on
    /// standard output, in order. A malformed line yields an error object
    /// with its line number, and processing continues.
    Score {
        /// Extra rule files, layered in order on the default pack.
        #[arg(long = "rules", value_name = "FILE")]
        rules: Vec<PathBuf>,
        /// Leave out the built-in default rule pack.
        #[arg(long)]
        no_default_rules: bool,
        /// Read posts from this file instead of standard input.
        #[arg(long, value_name = "FILE")]
        input: Option<PathBuf>,
    },
    /// Work with rule sets.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Validate rule files, layered on the default pack as `score` would
    /// load them. Prints one line per error (file:line: rule `id`: what).
    Check {
        /// Rule files to check.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Check the files without the default pack beneath them.
        #[arg(long)]
        no_default_rules: bool,
    },
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Score { rules, no_default_rules, input } => {
            let engine = cli::engine(&rules, no_default_rules)?;
            let stdout = std::io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            match input {
                Some(path) => {
                    let file = std::fs::File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
                    score_lines(&engine, std::io::BufReader::new(file), &mut out)?
                }
                None => score_lines(&engine, std::io::stdin().lock(), &mut out)?,
            }
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Rules { command: RulesCommand::Check { files, no_default_rules } } => {
            Ok(if cli::check(&files, no_default_rules) { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}

/// Scores each line; blank lines are skipped, bad lines become error objects.
fn score_lines(engine: &Engine, input: impl BufRead, out: &mut impl Write) -> anyhow::Result<()> {
    for (i, line) in input.split(b'\n').enumerate() {
        let line_no = i + 1;
        let bytes = line.context("cannot read input")?;
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        // Verdicts are written straight from the struct so fields keep the
        // contract's order (id, decision, scores, signals, versions).
        match Post::from_json(text) {
            Ok(post) => serde_json::to_writer(&mut *out, &engine.score(&post))?,
            Err(e) => serde_json::to_writer(&mut *out, &cli::line_error(line_no, &e))?,
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}
