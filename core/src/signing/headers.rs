use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// Read access to a request's or webhook's header fields.
///
/// Names are matched ASCII case-insensitively. Implemented for lists of
/// `(name, value)` pairs and for maps, so every binding can pass what it has.
pub trait HeaderMap {
    /// Calls `f` with every value of the field `name`, in the order received.
    fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&str));
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderMap for [(K, V)] {
    fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&str)) {
        for (k, v) in self {
            if k.as_ref().eq_ignore_ascii_case(name) {
                f(v.as_ref());
            }
        }
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderMap for Vec<(K, V)> {
    fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&str)) {
        self.as_slice().for_each_value(name, f);
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> HeaderMap for [(K, V); N] {
    fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&str)) {
        self.as_slice().for_each_value(name, f);
    }
}

impl<K: AsRef<str> + Ord, V: AsRef<str>> HeaderMap for BTreeMap<K, V> {
    fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&str)) {
        for (k, v) in self {
            if k.as_ref().eq_ignore_ascii_case(name) {
                f(v.as_ref());
            }
        }
    }
}

/// The field's value as HTTP combines repeated fields: each value trimmed of
/// optional whitespace, joined by `", "`. `None` when the field is absent or
/// every value is empty, which the schemes treat alike.
pub(crate) fn field(headers: &(impl HeaderMap + ?Sized), name: &str) -> Option<String> {
    let mut joined: Option<String> = None;
    headers.for_each_value(name, &mut |value| {
        let value = value.trim_matches([' ', '\t']);
        match joined.as_mut() {
            Some(acc) => {
                acc.push_str(", ");
                acc.push_str(value);
            }
            None => joined = Some(String::from(value)),
        }
    });
    joined.filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combines_repeated_fields_case_insensitively() {
        let h = [("Webhook-Id", " a "), ("x", "y"), ("webhook-id", "b")];
        assert_eq!(field(&h, "webhook-id").as_deref(), Some("a, b"));
        assert_eq!(field(&h, "missing"), None);
        assert_eq!(field(&[("x-signature", "  ")], "x-signature"), None);
    }
}
