#!/usr/bin/env bash
# Signet's benchmarks (release build), each against the peer its issue names, in one run.
# SIGNET_BENCH_N sets the size of the large repository (default 100000).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
cargo bench -p signet-tests --bench signet_bench
