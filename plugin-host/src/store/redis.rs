//! The shared store: one Redis, so several gateways behind a load balancer
//! share key records, revocations and idempotency claims.
//!
//! # Key layout
//!
//! Every key starts with the configured prefix `P` (`store.prefix`, default
//! `payseal`; letters, digits, `_`, `-`, `.` only, so it can be neither a
//! hash tag nor a `SCAN` pattern). Values that expire start with the
//! expiry, 20 decimal digits (unix seconds, zero-padded, `u64::MAX`:
//! never), so a script compares it with `now` as text, exactly, for any
//! `u64`.
//!
//! | key | type | value |
//! | --- | --- | --- |
//! | `P:idem:<env>:{<hash>}` | string | expiry + the core's `IdempotencyRecord` JSON |
//! | `P:replay:{<hash>}` | string | a request signature's mark (the core's `ReplayGuard`), claimed like an idempotency record |
//! | `P:entry:<key>` | string | expiry + the lifecycle entry's bytes |
//! | `{P:keys}:record:<env>:<id>` | string | the core's `KeyRecord` JSON (a digest, never a key) |
//! | `{P:keys}:ids` | set | every stored key record id |
//! | `{P:keys}:version` | integer | bumped by every key record change |
//! | `{P:audit}:events` | list | audit events; sequence number = `trimmed` + position + 1 |
//! | `{P:audit}:trimmed` | integer | how many of the oldest events [`Store::trim_audit`] deleted |
//!
//! The idempotency storage keys come from the core already hash-tagged
//! (`idem:<env>:{hash}`); the store only puts the prefix in front. Every
//! script touches keys of one Redis Cluster slot: a record alone, or the
//! `{P:keys}` group (a key record, the id set and the version change
//! together, in one script that also `PUBLISH`es the new version on the
//! `{P:keys}:changed` channel). A key record swap is one such script over
//! every record it names: it compares all, then writes all or nothing.
//!
//! # Redis Cluster
//!
//! `store.cluster` names a cluster by seed nodes ([`RedisTarget`]); the
//! same scripts run there unchanged (the connection routes each by its keys),
//! since every script and multi-key command stays in one slot: a record
//! alone (`P:idem:<env>:{hash}`, `P:replay:{hash}`, `P:entry:<key>`: one
//! key each), `{P:keys}` (key records, their id set and version, the
//! `MGET` of [`Store::key_records`]) or `{P:audit}` (events and the trimmed
//! count). What no key routes is asked per node: [`Store::sweep`] scans
//! every master, and the change listener subscribes on one seed at a time,
//! since a cluster forwards every `PUBLISH` to all its nodes.
//!
//! # Time
//!
//! Expiry is judged against the `now` the gateway passes (its injectable
//! clock), inside the scripts. `PX` is only cleanup: the remaining time by
//! the gateway's clock plus [`CLEANUP_GRACE_MS`], so Redis's own clock never
//! removes a record the gateway still holds live. [`Store::sweep`] deletes
//! records the gateway's clock expired before Redis did (a `SCAN` of
//! `P:*`, one single-key script per key).
//!
//! # Failures
//!
//! Every command runs under `store.command_timeout_ms`: Redis down or slow
//! is a [`StoreError`], and the request that needed it fails closed. The
//! connection reconnects by itself.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt as _;
use payseal_core::Environment;
use payseal_core::idempotency::IdempotencyRecord;
use payseal_core::keys::KeyRecord;
use redis::{AsyncCommands as _, Script};
use serde::Deserialize;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

use super::{Claim, KeySwap, Store, StoreError, check_distinct_ids};

mod link;
mod target;

use link::Link;
pub use target::{ClusterSeeds, RedisTarget};

/// Added to every `PX`: Redis removes an expired record this long after
/// the gateway's clock says it expired, never before.
pub const CLEANUP_GRACE_MS: u64 = 60_000;

/// Every key record environment (a record id lives under exactly one).
const ENVIRONMENTS: [Environment; 2] = [Environment::Live, Environment::Test];

/// The largest shift of a cleanup time a script gets (about 31,000 years).
const MAX_LUA_MS: u64 = 1_000_000_000_000_000;

/// Keys examined per `SCAN` step of a sweep.
const SCAN_COUNT: usize = 500;

/// A Redis URL (`redis://` or, with TLS, `rediss://`, then
/// `[user:password@]host:port/db`). It may hold a
/// password: `Debug` and [`RedisUrl::redacted`] never show the user part,
/// and the text is wiped when dropped.
#[derive(Clone)]
pub struct RedisUrl(Zeroizing<String>);

impl RedisUrl {
    /// Checks the scheme and the shape; the message names the field, never the value.
    ///
    /// # Errors
    /// Not a `redis://` or `rediss://` URL with a host.
    pub fn parse(text: &str, field: &str) -> Result<Self, String> {
        let Some(rest) = text.strip_prefix("rediss://").or_else(|| text.strip_prefix("redis://")) else {
            return Err(format!("{field}: must start with redis:// or rediss:// (TLS)"));
        };
        if text.chars().any(char::is_whitespace) {
            return Err(format!("{field}: must not contain whitespace"));
        }
        let url = Self(Zeroizing::new(text.to_owned()));
        let host = Self::host_part(rest);
        if host.is_empty() || host.starts_with(':') {
            return Err(format!("{field}: needs a host"));
        }
        redis::Client::open(text).map_err(|_| format!("{field}: not a valid Redis URL"))?;
        Ok(url)
    }

