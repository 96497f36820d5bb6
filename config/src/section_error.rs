//! Why a section that parsed could still not be prepared: the core refused
//! what it says (two key records with one id, a route asking for two
//! signatures). Each case names its field; none carries a configured value.

use payseal_core::keys::KeySetError;
use payseal_core::routes::RouteError;

/// A section the core refused, with the field it names.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SectionError {
    /// `keys.records`: two records share an id or a key digest (the error
    /// names record ids, never a digest).
    KeyRecords(KeySetError),
    /// `routes`: a route the core cannot apply (the error names its prefix).
    Routes(RouteError),
}

impl SectionError {
    /// The path of the refused field, as a parse error would name it.
    pub const fn field(&self) -> &'static str {
        match self {
            Self::KeyRecords(_) => "keys.records",
            Self::Routes(_) => "routes",
        }
    }

    /// A stable code for the case, for logs and tests.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::KeyRecords(_) => "invalid_key_records",
            Self::Routes(_) => "invalid_routes",
        }
    }
}

/// The core's own words: both guests have always shown them as the message
/// of their configuration error, and hosts match on them.
impl core::fmt::Display for SectionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::KeyRecords(e) => e.fmt(f),
            Self::Routes(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for SectionError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::KeyRecords(e) => Some(e),
            Self::Routes(e) => Some(e),
        }
    }
}
