//! The checks a browser-borne attack fails before any credential is read:
//! the `Host` header must name the admin listener (DNS rebinding), a
//! state-changing request must come from no origin or an allowed one
//! (CSRF), and a body must be declared JSON (a cross-site form or
//! `text/plain` request cannot send `application/json` without a CORS
//! preflight, which the admin listener never grants).

use std::net::SocketAddr;

use hyper::HeaderMap;
use hyper::header::{CONTENT_TYPE, HOST, ORIGIN};
use hyper::http::uri::Authority;

use super::problem::AdminError;
use super::routes::BodyKind;

/// The names the admin listener answers to, and the origins it accepts
/// state-changing requests from.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// `admin.hosts`: extra `Host` values (`admin.example.internal:9090`), lower case.
    pub hosts: Vec<String>,
    /// `admin.origins`: extra origins (`https://console.example`), lower case, no trailing `/`.
    pub origins: Vec<String>,
}

impl Names {
    /// The `Host` values accepted on a connection to `local`: the
    /// configured ones, and `localhost`, `127.0.0.1`, `[::1]` and the
    /// connection's own address, each with the listener's port.
    fn hosts(&self, local: SocketAddr) -> Vec<String> {
        let port = local.port();
        let mut hosts = self.hosts.clone();
        hosts.extend([format!("localhost:{port}"), format!("127.0.0.1:{port}"), format!("[::1]:{port}"), local.to_string()]);
        hosts
    }

    /// Refuses a request whose `Host` is none of [`Names::hosts`] (421;
    /// with no `Host` header, the request target's `authority`: an HTTP/2
    /// client sends the host as `:authority` instead, RFC 9113 §8.3.1),
    /// and a state-changing one whose `Origin` is neither absent nor one
    /// of the accepted hosts' `http(s)://` origins nor a configured origin,
    /// or whose `Sec-Fetch-Site` says `cross-site` (403).
    ///
    /// # Errors
    /// [`AdminError::UnknownHost`], [`AdminError::CrossOrigin`].
    pub fn check(&self, headers: &HeaderMap, authority: Option<&Authority>, local: SocketAddr, changes_state: bool) -> Result<(), AdminError> {
        let hosts = self.hosts(local);
        let mut sent = headers.get_all(HOST).iter();
        let host = match (sent.next(), sent.next(), authority) {
            (Some(host), None, _) => host.to_str().map_err(|_| AdminError::UnknownHost)?.to_ascii_lowercase(),
            (None, None, Some(authority)) => authority.as_str().to_ascii_lowercase(),
            _ => return Err(AdminError::UnknownHost),
        };
        if !hosts.contains(&host) {
            return Err(AdminError::UnknownHost);
        }
        if !changes_state {
            return Ok(());
        }
        if headers.get("sec-fetch-site").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site")) {
            return Err(AdminError::CrossOrigin);
        }
        let mut origins = headers.get_all(ORIGIN).iter();
        match (origins.next(), origins.next()) {
            (None, _) => Ok(()),
            (Some(origin), None) => {
                let origin = origin.to_str().map_err(|_| AdminError::CrossOrigin)?.trim_end_matches('/').to_ascii_lowercase();
                let same = hosts.iter().any(|h| origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) == Some(h.as_str()));
                if same || self.origins.contains(&origin) { Ok(()) } else { Err(AdminError::CrossOrigin) }
            }
            _ => Err(AdminError::CrossOrigin),
        }
    }
}

/// Refuses a non-empty body not declared `application/json` (415), except
/// on a route that reads plain text.
///
/// # Errors
/// [`AdminError::UnsupportedMediaType`].
pub fn check_body(headers: &HeaderMap, kind: BodyKind, body: &[u8]) -> Result<(), AdminError> {
    if body.is_empty() || kind == BodyKind::Text {
        return Ok(());
    }
    let declared = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    if declared.as_deref() == Some("application/json") { Ok(()) } else { Err(AdminError::UnsupportedMediaType) }
}

