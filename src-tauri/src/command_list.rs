//! The one list of the commands the UI may call. Everything else that names
//! them is derived from it, so adding or removing a command is one line here:
//!
//! - `build.rs` declares each to `tauri-build`, which makes it a permission
//!   (`allow-<name>`) that a capability must grant;
//! - `lib.rs` registers their handlers (`tauri::generate_handler!`) and
//!   exports their names as [`crate::COMMANDS`];
//! - the `bindings` test checks that `capabilities/main.json` grants exactly
//!   these, and generates the UI's `CommandName` type from them, which
//!   `ui/src/ipc/contract.ts` must cover exactly (the UI build type-checks it).
//!
//! This file is compiled twice: as a module of the shell, and of its build
//! script (`#[path]` in `build.rs`). So it holds nothing but macros.

/// Calls the macro `$then` with every command, as identifiers naming the
/// functions in `commands.rs`: `$then! { subscribe, sign_in, … }`.
macro_rules! with_commands {
    ($then:ident) => {
        $then! {
            subscribe,
            sign_in,
            create_account,
            continue_offline,
            sign_out,
            refresh_history,
            show_more_history,
            start_interview,
            retry_permissions,
            cancel_interview,
            end_interview,
            dismiss,
            set_muted,
            list_devices,
            choose_devices,
            get_settings,
            save_settings,
            open_results,
            export_interview,
            delete_interview,
            speech_models,
            download_speech_model,
            cancel_speech_model_download,
            delete_speech_model,
            choose_speech_model,
            set_speech_model_source,
            about,
            diagnostics,
            copy_diagnostics,
            open_logs_folder,
            open_component_page,
        }
    };
}

/// The commands' names, as `&[&str]`: `with_commands!(command_names)`.
macro_rules! command_names {
    ($($command:ident),* $(,)?) => {
        &[$(stringify!($command)),*]
    };
}
