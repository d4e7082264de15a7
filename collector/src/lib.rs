//! headroom-collector: receives agents' streams, stores them durably and
//! serves them over HTTP. `serve` wires the pieces; each lives in its module.
#![forbid(unsafe_code)]

pub mod advisor;
pub mod alerts;
pub mod analysis;
pub mod config;
pub mod demo;
pub mod ingest;
#[cfg(test)]
mod layout;
pub mod metrics;
pub mod store;
pub mod telemetry;
pub mod timefmt;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;

use headroom_proto::v1::ingest_server::IngestServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Identity, ServerTlsConfig};

use crate::config::Config;
use crate::ingest::IngestService;
use crate::ingest::auth::AgentAuth;
use crate::metrics::IngestCounters;
use crate::store::{Retention, Store, StoreError, Writer};

/// Why the collector could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        addr: SocketAddr,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    #[error("the gRPC server failed: {0}")]
    Grpc(#[from] tonic::transport::Error),
    #[error(transparent)]
    Alerts(#[from] alerts::deliver::ClientError),
    #[error("the HTTP server failed: {0}")]
    Http(std::io::Error),
}

/// The retention of `config` in milliseconds.
pub fn retention(config: &Config) -> Retention {
    Retention {
        raw_ms: config.retention.raw.0.as_millis() as i64,
        minute_ms: config.retention.rollup_1m.0.as_millis() as i64,
        hour_ms: config.retention.rollup_1h.0.as_millis() as i64,
    }
}

/// Opens the store and serves gRPC and HTTP until `shutdown` completes.
pub async fn serve(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    serve_with_advisor_gate(config, shutdown, std::future::ready(())).await
}

/// As [`serve`], but the advisor's first pass waits for `advisor_gate`: the
/// demo opens it once its history is stored and rolled up, so that the
/// advisor's first read of the look-back window sees that history.
pub async fn serve_with_advisor_gate(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
    advisor_gate: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let url = config.effective_database_url();
    let store = Store::open(&url).await?;
    tracing::info!(store = store.backend(), database = %store::redact(&url), "store opened");
    let counters = IngestCounters::default();
    let writer = Writer::spawn(store.clone(), config.ingest.max_group_batches);
    let retention = retention(&config);

    let maintenance = tokio::spawn(maintain(
        store.clone(),
        retention,
        config.retention.compaction_interval.0,
    ));

    let wake = advisor::engine::Wake::default();
    let advisor = tokio::spawn({
        let (store, advisor, interval, wake) = (
            store.clone(),
            config.advisor.clone(),
            config.analysis_interval.0,
            wake.clone(),
        );
        async move {
            advisor_gate.await;
            advisor::engine::run(store, advisor, interval, wake).await;
        }
    });

    let alert_tasks = alerts::dispatch::spawn(
        store.clone(),
        alerts::dispatch::Settings::new(&config.alerts, &config.alerting, config.dashboard_url()),
    )?;
    if !config.alerts.is_empty() {
        tracing::info!(receivers = config.alerts.len(), "alerts enabled");
    }

    let grpc_listener = bind(config.grpc_listen, "gRPC").await?;
    let http_listener = bind(config.http_listen, "HTTP").await?;
    tracing::info!(grpc = %config.grpc_listen, http = %config.http_listen, "listening");

    let limit = config.ingest.max_message_bytes.0 as usize;
    let auth = AgentAuth::new(config.auth.agent_tokens.clone());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let ingest = IngestService::new(
        store.clone(),
        writer,
        counters.clone(),
        wake,
        stop_rx.clone(),
    );
    let service = InterceptedService::new(
        IngestServer::new(ingest.clone())
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
        auth.clone(),
    );
    let otlp = ingest::otlp::receiver();
    let otlp_flush = tokio::spawn(ingest::otlp::flush(
        otlp.clone(),
        ingest,
        store.clone(),
        config.ingest.otlp_flush_interval.0,
    ));

    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let mut grpc_stop = stop_rx.clone();
    let mut builder = tonic::transport::Server::builder();
    if config.tls.enabled() {
        let read = |path: &str| {
            std::fs::read(path)
                .map_err(|source| ServeError::Tls(format!("cannot read {path}: {source}")))
        };
        let identity =
            Identity::from_pem(read(&config.tls.cert_file)?, read(&config.tls.key_file)?);
        builder = builder
            .tls_config(ServerTlsConfig::new().identity(identity))
            .map_err(|error| ServeError::Tls(error.to_string()))?;
    } else if !config.grpc_listen.ip().is_loopback() {
        tracing::warn!(grpc = %config.grpc_listen, "gRPC without TLS beyond loopback: agent tokens travel in clear text; set [tls]");
    }
    let grpc = builder
        .http2_keepalive_interval(Some(std::time::Duration::from_secs(30)))
        .add_service(service)
        .add_service(InterceptedService::new(otlp.trace_service(), auth.clone()))
        .add_service(InterceptedService::new(otlp.metrics_service(), auth))
        .serve_with_incoming_shutdown(TcpListenerStream::new(grpc_listener), async move {
            let _ = grpc_stop.wait_for(|stop| *stop).await;
        });
    let state = web::AppState {
        store,
        retention,
        counters,
        auth: web::auth::WebAuth::new(&config.auth),
        headroom: web::HeadroomCache::default(),
        receivers: std::sync::Arc::new(config.alerts.clone()),
    };
    let mut http_stop = stop_rx;
    let http = axum::serve(http_listener, web::router(state)).with_graceful_shutdown(async move {
        let _ = http_stop.wait_for(|stop| *stop).await;
    });
    let (grpc, http) = tokio::join!(grpc, async { http.await.map_err(ServeError::Http) });
    maintenance.abort();
    advisor.abort();
    otlp_flush.abort();
    for task in alert_tasks {
        task.abort();
    }
    grpc?;
    http?;
    tracing::info!("stopped");
    Ok(())
}

async fn bind(addr: SocketAddr, what: &'static str) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, what, source })
}

/// Compacts, rolls up and expires every `interval`; a failed pass is logged
/// and retried at the next tick.
async fn maintain(store: Store, retention: Retention, interval: std::time::Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match store.maintain(&retention, store::now_ms()).await {
            Ok(report) if report.windows_compacted > 0 || report.blocks_expired > 0 => {
                tracing::debug!(
                    windows = report.windows_compacted,
                    merged = report.blocks_merged,
                    expired = report.blocks_expired,
                    "maintenance pass"
                );
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(error = %error, "maintenance pass failed; retrying at the next interval")
            }
        }
    }
}
