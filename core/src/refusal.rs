//! The JSON body every runtime sends with a refusal, written in one place.

use alloc::string::String;

/// Field order is the spec's: `{"status":…,"code":"…","message":"…"}`; a
/// struct keeps it (a JSON map would sort the keys).
#[derive(serde::Serialize)]
struct Body<'a> {
    status: u16,
    code: &'a str,
    message: &'a str,
}

pub(crate) fn body(status: u16, code: &str, message: &str) -> String {
    // Serializing three plain fields to a string cannot fail.
    serde_json::to_string(&Body { status, code, message }).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn field_order_is_the_specs() {
        assert_eq!(
            super::body(401, "AUTHENTICATION_FAILED", "The \"key\" is missing."),
            r#"{"status":401,"code":"AUTHENTICATION_FAILED","message":"The \"key\" is missing."}"#
        );
    }
}
