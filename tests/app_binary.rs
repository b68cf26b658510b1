//! What the built app program is like on disk, where the build decides it:
//! on Linux against glibc 2.36 or later (`src-tauri/build.rs`), its
//! relative relocations are packed (`DT_RELR`) rather than ~2.5 MiB of
//! `RELA` entries that the loader reads at every start and that stay
//! mapped for the app's life.

use std::process::Command;

/// `readelf` with `args` on the app's program.
fn readelf(args: &[&str]) -> String {
    let out = Command::new("readelf")
        .args(args)
        .arg(env!("CARGO_BIN_EXE_candor-desktop"))
        .output()
        .expect("readelf (binutils) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The build machine's glibc (`getconf GNU_LIBC_VERSION`: "glibc 2.36").
fn glibc() -> Option<(u32, u32)> {
    let out = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let (major, minor) = text.trim().strip_prefix("glibc ")?.split_once('.')?;
    Some((major.parse().ok()?, minor.split('.').next()?.parse().ok()?))
}

/// The size in bytes of section `name`, 0 without one.
fn section_size(sections: &str, name: &str) -> u64 {
    sections
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // "[ 9] .rela.dyn RELA <addr> <off> <size> ..." ("[10]" is one field).
            let at = fields.iter().position(|f| *f == name)?;
            u64::from_str_radix(fields.get(at + 4)?, 16).ok()
        })
        .next()
        .unwrap_or(0)
}

#[test]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn relative_relocations_are_packed_where_glibc_reads_them() {
    let Some(version) = glibc() else {
        panic!("getconf GNU_LIBC_VERSION gave no glibc version");
    };
    let dynamic = readelf(&["-d", "-W"]);
    let sections = readelf(&["-S", "-W"]);
    let rela = section_size(&sections, ".rela.dyn");
    if version >= (2, 36) {
        assert!(dynamic.contains("(RELR)"), "no DT_RELR:\n{dynamic}");
        // What is left unpacked: relocations against symbols, a few thousand.
        assert!(rela < 256 << 10, ".rela.dyn is {rela} bytes");
        assert!(section_size(&sections, ".relr.dyn") > 0);
    } else {
        // An older loader would ignore DT_RELR and start the app unrelocated.
        assert!(!dynamic.contains("(RELR)"), "DT_RELR for glibc {version:?}");
    }
}
