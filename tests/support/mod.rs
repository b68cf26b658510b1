//! Helpers for the desktop package's integration tests.

pub mod webdriver;
