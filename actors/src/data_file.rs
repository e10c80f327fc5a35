//! Replacing a data file atomically (temp file, fsync, rename, fsync of the directory), readable by its owner only.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

fn tmp_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// Write `<file>.tmp` (mode 0600), fsync it, rename it over `file`, fsync the directory.
pub(crate) fn write_atomic(file: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = tmp_path(file);
    // A stale tmp file left by a crash would keep its old mode; anything that cannot be
    // unlinked (a directory, say) makes `create_new` fail below, which is the error we report.
    let _ = fs::remove_file(&tmp);
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    let written = out
        .write_all(bytes)
        .and_then(|()| out.sync_all())
        .and_then(|()| fs::rename(&tmp, file));
    drop(out);
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // After the rename the new file is what every reader sees; reporting a failure now would
    // leave memory disagreeing with the disk, so only warn: at worst a power loss brings back
    // the previous file.
    if let Err(e) = sync_dir(file) {
        tracing::warn!(file = %file.display(), error = %e, "could not fsync the directory of a data file");
    }
    Ok(())
}

fn sync_dir(file: &Path) -> io::Result<()> {
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_file_is_replaced_and_readable_by_its_owner_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("data.json");
        fs::write(&file, b"old").expect("old file");
        fs::write(tmp_path(&file), b"stale").expect("stale tmp");
        fs::set_permissions(tmp_path(&file), fs::Permissions::from_mode(0o644)).expect("chmod");
        write_atomic(&file, b"new").expect("write");
        assert_eq!(fs::read(&file).expect("read"), b"new");
        let mode = fs::metadata(&file).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!tmp_path(&file).exists());
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_byte_identical() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("data.json");
        write_atomic(&file, b"before").expect("write");
        fs::create_dir(tmp_path(&file)).expect("tmp as a directory");
        write_atomic(&file, b"after").expect_err("the tmp path is a directory");
        assert_eq!(fs::read(&file).expect("read"), b"before");
        assert!(
            tmp_path(&file).is_dir(),
            "a tmp we did not create is left alone"
        );
    }
}
