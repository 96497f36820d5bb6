//! Every branch of the token rules.

use alloc::format;
use alloc::string::String;
use alloc::vec;

use super::*;

const NOW: u64 = 1_719_500_000;
const SECRET: &str = "cs_9n2hT4kQ7xVbLw0ZpRfYdG3sJ8uA1eMc";

fn policy() -> TokenPolicy {
    let json = format!(
        r#"{{"clients":[{{"id":"shop","secret_sha256":"{}","key_ids":["k_shop"]}},{{"id":"other","secret_sha256":"{}","key_ids":["k_other"]}}],
            "routes":[{{"prefix":"/api/v1/payments","methods":["post"]}}]}}"#,
        TokenDigest::of(SECRET.as_bytes()).to_hex(),
        TokenDigest::of(b"other-secret").to_hex()
    );
    let policy: TokenPolicy = serde_json::from_str(&json).unwrap();
    policy.validate().unwrap();
    policy
}

fn entropy(seed: u8) -> TokenEntropy {
    let mut n = seed;
    TokenEntropy::fill_with(|buf: &mut [u8]| {
        for b in buf {
            *b = n;
            n = n.wrapping_mul(31).wrapping_add(7);
        }
        Ok::<(), ()>(())
    })
    .unwrap()
}

fn fields(pairs: &[(&str, &str)]) -> GrantFields {
    let mut f = GrantFields::default();
    for (name, value) in pairs {
        let value = Some(String::from(*value));
        match *name {
            "grant_type" => f.grant_type = value,
            "client_id" => f.client_id = value,
            "client_secret" => f.client_secret = value,
            "refresh_token" => f.refresh_token = value,
            _ => unreachable!(),
        }
    }
    f
}

fn issued(policy: &TokenPolicy) -> Issued {
    policy.issue(policy.client("shop").unwrap(), &entropy(1), NOW)
}

fn presented(text: &TokenText) -> PresentedRefresh {
    PresentedRefresh::parse(text.expose()).unwrap()
}

fn rotate(policy: &TokenPolicy, family: &FamilyRecord, token: &TokenText, seed: u8, now: u64) -> Issued {
    match policy.refresh(Some(family), &presented(token), None, &entropy(seed), now) {
        RefreshDecision::Rotate(next) => next,
        other => panic!("expected a rotation, got {other:?}"),
    }
}

#[test]
fn the_defaults_are_one_hour_and_thirty_days() {
    let p = policy();
    assert_eq!((p.path.as_str(), p.header.as_str()), ("/api/v1/auth/token", "ACCESS-TOKEN"));
    assert_eq!(p.lifetimes(), Lifetimes { access_seconds: 3_600, refresh_seconds: 2_592_000 });
}

#[test]
fn issue_stores_digests_and_answers_the_tokens_once() {
    let p = policy();
    let i = issued(&p);
    assert_eq!(i.family.generation, 0);
    assert_eq!(i.family.client_id, "shop");
    assert_eq!(i.family.refresh_sha256, i.refresh_token.digest());
    assert_eq!(i.family.refresh_expires_at, NOW + 2_592_000);
    assert_eq!(i.family.access_expires_at, NOW + 3_600);
    assert_eq!(i.family.keep_until(p.lifetimes()), NOW + 2_592_000 + 3_600);
    assert_eq!(i.family_keep_until, NOW + 2_592_000 + 3_600);
    assert_eq!(i.access, AccessRecord { family: i.family.family, client_id: "shop".into(), expires_at: NOW + 3_600 });
    assert_eq!(i.access_sha256, i.access_token.digest());
    assert_eq!(i.access_keep_until, NOW + 7_200);
    let body: serde_json::Value = serde_json::from_str(&i.answer_body()).unwrap();
    assert_eq!(body["access_token"], i.access_token.expose());
    assert_eq!(body["refresh_token"], i.refresh_token.expose());
    assert_eq!((body["token_type"].as_str(), body["expires_in"].as_u64()), (Some("Bearer"), Some(3_600)));
    // Records and their Debug hold no token text.
    let stored = format!("{}{}{i:?}", serde_json::to_string(&i.family).unwrap(), serde_json::to_string(&i.access).unwrap());
    for token in [i.access_token.expose(), i.refresh_token.expose(), &i.access_token.expose()[3..], &i.refresh_token.expose()[3..]] {
        assert!(!stored.contains(token));
    }
    // Two issues never share tokens or families.
    let j = p.issue(p.client("shop").unwrap(), &entropy(2), NOW);
    assert_ne!(i.family.family, j.family.family);
    assert_ne!(i.access_sha256, j.access_sha256);
}

