#!/usr/bin/env bash
# The seed's walkthrough, end to end, in throwaway homes: two people, two daemons, one
# published repository. Needs only a Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "Building sig and signetd (the first build takes a few minutes)..."
cargo build --quiet --bins
SIG="$PWD/target/debug/sig"

work=$(mktemp -d "${TMPDIR:-/tmp}/signet-walkthrough.XXXXXX")
cleanup() {
    SIGNET_HOME="$work/alice" "$SIG" daemon stop >/dev/null 2>&1 || true
    SIGNET_HOME="$work/world" "$SIG" daemon stop >/dev/null 2>&1 || true
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
note "Done: every signature above is an OpenPGP signature gpg can check (see README)."
