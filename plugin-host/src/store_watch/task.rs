//! The store watch's background task (see the parent module): it drives a
//! gateway's [`super::StoreWatch`] and reloads the gateway when the stored key
//! records moved.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use super::RELOAD_RETRY;
use crate::gateway::Shared;

/// The background task: probes, follows the key records' version, and
/// reloads when it moves. Ends at shutdown.
pub async fn run(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let changes = shared.store.key_record_changes();
    let mut next_reload = Instant::now();
    loop {
        let pushed = async {
            match &changes {
                Some(notify) => notify.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = pushed => {}
            () = tokio::time::sleep(shared.store_watch.interval) => {}
            _ = shutdown.changed() => break,
        }
        check(&shared, &mut next_reload).await;
    }
}

async fn check(shared: &Shared, next_reload: &mut Instant) {
    let watch = &shared.store_watch;
    let started = Instant::now();
    if let Err(error) = shared.store.ping().await {
        watch.set_reachable(false, Some(&error));
        return;
    }
    let version = match shared.store.key_records_version().await {
        Ok(Some(version)) => version,
        Ok(None) => {
            watch.set_reachable(true, None);
            return;
        }
        Err(error) => {
            watch.set_reachable(false, Some(&error));
            return;
        }
    };
    watch.set_reachable(true, None);
    if watch.holds(version) {
        watch.confirm(started);
        return;
    }
    if Instant::now() < *next_reload {
        return;
    }
    // The reload reads the records after `version` was read: it holds at
    // least that version's changes.
    match shared.reload_for_version(version).await {
        Ok(reloaded) => {
            watch.built_from(version, started);
            if reloaded.is_some() {
                tracing::info!(version, "key records changed in the store; reloaded");
            }
        }
        Err(_) => *next_reload = Instant::now() + RELOAD_RETRY,
    }
}

