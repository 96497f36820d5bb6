//! A strict RFC 8941 Structured Field Values parser and serializer for
//! Dictionaries, the shape of `Signature`, `Signature-Input` and
//! `Content-Digest`.
//!
//! Parsing follows RFC 8941 §4.2 step by step and refuses what it refuses:
//! non-ASCII input, a trailing comma, whitespace inside an item, a key that
//! starts with a digit or has uppercase letters, integers of more than 15
//! digits, decimals with more than 12 integer or 3 fractional digits, strings
//! with control characters or escapes other than `\"` and `\\`. Where RFC 8941
//! asks parsers to be lenient, this one is: byte sequences may omit their `=`
//! padding (or carry part of it) and may have non-zero pad bits (§4.2.7), and a
//! key given twice keeps its first position with its last value (§4.2.2 step
//! 2.4, §4.2.3.2 step 2.7). The verifier reads `Signature-Input` more strictly
//! in one respect: an Integer written with a leading zero or as `-0` is
//! refused there, since `created` and `expires` are timestamps and a
//! timestamp has one spelling (`shared/spec/signing.md`).
//!
//! Parsing is bounded, so its cost is linear in the input: a value longer
//! than [`MAX_FIELD_LENGTH`] bytes is refused before any parsing, and so is a
//! dictionary of more than [`MAX_MEMBERS`] members, an inner list of more
//! than [`MAX_INNER_LIST_ITEMS`] items, or an item or inner list with more
//! than [`MAX_PARAMETERS`] parameters. Keys are unique in a map searched
//! linearly, so without the bounds a dictionary of n members (a hostile
//! `Signature-Input`) would cost n² key comparisons. The bounds are below the
//! minimums RFC 8941 §3 asks of a general-purpose parser (1024 members, 256
//! items and parameters, 16384-byte byte sequences) on purpose: this parser
//! reads only signature and digest fields, where they leave ample room.
//!
//! Serializing follows §4.1: `, ` between members, one space between inner
//! list items, padded base64, decimals with at most 3 fractional digits and no
//! trailing zeros. Whatever [`parse_dictionary`] returns serializes, and the
//! result parses back to an equal value unless it outgrows
//! [`MAX_FIELD_LENGTH`] (serializing adds a space after each comma and the
//! base64 padding an input may omit).
//!
//! ```
//! use payseal_core::rfc9421::sf::{self, BareItem, Member};
//!
//! let dict = sf::parse_dictionary(r#"sig1=("@method" "@path");created=1;keyid="k",sig1=:AQI:"#)?;
//! assert_eq!(dict.len(), 1, "the second sig1 replaced the first");
//! match dict.get("sig1") {
//!     Some(Member::Item(item)) => assert_eq!(item.bare_item, BareItem::ByteSequence(vec![1, 2])),
//!     _ => unreachable!(),
//! }
//! assert_eq!(sf::serialize_dictionary(&dict)?, "sig1=:AQI=:");
//! # Ok::<(), sf::Error>(())
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Longest field value the parser reads, in bytes; a longer one is refused
/// before parsing. It is the usual limit of HTTP servers and proxies on one
/// header field; a `Signature-Input` member covering six components with
/// `created`, `expires`, `keyid` and `alg` takes about 160 bytes, so some fifty
/// such signatures fit.
pub const MAX_FIELD_LENGTH: usize = 8 * 1024;

/// Most members a Dictionary may have, counted as written (a repeated key
/// counts each time it appears).
pub const MAX_MEMBERS: usize = 64;

/// Most items one Inner List may have.
pub const MAX_INNER_LIST_ITEMS: usize = 64;

/// Most parameters one Item or Inner List may have, counted as written.
pub const MAX_PARAMETERS: usize = 64;

/// Why a value could not be parsed or serialized.
///
/// The reason is a fixed description; it never quotes the input, which may
/// carry a signature or a secret pasted into the wrong header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error(&'static str);

impl Error {
    /// What was wrong, as a fixed description.
    pub const fn reason(&self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid structured field: {}", self.0)
    }
}

impl core::error::Error for Error {}

