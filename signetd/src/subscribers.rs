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
    /// False if the connection was cut off (it is being closed).
    pub fn add(&self, inbox: &mut Option<Inbox>, under: PathBuf, capacity: usize) -> bool {
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        let (queue, cut_off) = match inbox {
            Some(inbox) => {
                let Some(existing) = list.iter().find(|s| s.connection == inbox.connection) else {
                    return false;
                };
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
        true
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

#[cfg(test)]
mod tests {
    use super::*;
    use signet_proto::api::ChangeCause;

    fn change(path: &str) -> VerdictChanged {
        VerdictChanged {
            path: path.into(),
            id: None,
            verdict: None,
            cause: ChangeCause::Removed,
        }
    }

    #[test]
    fn changes_go_to_subscriptions_they_fall_under_and_a_full_queue_cuts_off() {
        let subscribers = Subscribers::default();
        let (mut near, mut far) = (None, None);
        assert!(subscribers.add(&mut near, "/src/a".into(), 2));
        assert!(subscribers.add(&mut near, "/src/a/deep".into(), 2));
        assert!(subscribers.add(&mut far, "/elsewhere".into(), 2));
        assert!(subscribers.covers(Path::new("/src/a/x")));
        assert!(
            !subscribers.covers(Path::new("/src/ab")),
            "components, not string prefixes"
        );

        // Under both of `near`'s subscriptions: queued once.
        subscribers.deliver(&[change("/src/a/deep/f"), change("/src/ab/g")]);
        let inbox = near.as_mut().unwrap();
        assert_eq!(
            inbox.notifications.try_recv().unwrap().path,
            Path::new("/src/a/deep/f")
        );
        assert!(inbox.notifications.try_recv().is_err());
        assert!(far.as_mut().unwrap().notifications.try_recv().is_err());

        // Three more for a queue of two: `near` is cut off and forgotten; `far` is untouched.
        subscribers.deliver(&[change("/src/a/1"), change("/src/a/2"), change("/src/a/3")]);
        assert!(!subscribers.covers(Path::new("/src/a/1")));
        assert!(subscribers.covers(Path::new("/elsewhere/1")));
        assert!(
            !subscribers.add(&mut near, "/src/b".into(), 2),
            "a cut-off connection cannot subscribe again"
        );
        let cut_off = near.as_ref().unwrap().cut_off.clone();
        let notified = cut_off.notified();
        tokio::pin!(notified);
        assert!(
            notified.as_mut().enable(),
            "the cut-off signal is waiting for the connection"
        );
    }
}
