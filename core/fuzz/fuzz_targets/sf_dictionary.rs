//! Any text given to the RFC 8941 dictionary parser: no panic, and whatever
//! parses serializes to text that (within `sf::MAX_FIELD_LENGTH`) parses back
//! to the same value and serializes to the same text again.

#![no_main]

use libfuzzer_sys::fuzz_target;
use payseal_core::rfc9421::sf;

fuzz_target!(|data: &[u8]| {
    // Header values reach the parser as `&str`; it refuses non-ASCII anyway.
    let Ok(text) = core::str::from_utf8(data) else { return };
    let Ok(dictionary) = sf::parse_dictionary(text) else { return };
    let serialized = sf::serialize_dictionary(&dictionary).expect("a parsed dictionary serializes");
    // Serializing adds a space after each comma and any omitted base64
    // padding, so an input near the length bound can come out longer than it.
    if serialized.len() > sf::MAX_FIELD_LENGTH {
        return;
    }
    let reparsed = sf::parse_dictionary(&serialized).expect("a serialized dictionary parses");
    assert_eq!(reparsed, dictionary, "round trip changed the value of {text:?}");
    assert_eq!(sf::serialize_dictionary(&reparsed).ok(), Some(serialized), "serialization is not stable");
});
