//! The sections table.

use sqlx::{PgConnection, PgPool};

use crate::domain::{Section, listing::from_unix};

// `latest_at` comes from the (section_id, published_at) index: one seek
// per section, never a scan. A section whose articles are all scheduled
// is not listed yet.
pub async fn read_list(db: &PgPool) -> sqlx::Result<Vec<Section>> {
    let now = crate::store::now_unix();
    let rows = sqlx::query!(
        r#"SELECT id AS "id!", name, slug, article_count, latest_at AS "latest_at: i64"
           FROM (SELECT s.id, s.name, s.slug, s.article_count,
                        (SELECT MAX(a.published_at) FROM articles a
                         WHERE a.section_id = s.id AND a.published_at <= $1) AS latest_at
                 FROM sections s
                 WHERE s.article_count > 0) listed
           WHERE latest_at IS NOT NULL
           ORDER BY slug COLLATE "C""#,
        now
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Section {
            id: r.id,
            name: r.name,
            slug: r.slug,
            article_count: r.article_count,
            latest_at: r.latest_at.map(from_unix),
        })
        .collect())
}

pub async fn by_slug(db: &PgPool, slug: &str) -> sqlx::Result<Option<Section>> {
    let now = crate::store::now_unix();
    let row = sqlx::query!(
        r#"SELECT s.id AS "id!", s.name, s.slug, s.article_count,
                  (SELECT MAX(a.published_at) FROM articles a
                   WHERE a.section_id = s.id AND a.published_at <= $1) AS "latest_at: i64"
           FROM sections s WHERE s.slug = $2"#,
        now,
        slug
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Section {
        id: r.id,
        name: r.name,
        slug: r.slug,
        article_count: r.article_count,
        latest_at: r.latest_at.map(from_unix),
    }))
}

pub async fn ensure_many(conn: &mut PgConnection, sections: &[(&str, &str)], now: i64) -> sqlx::Result<()> {
    let (names, slugs): (Vec<&str>, Vec<&str>) = sections.iter().copied().unzip();
    // The ingest lock first (the article insert takes it too): each run of
    // a group creates its sections, then judges its articles' identities,
    // then inserts. Taken only at the insert, two groups holding the same
    // story (feeds often share entries) both judged it new and the second
    // failed on the unique key; and a group split into runs could hold a
    // new section's key while waiting for the lock another group held.
    // From here on groups judge and write one at a time, as on SQLite's
    // single writer. Held until the transaction ends.
    sqlx::query!("SELECT pg_advisory_xact_lock($1)", super::locks::INGEST)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "INSERT INTO sections (name, slug, created_at)
         SELECT name, slug, $3 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS s (name, slug, n)
         ORDER BY n
         ON CONFLICT (slug) DO NOTHING",
        &names as &[&str],
        &slugs as &[&str],
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn rename(conn: &mut PgConnection, id: i64, name: &str) -> sqlx::Result<bool> {
    let done = sqlx::query!("UPDATE sections SET name = $1 WHERE id = $2", name, id)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(done == 1)
}
