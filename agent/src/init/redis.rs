//! Redis on this host: the Medusa project's `REDIS_URL` and 127.0.0.1:6379,
//! each sent one PING; the ones that reach the same server (same `run_id`)
//! become one `redis` source, the first in that order.

use std::time::Duration;

use redis::AsyncConnectionConfig;

use super::postgres::{Candidate, Failure};
use crate::sources::redis::{diagnose, endpoint};

/// The local default address.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// The candidates, most specific first.
pub fn candidates(redis_url: Option<(&str, &str)>) -> Vec<Candidate> {
    let mut out = Vec::new();
    if let Some((url, how)) = redis_url {
        out.push(Candidate {
            url: url.to_owned(),
            how: how.to_owned(),
            configured: true,
        });
    }
    out.push(Candidate {
        url: DEFAULT_URL.to_owned(),
        how: "a PING answered on 127.0.0.1:6379".into(),
        configured: false,
    });
    out
}

/// PING, then the server's `run_id` (its identity; the endpoint when INFO
/// is not allowed).
pub async fn probe(url: &str, timeout: Duration) -> Result<String, Failure> {
    let endpoint = endpoint(url);
    if url.starts_with("rediss://") {
        return Err(Failure {
            answered: false,
            reason: format!(
                "{endpoint} is TLS (rediss://), which the redis source does not speak yet"
            ),
        });
    }
    let failure = |error: redis::RedisError| Failure {
        answered: error.code().is_some() || error.kind() == redis::ErrorKind::AuthenticationFailed,
        reason: diagnose(&error, &endpoint),
    };
    let client = redis::Client::open(url).map_err(failure)?;
    let options = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout));
    let mut connection = client
        .get_multiplexed_async_connection_with_config(&options)
        .await
        .map_err(failure)?;
    let _: String = redis::cmd("PING")
        .query_async(&mut connection)
        .await
        .map_err(failure)?;
    let info: Result<String, _> = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut connection)
        .await;
    let run_id = info.ok().and_then(|text| {
        text.lines().find_map(|line| {
            line.strip_prefix("run_id:")
                .map(str::trim)
                .map(str::to_owned)
        })
    });
    Ok(run_id.unwrap_or(endpoint))
}
