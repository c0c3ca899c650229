//! `sig` in a real terminal: a pseudo-terminal whose other end the test reads and types into,
//! for what `sig` does only when a person is there (prompts, hints, colour).

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};

use crate::wait_until;

/// A `sig` running with a terminal as its standard input, output and error.
pub struct Terminal {
    master: File,
    child: Child,
    /// Everything written to the terminal so far, as a person would see it (`\r\n` as `\n`),
    /// and whether it has closed (no process holds its other end any more).
    seen: Arc<Mutex<(String, bool)>>,
}

impl Terminal {
    /// Starts `cmd` in a new pseudo-terminal.
    pub fn start(mut cmd: Command) -> Terminal {
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
            .expect("open a pseudo-terminal");
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let name = ptsname(&master, Vec::new()).unwrap();
        let slave = || {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(name.to_str().unwrap())
                .expect("open the terminal's other end")
        };
        let child = cmd
            .stdin(Stdio::from(slave()))
            .stdout(Stdio::from(slave()))
            .stderr(Stdio::from(slave()))
            .spawn()
            .expect("spawn in a terminal");
        let master = File::from(master);
        let seen = Arc::new(Mutex::new((String::new(), false)));
        let mut reader = master.try_clone().unwrap();
        let shared = seen.clone();
        // Reads until the terminal closes: EIO once no process holds the other end (`sig`
        // starts its daemon with no terminal).
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]).replace("\r\n", "\n");
                shared.lock().unwrap().0.push_str(&text);
            }
            shared.lock().unwrap().1 = true;
        });
        Terminal {
            master,
            child,
            seen,
        }
    }

    /// What the terminal shows so far.
    pub fn seen(&self) -> String {
        self.seen.lock().unwrap().0.clone()
    }

    /// Waits until the terminal shows `text`; everything shown by then.
    pub fn wait_for(&self, text: &str) -> String {
        wait_until(
            &format!("{text:?} on the terminal (shown: {:?})", self.seen()),
            Duration::from_secs(20),
            || {
                let seen = self.seen();
                seen.contains(text).then_some(seen)
            },
        )
    }

    /// Types `line` and Enter.
    pub fn type_line(&mut self, line: &str) {
        self.master
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    /// Types Ctrl-D (end of input) at the start of a line.
    pub fn end_input(&mut self) {
        self.master.write_all(&[4]).unwrap();
    }

    /// Waits for `sig` to exit: its exit code and everything the terminal showed.
    pub fn finish(mut self) -> (i32, String) {
        let status = wait_until("sig to exit", Duration::from_secs(30), || {
            self.child.try_wait().unwrap()
        });
        // What it wrote last may still be on its way through the terminal.
        let shown = wait_until("the terminal to close", Duration::from_secs(10), || {
            let seen = self.seen.lock().unwrap();
            seen.1.then(|| seen.0.clone())
        });
        (status.code().unwrap_or(-1), shown)
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
