//! The key console: plain HTML, CSS and JavaScript embedded in the binary
//! (`plugin-host/console/`), served by the admin listener at `/ui/`. No
//! framework and no build step: the page is a handful of forms and tables
//! over the documented admin API, and every dependency would be code a
//! security console ships to the operator's browser without review.
//!
//! The files are public (they hold no data); every call they make carries
//! the operator's token, which the page keeps in a JavaScript variable only
//! (never storage or cookies). Each answer forbids framing and inline
//! script: `Content-Security-Policy: default-src 'self'` with
//! `frame-ancestors 'none'`, `X-Frame-Options: DENY`.

use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue, LOCATION};
use hyper::{Response, StatusCode};

use crate::http::{ResponseBody, full, gateway_error};

const INDEX: &str = include_str!("../console/index.html");
const SCRIPT: &str = include_str!("../console/console.js");
const STYLE: &str = include_str!("../console/console.css");
/// The admin API's `OpenAPI` 3.1 description, served at `/openapi.json`
/// (checked against the router by a test in [`crate::access::routes`]).
pub const OPENAPI: &str = include_str!("../console/openapi.json");

/// The policy of every console answer: only this origin's files, no inline
/// script or style, no framing, no form posts elsewhere.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
                       object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn with_headers(mut response: Response<ResponseBody>) -> Response<ResponseBody> {
    let headers = response.headers_mut();
    headers.insert(HeaderName::from_static("content-security-policy"), HeaderValue::from_static(CSP));
    headers.insert(HeaderName::from_static("x-frame-options"), HeaderValue::from_static("DENY"));
    headers.insert(HeaderName::from_static("x-content-type-options"), HeaderValue::from_static("nosniff"));
    headers.insert(HeaderName::from_static("referrer-policy"), HeaderValue::from_static("no-referrer"));
    headers.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The answer to `GET /openapi.json`.
pub fn openapi() -> Response<ResponseBody> {
    let mut response = Response::new(full(OPENAPI));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    with_headers(response)
}

/// The answer to `GET /ui{rest}`.
pub fn serve(rest: &str) -> Response<ResponseBody> {
    let (content_type, body) = match rest {
        "" => {
            let mut response = Response::new(full(""));
            *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
            response.headers_mut().insert(LOCATION, HeaderValue::from_static("/ui/"));
            return with_headers(response);
        }
        "/" | "/index.html" => ("text/html; charset=utf-8", INDEX),
        "/console.js" => ("text/javascript; charset=utf-8", SCRIPT),
        "/console.css" => ("text/css; charset=utf-8", STYLE),
        _ => return with_headers(gateway_error(404, "not_found", "not found")),
    };
    let mut response = Response::new(full(body));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    with_headers(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_embedded_with_a_strict_policy() {
        let page = serve("/");
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()["x-frame-options"], "DENY");
        assert!(page.headers()["content-security-policy"].to_str().unwrap().starts_with("default-src 'self'"));
        assert_eq!(serve("/console.js").headers()[CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert_eq!(serve("").headers()[LOCATION], "/ui/");
        assert_eq!(serve("/../Cargo.toml").status(), 404);
    }

    /// The console's calls (`api('METHOD', 'path')`), with every `${…}`
    /// replaced by a sample segment and the query left out.
    fn calls() -> Vec<(String, String)> {
        SCRIPT
            .split("api('")
            .skip(1)
            .map(|rest| {
                let (method, rest) = rest.split_once("', ").unwrap();
                let quote = rest.chars().next().unwrap();
                let path = rest[1..].split(quote).next().unwrap();
                let mut sample = String::new();
                let mut parts = path.split("${");
                sample.push_str(parts.next().unwrap());
                for part in parts {
                    sample.push_str("sample");
                    sample.push_str(part.split_once('}').unwrap().1);
                }
                (method.to_owned(), sample.split('?').next().unwrap().to_owned())
            })
            .collect()
    }

    #[test]
    fn the_console_calls_only_documented_routes() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        let calls = calls();
        assert!(calls.len() >= 10, "{calls:?}");
        for (method, path) in calls {
            let parsed = hyper::Method::from_bytes(method.as_bytes()).unwrap();
            let crate::access::Routing::Found(route) = crate::access::Route::of(&parsed, &path) else { panic!("{method} {path} is not routed") };
            let (documented_method, template) = route.template();
            assert!(doc["paths"][template][documented_method].is_object(), "{method} {path} is not documented");
        }
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere_and_has_no_inline_script() {
        for (name, text) in [("index.html", INDEX), ("console.js", SCRIPT), ("console.css", STYLE)] {
            for external in ["http://", "https://", "//cdn", "@import"] {
                assert!(!text.contains(external), "{name} names {external}");
            }
        }
        // Every <script> names a file; no inline handler attribute.
        assert_eq!(INDEX.matches("<script").count(), INDEX.matches("<script src=\"/ui/console.js\"").count());
        assert!(!INDEX.contains(" onclick=") && !INDEX.contains(" style="));
        for storage in ["localStorage", "sessionStorage", "document.cookie", "innerHTML"] {
            assert!(!SCRIPT.contains(storage), "console.js uses {storage}");
        }
    }
}
