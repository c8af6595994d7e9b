//! Accounts: the people who sign in, their roles, and their sessions.
//! Articles are one shared library; accounts only add who is reading.

pub mod app_passwords;
pub mod password;
pub mod session;

use crate::error::AppError;
use crate::store::{self, Db};

pub const MAX_NAME_CHARS: usize = 64;

/// What an account may do: an admin manages Gazette (feeds, tokens,
/// users, settings); a reader reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Reader,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Reader => "reader",
        }
    }

    /// Stored values are written by Gazette; anything else reads as the
    /// lesser role.
    pub fn from_stored(value: &str) -> Self {
        if value == "admin" { Role::Admin } else { Role::Reader }
    }
}

/// A signed-in (or listed) person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
}

/// A user as `gazette user list` shows them.
#[derive(Debug, Clone)]
pub struct Listed {
    pub user: User,
    pub created_at: i64,
}

/// The name rules: what a person types at sign-in, so no spaces or
/// invisible characters, and short enough to show anywhere.
pub fn check_name(name: &str) -> Result<&str, AppError> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(AppError::invalid(
            "name",
            format!("the name must have 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AppError::invalid(
            "name",
            "the name must not hold spaces or control characters",
        ));
    }
    Ok(name)
}

pub async fn add(db: &Db, name: &str, password: String, role: Role) -> Result<User, AppError> {
    let name = check_name(name)?;
    let hash = password::hash(password).await?;
    let id = db
        .writer
        .transaction(async |conn| {
            store::users::insert(conn, name, &hash, role.as_str(), store::now_unix())
                .await
                .map_err(|err| match err {
                    sqlx::Error::Database(e) if e.is_unique_violation() => {
                        AppError::Conflict(format!("a user named {name:?} already exists"))
                    }
                    other => AppError::from(other),
                })
        })
        .await?;
    db.accounts_changed();
    Ok(User {
        id,
        name: name.to_owned(),
        role,
    })
}

pub async fn list(db: &Db) -> Result<Vec<Listed>, AppError> {
    Ok(store::users::list(&db.reader)
        .await?
        .into_iter()
        .map(|row| Listed {
            user: User {
                id: row.id,
                name: row.name,
                role: Role::from_stored(&row.role),
            },
            created_at: row.created_at,
        })
        .collect())
}

async fn find(db: &Db, name: &str) -> Result<store::users::UserRow, AppError> {
    store::users::by_name(&db.reader, name.trim())
        .await?
        .ok_or(AppError::NotFound("user"))
}

/// Sets a new password; every session of the user ends with the old one.
pub async fn set_password(db: &Db, name: &str, password: String) -> Result<(), AppError> {
    let user = find(db, name).await?;
    let hash = password::hash(password).await?;
    db.writer
        .transaction(async |conn| store::users::set_password(conn, user.id, &hash).await)
        .await?;
    db.accounts_changed();
    Ok(())
}

/// Removes a user; their sessions end at once (the next request of any of
/// their browsers is anonymous).
pub async fn remove(db: &Db, name: &str) -> Result<(), AppError> {
    let user = find(db, name).await?;
    db.writer
        .transaction(async |conn| {
            keep_an_admin(conn, &user).await?;
            Ok::<_, AppError>(store::users::delete(conn, user.id).await?)
        })
        .await?;
    db.accounts_changed();
    Ok(())
}

/// Makes a user an admin or a reader.
pub async fn set_role(db: &Db, name: &str, role: Role) -> Result<(), AppError> {
    let user = find(db, name).await?;
    db.writer
        .transaction(async |conn| {
            if role == Role::Reader {
                keep_an_admin(conn, &user).await?;
            }
            Ok::<_, AppError>(store::users::set_role(conn, user.id, role.as_str()).await?)
        })
        .await?;
    db.accounts_changed();
    Ok(())
}

/// Refuses to take away the last admin: nobody could manage Gazette from
/// the browser any more.
async fn keep_an_admin(conn: &mut store::Tx<'_>, user: &store::users::UserRow) -> Result<(), AppError> {
    if user.role == Role::Admin.as_str() && store::users::admin_count(conn).await? <= 1 {
        return Err(AppError::Conflict(format!(
            "{} is the only admin: make another user an admin first",
            user.name
        )));
    }
    Ok(())
}

/// The account with this name, if there is one.
pub async fn by_name(db: &Db, name: &str) -> Result<Option<User>, AppError> {
    Ok(store::users::by_name(&db.reader, name.trim()).await?.map(|r| User {
        id: r.id,
        name: r.name,
        role: Role::from_stored(&r.role),
    }))
}

/// The user with this name and password, if they match. An unknown name
/// takes as long as a wrong password (see `password::verify`), and both
/// answer the same None.
pub async fn authenticate(db: &Db, name: &str, password: String) -> Result<Option<User>, AppError> {
    let row = store::users::by_name(&db.reader, name.trim()).await?;
    let stored = row.as_ref().map(|r| r.password_hash.clone());
    if !password::verify(password, stored).await {
        return Ok(None);
    }
    Ok(row.map(|r| User {
        id: r.id,
        name: r.name,
        role: Role::from_stored(&r.role),
    }))
}

/// For a container's first start: creates the configured admin when no
/// user exists yet, and never touches an existing one.
pub async fn ensure_first_admin(db: &Db, name: &str, password: Option<String>) -> anyhow::Result<()> {
    if store::users::count(&db.reader).await? > 0 {
        return Ok(());
    }
    let password = password.ok_or_else(|| {
        anyhow::anyhow!(
            "GAZETTE_ADMIN_USER is set but no password is: set GAZETTE_ADMIN_PASSWORD or GAZETTE_ADMIN_PASSWORD_FILE"
        )
    })?;
    add(db, name, password, Role::Admin)
        .await
        .map_err(|err| anyhow::anyhow!("cannot create the first admin {name:?}: {}", err.body().message))?;
    tracing::info!(user = name, "created the first admin account");
    Ok(())
}
