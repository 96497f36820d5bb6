//! TLS for the tests: a certificate authority made at run time (no private
//! key is ever committed), an HTTPS upstream, and HTTPS clients.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::service::service_fn;
use hyper::{Request, StatusCode, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use payseal_gateway::tls::ClientTlsConfig;
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use tokio::net::TcpListener;

use super::{Seen, Upstream};

/// A certificate authority whose files live in a test's directory.
pub struct Pki {
    dir: PathBuf,
    name: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Pki {
    /// A new CA named `name`; its certificate is written to `<dir>/<name>-ca.pem`.
    pub fn new(dir: &Path, name: &str) -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, format!("payseal test CA {name}"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        std::fs::write(dir.join(format!("{name}-ca.pem")), cert.pem()).unwrap();
        Self { dir: dir.to_owned(), name: name.to_owned(), issuer: Issuer::new(params, key) }
    }

    /// The CA certificate's file.
    pub fn ca(&self) -> PathBuf {
        self.dir.join(format!("{}-ca.pem", self.name))
    }

    /// A server certificate for `localhost` and 127.0.0.1: (cert, key) files.
    pub fn server(&self, file: &str) -> (PathBuf, PathBuf) {
        self.leaf(file, &["localhost", "127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate: (cert, key) files.
    pub fn client(&self, file: &str) -> (PathBuf, PathBuf) {
        self.leaf(file, &[], ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn leaf(&self, file: &str, names: &[&str], usage: ExtendedKeyUsagePurpose) -> (PathBuf, PathBuf) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name.push(DnType::CommonName, file);
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let (cert_path, key_path) = (self.dir.join(format!("{file}.pem")), self.dir.join(format!("{file}.key")));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path)
    }
}

impl Upstream {
    /// The test upstream behind TLS with `cert` and `key` (HTTP/2 or
    /// HTTP/1.1 as ALPN chooses).
    pub async fn start_tls(cert: &Path, key: &Path) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = Self {
            addr: listener.local_addr().unwrap(),
            total: Arc::new(AtomicU64::new(0)),
            seen: Arc::new(std::sync::Mutex::new(Seen::default())),
            holding: Arc::new(AtomicBool::new(false)),
        };
        let tls = self::listener(cert, key);
        let state = upstream.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (state, acceptor) = (state.clone(), tls.acceptor());
                tokio::spawn(async move {
                    // A client that does not trust this certificate hangs up here.
                    let Ok(stream) = acceptor.accept(stream).await else { return };
                    let service = service_fn(move |request| {
                        let state = state.clone();
                        async move { state.answer(request).await }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        upstream
    }
}

/// A test server's TLS with `cert` and `key` (no client certificates).
pub fn listener(cert: &Path, key: &Path) -> payseal_gateway::tls::ListenerTls {
    payseal_gateway::tls::ListenerTls::load(&payseal_gateway::tls::TlsConfig {
        cert: cert.to_owned(),
        key: key.to_owned(),
        client_ca: None,
        client_auth: payseal_gateway::tls::ClientAuth::Required,
        require_client_cert: Vec::new(),
    })
    .unwrap()
}

/// An HTTPS client that trusts `ca` only, presents `client` when given,
/// and offers HTTP/2 (`h2`) or only HTTP/1.1.
pub fn client(ca: &Path, client: Option<&(PathBuf, PathBuf)>, h2: bool) -> hyper_util::client::legacy::Client<hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>, Full<Bytes>> {
    let tls = ClientTlsConfig {
        ca_file: Some(ca.to_owned()),
        only_ca_file: true,
        client_cert: client.map(|(c, _)| c.clone()),
        client_key: client.map(|(_, k)| k.clone()),
    };
    let builder = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls.client_config("test").unwrap()).https_only();
    let connector = if h2 { builder.enable_all_versions().build() } else { builder.enable_http1().build() };
    hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(connector)
}

/// What an HTTPS request got: status, HTTP version and body; `Err` when
/// no answer came (a refused handshake).
pub async fn send(
    client: &hyper_util::client::legacy::Client<hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>, Full<Bytes>>,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(StatusCode, Version, Bytes), String> {
    let mut request = Request::post(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(Bytes::copy_from_slice(body))).unwrap();
    let response = client.request(request).await.map_err(|e| format!("{e:?}"))?;
    let (status, version) = (response.status(), response.version());
    let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok((status, version, body))
}
