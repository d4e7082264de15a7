//! The demo's agents on the wire: one `headroom.v1` stream per simulated
//! agent, opened like the real agent's shipper (a Hello, then batches with
//! the agent id's sequence numbers, a window of batches ahead of their
//! acks).

use std::time::Duration;

use headroom_proto::v1::{self, agent_message, collector_message, ingest_client::IngestClient};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint};

/// Batches sent ahead of their acks.
const WINDOW: u64 = 16;

/// Why the feed stopped.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("cannot connect to the collector at {endpoint}: {detail}")]
    Connect { endpoint: String, detail: String },
    #[error("the collector refused the stream of {agent_id}: {}", .status.message())]
    Refused {
        agent_id: String,
        status: tonic::Status,
    },
    #[error("the stream of {agent_id} ended: {detail}")]
    Stream { agent_id: String, detail: String },
    #[error("the collector rejected batch {sequence} of {agent_id}: {message}")]
    Rejected {
        agent_id: String,
        sequence: u64,
        message: String,
    },
    #[error("the agent token cannot be sent as gRPC metadata")]
    BadToken,
}

/// Connects to `endpoint`, retrying while the server is still starting.
pub async fn connect(endpoint: &str, patience: Duration) -> Result<Channel, FeedError> {
    let error = |detail: String| FeedError::Connect {
        endpoint: endpoint.to_owned(),
        detail,
    };
    let target = Endpoint::from_shared(endpoint.to_owned()).map_err(|e| error(e.to_string()))?;
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match target.connect().await {
            Ok(channel) => return Ok(channel),
            Err(e) if tokio::time::Instant::now() >= deadline => return Err(error(e.to_string())),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// One simulated agent's open stream.
pub struct AgentStream {
    agent_id: String,
    sender: mpsc::Sender<v1::AgentMessage>,
    inbound: tonic::Streaming<v1::CollectorMessage>,
    next_sequence: u64,
    acked: u64,
}

impl AgentStream {
    /// Opens the stream of `hello.agent_id` on `channel` with `token`.
    pub async fn open(channel: Channel, token: &str, hello: v1::Hello) -> Result<Self, FeedError> {
        let agent_id = hello.agent_id.clone();
        let mut client = IngestClient::new(channel)
            .max_decoding_message_size(headroom_proto::DEFAULT_MAX_MESSAGE_BYTES)
            .max_encoding_message_size(headroom_proto::DEFAULT_MAX_MESSAGE_BYTES);
        let (sender, receiver) = mpsc::channel(WINDOW as usize + 1);
        let closed = |agent_id: &str| FeedError::Stream {
            agent_id: agent_id.to_owned(),
            detail: "closed before the Hello".into(),
        };
        sender
            .send(v1::AgentMessage {
                kind: Some(agent_message::Kind::Hello(hello)),
            })
            .await
            .map_err(|_| closed(&agent_id))?;
        let request = headroom_proto::bearer_request(ReceiverStream::new(receiver), token)
            .ok_or(FeedError::BadToken)?;
        let inbound = client
            .stream(request)
            .await
            .map_err(|status| FeedError::Refused {
                agent_id: agent_id.clone(),
                status,
            })?
            .into_inner();
        Ok(Self {
            agent_id,
            sender,
            inbound,
            next_sequence: 1,
            acked: 0,
        })
    }

    /// Sends `batch` with the next sequence number, first waiting for acks
    /// while `WINDOW` batches are unacked.
    pub async fn send(&mut self, mut batch: v1::Batch, now_ms: i64) -> Result<(), FeedError> {
        while self.next_sequence - 1 - self.acked >= WINDOW {
            self.await_ack().await?;
        }
        batch.sequence = self.next_sequence;
        batch.created_ms = now_ms;
        self.next_sequence += 1;
        self.sender
            .send(v1::AgentMessage {
                kind: Some(agent_message::Kind::Batch(batch)),
            })
            .await
            .map_err(|_| FeedError::Stream {
                agent_id: self.agent_id.clone(),
                detail: "the request stream closed".into(),
            })
    }

    /// Waits until every batch sent is acked (durably stored).
    pub async fn flush(&mut self) -> Result<(), FeedError> {
        while self.acked + 1 < self.next_sequence {
            self.await_ack().await?;
        }
        Ok(())
    }

    async fn await_ack(&mut self) -> Result<(), FeedError> {
        let message = self
            .inbound
            .message()
            .await
            .map_err(|status| FeedError::Stream {
                agent_id: self.agent_id.clone(),
                detail: status.message().to_owned(),
            })?
            .ok_or_else(|| FeedError::Stream {
                agent_id: self.agent_id.clone(),
                detail: "the collector closed the stream".into(),
            })?;
        match message.kind {
            Some(collector_message::Kind::Ack(ack)) => {
                self.acked = self.acked.max(ack.sequence);
                Ok(())
            }
            Some(collector_message::Kind::Error(error)) => Err(FeedError::Rejected {
                agent_id: self.agent_id.clone(),
                sequence: error.sequence,
                message: error.message,
            }),
            None => Ok(()),
        }
    }
}

/// The Hello of a simulated agent with `sources` (name, type, interval).
pub fn hello(agent_id: &str, epoch: u64, sources: &[(&str, &str, u64)]) -> v1::Hello {
    v1::Hello {
        agent_id: agent_id.to_owned(),
        hostname: format!("{agent_id}.demo"),
        version: format!("{}-demo", env!("CARGO_PKG_VERSION")),
        spool_epoch: epoch,
        sources: sources
            .iter()
            .map(|&(name, kind, interval_ms)| v1::SourceInfo {
                name: name.to_owned(),
                r#type: kind.to_owned(),
                interval_ms,
            })
            .collect(),
    }
}
