//! The index's database: one schema on SQLite (embedded, one file, WAL: the default) and on
//! PostgreSQL (beyond one machine: crawl jobs claimed with `FOR UPDATE SKIP LOCKED`, so that
//! crawlers on many machines never fetch one repository at once). One API over both (sqlx's
//! `Any`); the SQL is written once, in the subset both engines read, and the few places they
//! differ are named here. One store differs: SQLite keeps the by-id key in two parts (schema
//! version 3, `schema::SQLITE_ID_PARTS`), which its lookups read.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use signet_proto::index::{Found, Repository};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row as _};

mod schema;
mod writer;
pub use schema::{id_hash, key_order};

/// Which engine a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgresql",
        }
    }
}

/// The database, and which engine it is.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    pub engine: Engine,
    /// SQLite has one writer at a time, and a transaction that read before it writes fails
    /// at once (busy) when another wrote meanwhile: this process's writers take turns here
    /// instead. PostgreSQL needs no turns.
    writing: Arc<tokio::sync::Mutex<()>>,
    /// Told after each commit of crawls' records, for SQLite's `checkpoints`.
    written: Arc<tokio::sync::Notify>,
    /// Told after each commit of crawls' records: when the repositories they leave claimed
    /// are next due changes (`Store::recorded`).
    recorded: Arc<tokio::sync::Notify>,
    /// When PostgreSQL is next asked to gather the table's statistics.
    statistics: Arc<std::sync::Mutex<Statistics>>,
    /// SQLite's writer of the crawls' records (`writer`); none on PostgreSQL, where each crawl
    /// commits its own.
    queue: Option<Arc<writer::Queue>>,
    /// SQLite: words in the by-id key's new part (schema version 3), about; settled into the
    /// other part once there are [`Store::settle_at`].
    unsettled: Arc<std::sync::atomic::AtomicU64>,
    /// [`Store::SETTLE_AT`]; a test settles sooner.
    settle_at: u64,
}

/// PostgreSQL plans a lookup from statistics of the table, gathered by autovacuum about
/// a minute after a table changed by a tenth. A first crawl fills it from nothing far
/// faster: just after a million attestations came in, a request for 1,000 ids took 99–208
/// ms with no statistics and 27.5 ms with them (the query for 500 ids: 43.6 ms against
/// 12.7 ms, `EXPLAIN ANALYZE`). The index asks for them itself each time the rows it inserted have doubled
/// what it counted at the last gathering: a handful of `ANALYZE`s in any load, none once
/// the table has stopped growing fast.
#[derive(Debug, Default)]
struct Statistics {
    /// Rows inserted by this process since it last asked.
    since: u64,
    /// Rows it had inserted when it last asked.
    at: u64,
}

impl Statistics {
    /// Below this many new rows, the planner's guesses serve.
    const FIRST: u64 = 10_000;

    /// Counts `rows` inserted; true when it is time to gather statistics again.
    fn inserted(&mut self, rows: u64) -> bool {
        self.since += rows;
        if self.since < self.at.max(Self::FIRST) {
            return false;
        }
        self.at += self.since;
        self.since = 0;
        true
    }
}

