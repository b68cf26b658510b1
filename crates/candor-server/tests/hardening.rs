//! Abuse resistance on loopback: session time limits that a client cannot
//! stretch, oversize frames, media-rate enforcement, sign-in throttling, the
//! embedded backend's lock and file modes. Every wait is bounded.

mod common;

use std::time::Duration;

use candor_protocol::{Codec, EndReason, ErrorCode, ResumeRequest, ServerPayload};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use common::*;

#[tokio::test]
async fn a_4_mib_frame_gets_frame_too_large_and_a_close_frame() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = Api::new(server.addr());
    let auth = api.register("big@example.org").await;

    for started in [false, true] {
        let mut ws = connect(server.addr()).await;
        if started {
            let interview = api.create_interview(&auth.token, 1).await;
            send(&mut ws, start_request(&auth.token, &interview.id)).await;
            assert!(matches!(
                recv(&mut ws).await.unwrap().payload,
                Some(ServerPayload::StartResponse(_))
            ));
        }
        let (mut sink, mut stream) = ws.split();
        // The server stops reading at the frame's header; the rest of the
        // write may fail once it closes.
        let writer = tokio::spawn(async move {
            let _ = sink.send(Message::Binary(vec![7u8; 4 << 20].into())).await;
        });
        let mut error = None;
        let mut close = None;
        let _ = tokio::time::timeout(WAIT, async {
            while let Some(m) = stream.next().await {
                let Ok(m) = m else { break };
                match m {
                    Message::Binary(b) => {
                        let msg = Codec::default().decode_server(&b).unwrap();
                        if let Some(ServerPayload::Error(e)) = msg.payload {
                            error = Some(e);
                        }
                    }
                    Message::Close(f) => {
                        close = f;
                        break;
                    }
                    _ => {}
                }
            }
        })
        .await;
        writer.abort();
        let error = error.expect("an Error before the close");
        assert_eq!(error.code, ErrorCode::FrameTooLarge as i32, "{error:?}");
        assert!(!error.retryable);
        let close = close.expect("a close frame");
        assert_eq!(u16::from(close.code), 1009, "close code 'message too big'");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn the_time_limit_counts_the_wall_clock_across_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast_config(dir.path());
    config.limits.max_session = Duration::from_millis(2000);
    config.limits.resume_grace = Duration::from_secs(5);
    let server = candor_server::Server::start(config).await.unwrap();
    let api = Api::new(server.addr());
    let auth = api.register("stretch@example.org").await;
    let interview = api.create_interview(&auth.token, 1).await;
    let t0 = std::time::Instant::now();
    let mut ws = connect(server.addr()).await;
    send(&mut ws, start_request(&auth.token, &interview.id)).await;
    let Some(ServerPayload::StartResponse(started)) = recv(&mut ws).await.unwrap().payload else {
        panic!("no StartResponse");
    };
    // Drop and resume every 300 ms, staying away most of the time: the
    // conversation clock stands still while detached, the limit does not.
    loop {
        drop(ws);
        tokio::time::sleep(Duration::from_millis(250)).await;
        ws = connect(server.addr()).await;
        let mut req = start_request(&auth.token, &interview.id);
        req.resume = Some(ResumeRequest {
            session_id: started.session_id.clone(),
            last_server_seq: 0,
            captured_seq: 0,
        });
        send(&mut ws, req).await;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(50);
        let mut over = false;
        while let Ok(Some(m)) = tokio::time::timeout_at(deadline, recv(&mut ws)).await {
            match m.payload {
                Some(ServerPayload::SessionEnded(e)) => {
                    assert_eq!(e.reason, EndReason::TimeLimit as i32);
                    over = true;
                }
                // The session ended while detached: no longer resumable.
                Some(ServerPayload::Error(e)) => {
                    assert_eq!(e.code, ErrorCode::NotFound as i32, "{e:?}");
                    over = true;
                }
                _ => {}
            }
        }
        if over {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(8),
            "the limit never came"
        );
    }
    let elapsed = t0.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1900) && elapsed < Duration::from_secs(4),
        "ended after {elapsed:?}"
    );
    let res = wait_results(&api, &auth.token, &interview.id).await;
    assert_eq!(res["feedback"]["end_reason"], "time_limit", "{res}");
    server.shutdown().await;
}

