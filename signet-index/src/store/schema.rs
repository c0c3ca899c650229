//! The schema, one step per version, applied in order and recorded in `signet_schema`: a
//! database is only ever moved forward. Each step is plain SQL both engines read; or, where a
//! value must be computed from the rows (a digest neither engine offers alike), Rust; or, where
//! one engine stores a thing its own way (SQLite's by-id key, version 3), that engine's SQL,
//! the other keeping what it had.

use anyhow::bail;
use sha2::{Digest as _, Sha256};
use sqlx::Row as _;

use super::{Engine, Store};

/// One version of the schema.
enum Step {
    Sql(&'static str),
    /// Version 2: the attestations found by a compact key ([`id_hash`], [`key_order`]).
    CompactIdKey,
    /// Statements run on SQLite alone, in order; on PostgreSQL the version changes nothing.
    Sqlite(&'static [&'static str]),
}

const STEPS: &[Step] = &[
    // 1: repositories, what they hold, and what is known of every key.
    Step::Sql(
        "CREATE TABLE repositories (
            url TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            added BIGINT NOT NULL,
            record TEXT,
            pinned TEXT,
            serial BIGINT,
            attestations BIGINT NOT NULL DEFAULT 0,
            last_success TEXT,
            last_error TEXT,
            failures BIGINT NOT NULL DEFAULT 0,
            dropped TEXT,
            next_crawl BIGINT NOT NULL,
            claimed_until BIGINT NOT NULL DEFAULT 0
        );
        CREATE INDEX repositories_due ON repositories (next_crawl);
        CREATE TABLE attestations (
            content_id TEXT NOT NULL,
            key TEXT NOT NULL,
            repository TEXT NOT NULL,
            signed_at BIGINT NOT NULL,
            envelope TEXT NOT NULL,
            seen BIGINT NOT NULL,
            PRIMARY KEY (content_id, key, repository)
        );
        CREATE INDEX attestations_by_key ON attestations (key, content_id);
        CREATE INDEX attestations_by_repository ON attestations (repository);
        CREATE TABLE certificates (
            fingerprint TEXT PRIMARY KEY,
            armored TEXT NOT NULL,
            updated BIGINT NOT NULL
        );",
    ),
    // 2: see `compact_id_key`.
    Step::CompactIdKey,
    // 3: see `SQLITE_ID_PARTS`.
    Step::Sqlite(SQLITE_ID_PARTS),
];

/// The attestations table from version 2 on, and its indexes. Words about one id are found by
/// `attestations_by_id`, 16 bytes an entry where version 1's key held the id, the key and the
/// repository (about 150): every new word lands on a random page of that index, and SQLite's
/// log takes a whole page for each page a commit changed, so its size is what an ingest writes.
/// Uniqueness is kept by repository, whose words arrive together and in order.
const ATTESTATIONS: &str = "CREATE TABLE attestations_v2 (
        id_hash BIGINT NOT NULL,
        key_order BIGINT NOT NULL,
        content_id TEXT NOT NULL,
        key TEXT NOT NULL,
        repository TEXT NOT NULL,
        signed_at BIGINT NOT NULL,
        envelope TEXT NOT NULL,
        seen BIGINT NOT NULL
    )";
const ATTESTATIONS_INDEXES: &str = "
    CREATE INDEX attestations_by_id ON attestations (id_hash, key_order);
    CREATE UNIQUE INDEX attestations_in_repository ON attestations (repository, content_id, key);
    CREATE INDEX attestations_by_key ON attestations (key, content_id)";

