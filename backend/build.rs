//! Builds the web UI and embeds it in the gateway binary, offline, so `cargo run --release` from a
//! fresh clone needs nothing else.
//!
//! 1. `cargo build -p frontend --target wasm32-unknown-unknown --release` in its own target dir
//!    (the outer build holds the lock on ours), with the outer build's flags removed;
//! 2. `wasm-bindgen` as a library (the CLI cannot be installed here) → `frontend.js` + `.wasm`;
//! 3. `npm ci` in `frontend/` when `package-lock.json` changed, then esbuild bundles the JS
//!    packages into three scripts (`vendor.js` with the page, `editor.js` and `player.js` with
//!    its `player.css` loaded on first use) and the app's CSS into one stylesheet;
//! 4. every file is gzipped and hashed, and `ui_assets.rs` in `OUT_DIR` lists them with
//!    `include_bytes!` for `src/web/assets.rs`.
//!
//! `GATEHOUSE_SKIP_FRONTEND=1` skips all of it and embeds a placeholder page (for rust-analyzer,
//! clippy and quick backend-only loops). See docs/frontend.md.

use std::env;
use std::error::Error;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use flate2::{write::GzEncoder, Compression};
use sha2::{Digest, Sha256};

type BuildResult<T = ()> = Result<T, Box<dyn Error>>;

const WASM_TARGET: &str = "wasm32-unknown-unknown";
const SKIP_ENV: &str = "GATEHOUSE_SKIP_FRONTEND";

/// Variables a build script inherits that would make the nested cargo build for the wrong target,
/// with the wrong flags (e.g. host-only `-C target-cpu`), into our locked target dir, or through
/// clippy-driver. The jobserver (`CARGO_MAKEFLAGS`) is deliberately kept: the nested cargo then
/// shares the outer build's job slots instead of oversubscribing the cores.
const CHILD_ENV_REMOVED: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_BUILD_TARGET",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_PRIMARY_PACKAGE",
];

fn main() {
    if let Err(err) = run() {
        eprintln!("\nerror: building the Gatehouse web UI failed: {err}");
        eprintln!("hint: set {SKIP_ENV}=1 to build the gateway with a placeholder page instead.");
        std::process::exit(1);
    }
}

fn run() -> BuildResult {
    println!("cargo:rerun-if-env-changed={SKIP_ENV}");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let dist = out_dir.join("ui");
    if dist.exists() {
        fs::remove_dir_all(&dist)?;
    }
    fs::create_dir_all(dist.join("assets"))?;

    if env::var_os(SKIP_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
        fs::write(dist.join("index.html"), PLACEHOLDER_PAGE)?;
        let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
        embed_api_docs(manifest_dir.parent().unwrap_or(&manifest_dir), &dist, false)?;
    } else {
        let workspace = Path::new(&env::var("CARGO_MANIFEST_DIR")?)
            .parent()
            .ok_or("backend/ has no parent directory")?
            .to_path_buf();
        emit_rerun_inputs(&workspace);
        build_ui(&workspace, &dist)?;
        embed_api_docs(&workspace, &dist, true)?;
    }

    write_manifest(&dist, &out_dir.join("ui_assets.rs"))
}

/// Everything the UI is built from. A backend-only change touches none of it, so it never reruns
/// the nested build. Directories are scanned recursively by cargo.
fn emit_rerun_inputs(workspace: &Path) {
    for input in [
        "Cargo.toml",
        "Cargo.lock",
        "frontend/Cargo.toml",
        "frontend/src",
        "frontend/index.html",
        "frontend/js",
        "frontend/style",
        "frontend/public",
        "frontend/package.json",
        "frontend/package-lock.json",
        "wire/Cargo.toml",
        "wire/src",
    ] {
        println!("cargo:rerun-if-changed={}", workspace.join(input).display());
    }
}

