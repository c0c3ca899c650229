#!/usr/bin/env bash
# The seed's walkthrough, end to end, in throwaway homes: two people, two daemons, one
# published repository; then a public index (on SQLite) and a third person who follows nobody
# looking a file up. Needs only a Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "Building sig, signetd and signet-index (the first build takes a few minutes)..."
cargo build --quiet --bins
SIG="$PWD/target/debug/sig"
INDEX="$PWD/target/debug/signet-index"

work=$(mktemp -d "${TMPDIR:-/tmp}/signet-walkthrough.XXXXXX")
index_pid=""
cleanup() {
    for who in alice world carol; do
        SIGNET_HOME="$work/$who" "$SIG" daemon stop >/dev/null 2>&1 || true
    done
    [ -z "$index_pid" ] || kill "$index_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
unset SIGNET_SOCKET

bold=$(tput bold 2>/dev/null || true); plain=$(tput sgr0 2>/dev/null || true)
# `as NAME sig ARGS…`: run sig as one of the two people, showing the command first.
as() {
    local who=$1; shift; shift
    printf '\n%s%s$ sig %s%s\n' "$bold" "$who" "$*" "$plain"
    local code=0
    SIGNET_HOME="$work/$who" "$SIG" "$@" || code=$?
    [ "$code" = 0 ] || echo "(exit code $code)"
}
note() { printf '\n# %s\n' "$*"; }

echo '#!/bin/sh' > install.sh; echo 'echo installing' >> install.sh
echo 'int main(void) { return 0; }' > hello.c

note "Alice makes a key and vouches for install.sh (answering the questions on stdin)."
as alice sig setup --generate "Alice <alice@example.org>"
printf 'yes\nyes\nRead every line.\n' | as alice sig attest install.sh
note "Her own word counts for her: install.sh is ok."
as alice sig verify install.sh
note "Nobody vouched for hello.c yet."
as alice sig verify hello.c

note "A second person, Hello World, reviews hello.c and publishes their repository over HTTP."
as world sig setup --generate "Hello World <hello@world.com>"
as world sig attest hello.c --ok --reviewed --comment "Reviewed, builds cleanly."
as world sig publish --http 127.0.0.1:0
url=$(SIGNET_HOME="$work/world" "$SIG" status --json | sed -n 's/.*"publishing": "\(.*\)".*/\1/p')
world_key=$(SIGNET_HOME="$work/world" "$SIG" status --json | sed -n 's/.*"fingerprint": "\([0-9A-F]*\)".*/\1/p')

note "Alice follows that repository. Fetched keys are known, not trusted."
as alice sig remote add world "$url"
as alice sig fetch
as alice sig verify hello.c
note "Alice decides Hello World's word counts."
as alice sig trust add "${world_key: -16}"
as alice sig verify hello.c
note "Why it counts: the trust path behind each attestation (see README, The web of trust)."
as alice sig verify --why hello.c
note "A second fetch of an unchanged remote costs two 304s (key.asc and repo.json): nothing downloaded."
as alice sig fetch
as alice sig remote list
as alice sig status

note "A public index answers anyone: who vouched for this file? It runs on SQLite here."
"$INDEX" serve --db "sqlite:$work/index.db" --listen 127.0.0.1:0 --allow-private \
    >"$work/index.out" 2>"$work/index.log" &
index_pid=$!
for _ in $(seq 100); do grep -q listening "$work/index.out" 2>/dev/null && break; sleep 0.1; done
index=$(sed -n 's/.*\(http:[^ ]*\).*/\1/p' "$work/index.out")
echo "signet-index listening on $index"
note "Hello World tells the index where their repository is; it crawls it, checking every signature."
as world sig publish --announce "$index"
note "Carol follows nobody. She asks the index about hello.c: the word is shown, its signature checked on her machine, but it counts only once she trusts the key."
SIGNET_HOME="$work/carol" "$SIG" config index.urls "[\"$index\"]" >/dev/null
for _ in $(seq 100); do
    SIGNET_HOME="$work/carol" "$SIG" lookup --json hello.c 2>/dev/null | grep -q '"checked": 1' && break
    sleep 0.1
done
as carol sig lookup hello.c
as carol sig trust add "${world_key: -16}"
as carol sig lookup hello.c
note "Done: every signature above is an OpenPGP signature gpg can check (see README)."
