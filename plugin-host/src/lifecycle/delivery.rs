//! Delivery of a renewed secret to the merchant's reception URL: a JSON
//! POST in a background task, retried with capped exponential backoff until
//! it answers 200 or the attempts run out. Logged and audited by account,
//! key id and attempt count, never with the secret.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use hyper::header::CONTENT_TYPE;
use zeroize::Zeroizing;

use super::DeliveryConfig;
use super::service::{Actor, Service};
use crate::audit::{AuditAction, AuditEvent};
use crate::gateway::Shared;

/// One secret to deliver.
pub struct Delivery {
    /// The reception URL (`https://`; `http://` only with
    /// `allow_insecure_delivery`, checked with the configuration).
    pub url: String,
    /// The account's operation code.
    pub account: String,
    /// The renewed key's id.
    pub key_id: String,
    /// The JSON body (`{"operation_account_code","secret","expires_in"}`).
    pub payload: Zeroizing<Vec<u8>>,
}

/// The wait after failed attempt `attempt` (from 1): `initial · 2^(attempt-1)`, at most `max`.
pub fn backoff(attempt: u32, config: &DeliveryConfig) -> Duration {
    let factor = 1u64.checked_shl(attempt.saturating_sub(1)).unwrap_or(u64::MAX);
    Duration::from_millis(config.initial_backoff_ms.saturating_mul(factor).min(config.max_backoff_ms))
}

/// Starts delivering in the background.
pub fn spawn(shared: Arc<Shared>, config: DeliveryConfig, delivery: Delivery) {
    tokio::spawn(async move { deliver(&shared, &config, delivery).await });
}

async fn deliver(shared: &Shared, config: &DeliveryConfig, delivery: Delivery) {
    let actor = Actor::account(&delivery.account);
    for attempt in 1..=config.attempts {
        let status = match attempt_once(shared, config, &delivery).await {
            Ok(status) => Some(status),
            Err(error) => {
                // A transport error (refused, TLS handshake, timeout): its
                // text names no secret, only what failed.
                tracing::warn!(account = %delivery.account, attempt, error, "the reception URL could not be reached");
                None
            }
        };
        if status == Some(200) {
            tracing::info!(account = %delivery.account, key_id = %delivery.key_id, attempt, "renewed secret delivered");
            let event = AuditEvent::new(shared.clock.now(), actor.as_str(), AuditAction::SecretDelivered, &delivery.key_id)
                .with_detail(format!("attempts={attempt}"));
            Service::new(shared).audit_event(event).await;
            return;
        }
        tracing::warn!(account = %delivery.account, key_id = %delivery.key_id, attempt, status = status.unwrap_or(0), "delivery of a renewed secret failed");
        if attempt < config.attempts {
            tokio::time::sleep(backoff(attempt, config)).await;
        }
    }
    tracing::error!(account = %delivery.account, key_id = %delivery.key_id, attempts = config.attempts, "giving up delivering a renewed secret");
    let event = AuditEvent::new(shared.clock.now(), actor.as_str(), AuditAction::SecretDeliveryFailed, &delivery.key_id)
        .with_detail(format!("attempts={}", config.attempts));
    Service::new(shared).audit_event(event).await;
}

/// One POST; the status, or what failed (a transport error or timeout).
async fn attempt_once(shared: &Shared, config: &DeliveryConfig, delivery: &Delivery) -> Result<u16, String> {
    let request = Request::post(delivery.url.as_str())
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::copy_from_slice(&delivery.payload)))
        .map_err(|e| e.to_string())?;
    let sent = tokio::time::timeout(Duration::from_millis(config.timeout_ms), shared.delivery_client.request(request));
    let response = sent.await.map_err(|_| "timed out".to_owned())?.map_err(|e| format!("{e:?}"))?;
    Ok(response.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let config = DeliveryConfig { attempts: 10, initial_backoff_ms: 100, max_backoff_ms: 1_000, timeout_ms: 1, ..DeliveryConfig::default() };
        let waits: Vec<u128> = (1..=6).map(|a| backoff(a, &config).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1_000, 1_000]);
        assert_eq!(backoff(200, &config).as_millis(), 1_000);
    }
}
