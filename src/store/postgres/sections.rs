//! The sections table.

use sqlx::{PgConnection, PgPool};

use crate::domain::Section;
use crate::store::sections::{Alias, SectionChange, SectionRow};

// `latest_at` and the scheduled count come from the (section_id,
// published_at) index: seeks per section, never a scan. A section whose
// articles are all scheduled is not listed yet.
pub async fn read_list(db: &PgPool) -> sqlx::Result<Vec<Section>> {
    Ok(read_all(db)
        .await?
        .into_iter()
        .filter(|s| s.article_count > 0 && s.latest_at.is_some())
        .collect())
}

pub async fn read_all(db: &PgPool) -> sqlx::Result<Vec<Section>> {
    let now = crate::store::now_unix();
    let rows = sqlx::query_as!(
        SectionRow,
        r#"SELECT s.id AS "id!", s.name, s.slug, s.description, s.position, s.hidden,
                  s.article_count - (SELECT COUNT(*) FROM articles a
                                     WHERE a.section_id = s.id AND a.published_at > $1) AS "article_count!: i64",
                  (SELECT MAX(a.published_at) FROM articles a
                   WHERE a.section_id = s.id AND a.published_at <= $1) AS "latest_at: i64"
           FROM sections s
           ORDER BY s.position ASC NULLS LAST, s.slug COLLATE "C""#,
        now
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Section::from).collect())
}

pub async fn by_slug(db: &PgPool, slug: &str) -> sqlx::Result<Option<Section>> {
    let now = crate::store::now_unix();
    let row = sqlx::query_as!(
        SectionRow,
        r#"SELECT s.id AS "id!", s.name, s.slug, s.description, s.position, s.hidden,
                  s.article_count - (SELECT COUNT(*) FROM articles a
                                     WHERE a.section_id = s.id AND a.published_at > $1) AS "article_count!: i64",
                  (SELECT MAX(a.published_at) FROM articles a
                   WHERE a.section_id = s.id AND a.published_at <= $1) AS "latest_at: i64"
           FROM sections s WHERE s.slug = $2"#,
        now,
        slug
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(Section::from))
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

pub async fn update(conn: &mut PgConnection, id: i64, change: &SectionChange<'_>) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE sections SET name = $1, slug = $2, description = $3, position = $4, hidden = $5 WHERE id = $6",
        change.name,
        change.slug,
        change.description,
        change.position,
        change.hidden,
        id
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(done == 1)
}

pub async fn read_aliases(db: &PgPool) -> sqlx::Result<Vec<Alias>> {
    sqlx::query_as!(
        Alias,
        "SELECT a.slug AS alias, s.slug, s.name FROM section_aliases AS a JOIN sections AS s ON s.id = a.section_id"
    )
    .fetch_all(db)
    .await
}

pub async fn add_alias(conn: &mut PgConnection, slug: &str, section_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO section_aliases (slug, section_id) VALUES ($1, $2)
         ON CONFLICT (slug) DO UPDATE SET section_id = excluded.section_id",
        slug,
        section_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM section_aliases WHERE slug IN (SELECT slug FROM sections WHERE id = $1)",
        section_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn merge(conn: &mut PgConnection, from: i64, into: i64) -> sqlx::Result<()> {
    // No article is stored into `from` meanwhile: ingest takes this lock.
    sqlx::query!("SELECT pg_advisory_xact_lock($1)", super::locks::INGEST)
        .execute(&mut *conn)
        .await?;
    // Each reader's read marks as they were: where `into`'s horizon says
    // otherwise than `from`'s did, the article is marked (a mark already
    // there stays).
    sqlx::query!(
        "INSERT INTO article_states (user_id, article_id, read)
         SELECT r.user_id, a.id, a.id <= COALESCE(hf.read_through, 0)
         FROM (SELECT DISTINCT user_id FROM read_horizons WHERE section_id IN ($1, $2)) r
         JOIN articles a ON a.section_id = $1
         LEFT JOIN read_horizons hf ON hf.user_id = r.user_id AND hf.section_id = $1
         LEFT JOIN read_horizons hi ON hi.user_id = r.user_id AND hi.section_id = $2
         WHERE (a.id <= COALESCE(hf.read_through, 0)) <> (a.id <= COALESCE(hi.read_through, 0))
         ON CONFLICT (user_id, article_id) DO UPDATE SET read = COALESCE(article_states.read, excluded.read)",
        from,
        into
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE users SET state_version = state_version + 1
         WHERE id IN (SELECT user_id FROM read_horizons WHERE section_id IN ($1, $2))",
        from,
        into
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("UPDATE articles SET section_id = $1 WHERE section_id = $2", into, from)
        .execute(&mut *conn)
        .await?;
    // A story both sections listed is listed once: its first version.
    sqlx::query!(
        "UPDATE articles SET listed = FALSE
         WHERE section_id = $1 AND listed
           AND EXISTS (SELECT 1 FROM story_members m
                       JOIN story_members o ON o.story_id = m.story_id AND o.article_id < m.article_id
                       JOIN articles b ON b.id = o.article_id AND b.section_id = $1 AND b.listed
                       WHERE m.article_id = articles.id)",
        into
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE section_aliases SET section_id = $1 WHERE section_id = $2",
        into,
        from
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO section_aliases (slug, section_id) SELECT slug, $1 FROM sections WHERE id = $2
         ON CONFLICT (slug) DO UPDATE SET section_id = excluded.section_id",
        into,
        from
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("DELETE FROM sections WHERE id = $1", from)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn feed_section_names(conn: &mut PgConnection) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!("SELECT DISTINCT f.section FROM feeds AS f")
        .fetch_all(conn)
        .await
}

pub async fn rename_in_feeds(conn: &mut PgConnection, names: &[String], name: &str) -> sqlx::Result<()> {
    sqlx::query!("UPDATE feeds SET section = $1 WHERE section = ANY($2)", name, names)
        .execute(conn)
        .await?;
    Ok(())
}
