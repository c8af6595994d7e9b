//! Real I/O faults under the real binary: failed fsyncs (libfiu's POSIX
//! preload, Debian's fiu-utils, switched on and off while the server runs)
//! and failed writes (a file-size limit, so the WAL cannot grow: writes
//! fail with EFBIG, which SQLite reports as an I/O error). In both, no
//! article may be acknowledged unless the commit that holds it succeeded,
//! the server must not crash, and everything acknowledged must be there
//! after a restart. A full disk is tests/full_disk.rs.
//!
//! Needs fiu-utils (`.ci/run` installs it). Skipped only when
//! GAZETTE_SKIP_FAULT_TESTS=1, and then it says so loudly; CI never sets it.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use nix::sys::signal::Signal;
use serde_json::Value;
use support::process::{ServerProcess, start, start_wrapped};
use support::{TOKEN, sizeable_article};

/// What the server acknowledged: article id → title.
type Acknowledged = BTreeMap<i64, String>;

fn skipped() -> bool {
    if std::env::var("GAZETTE_SKIP_FAULT_TESTS").is_ok_and(|v| v == "1") {
        eprintln!("\n!!! FAULT-INJECTION TESTS SKIPPED: GAZETTE_SKIP_FAULT_TESTS=1 is set. Nothing was checked. !!!\n");
        return true;
    }
    false
}

/// Posts `count` articles from each of `clients` clients at once; every
/// answer must be 201 or a storage refusal in the API's error shape.
async fn post_from_clients(base: &str, clients: u64, count: u64, first: u64) -> (Acknowledged, usize) {
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let base = base.to_owned();
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut acknowledged = Acknowledged::new();
                let mut refused = 0;
                for n in 0..count {
                    let article = sizeable_article(first + client * 10_000 + n);
                    let response = http
                        .post(format!("{base}/api/v1/articles"))
                        .bearer_auth(TOKEN)
                        .json(&article)
                        .send()
                        .await
                        .expect("the server answers every request");
                    let status = response.status().as_u16();
                    let retry_after = response.headers().contains_key("retry-after");
                    let body: Value = response.json().await.expect("a JSON answer");
                    match status {
                        201 => {
                            acknowledged
                                .insert(body["id"].as_i64().unwrap(), article["title"].as_str().unwrap().into());
                        }
                        503 | 507 => {
                            let code = body["error"]["code"].as_str().unwrap_or_default();
                            assert!(matches!(code, "storage_error" | "storage_full"), "{status} {body}");
                            assert!(retry_after, "a storage refusal says when to retry");
                            refused += 1;
                        }
                        other => panic!("unexpected answer {other}: {body}"),
                    }
                }
                (acknowledged, refused)
            })
        })
        .collect();
    let mut acknowledged = Acknowledged::new();
    let mut refused = 0;
    for task in tasks {
        let (acks, refusals) = task.await.unwrap();
        acknowledged.extend(acks);
        refused += refusals;
    }
    (acknowledged, refused)
}