#[test]
fn a_refresh_with_the_current_token_rotates() {
    let p = policy();
    let first = issued(&p);
    let later = NOW + 1_000;
    let second = rotate(&p, &first.family, &first.refresh_token, 9, later);
    assert_eq!(second.family.generation, 1);
    assert_eq!(second.family.family, first.family.family);
    assert_eq!(second.family.secret_sha256, first.family.secret_sha256);
    assert_ne!(second.family.refresh_sha256, first.family.refresh_sha256);
    assert_eq!(second.family.refresh_sha256, second.refresh_token.digest());
    assert_eq!(second.family.refresh_expires_at, later + 2_592_000, "the refresh lifetime starts again");
    assert_eq!(second.family.access_expires_at, later + 3_600);
    assert_eq!(second.access.expires_at, later + 3_600);
    assert_ne!(second.access_sha256, first.access_sha256);
    // The new refresh token rotates in turn.
    let third = rotate(&p, &second.family, &second.refresh_token, 10, later + 1);
    assert_eq!(third.family.generation, 2);
    // With matching client credentials too.
    let client = p.client("shop");
    assert!(matches!(p.refresh(Some(&third.family), &presented(&third.refresh_token), client, &entropy(11), later + 2), RefreshDecision::Rotate(_)));
}

#[test]
fn an_older_token_revokes_the_family() {
    let p = policy();
    let first = issued(&p);
    let second = rotate(&p, &first.family, &first.refresh_token, 9, NOW + 10);
    let RefreshDecision::Reused(revoked) = p.refresh(Some(&second.family), &presented(&first.refresh_token), None, &entropy(3), NOW + 20) else {
        panic!("reuse not detected")
    };
    assert_eq!(revoked, FamilyRecord { revoked_at: Some(NOW + 20), ..second.family.clone() });
    assert_eq!(revoked.keep_until(p.lifetimes()), second.family_keep_until, "a revocation is kept as long as any token could be presented");
    // Once revoked, the current token and the old one are refused alike.
    for token in [&second.refresh_token, &first.refresh_token] {
        let decision = p.refresh(Some(&revoked), &presented(token), None, &entropy(4), NOW + 30);
        assert!(matches!(decision, RefreshDecision::Revoked), "{decision:?}");
        assert_eq!(decision.refusal(), Some(GrantError::InvalidGrant(GrantRefused::Revoked)));
    }
    // And every access token of the family.
    for (token, record) in [(&first.access_token, &first.access), (&second.access_token, &second.access)] {
        let access = PresentedAccess::parse(token.expose()).unwrap();
        assert_eq!(p.check_access(&access, Some(record), Some(&revoked), NOW + 30, "k_shop"), Err(AccessRejection::Revoked));
    }
    assert_eq!(revoked.revoked(NOW + 99).revoked_at, Some(NOW + 20), "the first revocation time stays");
}

#[test]
fn a_lost_race_is_decided_again_as_reuse() {
    // Two refreshes read the same record; one stores its rotation first.
    // The other, deciding again with what is now stored, holds an older
    // token: the family is revoked, the safe answer to two holders.
    let p = policy();
    let first = issued(&p);
    let winner = rotate(&p, &first.family, &first.refresh_token, 5, NOW + 1);
    let _loser = rotate(&p, &first.family, &first.refresh_token, 6, NOW + 1);
    let decision = p.refresh(Some(&winner.family), &presented(&first.refresh_token), None, &entropy(7), NOW + 1);
    assert!(matches!(decision, RefreshDecision::Reused(ref r) if r.is_revoked()));
    assert_eq!(decision.refusal(), Some(GrantError::InvalidGrant(GrantRefused::Reused)));
}

