//! The JSON body every runtime sends with a refusal, written in one place.

use alloc::string::{String, ToString};

/// `{"status":…,"code":"…","message":"…"}`.
pub(crate) fn body(status: u16, code: &str, message: &str) -> String {
    serde_json::json!({ "status": status, "code": code, "message": message }).to_string()
}
