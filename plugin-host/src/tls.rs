//! TLS where the gateway talks: its listeners (with optional client
//! certificates) and its clients (the upstream, the reception-URL delivery,
//! `payseal keys` to an `https://` admin listener).
//!
//! rustls with the `ring` provider; TLS 1.2 and 1.3 with rustls's default
//! suites (AEAD only, forward secrecy only). Listeners offer ALPN `h2` and
//! `http/1.1`. A listener's certificate, key and client CA are read again by
//! [`ListenerTls::reload`] (`POST /reload`, SIGHUP): new handshakes use the
//! new ones, connections already open keep theirs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use serde::Deserialize;
use tokio_rustls::TlsAcceptor;

use crate::config_error::ConfigError;

/// Whether a listener with a client CA requires a certificate of every
/// client, or only on the routes that say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// Every handshake needs a certificate signed by the client CA.
    #[default]
    Required,
    /// A certificate is checked when sent; the routes in
    /// `require_client_cert` refuse requests without one.
    Optional,
}

/// `[server.tls]` and `[admin.tls]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain, PEM, leaf first.
    pub cert: PathBuf,
    /// Its private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// CA certificates, PEM, that client certificates must chain to (mutual TLS).
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// With `client_ca`: `required` (default) or `optional`.
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// With `client_auth = "optional"`: path prefixes (whole segments of the
    /// canonical path, as routes) that refuse a request whose connection
    /// presented no client certificate (403 `CLIENT_CERTIFICATE_REQUIRED`).
    #[serde(default)]
    pub require_client_cert: Vec<String>,
}

impl TlsConfig {
    /// Makes relative paths relative to `dir`.
    pub fn resolve_paths(&mut self, dir: &Path) {
        for path in [&mut self.cert, &mut self.key].into_iter().chain(self.client_ca.as_mut()) {
            if path.is_relative() {
                *path = dir.join(&*path);
            }
        }
    }

    /// Checks what can be checked without reading the files.
    ///
    /// # Errors
    /// Routes that need a certificate on a listener that never asks for one,
    /// or a prefix that is not a path.
    pub fn validate(&self, field: &str) -> Result<(), ConfigError> {
        let asks_optionally = self.client_ca.is_some() && self.client_auth == ClientAuth::Optional;
        if !self.require_client_cert.is_empty() && !asks_optionally {
            return Err(ConfigError::new(
                format!("{field}.require_client_cert"),
                "needs client_ca and client_auth = \"optional\" (with \"required\" every request has a certificate already)",
            ));
        }
        if let Some(i) = self.require_client_cert.iter().position(|p| !p.starts_with('/')) {
            return Err(ConfigError::new(format!("{field}.require_client_cert[{i}]"), "must start with /"));
        }
        Ok(())
    }
}

/// The crypto provider of every TLS configuration here: `ring`, chosen for
/// a build with no cmake and minutes less on small machines. rustls marks
/// it deprecated because its key exchange has no post-quantum hybrid
/// (X25519MLKEM768, offered with `aws-lc-rs`): classical ECDHE only. This is
/// the one place to change to move to `aws-lc-rs`.
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_error(what: &str, path: &Path, error: impl std::fmt::Display) -> ConfigError {
    ConfigError::from_message(&format!("cannot read the {what} {}: {error}", path.display()))
}

/// The certificates of a PEM file (at least one).
///
/// # Errors
/// The file cannot be read or holds no certificate.
pub fn certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| read_error(what, path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read_error(what, path, e))?;
    if certs.is_empty() {
        return Err(read_error(what, path, "no PEM certificate in it"));
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, ConfigError> {
    // The error names the file, never its content.
    PrivateKeyDer::from_pem_file(path).map_err(|e| read_error("private key", path, e))
}

fn roots(path: &Path, what: &str) -> Result<RootCertStore, ConfigError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(path, what)? {
        roots.add(cert).map_err(|e| read_error(what, path, e))?;
    }
    Ok(roots)
}

