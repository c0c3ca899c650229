//! Who asked for `verdict.changed` notifications, and delivering them without ever waiting
//! for a client: each connection has a bounded queue, and one that falls behind is cut off.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use signet_proto::api::VerdictChanged;
use tokio::sync::{Notify, mpsc};

/// The receiving end, held by the connection that subscribed.
pub struct Inbox {
    pub connection: u64,
    pub notifications: mpsc::Receiver<Arc<VerdictChanged>>,
    /// Signalled when the queue overflowed: the connection is to be closed.
    pub cut_off: Arc<Notify>,
}

struct Subscription {
    connection: u64,
    under: PathBuf,
    queue: mpsc::Sender<Arc<VerdictChanged>>,
    cut_off: Arc<Notify>,
}

#[derive(Default)]
pub struct Subscribers {
    next_connection: AtomicU64,
    list: Mutex<Vec<Subscription>>,
}

impl Subscribers {
    /// Subscribes a connection to changes under `under`, creating its inbox on first use.
    pub fn add(&self, inbox: &mut Option<Inbox>, under: PathBuf, capacity: usize) {
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        let (queue, cut_off) = match inbox {
            Some(inbox) => {
                let existing = list
                    .iter()
                    .find(|s| s.connection == inbox.connection)
                    .expect("a connection with an inbox has a subscription");
                (existing.queue.clone(), existing.cut_off.clone())
            }
            None => {
                let (queue, notifications) = mpsc::channel(capacity.max(1));
                let cut_off = Arc::new(Notify::new());
                let connection = self.next_connection.fetch_add(1, Ordering::Relaxed);
                *inbox = Some(Inbox {
                    connection,
                    notifications,
                    cut_off: cut_off.clone(),
                });
                (queue, cut_off)
            }
        };
        let connection = inbox.as_ref().map_or(0, |i| i.connection);
        if !list
            .iter()
            .any(|s| s.connection == connection && s.under == under)
        {
            list.push(Subscription {
                connection,
                under,
                queue,
                cut_off,
            });
        }
    }

    /// Forgets a connection's subscriptions (it closed).
    pub fn remove_connection(&self, connection: u64) {
        self.list
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|s| s.connection != connection);
    }

    /// Whether anyone is subscribed at or under any ancestor of `path`.
    pub fn covers(&self, path: &Path) -> bool {
        self.list
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|s| path.starts_with(&s.under))
    }

    pub fn is_empty(&self) -> bool {
        self.list
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Queues each change for every subscription it falls under. Never waits: a connection
    /// whose queue is full is cut off and its subscriptions dropped.
    pub fn deliver(&self, changes: &[VerdictChanged]) {
        if changes.is_empty() {
            return;
        }
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        if list.is_empty() {
            return;
        }
        let mut cut = Vec::new();
        for change in changes {
            let change = Arc::new(change.clone());
            let mut sent_to = Vec::new();
            for s in list.iter() {
                if cut.contains(&s.connection)
                    || sent_to.contains(&s.connection)
                    || !change.path.starts_with(&s.under)
                {
                    continue;
                }
                sent_to.push(s.connection);
                match s.queue.try_send(change.clone()) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        tracing::warn!(
                            connection = s.connection,
                            "a subscriber fell {} notifications behind; disconnecting it",
                            s.queue.max_capacity()
                        );
                        s.cut_off.notify_one();
                        cut.push(s.connection);
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => cut.push(s.connection),
                }
            }
        }
        list.retain(|s| !cut.contains(&s.connection));
    }
}
