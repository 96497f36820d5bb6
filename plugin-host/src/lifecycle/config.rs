//! `[lifecycle]` and `[[lifecycle.accounts]]` of `payseal.toml`.

use std::fmt;
use std::sync::OnceLock;

use argon2::password_hash::phc::{Output, Salt};
use argon2::{ARGON2ID_IDENT, PasswordHash};
use payseal_core::Environment;
use payseal_core::keys::{IpNet, KeyFormat};
use serde::Deserialize;

use crate::config_error::ConfigError;

const fn default_grace() -> u64 {
    3_600
}

const fn default_format() -> KeyFormat {
    KeyFormat::Prefixed
}

/// `[lifecycle]`: how keys are issued, replaced and renewed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleConfig {
    /// Environment variable holding the 32-byte key-encryption key (64 hex
    /// digits or base64) that seals client secrets and shared secrets in the
    /// store. Without it, nothing that must be stored sealed can be created.
    #[serde(default)]
    pub store_key_env: Option<String>,
    /// Grace of a key replaced by `regenerate` or a renewal, unless the
    /// request or the account says otherwise.
    #[serde(default = "default_grace")]
    pub grace_seconds: u64,
    /// Format of created keys unless the request names one.
    #[serde(default = "default_format")]
    pub default_format: KeyFormat,
    /// Delivery of renewed secrets to reception URLs.
    #[serde(default)]
    pub delivery: DeliveryConfig,
    /// Merchant accounts that may renew their secret.
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
    /// The dummy Argon2id PHC string of [`Self::dummy_password_argon2`],
    /// derived once (at validation, i.e. config load).
    #[serde(skip)]
    dummy_password_argon2: OnceLock<String>,
    /// How many of `accounts` are the file's; the rest were added from the
    /// store by [`Self::with_stored`]. `None`: all are the file's.
    #[serde(skip)]
    file_accounts: Option<usize>,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        Self {
            store_key_env: None,
            grace_seconds: default_grace(),
            default_format: default_format(),
            delivery: DeliveryConfig::default(),
            accounts: Vec::new(),
            dummy_password_argon2: OnceLock::new(),
            file_accounts: None,
        }
    }
}

/// The dummy hash when no account is configured: the argon2 crate's default
/// parameters (m=19456, t=2, p=1, 32-byte output), a fixed salt and an
/// all-zero output no password produces.
const DEFAULT_DUMMY_PASSWORD_ARGON2: &str = "$argon2id$v=19$m=19456,t=2,p=1$cGF5c2VhbC1kdW1teS1zYWx0$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// Salt of a derived dummy hash.
const DUMMY_SALT: &[u8] = b"payseal-dummy-salt";

/// A PHC string with the Argon2id parameters (version, m, t, p, output
/// length) of the first account's hash, a fixed salt and an all-zero output:
/// verifying a password against it costs what verifying against that
/// account's hash costs, and never succeeds.
fn derive_dummy_password_argon2(accounts: &[AccountConfig]) -> String {
    let derived = accounts.first().and_then(|account| {
        let mut hash = PasswordHash::new(&account.password_argon2).ok()?;
        let len = hash.hash.as_ref()?.len();
        hash.salt = Some(Salt::new(DUMMY_SALT).ok()?);
        hash.hash = Some(Output::new([0u8; Output::MAX_LENGTH].get(..len)?).ok()?);
        Some(hash.to_string())
    });
    derived.unwrap_or_else(|| DEFAULT_DUMMY_PASSWORD_ARGON2.to_owned())
}

const fn default_attempts() -> u32 {
    8
}

const fn default_initial_backoff() -> u64 {
    1_000
}

const fn default_max_backoff() -> u64 {
    60_000
}

const fn default_delivery_timeout() -> u64 {
    10_000
}