#[cfg(test)]
mod tests {
    use hyper::header::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    const LOCAL: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9090);

    #[test]
    fn the_host_must_name_the_listener() {
        let names = Names { hosts: vec!["admin.internal:9090".into()], origins: Vec::new() };
        for host in ["127.0.0.1:9090", "localhost:9090", "LOCALHOST:9090", "[::1]:9090", "admin.internal:9090"] {
            assert_eq!(names.check(&headers(&[("host", host)]), None, LOCAL, false), Ok(()), "{host}");
        }
        for host in ["attacker.example", "attacker.example:9090", "127.0.0.1:9091", "localhost", "127.0.0.1"] {
            assert_eq!(names.check(&headers(&[("host", host)]), None, LOCAL, false), Err(AdminError::UnknownHost), "{host}");
        }
        assert_eq!(names.check(&HeaderMap::new(), None, LOCAL, false), Err(AdminError::UnknownHost));
        // HTTP/2: no Host header, the host is the request's `:authority`.
        let authority = |a: &'static str| Some(Authority::from_static(a));
        assert_eq!(names.check(&HeaderMap::new(), authority("127.0.0.1:9090").as_ref(), LOCAL, false), Ok(()));
        assert_eq!(names.check(&HeaderMap::new(), authority("attacker.example:9090").as_ref(), LOCAL, false), Err(AdminError::UnknownHost));
        assert_eq!(names.check(&headers(&[("host", "attacker.example")]), authority("127.0.0.1:9090").as_ref(), LOCAL, false), Err(AdminError::UnknownHost), "the Host header decides when sent");
        assert_eq!(names.check(&headers(&[("host", "localhost:9090"), ("host", "attacker.example")]), None, LOCAL, false), Err(AdminError::UnknownHost));
    }

    #[test]
    fn state_changes_need_no_origin_or_an_accepted_one() {
        let names = Names { hosts: Vec::new(), origins: vec!["https://console.example".into()] };
        let host = ("host", "127.0.0.1:9090");
        assert_eq!(names.check(&headers(&[host]), None, LOCAL, true), Ok(()));
        for origin in ["http://127.0.0.1:9090", "http://localhost:9090/", "https://console.example"] {
            assert_eq!(names.check(&headers(&[host, ("origin", origin)]), None, LOCAL, true), Ok(()), "{origin}");
        }
        for origin in ["http://attacker.example", "null", "http://127.0.0.1:9091", "ftp://127.0.0.1:9090"] {
            assert_eq!(names.check(&headers(&[host, ("origin", origin)]), None, LOCAL, true), Err(AdminError::CrossOrigin), "{origin}");
        }
        assert_eq!(names.check(&headers(&[host, ("origin", "http://attacker.example")]), None, LOCAL, false), Ok(()), "reads are not CSRF");
        assert_eq!(names.check(&headers(&[host, ("sec-fetch-site", "cross-site")]), None, LOCAL, true), Err(AdminError::CrossOrigin));
    }

    #[test]
    fn bodies_must_be_declared_json() {
        let json = headers(&[("content-type", "application/json; charset=utf-8")]);
        assert_eq!(check_body(&json, BodyKind::Json, b"{}"), Ok(()));
        assert_eq!(check_body(&headers(&[("content-type", "text/plain")]), BodyKind::Json, b"{}"), Err(AdminError::UnsupportedMediaType));
        assert_eq!(check_body(&HeaderMap::new(), BodyKind::Json, b"{}"), Err(AdminError::UnsupportedMediaType));
        assert_eq!(check_body(&HeaderMap::new(), BodyKind::None, b"x"), Err(AdminError::UnsupportedMediaType));
        assert_eq!(check_body(&HeaderMap::new(), BodyKind::Json, b""), Ok(()));
        assert_eq!(check_body(&headers(&[("content-type", "text/plain")]), BodyKind::Text, b"100"), Ok(()));
    }
}