mod embedded {
    use super::*;
    use candor_server::{Config, LAUNCH_SECRET_HEADER, Server};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    async fn local_sign_in(
        api: &Api,
        extra: &[(&str, String)],
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let mut req = api
            .http
            .post(api.url("/v1/auth/local"))
            .json(&serde_json::json!({"profile": "me"}));
        for (k, v) in extra {
            req = req.header(*k, v);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or_default())
    }

    async fn ws_handshake(
        addr: std::net::SocketAddr,
        extra: &[(&'static str, String)],
    ) -> Result<(), String> {
        let mut req = format!("ws://{addr}/v1/session")
            .into_client_request()
            .unwrap();
        for (k, v) in extra {
            req.headers_mut().insert(*k, v.parse().unwrap());
        }
        match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req))
            .await
            .expect("answered in time")
        {
            Ok(_) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    #[tokio::test]
    async fn only_the_launching_process_gets_in() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::embedded(dir.path());
        config.practice.enabled = false;
        let server = Server::start(config).await.unwrap();
        let secret = server
            .launch_secret()
            .expect("a launch secret")
            .expose()
            .to_owned();
        let api = Api::new(server.addr());
        let with_secret = (LAUNCH_SECRET_HEADER, secret.clone());

        // Local sign-in without the secret, or with a guessed one.
        let (status, body) = local_sign_in(&api, &[]).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"]["code"], "permission_denied");
        let (status, _) = local_sign_in(&api, &[(LAUNCH_SECRET_HEADER, "cnd_guess".into())]).await;
        assert_eq!(status, 403);
        // Every route is locked, health and the API description included.
        let res = api.http.get(api.url("/healthz")).send().await.unwrap();
        assert_eq!(res.status(), 403);

        // A DNS-rebinding page: its own name as Host, even with the secret.
        let rebound = [
            with_secret.clone(),
            ("host", format!("evil.example:{}", server.addr().port())),
        ];
        assert_eq!(local_sign_in(&api, &rebound).await.0, 403);
        // Another port on loopback is not this backend.
        let other_port = [with_secret.clone(), ("host", "127.0.0.1:1".to_owned())];
        assert_eq!(local_sign_in(&api, &other_port).await.0, 403);
        // A browser: any Origin is refused.
        let browser = [
            with_secret.clone(),
            ("origin", "http://127.0.0.1".to_owned()),
        ];
        assert_eq!(local_sign_in(&api, &browser).await.0, 403);

        // The app itself.
        let (status, body) = local_sign_in(&api, std::slice::from_ref(&with_secret)).await;
        assert_eq!(status, 200, "{body}");
        let token = body["token"].as_str().unwrap().to_owned();
        let res = api
            .http
            .get(api.url("/v1/auth/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "a token alone is not enough");
        let res = api
            .http
            .get(api.url("/v1/auth/me"))
            .bearer_auth(&token)
            .header(LAUNCH_SECRET_HEADER, &secret)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);

        // The session socket: the secret is needed, a browser is refused.
        let refused = ws_handshake(server.addr(), &[]).await.unwrap_err();
        assert!(refused.contains("403"), "{refused}");
        let browser_ws = [
            (LAUNCH_SECRET_HEADER, secret.clone()),
            ("origin", "https://evil.example".to_owned()),
        ];
        assert!(ws_handshake(server.addr(), &browser_ws).await.is_err());
        ws_handshake(server.addr(), &[(LAUNCH_SECRET_HEADER, secret.clone())])
            .await
            .expect("the app's handshake");
        server.shutdown().await;
    }

    #[tokio::test]
    async fn local_profiles_refuse_a_non_loopback_address() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new("0.0.0.0:0".parse().unwrap(), dir.path());
        config.allow_local_profiles = true;
        let err = Server::start(config).await.unwrap_err();
        assert!(err.to_string().contains("loopback"), "{err}");
        // On loopback without a secret (a developer's `serve`), a rebound
        // Host and a browser Origin are still refused.
        let server = start(dir.path()).await;
        let api = Api::new(server.addr());
        let rebound = [("host", format!("evil.example:{}", server.addr().port()))];
        assert_eq!(local_sign_in(&api, &rebound).await.0, 403);
        let browser = [("origin", "https://evil.example".to_owned())];
        assert_eq!(local_sign_in(&api, &browser).await.0, 403);
        assert_eq!(local_sign_in(&api, &[]).await.0, 200);
        server.shutdown().await;
    }

    /// `candor serve --allow-local-profiles`: locked by a secret that only
    /// this user's clients can read, kept by a server restarted after a
    /// crash and removed when the server stops.
    #[tokio::test]
    async fn a_standalone_local_server_publishes_its_secret_to_its_user_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path());
        config.allow_local_profiles = true;
        config.practice.enabled = false;
        let server = Server::start_standalone(config.clone()).await.unwrap();
        let port = server.addr().port();
        let secret = server
            .launch_secret()
            .expect("a secret")
            .expose()
            .to_owned();
        let path = candor_server::local_lock::published_path(port).unwrap();
        assert_eq!(
            candor_server::local_lock::read_published(port).as_deref(),
            Some(secret.as_str())
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode =
                |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().unwrap()), 0o700);
        }
        let api = Api::new(server.addr());
        let (status, body) = local_sign_in(&api, &[]).await;
        assert_eq!(status, 403, "no secret: {body}");
        let with_secret = (LAUNCH_SECRET_HEADER, secret.clone());
        assert_eq!(
            local_sign_in(&api, std::slice::from_ref(&with_secret))
                .await
                .0,
            200
        );

        // Killed (no clean stop: the file stays) and started again on the
        // same port, the server keeps the secret its clients hold.
        let crashed = std::fs::read(&path).unwrap();
        server.shutdown().await;
        assert!(!path.exists(), "removed when the server stops");
        std::fs::write(&path, &crashed).unwrap();
        config.addr = format!("127.0.0.1:{port}").parse().unwrap();
        let server = Server::start_standalone(config).await.unwrap();
        assert_eq!(server.launch_secret().unwrap().expose(), secret);
        let api = Api::new(server.addr());
        assert_eq!(local_sign_in(&api, &[with_secret]).await.0, 200);
        server.shutdown().await;
        assert!(!path.exists());
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_dir_and_database_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let server = start(&dir).await;
    let api = Api::new(server.addr());
    // A write, so the WAL and shared-memory files exist.
    api.register("modes@example.org").await;
    assert_eq!(mode(&dir), 0o700);
    for file in ["candor.db", "candor.db-wal", "candor.db-shm"] {
        assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
    }
    server.shutdown().await;
    // An existing database with wide modes is tightened on the next start.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        dir.join("candor.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let server = start(&dir).await;
    assert_eq!((mode(&dir), mode(&dir.join("candor.db"))), (0o700, 0o600));
    server.shutdown().await;
}

