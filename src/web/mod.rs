//! The web layer: the router, grouped by audience (pages, api, assets),
//! and the middleware every response passes through.

pub mod account;
pub mod admin;
pub mod admin_rules;
pub mod admin_sections;
pub mod api;
pub mod apps;
pub mod assets;
pub mod auth;
pub mod body;
pub mod buffered;
pub mod cache;
pub mod client;
pub mod conditional;
pub mod feeds;
pub mod me;
pub mod metrics;
pub mod pages;
pub mod panics;
pub mod personal;
pub mod private;
pub mod reader_rules;
pub mod reading;
pub mod rules;
pub mod search;
pub mod search_turns;
pub mod sections;
pub mod server;
pub mod session;
pub mod shed;
pub mod stories;
pub mod subscriptions;
pub mod views;

use tower::Layer;

use axum::Router;
use axum::extract::Request;
use axum::http::header::{CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::error::LoggedError;
use crate::web::body::BodyLimit;

/// Scripts and styles only from this origin, never inline; images may
/// come from the sources articles credit; nothing may frame the site.
const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' https: http:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The whole site as one service: the page cache in front of the router,
/// so a hit is answered before routing and before every other layer; in
/// front of it, what fills in a signed-in reader's page (`personal`), and
/// in private mode, the sign-in gate in front of all.
pub fn app(
    state: AppState,
) -> impl tower::Service<Request, Response = Response, Error = std::convert::Infallible, Future: Send> + Clone + Send + 'static
{
    let cache = cache::PageCacheLayer(state.page_cache.clone());
    let personal = middleware::from_fn_with_state(state.clone(), personal::personalize);
    let gate = middleware::from_fn_with_state(state.clone(), private::gate);
    let error_pages = middleware::from_fn_with_state(state.clone(), pages::error_pages);
    error_pages.layer(gate.layer(personal.layer(cache.layer(router(state)))))
}

pub fn router(state: AppState) -> Router {
    let max_body = state.site.max_body_bytes;
    let max_batch_body = state.site.max_batch_body_bytes;
    let shedding = shed::Shed::new(state.site.max_concurrent_requests, max_body.max(max_batch_body));
    let timeout = state.site.request_timeout;
    let api = Router::new()
        .route("/articles", get(api::list_articles).post(api::create_article))
        .route(
            "/articles/batch",
            axum::routing::post(api::create_batch).layer(BodyLimit::batch(max_batch_body).layer()),
        )
        .route("/articles/{id}", get(api::get_article).delete(api::delete_article))
        .route(
            "/articles/{id}/full-content",
            axum::routing::post(api::fetch_full_content),
        )
        .route("/sections", get(sections::list))
        .route("/sections/{slug}", get(sections::show).patch(sections::change))
        .route("/sections/{slug}/merge", axum::routing::post(sections::merge))
        .route("/stories/{id}", get(stories::story_json))
        .route("/search", get(api::search))
        .route("/feeds", get(subscriptions::list).post(subscriptions::create))
        .route(
            "/feeds/opml",
            get(subscriptions::export_opml)
                .post(subscriptions::import_opml)
                .layer(BodyLimit::batch(max_batch_body).layer()),
        )
        .route(
            "/feeds/{id}",
            get(subscriptions::show)
                .patch(subscriptions::change)
                .delete(subscriptions::remove),
        )
        .route("/feeds/{id}/poll", axum::routing::post(subscriptions::poll_now))
        .route("/rules", get(rules::list).post(rules::create))
        .route("/rules/preview", axum::routing::post(rules::preview))
        .route("/rules/{id}/apply", axum::routing::post(rules::apply))
        .route(
            "/rules/{id}",
            get(rules::show).patch(rules::change).delete(rules::delete),
        )
        .route("/me", get(me::me).patch(me::change_settings))
        .route("/me/rules", get(reader_rules::list).post(reader_rules::create))
        .route(
            "/me/rules/{id}",
            get(reader_rules::show)
                .patch(reader_rules::change)
                .delete(reader_rules::delete),
        )
        .route("/me/unread", get(me::unread))
        .route("/me/saved", get(me::saved))
        .route("/me/read", axum::routing::post(me::mark_read))
        .route(
            "/me/read/{id}",
            axum::routing::put(me::put_read).delete(me::delete_read),
        )
        .route(
            "/me/saved/{id}",
            axum::routing::put(me::put_saved).delete(me::delete_saved),
        )
        .fallback(api::not_found)
        .layer(BodyLimit::single(max_body).layer());

    Router::new()
        .route("/", get(pages::front))
        .route("/login", get(account::login_form).post(account::login))
        .route("/logout", axum::routing::post(account::logout))
        .route("/account", get(account::account_page))
        .route("/account/password", axum::routing::post(account::change_password))
        .route(
            "/account/logout-everywhere",
            axum::routing::post(account::logout_everywhere),
        )
        .route("/account/delete", axum::routing::post(account::delete_account))
        .route("/account/settings", axum::routing::post(account::save_settings))
        .route("/account/rules", axum::routing::post(reader_rules::create_from_form))
        .route(
            "/account/rules/{id}/delete",
            axum::routing::post(reader_rules::delete_from_form),
        )
        .route("/account/keys", axum::routing::post(account::create_key))
        .route("/account/keys/{id}/delete", axum::routing::post(account::revoke_key))
        .route(
            "/account/app-passwords",
            axum::routing::post(account::create_app_password),
        )
        .route(
            "/account/app-passwords/{id}/delete",
            axum::routing::post(account::revoke_app_password),
        )
        .route("/admin", get(|| async { account::see_other("/admin/feeds") }))
        .route("/admin/feeds", get(admin::feeds).post(admin::subscribe))
        .route("/admin/feeds/change", axum::routing::post(admin::feed))
        .route("/admin/feeds/import", axum::routing::post(admin::import))
        .route("/admin/feeds/export.opml", get(admin::export))
        .route(
            "/admin/articles/{id}/full-content",
            axum::routing::post(admin::fetch_full_story),
        )
        .route("/admin/tokens", get(admin::tokens).post(admin::create_token))
        .route("/admin/tokens/revoke", axum::routing::post(admin::revoke_token))
        .route("/admin/rules", get(admin_rules::rules).post(admin_rules::create))
        .route("/admin/rules/preview", axum::routing::post(admin_rules::preview))
        .route("/admin/rules/change", axum::routing::post(admin_rules::change))
        .route(
            "/admin/sections",
            get(admin_sections::sections).post(admin_sections::change),
        )
        .route("/admin/users", get(admin::users).post(admin::user))
        .route("/unread", get(reading::unread))
        .route("/saved", get(reading::saved))
        .route("/reading/mark-all", axum::routing::post(reading::mark_all))
        .route("/reading/{id}", axum::routing::post(reading::act))
        .route("/sections/{slug}", get(pages::section))
        .route("/stories/{id}", get(stories::story_page))
        .route("/sections/{slug}/{file}", get(feeds::section_feed))
        .route("/authors/{slug}", get(pages::author))
        .route("/tags/{slug}", get(pages::tag))
        .route("/search", get(pages::search_page))
        .route("/{file}", get(site_file))
        .route("/sitemaps/{file}", get(feeds::sitemap_file))
        .route("/articles/{id}", get(pages::article_without_slug))
        .route("/articles/{id}/{slug}", get(pages::article))
        .route("/_fragments/sidebar/{*rest}", get(pages::sidebar_fragment))
        .route("/static/{name}", get(assets::serve))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(metrics::render))
        .nest("/api/v1", api)
        .merge(reader_apps(max_body))
        .fallback(pages::not_found)
        .with_state(state.clone())
        .layer(middleware::from_fn(log_server_errors))
        .layer(middleware::from_fn(panics::catch_panics))
        .layer(middleware::from_fn(conditional::conditional_get))
        .layer(middleware::from_fn(metrics::track_requests))
        .layer(CompressionLayer::new())
        .layer(security_header(CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_VALUE))
        .layer(security_header(X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(security_header(REFERRER_POLICY, "strict-origin-when-cross-origin"))
        .layer(security_header(X_FRAME_OPTIONS, "DENY"))
        // A slow client or a stuck query is cut off instead of piling up.
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, timeout))
        // Past the limit, requests are refused at once (503 + Retry-After)
        // rather than queued without bound.
        .layer(middleware::from_fn_with_state(shedding, shed::shed))
        // Failures are logged once, with their detail, by `log_server_errors`;
        // the trace layer would log every 5xx again, a full disk once per request.
        .layer(TraceLayer::new_for_http().on_failure(()))
}

