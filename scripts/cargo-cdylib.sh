#!/bin/sh
# Cargo for `napi build` (scripts/build.js sets CARGO to this script; napi spawns "$CARGO build ...").
# The [lib] is ["cdylib", "rlib"] because tests/ link the rlib, and Cargo performs no LTO for a
# crate with mixed crate types. Building the library as a cdylib alone lets [profile.release] lto
# apply, which halves the addon. Every other cargo command runs unchanged.
unset CARGO
if [ "$1" = build ]; then
  shift
  exec cargo rustc --lib --crate-type cdylib "$@"
fi
exec cargo "$@"
