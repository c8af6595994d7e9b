//! A reader's own labels on stories, put there from a reader app
//! (Google Reader's `user/-/label/NAME`). The tags articles arrive with
//! are shared and read-only; these are each reader's own.

use crate::error::AppError;
use crate::store::{self, Db};

const MAX_LABEL_CHARS: usize = 100;

fn check(label: &str) -> Result<&str, AppError> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > MAX_LABEL_CHARS || label.contains('/') {
        return Err(AppError::invalid(
            "label",
            format!("a label has 1 to {MAX_LABEL_CHARS} characters and no slash"),
        ));
    }
    Ok(label)
}

/// Puts a label on (or, with `on` false, takes it off) published
/// articles; unknown ids are skipped. Returns how many were found.
pub async fn set(db: &Db, user_id: i64, ids: &[i64], label: &str, on: bool) -> Result<usize, AppError> {
    let label = check(label)?;
    db.writer
        .transaction(async |conn| {
            let mut done = 0;
            for &id in ids {
                if store::reading::published_section(conn, id).await?.is_none() {
                    continue;
                }
                if on {
                    store::streams::add_label(conn, user_id, label, id).await?;
                } else {
                    store::streams::remove_label(conn, user_id, label, id).await?;
                }
                done += 1;
            }
            Ok::<_, AppError>(done)
        })
        .await
}

/// Renames one of a reader's labels; NotFound when they have none so named.
pub async fn rename(db: &Db, user_id: i64, from: &str, to: &str) -> Result<(), AppError> {
    let (from, to) = (check(from)?, check(to)?);
    let moved = db
        .writer
        .transaction(async |conn| store::streams::rename_label(conn, user_id, from, to).await)
        .await?;
    if moved == 0 {
        return Err(AppError::NotFound("label"));
    }
    Ok(())
}

/// Removes one of a reader's labels from every story; NotFound when they
/// have none so named.
pub async fn delete(db: &Db, user_id: i64, label: &str) -> Result<(), AppError> {
    let label = check(label)?;
    let removed = db
        .writer
        .transaction(async |conn| store::streams::delete_label(conn, user_id, label).await)
        .await?;
    if removed == 0 {
        return Err(AppError::NotFound("label"));
    }
    Ok(())
}
