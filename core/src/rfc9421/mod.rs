//! RFC 9421 HTTP Message Signatures with `hmac-sha256` (`shared/spec/rfc9421.md`).
