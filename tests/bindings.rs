//! The UI's TypeScript contract is generated from the Rust IPC types; this
//! test fails when the committed `ui/src/ipc/generated.ts` is stale.
//! `CANDOR_BLESS=1` rewrites it instead.

use std::path::Path;

#[test]
fn the_ui_typescript_contract_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/ipc/generated.ts");
    let generated = candor_client::ts::bindings();
    if std::env::var_os("CANDOR_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write generated.ts");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is stale: the Rust IPC types changed. Regenerate it with\n  \
         CANDOR_BLESS=1 cargo test -p candor-desktop --test bindings\n\
         and commit the result (the UI build type-checks against it).",
        path.display()
    );
}