#[test]
fn reuse_is_detected_even_after_expiry() {
    let p = policy();
    let first = issued(&p);
    let second = rotate(&p, &first.family, &first.refresh_token, 9, NOW + 10);
    let late = second.family.refresh_expires_at + 5;
    assert!(matches!(p.refresh(Some(&second.family), &presented(&first.refresh_token), None, &entropy(3), late), RefreshDecision::Reused(_)));
}

#[test]
fn the_current_token_expires_at_its_expiry() {
    let p = policy();
    let first = issued(&p);
    let at = first.family.refresh_expires_at;
    let expired = p.refresh(Some(&first.family), &presented(&first.refresh_token), None, &entropy(3), at);
    assert!(matches!(expired, RefreshDecision::Expired));
    assert_eq!(expired.refusal(), Some(GrantError::InvalidGrant(GrantRefused::Expired)));
    let _ = rotate(&p, &first.family, &first.refresh_token, 4, at - 1);
}

#[test]
fn tokens_of_no_stored_family_change_nothing() {
    let p = policy();
    let first = issued(&p);
    let token = presented(&first.refresh_token);
    let invalid = |d: RefreshDecision| matches!(d, RefreshDecision::Invalid);
    // No record under the family id.
    assert!(invalid(p.refresh(None, &token, None, &entropy(3), NOW)));
    // A record of another family.
    let other = p.issue(p.client("shop").unwrap(), &entropy(40), NOW);
    assert!(invalid(p.refresh(Some(&other.family), &token, None, &entropy(3), NOW)));
    // The right family id without the family secret: a guess, not a reuse.
    let mut forged_entropy = entropy(77);
    forged_entropy.family = entropy(1).family;
    let forged = p.issue(p.client("shop").unwrap(), &forged_entropy, NOW);
    assert_eq!(forged.family.family, first.family.family);
    assert!(invalid(p.refresh(Some(&first.family), &presented(&forged.refresh_token), None, &entropy(3), NOW)));
    // Credentials of another client.
    assert!(invalid(p.refresh(Some(&first.family), &token, p.client("other"), &entropy(3), NOW)));
    // A client removed from the configuration.
    let mut without = p.clone();
    without.clients.retain(|c| c.id != "shop");
    assert!(invalid(without.refresh(Some(&first.family), &token, None, &entropy(3), NOW)));
    assert_eq!(RefreshDecision::Invalid.refusal(), Some(GrantError::InvalidGrant(GrantRefused::Invalid)));
}

#[test]
fn access_tokens_live_until_their_expiry() {
    let p = policy();
    let i = issued(&p);
    let access = PresentedAccess::parse(i.access_token.expose()).unwrap();
    let check = |now| p.check_access(&access, Some(&i.access), Some(&i.family), now, "k_shop");
    assert_eq!(check(NOW), Ok(()));
    assert_eq!(check(NOW + 3_599), Ok(()));
    assert_eq!(check(NOW + 3_600), Err(AccessRejection::Expired));
    // A refresh leaves older access tokens valid until their own expiry.
    let next = rotate(&p, &i.family, &i.refresh_token, 9, NOW + 100);
    assert_eq!(p.check_access(&access, Some(&i.access), Some(&next.family), NOW + 3_599, "k_shop"), Ok(()));
}