/// Copies SQLite's log into the database file, on a connection of its own, while the
/// crawler goes on writing. Left to the commit that crosses a threshold (SQLite's
/// default), the copy and its fsync held up the one writer every few crawls: a fifth to a
/// quarter of its time while 300,000 to 1,000,000 attestations came in. A passive
/// checkpoint never blocks the writer or a reader; one a second at most, as the log grows.
///
/// The log starts again from its beginning only after a checkpoint that copied all of it,
/// which one racing a busy writer never does: the bulk is copied beside the writer, then
/// the few pages it wrote meanwhile in the writers' turn, so that the log starts again
/// rather than growing to the threshold.
async fn checkpoints(
    pool: AnyPool,
    writing: Arc<tokio::sync::Mutex<()>>,
    written: Arc<tokio::sync::Notify>,
) {
    let checkpoint = || async {
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!("copying the log into the database: {e:#}");
        }
    };
    loop {
        written.notified().await;
        checkpoint().await;
        {
            let _turn = writing.lock().await;
            checkpoint().await;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// A repository's row, as the crawler needs it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub url: String,
    /// The record of the last accepted copy (`signet_core::accept::RemoteRecord`), as JSON.
    pub record: Option<String>,
    pub failures: i64,
}

impl Store {
    /// Opens (creating it if need be) the database `url` names — `sqlite:PATH` or
    /// `postgres://…` — and brings its schema up to date.
    pub async fn open(url: &str) -> anyhow::Result<Store> {
        let store = Store::connect(url).await?;
        store.migrate().await?;
        if store.engine == Engine::Sqlite {
            let row = sqlx::query("SELECT COUNT(*) AS n FROM attestation_ids_new")
                .fetch_one(&store.pool)
                .await?;
            store.unsettled.store(
                row.try_get::<i64, _>("n")? as u64,
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        Ok(store)
    }

    /// The database `url` names, its schema as it is.
    async fn connect(url: &str) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let (engine, url) = if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.trim_start_matches("//");
            if path.is_empty() {
                bail!("`sqlite:` names no file: give `sqlite:PATH`, such as sqlite:index.db");
            }
            (Engine::Sqlite, format!("sqlite://{path}?mode=rwc"))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Engine::Postgres, url.to_owned())
        } else {
            bail!("{url:?} is not a database this index uses: give sqlite:PATH or postgres://…");
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if engine == Engine::Sqlite { 4 } else { 16 })
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if engine == Engine::Sqlite {
                        // With WAL, a commit waits for no fsync of the database (the log is
                        // synced at checkpoints); a power loss may lose the last crawls,
                        // which the next round fetches again, and never corrupts the file.
                        sqlx::query("PRAGMA synchronous=NORMAL")
                            .execute(&mut *connection)
                            .await?;
                        // The by-id index takes inserts all over: with SQLite's default 2 MB
                        // page cache a crawl re-read its pages from the kernel for each
                        // repository. Pages are read through a map of the file instead (one
                        // copy, the kernel's, shared by every connection). The log is copied
                        // into the file by `checkpoints`, beside the writer; the commit that
                        // finds it past 256 MB does it itself, should that fall behind. A
                        // statement of many rows keeps what it would undo in memory, not in
                        // a temporary file (6% of the writer's time at a million).
                        for pragma in [
                            "PRAGMA temp_store=MEMORY",
                            "PRAGMA cache_size=-32768",
                            "PRAGMA mmap_size=1073741824",
                            "PRAGMA wal_autocheckpoint=65536",
                            // What the log grew to, should it have, is given back.
                            "PRAGMA journal_size_limit=67108864",
                        ] {
                            sqlx::query(pragma).execute(&mut *connection).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .with_context(|| format!("opening the {} database", engine.name()))?;
        let mut store = Store {
            pool,
            engine,
            writing: Arc::default(),
            written: Arc::default(),
            recorded: Arc::default(),
            statistics: Arc::default(),
            queue: None,
            unsettled: Arc::default(),
            settle_at: Self::SETTLE_AT,
        };
        if engine == Engine::Sqlite {
            // Readers never wait for the crawler's writes; kept in the file once set.
            sqlx::query("PRAGMA journal_mode=WAL")
                .execute(&store.pool)
                .await?;
            tokio::spawn(checkpoints(
                store.pool.clone(),
                store.writing.clone(),
                store.written.clone(),
            ));
            store.queue = Some(Arc::new(writer::Queue::start(store.clone())));
        }
        Ok(store)
    }

    /// For tests of the migrations: a database at schema `version`, with `statements` run on
    /// it (each with its text parameters, `$1`…), on a runtime of its own.
    #[cfg(feature = "test-hooks")]
    pub fn prepare_at_version(
        url: &str,
        version: usize,
        statements: &[(&str, &[&str])],
    ) -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let store = Store::connect(url).await?;
            store.migrate_to(version).await?;
            for (statement, texts) in statements {
                let statement = store.sql(statement);
                let mut query = sqlx::query(&statement);
                for text in *texts {
                    query = query.bind(*text);
                }
                query.execute(&store.pool).await?;
            }
            store.pool.close().await;
            Ok(())
        })
    }

    /// This process's turn to write, on SQLite.
    async fn turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.engine {
            Engine::Sqlite => Some(self.writing.lock().await),
            Engine::Postgres => None,
        }
    }

    /// `$1`-style placeholders, as PostgreSQL reads them; SQLite reads the same numbers as
    /// `?1`.
    fn sql(&self, text: &str) -> String {
        match self.engine {
            Engine::Postgres => text.to_owned(),
            Engine::Sqlite => text.replace('$', "?"),
        }
    }

    /// `count` placeholders for the parameters numbered from `first`, bound in that order:
    /// `$first, …` on PostgreSQL, anonymous `?`s on SQLite (which numbers each one past the
    /// highest before it). Binding to a numbered SQLite parameter looks its name up in a list:
    /// over a statement of a thousand parameters that lookup was most of an insert's time.
    fn placeholders(&self, first: usize, count: usize) -> String {
        let mut text = String::with_capacity(count * 6);
        for n in first..first + count {
            if n > first {
                text.push_str(", ");
            }
            match self.engine {
                Engine::Postgres => write!(text, "${n}").unwrap(),
                Engine::Sqlite => text.push('?'),
            }
        }
        text
    }

    /// `rows` parenthesised groups of `columns` placeholders, numbered from 1.
    fn rows_of_placeholders(&self, rows: usize, columns: usize) -> String {
        (0..rows)
            .map(|row| format!("({})", self.placeholders(row * columns + 1, columns)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Adds a repository to crawl, due at once. False if it was known.
    pub async fn add_repository(&self, url: &str, source: &str, now: i64) -> anyhow::Result<bool> {
        let _turn = self.turn().await;
        let added = sqlx::query(&self.sql(
            "INSERT INTO repositories (url, source, added, next_crawl) VALUES ($1, $2, $3, $3)
             ON CONFLICT (url) DO NOTHING",
        ))
        .bind(url)
        .bind(source)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(added.rows_affected() > 0)
    }

    /// Claims up to `n` repositories due for a crawl, for `lease` seconds: no other crawler
    /// (another task, another process, another machine on the same PostgreSQL) claims them
    /// meanwhile. The lease also bounds how long a crawler that died holds one. On
    /// PostgreSQL the rows chosen are locked, skipping those another claim holds, and the
    /// claim is checked again on the row it updates: two claims never take one repository.
    pub async fn claim_due(&self, n: usize, now: i64, lease: i64) -> anyhow::Result<Vec<Claimed>> {
        let _turn = self.turn().await;
        let lock = match self.engine {
            Engine::Postgres => "FOR UPDATE SKIP LOCKED",
            // One writer at a time on SQLite: the UPDATE below is the claim.
            Engine::Sqlite => "",
        };
        let rows = sqlx::query(&self.sql(&format!(
            "UPDATE repositories SET claimed_until = $1 + $2
             WHERE claimed_until <= $1 AND url IN (
                 SELECT url FROM repositories
                 WHERE dropped IS NULL AND next_crawl <= $1 AND claimed_until <= $1
                 ORDER BY next_crawl LIMIT $3 {lock}
             )
             RETURNING url, record, failures"
        )))
        .bind(now)
        .bind(lease)
        .bind(n as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Claimed {
                    url: r.try_get("url")?,
                    record: r.try_get("record")?,
                    failures: r.try_get("failures")?,
                })
            })
            .collect()
    }

    /// Returns once crawls' records were committed since the last call: a crawl handed to
    /// SQLite's writer leaves its repository claimed, and due when it is committed.
    pub async fn recorded(&self) {
        self.recorded.notified().await
    }

    /// The soonest a repository is due, for the crawler to sleep until.
    pub async fn next_due(&self) -> anyhow::Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT MIN(CASE WHEN claimed_until > next_crawl THEN claimed_until ELSE next_crawl END)
             AS due FROM repositories WHERE dropped IS NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("due")?)
    }

    /// Records an accepted copy: its record, the certificates it brought, the attestations it
    /// holds (replacing what the repository held before, when `attestations` is given) and
    /// when it is due next. On SQLite the record is handed to the one writer (`writer`),
    /// which commits it with others; on PostgreSQL it is committed here.
    pub async fn accepted(&self, copy: AcceptedCopy) -> anyhow::Result<()> {
        match &self.queue {
            Some(queue) => queue.push(copy).await,
            None => self.commit(&[&copy]).await,
        }
    }

    /// Records crawls in one transaction: their new words inserted together, in the order of
    /// the by-id index, so that each of its pages is changed once, in turn.
    async fn commit(&self, copies: &[&AcceptedCopy]) -> anyhow::Result<()> {
        let _turn = self.turn().await;
        let mut tx = self.pool.begin().await?;
        let mut new = Vec::new();
        for copy in copies {
            for (fingerprint, armored) in &copy.certificates {
                self.keep_certificate(&mut tx, fingerprint, armored, copy.now)
                    .await?;
            }
            if let Some(attestations) = &copy.attestations {
                let changed = self.changed(&mut tx, &copy.url, attestations).await?;
                new.extend(changed.into_iter().map(|a| (*copy, a)));
            }
            sqlx::query(&self.sql(
                "UPDATE repositories SET record = $2, pinned = $3, serial = $4, last_success = $5,
                     last_error = NULL, failures = 0, next_crawl = $6, claimed_until = 0,
                     attestations = COALESCE($7, attestations)
                 WHERE url = $1",
            ))
            .bind(&copy.url)
            .bind(&copy.record)
            .bind(&copy.pinned)
            .bind(copy.serial)
            .bind(&copy.when)
            .bind(copy.next_crawl)
            .bind(copy.attestations.as_ref().map(|a| a.len() as i64))
            .execute(&mut *tx)
            .await?;
        }
        let inserted = new.len();
        self.insert(&mut tx, new).await?;
        tx.commit().await?;
        if self.engine == Engine::Sqlite {
            let unsettled = self
                .unsettled
                .fetch_add(inserted as u64, std::sync::atomic::Ordering::Relaxed);
            if unsettled + inserted as u64 >= self.settle_at {
                // Still in this process's turn to write. The crawls are recorded whatever
                // comes of it: words not settled are read from the new part, and settled at
                // the next commit.
                if let Err(e) = self.settle().await {
                    tracing::warn!("settling the by-id key's new part: {e:#}");
                }
            }
        }
        self.written.notify_one();
        self.recorded.notify_one();
        if self.engine == Engine::Postgres
            && self
                .statistics
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .inserted(inserted as u64)
        {
            // Beside the crawl, which need not wait for it.
            let pool = self.pool.clone();
            tokio::spawn(async move {
                if let Err(e) = sqlx::query("ANALYZE attestations").execute(&pool).await {
                    tracing::warn!("gathering the attestations' statistics: {e:#}");
                }
            });
        }
        Ok(())
    }

    /// Words in SQLite's new part of the by-id key at which it is settled: about 14 MB of
    /// pages, which the page cache holds. A settling writes every page of the settled part
    /// once (at ten million words, about 300 MB), so it comes rarely enough that this costs
    /// a word less than filing it in one large key did.
    const SETTLE_AT: u64 = 500_000;

    /// SQLite: the by-id key's new part moved into the settled part, in the key's order, in
    /// one transaction (schema version 3): a lookup, one statement over both parts, finds each
    /// word in one part or the other, never in both or neither. The caller holds the turn to
    /// write.
    async fn settle(&self) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        let mut tx = self.pool.begin().await?;
        let moved = sqlx::query(
            "INSERT INTO attestation_ids (id_hash, key_order, entry)
             SELECT id_hash, key_order, entry FROM attestation_ids_new
             ORDER BY id_hash, key_order, entry",
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("DELETE FROM attestation_ids_new")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.unsettled
            .store(0, std::sync::atomic::Ordering::Relaxed);
        tracing::debug!(
            words = moved,
            took = ?started.elapsed(),
            "settled the by-id key's new part"
        );
        Ok(())
    }

    /// What must change for the repository's rows to be the copy's attestations, touching only
    /// what changed: a new copy that adds one word to a million costs one insert, and what was
    /// seen before keeps its first sighting. Deletes what went; returns what is new.
    async fn changed<'a>(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        url: &str,
        attestations: &'a [Kept],
    ) -> anyhow::Result<Vec<&'a Kept>> {
        let held = sqlx::query(
            &self.sql("SELECT content_id, key, envelope FROM attestations WHERE repository = $1"),
        )
        .bind(url)
        .fetch_all(&mut **tx)
        .await?;
        let mut held: HashMap<(String, String), String> = held
            .iter()
            .map(|r| {
                Ok((
                    (r.try_get("content_id")?, r.try_get("key")?),
                    r.try_get("envelope")?,
                ))
            })
            .collect::<anyhow::Result<_>>()?;
        let mut new = Vec::new();
        for a in attestations {
            match held.remove(&(a.content_id.clone(), a.key.clone())) {
                Some(envelope) if envelope == a.envelope => {}
                Some(_) => {
                    // The key's word changed: the old row goes, the new one comes, seen now.
                    self.delete_attestation(tx, url, &a.content_id, &a.key)
                        .await?;
                    new.push(a);
                }
                None => new.push(a),
            }
        }
        // What is left was in the repository and is no more.
        for (content_id, key) in held.keys() {
            self.delete_attestation(tx, url, content_id, key).await?;
        }
        Ok(new)
    }

    /// Inserts new words, each `(the copy it came in, the word)`, in the order of the by-id
    /// index, which takes them all over: each of its pages is changed once, in turn, not
    /// visited again and again.
    async fn insert(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        new: Vec<(&AcceptedCopy, &Kept)>,
    ) -> anyhow::Result<()> {
        let mut new: Vec<(i64, i64, &AcceptedCopy, &Kept)> = new
            .into_iter()
            .map(|(copy, a)| (id_hash(&a.content_id), key_order(&a.key), copy, a))
            .collect();
        new.sort_unstable_by_key(|&(id, key, ..)| (id, key));
        // Many rows a statement: a first crawl of a large repository is a few hundred
        // round trips, not one per attestation.
        const ROWS: usize = 200;
        for batch in new.chunks(ROWS) {
            let statement = format!(
                "INSERT INTO attestations (id_hash, key_order, content_id, key, repository,
                     signed_at, envelope, seen)
                 VALUES {}",
                self.rows_of_placeholders(batch.len(), 8)
            );
            let mut query = sqlx::query(&statement);
            for &(id, order, copy, a) in batch {
                query = query
                    .bind(id)
                    .bind(order)
                    .bind(&a.content_id)
                    .bind(&a.key)
                    .bind(&copy.url)
                    .bind(a.signed_at)
                    .bind(&a.envelope)
                    .bind(copy.now);
            }
            query.execute(&mut **tx).await?;
        }
        Ok(())
    }

    async fn delete_attestation(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        url: &str,
        content_id: &str,
        key: &str,
    ) -> anyhow::Result<()> {
        sqlx::query(&self.sql(
            "DELETE FROM attestations WHERE repository = $1 AND content_id = $2 AND key = $3",
        ))
        .bind(url)
        .bind(content_id)
        .bind(key)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Records a crawl that failed (the copy held stays) and when to try again.
    pub async fn failed(
        &self,
        url: &str,
        why: &str,
        failures: i64,
        next_crawl: i64,
    ) -> anyhow::Result<()> {
        let _turn = self.turn().await;
        sqlx::query(&self.sql(
            "UPDATE repositories SET last_error = $2, failures = $3, next_crawl = $4,
                 claimed_until = 0 WHERE url = $1",
        ))
        .bind(url)
        .bind(why)
        .bind(failures)
        .bind(next_crawl)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stops crawling a repository that turned hostile, keeping why for the list. What it
    /// published before stays (each word was checked when it came).
    pub async fn drop_repository(&self, url: &str, why: &str) -> anyhow::Result<()> {
        let _turn = self.turn().await;
        sqlx::query(&self.sql(
            "UPDATE repositories SET dropped = $2, last_error = $2, claimed_until = 0 WHERE url = $1",
        ))
        .bind(url)
        .bind(why)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The armored certificates held of these keys, asked a few hundred at a time.
    pub async fn certificates(&self, keys: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        for chunk in keys.chunks(IN_CHUNK) {
            let statement = self.sql(&format!(
                "SELECT fingerprint, armored FROM certificates WHERE fingerprint IN ({})",
                self.placeholders(1, chunk.len())
            ));
            let mut query = sqlx::query(&statement);
            for key in chunk {
                query = query.bind(key);
            }
            for row in query.fetch_all(&self.pool).await? {
                out.insert(row.try_get("fingerprint")?, row.try_get("armored")?);
            }
        }
        Ok(out)
    }

    /// Keeps what is known of a key, merged with what is held: it only grows, whichever
    /// crawls (in this process or another on the same PostgreSQL) brought copies of it at
    /// once. A copy the same as the one held writes nothing.
    async fn keep_certificate(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        fingerprint: &str,
        armored: &str,
        now: i64,
    ) -> anyhow::Result<()> {
        let lock = match self.engine {
            Engine::Postgres => " FOR UPDATE",
            Engine::Sqlite => "",
        };
        // Twice at most: a row another process inserted between the read and the insert is
        // read again and merged.
        for _ in 0..2 {
            let held: Option<String> = sqlx::query(&self.sql(&format!(
                "SELECT armored FROM certificates WHERE fingerprint = $1{lock}"
            )))
            .bind(fingerprint)
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| r.try_get("armored"))
            .transpose()?;
            let Some(held) = held else {
                let inserted = sqlx::query(&self.sql(
                    "INSERT INTO certificates (fingerprint, armored, updated) VALUES ($1, $2, $3)
                     ON CONFLICT (fingerprint) DO NOTHING",
                ))
                .bind(fingerprint)
                .bind(armored)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                if inserted.rows_affected() > 0 {
                    return Ok(());
                }
                continue;
            };
            let Some(merged) = merged_certificate(&held, armored) else {
                return Ok(());
            };
            sqlx::query(
                &self.sql(
                    "UPDATE certificates SET armored = $2, updated = $3 WHERE fingerprint = $1",
                ),
            )
            .bind(fingerprint)
            .bind(merged)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            return Ok(());
        }
        bail!("the certificate of {fingerprint} changed under every attempt to keep it")
    }

    /// Up to `limit` attestations about `id`, by key after `after`.
    pub async fn by_id(
        &self,
        id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<Vec<(String, Found)>> {
        let after = after.unwrap_or("");
        let statement = match self.engine {
            Engine::Postgres => "SELECT key, envelope, repository, seen FROM attestations
                 WHERE id_hash = $1 AND content_id = $2 AND (key_order, key) > ($3, $4)
                 ORDER BY key_order, key, repository LIMIT $5"
                .to_owned(),
            // The first `limit` of each part of the by-id key, then the first `limit` of both:
            // each part is read in its order and no further than it must be.
            Engine::Sqlite => {
                let part = |table: &str| {
                    format!(
                        "SELECT * FROM (
                             SELECT a.key_order, a.key, a.envelope, a.repository, a.seen
                             FROM {table} i JOIN attestations a ON a.entry = i.entry
                             WHERE i.id_hash = ?1 AND i.key_order >= ?3 AND a.content_id = ?2
                                 AND (a.key_order, a.key) > (?3, ?4)
                             ORDER BY i.key_order, a.key, a.repository LIMIT ?5)"
                    )
                };
                format!(
                    "SELECT key, envelope, repository, seen FROM (
                         {} UNION ALL {}
                     ) ORDER BY key_order, key, repository LIMIT ?5",
                    part("attestation_ids"),
                    part("attestation_ids_new")
                )
            }
        };
        let rows = sqlx::query(&statement)
            .bind(id_hash(id))
            .bind(id)
            .bind(key_order(after))
            .bind(after)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("key")?, found(r)?)))
            .collect()
    }

    /// Up to `limit` attestations about each of `ids` (by key), in one query per few hundred
    /// ids: a lockfile's thousand ids are a handful of round trips.
    pub async fn by_ids(
        &self,
        ids: &[String],
        limit: usize,
    ) -> anyhow::Result<HashMap<String, Vec<(String, Found)>>> {
        let mut out: HashMap<String, Vec<(String, Found)>> = HashMap::new();
        for chunk in ids.chunks(IN_CHUNK) {
            let statement = match self.engine {
                // Each id's first `limit` rows read from the by-id index, whatever the
                // planner's statistics say: with a window, PostgreSQL scanned the whole key
                // for 500 ids after a bulk crawl, before its statistics caught up (208 ms for
                // 1,000 ids at 1,000,000 attestations; 8 ms once analysed), and an id with
                // 100,000 words would have been read whole to rank them.
                Engine::Postgres => format!(
                    "SELECT ids.content_id, a.key, a.envelope, a.repository, a.seen
                     FROM (VALUES {}) AS ids (id_hash, content_id) CROSS JOIN LATERAL (
                         SELECT key, envelope, repository, seen FROM attestations
                         WHERE attestations.id_hash = ids.id_hash
                             AND attestations.content_id = ids.content_id
                         ORDER BY key_order, key, repository LIMIT ${}
                     ) a ORDER BY ids.content_id, a.key, a.repository",
                    self.rows_of_placeholders(chunk.len(), 2),
                    2 * chunk.len() + 1
                ),
                // SQLite has no LATERAL: the asked ids' words, found in both parts of the
                // by-id key, are ranked. A word about another id that shares a number is
                // ranked beside the asked one's and dropped below.
                Engine::Sqlite => format!(
                    "WITH asked (id_hash) AS (VALUES {})
                     SELECT content_id, key, envelope, repository, seen FROM (
                         SELECT content_id, key, envelope, repository, seen, ROW_NUMBER() OVER (
                             PARTITION BY content_id ORDER BY key_order, key, repository) AS n
                         FROM attestations WHERE entry IN (
                             SELECT entry FROM attestation_ids WHERE id_hash IN asked
                             UNION ALL
                             SELECT entry FROM attestation_ids_new WHERE id_hash IN asked)
                     ) ranked WHERE n <= ? ORDER BY content_id, key, repository",
                    vec!["(?)"; chunk.len()].join(", ")
                ),
            };
            let mut query = sqlx::query(&statement);
            for id in chunk {
                query = query.bind(id_hash(id));
                if self.engine == Engine::Postgres {
                    query = query.bind(id);
                }
            }
            let asked: std::collections::HashSet<&str> = chunk.iter().map(String::as_str).collect();
            for r in query.bind(limit as i64).fetch_all(&self.pool).await? {
                let content_id: String = r.try_get("content_id")?;
                if !asked.contains(content_id.as_str()) {
                    continue;
                }
                out.entry(content_id)
                    .or_default()
                    .push((r.try_get("key")?, found(&r)?));
            }
        }
        Ok(out)
    }

    /// Up to `limit` attestations signed by `key`, by content id after `after`.
    pub async fn by_key(
        &self,
        key: &str,
        after: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<Vec<(String, Found)>> {
        let rows = sqlx::query(&self.sql(
            "SELECT content_id, envelope, repository, seen FROM attestations
             WHERE key = $1 AND content_id > $2 ORDER BY content_id, repository LIMIT $3",
        ))
        .bind(key)
        .bind(after.unwrap_or(""))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("content_id")?, found(r)?)))
            .collect()
    }

    /// A page of repositories, by URL after `after`.
    pub async fn repositories(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<Vec<Repository>> {
        let rows = sqlx::query(&self.sql(
            "SELECT url, source, pinned, serial, attestations, last_success, last_error, dropped
             FROM repositories WHERE url > $1 ORDER BY url LIMIT $2",
        ))
        .bind(after.unwrap_or(""))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Repository {
                    url: r.try_get("url")?,
                    source: r.try_get("source")?,
                    key: r.try_get("pinned")?,
                    serial: r.try_get::<Option<i64>, _>("serial")?.map(|s| s as u64),
                    attestations: r.try_get::<i64, _>("attestations")? as u64,
                    last_success: r.try_get("last_success")?,
                    last_error: r.try_get("last_error")?,
                    dropped: r.try_get("dropped")?,
                })
            })
            .collect()
    }

    /// How many repositories, attestations and keys are held. Attestations are summed from
    /// each repository's count (kept with its rows, in the same transaction), not counted:
    /// a count of the rows reads an index of millions, and anyone may ask for health.
    pub async fn counts(&self) -> anyhow::Result<(u64, u64, u64)> {
        let count = |query: &'static str| {
            let pool = self.pool.clone();
            async move {
                let row = sqlx::query(query).fetch_one(&pool).await?;
                anyhow::Ok(row.try_get::<i64, _>("n")? as u64)
            }
        };
        Ok((
            count("SELECT COUNT(*) AS n FROM repositories").await?,
            count("SELECT CAST(COALESCE(SUM(attestations), 0) AS BIGINT) AS n FROM repositories")
                .await?,
            count("SELECT COUNT(*) AS n FROM certificates").await?,
        ))
    }
}