    fn host_part(rest: &str) -> &str {
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        let host_start = authority.rfind('@').map_or(0, |at| at + 1);
        &rest[host_start..]
    }

    /// The URL without its user part: what logs and errors may show.
    pub fn redacted(&self) -> String {
        let scheme = if self.is_tls() { "rediss://" } else { "redis://" };
        format!("{scheme}{}", Self::host_part(&self.0[scheme.len()..]))
    }

    /// Whether it is `rediss://`: TLS to Redis.
    pub fn is_tls(&self) -> bool {
        self.0.starts_with("rediss://")
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({})", self.redacted())
    }
}

impl<'de> Deserialize<'de> for RedisUrl {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Zeroizing::new(String::deserialize(deserializer)?);
        // Read as a field of the `[store]` table, whose errors get `store.`
        // in front.
        Self::parse(&text, "url").map_err(serde::de::Error::custom)
    }
}

/// Checks a key prefix: letters, digits, `_`, `-`, `.`; 1 to 64 characters.
///
/// # Errors
/// The message names `field`.
pub fn check_prefix(prefix: &str, field: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if prefix.is_empty() || prefix.len() > 64 || !prefix.chars().all(allowed) {
        return Err(format!("{field}: 1 to 64 letters, digits, '_', '-' or '.'"));
    }
    Ok(())
}

/// How to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// The server, or the cluster.
    pub target: RedisTarget,
    /// Namespace of every key (gateways sharing records use the same one).
    pub prefix: String,
    /// Longest wait for one command (and for a connection).
    pub command_timeout: Duration,
    /// With `rediss://`: the CA that replaces the system's roots, and a
    /// client certificate (`[store.tls]`), for every node of a cluster.
    pub tls: crate::tls::ClientTlsConfig,
}

/// The names of one prefix's keys.
#[derive(Debug, Clone)]
struct Layout {
    prefix: String,
    ids: String,
    version: String,
    channel: String,
    audit: String,
    audit_trimmed: String,
}

impl Layout {
    fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            ids: format!("{{{prefix}:keys}}:ids"),
            version: format!("{{{prefix}:keys}}:version"),
            channel: format!("{{{prefix}:keys}}:changed"),
            audit: format!("{{{prefix}:audit}}:events"),
            audit_trimmed: format!("{{{prefix}:audit}}:trimmed"),
        }
    }

    fn record(&self, storage_key: &str) -> String {
        format!("{}:{storage_key}", self.prefix)
    }

    fn entry(&self, key: &str) -> String {
        format!("{}:entry:{key}", self.prefix)
    }

    fn key_record(&self, environment: Environment, id: &str) -> String {
        format!("{{{}:keys}}:record:{}:{id}", self.prefix, environment.as_str())
    }
}

/// `expires_at` as the 20 digits that lead an expiring value.
fn expiry_text(expires_at: u64) -> String {
    format!("{expires_at:020}")
}

/// A value: its expiry, then `payload`.
fn with_expiry(expires_at: u64, payload: &[u8]) -> Vec<u8> {
    let mut value = expiry_text(expires_at).into_bytes();
    value.extend_from_slice(payload);
    value
}

/// Splits a stored value into its expiry and payload.
fn split_value(value: &[u8]) -> Result<(u64, &[u8]), StoreError> {
    let (expiry, payload) = value.split_at_checked(20).ok_or_else(|| StoreError::corrupt("a stored value has no expiry"))?;
    let expires_at = std::str::from_utf8(expiry)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| StoreError::corrupt("a stored value has an unreadable expiry"))?;
    Ok((expires_at, payload))
}

/// `PX` for a value expiring at `expires_at`, written at `now`.
fn cleanup_px(expires_at: u64, now: u64) -> u64 {
    expires_at.saturating_sub(now).saturating_mul(1000).saturating_add(CLEANUP_GRACE_MS).min(MAX_LUA_MS)
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|_| StoreError::corrupt(format!("a stored {what} cannot be decoded")))
}

fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // The core's records are plain data: serializing them cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

fn encode_record(record: &IdempotencyRecord) -> Vec<u8> {
    with_expiry(record.expires_at, &encode(record))
}

/// Claims a key: answers the held value when it is live at `now`
/// (ARGV[1], 20 digits), else stores ARGV[2] with `PX` ARGV[3].
const CLAIM: &str = r"
local held = redis.call('GET', KEYS[1])
if held and string.sub(held, 1, 20) > ARGV[1] then return held end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return false
";

/// Replaces ARGV[1] with ARGV[2]; the cleanup time moves by ARGV[3] ms
/// (the difference of the two expiries), so it stays relative to the
/// gateway's clock without needing `now`.
const COMPLETE: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
local px = ttl + tonumber(ARGV[3])
if ttl < 0 or px < 1 then px = 1 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', string.format('%d', px))
return 1
";

/// Deletes ARGV[1] if it is what is stored.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
";

/// Compare-and-swap of an entry live at ARGV[1]: ARGV[2] '1' if an entry
/// ARGV[3] is expected ('0': none); ARGV[4] '1' to store ARGV[5] ('0': to
/// delete), with `PX` ARGV[6] ('0': none).
/// Appends an event; answers its sequence number (trimmed + new length).
/// KEYS: events, trimmed. ARGV: the event.
const APPEND_AUDIT: &str = r"
local length = redis.call('RPUSH', KEYS[1], ARGV[1])
return length + tonumber(redis.call('GET', KEYS[2]) or '0')
";

/// Lua numbers are doubles: beyond 2^50 a sequence number is none that
/// exists, and a limit that large is no limit.
const EXACT: u64 = 1 << 50;

