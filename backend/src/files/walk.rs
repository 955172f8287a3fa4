//! A lazy, pre-order walk of a directory tree over SFTP, for ZIP, copy and recursive delete.
//! Directories are listed one at a time as the walk reaches them, so memory grows with the
//! tree's depth and width, never with the bytes under it. Symlinks are reported, never followed:
//! a link to `/` inside a tree being deleted or zipped is the link, not the filesystem.

use wire::files::EntryKind;

use super::entry::kind;
use super::policy::join;
use super::sftp::{Attrs, Sftp};
use crate::error::ApiResult;

pub struct Item {
    /// Canonical server path.
    pub path: String,
    /// Path relative to the walk's start, `/`-separated, starting with the root's own name.
    pub rel: String,
    pub attrs: Attrs,
    pub kind: EntryKind,
}

pub struct Walker<'a> {
    sftp: &'a Sftp,
    pending: Vec<Item>,
}

impl<'a> Walker<'a> {
    pub fn new(sftp: &'a Sftp) -> Walker<'a> {
        Walker {
            sftp,
            pending: Vec::new(),
        }
    }

    /// Adds a starting point (walked after the ones added before it).
    pub fn push_root(&mut self, path: String, rel: String, attrs: Attrs) {
        let kind = kind(&attrs);
        self.pending.insert(
            0,
            Item {
                path,
                rel,
                attrs,
                kind,
            },
        );
    }

    /// The next entry; a directory comes before its contents.
    pub async fn next(&mut self) -> ApiResult<Option<Item>> {
        let Some(item) = self.pending.pop() else {
            return Ok(None);
        };
        if item.kind == EntryKind::Dir {
            let mut children = self.sftp.read_dir(&item.path).await?;
            children.sort_by(|a, b| b.name.cmp(&a.name)); // popped in name order
            self.pending.extend(children.into_iter().map(|c| Item {
                path: join(&item.path, &c.name),
                rel: format!("{}/{}", item.rel, c.name),
                kind: kind(&c.attrs),
                attrs: c.attrs,
            }));
        }
        Ok(Some(item))
    }
}