fn build_ui(workspace: &Path, dist: &Path) -> BuildResult {
    let frontend = workspace.join("frontend");
    let assets = dist.join("assets");

    // Our own target dir: the outer cargo holds the lock on its own for the whole build.
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"))
        .join("frontend");
    fs::create_dir_all(&target_dir)?;

    let wasm = build_wasm(workspace, &target_dir)?;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .out_name("frontend")
        .web(true)?
        // The library's default differs from the CLI's: without the default path, `init()` with
        // no argument fails with "Argument 0 must be a buffer source".
        .omit_default_module_path(false)
        .typescript(false)
        .remove_name_section(true)
        .remove_producers_section(true)
        .generate(&assets)
        .map_err(|e| format!("wasm-bindgen: {e:#}"))?;

    npm_ci(&frontend, &target_dir.join("npm-install.lock"))?;
    let esbuild = frontend.join("node_modules/.bin/esbuild");
    // Each script bundle is one IIFE defining one global the wasm binds by name: the vendor
    // bundle loads with the page (index.html); the editor bundle (CodeMirror) only when a file
    // is first opened for editing, the player bundle (asciinema-player) only when a recording is
    // first played (src/lazy.rs injects them). CSS a bundle imports (the player's) lands beside
    // it (`assets/player.css`) and is injected with it.
    for (entry, global) in [
        ("vendor.js", "GatehouseVendor"),
        ("editor.js", "GatehouseEditor"),
        ("player.js", "GatehousePlayer"),
    ] {
        run_quiet(
            Command::new(&esbuild)
                .current_dir(&frontend)
                .arg(format!("js/{entry}"))
                .arg("--bundle")
                .arg("--minify")
                .arg("--format=iife")
                .arg(format!("--global-name={global}"))
                .arg("--target=es2020")
                .arg("--log-level=warning")
                .arg(format!("--outfile={}", assets.join(entry).display())),
            &format!("esbuild (js/{entry})"),
        )?;
    }
    run_quiet(
        Command::new(&esbuild)
            .current_dir(&frontend)
            .arg("style/app.css")
            .arg("--bundle")
            .arg("--minify")
            .arg("--log-level=warning")
            .arg(format!("--outfile={}", assets.join("app.css").display())),
        "esbuild (style/app.css)",
    )?;

    fs::copy(frontend.join("js/boot.js"), assets.join("boot.js"))?;
    copy_dir(&frontend.join("public"), &assets)?;
    fs::copy(frontend.join("index.html"), dist.join("index.html"))?;
    Ok(())
}

/// Swagger UI for `/api/docs` (`src/openapi/docs.rs`): two files of the `swagger-ui-dist` npm
/// package, as they are, under `api-docs/` (outside `assets/`: the app's pages never load them).
/// With `GATEHOUSE_SKIP_FRONTEND` they are embedded only when an earlier `npm ci` left them in
/// node_modules (no rerun is requested for files that are not there, so skipped builds stay
/// cached).
fn embed_api_docs(workspace: &Path, dist: &Path, required: bool) -> BuildResult {
    let from = workspace.join("frontend/node_modules/swagger-ui-dist");
    let to = dist.join("api-docs");
    for file in ["swagger-ui-bundle.js", "swagger-ui.css"] {
        let src = from.join(file);
        if !src.exists() && !required {
            continue;
        }
        println!("cargo:rerun-if-changed={}", src.display());
        fs::create_dir_all(&to)?;
        fs::copy(&src, to.join(file)).map_err(|e| {
            format!(
                "{}: {e} (is swagger-ui-dist in frontend/package.json?)",
                src.display()
            )
        })?;
    }
    Ok(())
}

/// Runs the nested cargo build and returns the path of the produced `.wasm`.
fn build_wasm(workspace: &Path, target_dir: &Path) -> BuildResult<PathBuf> {
    ensure_wasm_target()?;
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args([
            "build",
            "-p",
            "frontend",
            "--lib",
            "--release",
            "--target",
            WASM_TARGET,
        ])
        .arg("--target-dir")
        .arg(target_dir)
        .arg("--color=never");
    for var in CHILD_ENV_REMOVED {
        cmd.env_remove(var);
    }
    run_quiet(&mut cmd, "cargo build -p frontend")?;
    Ok(target_dir.join(WASM_TARGET).join("release/frontend.wasm"))
}

/// Installs the wasm32 target when the toolchain lacks it (rustup's auto-install is usually off).
fn ensure_wasm_target() -> BuildResult {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(rustc).args(["--print", "sysroot"]).output()?;
    let sysroot = String::from_utf8(sysroot.stdout)?;
    let target_lib = Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(WASM_TARGET);
    if target_lib.is_dir() {
        return Ok(());
    }
    run_quiet(
        Command::new("rustup").args(["target", "add", WASM_TARGET]),
        "rustup target add wasm32-unknown-unknown",
    )
}