#[test]
fn unknown_or_mismatched_access_tokens_are_invalid() {
    let p = policy();
    let i = issued(&p);
    let other = p.issue(p.client("other").unwrap(), &entropy(50), NOW);
    let access = PresentedAccess::parse(i.access_token.expose()).unwrap();
    assert_eq!(p.check_access(&access, None, Some(&i.family), NOW, "k_shop"), Err(AccessRejection::Invalid));
    assert_eq!(p.check_access(&access, Some(&i.access), None, NOW, "k_shop"), Err(AccessRejection::Invalid));
    assert_eq!(p.check_access(&access, Some(&other.access), Some(&i.family), NOW, "k_shop"), Err(AccessRejection::Invalid));
    assert_eq!(p.check_access(&access, Some(&i.access), Some(&other.family), NOW, "k_shop"), Err(AccessRejection::Invalid));
    let wrong_client = AccessRecord { client_id: "other".into(), ..i.access.clone() };
    assert_eq!(p.check_access(&access, Some(&wrong_client), Some(&i.family), NOW, "k_shop"), Err(AccessRejection::Invalid));
    let mut without = p.clone();
    without.clients.retain(|c| c.id != "shop");
    assert_eq!(without.check_access(&access, Some(&i.access), Some(&i.family), NOW, "k_shop"), Err(AccessRejection::Invalid));
}

#[test]
fn an_access_token_works_only_with_an_api_key_its_client_names() {
    let p = policy();
    let i = issued(&p);
    let access = PresentedAccess::parse(i.access_token.expose()).unwrap();
    assert_eq!(p.check_access(&access, Some(&i.access), Some(&i.family), NOW, "k_shop"), Ok(()));
    // Another merchant's key with this client's token: refused like any bad token.
    assert_eq!(p.check_access(&access, Some(&i.access), Some(&i.family), NOW, "k_other"), Err(AccessRejection::Invalid));
}

#[test]
fn access_refusals_are_401_with_the_codes_clients_act_on() {
    let codes = [
        (AccessRejection::Missing, "INVALID_ACCESS_TOKEN", "missing_access_token"),
        (AccessRejection::Invalid, "INVALID_ACCESS_TOKEN", "invalid_access_token"),
        (AccessRejection::Expired, "ACCESS_TOKEN_EXPIRED", "access_token_expired"),
        (AccessRejection::Revoked, "INVALID_ACCESS_TOKEN", "access_token_revoked"),
    ];
    for (rejection, code, reason) in codes {
        let r = crate::Refusal::from(rejection);
        assert_eq!((r.status, r.code, r.reason), (401, code, reason));
    }
    assert_eq!(
        AccessRejection::Expired.refusal().body(),
        r#"{"status":401,"code":"ACCESS_TOKEN_EXPIRED","message":"The access token has expired."}"#
    );
}