/// Restarts Gazette on `db` without faults and checks that every
/// acknowledged article is there and the file is sound.
async fn assert_all_stored_after_restart(db: &Path, log: &Path, acknowledged: &Acknowledged) {
    let server = start(db, log, &[("GAZETTE_INGEST_TOKEN", TOKEN)]).await;
    let http = reqwest::Client::new();
    for (id, title) in acknowledged {
        let response = http
            .get(format!("{}/api/v1/articles/{id}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            200,
            "acknowledged article {id} ({title}) was lost"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["title"], title.as_str());
    }
    drop(server);
    let mut conn = {
        use sqlx::Connection;
        sqlx::SqliteConnection::connect(&format!("sqlite:{}", db.display()))
            .await
            .unwrap()
    };
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(check, "ok");
}

fn fiu_ctrl(control: &Path, server: &ServerProcess, command: &str) {
    let status = Command::new("fiu-ctrl")
        .arg("-f")
        .arg(control)
        .args(["-c", command, &server.child.id().to_string()])
        .status()
        .expect("fiu-ctrl runs");
    assert!(status.success(), "fiu-ctrl {command} failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_fsyncs_are_never_acknowledged_and_the_server_carries_on() {
    if skipped() {
        return;
    }
    assert!(
        Command::new("fiu-run").arg("-h").output().is_ok(),
        "fiu-run is missing: install Debian's fiu-utils (or set GAZETTE_SKIP_FAULT_TESTS=1 to skip, loudly)"
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gazette.db");
    let log = dir.path().join("server.log");
    let control = dir.path().join("fiu");
    let control_arg = control.to_str().unwrap();
    let mut server = start_wrapped(
        &["fiu-run", "-x", "-f", control_arg],
        &db,
        &log,
        &[("GAZETTE_INGEST_TOKEN", TOKEN), ("GAZETTE_INGEST_RATE_LIMIT", "0")],
    )
    .await;

    let (mut acknowledged, refused) = post_from_clients(&server.base, 2, 10, 0).await;
    assert_eq!(refused, 0, "no fault yet");

    // One fsync in three fails from now on.
    fiu_ctrl(
        &control,
        &server,
        "enable_random name=posix/io/sync/fsync,probability=0.35",
    );
    let (acks, refused) = post_from_clients(&server.base, 4, 30, 100_000).await;
    eprintln!("with failing fsyncs: {} acknowledged, {refused} refused", acks.len());
    acknowledged.extend(acks);
    assert!(refused > 0, "no fsync failed: the fault was not injected");
    assert!(server.child.try_wait().unwrap().is_none(), "the server died");

    // The disk is healthy again: so are writes, at once.
    fiu_ctrl(&control, &server, "disable name=posix/io/sync/fsync");
    let (acks, refused) = post_from_clients(&server.base, 2, 10, 200_000).await;
    assert_eq!(refused, 0, "writes did not recover: {}", server.log_text());
    acknowledged.extend(acks);

    let status = server.signal_and_wait(Signal::SIGTERM);
    assert!(status.success(), "{}", server.log_text());
    assert_all_stored_after_restart(&db, &dir.path().join("after.log"), &acknowledged).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_writes_are_never_acknowledged_and_the_server_carries_on() {
    if skipped() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gazette.db");
    let log = dir.path().join("server.log");
    // No file of the process may grow past 12 MiB: the WAL reaches it
    // after a few dozen articles (a commit of one ~9 KB article writes
    // some 250 KB of WAL: index, search and count pages). At 6 MiB the
    // count acknowledged before the limit, 20 to 24, sat on this test's
    // threshold and failed a CI run by timing alone. SIGXFSZ is ignored,
    // so the write fails with EFBIG instead of the signal killing the
    // process.
    let mut server = start_wrapped(
        &["sh", "-c", r#"trap '' XFSZ; ulimit -f 12288; exec "$0""#],
        &db,
        &log,
        &[("GAZETTE_INGEST_TOKEN", TOKEN), ("GAZETTE_INGEST_RATE_LIMIT", "0")],
    )
    .await;

    let (acknowledged, refused) = post_from_clients(&server.base, 4, 150, 0).await;
    eprintln!(
        "with failing writes: {} acknowledged, {refused} refused",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() > 20,
        "only {} stored before the limit",
        acknowledged.len()
    );
    assert!(refused > 0, "no write failed: the limit did not apply");
    assert!(server.child.try_wait().unwrap().is_none(), "the server died");
    let response = reqwest::get(format!("{}/", server.base)).await.unwrap();
    assert_eq!(response.status().as_u16(), 200, "reads go on");

    let status = server.signal_and_wait(Signal::SIGTERM);
    assert!(status.success(), "{}", server.log_text());
    assert_all_stored_after_restart(&db, &dir.path().join("after.log"), &acknowledged).await;
}
