//! The files rows of the bench: download, upload, folder ZIP and server-to-server copy through
//! the gateway, against OpenSSH's `sftp` get / put of the same bytes in the same run, with the
//! gateway's peak RSS growth (VmHWM, reset before each transfer) beside every figure.

use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures::StreamExt;
use gatehouse_tests::files::{copy_events, give_to_user, pattern_part, Files, Pattern, RemoteDir};
use gatehouse_tests::{Api, Gatehouse, Sshd};
use reqwest::Method;
use wire::files::CopyEvent;

use super::{median, mib, proc_status_kib};

pub struct Rows {
    pub mb: u64,
    pub download: (f64, f64, u64),
    pub upload: (f64, f64, u64),
    pub zip: (f64, u64),
    pub copy: (f64, u64),
}

/// A measured transfer: MB/s and the gateway's peak RSS growth during it (KiB).
async fn measured<F: std::future::Future<Output = ()>>(
    gh: &Gatehouse,
    bytes: u64,
    run: F,
) -> (f64, u64) {
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = fs::write(format!("/proc/{}/clear_refs", gh.pid()), "5");
    let before = gh.rss_kib();
    let start = Instant::now();
    run.await;
    let secs = start.elapsed().as_secs_f64();
    let peak = proc_status_kib(gh.pid(), "VmHWM:");
    (bytes as f64 / secs / 1e6, peak.saturating_sub(before))
}

fn sftp_batch(sshd: &Sshd, batch: &str) -> f64 {
    let start = Instant::now();
    let mut child = sshd
        .sftp_batch_command()
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("run sftp");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("sftp stdin");
        stdin.write_all(batch.as_bytes()).expect("sftp batch");
    }
    let status = child.wait().expect("wait for sftp");
    assert!(status.success(), "sftp batch failed: {batch}");
    start.elapsed().as_secs_f64()
}

/// Bytes of a `GET`, counted as they stream (never held: the files are GiBs).
pub async fn download(api: &Api, url: &str) -> u64 {
    let resp = api
        .request(Method::GET, url)
        .send()
        .await
        .expect("download request");
    assert_eq!(resp.status().as_u16(), 200, "download of {url}");
    let mut stream = resp.bytes_stream();
    let mut got = 0u64;
    while let Some(chunk) = stream.next().await {
        got += chunk.expect("download body").len() as u64;
    }
    got
}

async fn upload(files: &Files, dir: &str, name: &str, pattern: &Pattern, len: u64) {
    let (body, total) = pattern_part(name, pattern, len, None);
    files.upload_body(dir, true, body, total).await.expect(200);
}

async fn copy(files: &Files, source: &str, target_server: i32, target: &str) {
    let resp = files
        .copy_to(source, target_server, target, true)
        .await
        .expect(200);
    let events = copy_events(&resp);
    assert!(
        matches!(events.last(), Some(CopyEvent::Done { .. })),
        "copy ended with {:?}",
        events.last()
    );
}

