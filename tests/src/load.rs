//! A protocol-level agent for tests and benchmarks: speaks headroom.v1 like
//! the real agent (Hello, batches in sequence order, a window of unacked
//! batches, re-send after reconnect) and records exactly which sequences
//! the collector acknowledged. [`send_encoded`] sends batches encoded
//! beforehand, so a benchmark times the collector rather than the client.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes};
use headroom_proto::v1::{self, agent_message, collector_message};
use prost::Message;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::{Request, Status, Streaming};

/// Who the synthetic agent is.
#[derive(Debug, Clone)]
pub struct Identity {
    pub agent_id: String,
    pub epoch: u64,
    pub token: String,
}

impl Identity {
    /// The Hello this identity sends.
    pub fn hello(&self) -> v1::AgentMessage {
        v1::AgentMessage {
            kind: Some(agent_message::Kind::Hello(v1::Hello {
                agent_id: self.agent_id.clone(),
                hostname: "load".into(),
                version: "test".into(),
                spool_epoch: self.epoch,
                sources: vec![],
            })),
        }
    }
}

/// A batch with `series` gauges `load{series="i"}`, each holding
/// `points_per_series` points spaced `step_ms` apart, whose values are the
/// sequence number (so every stored point names the batch it came from).
pub fn synthetic_batch(
    sequence: u64,
    series: usize,
    points_per_series: usize,
    start_ms: i64,
    step_ms: i64,
) -> v1::Batch {
    let first = start_ms + (sequence as i64 - 1) * points_per_series as i64 * step_ms;
    let labels: Vec<v1::Label> = Vec::new();
    let mut samples = Vec::with_capacity(series * points_per_series);
    for s in 0..series {
        let mut series_labels = labels.clone();
        series_labels.push(v1::Label::new("series", s.to_string()));
        for p in 0..points_per_series {
            samples.push(v1::Sample {
                name: "load".into(),
                labels: series_labels.clone(),
                kind: v1::MetricKind::Gauge as i32,
                timestamp_ms: first + p as i64 * step_ms,
                value: sequence as f64,
            });
        }
    }
    v1::Batch {
        sequence,
        created_ms: first,
        samples,
        ..Default::default()
    }
}

/// What a run saw.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub acked: BTreeSet<u64>,
    pub duplicates: u64,
    pub reconnects: u32,
    /// When the first batch was handed to the stream.
    pub first_send: Option<Instant>,
    /// When the last acknowledgement arrived.
    pub last_ack: Option<Instant>,
}

/// Sends batches `1..=total` (built by `make`) until every one is acked,
/// reconnecting (every 50 ms) whenever the stream fails.
pub async fn send_all(
    endpoint: &str,
    identity: &Identity,
    total: u64,
    window: usize,
    make: impl Fn(u64) -> v1::Batch,
) -> Report {
    let batches: Vec<Bytes> = (1..=total).map(|seq| encode_batch(make(seq))).collect();
    send_encoded(endpoint, identity, &batches, window).await
}

/// Sends batches `1..=total` (`make` builds the message of a sequence) with
/// at most `window` unacked, until every one is acked.
async fn exchange<M>(
    sender: mpsc::Sender<M>,
    mut inbound: Streaming<v1::CollectorMessage>,
    total: u64,
    window: usize,
    make: impl Fn(u64) -> M,
    report: &mut Report,
) -> Result<(), String> {
    // Re-send from the oldest unacked batch, as the agent does.
    let mut next = (1..=total)
        .find(|seq| !report.acked.contains(seq))
        .unwrap_or(total + 1);
    let mut in_flight = 0usize;
    loop {
        while in_flight < window && next <= total {
            sender.send(make(next)).await.map_err(|e| e.to_string())?;
            report.first_send.get_or_insert_with(Instant::now);
            next += 1;
            in_flight += 1;
        }
        if report.acked.len() as u64 >= total {
            return Ok(());
        }
        match inbound.message().await.map_err(|s| s.to_string())? {
            Some(v1::CollectorMessage {
                kind: Some(collector_message::Kind::Ack(ack)),
            }) => {
                report.acked.insert(ack.sequence);
                report.last_ack = Some(Instant::now());
                if ack.duplicate {
                    report.duplicates += 1;
                }
                in_flight -= 1;
            }
            Some(other) => return Err(format!("unexpected message: {other:?}")),
            None => return Err("stream closed".into()),
        }
    }
}

/// `batch` as the bytes of the `AgentMessage` carrying it, for [`send_encoded`].
pub fn encode_batch(batch: v1::Batch) -> Bytes {
    v1::AgentMessage {
        kind: Some(agent_message::Kind::Batch(batch)),
    }
    .encode_to_vec()
    .into()
}

/// Like [`send_all`], but `batches[i]` (sequence `i + 1`, from
/// [`encode_batch`]) is already encoded: the client neither builds nor
/// encodes anything while it sends, and a re-send is a cheap clone.
pub async fn send_encoded(
    endpoint: &str,
    identity: &Identity,
    batches: &[Bytes],
    window: usize,
) -> Report {
    let mut report = Report::default();
    while report.acked.len() < batches.len() {
        if let Err(error) = encoded_session(endpoint, identity, batches, window, &mut report).await
        {
            report.reconnects += 1;
            if report.reconnects % 50 == 1 {
                eprintln!("load: stream ended ({error}); reconnecting");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    report
}

async fn encoded_session(
    endpoint: &str,
    identity: &Identity,
    batches: &[Bytes],
    window: usize,
    report: &mut Report,
) -> Result<(), String> {
    let channel = tonic::transport::Endpoint::from_shared(endpoint.to_owned())
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    let mut grpc = tonic::client::Grpc::new(channel).max_encoding_message_size(64 << 20);
    grpc.ready().await.map_err(|e| e.to_string())?;
    let (sender, receiver) = mpsc::channel(window + 1);
    sender
        .send(Bytes::from(identity.hello().encode_to_vec()))
        .await
        .map_err(|e| e.to_string())?;
    let mut request = Request::new(ReceiverStream::new(receiver));
    if !identity.token.is_empty() {
        let value = format!("Bearer {}", identity.token)
            .parse()
            .map_err(|_| "bad token".to_owned())?;
        request.metadata_mut().insert("authorization", value);
    }
    let path = http::uri::PathAndQuery::from_static("/headroom.v1.Ingest/Stream");
    let inbound = grpc
        .streaming(request, path, RawCodec)
        .await
        .map_err(|s| s.to_string())?
        .into_inner();
    let total = batches.len() as u64;
    let message = |seq: u64| batches[seq as usize - 1].clone();
    exchange(sender, inbound, total, window, message, report).await
}

/// Sends messages as the bytes given (pre-encoded, or deliberately
/// malformed); decodes the replies.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

/// [`RawCodec`]'s encoder: writes the bytes as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawEncoder;

/// [`RawCodec`]'s decoder of `CollectorMessage`s.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplyDecoder;

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for ReplyDecoder {
    type Item = v1::CollectorMessage;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        v1::CollectorMessage::decode(src)
            .map(Some)
            .map_err(|e| Status::internal(e.to_string()))
    }
}

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = v1::CollectorMessage;
    type Encoder = RawEncoder;
    type Decoder = ReplyDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> ReplyDecoder {
        ReplyDecoder
    }
}