/// `[lifecycle.delivery]`: retries with capped exponential backoff.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Attempts before giving up (at least 1).
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// Wait after the first failed attempt; doubles after each failure.
    #[serde(default = "default_initial_backoff")]
    pub initial_backoff_ms: u64,
    /// Longest wait between attempts.
    #[serde(default = "default_max_backoff")]
    pub max_backoff_ms: u64,
    /// Time one attempt may take.
    #[serde(default = "default_delivery_timeout")]
    pub timeout_ms: u64,
    /// Tests only: allow `http://` reception URLs, which would carry new
    /// secrets in clear. Logged loudly at start.
    #[serde(default)]
    pub allow_insecure_delivery: bool,
    /// The roots besides the system's, and a client certificate, for the
    /// `https://` reception URLs (`[lifecycle.delivery.tls]`).
    #[serde(default)]
    pub tls: crate::tls::ClientTlsConfig,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            attempts: default_attempts(),
            initial_backoff_ms: default_initial_backoff(),
            max_backoff_ms: default_max_backoff(),
            timeout_ms: default_delivery_timeout(),
            allow_insecure_delivery: false,
            tls: crate::tls::ClientTlsConfig::default(),
        }
    }
}

const fn default_lifetime() -> u64 {
    3_600
}

const fn default_min_interval() -> u64 {
    60
}

/// One `[[lifecycle.accounts]]`: a merchant account that renews its secret
/// at `POST /{code_url}/renew-secret`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// The `{codeUrl}` path segment of the account's renewal route.
    pub code_url: String,
    /// The `accountOperationCode` the merchant sends.
    pub operation_account_code: String,
    /// Argon2id PHC string of the merchant's password (`payseal keys hash-password`).
    pub password_argon2: String,
    /// Environment of the keys it gets.
    pub environment: Environment,
    /// `false`: renewals answer 403 `SECRET_KEY_RECEPTION_URL_NOT_ACTIVE`.
    #[serde(default = "crate::lifecycle::config::default_true")]
    pub active: bool,
    /// Where a renewed secret is also sent by `POST` (`http://` only), retried until it answers 200.
    #[serde(default)]
    pub reception_url: Option<String>,
    /// Lifetime of a renewed secret (`expires_in`).
    #[serde(default = "default_lifetime")]
    pub secret_lifetime_seconds: u64,
    /// Least time between two renewals; 0 turns the rate limit off.
    #[serde(default = "default_min_interval")]
    pub min_interval_seconds: u64,
    /// Grace of the replaced secret (`lifecycle.grace_seconds` when absent).
    #[serde(default)]
    pub grace_seconds: Option<u64>,
    /// Format of the renewed secret (`lifecycle.default_format` when absent).
    #[serde(default)]
    pub format: Option<KeyFormat>,
    /// Scopes of the renewed key.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Allowed client addresses of the renewed key.
    #[serde(default)]
    pub allowed_ips: Vec<IpNet>,
    /// Webcode of the renewed key.
    #[serde(default)]
    pub webcode: Option<String>,
}

pub(crate) const fn default_true() -> bool {
    true
}

impl fmt::Debug for AccountConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountConfig")
            .field("code_url", &self.code_url)
            .field("operation_account_code", &self.operation_account_code)
            .field("password_argon2", &"[redacted]")
            .field("environment", &self.environment)
            .field("active", &self.active)
            .field("reception_url", &self.reception_url)
            .finish_non_exhaustive()
    }
}

