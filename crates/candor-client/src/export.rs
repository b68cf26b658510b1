//! Writing an interview's export to the folder the candidate chose: the
//! backend's zip (`GET /v1/interviews/{id}/export`) unpacked as plain files.
//! The folder must be new or empty, so an export never overwrites anything;
//! every entry must be a plain file name (no directory, no `..`), whoever
//! made the archive.

use std::io::Read;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Why an export could not be written.
#[derive(Debug, Error)]
pub enum ExportWriteError {
    #[error("{0} is not empty: choose a new or empty folder")]
    NotEmpty(String),
    #[error("{0} exists and is not a folder")]
    NotAFolder(String),
    #[error("the export from the server is unreadable: {0}")]
    Archive(String),
    #[error("could not write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExportWriteError + '_ {
    move |source| ExportWriteError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Unpacks `zip` into `dir` (created if missing). Returns the files written,
/// in the archive's order.
pub fn unpack(zip: &[u8], dir: &Path) -> Result<Vec<PathBuf>, ExportWriteError> {
    let archive = |e: zip::result::ZipError| ExportWriteError::Archive(e.to_string());
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(zip)).map_err(archive)?;
    // Read and check everything before touching the disk.
    let mut files = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(archive)?;
        let name = entry.name().to_owned();
        let plain = Path::new(&name)
            .file_name()
            .filter(|n| n.to_str() == Some(name.as_str()) && !name.starts_with('.'))
            .is_some();
        if !plain || entry.is_dir() {
            return Err(ExportWriteError::Archive(format!(
                "unexpected entry {name:?}"
            )));
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| ExportWriteError::Archive(e.to_string()))?;
        files.push((name, bytes));
    }
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => {
            return Err(ExportWriteError::NotAFolder(dir.display().to_string()));
        }
        Ok(_) => {
            if std::fs::read_dir(dir).map_err(io(dir))?.next().is_some() {
                return Err(ExportWriteError::NotEmpty(dir.display().to_string()));
            }
        }
        Err(_) => std::fs::create_dir_all(dir).map_err(io(dir))?,
    }
    let mut written = Vec::with_capacity(files.len());
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(io(&path))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes) in entries {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn unpacks_into_a_new_folder_and_never_overwrites() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("export");
        let zip = zip_of(&[("README.txt", b"hi"), ("interview.ogg", b"OggS")]);
        let written = unpack(&zip, &dir).unwrap();
        assert_eq!(written, [dir.join("README.txt"), dir.join("interview.ogg")]);
        assert_eq!(std::fs::read(dir.join("interview.ogg")).unwrap(), b"OggS");
        assert!(matches!(
            unpack(&zip, &dir),
            Err(ExportWriteError::NotEmpty(_))
        ));
        let file = root.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        assert!(matches!(
            unpack(&zip, &file),
            Err(ExportWriteError::NotAFolder(_))
        ));
    }

    #[test]
    fn entries_outside_the_folder_are_refused_before_anything_is_written() {
        let root = tempfile::tempdir().unwrap();
        for bad in ["../evil.txt", "sub/file.txt", "/etc/evil", ".hidden"] {
            let dir = root.path().join("x");
            let zip = zip_of(&[("README.txt", b"hi"), (bad, b"no")]);
            assert!(
                matches!(unpack(&zip, &dir), Err(ExportWriteError::Archive(_))),
                "{bad}"
            );
            assert!(!dir.exists(), "{bad}: nothing written");
        }
        assert!(!root.path().join("evil.txt").exists());
    }
}