/// Values asked in one `IN (…)`: well under both engines' parameter limits.
const IN_CHUNK: usize = 500;

fn found(r: &AnyRow) -> anyhow::Result<Found> {
    let envelope: String = r.try_get("envelope")?;
    Ok(Found {
        attestation: serde_json::value::RawValue::from_string(envelope)
            .context("a stored envelope")?,
        repository: r.try_get("repository")?,
        seen: r.try_get::<i64, _>("seen")? as u64,
    })
}

/// One checked attestation to keep: its envelope as published.
#[derive(Debug, Clone)]
pub struct Kept {
    pub content_id: String,
    pub key: String,
    pub signed_at: i64,
    pub envelope: String,
}

/// What a crawl that accepted a copy records.
pub struct AcceptedCopy {
    pub url: String,
    pub record: String,
    pub pinned: String,
    pub serial: i64,
    pub when: String,
    pub now: i64,
    pub next_crawl: i64,
    /// The copy's attestations, when it is not the copy already held.
    pub attestations: Option<Vec<Kept>>,
    /// `(fingerprint, armored)` of each certificate the copy brought.
    pub certificates: Vec<(String, String)>,
}

impl AcceptedCopy {
    fn words(&self) -> usize {
        self.attestations.as_ref().map_or(0, Vec::len)
    }
}

