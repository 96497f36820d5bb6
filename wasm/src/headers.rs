//! Header fields as the JS layer flattens them: `name\0value\0name\0value\0`.
//!
//! One string crosses the boundary instead of an object walked field by field.
//! NUL never occurs in an HTTP field (RFC 9110 §5.5; the JS layer refuses it),
//! so it separates names and values unambiguously. A repeated field is sent as
//! several pairs and combined by the core, as HTTP combines them.

use payseal_core::HeaderMap;

/// Borrowed view of the flattened fields.
pub(crate) struct FlatHeaders<'a>(pub(crate) &'a str);

impl HeaderMap for FlatHeaders<'_> {
    fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&str)) {
        let mut parts = self.0.split('\0');
        while let (Some(field), Some(value)) = (parts.next(), parts.next()) {
            if field.eq_ignore_ascii_case(name) {
                f(value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_read_in_order_case_insensitively() {
        let flat = FlatHeaders("A\0one\0b\0two\0a\0three\0");
        let mut seen = Vec::new();
        flat.for_each_value("a", &mut |v| seen.push(v.to_owned()));
        assert_eq!(seen, ["one", "three"]);
        let mut none = 0;
        FlatHeaders("").for_each_value("a", &mut |_| none += 1);
        assert_eq!(none, 0);
    }
}
