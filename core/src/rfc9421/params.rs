//! What one `Signature-Input` member says: the covered components and the
//! signature parameters (RFC 9421 §2.3), checked against what payseal supports.

use alloc::string::String;
use alloc::vec::Vec;

use super::base::Component;
use super::sf::{self, BareItem, InnerList};
use crate::time::MAX_SECONDS;

/// The only algorithm of this module.
pub(super) const ALGORITHM: &str = "hmac-sha256";

/// A checked `Signature-Input` member.
#[derive(Debug)]
pub(super) struct Covered {
    pub(super) components: Vec<Component>,
    pub(super) created: Option<u64>,
    pub(super) expires: Option<u64>,
    pub(super) key_id: Option<String>,
    /// Whether a non-empty `nonce` is among the parameters (RFC 9421
    /// §2.3): what a route that requires one asks for.
    pub(super) has_nonce: bool,
    /// The inner list serialized (RFC 8941 §4.1): the `@signature-params` value.
    pub(super) params_line: String,
}

impl Covered {
    /// Checks an inner list. The signer builds its list from the caller's
    /// input and checks it here too, so it never produces what the verifier
    /// would refuse.
    ///
    /// Refused: an item that is not a string, a component with parameters
    /// (`;sf`, `;bs`, `;req`, `;key`, `;name`), an unsupported or repeated
    /// component, `created`/`expires` that are not unix seconds (integers from
    /// 0 to 9999999999; larger ones are milliseconds), `keyid`, `nonce`, `tag`
    /// or `alg` that are not strings, and `alg` other than `hmac-sha256`.
    /// Other parameters are signed like the rest and otherwise ignored.
    pub(super) fn check(list: &InnerList) -> Result<Self, &'static str> {
        let mut components: Vec<Component> = Vec::with_capacity(list.items.len());
        for item in &list.items {
            let BareItem::String(name) = &item.bare_item else {
                return Err("a covered component is not a string");
            };
            if !item.params.is_empty() {
                return Err("component parameters are not supported");
            }
            let component = Component::from_name(name).ok_or("a covered component is not supported")?;
            // RFC 9421 §2.5 step 2.1: a component identifier appears once.
            if components.contains(&component) {
                return Err("a component is covered twice");
            }
            components.push(component);
        }
        let (mut created, mut expires, mut key_id, mut has_nonce) = (None, None, None, false);
        for (name, value) in &list.params {
            match (name, value) {
                ("created", value) => created = Some(unix_seconds(value).ok_or("created is not unix seconds")?),
                ("expires", value) => expires = Some(unix_seconds(value).ok_or("expires is not unix seconds")?),
                ("keyid", BareItem::String(id)) => key_id = Some(id.clone()),
                ("alg", BareItem::String(alg)) if alg == ALGORITHM => {}
                ("alg", BareItem::String(_)) => return Err("alg is not hmac-sha256"),
                ("nonce", BareItem::String(nonce)) => has_nonce = !nonce.is_empty(),
                ("tag", BareItem::String(_)) => {}
                ("keyid" | "alg" | "nonce" | "tag", _) => return Err("keyid, alg, nonce and tag must be strings"),
                _ => {}
            }
        }
        let params_line =
            sf::serialize_inner_list(list).map_err(|_| "Signature-Input cannot be written as a structured field")?;
        Ok(Self { components, created, expires, key_id, has_nonce, params_line })
    }

    /// Whether the component named `name` is covered; `required` names are
    /// matched ASCII case-insensitively, as header names are.
    pub(super) fn covers(&self, name: &str) -> bool {
        self.components.iter().any(|c| c.name().eq_ignore_ascii_case(name))
    }
}

fn unix_seconds(value: &BareItem) -> Option<u64> {
    match value {
        BareItem::Integer(seconds) => u64::try_from(*seconds).ok().filter(|s| *s <= MAX_SECONDS),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sf::Member;

    fn check(input: &str) -> Result<Covered, &'static str> {
        let dict = sf::parse_dictionary(input).unwrap();
        let Some(Member::InnerList(list)) = dict.get("s") else { panic!("not an inner list") };
        Covered::check(list)
    }

    #[test]
    fn reads_parameters_in_any_order() {
        let c = check(r#"s=("@method" "date");keyid="k";alg="hmac-sha256";nonce="n";created=7;tag="t";expires=9;x=?1"#)
            .unwrap();
        assert_eq!(c.components, [Component::Method, Component::Field("date".into())]);
        assert_eq!((c.created, c.expires, c.key_id.as_deref()), (Some(7), Some(9), Some("k")));
        assert_eq!(
            c.params_line,
            r#"("@method" "date");keyid="k";alg="hmac-sha256";nonce="n";created=7;tag="t";expires=9;x"#
        );
        assert!(c.covers("@method") && c.covers("Date") && !c.covers("@path"));
        assert!(c.has_nonce);
        let bare = check("s=()").unwrap();
        assert_eq!((bare.created, bare.key_id, bare.has_nonce), (None, None, false));
        assert!(!check(r#"s=();nonce="""#).unwrap().has_nonce, "an empty nonce is none");
    }

    #[test]
    fn refusals() {
        for (input, why) in [
            (r#"s=("@method" "@method")"#, "a component is covered twice"),
            (r#"s=("content-type";sf)"#, "component parameters are not supported"),
            (r#"s=("@query-param";name="id")"#, "component parameters are not supported"),
            (r#"s=("@status")"#, "a covered component is not supported"),
            (r#"s=("@signature-params")"#, "a covered component is not supported"),
            (r#"s=("Date")"#, "a covered component is not supported"),
            ("s=(date)", "a covered component is not a string"),
            ("s=();created=-1", "created is not unix seconds"),
            ("s=();created=1719493637000", "created is not unix seconds"),
            (r#"s=();created="1""#, "created is not unix seconds"),
            ("s=();expires=1.5", "expires is not unix seconds"),
            (r#"s=();alg="hmac-sha512""#, "alg is not hmac-sha256"),
            ("s=();alg=hmac-sha256", "keyid, alg, nonce and tag must be strings"),
            ("s=();keyid=k", "keyid, alg, nonce and tag must be strings"),
            ("s=();nonce=1", "keyid, alg, nonce and tag must be strings"),
        ] {
            assert_eq!(check(input).err(), Some(why), "{input}");
        }
    }
}