/// A listener's TLS, swappable by a reload.
#[derive(Debug)]
pub struct ListenerTls {
    config: ArcSwap<ServerConfig>,
}

impl ListenerTls {
    /// Reads the files of `config`.
    ///
    /// # Errors
    /// A file cannot be read or parsed, the key does not match the
    /// certificate, or the client CA is unusable.
    pub fn load(config: &TlsConfig) -> Result<Self, ConfigError> {
        Ok(Self { config: ArcSwap::from_pointee(server_config(config)?) })
    }

    /// Reads the files again; on an error the current ones stay.
    ///
    /// # Errors
    /// As [`ListenerTls::load`].
    pub fn reload(&self, config: &TlsConfig) -> Result<(), ConfigError> {
        self.config.store(Arc::new(server_config(config)?));
        Ok(())
    }

    /// The acceptor for the next handshake.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.load_full())
    }
}

fn server_config(config: &TlsConfig) -> Result<ServerConfig, ConfigError> {
    let certs = certificates(&config.cert, "certificate")?;
    let key = private_key(&config.key)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(rustls::DEFAULT_VERSIONS)
        .map_err(|e| ConfigError::from_message(&format!("TLS: {e}")))?;
    let builder = match &config.client_ca {
        Some(ca) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots(ca, "client CA")?), provider());
            let verifier = match config.client_auth {
                ClientAuth::Required => verifier,
                ClientAuth::Optional => verifier.allow_unauthenticated(),
            };
            builder.with_client_cert_verifier(verifier.build().map_err(|e| read_error("client CA", ca, e))?)
        }
        None => builder.with_no_client_auth(),
    };
    let mut server = builder
        .with_single_cert(certs, key)
        .map_err(|e| ConfigError::from_message(&format!("the key {} does not fit the certificate {}: {e}", config.key.display(), config.cert.display())))?;
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(server)
}

/// The roots and client certificate of an outgoing TLS client.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientTlsConfig {
    /// CA certificates, PEM, trusted besides the system's roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Trust only `ca_file`, not the system's roots (a private CA).
    #[serde(default)]
    pub only_ca_file: bool,
    /// A client certificate chain, PEM, presented when the server asks.
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    /// Its private key, PEM.
    #[serde(default)]
    pub client_key: Option<PathBuf>,
}

impl ClientTlsConfig {
    /// Makes relative paths relative to `dir`.
    pub fn resolve_paths(&mut self, dir: &Path) {
        for path in [&mut self.ca_file, &mut self.client_cert, &mut self.client_key].into_iter().flatten() {
            if path.is_relative() {
                *path = dir.join(&*path);
            }
        }
    }

    /// The rustls client configuration (the HTTPS connector sets ALPN: `h2`
    /// and `http/1.1`).
    ///
    /// # Errors
    /// A file cannot be read, a client certificate without its key (or the
    /// reverse), `only_ca_file` without `ca_file`, or no usable root.
    pub fn client_config(&self, field: &str) -> Result<ClientConfig, ConfigError> {
        let mut roots = RootCertStore::empty();
        if !self.only_ca_file {
            // Unreadable system certificates are skipped: the configured CA
            // may be all that is needed.
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
        } else if self.ca_file.is_none() {
            return Err(ConfigError::new(format!("{field}.only_ca_file"), "needs ca_file"));
        }
        if let Some(ca) = &self.ca_file {
            roots.roots.extend(self::roots(ca, "CA file")?.roots);
        }
        if roots.is_empty() {
            // Only a plain http:// peer can be reached; an https:// one fails
            // its handshake (closed), which the log then explains.
            tracing::warn!(field, "no trusted TLS root: the system has none and no ca_file is set");
        }
        let builder = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(rustls::DEFAULT_VERSIONS)
            .map_err(|e| ConfigError::from_message(&format!("TLS: {e}")))?
            .with_root_certificates(roots);
        match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => builder
                .with_client_auth_cert(certificates(cert, "client certificate")?, private_key(key)?)
                .map_err(|e| ConfigError::new(format!("{field}.client_key"), format!("does not fit client_cert: {e}"))),
            (None, None) => Ok(builder.with_no_client_auth()),
            _ => Err(ConfigError::new(format!("{field}.client_cert"), "client_cert and client_key go together")),
        }
    }
}

