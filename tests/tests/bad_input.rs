//! Bad input gets a precise error and the process keeps serving: missing
//! and wrong tokens, malformed and oversized messages, bad configurations,
//! unreachable databases.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use headroom_proto::v1;
use headroom_tests::load::{self, Identity};
use headroom_tests::{Agent, Collector, CollectorOptions, bin, free_port, tail, wait_for};
use prost::Message;
use tonic::{Code, Request, Status};

const TOKEN: &str = "s3cret-token-0123456789";

/// Opens a stream, sends `messages` as raw bytes, and returns how the
/// collector answered (the first reply or the final status).
async fn send_raw(
    collector: &Collector,
    token: Option<&str>,
    messages: Vec<Vec<u8>>,
) -> Result<v1::CollectorMessage, Status> {
    let channel = tonic::transport::Endpoint::from_shared(collector.endpoint())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let mut request = Request::new(tokio_stream::iter(messages.into_iter().map(Bytes::from)));
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    let path = http::uri::PathAndQuery::from_static("/headroom.v1.Ingest/Stream");
    let mut inbound = grpc
        .streaming(request, path, load::RawCodec)
        .await?
        .into_inner();
    match inbound.message().await? {
        Some(reply) => Ok(reply),
        None => Err(Status::ok("closed without a reply")),
    }
}

fn hello_bytes(agent: &str) -> Vec<u8> {
    Identity {
        agent_id: agent.into(),
        epoch: 1,
        token: String::new(),
    }
    .hello()
    .encode_to_vec()
}

fn batch_bytes(batch: v1::Batch) -> Vec<u8> {
    v1::AgentMessage {
        kind: Some(v1::agent_message::Kind::Batch(batch)),
    }
    .encode_to_vec()
}

/// A well-behaved agent still gets its batch stored: the collector kept serving.
async fn still_serving(collector: &Collector, agent: &str) {
    let identity = Identity {
        agent_id: agent.into(),
        epoch: 1,
        token: TOKEN.into(),
    };
    let report = tokio::time::timeout(
        Duration::from_secs(20),
        load::send_all(&collector.endpoint(), &identity, 1, 1, |seq| {
            load::synthetic_batch(seq, 1, 1, 1_000, 1)
        }),
    )
    .await
    .expect("a good agent is still served");
    assert_eq!(report.acked.len(), 1);
}