impl LifecycleConfig {
    /// Checks what serde cannot: unique accounts, Argon2id hashes, usable URLs.
    ///
    /// # Errors
    /// The first bad field, named by its position (never its value).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let d = &self.delivery;
        if d.attempts == 0 || d.initial_backoff_ms == 0 || d.max_backoff_ms < d.initial_backoff_ms {
            return Err(ConfigError::new("lifecycle.delivery", "attempts and initial_backoff_ms must be above 0 and max_backoff_ms at least initial_backoff_ms"));
        }
        for (i, account) in self.accounts.iter().enumerate() {
            let field = |name: &str| format!("lifecycle.accounts[{i}].{name}");
            if account.code_url.is_empty() || !account.code_url.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b)) {
                return Err(ConfigError::from_message(&format!("{}: one path segment of letters, digits and -_.~", field("code_url"))));
            }
            if account.operation_account_code.is_empty() {
                return Err(ConfigError::from_message(&format!("{}: must not be empty", field("operation_account_code"))));
            }
            match PasswordHash::new(&account.password_argon2) {
                Ok(hash) if hash.algorithm == ARGON2ID_IDENT => {}
                _ => return Err(ConfigError::from_message(&format!("{}: not an Argon2id PHC string", field("password_argon2")))),
            }
            if let Some(url) = &account.reception_url {
                let secure = url.starts_with("https://");
                if !(secure || url.starts_with("http://")) || !url.parse::<hyper::Uri>().is_ok_and(|u| u.host().is_some()) {
                    return Err(ConfigError::from_message(&format!("{}: an https:// URL with a host", field("reception_url"))));
                }
                if !secure && !self.delivery.allow_insecure_delivery {
                    return Err(ConfigError::from_message(&format!(
                        "{}: must be https:// (a new secret must not cross the network in clear); http:// only with lifecycle.delivery.allow_insecure_delivery = true, for tests",
                        field("reception_url")
                    )));
                }
            }
            if account.secret_lifetime_seconds == 0 {
                return Err(ConfigError::from_message(&format!("{}: must be above 0", field("secret_lifetime_seconds"))));
            }
            let duplicate = self.accounts[..i]
                .iter()
                .any(|a| a.code_url == account.code_url || a.operation_account_code == account.operation_account_code);
            if duplicate {
                return Err(ConfigError::from_message(&format!("lifecycle.accounts[{i}]: code_url and operation_account_code must be unique")));
            }
        }
        // Derived here, at load, not on the first unknown `codeUrl`.
        self.dummy_password_argon2();
        Ok(())
    }

    /// An Argon2id PHC string no password matches, with the parameters of
    /// the first account's hash (the crate's defaults without accounts).
    /// The renewal endpoint verifies the presented password against it when
    /// the `codeUrl` names no account, so that refusal costs the same
    /// Argon2id work as a wrong password and timing does not tell which
    /// codes exist.
    pub fn dummy_password_argon2(&self) -> &str {
        self.dummy_password_argon2.get_or_init(|| derive_dummy_password_argon2(&self.accounts))
    }

    /// This configuration with the accounts created through the admin API
    /// ([`super::accounts`]) after the file's; one whose `code_url` or
    /// `operation_account_code` the file uses is left out (the file wins).
    ///
    /// # Errors
    /// A stored account the checks of [`Self::validate`] refuse.
    pub fn with_stored(&self, stored: impl IntoIterator<Item = AccountConfig>) -> Result<Self, ConfigError> {
        let file = self.file_accounts();
        let mut accounts = file.to_vec();
        for account in stored {
            if accounts.iter().any(|a| a.code_url == account.code_url || a.operation_account_code == account.operation_account_code) {
                tracing::warn!(code_url = %account.code_url, "a stored renewal account clashes with a configured one; the file's is used");
                continue;
            }
            accounts.push(account);
        }
        let merged = Self {
            store_key_env: self.store_key_env.clone(),
            grace_seconds: self.grace_seconds,
            default_format: self.default_format,
            delivery: self.delivery.clone(),
            file_accounts: Some(file.len()),
            accounts,
            dummy_password_argon2: OnceLock::new(),
        };
        merged.validate()?;
        Ok(merged)
    }

    /// The accounts of the file (without those [`Self::with_stored`] added).
    pub fn file_accounts(&self) -> &[AccountConfig] {
        let n = self.file_accounts.unwrap_or(self.accounts.len()).min(self.accounts.len());
        &self.accounts[..n]
    }

    /// The account renewing at `code_url`.
    pub fn account(&self, code_url: &str) -> Option<&AccountConfig> {
        self.accounts.iter().find(|a| a.code_url == code_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$0T4Q4Nf9c1n0Yw1nN0aJqD4r8mH4m3w3Xy6m2VqKZ0c";

    fn parse(text: &str) -> Result<LifecycleConfig, ConfigError> {
        let config: LifecycleConfig = toml::from_str(text).map_err(|e| ConfigError::from_message(e.message()))?;
        config.validate().map(|()| config)
    }

    fn account(extra: &str) -> String {
        format!(
            "[[accounts]]\ncode_url = \"ABC\"\noperation_account_code = \"ACC\"\npassword_argon2 = \"{HASH}\"\nenvironment = \"live\"\n{extra}\n"
        )
    }

    #[test]
    fn defaults_and_accounts() {
        let config = parse("").unwrap();
        assert_eq!((config.grace_seconds, config.default_format, config.delivery.attempts), (3_600, KeyFormat::Prefixed, 8));
        let config = parse(&account("")).unwrap();
        let a = config.account("ABC").unwrap();
        assert!(a.active);
        assert_eq!((a.secret_lifetime_seconds, a.min_interval_seconds), (3_600, 60));
        assert!(!format!("{a:?}").contains("argon2id"));
        assert!(config.account("abc").is_none());
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse(&account("").replace("argon2id", "argon2i")).unwrap_err();
        assert!(e.to_string().contains("accounts[0].password_argon2"), "{e}");
        assert!(parse(&account("reception_url = \"https://m.example/x\"")).is_ok());
        let e = parse(&account("reception_url = \"http://m.example/x\"")).unwrap_err();
        assert!(e.to_string().contains("accounts[0].reception_url: must be https://"), "{e}");
        assert!(parse(&format!("{}[delivery]\nallow_insecure_delivery = true\n", account("reception_url = \"http://m.example/x\""))).is_ok());
        let e = parse(&account("reception_url = \"ftp://m.example/x\"")).unwrap_err();
        assert!(e.to_string().contains("reception_url"), "{e}");
        let e = parse(&account("").replace("\"ABC\"", "\"a/b\"")).unwrap_err();
        assert!(e.to_string().contains("code_url"), "{e}");
        let twice = format!("{}{}", account(""), account("").replace("\"ABC\"", "\"DEF\""));
        assert!(parse(&twice).unwrap_err().to_string().contains("unique"));
        assert!(parse("[delivery]\nattempts = 0\n").is_err());
    }

    #[test]
    fn stored_accounts_join_the_files_and_the_file_wins_a_code() {
        let file = parse(&account("")).unwrap();
        let stored = |code_url: &str, code: &str| {
            let mut a = file.accounts[0].clone();
            (a.code_url, a.operation_account_code) = (code_url.into(), code.into());
            a
        };
        let merged = file.with_stored([stored("DEF", "ACC2"), stored("ABC", "OTHER"), stored("GHI", "ACC")]).unwrap();
        let codes: Vec<&str> = merged.accounts.iter().map(|a| a.code_url.as_str()).collect();
        assert_eq!(codes, ["ABC", "DEF"], "a clash of code_url or operation code keeps the file's");
        assert_eq!(merged.file_accounts().len(), 1);
        // Merging again starts from the file's accounts, not the merged list.
        let again = merged.with_stored([]).unwrap();
        assert_eq!((again.accounts.len(), again.file_accounts().len()), (1, 1));
        let mut bad = stored("JKL", "ACC3");
        bad.secret_lifetime_seconds = 0;
        assert!(file.with_stored([bad]).is_err());
    }

    #[test]
    fn the_dummy_hash_has_the_first_accounts_parameters() {
        use argon2::{Argon2, Params, PasswordVerifier as _};
        let config = parse(&account("")).unwrap();
        let dummy = PasswordHash::new(config.dummy_password_argon2()).unwrap();
        let real = PasswordHash::new(HASH).unwrap();
        assert_eq!((dummy.algorithm, dummy.version, &dummy.params), (real.algorithm, real.version, &real.params));
        assert_eq!(dummy.hash.unwrap().len(), real.hash.unwrap().len());
        assert!(Argon2::default().verify_password(b"anything", config.dummy_password_argon2()).is_err());
        let none = parse("").unwrap();
        let default = PasswordHash::new(none.dummy_password_argon2()).unwrap();
        assert_eq!(default.algorithm, ARGON2ID_IDENT);
        let (params, defaults) = (Params::try_from(&default).unwrap(), Params::default());
        assert_eq!((params.m_cost(), params.t_cost(), params.p_cost()), (defaults.m_cost(), defaults.t_cost(), defaults.p_cost()));
        assert_eq!(default.hash.unwrap().len(), Params::DEFAULT_OUTPUT_LEN);
    }
}
