//! Redirect `open` cases.

use payseal_core::redirect::{Kdf, Opener, Profile};
use payseal_core::{Environment, Secret};
use serde_json::{Value, json};

use crate::case::{Case, error};

pub fn open(case: &Case) -> Result<Value, String> {
    let profile = Profile::from_name(case.str("profile")?).ok_or("unknown profile")?;
    let kdf = Kdf::from_name(case.str("kdf")?).ok_or("unknown kdf")?;
    let environment = Environment::from_name(case.str("environment")?).ok_or("unknown environment")?;
    let secret = Secret::from_text(case.str("secret")?);
    let token = case.str("token")?;
    let now = case.u64("now")?;
    let opened = Opener::new(environment, profile, kdf, &secret).and_then(|o| o.open(token, now));
    Ok(match opened {
        Ok(data) => json!({ "ok": true, "data": Value::Object(data.fields) }),
        Err(e) => error(e.code()),
    })
}