/// An ordered map with unique keys: what RFC 8941 Dictionaries and
/// Parameters are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderedMap<V> {
    entries: Vec<(String, V)>,
}

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> OrderedMap<V> {
    /// An empty map.
    pub const fn new() -> Self {
        Self { entries: Vec::new() }
    }

    /// The value of `key`, compared character for character.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` to `value`: a key already present keeps its position and
    /// takes the new value, as RFC 8941 parsing does with repeated keys; a new
    /// key goes last. Keys are checked when serializing, not here.
    pub fn insert(&mut self, key: impl Into<String>, value: V) {
        let key = key.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, slot)) => *slot = value,
            None => self.entries.push((key, value)),
        }
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<'m, V> IntoIterator for &'m OrderedMap<V> {
    type Item = (&'m str, &'m V);
    type IntoIter = core::iter::Map<core::slice::Iter<'m, (String, V)>, fn(&'m (String, V)) -> (&'m str, &'m V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl<K: Into<String>, V> FromIterator<(K, V)> for OrderedMap<V> {
    /// Inserts in order, with [`OrderedMap::insert`]'s rule for repeated keys.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = Self::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

/// The Parameters of an Item or an Inner List.
pub type Parameters = OrderedMap<BareItem>;

/// A Dictionary field value: keys to Items or Inner Lists.
pub type Dictionary = OrderedMap<Member>;

/// Largest magnitude of an RFC 8941 Integer (15 digits).
const MAX_INTEGER: i64 = 999_999_999_999_999;

/// An RFC 8941 Decimal, held exactly as a count of thousandths (the format
/// allows 12 integer and 3 fractional digits, so this loses nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Decimal {
    thousandths: i64,
}

impl Decimal {
    /// The decimal `thousandths / 1000`; `None` beyond 12 integer digits.
    pub const fn from_thousandths(thousandths: i64) -> Option<Self> {
        if thousandths.unsigned_abs() <= MAX_INTEGER.unsigned_abs() { Some(Self { thousandths }) } else { None }
    }

    /// The value times 1000.
    pub const fn thousandths(self) -> i64 {
        self.thousandths
    }
}

/// A value without its parameters (RFC 8941 §3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BareItem {
    /// At most 15 decimal digits, signed.
    Integer(i64),
    /// A decimal with at most 12 integer and 3 fractional digits.
    Decimal(Decimal),
    /// Printable ASCII, written in double quotes.
    String(String),
    /// An unquoted identifier such as `sha-256` or `*foo`.
    Token(String),
    /// Bytes, written as `:base64:`.
    ByteSequence(Vec<u8>),
    /// `?1` or `?0`.
    Boolean(bool),
}

/// A bare item with its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The value.
    pub bare_item: BareItem,
    /// Its parameters, in order.
    pub params: Parameters,
}

impl Item {
    /// An item without parameters.
    pub const fn new(bare_item: BareItem) -> Self {
        Self { bare_item, params: Parameters::new() }
    }
}

/// A parenthesized list of items, with parameters of its own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InnerList {
    /// The items, in order.
    pub items: Vec<Item>,
    /// The list's parameters, written after the closing parenthesis.
    pub params: Parameters,
}

/// A Dictionary member's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Member {
    /// A single item.
    Item(Item),
    /// An inner list.
    InnerList(InnerList),
}

/// Parses a Dictionary field value (RFC 8941 §4.2 with §4.2.2).
///
/// Repeated field lines must be joined with `,` first, as HTTP combines them.
/// An empty value is an empty dictionary.
///
/// # Errors
/// Any departure from the grammar, or a value beyond the bounds
/// ([`MAX_FIELD_LENGTH`], [`MAX_MEMBERS`], [`MAX_INNER_LIST_ITEMS`],
/// [`MAX_PARAMETERS`]); the whole value is refused.
pub fn parse_dictionary(input: &str) -> Result<Dictionary, Error> {
    parse(input, Integers::AsRfc8941)
}

/// [`parse_dictionary`], refusing an Integer written other than as RFC 8941
/// serializes it: a leading zero (`007`) or `-0`. RFC 8941 parsers accept
/// both; `Signature-Input` is read this way because its `created` and
/// `expires` are timestamps, and numbers on the wire are canonical
/// (`shared/spec/signing.md`).
pub(super) fn parse_dictionary_canonical(input: &str) -> Result<Dictionary, Error> {
    parse(input, Integers::Canonical)
}

/// Which spellings of an Integer the parser accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Integers {
    /// Whatever RFC 8941 §4.2.4 accepts, leading zeros and `-0` included.
    AsRfc8941,
    /// Only the serialized form: digits without a leading zero, no `-0`.
    Canonical,
}

fn parse(input: &str, integers: Integers) -> Result<Dictionary, Error> {
    // Before anything else, so the work done on any input is bounded.
    if input.len() > MAX_FIELD_LENGTH {
        return Err(Error("field value is longer than MAX_FIELD_LENGTH"));
    }
    if !input.is_ascii() {
        return Err(Error("field value is not ASCII"));
    }
    let mut parser = Parser { input: input.as_bytes(), pos: 0, integers };
    parser.skip_sp();
    let dictionary = parser.dictionary()?;
    parser.skip_sp();
    if parser.peek().is_some() {
        return Err(Error("unexpected characters after the dictionary"));
    }
    Ok(dictionary)
}