/// A pooling HTTP client that speaks `https://` (HTTP/2 when the server
/// offers it) and `http://`.
pub type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The client of `tls` (`field` names it in errors).
///
/// # Errors
/// A file of `tls` cannot be read or is unusable.
pub fn https_client(tls: &ClientTlsConfig, field: &str) -> Result<HttpsClient, String> {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    // The connector hands TLS the URI: https is decided per request.
    http.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls.client_config(field).map_err(|e| e.to_string())?)
        .https_or_http()
        .enable_all_versions()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener(require: &[&str], ca: bool, auth: ClientAuth) -> TlsConfig {
        TlsConfig {
            cert: "c.pem".into(),
            key: "k.pem".into(),
            client_ca: ca.then(|| "ca.pem".into()),
            client_auth: auth,
            require_client_cert: require.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn the_tls_example_parses() {
        let config = crate::config::FileConfig::parse(include_str!("../examples/payseal-tls.toml")).unwrap();
        let server = config.server.tls.unwrap();
        assert_eq!((server.client_auth, server.require_client_cert.as_slice()), (ClientAuth::Optional, ["/external/v1/cards".to_owned()].as_slice()));
        assert_eq!(config.admin.tls.unwrap().client_auth, ClientAuth::Required);
        assert!(config.store.url.unwrap().is_tls());
        assert_eq!(crate::config::Upstream::parse(&config.upstream.url).unwrap().scheme, "https");
    }

    #[test]
    fn per_route_certificates_need_an_optional_client_ca() {
        assert!(listener(&["/cards"], true, ClientAuth::Optional).validate("server.tls").is_ok());
        for config in [listener(&["/cards"], false, ClientAuth::Optional), listener(&["/cards"], true, ClientAuth::Required)] {
            assert_eq!(config.validate("server.tls").unwrap_err().field.as_deref(), Some("server.tls.require_client_cert"));
        }
        let bad = listener(&["cards"], true, ClientAuth::Optional).validate("server.tls").unwrap_err();
        assert_eq!(bad.field.as_deref(), Some("server.tls.require_client_cert[0]"));
    }

    #[test]
    fn unreadable_files_are_named_and_their_content_never() {
        let dir = tempfile::tempdir().unwrap();
        let missing = listener(&[], false, ClientAuth::Required);
        let error = ListenerTls::load(&TlsConfig { cert: dir.path().join("none.pem"), ..missing }).unwrap_err().to_string();
        assert!(error.contains("certificate") && error.contains("none.pem"), "{error}");
        let key = dir.path().join("key.pem");
        std::fs::write(&key, "not a key: hunter2").unwrap();
        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nMAo=\n-----END CERTIFICATE-----\n").unwrap();
        let error = ListenerTls::load(&TlsConfig { cert, key, ..listener(&[], false, ClientAuth::Required) }).unwrap_err().to_string();
        assert!(error.contains("private key") && !error.contains("hunter2"), "{error}");
        let client = ClientTlsConfig { client_cert: Some("c.pem".into()), ..ClientTlsConfig::default() };
        assert_eq!(client.client_config("upstream").unwrap_err().field.as_deref(), Some("upstream.client_cert"));
        let only = ClientTlsConfig { only_ca_file: true, ..ClientTlsConfig::default() };
        assert_eq!(only.client_config("upstream").unwrap_err().field.as_deref(), Some("upstream.only_ca_file"));
    }
}
