//! Builds the Extism plugin (`payseal-plugin`, release, `wasm32-unknown-unknown`)
//! that the `payseal` binary embeds, so an installed binary runs anywhere
//! (`cargo install --locked --path plugin-host`); `[plugin] wasm` in the
//! configuration overrides it.
//!
//! The plugin is built by a nested cargo in its own target directory (the
//! outer build holds the lock of its own): `$CARGO_TARGET_DIR/payseal-plugin-embed`
//! when the caller set `CARGO_TARGET_DIR`, else `target/payseal-plugin-embed`
//! in the workspace (`cargo install` builds the gateway in a temporary
//! directory; the plugin's build is kept and a second install reuses it;
//! when that folder cannot be written, `OUT_DIR`).
//! `PAYSEAL_EMBED_WASM=/path/to/payseal_plugin.wasm` embeds a plugin built
//! elsewhere instead (a container build that built it in an earlier stage).

// A build script reports failure by panicking, with what to do.
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let dest = out.join("payseal_plugin.wasm");
    println!("cargo:rerun-if-env-changed=PAYSEAL_EMBED_WASM");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    if let Some(prebuilt) = std::env::var_os("PAYSEAL_EMBED_WASM") {
        let prebuilt = PathBuf::from(prebuilt);
        println!("cargo:rerun-if-changed={}", prebuilt.display());
        copy(&prebuilt, &dest);
        return;
    }
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir.parent().expect("plugin-host lives in the workspace").to_path_buf();
    // What the plugin is built from.
    for input in ["Cargo.toml", "Cargo.lock", "core/Cargo.toml", "core/src", "config/Cargo.toml", "config/src", "plugin/Cargo.toml", "plugin/src"] {
        println!("cargo:rerun-if-changed={}", workspace.join(input).display());
    }
    let mut target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace.join("target"), PathBuf::from)
        .join("payseal-plugin-embed");
    if std::fs::create_dir_all(&target_dir).is_err() {
        // A read-only source tree: build it here (rebuilt by every install).
        target_dir = out.join("plugin-target");
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&workspace)
        .args(["build", "--locked", "--release", "--target", "wasm32-unknown-unknown", "-p", "payseal-plugin", "--target-dir"])
        .arg(&target_dir);
    // The outer build's settings for the host must not reach the wasm
    // build: its flags, a lint wrapper (`cargo clippy`), a target.
    for name in ["CARGO_ENCODED_RUSTFLAGS", "RUSTFLAGS", "RUSTC_WORKSPACE_WRAPPER", "CLIPPY_ARGS", "CARGO_BUILD_TARGET", "CARGO_TARGET_DIR", "CARGO_PRIMARY_PACKAGE", "CARGO_MANIFEST_PATH"] {
        command.env_remove(name);
    }
    let status = command.status().unwrap_or_else(|e| panic!("cannot run cargo to build the plugin: {e}"));
    assert!(
        status.success(),
        "building the embedded plugin failed (cargo build --release --target wasm32-unknown-unknown -p payseal-plugin, target dir {}); \
         is the target installed? rustup target add wasm32-unknown-unknown",
        target_dir.display()
    );
    copy(&target_dir.join("wasm32-unknown-unknown/release/payseal_plugin.wasm"), &dest);
}

fn copy(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap_or_else(|e| panic!("cannot copy the plugin {} to {}: {e}", from.display(), to.display()));
}
