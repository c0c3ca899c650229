#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 30): the canonical JSON parser/encoder, the
# socket frame decoder, repository verification from bytes, and key.asc parsing and pinning.
# cargo-fuzz uses nightly-only compiler flags (sanitizers); on the stable toolchain
# RUSTC_BOOTSTRAP=1 allows them. A crash fails the script; its input lands in fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-30}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
# Built first, in the open: the runs below show only libFuzzer's summary, which would hide a
# target that no longer compiles.
cargo fuzz build -O
for target in canonical_json frame_decoder repository key_asc; do
    printf '%s: ' "$target"
    cargo fuzz run -O "$target" -- -max_total_time="$seconds" -max_len=65536 2>&1 \
        | grep -E '^Done|SUMMARY|panicked' | tail -n 2
done
