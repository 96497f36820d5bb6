//! RFC 9421 cases (filled in with the rfc9421 module).

use serde_json::Value;

use crate::case::Case;

pub fn sign(_case: &Case) -> Result<Value, String> {
    Err("rfc9421 is not yet supported by this runner".to_owned())
}

pub fn verify(_case: &Case) -> Result<Value, String> {
    Err("rfc9421 is not yet supported by this runner".to_owned())
}
