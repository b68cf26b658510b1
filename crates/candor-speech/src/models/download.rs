//! Fetching one pinned file over HTTP into a staging directory: resumable (an HTTP
//! `Range` request continues a `.part` file left by a cut), checked against its size and
//! SHA-256 before it takes its real name.
//!
//! Writes use `std::fs` from the async task on purpose: they are small sequential appends
//! to a local file, far cheaper than the network reads between them.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, RANGE};
use sha2::{Digest, Sha256};

use super::{ModelError, ModelFile};

/// Bytes between two progress reports (plus one at the end of every file).
pub(super) const PROGRESS_STEP: u64 = 256 * 1024;

/// Where one file's download stands, for the progress callback.
pub(super) struct FileProgress<'a> {
    /// Bytes of the whole model already in place before this file.
    pub before: u64,
    pub report: &'a mut (dyn FnMut(u64) + Send),
}

/// Makes sure `staging/<file.name>` holds the verified file, downloading what is missing
/// from `url`. On a checksum or size mismatch the partial file is removed and
/// [`ModelError::ChecksumMismatch`] returned; on a network error the partial file stays
/// for the next attempt to resume.
pub(super) async fn fetch_file(
    client: &reqwest::Client,
    url: &str,
    model: &str,
    file: &ModelFile,
    staging: &Path,
    progress: FileProgress<'_>,
) -> Result<(), ModelError> {
    let done = staging.join(file.name);
    if done.is_file() {
        (progress.report)(progress.before + file.size);
        return Ok(());
    }
    let partial = staging.join(format!("{}.part", file.name));
    let mut hasher = Sha256::new();
    let mut offset = hash_existing(&partial, &mut hasher)?;
    if offset > file.size {
        remove(&partial)?;
        hasher = Sha256::new();
        offset = 0;
    }

    if offset < file.size {
        let mut request = client.get(url);
        if offset > 0 {
            request = request.header(RANGE, format!("bytes={offset}-"));
        }
        let network = |source| ModelError::Network {
            url: url.to_owned(),
            source,
        };
        let mut response = request.send().await.map_err(network)?;
        let status = response.status();
        let append = match status {
            StatusCode::PARTIAL_CONTENT if offset > 0 => {
                if range_start(&response) != Some(offset) {
                    return Err(ModelError::Http {
                        url: url.to_owned(),
                        status: status.as_u16(),
                    });
                }
                true
            }
            StatusCode::OK => {
                // The source ignored the range (or there was none): start over.
                if offset > 0 {
                    hasher = Sha256::new();
                    offset = 0;
                }
                false
            }
            _ => {
                return Err(ModelError::Http {
                    url: url.to_owned(),
                    status: status.as_u16(),
                });
            }
        };
        let out = OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(&partial)
            .map_err(|e| io_error(&partial, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, out);
        let mut last_report = offset;
        (progress.report)(progress.before + offset);
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            out.write_all(&chunk).map_err(|e| io_error(&partial, e))?;
            hasher.update(&chunk);
            offset += chunk.len() as u64;
            if offset > file.size {
                break;
            }
            if offset - last_report >= PROGRESS_STEP {
                last_report = offset;
                (progress.report)(progress.before + offset.min(file.size));
            }
        }
        out.flush().map_err(|e| io_error(&partial, e))?;
    }

    let actual = hex(&hasher.finalize());
    if offset != file.size || actual != file.sha256 {
        remove(&partial)?;
        return Err(ModelError::ChecksumMismatch {
            model: model.to_owned(),
            file: file.name.to_owned(),
            expected: file.sha256.to_owned(),
            actual: if offset == file.size {
                actual
            } else {
                format!("{offset} bytes instead of {}", file.size)
            },
        });
    }
    fs::rename(&partial, &done).map_err(|e| io_error(&done, e))?;
    (progress.report)(progress.before + file.size);
    Ok(())
}

/// Feeds an existing partial file to the hasher; returns its length (0 if absent).
fn hash_existing(path: &Path, hasher: &mut Sha256) -> Result<u64, ModelError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io_error(path, e)),
    };
    let mut buffer = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(|e| io_error(path, e))?;
        if n == 0 {
            return Ok(total);
        }
        hasher.update(&buffer[..n]);
        total += n as u64;
    }
}

/// The first byte a `206 Partial Content` answer carries (`Content-Range: bytes a-b/n`).
fn range_start(response: &reqwest::Response) -> Option<u64> {
    let value = response.headers().get(CONTENT_RANGE)?.to_str().ok()?;
    let range = value.trim().strip_prefix("bytes")?.trim_start();
    range.split('-').next()?.trim().parse().ok()
}

fn remove(path: &Path) -> Result<(), ModelError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(path, e)),
    }
}

pub(super) fn io_error(path: &Path, source: std::io::Error) -> ModelError {
    ModelError::Io {
        path: PathBuf::from(path),
        source,
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case_and_padded() {
        assert_eq!(hex(&[0x00, 0x0f, 0xab]), "000fab");
    }

    #[test]
    fn sha256_of_nothing_is_the_well_known_value() {
        assert_eq!(
            hex(&Sha256::digest(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