/// Events after a sequence number: answers {sequence of the first, events}.
/// KEYS: events, trimmed. ARGV: after, limit (0: no limit). Both below
/// 2^50, so Lua's numbers hold them exactly and print them as integers.
const AUDIT_EVENTS: &str = r"
local trimmed = tonumber(redis.call('GET', KEYS[2]) or '0')
local start = math.max(tonumber(ARGV[1]) - trimmed, 0)
local stop = -1
if tonumber(ARGV[2]) > 0 then stop = start + tonumber(ARGV[2]) - 1 end
return {trimmed + start + 1, redis.call('LRANGE', KEYS[1], start, stop)}
";

/// Deletes the oldest events beyond `keep`; answers how many went.
/// KEYS: events, trimmed. ARGV: keep.
const TRIM_AUDIT: &str = r"
local excess = redis.call('LLEN', KEYS[1]) - tonumber(ARGV[1])
if excess <= 0 then return 0 end
redis.call('LTRIM', KEYS[1], excess, -1)
redis.call('INCRBY', KEYS[2], excess)
return excess
";

const SWAP_ENTRY: &str = r"
local stored = redis.call('GET', KEYS[1])
local live = false
if stored and string.sub(stored, 1, 20) > ARGV[1] then live = string.sub(stored, 21) end
if ARGV[2] == '1' then
  if live ~= ARGV[3] then return 0 end
elseif live then
  return 0
end
if ARGV[4] == '1' then
  if ARGV[6] == '0' then
    redis.call('SET', KEYS[1], ARGV[5])
  else
    redis.call('SET', KEYS[1], ARGV[5], 'PX', ARGV[6])
  end
else
  redis.call('DEL', KEYS[1])
end
return 1
";

/// Deletes the value if it expired at ARGV[1].
const SWEEP_ONE: &str = r"
local stored = redis.call('GET', KEYS[1])
if stored and string.sub(stored, 1, 20) <= ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
";

/// KEYS: the id set, the version, the record key of the new environment,
/// the record keys of the other environments. ARGV: id, record JSON,
/// channel. Answers the replaced record.
const PUT_KEY: &str = r"
local previous = redis.call('GET', KEYS[3])
for i = 4, #KEYS do
  local other = redis.call('GET', KEYS[i])
  if other then
    previous = other
    redis.call('DEL', KEYS[i])
  end
end
redis.call('SET', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[1], ARGV[1])
local version = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[3], version)
return previous
";

/// KEYS: the id set, the version, the record key of every environment.
/// ARGV: id, channel. Answers the deleted record.
const DELETE_KEY: &str = r"
local previous = false
for i = 3, #KEYS do
  local stored = redis.call('GET', KEYS[i])
  if stored then
    previous = stored
    redis.call('DEL', KEYS[i])
  end
end
redis.call('SREM', KEYS[1], ARGV[1])
if not previous then return false end
local version = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[2], version)
return previous
";

/// A change of the shared configuration that is not a key record (token
/// clients, renewal accounts): the version moves and is announced, as by a
/// key record change. KEYS: the version. ARGV: the channel.
const ANNOUNCE: &str = r"
local version = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], version)
return version
";

