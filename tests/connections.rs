//! Slow and idle clients, as an attacker would be one: half-sent headers,
//! idle keep-alive connections, trickled bodies, more connections than the
//! limit, and a shutdown with a thousand idle connections open. Raw TCP
//! where a well-behaved HTTP client would not misbehave enough.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{TOKEN, spawn_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection; returns what it sent and
/// how long that took. Gives up (and fails) after `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (received, started.elapsed()),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => panic!("still open after {limit:?}"),
        }
    }
}

/// Reads one whole response to a request that answers "ok" or "ready".
async fn read_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&received).ends_with("ok") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("a response")
            .unwrap();
        assert!(n > 0, "closed before the response");
        received.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn a_half_sent_header_is_cut_off_after_the_header_timeout() {
    let app = spawn_with(|c| {
        c.header_timeout_secs = 1;
        c.idle_timeout_secs = 30;
    })
    .await;
    let mut stream = TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\nHost: gazette\r\n").await.unwrap();
    let (received, after) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(received.is_empty(), "{}", String::from_utf8_lossy(&received));
    assert!(
        after >= Duration::from_millis(900) && after < Duration::from_secs(4),
        "closed after {after:?}"
    );
    // Others are served as before.
    assert_eq!(app.get("/healthz").await.status().as_u16(), 200);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let app = spawn_with(|c| {
        c.header_timeout_secs = 1;
        c.idle_timeout_secs = 3;
    })
    .await;
    let mut stream = TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: gazette\r\n\r\n")
        .await
        .unwrap();
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    // Idle, it outlives the header timeout and is closed at the idle one.
    let (received, after) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(received.is_empty());
    assert!(
        after >= Duration::from_millis(2_500) && after < Duration::from_secs(6),
        "closed after {after:?}"
    );
}

#[tokio::test]
async fn a_keep_alive_connection_in_use_stays_open() {
    let app = spawn_with(|c| {
        c.header_timeout_secs = 1;
        c.idle_timeout_secs = 2;
    })
    .await;
    let mut stream = TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    // Six requests 0.8 s apart: 4.8 s in all, longer than both timeouts.
    for _ in 0..6 {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: gazette\r\n\r\n")
            .await
            .unwrap();
        let response = read_response(&mut stream).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
}

#[tokio::test]
async fn a_trickled_body_is_cut_off_by_the_request_timeout_and_stores_nothing() {
    let app = spawn_with(|c| {
        c.header_timeout_secs = 1;
        c.request_timeout_secs = 2;
    })
    .await;
    let before = app.fingerprint().await;
    let body = json!({"title": "Trickled story", "section": "Slow", "body": "One byte at a time."}).to_string();
    let mut stream = TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST /api/v1/articles HTTP/1.1\r\nHost: gazette\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    // A byte every 200 ms: the whole body would take about 14 s.
    let mut response = Vec::new();
    for byte in body.bytes() {
        if stream.write_all(&[byte]).await.is_err() {
            break;
        }
        let mut buf = [0u8; 4096];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
            response.extend_from_slice(&buf[..n]);
            break;
        }
    }
    let (rest, _) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    response.extend(rest);
    let response = String::from_utf8_lossy(&response);
    assert!(
        response.starts_with("HTTP/1.1 503") || response.starts_with("HTTP/1.1 408"),
        "{response}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "cut off after {:?}",
        started.elapsed()
    );
    assert_eq!(app.fingerprint().await, before, "a cut-off request stored something");
}

#[tokio::test]
async fn past_the_connection_limit_new_clients_wait_until_one_closes() {
    let app = spawn_with(|c| c.max_connections = 20).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(TcpStream::connect(&addr).await.unwrap());
    }
    // Let the server accept them all.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let waiting = tokio::spawn({
        let url = app.url("/healthz");
        async move {
            let started = Instant::now();
            let response = reqwest::get(url).await.unwrap();
            (response.status().as_u16(), started.elapsed())
        }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !waiting.is_finished(),
        "a 21st connection was served past the limit of 20"
    );
    held.truncate(15);
    let (status, after) = waiting.await.unwrap();
    assert_eq!(status, 200);
    assert!(
        after >= Duration::from_secs(1) && after < Duration::from_secs(3),
        "{after:?}"
    );
    let (_, metrics) = app.get_text("/metrics").await;
    assert!(metrics.contains("gazette_connection_limit_reached_total"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_a_thousand_idle_connections() {
    let app = spawn_with(|c| {
        c.shutdown_grace_secs = 10;
        c.max_connections = 2_000;
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for n in 0..1_000 {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        match n % 3 {
            // Idle after a request, half-sent, or silent since connecting.
            0 => {
                stream
                    .write_all(b"GET /healthz HTTP/1.1\r\nHost: gazette\r\n\r\n")
                    .await
                    .unwrap();
                read_response(&mut stream).await;
            }
            1 => stream.write_all(b"GET / HTTP/1.1\r\nHo").await.unwrap(),
            _ => {}
        }
        held.push(stream);
    }
    let started = Instant::now();
    app.stop().await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "shutdown took {took:?} (grace 10 s)");
}

#[tokio::test]
async fn a_batch_of_a_thousand_realistic_articles_fits_the_batch_limit() {
    let app = spawn_with(|c| c.ingest_rate_limit = 0).await;
    let paragraph =
        "The council met on Tuesday evening to weigh the harbour plan, and the vote was closer than expected. ";
    let batch: Vec<Value> = (0..1_000)
        .map(|n| {
            json!({
                "title": format!("Harbour plan, part {n}"),
                "section": "Local",
                "external_id": format!("harbour-{n}"),
                "body": paragraph.repeat(24),
            })
        })
        .collect();
    let body = serde_json::to_string(&batch).unwrap();
    assert!(body.len() > 2_400_000, "about 2.4 KB an article ({} bytes)", body.len());
    let response = app.post_raw("/api/v1/articles/batch", "application/json", body).await;
    assert_eq!(response.status().as_u16(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["results"].as_array().map(Vec::len), Some(1_000), "{answer}");
    assert_eq!(app.count("SELECT COUNT(*) FROM articles").await, 1_000);
    // A single post keeps the small limit.
    let big = json!({"title": "Too long", "section": "Local", "body": paragraph.repeat(24_000)});
    let response = app.post_article(&big).await;
    assert_eq!(response.status().as_u16(), 413);
}
