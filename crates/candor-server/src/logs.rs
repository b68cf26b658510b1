//! Logs of a standalone server: human-readable lines, or one JSON object per
//! line for a log collector (`--log-format json` / `CANDOR_LOG_FORMAT=json`).
//! The filter comes from an environment variable in `tracing`'s
//! `EnvFilter` syntax (e.g. `info,candor_server=debug`).

use std::str::FromStr;

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, target, fields, spans).
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" | "" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("log format {other:?}: use \"text\" or \"json\"")),
        }
    }
}

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    Stdout,
    Stderr,
}

/// Installs the process's log subscriber: `format` to `target`, filtered by
/// the variable `filter_var` (else `default_filter`). Call once, first
/// thing.
pub fn init(format: LogFormat, target: LogTarget, filter_var: &str, default_filter: &str) {
    let filter =
        EnvFilter::try_from_env(filter_var).unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match (format, target) {
        (LogFormat::Text, LogTarget::Stdout) => builder.with_writer(std::io::stdout).init(),
        (LogFormat::Text, LogTarget::Stderr) => builder.with_writer(std::io::stderr).init(),
        (LogFormat::Json, LogTarget::Stdout) => builder
            .json()
            .flatten_event(true)
            .with_writer(std::io::stdout)
            .init(),
        (LogFormat::Json, LogTarget::Stderr) => builder
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse() {
        assert_eq!("json".parse(), Ok(LogFormat::Json));
        assert_eq!(" JSON ".parse(), Ok(LogFormat::Json));
        assert_eq!("text".parse(), Ok(LogFormat::Text));
        assert!("yaml".parse::<LogFormat>().is_err());
    }
}
