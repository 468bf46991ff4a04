//! `vigil tail`'s client: follows with filters, and resumes across a server restart without
//! losing or repeating events.

use crate::common;

use clap::Parser;
use common::TestApp;
use serde_json::json;
use std::time::Duration;
use tokio::sync::mpsc;
use vigil_server::cli::tail::{summary, TailClient};
use vigil_server::config::{Cli, Command};
use vigil_server::storage::KeyKind;
use vigil_wire::StoredEvent;

fn tail_client(args: &[&str]) -> TailClient {
    let cli = Cli::try_parse_from(["vigil", "tail"].iter().chain(args)).expect("valid flags");
    let Command::Tail(args) = cli.command else {
        panic!("parsed as tail")
    };
    TailClient::new(&args).expect("a valid tail configuration")
}

async fn next(events: &mut mpsc::UnboundedReceiver<StoredEvent>) -> StoredEvent {
    tokio::time::timeout(Duration::from_secs(15), events.recv())
        .await
        .expect("an event within 15 s")
        .expect("tail still running")
}

#[tokio::test]
async fn tail_filters_and_resumes_across_a_restart_without_loss_or_repeat() {
    let app = TestApp::spawn().await;
    let read_key = common::create_key(&app.database, "terminal", KeyKind::Read).await;
    let followed = app.instance("127.0.0.1:0".parse().unwrap()).await;
    let addr = followed.addr;
    let client = tail_client(&[
        "--url",
        &format!("http://{addr}"),
        "--token",
        &read_key,
        "--type",
        "auth.login.failure",
    ]);
    let (sender, mut events) = mpsc::unbounded_channel();
    let tail = tokio::spawn(async move {
        client
            .follow(Some(0), |event| Ok(sender.send(event.clone())?))
            .await
    });

    let failure = |name: &str| json!({"event_type": "auth.login.failure", "username": name});
    app.ingest(&json!([failure("before"), {"event_type": "auth.logout"}]))
        .await;
    assert_eq!(next(&mut events).await.username.as_deref(), Some("before"));

    // The followed server goes away; events keep arriving through the other instance.
    followed.stop().await;
    app.ingest(&json!([failure("while-down-1"), {"event_type": "auth.login.success"}, failure("while-down-2")]))
        .await;
    let restarted = app.instance(addr).await;
    app.ingest(&failure("after")).await;

    let mut names = Vec::new();
    for _ in 0..3 {
        let event = next(&mut events).await;
        names.push(event.username.unwrap());
    }
    assert_eq!(names, ["while-down-1", "while-down-2", "after"]);
    assert!(events.try_recv().is_err(), "nothing repeated");
    tail.abort();
    restarted.stop().await;
}

#[tokio::test]
async fn tail_refuses_bad_flags_and_keys_clearly() {
    let cli = Cli::try_parse_from(["vigil", "tail", "--token", "x", "--ip", "nonsense"]).unwrap();
    let Command::Tail(args) = cli.command else {
        panic!("parsed as tail")
    };
    let err = TailClient::new(&args).unwrap_err().to_string();
    assert!(err.starts_with("--ip:"), "{err}");

    let app = TestApp::spawn().await;
    let client = tail_client(&[
        "--url",
        &format!("http://{}", app.addr),
        "--token",
        &app.key, // an ingest key cannot read
    ]);
    let err = client
        .follow(None, |_| Ok(()))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("403"), "{err}");
}

#[test]
fn the_summary_line_escapes_what_producers_sent() {
    let event: StoredEvent = serde_json::from_value(json!({
        "seq": 9, "id": uuid::Uuid::nil(), "event_type": "auth.login.failure",
        "category": "authentication", "action": "login", "action_result": "failure",
        "severity": "warning", "username": "evil\u{1b}[2J", "ip_address": "192.0.2.1",
        "event_data": {}, "occurred_at": "2026-11-28T03:00:00Z",
        "received_at": "2026-11-28T03:00:00Z", "source": "idp",
        "user_id": null, "user_agent": null, "session_fingerprint": null, "mfa_used": null,
        "reason": "bad password", "error_message": null, "token_type": null, "expires_at": null,
        "client_id": null, "scope": null, "forced": null, "api_key_id": null, "api_key_name": null
    }))
    .unwrap();
    assert_eq!(
        summary(&event),
        "2026-11-28T03:00:00.000Z #9 auth.login.failure failure user=evil\\u{1b}[2J \
         ip=192.0.2.1 source=idp reason=\"bad password\""
    );
}

/// A TLS endpoint in front of `app`, as a reverse proxy would be, with a certificate for
/// `localhost` and 127.0.0.1 issued by a CA of the test's own; returns its port and the CA.
async fn tls_front(app: &TestApp) -> (u16, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let leaf = CertificateParams::new(names)
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let backend = app.addr;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut plain = tokio::net::TcpStream::connect(backend).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (port, ca.pem())
}

#[tokio::test]
async fn tail_follows_over_tls_trusting_the_named_ca_and_refuses_an_unknown_one() {
    let app = TestApp::spawn().await;
    let read_key = common::create_key(&app.database, "terminal", KeyKind::Read).await;
    let (port, ca_pem) = tls_front(&app).await;
    let ca_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca_file.path(), ca_pem).unwrap();
    let url = format!("https://localhost:{port}");

    // The system's roots alone do not know the test's CA: refused, and not retried forever.
    let untrusting = tail_client(&["--url", &url, "--token", &read_key]);
    let refused =
        tokio::time::timeout(Duration::from_secs(15), untrusting.follow(None, |_| Ok(())))
            .await
            .expect("an untrusted certificate ends the tail");
    let err = refused.unwrap_err().to_string();
    assert!(err.contains("TLS") && err.contains("certificate"), "{err}");

    let ca = ca_file.path().to_str().unwrap();
    let client = tail_client(&["--url", &url, "--token", &read_key, "--ca-cert", ca]);
    let (sender, mut events) = mpsc::unbounded_channel();
    let tail = tokio::spawn(async move {
        client
            .follow(Some(0), |event| Ok(sender.send(event.clone())?))
            .await
    });
    app.ingest(&json!({"event_type": "auth.login.failure", "username": "over-tls"}))
        .await;
    assert_eq!(
        next(&mut events).await.username.as_deref(),
        Some("over-tls")
    );
    tail.abort();

    let err = TailClient::new(&{
        let cli = Cli::try_parse_from(["vigil", "tail", "--token", "x", "--ca-cert", ca]).unwrap();
        let Command::Tail(args) = cli.command else {
            panic!("parsed as tail")
        };
        args
    })
    .expect_err("--ca-cert with http:// is refused")
    .to_string();
    assert!(err.starts_with("--ca-cert:"), "{err}");
}
