//! The signed-in reader of a request, from the session cookie, and the
//! guards of every state-changing form reached by cookie (CSRF): the
//! request must come from this site (its Origin, or Sec-Fetch-Site) and
//! carry the session's token.

use axum::extract::OptionalFromRequestParts;
use axum::http::header::{COOKIE, ORIGIN, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::accounts::session::{self, ABSOLUTE_SECS, Session};
use crate::error::AppError;
use crate::web::client::ForwardedHttps;

pub const COOKIE_NAME: &str = "gazette_session";

/// A request from a signed-in browser, taken as `Option<SignedIn>`: each
/// route decides what an anonymous request gets (a page for sign-in, say).
#[derive(Debug, Clone)]
pub struct SignedIn(pub Session);

/// The session cookie's value, if the request carries a well-formed one.
pub fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == COOKIE_NAME)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl OptionalFromRequestParts<AppState> for SignedIn {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, AppError> {
        // Already looked up by the private-mode gate.
        if let Some(signed_in) = parts.extensions.get::<SignedIn>() {
            return Ok(Some(signed_in.clone()));
        }
        let Some(value) = cookie_value(&parts.headers) else {
            return Ok(None);
        };
        Ok(session::find(&state.db, &value).await?.map(SignedIn))
    }
}

/// The session of a request reached by cookie, for JSON routes: any
/// change (not a GET) must come from this site and carry the session's
/// token in `X-CSRF-Token`.
pub async fn from_cookie_checked(parts: &Parts, state: &AppState) -> Result<Session, AppError> {
    let value = cookie_value(&parts.headers).ok_or(AppError::Unauthorized)?;
    let session = session::find(&state.db, &value).await?.ok_or(AppError::Unauthorized)?;
    if parts.method != axum::http::Method::GET {
        same_origin(&parts.headers, &state.site.base_url)?;
        let presented = parts
            .headers
            .get("x-csrf-token")
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !bool::from(presented.ct_eq(session.csrf_token.as_bytes())) {
            return Err(AppError::Forbidden(
                "a change made with a session cookie needs the session's X-CSRF-Token header".to_owned(),
            ));
        }
    }
    Ok(session)
}

/// Whether session cookies are Secure: the site's address is https, or a
/// trusted proxy says this visitor came over https.
pub fn secure_cookies(base_url: &str, https: ForwardedHttps) -> bool {
    base_url.starts_with("https://") || https.0
}

/// The session cookie's Set-Cookie value: HttpOnly (no script reads it),
/// SameSite=Lax (no cross-site POST carries it), Secure when the site is
/// served over https. An empty value with no lifetime removes it.
fn session_cookie(value: &str, lifetime_secs: i64, secure: bool) -> HeaderValue {
    let cookie = Cookie::build((COOKIE_NAME, value.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(lifetime_secs))
        .build();
    // The value is hex (or empty) and the attributes fixed: always a valid header.
    HeaderValue::from_str(&cookie.to_string()).unwrap_or(HeaderValue::from_static("gazette_session=; Max-Age=0"))
}

/// Sets the cookie of a new session on a response.
pub fn set_cookie(response: &mut Response, value: &str, secure: bool) {
    response
        .headers_mut()
        .insert(SET_COOKIE, session_cookie(value, ABSOLUTE_SECS, secure));
}

/// Removes the session cookie through a response.
pub fn clear_cookie(response: &mut Response, secure: bool) {
    response.headers_mut().insert(SET_COOKIE, session_cookie("", 0, secure));
}

/// Refuses a form posted from another site. Browsers name the page's
/// origin in `Origin` on every POST; an older one may only send
/// `Sec-Fetch-Site`. A client that sends neither is not a browser and
/// carries no one's cookie by accident.
pub fn same_origin(headers: &HeaderMap, base_url: &str) -> Result<(), AppError> {
    let refused = || AppError::Forbidden("this form was posted from another site".to_owned());
    if let Some(origin) = headers.get(ORIGIN) {
        let origin = origin.to_str().map_err(|_| refused())?;
        return if origin.eq_ignore_ascii_case(origin_of(base_url)) {
            Ok(())
        } else {
            Err(refused())
        };
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some("cross-site" | "same-site") => Err(refused()),
        _ => Ok(()),
    }
}

/// `scheme://host[:port]` of a base URL.
fn origin_of(base_url: &str) -> &str {
    let after_scheme = base_url.find("://").map_or(0, |at| at + 3);
    match base_url[after_scheme..].find('/') {
        Some(end) => &base_url[..after_scheme + end],
        None => base_url,
    }
}

/// Checks a form posted by a signed-in browser: from this site, with the
/// session's token.
pub fn check_form(session: &Session, presented: &str, headers: &HeaderMap, base_url: &str) -> Result<(), AppError> {
    same_origin(headers, base_url)?;
    if bool::from(presented.as_bytes().ct_eq(session.csrf_token.as_bytes())) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "this form is out of date or was not made by this site: reload the page and try again".to_owned(),
        ))
    }
}

/// The session that posted a form: signed in, from this site, with the
/// session's token. Without a session the answer is the way to sign in;
/// a forged form is refused (403).
pub fn form_session(
    signed_in: Option<SignedIn>,
    csrf: &str,
    headers: &HeaderMap,
    base_url: &str,
) -> Result<Session, Box<Response>> {
    let Some(SignedIn(session)) = signed_in else {
        return Err(Box::new(crate::web::account::see_other("/login")));
    };
    check_form(&session, csrf, headers, base_url)
        .map_err(|err| Box::new(crate::web::pages::PageError::from(err).into_response()))?;
    Ok(session)
}

/// The value of an `Ok`, or returns the `Err`'s response from the handler.
macro_rules! or_return {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(response) => return Ok(*response),
        }
    };
}
pub(crate) use or_return;

/// Where to go after signing in: a path on this site, never elsewhere
/// (`//host`, `/\host` and absolute URLs are refused: an open redirect).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(|c| c.is_control() || c == '\\') =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::{origin_of, safe_next};

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/sections/world?page=2")), "/sections/world?page=2");
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "/\t/evil",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn origins() {
        assert_eq!(origin_of("https://news.example.org"), "https://news.example.org");
        assert_eq!(origin_of("http://127.0.0.1:3000/gazette"), "http://127.0.0.1:3000");
    }
}