/// Version 3, on SQLite: the by-id key in two parts, a small one that takes new words and a
/// settled one that takes the small one's whole, in order, now and then (`Store::settle`).
///
/// With one by-id index, every new word lands on a random page of it, and SQLite's log takes
/// a whole page for each page a commit changed: at ten million words, tens of thousands of
/// pages, a commit of 20,000 words changes most of a page a word, and the ingest fell to 68%
/// of the signature-checking floor's rate (docs/PERFORMANCE.md, the index at ten million).
/// The new part stays within the page cache and a commit's words share its pages; a settling
/// writes each page of the settled part once for hundreds of thousands of words. Lookups read
/// both parts. PostgreSQL, which logs rows and not pages, keeps version 2's index.
///
/// Each part is a table of `(id_hash, key_order, entry)`, `entry` the attestation's row
/// (`INTEGER PRIMARY KEY`, so that no `VACUUM` renumbers it); triggers file each row inserted
/// and unfile each row deleted, so the parts cannot disagree with the table.
const SQLITE_ID_PARTS: &[&str] = &[
    "CREATE TABLE attestations_v3 (
        entry INTEGER PRIMARY KEY,
        id_hash BIGINT NOT NULL,
        key_order BIGINT NOT NULL,
        content_id TEXT NOT NULL,
        key TEXT NOT NULL,
        repository TEXT NOT NULL,
        signed_at BIGINT NOT NULL,
        envelope TEXT NOT NULL,
        seen BIGINT NOT NULL
    )",
    "INSERT INTO attestations_v3 (id_hash, key_order, content_id, key, repository, signed_at,
         envelope, seen)
     SELECT id_hash, key_order, content_id, key, repository, signed_at, envelope, seen
     FROM attestations ORDER BY rowid",
    "DROP TABLE attestations",
    "ALTER TABLE attestations_v3 RENAME TO attestations",
    "CREATE UNIQUE INDEX attestations_in_repository ON attestations (repository, content_id, key)",
    "CREATE INDEX attestations_by_key ON attestations (key, content_id)",
    "CREATE TABLE attestation_ids (
        id_hash BIGINT NOT NULL,
        key_order BIGINT NOT NULL,
        entry BIGINT NOT NULL,
        PRIMARY KEY (id_hash, key_order, entry)
    ) WITHOUT ROWID",
    "CREATE TABLE attestation_ids_new (
        id_hash BIGINT NOT NULL,
        key_order BIGINT NOT NULL,
        entry BIGINT NOT NULL,
        PRIMARY KEY (id_hash, key_order, entry)
    ) WITHOUT ROWID",
    "INSERT INTO attestation_ids (id_hash, key_order, entry)
     SELECT id_hash, key_order, entry FROM attestations ORDER BY id_hash, key_order, entry",
    "CREATE TRIGGER attestations_filed AFTER INSERT ON attestations BEGIN
        INSERT INTO attestation_ids_new (id_hash, key_order, entry)
        VALUES (NEW.id_hash, NEW.key_order, NEW.entry);
     END",
    "CREATE TRIGGER attestations_unfiled AFTER DELETE ON attestations BEGIN
        DELETE FROM attestation_ids
        WHERE id_hash = OLD.id_hash AND key_order = OLD.key_order AND entry = OLD.entry;
        DELETE FROM attestation_ids_new
        WHERE id_hash = OLD.id_hash AND key_order = OLD.key_order AND entry = OLD.entry;
     END",
];