/// `held` with what `new` adds to it (both armored certificates of one key), or `None` when
/// `new` adds nothing or is not a certificate. A held copy that no longer parses is replaced.
fn merged_certificate(held: &str, new: &str) -> Option<String> {
    let new_cert = signet_core::cert::parse_cert(new.as_bytes()).ok()?;
    let Ok(held_cert) = signet_core::cert::parse_cert(held.as_bytes()) else {
        return Some(new.to_owned());
    };
    let mut keyring = signet_core::keyring::Keyring::default();
    keyring.learn(held_cert);
    let merged = keyring.merged(new_cert);
    let armored = String::from_utf8_lossy(&signet_core::cert::armored_public(&merged)).into_owned();
    (armored != held).then_some(armored)
}

#[cfg(test)]
mod tests {
    use super::{AcceptedCopy, Kept, Statistics, Store, merged_certificate};
    use sequoia_openpgp as openpgp;

    /// A copy of `url` holding `words`, each `(content id, key)`.
    fn copy(url: &str, words: &[(&str, &str)]) -> AcceptedCopy {
        AcceptedCopy {
            url: url.into(),
            record: "{}".into(),
            pinned: "K".into(),
            serial: 1,
            when: "2026-12-07T00:00:00Z".into(),
            now: 1,
            next_crawl: 1,
            attestations: Some(
                words
                    .iter()
                    .map(|(id, key)| Kept {
                        content_id: (*id).into(),
                        key: (*key).into(),
                        signed_at: 1,
                        envelope: format!(r#"{{"id":"{id}","key":"{key}"}}"#),
                    })
                    .collect(),
            ),
            certificates: Vec::new(),
        }
    }

    /// SQLite's by-id key in two parts (schema version 3): words found whichever part holds
    /// them, in the stated order, paged without a word lost or repeated; words gone from a
    /// repository gone from both parts.
    #[tokio::test]
    async fn words_are_found_in_both_parts_of_the_by_id_key() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("index.db").display());
        let mut store = Store::open(&url).await.unwrap();
        // Settled once four words are new.
        store.settle_at = 4;
        let (a, b) = ("sha256:aa", "sha256:bb");
        // Settled: r1's four words.
        let r1 = [(a, "K3"), (a, "K1"), (b, "K1"), (a, "K5")];
        store.commit(&[&copy("r1", &r1)]).await.unwrap();
        // New: r2's two (K1 again, from another repository) and r3's one.
        store
            .commit(&[
                &copy("r2", &[(a, "K1"), (a, "K4")]),
                &copy("r3", &[(a, "K2")]),
            ])
            .await
            .unwrap();
        let count = |table: &'static str| {
            let pool = store.pool.clone();
            async move {
                let row = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                sqlx::Row::try_get::<i64, _>(&row, "n").unwrap()
            }
        };
        assert_eq!(
            (
                count("attestation_ids").await,
                count("attestation_ids_new").await
            ),
            (4, 3),
            "the test reads both parts"
        );
        let all = |found: Vec<(String, signet_proto::index::Found)>| {
            found
                .into_iter()
                .map(|(key, f)| format!("{key}@{}", f.repository))
                .collect::<Vec<_>>()
        };
        let expected = ["K1@r1", "K1@r2", "K2@r3", "K3@r1", "K4@r2", "K5@r1"];
        assert_eq!(all(store.by_id(a, None, 10).await.unwrap()), expected);
        // Paged by key, two at a time: every key once, in order.
        let mut paged = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = store.by_id(a, after.as_deref(), 2).await.unwrap();
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            paged.extend(all(page));
        }
        assert_eq!(paged, expected, "paged after a key");
        let many = store
            .by_ids(&[a.to_owned(), b.to_owned(), "sha256:cc".into()], 4)
            .await
            .unwrap();
        assert_eq!(all(many[a].clone()), expected[..4]);
        assert_eq!(all(many[b].clone()), ["K1@r1"]);
        assert!(!many.contains_key("sha256:cc"));
        // r1 drops K3's word about a (settled) and r2 K4's (new): gone from both parts.
        store
            .commit(&[
                &copy("r1", &[(a, "K1"), (b, "K1"), (a, "K5")]),
                &copy("r2", &[(a, "K1")]),
            ])
            .await
            .unwrap();
        assert_eq!(
            all(store.by_id(a, None, 10).await.unwrap()),
            ["K1@r1", "K1@r2", "K2@r3", "K5@r1"]
        );
        assert_eq!(
            count("attestation_ids").await + count("attestation_ids_new").await,
            count("attestations").await
        );
    }

    /// What is kept of a key only grows: a copy without the revocation held adds nothing, one
    /// with a revocation not held adds it, whichever crawl wrote first.
    #[test]
    fn a_certificate_kept_only_grows() {
        let (cert, _) = openpgp::cert::CertBuilder::new()
            .add_userid("Mallory <m@example.org>")
            .add_signing_subkey()
            .generate()
            .unwrap();
        let mut signer = cert
            .primary_key()
            .key()
            .clone()
            .parts_into_secret()
            .unwrap()
            .into_keypair()
            .unwrap();
        let revocation = openpgp::cert::CertRevocationBuilder::new()
            .set_reason_for_revocation(openpgp::types::ReasonForRevocation::KeyCompromised, b"")
            .unwrap()
            .build(&mut signer, &cert, None)
            .unwrap();
        let revoked = cert.clone().insert_packets(revocation).unwrap().0;
        let armored =
            |c: &openpgp::Cert| String::from_utf8(signet_core::cert::armored_public(c)).unwrap();
        let (plain, revoked) = (armored(&cert), armored(&revoked));
        assert_eq!(merged_certificate(&revoked, &plain), None);
        assert_eq!(merged_certificate(&revoked, &revoked), None);
        let merged = merged_certificate(&plain, &revoked).expect("the revocation is added");
        let merged = signet_core::cert::parse_cert(merged.as_bytes()).unwrap();
        assert_eq!(merged.primary_key().self_revocations().count(), 1);
        // Not a certificate: what is held stays.
        assert_eq!(merged_certificate(&revoked, "not a key"), None);
    }

    #[test]
    fn statistics_are_gathered_as_the_rows_inserted_double() {
        let mut statistics = Statistics::default();
        // A repository of a thousand at a time, a million in all.
        let asked: Vec<u64> = (1..=1000u64)
            .filter(|_| statistics.inserted(1000))
            .map(|n| n * 1000)
            .collect();
        assert_eq!(
            asked,
            [10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 640_000]
        );
        // Small changes to a large table ask for nothing more.
        let mut later = Statistics::default();
        assert!(later.inserted(1_000_000));
        assert!((0..999).all(|_| !later.inserted(1000)));
        assert!(later.inserted(1000));
    }
}
