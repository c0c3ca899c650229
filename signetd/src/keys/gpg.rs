//! Keys that stay in GnuPG: the certificate comes from `gpg --export` (binary, parsed by
//! sequoia, never gpg's human output), and signing runs `gpg --detach-sign` the way git signs
//! commits, with the user's terminal for pinentry when there is one. Nothing secret is ever
//! written under the home.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use sequoia_openpgp as openpgp;

use openpgp::Cert;
use openpgp::cert::CertParser;
use openpgp::parse::Parse;
use openpgp::types::RevocationStatus;
use serde::{Deserialize, Serialize};
use signet_proto::formats::KeyQuery;

use crate::keys::signature::POLICY;
use crate::keys::{self, SignWith};

/// What `keys/gpg.json` records: which key, in which keyring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpgSetup {
    pub fingerprint: String,
    /// The GNUPGHOME `sig setup` used; `None` for gpg's default.
    #[serde(default)]
    pub gnupghome: Option<PathBuf>,
}

fn gpg(gnupghome: Option<&PathBuf>) -> Command {
    let mut cmd = Command::new("gpg");
    if let Some(home) = gnupghome {
        cmd.env("GNUPGHOME", home);
    }
    cmd.args(["--batch", "--no-auto-check-trustdb"]);
    cmd
}

/// The one certificate in the user's GnuPG keyring that `keyid` names, checked fit to sign.
pub fn find_cert(keyid: &str, gnupghome: Option<&PathBuf>) -> anyhow::Result<Cert> {
    let cert = export_cert(keyid, gnupghome)?;
    check_usable(&cert)?;
    Ok(cert)
}