async fn secured_collector() -> Collector {
    Collector::start(CollectorOptions {
        agent_tokens: vec![TOKEN.into()],
        extra_toml: "[ingest]\nmax_message_bytes = \"64KiB\"\n".into(),
        ..CollectorOptions::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_and_wrong_tokens_are_unauthenticated_and_never_logged() {
    let collector = secured_collector().await;
    for token in [None, Some("wrong-token-wrong-token"), Some("")] {
        let status = send_raw(&collector, token, vec![hello_bytes("intruder")])
            .await
            .expect_err("refused");
        assert_eq!(
            status.code(),
            Code::Unauthenticated,
            "{token:?}: {status:?}"
        );
        assert!(
            status.message().contains("token") || status.message().contains("authorization"),
            "{status:?}"
        );
    }
    still_serving(&collector, "good").await;
    assert!(
        collector.agent("intruder").await.is_none(),
        "a refused agent is not recorded"
    );
    let log = std::fs::read_to_string(&collector.log).unwrap();
    assert!(log.contains("refused an unauthenticated agent"), "{log}");
    assert!(
        !log.contains(TOKEN) && !log.contains("wrong-token-wrong-token"),
        "tokens never reach the log"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_protobuf_is_invalid_argument_and_the_collector_keeps_serving() {
    let collector = secured_collector().await;
    let garbage = vec![0xff, 0xff, 0xff, 0xff, 0x0f, 0x12];
    let status = send_raw(&collector, Some(TOKEN), vec![garbage.clone()])
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("malformed"), "{status:?}");
    let status = send_raw(&collector, Some(TOKEN), vec![hello_bytes("mixed"), garbage])
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let no_hello = batch_bytes(load::synthetic_batch(1, 1, 1, 0, 1));
    let status = send_raw(&collector, Some(TOKEN), vec![no_hello])
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("Hello"), "{status:?}");
    still_serving(&collector, "good").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_batch_is_refused_by_sequence_with_the_reason() {
    let collector = secured_collector().await;
    let mut nameless = load::synthetic_batch(1, 1, 1, 0, 1);
    nameless.samples[0].name.clear();
    let reply = send_raw(
        &collector,
        Some(TOKEN),
        vec![hello_bytes("sloppy"), batch_bytes(nameless)],
    )
    .await
    .expect("a reply");
    let Some(v1::collector_message::Kind::Error(error)) = reply.kind else {
        panic!("expected an Error, got {reply:?}");
    };
    assert_eq!(
        (error.sequence, error.code.as_str()),
        (1, "INVALID_ARGUMENT")
    );
    assert!(error.message.contains("sample name is empty"), "{error:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_message_is_resource_exhausted_and_the_collector_keeps_serving() {
    let collector = secured_collector().await;
    let big = batch_bytes(load::synthetic_batch(1, 10, 400, 0, 1));
    assert!(big.len() > 64 << 10, "the batch is {} bytes", big.len());
    let status = send_raw(&collector, Some(TOKEN), vec![hello_bytes("big"), big])
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("too large"), "{status:?}");
    still_serving(&collector, "good").await;
}

#[test]
fn a_config_with_several_mistakes_lists_them_all_and_exits_64() {
    let dir = tempfile::tempdir().unwrap();
    let collector_toml = dir.path().join("collector.toml");
    std::fs::write(
        &collector_toml,
        "grpc_listen = \"0.0.0.0:4317\"\nhttp_listen = \"not an address\"\nanalysis_interval = \"soon\"\n\
         colour = \"blue\"\n[retention]\nraw = \"30 fortnights\"\n",
    )
    .unwrap();
    let output = Command::new(bin("headroom-collector"))
        .args(["--config"])
        .arg(&collector_toml)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for needle in [
        "`http_listen`",
        "`analysis_interval`",
        "`colour`: unknown key",
        "`retention`",
        "agent_tokens",
    ] {
        assert!(stderr.contains(needle), "{needle} missing from:\n{stderr}");
    }

    let agent_toml = dir.path().join("agent.toml");
    std::fs::write(
        &agent_toml,
        "[collector]\nendpoint = \"tcp://nowhere\"\nmax_in_flight = 0\n[spool]\nmax_bytes = \"lots\"\n\
         [[sources]]\ntype = \"postgres\"\n[[sources]]\ntype = \"oracle\"\n",
    )
    .unwrap();
    let output = Command::new(bin("headroom-agent"))
        .args(["run", "--config"])
        .arg(&agent_toml)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for needle in [
        "`spool`",
        "`sources[0]`",
        "`sources[1]`",
        "oracle",
        "`collector.endpoint`",
        "max_in_flight",
    ] {
        assert!(stderr.contains(needle), "{needle} missing from:\n{stderr}");
    }
}

#[test]
fn a_collector_whose_database_is_unreachable_says_so_and_exits() {
    let port = free_port();
    let output = Command::new(bin("headroom-collector"))
        .args([
            "--database-url",
            &format!("postgres://headroom:hunter2@127.0.0.1:{port}/headroom"),
        ])
        .args(["--grpc-listen", &format!("127.0.0.1:{}", free_port())])
        .args(["--http-listen", &format!("127.0.0.1:{}", free_port())])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot open the database"), "{stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert!(
        !stderr.contains("hunter2"),
        "the password is redacted: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_postgresql_source_reports_up_zero_and_the_agent_keeps_running() {
    let collector = Collector::start(CollectorOptions::default()).await;
    let port = free_port();
    let toml = format!(
        "[agent]\nid = \"lonely\"\nflush_interval = \"200ms\"\n[collector]\nendpoint = \"{}\"\n[spool]\ndir = \"{{spool}}\"\n\
         [[sources]]\ntype = \"postgres\"\nname = \"gone\"\nurl = \"postgres://u:pw@127.0.0.1:{port}/shop\"\ninterval = \"300ms\"\n\
         [[sources]]\ntype = \"postgres\"\nname = \"here\"\nurl = \"{}\"\ninterval = \"300ms\"\n",
        collector.endpoint(),
        headroom_tests::PG_ADMIN_URL,
    );
    let mut agent = Agent::start(&toml);
    let up = wait_for(
        Duration::from_secs(15),
        "up samples of both sources",
        || async {
            let gone = collector
                .points("up", &[("agent", "lonely"), ("source", "gone")])
                .await;
            let here = collector
                .points("up", &[("agent", "lonely"), ("source", "here")])
                .await;
            let enough = gone.first().is_some_and(|p| p.len() >= 3)
                && here.first().is_some_and(|p| p.len() >= 3);
            enough.then_some((gone, here))
        },
    )
    .await;
    assert!(
        up.0[0].iter().all(|(_, v)| *v == 0.0),
        "the unreachable source is down"
    );
    assert!(
        up.1[0].iter().all(|(_, v)| *v == 1.0),
        "the other source keeps working"
    );
    assert!(agent.is_running());
    let log = tail(&agent.log, 200);
    assert!(
        log.contains("scrape failed") && log.contains(&format!("127.0.0.1:{port}/shop")),
        "{log}"
    );
    assert!(!log.contains("pw@"), "credentials stay out of the log");

    let output = Command::new(bin("headroom-agent"))
        .args(["check", "--config"])
        .arg(&agent.config)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(
        report.contains("FAIL cannot connect to PostgreSQL"),
        "{report}"
    );
    assert!(
        report.contains("fix: nothing accepts connections"),
        "{report}"
    );
    assert!(report.contains("ok   the collector"), "{report}");
    agent.stop();
}
