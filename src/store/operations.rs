//! The shape every store operation has: declared once in its domain
//! module (`store::articles`, `store::reading`, …), written twice, once per
//! backend in its own dialect (`store::sqlite::…`, `store::postgres::…`),
//! each checked at compile time against its own database.
//!
//! `operations!` writes the declared functions: each takes the backend
//! apart (a [`super::Reader`] for reads, a [`super::Tx`] for writes inside
//! a transaction) and calls the function of the same name in that
//! backend's module.
//!
//! Each backend's query modules are compiled out in the other backend's
//! `.ci/prepare-sqlx` pass (features `prepare-sqlite`, `prepare-postgres`):
//! sqlx checks every query of a pass against that pass's database. sqlx
//! files a query's offline data under a digest of its text alone, so no
//! PostgreSQL query may read exactly like a SQLite one (the prepare script
//! refuses such a pair).

macro_rules! operations {
    ($module:ident; $(
        $(#[$meta:meta])*
        $vis:vis async fn $name:ident($on:ident: $on_ty:ty $(, $arg:ident: $arg_ty:ty)* $(,)?) -> $ret:ty;
    )*) => { $(
        $(#[$meta])*
        $vis async fn $name($on: $on_ty $(, $arg: $arg_ty)*) -> $ret {
            match $crate::store::Backend::from($on) {
                $crate::store::Backend::Sqlite(on) => sqlite_side!($module::$name(on $(, $arg)*)),
                $crate::store::Backend::Postgres(on) => postgres_side!($module::$name(on $(, $arg)*)),
            }
        }
    )* };
}

#[cfg(not(feature = "prepare-postgres"))]
macro_rules! sqlite_side {
    ($module:ident::$name:ident($($arg:expr),*)) => {
        $crate::store::sqlite::$module::$name($($arg),*).await
    };
}

#[cfg(feature = "prepare-postgres")]
macro_rules! sqlite_side {
    ($module:ident::$name:ident($($arg:expr),*)) => {{
        let _ = ($($arg),*);
        unreachable!("the PostgreSQL pass of .ci/prepare-sqlx compiles no SQLite queries")
    }};
}

#[cfg(not(feature = "prepare-sqlite"))]
macro_rules! postgres_side {
    ($module:ident::$name:ident($($arg:expr),*)) => {
        $crate::store::postgres::$module::$name($($arg),*).await
    };
}

#[cfg(feature = "prepare-sqlite")]
macro_rules! postgres_side {
    ($module:ident::$name:ident($($arg:expr),*)) => {{
        let _ = ($($arg),*);
        unreachable!("the SQLite pass of .ci/prepare-sqlx compiles no PostgreSQL queries")
    }};
}
