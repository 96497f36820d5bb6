//! The store's connection: one type for a single server and for a cluster,
//! so every script and command of the store is written once.
//!
//! Both speak [`redis::aio::ConnectionLike`]: a command or a script goes to
//! the server, or, on a cluster, to the master of its key's slot (every
//! script of the store touches one slot, see the key layout). What cannot
//! be routed by a key is asked per node: `SCAN` sees only the keys of the
//! node it runs on, so a sweep visits [`Link::key_nodes`] one by one.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo, SingleNodeRoutingInfo};
use redis::{Cmd, FromRedisValue, Pipeline, RedisFuture, Value};

use super::target::RedisTarget;
use super::{RedisUrl, redis_error};
use crate::store::StoreError;
use crate::tls::ClientTlsConfig;

/// How many times a command is retried on a new connection (the command
/// timeout bounds the whole exchange anyway).
const RETRIES: u32 = 2;
/// The waits between those retries, in milliseconds.
const RETRY_WAIT_MS: (u64, u64) = (50, 500);

/// A connection to one server or to a cluster; cheap to clone (both share
/// one multiplexed connection per node and reconnect by themselves).
#[derive(Clone)]
pub(super) enum Link {
    Server(ConnectionManager),
    Cluster(ClusterConnection),
}

/// A node whose keys a `SCAN` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Node {
    /// The single server.
    Server,
    /// A cluster master, by the address the cluster announces.
    Master { host: String, port: u16 },
}

impl Link {
    /// Connects within four command timeouts; a cluster client reads the
    /// slot map from the first seed that answers.
    pub(super) async fn connect(target: &RedisTarget, tls: &ClientTlsConfig, timeout: Duration) -> Result<Self, StoreError> {
        let connecting = async {
            match target {
                RedisTarget::Server(url) => {
                    let config = ConnectionManagerConfig::new()
                        .set_connection_timeout(Some(timeout))
                        .set_response_timeout(Some(timeout))
                        .set_number_of_retries(RETRIES as usize)
                        .set_min_delay(Duration::from_millis(RETRY_WAIT_MS.0))
                        .set_max_delay(Duration::from_millis(RETRY_WAIT_MS.1));
                    ConnectionManager::new_with_config(server_client(url, tls)?, config).await.map(Self::Server).map_err(|e| redis_error("connect", &e))
                }
                RedisTarget::Cluster(seeds) => {
                    let mut builder = ClusterClientBuilder::new(seeds.urls().iter().map(RedisUrl::expose).collect::<Vec<_>>())
                        .connection_timeout(timeout)
                        .response_timeout(timeout)
                        .retries(RETRIES)
                        .min_retry_wait(RETRY_WAIT_MS.0)
                        .max_retry_wait(RETRY_WAIT_MS.1);
                    if seeds.is_tls() {
                        builder = builder.certs(certificates(tls)?);
                    }
                    let client = builder.build().map_err(|_| StoreError::invalid("store.cluster: the seeds cannot be used"))?;
                    client.get_async_connection().await.map(Self::Cluster).map_err(|e| redis_error("connect", &e))
                }
            }
        };
        tokio::time::timeout(timeout * 4, connecting).await.map_err(|_| StoreError::unavailable("redis connect: timed out"))?
    }

