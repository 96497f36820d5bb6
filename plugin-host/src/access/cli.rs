//! The command line's side of admin tokens: `payseal admin-token` (the
//! first token: printed once, with the `[[admin.tokens]]` lines to paste
//! into the configuration, which keep only its digest), and the token
//! `payseal keys` authenticates with (`--token-file FILE`, else the
//! `PAYSEAL_ADMIN_TOKEN` environment variable).

use std::path::Path;

use zeroize::Zeroizing;

use super::role::{Role, valid_name};
use super::token::IssuedToken;

/// The environment variable `payseal keys` reads its admin token from.
pub const TOKEN_ENV: &str = "PAYSEAL_ADMIN_TOKEN";

/// Usage of `payseal admin-token`.
pub const USAGE: &str = "usage: payseal admin-token --name NAME [--role admin|operator|viewer|merchant:WEBCODE]
  prints a new admin token (once) and the [[admin.tokens]] lines to add to payseal.toml";

/// What `payseal admin-token` prints: the token and the configuration
/// lines holding its digest.
///
/// # Errors
/// A bad name or role, or the RNG.
pub fn admin_token_text(name: &str, role: &str) -> Result<Zeroizing<String>, String> {
    if !valid_name(name) {
        return Err(format!("--name: 1 to 64 of A-Z a-z 0-9 . _ -\n{USAGE}"));
    }
    let role = Role::parse(role).map_err(|e| format!("--role: {e}\n{USAGE}"))?;
    let token = IssuedToken::generate().map_err(|e| e.to_string())?;
    Ok(Zeroizing::new(format!(
        "# The token, shown this once: keep it in a secret store and send it as\n\
         # Authorization: Bearer <token> (payseal keys reads {TOKEN_ENV}).\n\
         {}\n\n\
         # Add to payseal.toml (only the digest is kept), then restart or reload:\n\
         [[admin.tokens]]\nname = \"{name}\"\nrole = \"{role}\"\nsha256 = \"{}\"\n",
        token.expose(),
        token.digest().to_hex()
    )))
}

/// `payseal admin-token --name NAME [--role ROLE]` (the role defaults to `admin`).
///
/// # Errors
/// Bad arguments or the RNG.
pub fn run(args: &[String]) -> Result<(), String> {
    let value = |flag: &str| args.windows(2).find(|w| w[0] == flag).map(|w| w[1].as_str());
    let name = value("--name").ok_or_else(|| USAGE.to_owned())?;
    let text = admin_token_text(name, value("--role").unwrap_or("admin"))?;
    print!("{}", text.as_str());
    Ok(())
}

/// The admin token of `payseal keys`: the first line of `token_file`, else
/// [`TOKEN_ENV`].
///
/// # Errors
/// The file cannot be read or is empty, or neither is given.
pub fn read_token(token_file: Option<&Path>, env: &crate::env::EnvLookup) -> Result<Zeroizing<String>, String> {
    let text = match token_file {
        Some(path) => Zeroizing::new(std::fs::read_to_string(path).map_err(|e| format!("--token-file {}: {e}", path.display()))?),
        None => Zeroizing::new(env(TOKEN_ENV).ok_or_else(|| format!("the admin API needs a token: set {TOKEN_ENV} or pass --token-file FILE"))?),
    };
    let token = text.lines().next().unwrap_or("").trim();
    if token.is_empty() {
        return Err("the admin token is empty".into());
    }
    Ok(Zeroizing::new(token.to_owned()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use payseal_core::tokens::TokenDigest;

    use super::*;

    #[test]
    fn the_printed_lines_hold_the_digest_of_the_printed_token() {
        let text = admin_token_text("ops", "operator").unwrap();
        let token = text.lines().find(|l| l.starts_with("psa_")).unwrap();
        let digest = text.lines().find_map(|l| l.strip_prefix("sha256 = \"")).unwrap().trim_end_matches('"');
        assert_eq!(digest, TokenDigest::of(token.as_bytes()).to_hex());
        assert!(text.contains("role = \"operator\"") && text.contains("name = \"ops\""));
        assert!(admin_token_text("bad name", "admin").is_err());
        assert!(admin_token_text("ops", "root").is_err());
    }

    #[test]
    fn the_token_comes_from_the_file_first_then_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "psa_from_file\n").unwrap();
        let env: crate::env::EnvLookup = Arc::new(|name: &str| (name == TOKEN_ENV).then(|| "psa_from_env".to_owned()));
        assert_eq!(read_token(Some(&file), &env).unwrap().as_str(), "psa_from_file");
        assert_eq!(read_token(None, &env).unwrap().as_str(), "psa_from_env");
        let none: crate::env::EnvLookup = Arc::new(|_: &str| None);
        assert!(read_token(None, &none).unwrap_err().contains(TOKEN_ENV));
        std::fs::write(&file, "\n").unwrap();
        assert!(read_token(Some(&file), &env).is_err());
    }
}
