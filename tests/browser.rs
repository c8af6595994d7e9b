//! End-to-end tests in headless Chromium: the real server on a temporary
//! database, stories ingested through the API, then tests/browser/e2e.mjs
//! (playwright-core driving Debian's chromium) reads the site as a person
//! would, runs axe-core on every kind of page in light and dark modes,
//! and keeps screenshots in target/browser-artifacts/.
//!
//! Needs Node.js and chromium (`.ci/run` installs both); it runs `npm ci`
//! in tests/browser on first use. Skipped only when
//! GAZETTE_SKIP_BROWSER_TESTS=1, and then it says so loudly; CI never sets it.

mod support;

use std::path::PathBuf;

use chrono::{Duration, Utc};
use serde_json::json;
use support::spawn_with;

/// The password of the account the browser signs in with.
const E2E_PASSWORD: &str = "reading glasses on";

#[tokio::test]
async fn the_site_works_and_is_accessible_in_a_real_browser() {
    if std::env::var("GAZETTE_SKIP_BROWSER_TESTS").is_ok_and(|v| v == "1") {
        eprintln!(
            "\n!!! BROWSER TESTS SKIPPED: GAZETTE_SKIP_BROWSER_TESTS=1 is set. Nothing was checked in a browser. !!!\n"
        );
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let browser_dir = root.join("tests/browser");
    if !browser_dir.join("node_modules/playwright-core").exists() {
        // First run on a new machine: fetch playwright-core and axe-core
        // (pinned by package-lock.json) so `cargo test` alone works.
        let installed = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&browser_dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            installed,
            "browser test dependencies are missing and `npm ci --prefix tests/browser` failed (is Node.js installed?); \
             set GAZETTE_SKIP_BROWSER_TESTS=1 to skip, loudly"
        );
    }
    let chromium = std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "{chromium} is missing: install Debian's chromium (or set CHROMIUM_PATH, or GAZETTE_SKIP_BROWSER_TESTS=1 to skip, loudly)"
    );

    // Private feed addresses allowed: the run subscribes to this site's own feed.
    let app = spawn_with(|config| config.allow_private_feeds = true).await;
    let now = Utc::now();
    let stories = [
        (
            "Coastal towns agree to share one ferry timetable",
            "World",
            Some("Mira Castell"),
            2,
            Some("Six towns will run their ferries on one schedule from spring."),
        ),
        (
            "Amateur league confirms venues for the next round",
            "Boxing",
            Some("Tomas Reyes"),
            17,
            None,
        ),
        (
            "Champions rally to reach the cup final",
            "Volleyball and Handball",
            None,
            26,
            None,
        ),
        (
            "Late equaliser keeps the title race open",
            "Football",
            Some("Sports Desk"),
            5,
            None,
        ),
        (
            "Central bank holds rates for a third month",
            "Business",
            Some("Lena Okoro"),
            1,
            Some("Policymakers said inflation was easing."),
        ),
        ("New ferry terminal opens to foot passengers", "World", None, 49, None),
        (
            "Youth squad named for the regional tournament",
            "Football",
            None,
            30,
            None,
        ),
    ];
    for (i, (title, section, author, hours, summary)) in stories.iter().enumerate() {
        let mut body = json!({
            "title": title,
            "section": section,
            "body": format!("{title}, as our correspondent reports.\n\nA second paragraph with more detail about the ferry, the league and the weather.\n\nA closing paragraph."),
            "published_at": (now - Duration::hours(*hours)).to_rfc3339(),
            "external_id": format!("e2e-{i}"),
            "tags": ["e2e"],
        });
        if let Some(author) = author {
            body["author"] = json!(author);
        }
        if let Some(summary) = summary {
            body["summary"] = json!(summary);
            body["source"] = json!("Harbour Wire");
        }
        app.create(&body).await;
    }
    // One event from two sources, the second a copy of the first: the
    // section shows it once with a link to its story page.
    let wire = "The lighthouse on Gull Point will be switched off for the first time in ninety years while \
                engineers replace its lamp and the clockwork that turns it.\n\nThe coastguard said a \
                temporary light on a mast beside the tower would guide ships through the channel until \
                the work is finished in about three weeks.\n\nVolunteers who run the tower museum said \
                visitors could still climb the stairs on weekends.";
    for (source, title, hours) in [
        ("Coast Wire", "Gull Point lighthouse goes dark for repairs", 60),
        ("Harbour Daily", "Gull Point light switched off for three weeks", 59),
    ] {
        app.create(
            &json!({"title": title, "section": "World", "source": source, "body": wire,
            "published_at": (now - Duration::hours(hours)).to_rfc3339()}),
        )
        .await;
    }
    app.placed().await;
    // The newest story leads the front page.
    app.create(
        &json!({"title": "Ferry strike called off", "section": "World", "author": "Mira Castell",
        "summary": "Crews return to work tonight.", "source": "Harbour Wire",
        "body": "The ferry strike is over.\n\nServices resume at six."}),
    )
    .await;

    // The person who signs in during the run: an admin, so the run also
    // manages feeds and tokens from the browser.
    // One per run of the pages (viewport and colour scheme), each starting
    // with nothing read.
    for run in ["desktop-light", "desktop-dark", "phone-light", "phone-dark"] {
        gazette::accounts::add(
            &app.db,
            &format!("reader-{run}"),
            E2E_PASSWORD.into(),
            gazette::accounts::Role::Admin,
        )
        .await
        .expect("add the reader");
    }

    let artifacts = root.join("target/browser-artifacts");
    // tokio's Command, so the server in this runtime keeps answering.
    let status = tokio::process::Command::new("node")
        .arg(browser_dir.join("e2e.mjs"))
        .arg(&app.base)
        .arg(&artifacts)
        .env("CHROMIUM_PATH", &chromium)
        .env("E2E_PASSWORD", E2E_PASSWORD)
        .current_dir(&browser_dir)
        .status()
        .await
        .expect("run node (is Node.js installed?)");
    assert!(
        status.success(),
        "browser checks failed; see the output above and screenshots in {}",
        artifacts.display()
    );
}