/// Serializes a Dictionary (RFC 8941 §4.1.2), members separated by `, `.
///
/// An empty dictionary gives the empty string; RFC 8941 says not to send the
/// field at all then.
///
/// # Errors
/// A key, token or string with characters the format cannot carry, or an
/// integer beyond 15 digits.
pub fn serialize_dictionary(dictionary: &Dictionary) -> Result<String, Error> {
    let mut out = String::new();
    for (i, (key, member)) in dictionary.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_key(&mut out, key)?;
        match member {
            // A true boolean member is written as its bare key (§4.1.2 step 1.2).
            Member::Item(Item { bare_item: BareItem::Boolean(true), params }) => {
                write_params(&mut out, params)?;
            }
            Member::Item(item) => {
                out.push('=');
                write_item(&mut out, item)?;
            }
            Member::InnerList(list) => {
                out.push('=');
                write_inner_list(&mut out, list)?;
            }
        }
    }
    Ok(out)
}

/// Serializes an Inner List with its parameters (RFC 8941 §4.1.1.1); this is
/// the value of RFC 9421's `@signature-params`.
///
/// # Errors
/// As [`serialize_dictionary`].
pub fn serialize_inner_list(list: &InnerList) -> Result<String, Error> {
    let mut out = String::new();
    write_inner_list(&mut out, list)?;
    Ok(out)
}

/// Whether `key` is a valid Dictionary or Parameter key:
/// `( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )`.
pub fn is_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    bytes.next().is_some_and(is_key_start) && bytes.all(is_key_char)
}

fn is_key_start(b: u8) -> bool {
    b.is_ascii_lowercase() || b == b'*'
}

fn is_key_char(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.' | b'*')
}

/// RFC 9110 `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
        )
}

fn is_token_char(b: u8) -> bool {
    is_tchar(b) || b == b':' || b == b'/'
}

fn is_token(token: &str) -> bool {
    let mut bytes = token.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'*') && bytes.all(is_token_char)
}

