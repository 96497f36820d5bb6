//! Covered components and the signature base of RFC 9421 §2.5.

use alloc::string::String;
use core::fmt::Write as _;

use super::sf;
use crate::signing::{HeaderMap, field};

/// A component payseal can cover: the derived components of a request, or a
/// header field by its lowercase name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Component {
    Method,
    TargetUri,
    Authority,
    Scheme,
    RequestTarget,
    Path,
    Query,
    Field(String),
}

const DERIVED: [(&str, Component); 7] = [
    ("@method", Component::Method),
    ("@target-uri", Component::TargetUri),
    ("@authority", Component::Authority),
    ("@scheme", Component::Scheme),
    ("@request-target", Component::RequestTarget),
    ("@path", Component::Path),
    ("@query", Component::Query),
];

impl Component {
    /// The component a name in `Signature-Input` stands for. `None` for
    /// `@status`, `@query-param`, `@signature-params` and any other derived
    /// name, and for a field name that is not a lowercase token: RFC 9421
    /// §2.1 writes field names lowercased, so `"Date"` is not `date`.
    pub(super) fn from_name(name: &str) -> Option<Self> {
        if name.starts_with('@') {
            return DERIVED.iter().find(|(n, _)| *n == name).map(|(_, c)| c.clone());
        }
        let is_field_name = !name.is_empty() && name.bytes().all(|b| sf::is_tchar(b) && !b.is_ascii_uppercase());
        is_field_name.then(|| Self::Field(String::from(name)))
    }

    /// The name as written in `Signature-Input` and the signature base.
    pub(super) fn name(&self) -> &str {
        match self {
            Self::Field(name) => name,
            derived => DERIVED.iter().find(|(_, c)| c == derived).map_or("", |(n, _)| n),
        }
    }
}

/// The request as the signature base sees it.
pub(super) struct Message<'a, H: HeaderMap + ?Sized> {
    pub(super) method: &'a str,
    pub(super) url: &'a str,
    pub(super) headers: &'a H,
}

/// Why a signature base could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BaseError {
    /// A covered header field is not in the message.
    AbsentField,
    /// A covered value cannot be part of a signature base.
    Unusable(&'static str),
}

/// The signature base: one `"<name>": <value>` line per component, then the
/// `"@signature-params"` line holding `params_line`, with no final newline.
pub(super) fn signature_base<H: HeaderMap + ?Sized>(
    message: &Message<'_, H>,
    components: &[Component],
    params_line: &str,
) -> Result<String, BaseError> {
    let url = Url::parse(message.url);
    let mut base = String::new();
    for component in components {
        // Names were checked by `Component::from_name`: no quote or backslash
        // to escape, so the sf-string is the name in double quotes.
        base.push('"');
        base.push_str(component.name());
        base.push_str("\": ");
        let start = base.len();
        component_value(&mut base, component, message, url.as_ref())?;
        // §2.5 step 4 refuses non-ASCII; control characters are refused too,
        // since a line break in a value would forge a line of the base.
        let value = base.get(start..).unwrap_or_default();
        if !value.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) {
            return Err(BaseError::Unusable("a covered value has characters outside printable ASCII"));
        }
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(params_line);
    Ok(base)
}

/// Appends the value of `component` (RFC 9421 §2.1 and §2.2).
fn component_value<H: HeaderMap + ?Sized>(
    out: &mut String,
    component: &Component,
    message: &Message<'_, H>,
    url: Option<&Url<'_>>,
) -> Result<(), BaseError> {
    let url = || url.ok_or(BaseError::Unusable("request URL is not absolute"));
    match component {
        Component::Method => {
            if message.method.is_empty() || !message.method.bytes().all(sf::is_tchar) {
                return Err(BaseError::Unusable("request method is not a token"));
            }
            out.push_str(&message.method.to_ascii_uppercase());
        }
        Component::TargetUri => out.push_str(url()?.target_uri),
        Component::Scheme => out.push_str(&url()?.scheme.to_ascii_lowercase()),
        Component::Authority => url()?.push_authority(out),
        Component::Path => out.push_str(url()?.path()),
        Component::Query => {
            out.push('?');
            out.push_str(url()?.query.unwrap_or_default());
        }
        Component::RequestTarget => {
            let url = url()?;
            out.push_str(url.path());
            if let Some(query) = url.query {
                out.push('?');
                out.push_str(query);
            }
        }
        Component::Field(name) => {
            if !is_present(message.headers, name) {
                return Err(BaseError::AbsentField);
            }
            out.push_str(&field(message.headers, name).unwrap_or_default());
        }
    }
    Ok(())
}

