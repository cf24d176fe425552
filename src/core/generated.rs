//! JS files generated from the Rust sources of truth (the protocol constants, the OID catalogue,
//! the option defaults). Each generator is a unit test that renders the file and compares it with
//! the committed copy: `cargo test` fails when they differ, and `UPDATE_GENERATED=1 cargo test`
//! rewrites them. The committed copies keep the JS package free of a build step.

/// The header every generated file starts with.
pub fn header(source: &str) -> String {
    format!("// Generated from {source} by `UPDATE_GENERATED=1 cargo test`; do not edit by hand.\n'use strict'\n\n")
}

/// Compares `text` with the committed file at `path` (relative to the package root), or writes it
/// when `UPDATE_GENERATED` is set.
pub fn check_or_write(path: &str, text: &str) {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::write(&full, text).unwrap_or_else(|e| panic!("writing {path}: {e}"));
        return;
    }
    let committed = std::fs::read_to_string(&full).unwrap_or_default();
    assert!(committed == text, "{path} is out of date with its Rust source: run `UPDATE_GENERATED=1 cargo test`");
}
