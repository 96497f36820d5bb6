//! Which Redis the store talks to: one server (`store.url`), or a Redis
//! Cluster named by seed nodes (`store.cluster`).
//!
//! A cluster's seeds are only where the client starts: it reads the
//! cluster's slot map from the first seed that answers and then talks to
//! whichever master owns a key's slot. So the seeds must agree on what a
//! single server URL would say alone: all `redis://` or all `rediss://`
//! (one `[store.tls]` applies to every node the client discovers), one
//! user and password, and database 0 (a cluster has no other).

use std::fmt;

use serde::Deserialize;
use zeroize::Zeroizing;

use super::RedisUrl;

/// One server, or a cluster.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum RedisTarget {
    /// A single Redis server (`store.url`).
    Server(RedisUrl),
    /// A Redis Cluster, reached through its seed nodes (`store.cluster`).
    Cluster(ClusterSeeds),
}

impl RedisTarget {
    /// Whether every connection is TLS (`rediss://`).
    pub fn is_tls(&self) -> bool {
        match self {
            Self::Server(url) => url.is_tls(),
            Self::Cluster(seeds) => seeds.is_tls(),
        }
    }

    /// What logs and errors may show: the URLs without their user part.
    pub fn redacted(&self) -> String {
        match self {
            Self::Server(url) => url.redacted(),
            Self::Cluster(seeds) => format!("cluster {}", seeds.redacted()),
        }
    }
}

/// The seed nodes of a Redis Cluster: at least one, consistent (see the
/// module doc). Like [`RedisUrl`], `Debug` never shows a password.
#[derive(Clone)]
pub struct ClusterSeeds(Vec<RedisUrl>);

impl ClusterSeeds {
    /// Checks every seed and that they agree; a message names the bad
    /// entry (`store.cluster[1]`), never a password.
    ///
    /// # Errors
    /// No seed, a seed that is not a Redis URL, seeds that disagree on TLS
    /// or credentials, or a database other than 0.
    pub fn parse<S: AsRef<str>>(texts: &[S], field: &str) -> Result<Self, String> {
        if texts.is_empty() {
            return Err(format!("{field}: needs at least one seed node"));
        }
        let mut seeds = Vec::with_capacity(texts.len());
        for (index, text) in texts.iter().enumerate() {
            let entry = format!("{field}[{index}]");
            let url = RedisUrl::parse(text.as_ref(), &entry)?;
            let info = redis::IntoConnectionInfo::into_connection_info(url.expose()).map_err(|_| format!("{entry}: not a valid Redis URL"))?;
            if info.redis_settings().db() != 0 {
                return Err(format!("{entry}: a cluster has only database 0"));
            }
            if let Some(first) = seeds.first().map(|first: &RedisUrl| first.is_tls())
                && first != url.is_tls()
            {
                return Err(format!("{entry}: every seed is redis:// or every seed is rediss:// (one [store.tls] for all nodes)"));
            }
            seeds.push(url);
        }
        // Different credentials on two seeds are refused by the client
        // itself; asked here, the mistake shows at check-config time.
        redis::cluster::ClusterClient::new(seeds.iter().map(RedisUrl::expose).collect::<Vec<_>>())
            .map_err(|_| format!("{field}: the seeds must share one user and password"))?;
        Ok(Self(seeds))
    }

    /// Whether the seeds are `rediss://`.
    pub fn is_tls(&self) -> bool {
        self.0.first().is_some_and(RedisUrl::is_tls)
    }

    /// The seeds without their user part, comma-separated.
    pub fn redacted(&self) -> String {
        self.0.iter().map(RedisUrl::redacted).collect::<Vec<_>>().join(", ")
    }

    /// The seeds.
    pub fn urls(&self) -> &[RedisUrl] {
        &self.0
    }
}

impl fmt::Debug for ClusterSeeds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClusterSeeds({})", self.redacted())
    }
}

impl<'de> Deserialize<'de> for ClusterSeeds {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Read as a field of the `[store]` table, whose errors get `store.`
        // in front.
        let texts = Vec::<Zeroizing<String>>::deserialize(deserializer).map_err(|e| serde::de::Error::custom(format!("cluster: a list of redis:// or rediss:// URLs ({e})")))?;
        let texts: Vec<&str> = texts.iter().map(|t| t.as_str()).collect();
        Self::parse(&texts, "cluster").map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::{ClusterSeeds, RedisTarget};

    #[test]
    fn seeds_agree_and_errors_name_the_entry_never_the_password() {
        let seeds = ClusterSeeds::parse(&["redis://:pw-s3cret@10.0.0.1:7000", "redis://:pw-s3cret@10.0.0.2:7000/0"], "store.cluster").unwrap();
        assert!(!seeds.is_tls());
        assert_eq!(RedisTarget::Cluster(seeds.clone()).redacted(), "cluster redis://10.0.0.1:7000, redis://10.0.0.2:7000/0");
        assert!(!format!("{seeds:?}").contains("s3cret"));
        assert!(ClusterSeeds::parse(&["rediss://a:1", "rediss://b:2"], "store.cluster").unwrap().is_tls());
        for (bad, why) in [
            (vec![], "store.cluster: needs at least one seed node"),
            (vec!["redis://a:1", "http://:pw-s3cret@b:2"], "store.cluster[1]: must start with redis://"),
            (vec!["redis://a:1/2"], "store.cluster[0]: a cluster has only database 0"),
            (vec!["redis://a:1", "rediss://b:2"], "store.cluster[1]: every seed is redis:// or every seed is rediss://"),
            (vec!["redis://:pw-s3cret@a:1", "redis://:other@b:2"], "store.cluster: the seeds must share one user and password"),
        ] {
            let error = ClusterSeeds::parse(&bad, "store.cluster").unwrap_err();
            assert!(error.starts_with(why) && !error.contains("s3cret"), "{bad:?}: {error}");
        }
    }
}