/// Whether the field is in the message, even with an empty value: `field`
/// reads an all-empty field as absent, but RFC 9421 covers a present empty
/// field as the empty value.
pub(super) fn is_present(headers: &(impl HeaderMap + ?Sized), name: &str) -> bool {
    let mut present = false;
    headers.for_each_value(name, &mut |_| present = true);
    present
}

/// The parts of an absolute URL `scheme://authority/path?query#fragment`
/// that derived components use.
#[derive(Debug, PartialEq, Eq)]
struct Url<'a> {
    /// The URL without its fragment, which HTTP does not send.
    target_uri: &'a str,
    scheme: &'a str,
    /// Host as written (brackets kept for IPv6), userinfo removed.
    host: &'a str,
    port: Option<u16>,
    path: &'a str,
    query: Option<&'a str>,
}

impl<'a> Url<'a> {
    fn parse(url: &'a str) -> Option<Self> {
        if url.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return None;
        }
        let target_uri = url.split_once('#').map_or(url, |(before, _)| before);
        let (scheme, rest) = target_uri.split_once("://")?;
        let mut scheme_bytes = scheme.bytes();
        let valid_scheme = scheme_bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && scheme_bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !valid_scheme {
            return None;
        }
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path_and_query) = rest.split_at_checked(authority_end)?;
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_and_query, None),
        };
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, host_port)| host_port);
        // An IPv6 literal carries colons of its own: the port follows its `]`.
        let port_separator = match host_port.rfind(']') {
            Some(bracket) => host_port.get(bracket..)?.find(':').map(|i| i + bracket),
            None => host_port.rfind(':'),
        };
        let (host, port) = match port_separator {
            Some(i) => (host_port.get(..i)?, host_port.get(i + 1..)?),
            None => (host_port, ""),
        };
        if host.is_empty() {
            return None;
        }
        let port = match port {
            "" => None,
            digits if digits.bytes().all(|b| b.is_ascii_digit()) => Some(digits.parse::<u16>().ok()?),
            _ => return None,
        };
        Some(Self { target_uri, scheme, host, port, path, query })
    }

    /// `@authority`: the lowercase host, and the port unless it is the scheme's default.
    fn push_authority(&self, out: &mut String) {
        out.push_str(&self.host.to_ascii_lowercase());
        let default = match self.scheme.to_ascii_lowercase().as_str() {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        };
        if let Some(port) = self.port.filter(|p| Some(*p) != default) {
            let _ = write!(out, ":{port}");
        }
    }

    /// `@path`: `/` when the URL has none.
    fn path(&self) -> &'a str {
        if self.path.is_empty() { "/" } else { self.path }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn value(component: &str, url: &str) -> Result<String, BaseError> {
        let headers: [(&str, &str); 3] = [("Content-Type", " application/json "), ("x-empty", ""), ("x-two", "a")];
        let headers = [headers.as_slice(), &[("X-Two", "b ")]].concat();
        let message = Message { method: "post", url, headers: &headers };
        let component = Component::from_name(component).unwrap();
        let base = signature_base(&message, &[component], "()")?;
        let line = base.lines().next().unwrap_or_default();
        Ok(String::from(line.split_once(": ").map_or("", |(_, v)| v)))
    }

    #[test]
    fn derived_components() {
        let url = "HTTPS://User:pw@API.Example.com:443/v1/pay%20x?a=1&b=%20#frag";
        assert_eq!(value("@method", url).unwrap(), "POST");
        assert_eq!(value("@target-uri", url).unwrap(), "HTTPS://User:pw@API.Example.com:443/v1/pay%20x?a=1&b=%20");
        assert_eq!(value("@scheme", url).unwrap(), "https");
        assert_eq!(value("@authority", url).unwrap(), "api.example.com");
        assert_eq!(value("@path", url).unwrap(), "/v1/pay%20x");
        assert_eq!(value("@query", url).unwrap(), "?a=1&b=%20");
        assert_eq!(value("@request-target", url).unwrap(), "/v1/pay%20x?a=1&b=%20");

        let bare = "http://localhost:8080";
        assert_eq!(value("@authority", bare).unwrap(), "localhost:8080");
        assert_eq!(value("@path", bare).unwrap(), "/");
        assert_eq!(value("@query", bare).unwrap(), "?");
        assert_eq!(value("@request-target", bare).unwrap(), "/");
        assert_eq!(value("@query", "http://h/p?").unwrap(), "?");
        assert_eq!(value("@request-target", "http://h?q").unwrap(), "/?q");
        assert_eq!(value("@authority", "http://h:80/").unwrap(), "h");
        assert_eq!(value("@authority", "https://h:80/").unwrap(), "h:80");
        assert_eq!(value("@authority", "http://h:/").unwrap(), "h");
        assert_eq!(value("@authority", "https://[2001:DB8::1]:8443/").unwrap(), "[2001:db8::1]:8443");
        assert_eq!(value("@authority", "https://[2001:db8::1]/").unwrap(), "[2001:db8::1]");
    }

    #[test]
    fn bad_urls() {
        for url in [
            "/relative",
            "https://",
            "https:///p",
            "1x://h/",
            "https://h:99999/",
            "https://h:8x/",
            "https://h /",
            "https://h/\n",
        ] {
            assert_eq!(value("@authority", url), Err(BaseError::Unusable("request URL is not absolute")), "{url:?}");
        }
        // A URL that no covered component needs is not looked at.
        let message = Message { method: "GET", url: "nonsense", headers: &[("date", "x")] };
        assert!(signature_base(&message, &[Component::Method], "()").is_ok());
    }

    #[test]
    fn header_fields() {
        assert_eq!(value("content-type", "https://h/").unwrap(), "application/json");
        assert_eq!(value("x-two", "https://h/").unwrap(), "a, b");
        assert_eq!(value("x-empty", "https://h/").unwrap(), "");
        assert_eq!(value("x-absent", "https://h/"), Err(BaseError::AbsentField));
    }

    #[test]
    fn refuses_values_that_cannot_be_signed() {
        let message =
            Message { method: "GET", url: "https://h/caf\u{e9}", headers: &[("x", "a\r\nb"), ("y", "\u{e9}")] };
        for component in [Component::Path, Component::Field("x".into()), Component::Field("y".into())] {
            assert!(matches!(signature_base(&message, &[component], "()"), Err(BaseError::Unusable(_))));
        }
        let message = Message { method: "GE T", url: "https://h/", headers: &[("x", "1")] };
        assert!(signature_base(&message, &[Component::Method], "()").is_err());
    }

    #[test]
    fn names() {
        for name in ["@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query", "x-a"] {
            assert_eq!(Component::from_name(name).unwrap().name(), name);
        }
        for name in ["@status", "@query-param", "@signature-params", "@METHOD", "Date", "", "a b", "a\"b", "é"] {
            assert_eq!(Component::from_name(name), None, "{name:?}");
        }
    }

    #[test]
    fn base_layout() {
        let headers: Vec<(&str, &str)> = alloc::vec![("date", "Tue, 20 Apr 2021 02:07:55 GMT")];
        let message = Message { method: "GET", url: "https://example.com/foo", headers: &headers };
        let components = [Component::Field("date".into()), Component::Authority];
        assert_eq!(
            signature_base(&message, &components, "(\"date\" \"@authority\");created=1").unwrap(),
            "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\"@authority\": example.com\n\
             \"@signature-params\": (\"date\" \"@authority\");created=1"
        );
    }
}
