//! Where Signet keeps its files and its socket: the rules both binaries follow.

use std::ffi::OsString;
use std::path::PathBuf;

/// Whether a file or directory with these permission bits and group can be changed by
/// someone other than its owner: writable by everyone, or by a group other than the owner's
/// own (with user private groups, a umask of 002 makes files group-writable by a group of
/// one). What both binaries refuse under the home.
pub fn writable_by_others(mode: u32, gid: u32, own_gid: u32) -> bool {
    mode & 0o002 != 0 || (mode & 0o020 != 0 && gid != own_gid)
}

/// Whether a directory with these permission bits and owner is private to the user `me`: the
/// socket's directory must be, or someone else could bind the socket first and answer `sig`
/// in the daemon's place. The daemon refuses to bind in any other; `sig` refuses to connect.
pub fn private_to(mode: u32, owner: u32, me: u32) -> bool {
    owner == me && mode & 0o077 == 0
}

pub const ENV_HOME: &str = "SIGNET_HOME";
pub const ENV_SOCKET: &str = "SIGNET_SOCKET";

pub const REPO_DIR: &str = "repo";
pub const REPO_FILE: &str = "repo.json";
pub const KEY_FILE: &str = "key.asc";
pub const KEYS_DIR: &str = "keys";
pub const TRUST_FILE: &str = "trust.json";
pub const CONFIG_FILE: &str = "config.json";
pub const LOCK_FILE: &str = "signetd.lock";

/// What the running daemon writes in [`LOCK_FILE`]: its pid, then the socket it serves, a line
/// each (a file from before sockets were recorded names only the pid). Either is `None` when
/// missing or not what it should be: the file may have been written by anyone.
pub fn lock_holder(text: &str) -> (Option<u32>, Option<&str>) {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let pid = lines.next().and_then(|p| p.parse().ok());
    (pid, lines.next())
}
pub const LOG_FILE: &str = "signetd.log";
pub const SOCKET_FILE: &str = "signetd.sock";

/// The home and socket in force, from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locations {
    pub home: PathBuf,
    pub socket: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot tell where Signet's home is: set SIGNET_HOME or HOME")]
pub struct NoHome;

impl Locations {
    /// Resolves the locations from environment variables (passed in, so this stays pure):
    /// `SIGNET_HOME`, default `$HOME/.signet`; the socket `SIGNET_SOCKET`, else
    /// `$XDG_RUNTIME_DIR/signet/signetd.sock` for the default home, else
    /// `SIGNET_HOME/signetd.sock`.
    pub fn resolve(env: impl Fn(&str) -> Option<OsString>) -> Result<Self, NoHome> {
        let set = |name: &str| env(name).filter(|v| !v.is_empty());
        let (home, default_home) = match set(ENV_HOME) {
            Some(home) => (PathBuf::from(home), false),
            None => (
                PathBuf::from(set("HOME").ok_or(NoHome)?).join(".signet"),
                true,
            ),
        };
        let socket = match (set(ENV_SOCKET), set("XDG_RUNTIME_DIR")) {
            (Some(socket), _) => PathBuf::from(socket),
            (None, Some(runtime)) if default_home => {
                PathBuf::from(runtime).join("signet").join(SOCKET_FILE)
            }
            _ => home.join(SOCKET_FILE),
        };
        Ok(Locations { home, socket })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_owner_may_write() {
        assert!(!writable_by_others(0o700, 100, 100));
        assert!(
            !writable_by_others(0o664, 100, 100),
            "umask 002, the user's own group"
        );
        assert!(writable_by_others(0o664, 50, 100), "a shared group");
        assert!(writable_by_others(0o606, 100, 100), "everyone");
    }

    fn resolve(vars: &[(&str, &str)]) -> Result<Locations, NoHome> {
        Locations::resolve(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        })
    }

    #[test]
    fn socket_rules() {
        let l = resolve(&[("HOME", "/h"), ("XDG_RUNTIME_DIR", "/run/user/1")]).unwrap();
        assert_eq!(l.home, PathBuf::from("/h/.signet"));
        assert_eq!(l.socket, PathBuf::from("/run/user/1/signet/signetd.sock"));

        let l = resolve(&[
            ("HOME", "/h"),
            ("SIGNET_HOME", "/s"),
            ("XDG_RUNTIME_DIR", "/r"),
        ])
        .unwrap();
        assert_eq!(
            l.socket,
            PathBuf::from("/s/signetd.sock"),
            "a custom home keeps its socket"
        );

        let l = resolve(&[("HOME", "/h"), ("SIGNET_SOCKET", "/x.sock")]).unwrap();
        assert_eq!(l.socket, PathBuf::from("/x.sock"));

        let l = resolve(&[("HOME", "/h")]).unwrap();
        assert_eq!(l.socket, PathBuf::from("/h/.signet/signetd.sock"));

        assert_eq!(resolve(&[]), Err(NoHome));
    }
}
