//! Finding — and, unless told otherwise, building — the `gatehouse` binary under test.
//!
//! `cargo test` releases the target directory's lock before it runs test binaries, so a test can
//! run `cargo build` itself: the first fixture that needs the binary builds it once per test
//! binary, and the tests never run against a stale gateway. Set `GATEHOUSE_BIN` to test a given
//! binary instead, or `GATEHOUSE_SKIP_BUILD=1` to use whatever `target/<profile>/gatehouse` holds.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::workspace_root;

/// Which cargo profile's binary to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Debug,
    Release,
}

/// The debug build, as the tests use it.
pub fn gatehouse_binary() -> &'static Path {
    static DEBUG: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    resolve(&DEBUG, Profile::Debug)
}

/// The release build, as the benchmark uses it.
pub fn gatehouse_release_binary() -> &'static Path {
    static RELEASE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    resolve(&RELEASE, Profile::Release)
}

fn resolve(cell: &'static OnceLock<Result<PathBuf, String>>, profile: Profile) -> &'static Path {
    match cell.get_or_init(|| locate(profile)) {
        Ok(path) => path,
        Err(msg) => panic!("{msg}"),
    }
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}

fn locate(profile: Profile) -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("GATEHOUSE_BIN") {
        let bin = PathBuf::from(bin);
        return if bin.is_file() {
            Ok(bin)
        } else {
            Err(format!("GATEHOUSE_BIN={} is not a file", bin.display()))
        };
    }
    let dir = match profile {
        Profile::Debug => "debug",
        Profile::Release => "release",
    };
    let bin = target_dir().join(dir).join("gatehouse");
    if std::env::var_os("GATEHOUSE_SKIP_BUILD").is_none() {
        build(profile)?;
    }
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "{} is missing: build it with `cargo build{} --bin gatehouse` (or run `bash scripts/test.sh`)",
            bin.display(),
            if profile == Profile::Release { " --release" } else { "" }
        ))
    }
}

/// `cargo build --bin gatehouse` in the workspace. Without `-p`, the selection is the workspace's
/// default members, so features resolve as in `cargo test` and nothing is compiled twice.
fn build(profile: Profile) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    // `cargo test` gives the test process the variables of the crate under test. Build scripts
    // that watch them (ring's watches CARGO_MANIFEST_DIR and CARGO_PKG_*) would see them changed
    // and rebuild half the dependency graph — here, and again in the next plain `cargo build`.
    for (key, _) in std::env::vars_os() {
        let key_str = key.to_string_lossy();
        let set_for_the_crate = key_str == "OUT_DIR"
            || [
                "CARGO_PKG_",
                "CARGO_BIN_",
                "CARGO_MANIFEST_",
                "CARGO_CRATE_",
            ]
            .iter()
            .any(|p| key_str.starts_with(p))
            || matches!(
                key_str.as_ref(),
                "CARGO_TARGET_TMPDIR" | "CARGO_PRIMARY_PACKAGE" | "CARGO_RUSTC_CURRENT_DIR"
            );
        if set_for_the_crate {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(workspace_root())
        .args(["build", "--bin", "gatehouse"])
        .stdin(Stdio::null());
    if profile == Profile::Release {
        cmd.arg("--release");
    }
    let out = cmd
        .output()
        .map_err(|e| format!("could not run cargo to build gatehouse: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`cargo build --bin gatehouse` failed ({}):\n{}",
            out.status,
            crate::tail(&String::from_utf8_lossy(&out.stderr), 8000)
        ))
    }
}
