//! Compiles `proto/candor/v1/candor.proto` with prost. protoc comes from the
//! vendored binary unless `PROTOC` points at another, so no system package is needed.
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read when the script runs, not when it is compiled: a compiled script
    // shared by two checkouts (one build directory) reads its own checkout's
    // file.
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").ok_or("CARGO_MANIFEST_DIR")?)
        .join("../../proto");
    let proto = root.join("candor/v1/candor.proto");
    println!("cargo:rerun-if-changed={}", proto.display());
    println!("cargo:rerun-if-env-changed=PROTOC");

    let mut config = prost_build::Config::new();
    if std::env::var_os("PROTOC").is_none() {
        config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    }
    config.bytes([".candor.v1.AudioChunk.data"]);
    // StartRequest holds the auth token: its Debug impl is written by hand and redacts it.
    config.skip_debug([".candor.v1.StartRequest"]);
    config.compile_protos(&[proto], &[root])?;
    Ok(())
}