/// The number an attestation about `content_id` is found by: the first 8 bytes of the id's
/// SHA-256. Content ids are whatever publishers sign; a key of the id's own leading digits
/// would let anyone file any number of words beside a popular id, each of which a lookup of it
/// would read and pass over. Filing one beside a given id here takes a second preimage of 64
/// bits of SHA-256. Every lookup compares the id itself on the row.
pub fn id_hash(content_id: &str) -> i64 {
    let digest = Sha256::digest(content_id.as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// A number in the order of `key`'s text, for any text: its first 8 bytes (padded with zeros),
/// big-endian, shifted into `i64`'s range. `(key_order(a), a) < (key_order(b), b)` exactly when
/// `a < b`, so an id's words are read by key, and paged after one, from the compact index.
pub fn key_order(key: &str) -> i64 {
    let mut first = [0u8; 8];
    let n = key.len().min(8);
    first[..n].copy_from_slice(&key.as_bytes()[..n]);
    (u64::from_be_bytes(first) ^ (1 << 63)) as i64
}

impl Store {
    /// Brings the schema up to the newest version this index knows.
    pub(super) async fn migrate(&self) -> anyhow::Result<()> {
        self.migrate_to(STEPS.len()).await
    }

    /// Brings the schema up to `version` (tests start from an older one).
    pub(super) async fn migrate_to(&self, version: usize) -> anyhow::Result<()> {
        sqlx::query("CREATE TABLE IF NOT EXISTS signet_schema (version BIGINT NOT NULL)")
            .execute(&self.pool)
            .await?;
        let mut tx = self.pool.begin().await?;
        if self.engine == Engine::Postgres {
            // Several index processes may start at once on one database: one migrates.
            sqlx::query("LOCK TABLE signet_schema IN EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
        }
        let at: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM signet_schema")
            .fetch_one(&mut *tx)
            .await?
            .try_get("v")?;
        if at as usize > STEPS.len() {
            bail!(
                "the database's schema is version {at}, newer than this signet-index knows ({}): \
                 run a newer signet-index",
                STEPS.len()
            );
        }
        for (n, step) in STEPS.iter().enumerate().take(version).skip(at as usize) {
            match step {
                Step::Sql(sql) => execute_all(&mut tx, sql).await?,
                Step::CompactIdKey => self.compact_id_key(&mut tx).await?,
                Step::Sqlite(statements) => {
                    if self.engine == Engine::Sqlite {
                        for statement in *statements {
                            sqlx::query(statement).execute(&mut *tx).await?;
                        }
                    }
                }
            }
            sqlx::query(&self.sql("INSERT INTO signet_schema (version) VALUES ($1)"))
                .bind(n as i64 + 1)
                .execute(&mut *tx)
                .await?;
            if n > 0 {
                tracing::info!(version = n + 1, "the database's schema moved forward");
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Version 2: the attestations moved into a table found by [`id_hash`] and [`key_order`],
    /// computed for each row held, a few hundred at a time in the order of version 1's key.
    async fn compact_id_key(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    ) -> anyhow::Result<()> {
        sqlx::query(ATTESTATIONS).execute(&mut **tx).await?;
        let mut after = (String::new(), String::new(), String::new());
        loop {
            let rows = sqlx::query(&self.sql(
                "SELECT content_id, key, repository, signed_at, envelope, seen FROM attestations
                 WHERE (content_id, key, repository) > ($1, $2, $3)
                 ORDER BY content_id, key, repository LIMIT 500",
            ))
            .bind(&after.0)
            .bind(&after.1)
            .bind(&after.2)
            .fetch_all(&mut **tx)
            .await?;
            let Some(last) = rows.last() else { break };
            after = (
                last.try_get("content_id")?,
                last.try_get("key")?,
                last.try_get("repository")?,
            );
            let statement = format!(
                "INSERT INTO attestations_v2 (id_hash, key_order, content_id, key, repository,
                     signed_at, envelope, seen) VALUES {}",
                self.rows_of_placeholders(rows.len(), 8)
            );
            let mut query = sqlx::query(&statement);
            for row in &rows {
                let content_id: String = row.try_get("content_id")?;
                let key: String = row.try_get("key")?;
                query = query
                    .bind(id_hash(&content_id))
                    .bind(key_order(&key))
                    .bind(content_id)
                    .bind(key)
                    .bind(row.try_get::<String, _>("repository")?)
                    .bind(row.try_get::<i64, _>("signed_at")?)
                    .bind(row.try_get::<String, _>("envelope")?)
                    .bind(row.try_get::<i64, _>("seen")?);
            }
            query.execute(&mut **tx).await?;
        }
        execute_all(
            tx,
            "DROP TABLE attestations; ALTER TABLE attestations_v2 RENAME TO attestations",
        )
        .await?;
        execute_all(tx, ATTESTATIONS_INDEXES).await
    }
}

async fn execute_all(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    statements: &str,
) -> anyhow::Result<()> {
    for statement in statements.split(';').filter(|s| !s.trim().is_empty()) {
        sqlx::query(statement).execute(&mut **tx).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_keeps_the_order_of_the_text() {
        let keys = [
            "",
            "0",
            "0000000000000000",
            "00000000000000000",
            "0A",
            "19",
            "1A",
            "AECE0000",
            "AECE00000000000000000000000000000000B00D",
            "AECE00000000000000000000000000000000B00E",
            "F",
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
            "a",
            "\u{7f}",
            "é",
        ];
        for a in keys {
            for b in keys {
                assert_eq!(
                    (key_order(a), a).cmp(&(key_order(b), b)),
                    a.cmp(b),
                    "{a:?} against {b:?}"
                );
            }
        }
    }

    #[test]
    fn ids_are_hashed_not_cut() {
        // Two ids that share their first digits are far apart.
        let a = id_hash("sha256:0000000000000000000000000000000000000000000000000000000000000001");
        let b = id_hash("sha256:0000000000000000000000000000000000000000000000000000000000000002");
        assert_ne!(a >> 32, b >> 32);
    }
}
