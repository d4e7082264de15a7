//! gRPC over TLS: an agent that trusts the collector's certificate ships
//! to it; one that does not is told why, and its token is never sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use headroom_tests::{
    Agent, Collector, CollectorOptions, bin, postgres_agent_toml, tail, wait_for,
};

const TOKEN: &str = "tls-token-0123456789abcdef";

/// A collector serving a fresh self-signed certificate for `localhost`;
/// returns it with the certificate's path.
async fn tls_collector() -> (Collector, String) {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap().keep();
    let cert_file = dir.join("cert.pem");
    let key_file = dir.join("key.pem");
    std::fs::write(&cert_file, key.cert.pem()).unwrap();
    std::fs::write(&key_file, key.signing_key.serialize_pem()).unwrap();
    let collector = Collector::start(CollectorOptions {
        agent_tokens: vec![TOKEN.into()],
        extra_toml: format!(
            "[tls]\ncert_file = {:?}\nkey_file = {:?}\n",
            cert_file.display().to_string(),
            key_file.display().to_string()
        ),
        ..CollectorOptions::default()
    })
    .await;
    (collector, cert_file.display().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_that_trusts_the_collector_ships_over_tls() {
    let (collector, cert) = tls_collector().await;
    let endpoint = format!("https://localhost:{}", collector.grpc.port());
    let extra = format!("token = {TOKEN:?}\nca_file = {cert:?}");
    let agent = Agent::start(&postgres_agent_toml("tls-1", &endpoint, "1s", &extra));
    wait_for(
        Duration::from_secs(15),
        "the agent's points over TLS",
        || async {
            let points = collector.points("up", &[("agent", "tls-1")]).await;
            (points.first().is_some_and(|p| !p.is_empty())).then_some(())
        },
    )
    .await;
    let log = tail(&agent.log, 50);
    assert!(log.contains("connected to the collector"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_that_does_not_trust_the_certificate_is_told_why() {
    let (collector, _cert) = tls_collector().await;
    let endpoint = format!("https://localhost:{}", collector.grpc.port());
    let toml = postgres_agent_toml("tls-2", &endpoint, "1s", &format!("token = {TOKEN:?}"));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        toml.replace("{spool}", &dir.path().join("spool").display().to_string()),
    )
    .unwrap();
    let output = Command::new(bin("headroom-agent"))
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(
        report.contains("FAIL cannot connect to the collector"),
        "{report}"
    );
    assert!(
        report.to_lowercase().contains("certificate"),
        "the reason names the certificate: {report}"
    );
    assert!(
        collector.agent("tls-2").await.is_none(),
        "nothing reached the collector"
    );
}