/// Standard alphabet, padding optional and non-zero pad bits accepted: RFC
/// 8941 §4.2.7 says parsers SHOULD NOT fail on either, while still failing on
/// characters outside the alphabet. (`crate::encoding::decode_standard`
/// refuses non-zero pad bits, so it cannot serve here.)
const BYTE_SEQUENCE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    integers: Integers,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    /// Consumes `b` when it is next.
    fn eat(&mut self, b: u8) -> bool {
        let found = self.peek() == Some(b);
        if found {
            self.pos += 1;
        }
        found
    }

    fn skip_sp(&mut self) {
        while self.eat(b' ') {}
    }

    fn skip_ows(&mut self) {
        while self.eat(b' ') || self.eat(b'\t') {}
    }

    /// Consumes bytes while `accept` holds; the slice is ASCII, so it is a `str`.
    fn take_while(&mut self, accept: impl Fn(u8) -> bool) -> String {
        let start = self.pos;
        while self.peek().is_some_and(&accept) {
            self.pos += 1;
        }
        self.input.get(start..self.pos).unwrap_or_default().iter().copied().map(char::from).collect()
    }

    /// §4.2.2
    fn dictionary(&mut self) -> Result<Dictionary, Error> {
        let mut dictionary = Dictionary::new();
        let mut members = 0;
        while self.peek().is_some() {
            members += 1;
            if members > MAX_MEMBERS {
                return Err(Error("dictionary has more than MAX_MEMBERS members"));
            }
            let key = self.key()?;
            let member = if self.eat(b'=') {
                self.item_or_inner_list()?
            } else {
                Member::Item(Item { bare_item: BareItem::Boolean(true), params: self.parameters()? })
            };
            dictionary.insert(key, member);
            self.skip_ows();
            if self.peek().is_none() {
                break;
            }
            if !self.eat(b',') {
                return Err(Error("dictionary members are not separated by a comma"));
            }
            self.skip_ows();
            if self.peek().is_none() {
                return Err(Error("trailing comma"));
            }
        }
        Ok(dictionary)
    }

    /// §4.2.1.1
    fn item_or_inner_list(&mut self) -> Result<Member, Error> {
        if self.peek() == Some(b'(') { self.inner_list().map(Member::InnerList) } else { self.item().map(Member::Item) }
    }

    /// §4.2.1.2
    fn inner_list(&mut self) -> Result<InnerList, Error> {
        if !self.eat(b'(') {
            return Err(Error("expected an inner list"));
        }
        let mut items = Vec::new();
        while self.peek().is_some() {
            self.skip_sp();
            if self.eat(b')') {
                return Ok(InnerList { items, params: self.parameters()? });
            }
            if items.len() == MAX_INNER_LIST_ITEMS {
                return Err(Error("inner list has more than MAX_INNER_LIST_ITEMS items"));
            }
            items.push(self.item()?);
            if !matches!(self.peek(), Some(b' ' | b')')) {
                return Err(Error("inner list items are not separated by a space"));
            }
        }
        Err(Error("inner list is not closed"))
    }

    /// §4.2.3
    fn item(&mut self) -> Result<Item, Error> {
        let bare_item = self.bare_item()?;
        Ok(Item { bare_item, params: self.parameters()? })
    }

    /// §4.2.3.1
    fn bare_item(&mut self) -> Result<BareItem, Error> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'"') => self.string().map(BareItem::String),
            Some(b':') => self.byte_sequence().map(BareItem::ByteSequence),
            Some(b'?') => self.boolean().map(BareItem::Boolean),
            Some(b) if b.is_ascii_alphabetic() || b == b'*' => Ok(BareItem::Token(self.take_while(is_token_char))),
            _ => Err(Error("expected an item")),
        }
    }

    /// §4.2.3.2
    fn parameters(&mut self) -> Result<Parameters, Error> {
        let mut params = Parameters::new();
        let mut count = 0;
        while self.eat(b';') {
            count += 1;
            if count > MAX_PARAMETERS {
                return Err(Error("more than MAX_PARAMETERS parameters"));
            }
            self.skip_sp();
            let key = self.key()?;
            let value = if self.eat(b'=') { self.bare_item()? } else { BareItem::Boolean(true) };
            params.insert(key, value);
        }
        Ok(params)
    }

    /// §4.2.3.3
    fn key(&mut self) -> Result<String, Error> {
        if !self.peek().is_some_and(is_key_start) {
            return Err(Error("expected a key"));
        }
        Ok(self.take_while(is_key_char))
    }

    /// §4.2.4
    fn number(&mut self) -> Result<BareItem, Error> {
        let negative = self.eat(b'-');
        if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
            return Err(Error("expected a digit"));
        }
        let digits_start = self.pos;
        // At most 15 digits are read before failing, so neither part overflows.
        let (mut integer, mut fraction) = (0i64, 0i64);
        let (mut length, mut fraction_digits) = (0usize, 0u32);
        let mut decimal = false;
        while let Some(b) = self.peek() {
            if b.is_ascii_digit() {
                let digit = i64::from(b - b'0');
                if decimal {
                    fraction = fraction * 10 + digit;
                    fraction_digits += 1;
                } else {
                    integer = integer * 10 + digit;
                }
            } else if b == b'.' && !decimal {
                if length > 12 {
                    return Err(Error("decimal has more than 12 integer digits"));
                }
                decimal = true;
            } else {
                break;
            }
            self.pos += 1;
            length += 1;
            if (!decimal && length > 15) || (decimal && length > 16) {
                return Err(Error("number has too many digits"));
            }
        }
        let sign = if negative { -1 } else { 1 };
        if !decimal {
            if self.integers == Integers::Canonical {
                let digits = self.input.get(digits_start..self.pos).unwrap_or_default();
                if !crate::time::is_canonical_digits(digits) || (negative && integer == 0) {
                    return Err(Error("integer is not written canonically"));
                }
            }
            return Ok(BareItem::Integer(sign * integer));
        }
        if fraction_digits == 0 {
            return Err(Error("decimal ends with a dot"));
        }
        if fraction_digits > 3 {
            return Err(Error("decimal has more than 3 fractional digits"));
        }
        let thousandths = sign * (integer * 1000 + fraction * 10i64.pow(3 - fraction_digits));
        Decimal::from_thousandths(thousandths).map(BareItem::Decimal).ok_or(Error("decimal out of range"))
    }

    /// §4.2.5
    fn string(&mut self) -> Result<String, Error> {
        if !self.eat(b'"') {
            return Err(Error("expected a string"));
        }
        let mut out = String::new();
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'\\' => match self.peek() {
                    Some(escaped @ (b'"' | b'\\')) => {
                        self.pos += 1;
                        out.push(char::from(escaped));
                    }
                    _ => return Err(Error("string has an escape other than \\\" or \\\\")),
                },
                b'"' => return Ok(out),
                b' '..=b'~' => out.push(char::from(b)),
                _ => return Err(Error("string has a control character")),
            }
        }
        Err(Error("string is not closed"))
    }

    /// §4.2.7
    fn byte_sequence(&mut self) -> Result<Vec<u8>, Error> {
        if !self.eat(b':') {
            return Err(Error("expected a byte sequence"));
        }
        let content = self.take_while(|b| b != b':');
        if !self.eat(b':') {
            return Err(Error("byte sequence is not closed"));
        }
        if !content.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')) {
            return Err(Error("byte sequence has a character outside standard base64"));
        }
        BYTE_SEQUENCE.decode(content).map_err(|_| Error("byte sequence is not valid base64"))
    }

    /// §4.2.8
    fn boolean(&mut self) -> Result<bool, Error> {
        if !self.eat(b'?') {
            return Err(Error("expected a boolean"));
        }
        if self.eat(b'1') {
            Ok(true)
        } else if self.eat(b'0') {
            Ok(false)
        } else {
            Err(Error("boolean is neither ?1 nor ?0"))
        }
    }
}

