//! A small tmpfs mounted inside a scratch directory: a disk that really fills up, so a test can
//! watch the gateway meet `ENOSPC` without filling the machine's own disk.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::remote_dir::give_to_user;
use crate::process::run;

/// A tmpfs of a fixed size on a directory, its root owned by the SSH test user; unmounted
/// (lazily, so a file still open on the server cannot keep it) on drop, panicking or not.
pub struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Mount a tmpfs of `bytes` on the existing empty directory `path`.
    pub fn mount(path: &Path, bytes: u64) -> Tmpfs {
        run(Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={bytes},mode=0755"))
            .arg("gatehouse-test-tmpfs")
            .arg(path));
        let tmpfs = Tmpfs {
            path: path.to_path_buf(),
        };
        give_to_user(&tmpfs.path);
        tmpfs
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes an unprivileged user may still write, as `statvfs` says (what the gateway asks).
    pub fn free_bytes(&self) -> u64 {
        let path = CString::new(self.path.as_os_str().as_bytes()).expect("no NUL in the path");
        // SAFETY: a NUL-terminated path, and a plain-data struct for statvfs to fill.
        let (rc, stat) = unsafe {
            let mut stat: libc::statvfs = std::mem::zeroed();
            (libc::statvfs(path.as_ptr(), &mut stat), stat)
        };
        assert_eq!(rc, 0, "statvfs {}", self.path.display());
        stat.f_bavail * stat.f_frsize
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let status = Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .stdin(Stdio::null())
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("umount -l {}: {status:?}", self.path.display());
        }
    }
}
