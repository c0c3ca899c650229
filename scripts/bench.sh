#!/usr/bin/env bash
# Signet's benchmarks (release build), each against the peer its issue names, in one run.
# SIGNET_BENCH_N sets the size of the large repository (default 100000), SIGNET_BENCH_FILES the
# size of the watched tree (default 100000), SIGNET_INDEX_BENCH_REPOS and _PER_REPO the index's
# (default 100 x 1000), SIGNET_SCALE_BENCH_N the repository in parts (default 1000000). The watch benchmark needs `watchman` and `openssl`; the index's, PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v watchman >/dev/null; then
    ${SUDO:-$( [ "$(id -u)" = 0 ] || echo sudo )} apt-get install -y watchman openssl
fi
cargo build --release --workspace --bins
cargo bench -p signet-tests --bench signet_bench
cargo bench -p signet-tests --bench watch_bench
cargo bench -p signet-tests --bench hostile_bench
cargo bench -p signet-tests --bench web_bench
cargo bench -p signet-tests --bench index_bench
cargo bench -p signet-tests --bench scale_bench
