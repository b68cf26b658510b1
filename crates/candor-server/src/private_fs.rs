//! Files only their owner may read: the data directory (0700), the
//! database and logs (0600) hold CVs, job descriptions, transcripts and
//! recordings. On Unix the modes are set at creation and tightened on files
//! that already exist with wider ones; elsewhere the platform's defaults
//! (per-user profile directories) apply.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Creates `dir` (and its parents) if needed and makes it owner-only.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        restrict(dir, 0o700)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Creates `file` empty if it does not exist, and makes it owner-only.
pub fn touch(file: &Path) -> io::Result<()> {
    open(file, OpenOptions::new().create(true).append(true)).map(drop)
}

/// Writes `contents` to `file` (created or truncated), owner-only.
pub fn write(file: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut f = open(
        file,
        OpenOptions::new().create(true).write(true).truncate(true),
    )?;
    f.write_all(contents)?;
    f.sync_all()
}

/// Opens `file` for appending (a log), creating it owner-only.
pub fn open_append(file: &Path) -> io::Result<File> {
    open(file, OpenOptions::new().create(true).append(true))
}

fn open(file: &Path, options: &mut OpenOptions) -> io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let f = options.mode(0o600).open(file)?;
        restrict(file, 0o600)?;
        Ok(f)
    }
    #[cfg(not(unix))]
    {
        options.open(file)
    }
}

/// Removes group and other permissions if `path` has any.
#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if current & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn owner_only_at_creation_and_tightened_after() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        create_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let log = dir.join("candor.log");
        open_append(&log).unwrap();
        assert_eq!(mode(&log), 0o600);
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        touch(&log).unwrap();
        create_dir(&dir).unwrap();
        assert_eq!((mode(&dir), mode(&log)), (0o700, 0o600));
    }
}
