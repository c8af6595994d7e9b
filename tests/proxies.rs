//! Behind a reverse proxy (issue 30): forwarding headers are believed only
//! from `--trusted-proxies`, so limits by address count each visitor and a
//! spoofed header changes nothing; session cookies are Secure when the
//! proxy says the visitor came over https. Over HTTP, on a real app.

mod support;

use support::{TestApp, spawn_with};

/// A failed sign-in as one client behind a proxy would send it.
async fn sign_in_as(app: &TestApp, forwarded_for: &str, n: usize) -> u16 {
    app.client
        .post(app.url("/login"))
        .header("origin", &app.base)
        .header("x-forwarded-for", forwarded_for)
        .form(&[
            ("name", format!("nobody{n}")),
            ("password", "guess guess guess".to_owned()),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Tries until refused: how many tries were answered 401 first (an
/// address has 20 a minute, and they come back one every 3 s).
async fn tries_until_refused(app: &TestApp, forwarded_for: impl Fn(usize) -> String) -> usize {
    for n in 0..40 {
        match sign_in_as(app, &forwarded_for(n), n).await {
            401 => continue,
            429 => return n,
            other => panic!("a sign-in answered {other}"),
        }
    }
    panic!("40 failed sign-ins in a row were never refused");
}

#[tokio::test]
async fn forwarding_headers_are_believed_only_from_trusted_proxies() {
    // No trusted proxy: every request is the peer's, whatever it claims.
    let app = spawn_with(|_| {}).await;
    let tries = tries_until_refused(&app, |n| format!("203.0.113.{n}")).await;
    assert!((20..30).contains(&tries), "a spoofed header buys no attempts: {tries}");
    app.stop().await;

    // Behind a trusted proxy, each forwarded client has its own attempts;
    // the left-most hop is the client's own claim, the proxy's is counted.
    let app = spawn_with(|config| config.trusted_proxies = "127.0.0.0/8".parse().unwrap()).await;
    let tries = tries_until_refused(&app, |n| format!("10.{n}.9.9, 198.51.100.7")).await;
    assert!((20..30).contains(&tries), "{tries}");
    assert_eq!(
        sign_in_as(&app, "10.9.9.9, 198.51.100.8", 99).await,
        401,
        "another client is not refused"
    );
    app.stop().await;
}

/// Signs `name` in, as a proxy forwarding `headers` would send it: the
/// session cookie's Set-Cookie value.
async fn session_cookie(app: &TestApp, headers: &[(&str, &str)]) -> String {
    let mut request = app
        .client
        .post(app.url("/login"))
        .header("origin", &app.base)
        .form(&[("name", "ada"), ("password", PASSWORD)]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status().as_u16(), 303);
    response.headers()["set-cookie"].to_str().unwrap().to_owned()
}

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test]
async fn session_cookies_are_secure_when_a_trusted_proxy_says_https() {
    let app = spawn_with(|config| {
        config.trusted_proxies = "127.0.0.1".parse().unwrap();
        config.admin_user = Some("ada".to_owned());
        config.admin_password = Some(PASSWORD.to_owned());
    })
    .await;
    let plain = session_cookie(&app, &[]).await;
    assert!(!plain.contains("Secure"), "{plain}");
    for https in [
        [("x-forwarded-proto", "https")],
        [("forwarded", "for=198.51.100.4;proto=https")],
    ] {
        let cookie = session_cookie(&app, &https).await;
        assert!(cookie.contains("Secure") && cookie.contains("HttpOnly"), "{cookie}");
    }
    app.stop().await;

    // From a peer that is not a trusted proxy, the header says nothing.
    let app = spawn_with(|config| {
        config.admin_user = Some("ada".to_owned());
        config.admin_password = Some(PASSWORD.to_owned());
    })
    .await;
    let spoofed = session_cookie(&app, &[("x-forwarded-proto", "https")]).await;
    assert!(!spoofed.contains("Secure"), "{spoofed}");
    app.stop().await;
}