#[test]
fn grant_requests_are_read_and_authenticated() {
    let p = policy();
    let cc = |id: &str, secret: &str| fields(&[("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret)]);
    assert!(matches!(p.grant(&cc("shop", SECRET)), Ok(Grant::ClientCredentials(c)) if c.id == "shop"));
    assert_eq!(p.grant(&cc("shop", "wrong")).unwrap_err(), GrantError::InvalidClient);
    assert_eq!(p.grant(&cc("nobody", SECRET)).unwrap_err(), GrantError::InvalidClient);
    assert_eq!(p.grant(&cc("other", SECRET)).unwrap_err(), GrantError::InvalidClient);
    assert_eq!(p.grant(&fields(&[("grant_type", "client_credentials"), ("client_id", "shop")])).unwrap_err(), GrantError::InvalidClient);
    assert_eq!(p.grant(&fields(&[("grant_type", "client_credentials")])).unwrap_err(), GrantError::InvalidClient);
    assert_eq!(p.grant(&fields(&[("client_id", "shop"), ("client_secret", SECRET)])).unwrap_err(), GrantError::InvalidRequest);
    assert_eq!(p.grant(&fields(&[("grant_type", "password")])).unwrap_err(), GrantError::UnsupportedGrantType);

    let i = issued(&p);
    let rt = i.refresh_token.expose();
    assert!(matches!(p.grant(&fields(&[("grant_type", "refresh_token"), ("refresh_token", rt)])), Ok(Grant::Refresh { client: None, .. })));
    let with_client = fields(&[("grant_type", "refresh_token"), ("refresh_token", rt), ("client_id", "shop"), ("client_secret", SECRET)]);
    assert!(matches!(p.grant(&with_client), Ok(Grant::Refresh { client: Some(c), .. }) if c.id == "shop"));
    let bad_secret = fields(&[("grant_type", "refresh_token"), ("refresh_token", rt), ("client_id", "shop"), ("client_secret", "x")]);
    assert_eq!(p.grant(&bad_secret).unwrap_err(), GrantError::InvalidClient);
    assert_eq!(p.grant(&fields(&[("grant_type", "refresh_token"), ("refresh_token", rt), ("client_id", "shop")])).unwrap_err(), GrantError::InvalidClient);
    assert_eq!(p.grant(&fields(&[("grant_type", "refresh_token")])).unwrap_err(), GrantError::InvalidRequest);
    let access_as_refresh = fields(&[("grant_type", "refresh_token"), ("refresh_token", i.access_token.expose())]);
    assert_eq!(p.grant(&access_as_refresh).unwrap_err(), GrantError::InvalidGrant(GrantRefused::Invalid));

    let secret_fields = fields(&[("client_secret", SECRET), ("refresh_token", rt)]);
    let debug = format!("{secret_fields:?}");
    assert!(!debug.contains(SECRET) && !debug.contains(rt), "{debug}");
}

#[test]
fn grant_errors_are_rfc_6749_bodies() {
    assert_eq!(GrantError::InvalidClient.status(), 401);
    assert_eq!(
        GrantError::InvalidGrant(GrantRefused::Reused).body(),
        r#"{"error":"invalid_grant","error_description":"The refresh token has been revoked."}"#
    );
    for (e, status, error) in [
        (GrantError::InvalidRequest, 400, "invalid_request"),
        (GrantError::InvalidGrant(GrantRefused::Expired), 400, "invalid_grant"),
        (GrantError::UnsupportedGrantType, 400, "unsupported_grant_type"),
    ] {
        let r = crate::Refusal::from(e);
        assert_eq!((r.status, r.code), (status, error));
    }
}

#[test]
fn routes_use_the_core_matcher() {
    let p = policy();
    assert!(p.requires_token("POST", "/api/v1/payments/123?x=1"));
    assert!(!p.requires_token("GET", "/api/v1/payments/123"));
    assert!(!p.requires_token("POST", "/api/v1/refunds"));
    assert!(p.is_endpoint("/api/v1/auth/token?x"));
    assert!(!p.is_endpoint("/api/v1/auth/token/x"));
}

type Change = fn(&mut TokenPolicy);

#[test]
fn unusable_sections_are_refused_by_field() {
    let p = policy();
    let cases: [(Change, TokenPolicyError); 8] = [
        (|p| p.path = "token".into(), TokenPolicyError::Path),
        (|p| p.header = "Access Token".into(), TokenPolicyError::Header),
        (|p| p.access_ttl_seconds = 0, TokenPolicyError::Lifetime("access_ttl_seconds")),
        (|p| p.refresh_ttl_seconds = 0, TokenPolicyError::Lifetime("refresh_ttl_seconds")),
        (|p| p.clients.clear(), TokenPolicyError::NoClients),
        (|p| p.clients[1].id = "shop".into(), TokenPolicyError::ClientId(1)),
        (|p| p.clients[0].key_ids.clear(), TokenPolicyError::ClientKeys(0)),
        (|p| p.routes = vec![TokenRoute { prefix: "api".into(), methods: vec![] }], TokenPolicyError::RoutePrefix(0)),
    ];
    for (change, error) in cases {
        let mut q = p.clone();
        change(&mut q);
        assert_eq!(q.validate(), Err(error.clone()));
        assert!(format!("{error}").starts_with("tokens."));
    }
    assert!(serde_json::from_str::<TokenPolicy>(r#"{"clients":[{"id":"a","secret_sha256":"zz"}]}"#).is_err());
    assert!(serde_json::from_str::<TokenPolicy>(r#"{"client":[]}"#).is_err(), "unknown fields are refused");
}
