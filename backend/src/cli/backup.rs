//! `gatehouse export` and `gatehouse import`: users and servers (with everything needed to use
//! them: credentials, TOTP secrets, host-key pins, jump chains, API keys, snippets) in one file
//! encrypted under a passphrase, to move to another gateway or keep as a portable backup. The
//! file does not depend on the gateway's master secret: credentials travel in plaintext inside
//! the encrypted payload and are re-sealed by the importing gateway's vault. See
//! docs/operations.md ("Export and import") for what is left out and why.

mod export;
mod format;
mod import;
mod payload;

use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use crate::config::Config;
use crate::crypto::Secret;

pub use export::export;
pub use import::import;

/// Shortest passphrase `export` accepts: the file may be attacked offline.
const MIN_PASSPHRASE: usize = 12;

#[derive(Args)]
pub struct ExportArgs {
    /// The file to write (mode 0600); it must not exist yet.
    #[arg(long)]
    pub out: PathBuf,
    /// Read the passphrase from this file (its first line) instead of standard input.
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
}

#[derive(Args)]
pub struct ImportArgs {
    /// A file written by `gatehouse export`.
    pub file: PathBuf,
    /// Read the passphrase from this file (its first line) instead of standard input.
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
    /// What to do when a user or server of the same name already exists: `refuse` (the default:
    /// import nothing and name every clash), `skip` (keep the existing one, import the rest) or
    /// `replace` (overwrite it with the backup's, keeping its id so references to it hold).
    #[arg(long, value_enum, default_value_t = OnConflict::Refuse)]
    pub on_conflict: OnConflict,
    /// Shorthand for `--on-conflict skip`.
    #[arg(long, conflicts_with_all = ["on_conflict", "replace"])]
    pub skip_existing: bool,
    /// Shorthand for `--on-conflict replace`.
    #[arg(long, conflicts_with = "on_conflict")]
    pub replace: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnConflict {
    Refuse,
    Skip,
    Replace,
}

impl ImportArgs {
    pub fn conflict_rule(&self) -> OnConflict {
        if self.skip_existing {
            OnConflict::Skip
        } else if self.replace {
            OnConflict::Replace
        } else {
            self.on_conflict
        }
    }
}

/// The passphrase: the first line of `file`, or of standard input. Never an argument (`ps`
/// shows those), never logged.
fn read_passphrase(file: Option<&Path>) -> anyhow::Result<Secret<String>> {
    let line = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the passphrase file {}", path.display()))?;
            text.lines().next().unwrap_or_default().to_owned()
        }
        None => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the passphrase from standard input")?;
            line
        }
    };
    let passphrase = line.trim_end_matches(['\r', '\n']).to_owned();
    if passphrase.is_empty() {
        anyhow::bail!("no passphrase: give it on standard input or with --passphrase-file");
    }
    Ok(Secret::new(passphrase))
}

pub async fn run_export(config: &Config, args: ExportArgs) -> anyhow::Result<bool> {
    let passphrase = read_passphrase(args.passphrase_file.as_deref())?;
    if passphrase.expose().chars().count() < MIN_PASSPHRASE {
        anyhow::bail!("the passphrase must be at least {MIN_PASSPHRASE} characters long");
    }
    export(config, &args.out, &passphrase).await.map(|()| true)
}

pub async fn run_import(config: &Config, args: ImportArgs) -> anyhow::Result<bool> {
    let passphrase = read_passphrase(args.passphrase_file.as_deref())?;
    import(config, &args.file, &passphrase, args.conflict_rule())
        .await
        .map(|()| true)
}
