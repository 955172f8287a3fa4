//! SFTP attributes → the wire `Entry`.

use russh_sftp::protocol::FileType;
use wire::files::{Entry, EntryKind};

use super::policy::Roots;
use super::sftp::{Attrs, Sftp};

pub fn kind(attrs: &Attrs) -> EntryKind {
    match attrs.file_type() {
        FileType::Dir => EntryKind::Dir,
        FileType::File => EntryKind::File,
        FileType::Symlink => EntryKind::Symlink,
        FileType::Other => EntryKind::Other,
    }
}

/// Builds an entry; for a symlink, reads where it points and what that is, but only looks at the
/// target when the target is inside the allowed paths (nothing about the outside leaks).
pub async fn build(
    sftp: &Sftp,
    roots: &Roots,
    name: String,
    path: String,
    attrs: &Attrs,
    longname: Option<&str>,
) -> Entry {
    let kind = kind(attrs);
    let (link_target, target_kind) = if kind == EntryKind::Symlink {
        let target = sftp.readlink(&path).await.ok();
        let resolved = match sftp.realpath(&path).await {
            Ok(canonical) if roots.allows(&canonical) => {
                sftp.stat(&canonical).await.ok().map(|a| self::kind(&a))
            }
            _ => None,
        };
        (target, resolved)
    } else {
        (None, None)
    };
    let (owner, group) = longname.map(owner_group).unwrap_or_default();
    Entry {
        name,
        path,
        kind,
        size: attrs.size.unwrap_or(0),
        mode: attrs.permissions.unwrap_or(0),
        mtime: i64::from(attrs.mtime.unwrap_or(0)),
        uid: attrs.uid,
        gid: attrs.gid,
        owner,
        group,
        link_target,
        target_kind,
    }
}

/// Owner and group from an `ls -l` style long name (`-rw-r--r-- 1 alice staff 42 Jan 1 00:00 x`).
fn owner_group(longname: &str) -> (Option<String>, Option<String>) {
    let mut fields = longname.split_whitespace();
    let looks_like_ls = fields.next().is_some_and(|perm| perm.len() >= 10);
    if !looks_like_ls {
        return (None, None);
    }
    let _links = fields.next();
    let owner = fields.next().map(str::to_owned);
    let group = fields.next().map(str::to_owned);
    (owner, group)
}

#[cfg(test)]
mod tests {
    use super::owner_group;

    #[test]
    fn parses_ls_long_names() {
        assert_eq!(
            owner_group("-rw-r--r--    1 alice    staff        42 Jan  1 00:00 notes.txt"),
            (Some("alice".into()), Some("staff".into()))
        );
        assert_eq!(owner_group("notes.txt"), (None, None));
        assert_eq!(owner_group(""), (None, None));
    }
}
