//! Remote path arithmetic and how entries are shown (size, time, mode). Remote paths are POSIX
//! strings from the server (`Listing.path` is canonical), so this is plain string work.

use wire::files::{Entry, EntryKind};

/// `dir` + `name`, without doubling the slash at the root.
pub fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// The parent directory (`/` stays `/`).
pub fn parent(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) => trimmed[..i].to_owned(),
    }
}

/// The last component of a path.
pub fn base_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// The breadcrumb of an absolute path: `(label, path)` from the root down.
pub fn crumbs(path: &str) -> Vec<(String, String)> {
    let mut out = vec![("/".to_owned(), "/".to_owned())];
    let mut acc = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        acc.push('/');
        acc.push_str(part);
        out.push((part.to_owned(), acc.clone()));
    }
    out
}

/// A name the user typed for a new file or folder, or why it is not one.
pub fn check_name(name: &str) -> Result<&str, &'static str> {
    let name = name.trim();
    if name.is_empty() {
        Err("The name is empty.")
    } else if name == "." || name == ".." {
        Err("“.” and “..” are not names.")
    } else if name.contains('/') || name.contains('\0') {
        Err("A name cannot contain “/”.")
    } else {
        Ok(name)
    }
}

/// True when the entry is, or points at, a directory (what double-click enters).
pub fn is_dir_like(entry: &Entry) -> bool {
    entry.kind == EntryKind::Dir
        || (entry.kind == EntryKind::Symlink && entry.target_kind == Some(EntryKind::Dir))
}

/// `1.2 MB` style, powers of 1024 (what `ls -h` shows).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "PB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

/// `2024-05-01 13:07` in the browser's time zone.
pub fn local_time(epoch_seconds: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        epoch_seconds as f64 * 1000.0,
    ));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes()
    )
}

/// `drwxr-xr-x` from `st_mode`.
pub fn mode_string(mode: u32) -> String {
    let kind = match mode & 0o170000 {
        0o040000 => 'd',
        0o120000 => 'l',
        0o020000 => 'c',
        0o060000 => 'b',
        0o010000 => 'p',
        0o140000 => 's',
        _ => '-',
    };
    let mut s = String::with_capacity(10);
    s.push(kind);
    for (shift, special, special_char) in [(6, 0o4000, 's'), (3, 0o2000, 's'), (0, 0o1000, 't')] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        let exec = bits & 1 != 0;
        s.push(match (mode & special != 0, exec) {
            (true, true) => special_char,
            (true, false) => special_char.to_ascii_uppercase(),
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    s
}

/// The permission bits as four octal digits (`0755`).
pub fn octal_mode(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

/// Parses what the chmod dialog accepts: octal digits (`755`, `0644`).
pub fn parse_octal_mode(text: &str) -> Option<u32> {
    let text = text.trim();
    if text.is_empty() || text.len() > 5 {
        return None;
    }
    u32::from_str_radix(text, 8).ok().filter(|m| *m <= 0o7777)
}

/// What the browser can show by itself from an `inline=1` download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviewKind {
    Image,
    Pdf,
    Text,
}

fn extension(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    }
}

pub fn preview_kind(name: &str) -> Option<PreviewKind> {
    match extension(name).as_str() {
        "png" | "jpg" | "jpeg" | "gif" | "webp" | "svg" | "bmp" | "ico" | "avif" => {
            Some(PreviewKind::Image)
        }
        "pdf" => Some(PreviewKind::Pdf),
        "txt" | "log" | "md" | "csv" | "tsv" | "json" | "yaml" | "yml" | "toml" | "ini"
        | "conf" | "cfg" | "xml" | "sh" | "py" | "rs" | "js" | "ts" | "css" | "html" | "sql"
        | "out" | "err" => Some(PreviewKind::Text),
        _ => None,
    }
}

/// Files that open in a preview rather than the editor (the editor refuses binary anyway).
pub fn opens_as_preview(name: &str) -> bool {
    matches!(
        preview_kind(name),
        Some(PreviewKind::Image | PreviewKind::Pdf)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_and_split_like_posix() {
        assert_eq!(join("/", "etc"), "/etc");
        assert_eq!(join("/home/u", "a.txt"), "/home/u/a.txt");
        assert_eq!(parent("/home/u/a.txt"), "/home/u");
        assert_eq!(parent("/home"), "/");
        assert_eq!(parent("/"), "/");
        assert_eq!(base_name("/home/u/"), "u");
        assert_eq!(
            crumbs("/home/u"),
            vec![
                ("/".to_owned(), "/".to_owned()),
                ("home".to_owned(), "/home".to_owned()),
                ("u".to_owned(), "/home/u".to_owned())
            ]
        );
    }

    #[test]
    fn modes_read_like_ls() {
        assert_eq!(mode_string(0o040755), "drwxr-xr-x");
        assert_eq!(mode_string(0o100644), "-rw-r--r--");
        assert_eq!(mode_string(0o104755), "-rwsr-xr-x");
        assert_eq!(mode_string(0o041777), "drwxrwxrwt");
        assert_eq!(octal_mode(0o100644), "0644");
        assert_eq!(parse_octal_mode("755"), Some(0o755));
        assert_eq!(parse_octal_mode("0644"), Some(0o644));
        assert_eq!(parse_octal_mode("9"), None);
        assert_eq!(parse_octal_mode("17777"), None);
    }

    #[test]
    fn names_with_slashes_or_dots_are_refused() {
        assert!(check_name("a/b").is_err());
        assert!(check_name("..").is_err());
        assert!(check_name("  ").is_err());
        assert_eq!(check_name(" notes.txt "), Ok("notes.txt"));
    }

    #[test]
    fn sizes_are_human() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1536), "1.5 KB");
        assert_eq!(human_size(50 * 1024 * 1024), "50 MB");
    }
}