/// Compare-and-swap of key records, all or nothing. KEYS: the id set, the
/// version, then for each swap its record key in every environment, in
/// [`ENVIRONMENTS`] order (one `{P:keys}` slot). ARGV: the channel, then
/// five per swap: id, '1' if a record is expected ('0': none), the expected
/// record's JSON, the environment number of the new record (1-based; '0':
/// delete), the new record's JSON. The stored record of an id is the first
/// found in environment order, as [`Store::key_records`] lists it; the
/// comparison is of the JSON text. Never called with no swap. Answers
/// `{0, false}` when it swapped (and bumped and published the version
/// once), else `{i, stored}`: the first swap (1-based) whose expected record
/// differs, and the text stored for it (`false`: none).
const SWAP_KEYS: &str = r"
local swaps = (#ARGV - 1) / 5
local envs = (#KEYS - 2) / swaps
for i = 0, swaps - 1 do
  local a = 2 + 5 * i
  local stored = false
  for j = 1, envs do
    stored = redis.call('GET', KEYS[2 + envs * i + j])
    if stored then break end
  end
  if ARGV[a + 1] == '1' then
    if stored ~= ARGV[a + 2] then return {i + 1, stored} end
  elseif stored then
    return {i + 1, stored}
  end
end
for i = 0, swaps - 1 do
  local a = 2 + 5 * i
  local slot = tonumber(ARGV[a + 3])
  for j = 1, envs do
    if j ~= slot then redis.call('DEL', KEYS[2 + envs * i + j]) end
  end
  if slot > 0 then
    redis.call('SET', KEYS[2 + envs * i + slot], ARGV[a + 4])
    redis.call('SADD', KEYS[1], ARGV[a])
  else
    redis.call('SREM', KEYS[1], ARGV[a])
  end
end
if swaps > 0 then
  local version = redis.call('INCR', KEYS[2])
  redis.call('PUBLISH', ARGV[1], version)
end
return {0, false}
";

struct Scripts {
    claim: Script,
    complete: Script,
    release: Script,
    swap_entry: Script,
    sweep_one: Script,
    put_key: Script,
    delete_key: Script,
    swap_keys: Script,
    announce: Script,
    append_audit: Script,
    audit_events: Script,
    trim_audit: Script,
}

impl Scripts {
    fn new() -> Self {
        Self {
            claim: Script::new(CLAIM),
            complete: Script::new(COMPLETE),
            release: Script::new(RELEASE),
            swap_entry: Script::new(SWAP_ENTRY),
            sweep_one: Script::new(SWEEP_ONE),
            put_key: Script::new(PUT_KEY),
            delete_key: Script::new(DELETE_KEY),
            swap_keys: Script::new(SWAP_KEYS),
            announce: Script::new(ANNOUNCE),
            append_audit: Script::new(APPEND_AUDIT),
            audit_events: Script::new(AUDIT_EVENTS),
            trim_audit: Script::new(TRIM_AUDIT),
        }
    }
}

/// The Redis-backed [`Store`].
pub struct RedisStore {
    connection: Link,
    layout: Layout,
    timeout: Duration,
    scripts: Scripts,
    changes: Arc<Notify>,
    listener: JoinHandle<()>,
    target: RedisTarget,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore").field("target", &self.target).field("prefix", &self.layout.prefix).finish_non_exhaustive()
    }
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

fn redis_error(op: &str, error: &redis::RedisError) -> StoreError {
    StoreError::unavailable(format!("redis {op}: {}", error_kind(error)))
}

/// A short, value-free name of a Redis error: server errors name a category
/// (`NOSCRIPT`, `READONLY`, `WRONGPASS`, …), and their detail, which can
/// quote arguments, stays out.
fn error_kind(error: &redis::RedisError) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connection_refusal() {
        "connection refused".into()
    } else if error.is_connection_dropped() || error.is_io_error() {
        "connection lost".into()
    } else {
        error.code().map_or_else(|| format!("{:?}", error.kind()), str::to_owned)
    }
}

impl RedisStore {
    /// Connects (within the command timeout), checks the server answers,
    /// and starts listening for key record changes of other gateways.
    ///
    /// # Errors
    /// The URL is not usable or Redis does not answer.
    pub async fn connect(options: RedisOptions) -> Result<Self, StoreError> {
        check_prefix(&options.prefix, "store.prefix").map_err(StoreError::invalid)?;
        let connection = Link::connect(&options.target, &options.tls, options.command_timeout).await?;
        let subscribers = link::subscription_clients(&options.target, &options.tls)?;
        let layout = Layout::new(&options.prefix);
        let changes = Arc::new(Notify::new());
        let listener = tokio::spawn(listen(subscribers, layout.channel.clone(), Arc::clone(&changes), options.command_timeout));
        let store = Self { connection, layout, timeout: options.command_timeout, scripts: Scripts::new(), changes, listener, target: options.target };
        store.ping().await?;
        Ok(store)
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.layout.prefix
    }

    /// Runs one Redis exchange under the command timeout.
    async fn run<T>(&self, op: &str, exchange: impl Future<Output = redis::RedisResult<T>>) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(redis_error(op, &error)),
            Err(_) => Err(StoreError::unavailable(format!("redis {op}: timed out"))),
        }
    }

    fn connection(&self) -> Link {
        self.connection.clone()
    }

    /// Sweeps the keys matching `pattern` on every node that holds keys
    /// (one server, or each cluster master: a `SCAN` lists one node's keys).
    async fn sweep_pattern(&self, pattern: &str, now: &str, limit: usize) -> Result<usize, StoreError> {
        let mut connection = self.connection();
        let nodes = self.run("sweep", connection.key_nodes()).await?;
        let mut swept = 0;
        for node in &nodes {
            if swept >= limit {
                break;
            }
            swept += self.sweep_node(node, pattern, now, limit - swept).await?;
        }
        Ok(swept)
    }

    async fn sweep_node(&self, node: &link::Node, pattern: &str, now: &str, limit: usize) -> Result<usize, StoreError> {
        let mut connection = self.connection();
        let mut cursor: u64 = 0;
        let mut swept = 0;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(SCAN_COUNT);
            let (next, keys): (u64, Vec<String>) = self.run("sweep", connection.query_on(node, scan)).await?;
            // One round trip reads the 20-digit expiry of the whole batch
            // (on the node that listed the keys); only the expired keys get
            // the (single-key) delete script.
            let mut expiries = redis::pipe();
            for key in &keys {
                expiries.getrange(key, 0, 19);
            }
            let expiries: Vec<Vec<u8>> = if keys.is_empty() { Vec::new() } else { self.run("sweep", connection.pipeline_on(node, expiries)).await? };
            for (key, expiry) in keys.iter().zip(expiries) {
                if swept >= limit {
                    return Ok(swept);
                }
                if expiry.len() != 20 || expiry.as_slice() > now.as_bytes() {
                    continue;
                }
                let deleted: i64 = self.run("sweep", self.scripts.sweep_one.key(key).arg(now).invoke_async(&mut connection)).await?;
                swept += usize::from(deleted == 1);
            }
            if next == 0 || swept >= limit {
                return Ok(swept);
            }
            cursor = next;
        }
    }

    /// One run of [`SWAP_KEYS`] with these expected texts: `(0, _)` swapped,
    /// else the 1-based index of the first swap that differs and the text
    /// stored for it.
    async fn try_swap_key_records(&self, swaps: &[KeySwap], expected: &[Option<Vec<u8>>]) -> Result<(usize, Option<Vec<u8>>), StoreError> {
        let mut connection = self.connection();
        let mut invocation = self.scripts.swap_keys.prepare_invoke();
        invocation.key(&self.layout.ids).key(&self.layout.version);
        invocation.arg(&self.layout.channel);
        for (swap, expected) in swaps.iter().zip(expected) {
            for environment in ENVIRONMENTS {
                invocation.key(self.layout.key_record(environment, swap.id()));
            }
            let slot = swap.new_record().and_then(|r| ENVIRONMENTS.iter().position(|e| *e == r.environment)).map_or(0, |i| i + 1);
            invocation
                .arg(swap.id())
                .arg(if expected.is_some() { "1" } else { "0" })
                .arg(expected.as_deref().unwrap_or_default())
                .arg(slot)
                .arg(swap.new_record().map(encode).unwrap_or_default());
        }
        self.run("swap_key_records", invocation.invoke_async(&mut connection)).await
    }

    fn key_record_keys(&self, first: Environment, id: &str) -> Vec<String> {
        let mut keys = vec![self.layout.ids.clone(), self.layout.version.clone(), self.layout.key_record(first, id)];
        keys.extend(ENVIRONMENTS.iter().filter(|e| **e != first).map(|e| self.layout.key_record(*e, id)));
        keys
    }
}