/// The reader apps' protocols: Google Reader under /api/greader and at the
/// root (apps differ in which they assume), Fever at /api/fever and /fever/.
fn reader_apps(max_body: usize) -> Router<AppState> {
    let fever = || get(apps::fever::endpoint).post(apps::fever::endpoint);
    Router::new()
        .merge(apps::greader::routes())
        .nest(
            "/api/greader",
            apps::greader::routes().fallback(apps::greader::not_found),
        )
        .route("/api/fever", fever())
        .route("/api/fever/", fever())
        .route("/fever", fever())
        .route("/fever/", fever())
        .layer(BodyLimit::single(max_body).layer())
}

/// Files at the root of the site: feeds, the sitemap index, robots.txt.
async fn site_file(state: axum::extract::State<AppState>, path: axum::extract::Path<String>) -> Response {
    match path.as_str() {
        "robots.txt" => feeds::robots(state).await,
        "sitemap.xml" => feeds::sitemap_index(state).await.into_response(),
        "feed.atom" | "feed.rss" | "feed.json" | "stories.atom" | "stories.rss" | "stories.json" => {
            feeds::site_feed(state, path).await.into_response()
        }
        _ => pages::not_found().await.into_response(),
    }
}

fn security_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// Logs the detail of server-side failures once, where the request's
/// method and path are known; clients only ever see a generic message.
async fn log_server_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if let Some(LoggedError(detail)) = response.extensions().get::<LoggedError>() {
        tracing::error!(%method, %path, status = response.status().as_u16(), "{detail}");
    }
    response
}
