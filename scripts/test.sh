#!/usr/bin/env bash
# The whole test suite. The end-to-end tests use the real gpg and python3 (the reference
# implementation's tools) and a real PostgreSQL (the index's): installed here when missing, on
# Debian-like machines.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v gpg >/dev/null 2>&1 || missing+=(gnupg)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
command -v nvim >/dev/null 2>&1 || missing+=(neovim)    # a real editor for `sig lsp`
command -v man >/dev/null 2>&1 || missing+=(man-db)     # `sig man` rendered
command -v systemd-socket-activate >/dev/null 2>&1 || missing+=(systemd)  # socket activation
# The public index's tests start throwaway PostgreSQL clusters (initdb, pg_ctl).
command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
    || missing+=(postgresql)
if ((${#missing[@]})); then
    echo "installing test tools: ${missing[*]}"
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

# --workspace builds sig and signetd too, which the end-to-end tests run.
cargo test --workspace "$@"

# The harness stops every daemon it starts, even when a test panics: a daemon still running
# for a temporary home that is gone fails the run.
leftover=""
for pid in $(pgrep -x signetd || true); do
    # A daemon may exit between pgrep and this read: its environ is then gone, which is fine.
    home=$( (cat "/proc/$pid/environ" 2>/dev/null || true) | tr '\0' '\n' | sed -n 's/^SIGNET_HOME=//p')
    if [ -n "$home" ] && [ ! -d "$home" ]; then
        leftover+=" $pid ($home)"
        kill -9 "$pid" 2>/dev/null || true
    fi
done
if [ -n "$leftover" ]; then
    echo "daemons left running by the tests, for homes already deleted:$leftover" >&2
    exit 1
fi
