//! Where the auth token lives between runs: the OS keyring (Secret Service on
//! Linux, Keychain on macOS, Credential Manager on Windows), behind a trait so
//! tests and headless runs can use memory instead.

use std::sync::Mutex;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum TokenStoreError {
    #[error("the OS keyring is not available: {0}")]
    Unavailable(String),
    #[error("the OS keyring refused the operation: {0}")]
    Failed(String),
}

/// A single secret slot for the signed-in user's bearer token.
pub trait TokenStore: Send + Sync + std::fmt::Debug {
    /// The stored token, `None` if there is none.
    fn load(&self) -> Result<Option<String>, TokenStoreError>;
    fn save(&self, token: &str) -> Result<(), TokenStoreError>;
    /// Deleting a missing token is not an error.
    fn clear(&self) -> Result<(), TokenStoreError>;
}

/// The OS keyring, one entry per backend (so an offline profile and a hosted
/// account do not overwrite each other).
#[derive(Debug)]
pub struct KeyringStore {
    service: String,
    account: String,
}

impl KeyringStore {
    /// `backend` identifies the server the token belongs to (its base URL).
    pub fn new(backend: &str) -> Self {
        Self {
            service: "app.candor.desktop".to_owned(),
            account: format!("token@{backend}"),
        }
    }

    fn entry(&self) -> Result<keyring::Entry, TokenStoreError> {
        keyring::Entry::new(&self.service, &self.account).map_err(map_error)
    }
}

fn map_error(err: keyring::Error) -> TokenStoreError {
    match err {
        keyring::Error::PlatformFailure(e) | keyring::Error::NoStorageAccess(e) => {
            TokenStoreError::Unavailable(e.to_string())
        }
        other => TokenStoreError::Failed(other.to_string()),
    }
}

impl TokenStore for KeyringStore {
    fn load(&self) -> Result<Option<String>, TokenStoreError> {
        match self.entry()?.get_password() {
            Ok(token) => Ok(Some(token)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_error(e)),
        }
    }

    fn save(&self, token: &str) -> Result<(), TokenStoreError> {
        self.entry()?.set_password(token).map_err(map_error)
    }

    fn clear(&self) -> Result<(), TokenStoreError> {
        match self.entry()?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_error(e)),
        }
    }
}

/// A token kept in memory only (tests, `--no-keyring` runs).
#[derive(Debug, Default)]
pub struct MemoryStore {
    token: Mutex<Option<String>>,
}

impl MemoryStore {
    pub fn with_token(token: &str) -> Self {
        Self {
            token: Mutex::new(Some(token.to_owned())),
        }
    }
}

impl TokenStore for MemoryStore {
    fn load(&self) -> Result<Option<String>, TokenStoreError> {
        Ok(self.token.lock().expect("token lock").clone())
    }

    fn save(&self, token: &str) -> Result<(), TokenStoreError> {
        *self.token.lock().expect("token lock") = Some(token.to_owned());
        Ok(())
    }

    fn clear(&self) -> Result<(), TokenStoreError> {
        *self.token.lock().expect("token lock") = None;
        Ok(())
    }
}
