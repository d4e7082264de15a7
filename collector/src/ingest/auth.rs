//! Bearer-token authentication of agents, as a tonic interceptor. Tokens
//! are compared in constant time and never logged.

use std::sync::Arc;

use subtle::ConstantTimeEq;
use tonic::{Request, Status};

/// The tokens agents may present; empty means any agent (the configuration
/// allows that only on loopback).
#[derive(Debug, Clone, Default)]
pub struct AgentAuth {
    tokens: Arc<Vec<String>>,
}

impl AgentAuth {
    /// Accepts any of `tokens`.
    pub fn new(tokens: Vec<String>) -> Self {
        Self {
            tokens: Arc::new(tokens),
        }
    }

    /// Checks the `authorization` metadata of a call.
    pub fn check<T>(&self, request: &Request<T>) -> Result<(), Status> {
        if self.tokens.is_empty() {
            return Ok(());
        }
        let Some(value) = request.metadata().get(headroom_proto::AUTHORIZATION) else {
            return Err(self.refuse(request, "missing `authorization: Bearer <token>` metadata"));
        };
        let Some(presented) = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) else {
            return Err(self.refuse(
                request,
                "the `authorization` metadata must be `Bearer <token>`",
            ));
        };
        let matched = self
            .tokens
            .iter()
            .fold(subtle::Choice::from(0), |any, token| {
                any | token.as_bytes().ct_eq(presented.as_bytes())
            });
        if bool::from(matched) {
            Ok(())
        } else {
            Err(self.refuse(request, "the agent token is not one of `auth.agent_tokens`"))
        }
    }

    fn refuse<T>(&self, request: &Request<T>, reason: &'static str) -> Status {
        let remote = request
            .remote_addr()
            .map(|addr| addr.to_string())
            .unwrap_or_default();
        tracing::warn!(remote = %remote, reason, "refused an unauthenticated agent");
        Status::unauthenticated(reason)
    }
}

impl tonic::service::Interceptor for AgentAuth {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        self.check(&request)?;
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_header(value: Option<&str>) -> Request<()> {
        let mut request = Request::new(());
        if let Some(value) = value {
            request
                .metadata_mut()
                .insert("authorization", value.parse().expect("ascii"));
        }
        request
    }

    #[test]
    fn only_a_listed_bearer_token_is_accepted() {
        let auth = AgentAuth::new(vec!["0123456789abcdef".into(), "fedcba9876543210".into()]);
        assert!(
            auth.check(&with_header(Some("Bearer fedcba9876543210")))
                .is_ok()
        );
        for bad in [
            None,
            Some("Bearer wrong"),
            Some("Basic 0123456789abcdef"),
            Some("Bearer 0123456789abcde"),
        ] {
            let status = auth.check(&with_header(bad)).expect_err("refused");
            assert_eq!(status.code(), tonic::Code::Unauthenticated, "{bad:?}");
            assert!(!status.message().contains("0123456789abcdef"));
        }
    }

    #[test]
    fn no_tokens_means_any_agent() {
        assert!(AgentAuth::default().check(&with_header(None)).is_ok());
    }
}