/// PCM16 silence, 20 ms at 16 kHz, numbered so the stored copy can be
/// matched byte for byte.
fn pcm16_frame(seq: u64) -> bytes::Bytes {
    let mut f = vec![0u8; 640];
    f[..8].copy_from_slice(&seq.to_le_bytes());
    bytes::Bytes::from(f)
}

#[tokio::test]
async fn an_over_rate_sender_is_cut_off_and_its_audio_kept_up_to_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast_config(dir.path());
    config.limits.media_lead = Duration::from_secs(1);
    let server = candor_server::Server::start(config).await.unwrap();
    let api = Api::new(server.addr());
    let auth = api.register("flood@example.org").await;
    let interview = api.create_interview(&auth.token, 1).await;
    let mut ws = connect(server.addr()).await;
    let mut req = start_request(&auth.token, &interview.id);
    req.audio_config = Some(candor_protocol::AudioConfig::pcm16_mono(16_000));
    send(&mut ws, req).await;
    let Some(ServerPayload::StartResponse(started)) = recv(&mut ws).await.unwrap().payload else {
        panic!("no StartResponse");
    };
    let (mut sink, mut stream) = ws.split();
    // 20× real time: a 20 ms frame every millisecond, for at most 10 s.
    let writer = tokio::spawn(async move {
        let mut sent = 0u64;
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        while sent < 10_000 {
            tick.tick().await;
            sent += 1;
            let bytes = Codec::new(1 << 20)
                .encode(&candor_protocol::ClientToServerMessage::from(audio(
                    sent,
                    pcm16_frame(sent),
                )))
                .unwrap();
            if sink.send(Message::Binary(bytes.into())).await.is_err() {
                break;
            }
        }
        sent
    });
    let mut error = None;
    let closed = tokio::time::timeout(WAIT, async {
        while let Some(Ok(m)) = stream.next().await {
            match m {
                Message::Binary(b) => {
                    if let Some(ServerPayload::Error(e)) =
                        Codec::default().decode_server(&b).unwrap().payload
                    {
                        error = Some(e);
                    }
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server closed the socket");
    writer.abort();
    let error = error.expect("an Error before the close");
    assert_eq!(error.code, ErrorCode::ResourceExhausted as i32, "{error:?}");
    assert!(!error.retryable);
    assert!(
        error.message.contains("faster than real time"),
        "{}",
        error.message
    );
    server.shutdown().await;

    // Everything accepted before the cut is stored, in order, intact.
    let store = candor_server::SqliteStore::open(dir.path()).unwrap();
    let stored = candor_server::Store::candidate_audio(&store, &started.session_id).unwrap();
    assert!(
        stored.len() >= 50,
        "the 1 s lead was accepted: {}",
        stored.len()
    );
    assert!(stored.len() < 400, "cut off early: {}", stored.len());
    for (i, (seq, data)) in stored.iter().enumerate() {
        assert_eq!(*seq, i as u64 + 1);
        assert_eq!(data[..], pcm16_frame(*seq)[..]);
    }
}

#[tokio::test]
async fn chunks_must_fit_their_codec_and_the_session_quota() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast_config(dir.path());
    config.limits.max_session_audio_bytes = 640 * 10;
    let server = candor_server::Server::start(config).await.unwrap();
    let api = Api::new(server.addr());
    let auth = api.register("quota@example.org").await;
    let pcm = Some(candor_protocol::AudioConfig::pcm16_mono(16_000));
    for (sizes, code) in [
        (vec![640, 641], ErrorCode::Malformed),
        (vec![640; 11], ErrorCode::ResourceExhausted),
    ] {
        let interview = api.create_interview(&auth.token, 1).await;
        let mut ws = connect(server.addr()).await;
        let mut req = start_request(&auth.token, &interview.id);
        req.audio_config = pcm;
        send(&mut ws, req).await;
        recv(&mut ws).await.unwrap();
        for (i, n) in sizes.iter().enumerate() {
            let seq = i as u64 + 1;
            // Real-time pace, so only the size and the quota can refuse.
            tokio::time::sleep(Duration::from_millis(20)).await;
            send(&mut ws, audio(seq, bytes::Bytes::from(vec![0u8; *n]))).await;
        }
        let error = loop {
            let msg = recv(&mut ws).await.expect("an Error before the close");
            if let Some(ServerPayload::Error(e)) = msg.payload {
                break e;
            }
        };
        assert_eq!(error.code, code as i32, "{error:?}");
        assert!(recv_until_closed(&mut ws).await);
    }
    server.shutdown().await;
}

async fn recv_until_closed(ws: &mut Ws) -> bool {
    while recv(ws).await.is_some() {}
    true
}

async fn sign_in_status(api: &Api, email: &str, password: &str) -> (u16, Option<u64>) {
    sign_in_from(api, None, email, password).await
}

/// A sign-in from `from` (the address a trusted proxy forwards), else from
/// the test's own.
async fn sign_in_from(
    api: &Api,
    from: Option<&str>,
    email: &str,
    password: &str,
) -> (u16, Option<u64>) {
    let mut req = api
        .http
        .post(api.url("/v1/auth/sign-in"))
        .json(&serde_json::json!({"email": email, "password": password}));
    if let Some(ip) = from {
        req = req.header("x-forwarded-for", ip);
    }
    let res = req.send().await.unwrap();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
    (res.status().as_u16(), retry)
}

#[tokio::test]
async fn thirty_wrong_passwords_get_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast_config(dir.path());
    // Only the account's own limits are at work here.
    config.auth_limits.ip_burst = 1000;
    let server = candor_server::Server::start(config).await.unwrap();
    let api = Api::new(server.addr());
    api.register("victim@example.org").await;
    let mut answers = Vec::new();
    for _ in 0..30 {
        answers.push(sign_in_status(&api, "victim@example.org", "wrong password").await);
    }
    assert!(
        answers[..5].iter().all(|a| a.0 == 401),
        "the first wrong passwords are just wrong: {answers:?}"
    );
    let throttled: Vec<_> = answers.iter().filter(|a| a.0 == 429).collect();
    assert!(throttled.len() >= 20, "{answers:?}");
    assert!(
        throttled.iter().all(|a| a.1.is_some_and(|s| s >= 1)),
        "every 429 says when to retry: {answers:?}"
    );
    assert_eq!(answers.last().unwrap().0, 429);
    // Locked: even the right password waits.
    let (status, retry) = sign_in_status(&api, "victim@example.org", "correct horse battery").await;
    assert_eq!((status, retry.is_some()), (429, true));
    // Another account is not affected.
    api.register("bystander@example.org").await;
    server.shutdown().await;
}

#[tokio::test]
async fn guessing_a_victims_password_locks_out_the_guesser_not_the_victim() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast_config(dir.path());
    config.trust_forwarded_for = true;
    config.auth_limits.ip_burst = 1000;
    let server = candor_server::Server::start(config).await.unwrap();
    let api = Api::new(server.addr());
    api.register("victim@example.org").await;
    let (home, attacker) = (Some("198.51.100.7"), Some("203.0.113.9"));
    assert_eq!(
        sign_in_from(&api, home, "victim@example.org", "correct horse battery")
            .await
            .0,
        200
    );
    let mut answers = Vec::new();
    for _ in 0..30 {
        answers.push(sign_in_from(&api, attacker, "victim@example.org", "wrong password").await);
    }
    assert!(
        answers.iter().filter(|a| a.0 == 429).count() >= 20,
        "the guesser is throttled: {answers:?}"
    );
    assert_eq!(
        sign_in_from(
            &api,
            attacker,
            "victim@example.org",
            "correct horse battery"
        )
        .await
        .0,
        429,
        "and locked, even with the right password"
    );
    assert_eq!(
        sign_in_from(&api, home, "victim@example.org", "correct horse battery").await,
        (200, None),
        "the victim, at the address they use, is not locked out"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn one_address_gets_a_burst_of_attempts_then_429() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast_config(dir.path());
    config.auth_limits.ip_burst = 5;
    config.auth_limits.ip_interval = Duration::from_secs(60);
    let server = candor_server::Server::start(config).await.unwrap();
    let api = Api::new(server.addr());
    let mut statuses = Vec::new();
    for i in 0..8 {
        let email = format!("guess{i}@example.org");
        statuses.push(sign_in_status(&api, &email, "whatever1").await);
    }
    assert!(statuses[..5].iter().all(|s| s.0 == 401), "{statuses:?}");
    assert!(
        statuses[5..]
            .iter()
            .all(|s| s.0 == 429 && s.1.unwrap() >= 50),
        "{statuses:?}"
    );
    // Registration counts against the same address.
    let res = api
        .http
        .post(api.url("/v1/auth/register"))
        .json(&serde_json::json!({"email": "new@example.org", "password": "long enough"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    server.shutdown().await;
}

mod limits {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// Whether the server closed `tcp` within `within` (EOF or reset).
    async fn closed_within(tcp: &mut TcpStream, within: Duration) -> bool {
        let mut buf = [0u8; 1024];
        loop {
            match tokio::time::timeout(within, tcp.read(&mut buf)).await {
                Err(_) => return false,
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
            }
        }
    }

    #[tokio::test]
    async fn connections_per_address_and_slow_headers_and_bodies() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = fast_config(dir.path());
        config.limits.max_connections_per_ip = 3;
        config.limits.header_read_timeout = Duration::from_millis(400);
        config.limits.body_read_timeout = Duration::from_millis(400);
        let server = candor_server::Server::start(config).await.unwrap();
        let mut open = Vec::new();
        for _ in 0..3 {
            open.push(TcpStream::connect(server.addr()).await.unwrap());
        }
        let mut fourth = TcpStream::connect(server.addr()).await.unwrap();
        assert!(
            closed_within(&mut fourth, Duration::from_millis(300)).await,
            "over the per-address limit: closed at once"
        );
        // Idle connections that never send their headers are closed.
        for tcp in &mut open {
            assert!(closed_within(tcp, Duration::from_secs(3)).await);
        }
        // A body that never finishes.
        let mut slow = TcpStream::connect(server.addr()).await.unwrap();
        slow.write_all(
            format!(
                "POST /v1/auth/sign-in HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"email\"",
                server.addr()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        assert!(closed_within(&mut slow, Duration::from_secs(3)).await);
        // Slots are given back: a normal request works.
        let api = Api::new(server.addr());
        api.register("after@example.org").await;
        server.shutdown().await;
    }

    #[tokio::test]
    async fn sessions_per_address_interviews_and_stored_audio_per_user() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = fast_config(dir.path());
        config.limits.max_sessions_per_ip = 1;
        config.limits.max_interviews_per_user = 3;
        config.limits.max_audio_bytes_per_user = 640 * 25;
        let server = candor_server::Server::start(config).await.unwrap();
        let api = Api::new(server.addr());
        let a = api.register("a@example.org").await;
        let b = api.register("b@example.org").await;
        let pcm = Some(candor_protocol::AudioConfig::pcm16_mono(16_000));

        // One live session from this address; the second user is refused.
        let first = api.create_interview(&a.token, 1).await;
        let mut ws = connect(server.addr()).await;
        let mut req = start_request(&a.token, &first.id);
        req.audio_config = pcm;
        send(&mut ws, req).await;
        recv(&mut ws).await.unwrap();
        let other = api.create_interview(&b.token, 1).await;
        let mut ws2 = connect(server.addr()).await;
        send(&mut ws2, start_request(&b.token, &other.id)).await;
        expect_error_and_close(&mut ws2, ErrorCode::ResourceExhausted).await;

        // The first user's audio quota (25 frames) cuts the session at 25.
        for seq in 1..=40u64 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if ws
                .send(Message::Binary(
                    Codec::new(1 << 20)
                        .encode(&candor_protocol::ClientToServerMessage::from(audio(
                            seq,
                            pcm16_frame(seq),
                        )))
                        .unwrap()
                        .into(),
                ))
                .await
                .is_err()
            {
                break;
            }
        }
        let mut error = None;
        while let Some(m) = recv(&mut ws).await {
            if let Some(ServerPayload::Error(e)) = m.payload {
                error = Some(e);
            }
        }
        let error = error.expect("an Error at the quota");
        assert_eq!(error.code, ErrorCode::ResourceExhausted as i32);
        assert!(!error.retryable);
        assert!(error.message.contains("audio limit"), "{}", error.message);
        // Its next session is refused up front.
        let second = api.create_interview(&a.token, 1).await;
        let mut ws = connect(server.addr()).await;
        send(&mut ws, start_request(&a.token, &second.id)).await;
        let message = expect_error_and_close(&mut ws, ErrorCode::ResourceExhausted).await;
        assert!(message.contains("storage limit"), "{message}");

        // Three interviews per user: the fourth is refused.
        api.create_interview(&a.token, 1).await;
        let res = api
            .http
            .post(api.url("/v1/interviews"))
            .bearer_auth(&a.token)
            .json(&serde_json::json!({"role": "software_engineer", "seniority": "mid"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        let body: serde_json::Value = res.json().await.unwrap();
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("limit of 3")
        );
        server.shutdown().await;
    }
}
