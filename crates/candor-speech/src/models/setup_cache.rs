//! Where `scripts/setup-speech` caches what it fetches — the models (laid
//! out like the app's models directory, one directory per model id) and the
//! rendered speech fixtures — so tests, benchmarks and developers' tools use
//! them without downloading. The same rule as the script:
//! `$CANDOR_CACHE_DIR`, else `$XDG_CACHE_HOME/candor`, else
//! `~/.cache/candor`.

use std::path::PathBuf;

/// The cache `scripts/setup-speech` fills (None without `HOME` and the
/// variables above).
pub fn setup_cache_dir() -> Option<PathBuf> {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    set("CANDOR_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| set("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("candor")))
        .or_else(|| set("HOME").map(|h| PathBuf::from(h).join(".cache").join("candor")))
}

/// Model `id` as `scripts/setup-speech` cached it, or why it is not there
/// (with the fix).
pub fn setup_cached_model(id: &str) -> Result<PathBuf, String> {
    let dir = setup_cache_dir()
        .ok_or("no cache directory: neither CANDOR_CACHE_DIR nor HOME is set")?
        .join("models")
        .join(id);
    if dir.join("model.bin").is_file() {
        Ok(dir)
    } else {
        let extra = if id == "whisper-base" {
            " with CANDOR_SETUP_WHISPER_BASE=1"
        } else {
            ""
        };
        Err(format!(
            "the speech model {id} is not in {} — run scripts/setup-speech{extra}",
            dir.display()
        ))
    }
}