fn write_key(out: &mut String, key: &str) -> Result<(), Error> {
    if !is_key(key) {
        return Err(Error("key has characters outside lcalpha, digits and _-.*"));
    }
    out.push_str(key);
    Ok(())
}

fn write_params(out: &mut String, params: &Parameters) -> Result<(), Error> {
    for (key, value) in params {
        out.push(';');
        write_key(out, key)?;
        if *value != BareItem::Boolean(true) {
            out.push('=');
            write_bare_item(out, value)?;
        }
    }
    Ok(())
}

fn write_item(out: &mut String, item: &Item) -> Result<(), Error> {
    write_bare_item(out, &item.bare_item)?;
    write_params(out, &item.params)
}

fn write_inner_list(out: &mut String, list: &InnerList) -> Result<(), Error> {
    out.push('(');
    for (i, item) in list.items.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_item(out, item)?;
    }
    out.push(')');
    write_params(out, &list.params)
}

fn write_bare_item(out: &mut String, item: &BareItem) -> Result<(), Error> {
    use core::fmt::Write as _;
    match item {
        BareItem::Integer(value) => {
            if value.unsigned_abs() > MAX_INTEGER.unsigned_abs() {
                return Err(Error("integer has more than 15 digits"));
            }
            let _ = write!(out, "{value}");
        }
        BareItem::Decimal(decimal) => {
            // Decimal's constructor keeps it within 12 integer digits.
            let value = decimal.thousandths();
            let sign = if value < 0 { "-" } else { "" };
            let (integer, fraction) = (value.unsigned_abs() / 1000, value.unsigned_abs() % 1000);
            let _ = write!(out, "{sign}{integer}.");
            if fraction == 0 {
                out.push('0');
            } else {
                let digits = alloc::format!("{fraction:03}");
                out.push_str(digits.trim_end_matches('0'));
            }
        }
        BareItem::String(text) => {
            out.push('"');
            for b in text.bytes() {
                match b {
                    b'"' | b'\\' => {
                        out.push('\\');
                        out.push(char::from(b));
                    }
                    b' '..=b'~' => out.push(char::from(b)),
                    _ => return Err(Error("string has a character outside printable ASCII")),
                }
            }
            out.push('"');
        }
        BareItem::Token(token) => {
            if !is_token(token) {
                return Err(Error("token has characters a token cannot carry"));
            }
            out.push_str(token);
        }
        BareItem::ByteSequence(bytes) => {
            out.push(':');
            out.push_str(&crate::encoding::encode_standard(bytes));
            out.push(':');
        }
        BareItem::Boolean(value) => out.push_str(if *value { "?1" } else { "?0" }),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    fn parse(input: &str) -> Result<Dictionary, &'static str> {
        parse_dictionary(input).map_err(|e| e.reason())
    }

    fn round_trip(input: &str) -> String {
        serialize_dictionary(&parse_dictionary(input).unwrap()).unwrap()
    }

    fn item(dict: &Dictionary, key: &str) -> BareItem {
        match dict.get(key) {
            Some(Member::Item(item)) => item.bare_item.clone(),
            other => panic!("{key}: not an item: {other:?}"),
        }
    }

    fn string(text: &str) -> BareItem {
        BareItem::String(String::from(text))
    }

    #[test]
    fn parameters_in_any_order() {
        let a = parse(r#"sig1=("@method");created=1;keyid="k";alg="hmac-sha256""#).unwrap();
        let b = parse(r#"sig1=("@method");alg="hmac-sha256";keyid="k";created=1"#).unwrap();
        for dict in [&a, &b] {
            let Some(Member::InnerList(list)) = dict.get("sig1") else { panic!("not an inner list") };
            assert_eq!(list.params.get("created"), Some(&BareItem::Integer(1)));
            assert_eq!(list.params.get("keyid"), Some(&string("k")));
            assert_eq!(list.params.get("alg"), Some(&string("hmac-sha256")));
        }
        // The order is kept, so a signature base rebuilt from it matches the sender's.
        assert_eq!(round_trip(r#"s=("a");b=1;a=2"#), r#"s=("a");b=1;a=2"#);
        assert_eq!(round_trip(r#"s=("a");a=2;b=1"#), r#"s=("a");a=2;b=1"#);
        // Whitespace is allowed after `;` but not before it.
        assert_eq!(round_trip("s=1;  a=2; b"), "s=1;a=2;b");
        assert!(parse("s=1 ;a=2").is_err());
    }

    #[test]
    fn whitespace_around_members() {
        // OWS after a member is skipped even at the end (§4.2.2 step 2.5).
        for input in ["a=1,b=2", "a=1, b=2", "a=1 ,b=2", "a=1 \t,\t b=2", "  a=1,   b=2  ", "a=1,b=2\t"] {
            let dict = parse(input).unwrap();
            assert_eq!(item(&dict, "a"), BareItem::Integer(1), "{input:?}");
            assert_eq!(item(&dict, "b"), BareItem::Integer(2), "{input:?}");
            assert_eq!(serialize_dictionary(&dict).unwrap(), "a=1, b=2");
        }
        // Not inside a member, not as a trailing or leading comma, not a leading tab.
        for bad in ["a =1", "a= 1", "a=1,", "a=1, ", ",a=1", "a=1,,b=2", "\ta=1", "a=1 b=2"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse("").unwrap(), Dictionary::new());
        assert_eq!(parse("   ").unwrap(), Dictionary::new());
    }

    #[test]
    fn duplicate_keys_keep_first_position_last_value() {
        let dict = parse("a=1, b=2, a=3").unwrap();
        assert_eq!(dict.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(item(&dict, "a"), BareItem::Integer(3));
        assert_eq!(serialize_dictionary(&dict).unwrap(), "a=3, b=2");
        // A label given twice with different kinds: the later one replaces it entirely.
        let dict = parse(r#"sig1=("@path"), sig1=:AAAA:"#).unwrap();
        assert_eq!(item(&dict, "sig1"), BareItem::ByteSequence(vec![0, 0, 0]));
        // Parameters follow the same rule.
        assert_eq!(round_trip("a;x=1;y=2;x=3"), "a;x=3;y=2");
    }

    #[test]
    fn byte_sequences_with_and_without_padding() {
        for (input, bytes) in [
            (":AQI=:", vec![1u8, 2]),
            (":AQI:", vec![1, 2]),
            (":AQ==:", vec![1]),
            (":AQ=:", vec![1]),
            (":AQ:", vec![1]),
            (":AQID:", vec![1, 2, 3]),
            ("::", vec![]),
            // Non-zero pad bits: RFC 8941 asks parsers not to fail.
            (":AR==:", vec![1]),
        ] {
            let dict = parse(&alloc::format!("b={input}")).unwrap();
            assert_eq!(item(&dict, "b"), BareItem::ByteSequence(bytes), "{input}");
        }
        // The serializer always pads, with the standard alphabet.
        assert_eq!(round_trip("b=:AQ:"), "b=:AQ==:");
        assert_eq!(round_trip("b=:+/8:"), "b=:+/8=:");
        for bad in ["b=:AQ", "b=:-_8=:", "b=:A:", "b=:AQ===:", "b=:A=Q=:", "b=:AQ I=:", "b=:AQ\nI=:", "b=:=AQI:"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn inner_lists_with_parameters_on_items() {
        let dict = parse(r#"sig1=("content-type";sf "@query-param";name="id" "date");created=5"#).unwrap();
        let Some(Member::InnerList(list)) = dict.get("sig1") else { panic!("not an inner list") };
        assert_eq!(list.items.len(), 3);
        assert_eq!(list.items[0].bare_item, string("content-type"));
        assert_eq!(list.items[0].params.get("sf"), Some(&BareItem::Boolean(true)));
        assert_eq!(list.items[1].params.get("name"), Some(&string("id")));
        assert!(list.items[2].params.is_empty());
        assert_eq!(list.params.get("created"), Some(&BareItem::Integer(5)));
        assert_eq!(
            round_trip(r#"sig1=(  "a";sf   "b"  );x"#),
            r#"sig1=("a";sf "b");x"#,
            "extra spaces inside the list are not kept"
        );
        assert_eq!(round_trip("l=()"), "l=()");
    }

    #[test]
    fn inner_list_refusals() {
        for bad in ["l=(1 (2))", "l=(1", "l=(1,2)", "l=(\"a\"\"b\")", "l=(1\t2)", "l=(1)x"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keys() {
        for good in ["a", "*", "a1", "a_b-c.d*", "*x"] {
            assert!(parse(&alloc::format!("{good}=1")).is_ok(), "{good}");
            assert!(is_key(good));
        }
        for bad in ["A", "1a", "_a", "-a", ".a", "aB", "a/b", "é"] {
            assert!(parse(&alloc::format!("{bad}=1")).is_err(), "{bad}");
            assert!(!is_key(bad));
        }
        let mut dict = Dictionary::new();
        dict.insert("Bad", Member::Item(Item::new(BareItem::Integer(1))));
        assert!(serialize_dictionary(&dict).is_err());
    }

    #[test]
    fn integers_and_decimals() {
        let dict = parse("a=999999999999999, b=-999999999999999, c=0, d=-0, e=007").unwrap();
        assert_eq!(item(&dict, "a"), BareItem::Integer(999_999_999_999_999));
        assert_eq!(item(&dict, "b"), BareItem::Integer(-999_999_999_999_999));
        assert_eq!(item(&dict, "d"), BareItem::Integer(0));
        assert_eq!(item(&dict, "e"), BareItem::Integer(7));
        for bad in ["a=1000000000000000", "a=-", "a=-a", "a=1.", "a=1.2345", "a=1234567890123.1", "a=+1", "a=1e3"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let dict = parse("a=1.5, b=-0.25, c=123456789012.125, d=1.0, e=1.500").unwrap();
        assert_eq!(item(&dict, "a"), BareItem::Decimal(Decimal::from_thousandths(1_500).unwrap()));
        assert_eq!(item(&dict, "b"), BareItem::Decimal(Decimal::from_thousandths(-250).unwrap()));
        assert_eq!(serialize_dictionary(&dict).unwrap(), "a=1.5, b=-0.25, c=123456789012.125, d=1.0, e=1.5");
        assert_eq!(round_trip("z=-0.0"), "z=0.0");
        assert_eq!(Decimal::from_thousandths(1_000_000_000_000_000), None);
        let mut dict = Dictionary::new();
        dict.insert("a", Member::Item(Item::new(BareItem::Integer(1_000_000_000_000_000))));
        assert!(serialize_dictionary(&dict).is_err());
    }

    #[test]
    fn strings() {
        let dict = parse(r#"a="x \"y\" \\z", b="""#).unwrap();
        assert_eq!(item(&dict, "a"), string(r#"x "y" \z"#));
        assert_eq!(item(&dict, "b"), string(""));
        assert_eq!(round_trip(r#"a="x \"y\" \\z""#), r#"a="x \"y\" \\z""#);
        for bad in [r#"a="\n""#, r#"a="\'""#, "a=\"tab\there\"", r#"a="open"#, r#"a="x\"#, "a=\"\u{7f}\"", "a=\"é\""] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let mut dict = Dictionary::new();
        dict.insert("a", Member::Item(Item::new(string("line\nbreak"))));
        assert!(serialize_dictionary(&dict).is_err());
    }

    #[test]
    fn tokens_and_booleans() {
        let dict = parse("a=sha-256, b=*x:y/z, c=?0, d, e;p").unwrap();
        assert_eq!(item(&dict, "a"), BareItem::Token(String::from("sha-256")));
        assert_eq!(item(&dict, "b"), BareItem::Token(String::from("*x:y/z")));
        assert_eq!(item(&dict, "c"), BareItem::Boolean(false));
        assert_eq!(item(&dict, "d"), BareItem::Boolean(true));
        assert_eq!(serialize_dictionary(&dict).unwrap(), "a=sha-256, b=*x:y/z, c=?0, d, e;p");
        assert_eq!(round_trip("d=?1;p=?1"), "d;p");
        for bad in ["a=?2", "a=?", "a=@x", "a=(", "a=", "a=x\"y"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refuses_non_ascii() {
        assert!(parse("a=\"ü\"").is_err());
        assert!(parse("a=1, ü=2").is_err());
    }

    /// `count` comma-separated copies of `each(i)`.
    fn joined(count: usize, separator: &str, each: impl Fn(usize) -> String) -> String {
        (0..count).map(each).collect::<Vec<_>>().join(separator)
    }

    #[test]
    fn length_is_checked_before_anything_else() {
        let at_bound = alloc::format!("a=1{}", " ".repeat(MAX_FIELD_LENGTH - 3));
        assert_eq!(at_bound.len(), MAX_FIELD_LENGTH);
        assert_eq!(parse(&at_bound).unwrap().len(), 1);
        let too_long = alloc::format!("{at_bound} ");
        assert_eq!(parse(&too_long), Err("field value is longer than MAX_FIELD_LENGTH"));
        // Not even the ASCII check runs first: the cost of a refusal does not grow with the input.
        let too_long_non_ascii = "ü".repeat(MAX_FIELD_LENGTH);
        assert_eq!(parse(&too_long_non_ascii), Err("field value is longer than MAX_FIELD_LENGTH"));
    }

    #[test]
    fn a_32k_member_dictionary_is_refused() {
        // The value that took seconds when every member searched the ones before it.
        // Refused on its length alone, before a single member is read.
        let huge = joined(32 * 1024, ",", |i| alloc::format!("k{i}=1"));
        assert_eq!(parse(&huge), Err("field value is longer than MAX_FIELD_LENGTH"));
        assert!(parse_dictionary_canonical(&huge).is_err());
    }

    #[test]
    fn member_count_is_bounded() {
        let keys = |count| joined(count, ",", |i| alloc::format!("k{i}"));
        assert_eq!(parse(&keys(MAX_MEMBERS)).unwrap().len(), MAX_MEMBERS);
        assert_eq!(parse(&keys(MAX_MEMBERS + 1)), Err("dictionary has more than MAX_MEMBERS members"));
        // Counted as written: repeating one key does not get around the bound.
        assert_eq!(parse(&joined(MAX_MEMBERS, ",", |_| "a".into())).unwrap().len(), 1);
        assert_eq!(
            parse(&joined(MAX_MEMBERS + 1, ",", |_| "a".into())),
            Err("dictionary has more than MAX_MEMBERS members")
        );
    }

    #[test]
    fn inner_list_length_is_bounded() {
        let list = |count| alloc::format!("l=({})", joined(count, " ", |i| alloc::format!("{i}")));
        let dict = parse(&list(MAX_INNER_LIST_ITEMS)).unwrap();
        let Some(Member::InnerList(inner)) = dict.get("l") else { panic!("not an inner list") };
        assert_eq!(inner.items.len(), MAX_INNER_LIST_ITEMS);
        assert_eq!(parse(&list(MAX_INNER_LIST_ITEMS + 1)), Err("inner list has more than MAX_INNER_LIST_ITEMS items"));
    }

    #[test]
    fn parameter_count_is_bounded() {
        let params = |count| joined(count, "", |i| alloc::format!(";p{i}"));
        // On a member, on an item inside an inner list, and on the inner list itself.
        for shape in ["m{}", "l=(1{})", "l=(1){}"] {
            let at_bound = shape.replace("{}", &params(MAX_PARAMETERS));
            assert!(parse(&at_bound).is_ok(), "{shape}");
            let over = shape.replace("{}", &params(MAX_PARAMETERS + 1));
            assert_eq!(parse(&over), Err("more than MAX_PARAMETERS parameters"), "{shape}");
        }
        // Counted as written, like members.
        let repeated = alloc::format!("m{}", ";p".repeat(MAX_PARAMETERS + 1));
        assert_eq!(parse(&repeated), Err("more than MAX_PARAMETERS parameters"));
    }

    #[test]
    fn canonical_integers_have_one_spelling() {
        let canonical = |input: &str| parse_dictionary_canonical(input).map_err(|e| e.reason());
        let dict = canonical("a=0, b=10, c=-7, d=999999999999999").unwrap();
        assert_eq!(item(&dict, "a"), BareItem::Integer(0));
        assert_eq!(item(&dict, "c"), BareItem::Integer(-7));
        for bad in ["a=00", "a=007", "a=-0", "a=-007", r#"s=("x");created=01719500000"#, "a=(01)", "a;p=01"] {
            assert_eq!(canonical(bad), Err("integer is not written canonically"), "{bad}");
            assert!(parse(bad).is_ok(), "RFC 8941 itself accepts {bad}");
        }
    }

    fn bare_item() -> impl Strategy<Value = BareItem> {
        prop_oneof![
            (-MAX_INTEGER..=MAX_INTEGER).prop_map(BareItem::Integer),
            (-MAX_INTEGER..=MAX_INTEGER)
                .prop_filter_map("in range", |t| Decimal::from_thousandths(t).map(BareItem::Decimal)),
            "[ -~]{0,12}".prop_map(BareItem::String),
            "[A-Za-z*][A-Za-z0-9!#$%&'*+.^_`|~:/-]{0,8}".prop_map(BareItem::Token),
            proptest::collection::vec(any::<u8>(), 0..16).prop_map(BareItem::ByteSequence),
            any::<bool>().prop_map(BareItem::Boolean),
        ]
    }

    fn key() -> impl Strategy<Value = String> {
        "[a-z*][a-z0-9_.*-]{0,6}"
    }

    fn params() -> impl Strategy<Value = Parameters> {
        proptest::collection::vec((key(), bare_item()), 0..3).prop_map(|v| v.into_iter().collect())
    }

    fn item_strategy() -> impl Strategy<Value = Item> {
        (bare_item(), params()).prop_map(|(bare_item, params)| Item { bare_item, params })
    }

    fn dictionary() -> impl Strategy<Value = Dictionary> {
        let member = prop_oneof![
            item_strategy().prop_map(Member::Item),
            (proptest::collection::vec(item_strategy(), 0..4), params())
                .prop_map(|(items, params)| Member::InnerList(InnerList { items, params })),
        ];
        proptest::collection::vec((key(), member), 0..4).prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #[test]
        fn serialized_values_parse_back(dict in dictionary()) {
            let text = serialize_dictionary(&dict).unwrap();
            prop_assert_eq!(parse_dictionary(&text).unwrap(), dict);
        }

        #[test]
        fn parser_never_panics_and_round_trips(input in r#"[a-z0-9=;:,() "\\?*.+/_\-\t]{0,48}"#) {
            if let Ok(dict) = parse_dictionary(&input) {
                let text = serialize_dictionary(&dict).unwrap();
                prop_assert_eq!(parse_dictionary(&text).unwrap(), dict);
            }
        }

        #[test]
        fn parser_never_panics_on_any_text(input in any::<String>()) {
            let _ = parse_dictionary(&input);
        }
    }
}
