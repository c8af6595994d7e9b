//! A browser for the tests: the site's origin on every POST, its session
//! cookie kept between requests.

use reqwest::Response;
use reqwest::header::{COOKIE, SET_COOKIE};

use super::TestApp;

/// A browser: the site's origin on every POST, its session cookie kept.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub cookie: Option<String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Browser { app, cookie: None }
    }

    pub fn keep_cookie(&mut self, response: &Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if name == "gazette_session" {
                self.cookie = (!value.is_empty()).then(|| value.to_owned());
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> Response {
        let mut request = self.app.client.get(self.app.url(path));
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, format!("gazette_session={cookie}"));
        }
        let response = request.send().await.unwrap();
        self.keep_cookie(&response);
        response
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Response {
        self.post_from(path, form, Some(&self.app.base.clone())).await
    }

    pub async fn post_from(&mut self, path: &str, form: &[(&str, &str)], origin: Option<&str>) -> Response {
        let mut request = self.app.client.post(self.app.url(path)).form(form);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, format!("gazette_session={cookie}"));
        }
        let response = request.send().await.unwrap();
        self.keep_cookie(&response);
        response
    }

    pub async fn sign_in(&mut self, name: &str, password: &str) -> Response {
        self.post(
            "/login",
            &[("name", name), ("password", password), ("next", "/account")],
        )
        .await
    }

    /// The CSRF token of the account page's forms.
    pub async fn csrf(&mut self) -> String {
        self.csrf_on("/account").await
    }

    /// The CSRF token of the first form on a page.
    pub async fn csrf_on(&mut self, path: &str) -> String {
        let html = self.get(path).await.text().await.unwrap();
        let at = html.find("name=\"csrf\" value=\"").expect("a form with a token") + 19;
        html[at..at + 64].to_owned()
    }
}
