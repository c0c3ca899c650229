//! SQLite's one writer, which commits the records of many crawls at once.
//!
//! Every new word lands on a random page of the by-id index, and SQLite's log takes a whole
//! page for each page a commit changed: a crawl of 1,000 words committed alone logs about
//! 1,000 pages of that index (4 KiB a word) once it holds a few hundred thousand words.
//! Committed together and in the index's order, the words of many crawls share its pages. So a
//! crawl hands its record here and goes on to the next repository — which stays claimed until
//! its record is written, and is fetched again when its lease ends should that fail — and the
//! writer commits whatever came while it wrote the last, up to [`Queue::MOST_WORDS`]. Under a
//! light load each crawl is committed alone, as soon as it comes. PostgreSQL logs rows, not
//! pages, and takes many writers: there, each crawl commits its own record.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::{AcceptedCopy, Store};

/// The records waiting for the writer, and the room left for more.
pub(super) struct Queue {
    sender: mpsc::UnboundedSender<Waiting>,
    /// Words that may wait: a crawl that finds no room waits for it, so that crawls faster
    /// than the writer are held back rather than held in memory.
    room: Arc<Semaphore>,
}

struct Waiting {
    copy: AcceptedCopy,
    _room: OwnedSemaphorePermit,
}

impl Queue {
    /// The words one commit takes at most: with the by-id key's new part at its largest
    /// (500,000 words, a few thousand pages), a commit of 20,000 logs about a quarter of a
    /// page a word at most.
    const MOST_WORDS: usize = 20_000;
    /// Words waiting at most (a word as kept is about 1 KB).
    const ROOM: usize = 2 * Self::MOST_WORDS;

    /// Starts the writer of `store`.
    pub(super) fn start(store: Store) -> Queue {
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(write(store, receiver));
        Queue {
            sender,
            room: Arc::new(Semaphore::new(Self::ROOM)),
        }
    }

    /// Hands a crawl's record to the writer, once there is room for its words.
    pub(super) async fn push(&self, copy: AcceptedCopy) -> anyhow::Result<()> {
        let words = copy.words().clamp(1, Self::ROOM) as u32;
        let room = self.room.clone().acquire_many_owned(words).await?;
        self.sender
            .send(Waiting { copy, _room: room })
            .map_err(|_| anyhow::anyhow!("the database's writer has stopped"))
    }
}

/// Commits what waits, a batch at a time, for as long as the index runs.
async fn write(store: Store, mut receiver: mpsc::UnboundedReceiver<Waiting>) {
    while let Some(first) = receiver.recv().await {
        let mut words = first.copy.words();
        let mut batch = vec![first];
        while words < Queue::MOST_WORDS {
            match receiver.try_recv() {
                Ok(next) => {
                    words += next.copy.words();
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        let copies: Vec<&AcceptedCopy> = batch.iter().map(|w| &w.copy).collect();
        if let Err(e) = store.commit(&copies).await {
            // One bad record must not lose the others': each is tried alone.
            tracing::warn!(crawls = copies.len(), "recording crawls together: {e:#}");
            for copy in &copies {
                if let Err(e) = store.commit(std::slice::from_ref(copy)).await {
                    tracing::error!(url = %copy.url, "recording the crawl (it is fetched again when its claim ends): {e:#}");
                }
            }
        }
        // Their room is given back.
        drop(batch);
    }
}
