//! [`write_atomically`]: the one way Fennec rewrites a file it owns (broker metadata JSON, the
//! nameserver's KV store, a broadcasting consumer's offsets), as RocketMQ's
//! `MixAll.string2File` does: the old content is copied to `<file>.bak`, the new content is
//! written to `<file>.tmp` and fsynced, renamed over the file, and the directory is fsynced.
//! A crash leaves the old or the new file whole, and readers may fall back to the `.bak`.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// `<path>` with `suffix` appended to its file name.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The backup [`write_atomically`] keeps of `path`'s previous content.
pub fn backup_path(path: &Path) -> PathBuf {
    with_suffix(path, ".bak")
}

/// Replaces `path` with `content` so that a crash leaves the old or the new file intact.
/// On failure (a full disk, say) the file keeps its old content and no `.tmp` is left.
pub fn write_atomically(path: &Path, content: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    if path.exists() {
        fs::copy(path, backup_path(path))?;
    }
    let tmp = with_suffix(path, ".tmp");
    let written = File::create(&tmp).and_then(|mut f| {
        f.write_all(content)?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_keeps_a_backup_and_leaves_no_temp_file() {
        let dir = std::env::temp_dir().join(format!("fennec-fs-{}", std::process::id()));
        let path = dir.join("sub").join("x.json");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read(backup_path(&path)).unwrap(), b"one");
        assert!(!with_suffix(&path, ".tmp").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