pub async fn run(
    gh: &Gatehouse,
    admin: &Api,
    sshd: &Sshd,
    server: i32,
    mb: u64,
    runs: usize,
) -> Rows {
    let size = mb << 20;
    let files = Files::new(admin, server);
    let pattern = Pattern::new();
    let scratch = RemoteDir::new();
    let file = scratch.at("big.bin");
    pattern.write_file(&file, size);
    give_to_user(&file);
    let utf8 = |p: &Path| p.to_str().expect("utf-8 path").to_owned();

    eprintln!("bench: files: download {mb} MiB ({runs} runs each)");
    let url = files.url("download", &[&utf8(&file)]);
    let (mut gw, mut ssh, mut peak) = (Vec::new(), Vec::new(), 0);
    for _ in 0..runs {
        let (rate, grew) = measured(gh, size, async {
            assert_eq!(download(admin, &url).await, size);
        })
        .await;
        gw.push(rate);
        peak = peak.max(grew);
        let secs = sftp_batch(sshd, &format!("get {} /dev/null\n", file.display()));
        ssh.push(size as f64 / secs / 1e6);
    }
    let download_row = (median(gw), median(ssh), peak);

    eprintln!("bench: files: upload {mb} MiB ({runs} runs each)");
    let up = scratch.mkdir("up");
    let (mut gw, mut ssh, mut peak) = (Vec::new(), Vec::new(), 0);
    for _ in 0..runs {
        let dir = up.to_str().expect("utf-8").to_owned();
        let (rate, grew) = measured(gh, size, upload(&files, &dir, "in.bin", &pattern, size)).await;
        gw.push(rate);
        peak = peak.max(grew);
        let secs = sftp_batch(
            sshd,
            &format!("put {} {}\n", file.display(), up.join("put.bin").display()),
        );
        ssh.push(size as f64 / secs / 1e6);
    }
    pattern.check_file(&up.join("in.bin"), size);
    let upload_row = (median(gw), median(ssh), peak);

    eprintln!("bench: files: ZIP of a {mb} MiB folder");
    let folder = scratch.mkdir("folder");
    let parts = 8;
    for i in 0..parts {
        let part = folder.join(format!("part-{i}.bin"));
        pattern.write_file(&part, size / parts);
        give_to_user(&part);
    }
    let zip_url = files.url("download-zip", &[&utf8(&folder)]);
    let (zip_rate, zip_peak) = measured(gh, size, async {
        let got = download(admin, &zip_url).await;
        assert!(got >= size / parts * parts, "the ZIP is {got} bytes");
    })
    .await;

    eprintln!("bench: files: server-to-server copy of {mb} MiB");
    let other = Sshd::start();
    let target = admin
        .create_server(&other.key_server("bench-copy-target"))
        .await
        .id;
    let landing = scratch.mkdir("landing");
    let (copy_rate, copy_peak) = measured(
        gh,
        size,
        copy(
            &files,
            file.to_str().expect("utf-8"),
            target,
            landing.to_str().expect("utf-8"),
        ),
    )
    .await;
    pattern.check_file(&landing.join("big.bin"), size);

    Rows {
        mb,
        download: download_row,
        upload: upload_row,
        zip: (zip_rate, zip_peak),
        copy: (copy_rate, copy_peak),
    }
}

pub fn print(rows: &Rows) {
    let mb = rows.mb;
    let (gw, ssh, peak) = rows.download;
    println!(
        "| SFTP download over HTTP ({mb} MiB file) | {gw:.0} MB/s | {ssh:.0} MB/s (`sftp` get) | {:.0} % | ≥ 80 % |",
        100.0 * gw / ssh
    );
    let (gw_up, ssh_up, peak_up) = rows.upload;
    println!(
        "| SFTP upload over HTTP ({mb} MiB file, multipart) | {gw_up:.0} MB/s | {ssh_up:.0} MB/s (`sftp` put) | {:.0} % | ≥ 80 % |",
        100.0 * gw_up / ssh_up
    );
    let (zip, zip_peak) = rows.zip;
    println!(
        "| folder as streamed ZIP ({mb} MiB in 8 incompressible files: sniffed, stored) | {zip:.0} MB/s | {ssh:.0} MB/s (`sftp` get, one file) | {:.0} % | (context) |",
        100.0 * zip / ssh
    );
    let (copy, copy_peak) = rows.copy;
    println!(
        "| server-to-server copy ({mb} MiB file, sshd → sshd) | {copy:.0} MB/s | {ssh:.0} MB/s (`sftp` get) | {:.0} % | (context) |",
        100.0 * copy / ssh
    );
    println!(
        "| gateway peak RSS growth: download / upload / ZIP / copy | {:.1} / {:.1} / {:.1} / {:.1} MiB | | | < 64 MiB each |",
        mib(peak),
        mib(peak_up),
        mib(zip_peak),
        mib(copy_peak)
    );
}
