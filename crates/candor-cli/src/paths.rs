//! Where the CLI keeps things: the embedded backend's data directory and the
//! sign-in token (OS keyring, or memory with `--no-keyring`).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use candor_client::{KeyringStore, MemoryStore, TokenStore};

use crate::BackendArgs;

/// `--data-dir`, else `$XDG_DATA_HOME/candor`, else `~/.local/share/candor`.
pub fn data_dir(args: &BackendArgs) -> anyhow::Result<PathBuf> {
    if let Some(dir) = &args.data_dir {
        return Ok(dir.clone());
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("candor"));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .context("cannot find a data directory: set --data-dir or CANDOR_DATA_DIR")?;
    Ok(PathBuf::from(home).join(".local/share/candor"))
}

/// The token store for this backend.
pub fn token_store(args: &BackendArgs) -> anyhow::Result<Arc<dyn TokenStore>> {
    if args.no_keyring {
        return Ok(Arc::new(MemoryStore::default()));
    }
    let key = match &args.server {
        Some(url) => url.to_string(),
        None => format!("embedded:{}", data_dir(args)?.display()),
    };
    Ok(Arc::new(KeyringStore::new(&key)))
}