/// The one certificate in the user's GnuPG keyring that `keyid` names, as GnuPG holds it now
/// (revoked or not).
pub fn export_cert(keyid: &str, gnupghome: Option<&PathBuf>) -> anyhow::Result<Cert> {
    let query = KeyQuery::parse(keyid).map_err(|_| {
        anyhow!(
            "{keyid:?} is not a key id: give 8 or 16 hex digits (0x allowed) or a full fingerprint"
        )
    })?;
    let out = gpg(gnupghome)
        .args(["--export", query.as_str()])
        .stdin(Stdio::null())
        .output()
        .context("running gpg (is GnuPG installed?)")?;
    if !out.status.success() {
        bail!(
            "gpg --export failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let certs: Vec<Cert> = CertParser::from_bytes(&out.stdout)
        .context("reading gpg's export")?
        .collect::<Result<_, _>>()
        .context("reading gpg's export")?;
    let certs: Vec<Cert> = certs
        .into_iter()
        .filter(|c| {
            query.matches(&keys::fingerprint(c))
                || c.keys()
                    .any(|k| query.matches(&keys::to_fingerprint(&k.key().fingerprint())))
        })
        .collect();
    let where_ = gnupghome.map_or("the GnuPG keyring".to_owned(), |h| {
        format!("the GnuPG keyring in {}", h.display())
    });
    let cert = match certs.len() {
        0 => bail!("no key matching {} in {where_}", query.as_str()),
        1 => certs.into_iter().next().expect("one"),
        _ => {
            let list: Vec<String> = certs
                .iter()
                .map(|c| format!("  {} {}", keys::fingerprint(c), keys::user_id(c)))
                .collect();
            bail!(
                "{} matches several keys in {where_}; give more digits:\n{}",
                query.as_str(),
                list.join("\n")
            )
        }
    };
    Ok(cert)
}

/// Refuses a certificate that is revoked, expired, or has no key that may sign now.
pub fn check_usable(cert: &Cert) -> anyhow::Result<()> {
    let fpr = keys::fingerprint(cert);
    if let RevocationStatus::Revoked(_) = cert.revocation_status(&POLICY, None) {
        bail!(
            "key {fpr} is revoked, so Signet will not sign with it. If it is this home's key, \
             `sig revoke` publishes its revocation to everyone who follows you; to sign again, \
             set up another key (`sig setup --force --generate \"Name <mail>\"`, or \
             `sig setup --force KEYID`)"
        );
    }
    let valid = cert
        .with_policy(&POLICY, None)
        .with_context(|| format!("key {fpr} is not valid under the standard policy"))?;
    valid
        .alive()
        .map_err(|e| anyhow!("key {fpr} is expired or not yet valid: {e}"))?;
    if valid
        .keys()
        .alive()
        .revoked(false)
        .for_signing()
        .next()
        .is_none()
    {
        bail!("key {fpr} has no valid signing key (expired, revoked, or none that may sign)");
    }
    Ok(())
}

/// Signs through gpg.
pub struct GpgKey {
    cert: Cert,
    setup: GpgSetup,
    /// The user's terminal, for pinentry; without one, a key that needs its passphrase fails
    /// with a clear error instead of waiting for a prompt nobody sees.
    tty: Option<String>,
    /// How long one signing may take, a passphrase prompt included.
    deadline: Duration,
}

impl GpgKey {
    pub fn new(cert: Cert, setup: GpgSetup) -> Self {
        GpgKey {
            cert,
            setup,
            tty: None,
            deadline: Duration::from_secs(120),
        }
    }

    pub fn setup(&self) -> &GpgSetup {
        &self.setup
    }
}

/// The gpg processes signing right now, stopped when the daemon shuts down: a prompt nobody
/// answers must not keep a stopped daemon alive.
static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Stops every gpg this process started that is still signing.
pub fn stop_running() {
    let running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    for pid in running.iter() {
        if let Some(pid) = rustix::process::Pid::from_raw(*pid as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
}

/// A child in [`RUNNING`] while this lives.
struct Registered(u32);

impl Registered {
    fn new(pid: u32) -> Self {
        RUNNING.lock().unwrap_or_else(|e| e.into_inner()).push(pid);
        Registered(pid)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        RUNNING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| *p != self.0);
    }
}

impl GpgKey {
    /// Which key gpg signs with: the primary key itself (`FPR!`) when it may sign, so that the
    /// signature is made by the key the attestation's `key` names (the reference
    /// implementation accepts nothing else); otherwise gpg's choice of signing subkey.
    fn local_user(&self) -> String {
        let primary_signs = self
            .cert
            .with_policy(&POLICY, None)
            .is_ok_and(|valid| valid.primary_key().for_signing());
        if primary_signs {
            format!("{}!", self.setup.fingerprint)
        } else {
            self.setup.fingerprint.clone()
        }
    }

    /// Refuses a signature by a key the certificate Signet holds does not have: gpg picks the
    /// newest signing subkey, and one added in GnuPG since `sig setup` is unknown here (and to
    /// everyone who fetched the published key.asc).
    fn check_known_signer(&self, signature: &[u8]) -> anyhow::Result<()> {
        let Ok(openpgp::Packet::Signature(sig)) = openpgp::Packet::from_bytes(signature) else {
            return Ok(()); // not readable here: the verification that follows says why
        };
        let known = |issuer: &openpgp::KeyHandle| {
            self.cert
                .keys()
                .any(|k| k.key().key_handle().aliases(issuer))
        };
        if sig.get_issuers().iter().any(|i| !known(i)) {
            bail!(
                "gpg signed with a key that {} did not have when this home was set up (a \
                 subkey added in GnuPG since?): run `sig setup --force {}` to take in the \
                 updated key, and publish again",
                self.setup.fingerprint,
                self.setup.fingerprint
            );
        }
        Ok(())
    }
}

impl GpgKey {
    /// Waits for gpg to exit; kills it at the deadline (a passphrase prompt nobody answers).
    fn wait_within_deadline(
        &self,
        child: &mut std::process::Child,
    ) -> anyhow::Result<std::process::ExitStatus> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            if started.elapsed() >= self.deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "gpg did not finish signing with {} within {}s (a passphrase prompt nobody \
                     answered?); nothing was changed. Unlock the key in gpg-agent and try again, \
                     or raise gpg.sign_timeout_secs in config.json",
                    self.setup.fingerprint,
                    self.deadline.as_secs()
                );
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }
}

impl SignWith for GpgKey {
    fn sign_detached(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut cmd = gpg(self.setup.gnupghome.as_ref());
        match &self.tty {
            Some(tty) => {
                cmd.env("GPG_TTY", tty);
            }
            None => {
                cmd.args(["--pinentry-mode", "error"]);
            }
        }
        let mut child = cmd
            .args([
                "--detach-sign",
                "--local-user",
                &self.local_user(),
                "--output",
                "-",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("running gpg (is GnuPG installed?)")?;
        let _registered = Registered::new(child.id());
        // Input and output on their own threads: gpg may stop reading while it waits for a
        // passphrase, and the deadline below must hold whatever it does.
        let mut stdin = child.stdin.take().expect("piped");
        let message = message.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&message));
        let mut stdout = child.stdout.take().expect("piped");
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            stdout.read_to_end(&mut out).map(|_| out)
        });
        let mut stderr = child.stderr.take().expect("piped");
        let err_reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = (&mut stderr).take(64 << 10).read_to_end(&mut out);
            out
        });
        let status = self.wait_within_deadline(&mut child)?;
        let _ = writer.join();
        let out = reader
            .join()
            .map_err(|_| anyhow!("reading gpg's output failed"))??;
        let said = err_reader.join().unwrap_or_default();
        if !status.success() || out.is_empty() {
            let said = String::from_utf8_lossy(&said);
            let hint = if self.tty.is_none() {
                "; if the key needs its passphrase, run sig from a terminal (for pinentry) or unlock the key in gpg-agent first"
            } else {
                ""
            };
            bail!(
                "gpg could not sign with {}: {}{hint}",
                self.setup.fingerprint,
                said.trim()
            );
        }
        self.check_known_signer(&out)?;
        Ok(out)
    }

    fn cert(&self) -> &Cert {
        &self.cert
    }

    fn for_request(&self, tty: Option<String>, deadline: Duration) -> Arc<dyn SignWith> {
        Arc::new(GpgKey {
            cert: self.cert.clone(),
            setup: self.setup.clone(),
            tty,
            deadline,
        })
    }
}

/// Reads an exported secret key for the embedded keystore; refuses a passphrase-protected one.
pub fn import_secret(bytes: &[u8]) -> anyhow::Result<Cert> {
    let cert = Cert::from_bytes(bytes).context("not an OpenPGP key")?;
    if !cert.is_tsk() {
        bail!(
            "this file holds a public key only: export the secret key (gpg --export-secret-keys KEYID)"
        );
    }
    check_usable(&cert)?;
    Ok(cert)
}