/// Listens on the change channel and wakes `changes` on every message, and
/// once after every (re)subscription (messages may have been missed while
/// disconnected). Reconnects by itself, through the next of `clients` (a
/// cluster's seeds in turn: any node hears every `PUBLISH`). Missed
/// messages cost only latency: the store watch also polls the version.
async fn listen(clients: Vec<redis::Client>, channel: String, changes: Arc<Notify>, timeout: Duration) {
    for client in clients.iter().cycle() {
        let subscribed = tokio::time::timeout(timeout, async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        })
        .await;
        match subscribed {
            Ok(Ok(pubsub)) => {
                changes.notify_one();
                let mut messages = pubsub.into_on_message();
                while messages.next().await.is_some() {
                    changes.notify_one();
                }
                tracing::warn!("the Redis change subscription ended; resubscribing");
            }
            Ok(Err(error)) => tracing::debug!(error = %redis_error("subscribe", &error), "cannot subscribe to key record changes"),
            Err(_) => tracing::debug!("subscribing to key record changes timed out"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[async_trait]
impl Store for RedisStore {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn get(&self, storage_key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        let mut connection = self.connection();
        let value: Option<Vec<u8>> = self.run("get", connection.get(self.layout.record(storage_key))).await?;
        value.map(|v| split_value(&v).and_then(|(_, json)| decode(json, "idempotency record"))).transpose()
    }

    async fn claim(&self, storage_key: &str, claim: &IdempotencyRecord, now: u64) -> Result<Claim, StoreError> {
        let mut connection = self.connection();
        let mut invocation = self.scripts.claim.key(self.layout.record(storage_key));
        invocation.arg(expiry_text(now)).arg(encode_record(claim)).arg(cleanup_px(claim.expires_at, now));
        match self.run("claim", invocation.invoke_async::<Option<Vec<u8>>>(&mut connection)).await? {
            None => Ok(Claim::Claimed),
            Some(held) => split_value(&held).and_then(|(_, json)| decode(json, "idempotency record")).map(Claim::Held),
        }
    }

    async fn complete(&self, storage_key: &str, claim: &IdempotencyRecord, record: &IdempotencyRecord) -> Result<bool, StoreError> {
        let mut connection = self.connection();
        // Within what a Lua number (a double) holds exactly.
        let shift_ms = i128::from(record.expires_at).saturating_sub(i128::from(claim.expires_at)).saturating_mul(1000).clamp(-i128::from(MAX_LUA_MS), i128::from(MAX_LUA_MS));
        let mut invocation = self.scripts.complete.key(self.layout.record(storage_key));
        invocation.arg(encode_record(claim)).arg(encode_record(record)).arg(shift_ms.to_string());
        Ok(self.run("complete", invocation.invoke_async::<i64>(&mut connection)).await? == 1)
    }

    async fn release(&self, storage_key: &str, claim: &IdempotencyRecord) -> Result<bool, StoreError> {
        let mut connection = self.connection();
        let mut invocation = self.scripts.release.key(self.layout.record(storage_key));
        invocation.arg(encode_record(claim));
        Ok(self.run("release", invocation.invoke_async::<i64>(&mut connection)).await? == 1)
    }

    async fn sweep(&self, now: u64, limit: usize) -> Result<usize, StoreError> {
        // Every key under `P:` (idempotency records and entries) holds an
        // expiring value; the `{P:…}` groups do not match the pattern.
        self.sweep_pattern(&format!("{}:*", self.layout.prefix), &expiry_text(now), limit).await
    }

    async fn key_records(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let mut connection = self.connection();
        let mut ids: Vec<String> = self.run("key_records", connection.smembers(&self.layout.ids)).await?;
        ids.sort();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().flat_map(|id| ENVIRONMENTS.iter().map(move |e| self.layout.key_record(*e, id))).collect();
        // One MGET: the keys share the `{P:keys}` slot, and a record
        // moving between environments changes both of its keys at once.
        let values: Vec<Option<Vec<u8>>> = self.run("key_records", redis::cmd("MGET").arg(&keys).query_async(&mut connection)).await?;
        values.iter().flatten().map(|v| decode(v, "key record")).collect()
    }

    async fn put_key_record(&self, record: &KeyRecord) -> Result<Option<KeyRecord>, StoreError> {
        let mut connection = self.connection();
        let mut invocation = self.scripts.put_key.prepare_invoke();
        for key in self.key_record_keys(record.environment, &record.id) {
            invocation.key(key);
        }
        invocation.arg(&record.id).arg(encode(record)).arg(&self.layout.channel);
        let previous: Option<Vec<u8>> = self.run("put_key_record", invocation.invoke_async(&mut connection)).await?;
        previous.map(|v| decode(&v, "key record")).transpose()
    }

    async fn delete_key_record(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        let mut connection = self.connection();
        let mut invocation = self.scripts.delete_key.prepare_invoke();
        for key in self.key_record_keys(Environment::Live, id) {
            invocation.key(key);
        }
        invocation.arg(id).arg(&self.layout.channel);
        let previous: Option<Vec<u8>> = self.run("delete_key_record", invocation.invoke_async(&mut connection)).await?;
        previous.map(|v| decode(&v, "key record")).transpose()
    }

    async fn swap_key_records(&self, swaps: &[KeySwap]) -> Result<bool, StoreError> {
        check_distinct_ids(swaps)?;
        if swaps.is_empty() {
            return Ok(true);
        }
        // The gateway writes records canonically, but one written another
        // way (by hand, or by an older version) holds the same record in
        // other text: when the stored text decodes to the expected record,
        // the swap is tried again from that exact text, still compared
        // atomically by the script. At most once per swap.
        let mut expected: Vec<Option<Vec<u8>>> = swaps.iter().map(|s| s.expected().map(encode)).collect();
        for _ in 0..=swaps.len() {
            let (differs, stored) = self.try_swap_key_records(swaps, &expected).await?;
            let Some(index) = differs.checked_sub(1) else { return Ok(true) };
            let (Some(wanted), Some(stored)) = (swaps.get(index).and_then(KeySwap::expected), stored) else { return Ok(false) };
            let same_record = decode::<KeyRecord>(&stored, "key record").is_ok_and(|r| r == *wanted);
            if !same_record || expected[index].as_deref() == Some(stored.as_slice()) {
                return Ok(false);
            }
            expected[index] = Some(stored);
        }
        Ok(false)
    }

    async fn entry(&self, key: &str, now: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let mut connection = self.connection();
        let value: Option<Vec<u8>> = self.run("entry", connection.get(self.layout.entry(key))).await?;
        let Some(value) = value else { return Ok(None) };
        let (expires_at, payload) = split_value(&value)?;
        Ok((expires_at > now).then(|| payload.to_vec()))
    }

    async fn swap_entry(&self, key: &str, expected: Option<&[u8]>, new: Option<&[u8]>, expires_at: Option<u64>, now: u64) -> Result<bool, StoreError> {
        let mut connection = self.connection();
        let expiry = expires_at.unwrap_or(u64::MAX);
        let px = expires_at.map_or(0, |e| cleanup_px(e, now));
        let mut invocation = self.scripts.swap_entry.key(self.layout.entry(key));
        invocation
            .arg(expiry_text(now))
            .arg(if expected.is_some() { "1" } else { "0" })
            .arg(expected.unwrap_or_default())
            .arg(if new.is_some() { "1" } else { "0" })
            .arg(with_expiry(expiry, new.unwrap_or_default()))
            .arg(px);
        Ok(self.run("swap_entry", invocation.invoke_async::<i64>(&mut connection)).await? == 1)
    }

    async fn append_audit(&self, event: &str) -> Result<u64, StoreError> {
        let mut connection = self.connection();
        let mut invocation = self.scripts.append_audit.key(&self.layout.audit);
        invocation.key(&self.layout.audit_trimmed).arg(event);
        self.run("append_audit", invocation.invoke_async::<u64>(&mut connection)).await
    }

    async fn trim_audit(&self, keep: u64) -> Result<u64, StoreError> {
        if keep == 0 {
            return Err(StoreError::invalid("an audit trim must keep at least one event"));
        }
        let mut connection = self.connection();
        let mut invocation = self.scripts.trim_audit.key(&self.layout.audit);
        invocation.key(&self.layout.audit_trimmed).arg(keep);
        self.run("trim_audit", invocation.invoke_async::<u64>(&mut connection)).await
    }

    async fn audit_events(&self, after: u64, limit: usize) -> Result<Vec<(u64, String)>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut connection = self.connection();
        let after = after.min(EXACT);
        let limit = u64::try_from(limit).ok().filter(|l| *l < EXACT).unwrap_or(0);
        let mut invocation = self.scripts.audit_events.key(&self.layout.audit);
        invocation.key(&self.layout.audit_trimmed).arg(after).arg(limit);
        let (first, events): (u64, Vec<String>) = self.run("audit_events", invocation.invoke_async(&mut connection)).await?;
        Ok((first..).zip(events).collect())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut connection = self.connection();
        let answer: String = self.run("ping", redis::cmd("PING").query_async(&mut connection)).await?;
        if answer == "PONG" { Ok(()) } else { Err(StoreError::unavailable("redis ping: unexpected answer")) }
    }

    async fn key_records_version(&self) -> Result<Option<u64>, StoreError> {
        let mut connection = self.connection();
        let version: Option<u64> = self.run("key_records_version", connection.get(&self.layout.version)).await?;
        Ok(Some(version.unwrap_or(0)))
    }

    async fn announce_change(&self) -> Result<(), StoreError> {
        let mut connection = self.connection();
        let mut invocation = self.scripts.announce.key(&self.layout.version);
        invocation.arg(&self.layout.channel);
        let _version: u64 = self.run("announce_change", invocation.invoke_async(&mut connection)).await?;
        Ok(())
    }

    fn key_record_changes(&self) -> Option<Arc<Notify>> {
        Some(Arc::clone(&self.changes))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use payseal_core::idempotency::IdempotencyRecord;

    use super::{ClusterSeeds, RedisOptions, RedisStore, RedisTarget, RedisUrl, check_prefix, cleanup_px, split_value, with_expiry};
    use crate::store::{KeySwap, Store};

    /// A store on the server of `scripts/test-redis.sh`, in a prefix of its own.
    async fn store() -> ((), Arc<dyn Store>) {
        ((), Arc::new(RedisStore::connect(options(&fresh_prefix())).await.unwrap()))
    }

    /// The Redis of `scripts/test-redis.sh`: a cluster's seeds in
    /// `PAYSEAL_REDIS_CLUSTER` (comma-separated), else the server of
    /// `PAYSEAL_REDIS_URL`; `user_part` (`:password@`) goes into every URL.
    fn target_with(user_part: &str) -> RedisTarget {
        let with_user = |url: &str| url.replacen("://", &format!("://{user_part}"), 1);
        if let Ok(seeds) = std::env::var("PAYSEAL_REDIS_CLUSTER") {
            let seeds: Vec<String> = seeds.split(',').map(with_user).collect();
            return RedisTarget::Cluster(ClusterSeeds::parse(&seeds, "PAYSEAL_REDIS_CLUSTER").unwrap());
        }
        let url = std::env::var("PAYSEAL_REDIS_URL").expect("PAYSEAL_REDIS_URL is not set: run scripts/test-redis.sh");
        RedisTarget::Server(RedisUrl::parse(&with_user(&url), "PAYSEAL_REDIS_URL").unwrap())
    }

    /// A connection of the test's own to the same Redis (single server or
    /// cluster alike), to look at the keys behind the store's back.
    async fn raw_connection() -> super::Link {
        super::Link::connect(&target_with(""), &test_tls(), Duration::from_secs(2)).await.unwrap()
    }

    /// With a `rediss://` URL, the CA the test script made (`PAYSEAL_REDIS_CA`).
    fn test_tls() -> crate::tls::ClientTlsConfig {
        crate::tls::ClientTlsConfig { ca_file: std::env::var_os("PAYSEAL_REDIS_CA").map(Into::into), ..Default::default() }
    }

    fn fresh_prefix() -> String {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        format!("suite-{}-{}-{nanos}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
    }

    fn options(prefix: &str) -> RedisOptions {
        RedisOptions { target: target_with(""), prefix: prefix.to_owned(), command_timeout: Duration::from_secs(2), tls: test_tls() }
    }

    crate::store_test_suite!(store().await, ignore = "needs Redis: scripts/test-redis.sh");

    /// Two stores on one prefix: a change through one bumps the version and
    /// wakes the other; the keys follow the documented layout and `PX`
    /// follows the gateway's clock, not Redis's.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs Redis: scripts/test-redis.sh"]
    async fn changes_reach_another_store_and_keys_follow_the_layout() {
        let prefix = fresh_prefix();
        let first = RedisStore::connect(options(&prefix)).await.unwrap();
        let second = RedisStore::connect(options(&prefix)).await.unwrap();
        let changes = second.key_record_changes().unwrap();
        // The subscription wakes once when it starts; wait for that first.
        tokio::time::timeout(Duration::from_secs(5), changes.notified()).await.unwrap();
        let before = second.key_records_version().await.unwrap().unwrap();
        let mut record = payseal_core::keys::KeyRecord::new("k1", "sk_live_LayoutKey000000000000000000", payseal_core::Environment::Live);
        first.put_key_record(&record).await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), changes.notified()).await.expect("no change message reached the other store");
        assert_eq!(second.key_records_version().await.unwrap(), Some(before + 1));
        // Moving a record to the other environment replaces it.
        record.environment = payseal_core::Environment::Test;
        assert!(first.put_key_record(&record).await.unwrap().is_some_and(|r| r.environment == payseal_core::Environment::Live));
        assert_eq!(second.key_records().await.unwrap(), vec![record]);
        let claim = crate::store::suite::record("POST /x", 1_000_000_100);
        assert_eq!(first.claim("idem:live:{abc}", &claim, 1_000_000_000).await.unwrap(), crate::store::Claim::Claimed);
        first.swap_entry("lease:1", None, Some(b"v"), None, 1).await.unwrap();
        first.append_audit("{}").await.unwrap();
        // On a cluster, `KEYS` asks every master and joins their answers.
        let mut connection = raw_connection().await;
        let mut keys: Vec<String> = redis::cmd("KEYS").arg(format!("*{prefix}*")).query_async(&mut connection).await.unwrap();
        keys.sort();
        let expected = [
            format!("{prefix}:entry:lease:1"),
            format!("{prefix}:idem:live:{{abc}}"),
            format!("{{{prefix}:audit}}:events"),
            format!("{{{prefix}:keys}}:ids"),
            format!("{{{prefix}:keys}}:record:test:k1"),
            format!("{{{prefix}:keys}}:version"),
        ];
        assert_eq!(keys, expected);
        // 100 s by the gateway's clock (the test's 1e9 is decades ago by
        // Redis's), plus the cleanup grace.
        let ttl: i64 = redis::cmd("PTTL").arg(&expected[1]).query_async(&mut connection).await.unwrap();
        assert!((150_000..=160_000).contains(&ttl), "{ttl}");
        let ttl: i64 = redis::cmd("PTTL").arg(&expected[0]).query_async(&mut connection).await.unwrap();
        assert_eq!(ttl, -1, "a never-expiring entry has a TTL");
        // A finished record keeps its cleanup relative to the gateway's
        // clock: the claim's remaining time moved by the expiry's change.
        let done = crate::store::suite::finished(&IdempotencyRecord { expires_at: 1_000_086_400, ..claim.clone() }, 201, b"{}");
        assert!(first.complete("idem:live:{abc}", &claim, &done).await.unwrap());
        let ttl: i64 = redis::cmd("PTTL").arg(&expected[1]).query_async(&mut connection).await.unwrap();
        assert!((86_450_000..=86_460_000).contains(&ttl), "{ttl}");
        // The sweep at a `now` past the record deletes it, and only it.
        assert_eq!(first.sweep(1_000_086_399, 100).await.unwrap(), 0);
        assert_eq!(first.sweep(1_000_086_400, 100).await.unwrap(), 1);
        assert!(first.get("idem:live:{abc}").await.unwrap().is_none());
        assert_eq!(first.entry("lease:1", u64::MAX - 1).await.unwrap().as_deref(), Some(b"v".as_slice()));
    }

    /// A key record stored in another JSON form (written by hand) is the
    /// record it decodes to: a swap from that record takes it, a swap from
    /// another one does not.
    #[tokio::test]
    #[ignore = "needs Redis: scripts/test-redis.sh"]
    async fn a_key_record_written_by_hand_is_swapped_from_the_record_it_holds() {
        let prefix = fresh_prefix();
        let store = RedisStore::connect(options(&prefix)).await.unwrap();
        let record = payseal_core::keys::KeyRecord::new("k_hand", "sk_live_HandWritten00000000000000000", payseal_core::Environment::Live);
        let canonical = serde_json::to_value(&record).unwrap();
        let fields: Vec<String> = canonical.as_object().unwrap().iter().rev().map(|(k, v)| format!("{k:?} : {v}")).collect();
        let by_hand = format!("{{ {} }}", fields.join(" ,\n "));
        assert_ne!(by_hand.as_bytes(), serde_json::to_vec(&record).unwrap().as_slice());
        let mut connection = raw_connection().await;
        let _: () = redis::pipe()
            .set(format!("{{{prefix}:keys}}:record:live:k_hand"), &by_hand)
            .ignore()
            .sadd(format!("{{{prefix}:keys}}:ids"), "k_hand")
            .ignore()
            .query_async(&mut connection)
            .await
            .unwrap();
        assert_eq!(store.key_records().await.unwrap(), vec![record.clone()]);
        let stale = payseal_core::keys::KeyRecord { scopes: vec!["stale".into()], ..record.clone() };
        let revoked = payseal_core::keys::KeyRecord { status: payseal_core::keys::KeyStatus::Revoked, ..record.clone() };
        assert!(!store.swap_key_records(&[KeySwap::new(Some(stale), Some(revoked.clone())).unwrap()]).await.unwrap());
        assert!(store.swap_key_records(&[KeySwap::new(Some(record), Some(revoked.clone())).unwrap()]).await.unwrap());
        assert_eq!(store.key_records().await.unwrap(), vec![revoked]);
    }

    /// A refused password fails the start with an error that names the
    /// category, never the password (the server's detail can quote it).
    #[tokio::test]
    #[ignore = "needs Redis: scripts/test-redis.sh"]
    async fn a_refused_password_is_never_echoed() {
        let options = RedisOptions { target: target_with(":hunter2-pw@"), prefix: fresh_prefix(), command_timeout: Duration::from_secs(2), tls: test_tls() };
        let error = RedisStore::connect(options).await.unwrap_err();
        assert!(error.detail.starts_with("redis connect: ") && !error.detail.contains("hunter2"), "{error}");
    }

    #[test]
    fn urls_never_show_their_password() {
        let url = RedisUrl::parse("redis://user:s3cret-pass@10.0.0.5:6380/2", "store.url").unwrap();
        assert_eq!(url.redacted(), "redis://10.0.0.5:6380/2");
        assert!(!format!("{url:?}").contains("s3cret"));
        let bare = RedisUrl::parse("redis://:p@ss@h:1", "store.url").unwrap();
        assert_eq!(bare.redacted(), "redis://h:1");
        let tls = RedisUrl::parse("rediss://:s3cret@redis.example:6380/0", "store.url").unwrap();
        assert!(tls.is_tls() && tls.redacted() == "rediss://redis.example:6380/0");
        for (bad, why) in [("http://h", "must start with redis://"), ("redis://", "needs a host"), ("rediss://u:pw@", "needs a host")] {
            let e = RedisUrl::parse(bad, "store.url").unwrap_err();
            assert!(e.starts_with("store.url:") && e.contains(why) && !e.contains("pw"), "{bad}: {e}");
        }
    }

    #[test]
    fn prefixes_are_neither_hash_tags_nor_patterns() {
        assert!(check_prefix("payseal-prod.eu_1", "store.prefix").is_ok());
        for bad in ["", "a{b}", "a*", "a:b", "a b", &"x".repeat(65)] {
            assert!(check_prefix(bad, "store.prefix").is_err(), "{bad}");
        }
    }

    #[test]
    fn values_lead_with_their_expiry_and_cleanup_outlives_it() {
        let value = with_expiry(1_800_000_000, b"{}");
        assert_eq!(&value[..20], b"00000000001800000000");
        assert_eq!(split_value(&value).unwrap(), (1_800_000_000, b"{}".as_slice()));
        assert_eq!(split_value(&with_expiry(u64::MAX, b"")).unwrap().0, u64::MAX);
        assert!(split_value(b"123").is_err());
        assert_eq!(cleanup_px(110, 100), 10_000 + super::CLEANUP_GRACE_MS);
        assert_eq!(cleanup_px(90, 100), super::CLEANUP_GRACE_MS);
    }
}