    /// The nodes that together hold every key: the server, or every
    /// master of the cluster as it answers now (a `PING` to all masters,
    /// whose answers come back keyed by address).
    pub(super) async fn key_nodes(&mut self) -> redis::RedisResult<Vec<Node>> {
        let Self::Cluster(cluster) = self else { return Ok(vec![Node::Server]) };
        let routing = RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None));
        let Value::Map(answers) = cluster.route_command(redis::cmd("PING"), routing).await? else {
            return Err(unexpected("the masters' PING answers are not keyed by address"));
        };
        let mut nodes = Vec::with_capacity(answers.len());
        for (address, _) in answers {
            let address: String = redis::from_redis_value(address)?;
            let (host, port) = address.rsplit_once(':').ok_or_else(|| unexpected("a master's address has no port"))?;
            let port = port.parse().map_err(|_| unexpected("a master's port is not a number"))?;
            nodes.push(Node::Master { host: host.to_owned(), port });
        }
        Ok(nodes)
    }

    /// Runs `command` on `node`.
    pub(super) async fn query_on<T: FromRedisValue>(&mut self, node: &Node, command: Cmd) -> redis::RedisResult<T> {
        match (self, node) {
            (Self::Cluster(cluster), Node::Master { host, port }) => {
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress { host: host.clone(), port: *port });
                Ok(redis::from_redis_value(cluster.route_command(command, routing).await?)?)
            }
            (link, _) => command.query_async(link).await,
        }
    }

    /// Runs `pipeline` on `node`: on a cluster its keys need not share a
    /// slot, only the node (keys a `SCAN` of that node listed).
    pub(super) async fn pipeline_on<T: FromRedisValue>(&mut self, node: &Node, pipeline: Pipeline) -> redis::RedisResult<Vec<T>> {
        match (self, node) {
            (Self::Cluster(cluster), Node::Master { host, port }) => {
                let count = pipeline.len();
                let route = SingleNodeRoutingInfo::ByAddress { host: host.clone(), port: *port };
                let values = cluster.route_pipeline(pipeline, 0, count, route).await?;
                values.into_iter().map(|v| redis::from_redis_value(v).map_err(Into::into)).collect()
            }
            (link, _) => pipeline.query_async(link).await,
        }
    }
}

fn unexpected(what: &'static str) -> redis::RedisError {
    redis::RedisError::from((redis::ErrorKind::UnexpectedReturnType, what))
}

impl ConnectionLike for Link {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Server(server) => server.req_packed_command(cmd),
            Self::Cluster(cluster) => cluster.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(&'a mut self, pipeline: &'a Pipeline, offset: usize, count: usize) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Server(server) => server.req_packed_commands(pipeline, offset, count),
            Self::Cluster(cluster) => cluster.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Server(server) => server.get_db(),
            Self::Cluster(cluster) => cluster.get_db(),
        }
    }
}

/// The clients the change listener may subscribe through, in the order it
/// tries them: the server, or each seed of the cluster. A cluster forwards
/// every `PUBLISH` to all its nodes over the cluster bus, so a
/// subscription on any one node hears the scripts' messages, whichever
/// master ran them.
pub(super) fn subscription_clients(target: &RedisTarget, tls: &ClientTlsConfig) -> Result<Vec<redis::Client>, StoreError> {
    match target {
        RedisTarget::Server(url) => Ok(vec![server_client(url, tls)?]),
        RedisTarget::Cluster(seeds) => seeds.urls().iter().map(|url| server_client(url, tls)).collect(),
    }
}

/// The client of one node: with `rediss://`, TLS with `[store.tls]`.
fn server_client(url: &RedisUrl, tls: &ClientTlsConfig) -> Result<redis::Client, StoreError> {
    if !url.is_tls() {
        return redis::Client::open(url.expose()).map_err(|_| StoreError::invalid("store.url: not a valid Redis URL"));
    }
    redis::Client::build_with_tls(url.expose(), certificates(tls)?).map_err(|_| StoreError::invalid("store.tls: the certificates cannot be used"))
}

/// `[store.tls]` as the Redis client takes it: the CA that replaces the
/// system's roots, and a client certificate.
fn certificates(tls: &ClientTlsConfig) -> Result<redis::TlsCertificates, StoreError> {
    let read = |path: &Option<std::path::PathBuf>, what: &str| {
        path.as_ref().map(|p| std::fs::read(p).map_err(|e| StoreError::invalid(format!("store.tls: cannot read the {what} {}: {e}", p.display())))).transpose()
    };
    let client_tls = match (read(&tls.client_cert, "client certificate")?, read(&tls.client_key, "client key")?) {
        (Some(client_cert), Some(client_key)) => Some(redis::ClientTlsConfig { client_cert, client_key }),
        (None, None) => None,
        _ => return Err(StoreError::invalid("store.tls: client_cert and client_key go together")),
    };
    Ok(redis::TlsCertificates { client_tls, root_cert: read(&tls.ca_file, "CA file")? })
}
