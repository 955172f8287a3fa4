//! The scratch directories tests work in: in the SSH test user's home and owned by that user,
//! because the sshd's internal-sftp acts as that user; checked and changed as root with `std::fs`.

use std::fs;
use std::os::unix::fs::{lchown, symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tempfile::TempDir;
use wire::files::{Entry, EntryKind};

use crate::sshd::{test_user, TEST_USER};

/// The SSH test account as the filesystem knows it.
#[derive(Debug, Clone)]
pub struct Account {
    pub uid: u32,
    pub gid: u32,
    /// The login directory, canonical (what SFTP `realpath(".")` answers).
    pub home: PathBuf,
}

/// The test account (created on first use).
pub fn account() -> &'static Account {
    static ACCOUNT: OnceLock<Account> = OnceLock::new();
    ACCOUNT.get_or_init(|| {
        test_user();
        let passwd = fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
        let fields: Vec<&str> = passwd
            .lines()
            .find(|l| l.starts_with(&format!("{TEST_USER}:")))
            .unwrap_or_else(|| panic!("{TEST_USER} is not in /etc/passwd"))
            .split(':')
            .collect();
        let home = fs::canonicalize(fields[5]).expect("the test user's home exists");
        Account {
            uid: fields[2].parse().expect("uid"),
            gid: fields[3].parse().expect("gid"),
            home,
        }
    })
}

/// Make `path` (not what a symlink points to) the test user's.
pub fn give_to_user(path: &Path) {
    let account = account();
    lchown(path, Some(account.uid), Some(account.gid))
        .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
}

/// A fresh directory in the test user's home, owned by that user, removed (as root, whatever its
/// modes) on drop. Paths handed to the API are absolute and canonical.
pub struct RemoteDir {
    _dir: TempDir,
    root: PathBuf,
}

impl Default for RemoteDir {
    fn default() -> Self {
        Self::new()
    }
}

impl RemoteDir {
    pub fn new() -> RemoteDir {
        let dir = tempfile::Builder::new()
            .prefix("gh-files-")
            .tempdir_in(&account().home)
            .expect("scratch directory in the test user's home");
        let root = fs::canonicalize(dir.path()).expect("canonical scratch path");
        give_to_user(&root);
        RemoteDir { _dir: dir, root }
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The absolute path of `rel` (`""` is the directory itself).
    pub fn at(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }

    /// The same, as the string the API takes and answers with.
    pub fn remote(&self, rel: &str) -> String {
        self.at(rel)
            .to_str()
            .expect("scratch paths are UTF-8")
            .to_string()
    }

    /// Create `rel` and its missing parents, all the user's.
    pub fn mkdir(&self, rel: &str) -> PathBuf {
        let dir = self.at(rel);
        let inside = dir
            .strip_prefix(&self.root)
            .expect("mkdir inside the scratch directory");
        let mut at = self.root.clone();
        for part in inside.components() {
            at.push(part);
            if fs::symlink_metadata(&at).is_err() {
                fs::create_dir(&at).unwrap_or_else(|e| panic!("mkdir {}: {e}", at.display()));
                give_to_user(&at);
            }
        }
        dir
    }

    /// Write a file (parents created), the user's, mode 0644.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.at(rel);
        self.mkdir_parent(&path);
        fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod 0644");
        give_to_user(&path);
        path
    }

    /// A symlink at `rel` pointing to `target` (stored as given).
    pub fn symlink(&self, target: impl AsRef<Path>, rel: &str) -> PathBuf {
        let path = self.at(rel);
        self.mkdir_parent(&path);
        symlink(target.as_ref(), &path)
            .unwrap_or_else(|e| panic!("symlink {}: {e}", path.display()));
        give_to_user(&path);
        path
    }

    fn mkdir_parent(&self, path: &Path) {
        let parent = path.parent().expect("a parent");
        if parent != self.root {
            let rel = parent.strip_prefix(&self.root).expect("inside");
            self.mkdir(rel.to_str().expect("UTF-8"));
        }
    }

    pub fn set_mode(&self, rel: &str, mode: u32) {
        let path = self.at(rel);
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
    }

    /// Hand `rel` to root, so the SFTP user is only what "other" allows.
    pub fn give_to_root(&self, rel: &str) {
        let path = self.at(rel);
        lchown(&path, Some(0), Some(0))
            .unwrap_or_else(|e| panic!("chown root {}: {e}", path.display()));
    }

    pub fn read(&self, rel: &str) -> Vec<u8> {
        let path = self.at(rel);
        fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    pub fn read_string(&self, rel: &str) -> String {
        String::from_utf8(self.read(rel)).expect("UTF-8 file")
    }

    /// Whether anything (a dangling symlink too) is at `rel`.
    pub fn exists(&self, rel: &str) -> bool {
        fs::symlink_metadata(self.at(rel)).is_ok()
    }

    /// `lstat` of `rel`.
    pub fn lstat(&self, rel: &str) -> fs::Metadata {
        let path = self.at(rel);
        fs::symlink_metadata(&path).unwrap_or_else(|e| panic!("lstat {}: {e}", path.display()))
    }

    /// Permission bits (`& 0o7777`) of `rel`.
    pub fn mode(&self, rel: &str) -> u32 {
        self.lstat(rel).mode() & 0o7777
    }

    /// The names in directory `rel`, sorted.
    pub fn names(&self, rel: &str) -> Vec<String> {
        let dir = self.at(rel);
        let mut names: Vec<String> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    /// Every path below the directory whose name marks it as an upload's temporary file.
    pub fn upload_leftovers(&self) -> Vec<PathBuf> {
        upload_leftovers_in(&self.root)
    }
}

/// Panic unless `entry` describes `path` as `lstat` sees it: name, path, kind, size, mode, mtime,
/// owner ids and, for a symlink, the stored target.
#[track_caller]
pub fn assert_entry_matches(entry: &Entry, path: &Path) {
    let meta =
        fs::symlink_metadata(path).unwrap_or_else(|e| panic!("lstat {}: {e}", path.display()));
    let kind = if meta.file_type().is_symlink() {
        EntryKind::Symlink
    } else if meta.is_dir() {
        EntryKind::Dir
    } else if meta.is_file() {
        EntryKind::File
    } else {
        EntryKind::Other
    };
    let link_target = meta.file_type().is_symlink().then(|| {
        fs::read_link(path)
            .expect("readlink")
            .to_string_lossy()
            .into_owned()
    });
    let on_disk = (
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        path.to_string_lossy().into_owned(),
        kind,
        meta.size(),
        meta.mode(),
        meta.mtime(),
        (Some(meta.uid()), Some(meta.gid())),
        link_target,
    );
    let answered = (
        entry.name.clone(),
        entry.path.clone(),
        entry.kind,
        entry.size,
        entry.mode,
        entry.mtime,
        (entry.uid, entry.gid),
        entry.link_target.clone(),
    );
    assert_eq!(
        answered, on_disk,
        "(name, path, kind, size, mode, mtime, ids, link target) as answered vs. on disk"
    );
}

/// Every path below `dir` (symlinks not followed) named like an upload's temporary file.
pub fn upload_leftovers_in(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if is_upload_temp_name(&entry.file_name().to_string_lossy()) {
                found.push(path.clone());
            }
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                todo.push(path);
            }
        }
    }
    found
}

/// Uploads are written as `.…gatehouse-upload…` in the target directory, then renamed.
pub fn is_upload_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains("gatehouse-upload")
}
