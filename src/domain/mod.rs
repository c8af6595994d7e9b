//! Plain types and pure logic: no axum, no sqlx.

pub mod article;
pub mod body;
pub mod listing;
pub mod reltime;
pub mod search;
pub mod section;
pub mod slug;
pub mod url_norm;

pub use article::{ArticleInput, BodyFormat, FieldError, NewArticle};
pub use listing::{Article, ArticleCard, Cursor, Page};
pub use section::Section;