/// `npm ci` only when `package-lock.json` differs from the one last installed. The stamp lives in
/// node_modules so deleting node_modules reinstalls. A file lock (in the target dir: `npm ci`
/// empties node_modules first) keeps two concurrent builds (say
/// `cargo build` and `cargo clippy`) from installing into the same directory at once.
fn npm_ci(frontend: &Path, lock_file: &Path) -> BuildResult {
    let lock = fs::read(frontend.join("package-lock.json"))?;
    let wanted = hex(&Sha256::digest(&lock));
    let stamp = frontend.join("node_modules/.gatehouse-lock.sha256");
    let _guard = FileLock::acquire(lock_file)?;
    if fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == wanted)
        && frontend.join("node_modules/.bin/esbuild").exists()
    {
        return Ok(());
    }
    // No install scripts: esbuild's JS launcher finds its platform binary package without them.
    run_quiet(
        Command::new("npm").current_dir(frontend).args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ]),
        "npm ci (in frontend/)",
    )?;
    fs::write(&stamp, wanted)?;
    Ok(())
}

/// An exclusive `flock` on a file, released when dropped (or when the process dies).
struct FileLock {
    _file: fs::File,
}

impl FileLock {
    fn acquire(path: &Path) -> BuildResult<Self> {
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            // SAFETY: flock on a descriptor we own; it blocks until the lock is free.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
                return Err(format!(
                    "locking {}: {}",
                    path.display(),
                    std::io::Error::last_os_error()
                )
                .into());
            }
        }
        Ok(FileLock { _file: file })
    }
}

/// Runs a command with its output captured: silent on success, shown in full on failure.
fn run_quiet(cmd: &mut Command, what: &str) -> BuildResult {
    let output = cmd
        .output()
        .map_err(|e| format!("{what}: could not start {:?}: {e}", cmd.get_program()))?;
    if !output.status.success() {
        let mut msg = format!("{what} failed ({})", output.status);
        for stream in [&output.stdout, &output.stderr] {
            let text = String::from_utf8_lossy(stream);
            if !text.trim().is_empty() {
                msg.push('\n');
                msg.push_str(text.trim_end());
            }
        }
        return Err(msg.into());
    }
    Ok(())
}

/// Writes `ui_assets.rs`: one `Asset` literal per file under `dist`, with a gzip twin when it
/// saves anything and a strong ETag from the content hash.
fn write_manifest(dist: &Path, manifest: &Path) -> BuildResult {
    let gz_dir = dist.with_file_name("ui-gz");
    if gz_dir.exists() {
        fs::remove_dir_all(&gz_dir)?;
    }
    let mut files = Vec::new();
    collect_files(dist, &mut files)?;
    files.sort();

    let mut out = String::from("&[\n");
    for file in files {
        let rel = file
            .strip_prefix(dist)?
            .to_str()
            .ok_or("non-UTF-8 asset path")?
            .replace('\\', "/");
        let body = fs::read(&file)?;
        let etag = hex(&Sha256::digest(&body)[..16]);
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(&body)?;
        let gz = gz.finish()?;
        let gzip = if gz.len() < body.len() {
            let gz_path = gz_dir.join(format!("{rel}.gz"));
            fs::create_dir_all(gz_path.parent().ok_or("asset without parent")?)?;
            fs::write(&gz_path, gz)?;
            format!(
                "Some(include_bytes!({:?}))",
                gz_path.to_str().ok_or("non-UTF-8 path")?
            )
        } else {
            "None".to_owned()
        };
        writeln!(
            out,
            "    Asset {{ path: {rel:?}, content_type: {:?}, etag: {:?}, body: include_bytes!({:?}), gzip: {gzip} }},",
            content_type(&rel),
            format!("\"{etag}\""),
            file.to_str().ok_or("non-UTF-8 path")?,
        )?;
    }
    out.push_str("]\n");
    fs::write(manifest, out)?;
    Ok(())
}

/// Copies static files (icons, …) as they are.
fn copy_dir(from: &Path, to: &Path) -> BuildResult {
    if !from.is_dir() {
        return Ok(());
    }
    for entry in fs::read_dir(from)? {
        let path = entry?.path();
        let target = to.join(path.file_name().ok_or("file without a name")?);
        if path.is_dir() {
            fs::create_dir_all(&target)?;
            copy_dir(&path, &target)?;
        } else {
            fs::copy(&path, &target)?;
        }
    }
    Ok(())
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> BuildResult {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

const PLACEHOLDER_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><base href="/"><title>Gatehouse</title></head>
<body>
<h1>Gatehouse</h1>
<p>This binary was built with <code>GATEHOUSE_SKIP_FRONTEND=1</code>, so the web UI is not included.
The REST API under <code>/api/</code> works as usual. Rebuild without the variable to get the UI.</p>
</body>
</html>
"#;
