//! Every route of the admin listener, parsed once into a [`Route`] that
//! names its [`Permission`] and the body it takes. The admin router
//! dispatches on it; a path that is not here is 404 before anything else.

use hyper::Method;

use super::role::Permission;

/// One admin route, with its path parameters (as sent, percent-encoded).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Route {
    /// `GET /healthz`.
    Healthz,
    /// `GET /readyz`.
    Readyz,
    /// `GET /metrics`.
    Metrics,
    /// `GET /ui…`: the console's static files; holds the path after `/ui`.
    Console(String),
    /// `GET /session`: the caller's name and role.
    Session,
    /// `GET /openapi.json`: the admin API's `OpenAPI` 3.1 description.
    OpenApi,
    /// `GET /config`.
    Config,
    /// `POST /reload`.
    Reload,
    /// `GET /keys`.
    KeyRecords,
    /// `PUT /keys/<id>`.
    PutKeyRecord(String),
    /// `DELETE /keys/<id>`.
    DeleteKeyRecord(String),
    /// `POST /idempotency/<env>/<key-id>/<key>/release`.
    ReleaseIdempotency,
    /// `PUT /clock`.
    SetClock,
    /// `DELETE /clock`.
    ResetClock,
    /// `POST /lifecycle/keys`.
    CreateKey,
    /// `GET /lifecycle/keys`.
    ListKeys,
    /// `GET /lifecycle/keys/<id>`.
    GetKey(String),
    /// `PATCH /lifecycle/keys/<id>`.
    EditKey(String),
    /// `POST /lifecycle/keys/<id>/revoke`.
    RevokeKey(String),
    /// `POST /lifecycle/keys/<id>/regenerate`.
    RegenerateKey(String),
    /// `POST /lifecycle/client-secrets/<environment>/rotate`.
    RotateClientSecret(String),
    /// `GET /lifecycle/audit`.
    Audit,
    /// `GET /admin-tokens`.
    ListTokens,
    /// `POST /admin-tokens`.
    CreateToken,
    /// `DELETE /admin-tokens/<name>`.
    DeleteToken(String),
    /// `GET /lifecycle/keys/<id>/traffic`: the key's last hour ([`crate::traffic`]).
    KeyTraffic(String),
    /// `GET /lifecycle/token-clients`.
    ListTokenClients,
    /// `POST /lifecycle/token-clients`.
    CreateTokenClient,
    /// `DELETE /lifecycle/token-clients/<id>`.
    DeleteTokenClient(String),
    /// `GET /lifecycle/renewal-accounts`.
    ListRenewalAccounts,
    /// `POST /lifecycle/renewal-accounts`.
    CreateRenewalAccount,
    /// `DELETE /lifecycle/renewal-accounts/<codeUrl>`.
    DeleteRenewalAccount(String),
}

/// The body a route reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// None; a body sent anyway must still be declared JSON.
    None,
    /// JSON (`Content-Type: application/json` required when not empty).
    Json,
    /// Plain text (the clock's unix seconds).
    Text,
}

/// The outcome of routing a method and path.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Routing {
    /// A route.
    Found(Route),
    /// The path exists with other methods.
    MethodNotAllowed,
    /// No such path.
    NotFound,
}

impl Route {
    /// Routes `method` and `path`.
    pub fn of(method: &Method, path: &str) -> Routing {
        let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
        let id = |s: &str| s.to_owned();
        let found = match (segments.as_slice(), method) {
            (["healthz"], &Method::GET) => Self::Healthz,
            (["readyz"], &Method::GET) => Self::Readyz,
            (["metrics"], &Method::GET) => Self::Metrics,
            (["ui", ..], &Method::GET) => Self::Console(path.strip_prefix("/ui").unwrap_or_default().to_owned()),
            (["session"], &Method::GET) => Self::Session,
            (["openapi.json"], &Method::GET) => Self::OpenApi,
            (["config"], &Method::GET) => Self::Config,
            (["reload"], &Method::POST) => Self::Reload,
            (["keys"], &Method::GET) => Self::KeyRecords,
            (["keys", key], &Method::PUT) if !key.is_empty() => Self::PutKeyRecord(id(key)),
            (["keys", key], &Method::DELETE) if !key.is_empty() => Self::DeleteKeyRecord(id(key)),
            (["idempotency", _, _, _, "release"], &Method::POST) => Self::ReleaseIdempotency,
            (["clock"], &Method::PUT) => Self::SetClock,
            (["clock"], &Method::DELETE) => Self::ResetClock,
            (["lifecycle", "keys"], &Method::POST) => Self::CreateKey,
            (["lifecycle", "keys"], &Method::GET) => Self::ListKeys,
            (["lifecycle", "keys", key], &Method::GET) if !key.is_empty() => Self::GetKey(id(key)),
            (["lifecycle", "keys", key], &Method::PATCH) if !key.is_empty() => Self::EditKey(id(key)),
            (["lifecycle", "keys", key, "revoke"], &Method::POST) if !key.is_empty() => Self::RevokeKey(id(key)),
            (["lifecycle", "keys", key, "regenerate"], &Method::POST) if !key.is_empty() => Self::RegenerateKey(id(key)),
            (["lifecycle", "client-secrets", environment, "rotate"], &Method::POST) => Self::RotateClientSecret(id(environment)),
            (["lifecycle", "audit"], &Method::GET) => Self::Audit,
            (["lifecycle", "keys", key, "traffic"], &Method::GET) if !key.is_empty() => Self::KeyTraffic(id(key)),
            (["lifecycle", "token-clients"], &Method::GET) => Self::ListTokenClients,
            (["lifecycle", "token-clients"], &Method::POST) => Self::CreateTokenClient,
            (["lifecycle", "token-clients", client], &Method::DELETE) if !client.is_empty() => Self::DeleteTokenClient(id(client)),
            (["lifecycle", "renewal-accounts"], &Method::GET) => Self::ListRenewalAccounts,
            (["lifecycle", "renewal-accounts"], &Method::POST) => Self::CreateRenewalAccount,
            (["lifecycle", "renewal-accounts", code], &Method::DELETE) if !code.is_empty() => Self::DeleteRenewalAccount(id(code)),
            (["admin-tokens"], &Method::GET) => Self::ListTokens,
            (["admin-tokens"], &Method::POST) => Self::CreateToken,
            (["admin-tokens", name], &Method::DELETE) if !name.is_empty() => Self::DeleteToken(id(name)),
            (
                ["healthz" | "readyz" | "metrics" | "config" | "reload" | "keys" | "clock" | "admin-tokens" | "session" | "openapi.json"]
                | ["ui", ..]
                | ["keys" | "admin-tokens", _]
                | ["idempotency", _, _, _, "release"]
                | ["lifecycle", "keys" | "audit" | "token-clients" | "renewal-accounts"]
                | ["lifecycle", "keys" | "token-clients" | "renewal-accounts", _]
                | ["lifecycle", "keys", _, "revoke" | "regenerate" | "traffic"]
                | ["lifecycle", "client-secrets", _, "rotate"],
                _,
            ) => return Routing::MethodNotAllowed,
            _ => return Routing::NotFound,
        };
        Routing::Found(found)
    }

    /// What the route needs; the table of who has it is [`super::role::decide`].
    pub const fn permission(&self) -> Permission {
        match self {
            Self::Healthz | Self::Readyz | Self::Console(_) | Self::OpenApi => Permission::Public,
            Self::Session => Permission::Session,
            Self::Metrics => Permission::Metrics,
            Self::Config | Self::KeyRecords => Permission::ReadGateway,
            Self::Reload | Self::PutKeyRecord(_) | Self::DeleteKeyRecord(_) | Self::ReleaseIdempotency => Permission::OperateGateway,
            Self::SetClock | Self::ResetClock => Permission::SetClock,
            Self::ListKeys | Self::GetKey(_) | Self::KeyTraffic(_) => Permission::ReadKeys,
            Self::ListTokenClients | Self::ListRenewalAccounts => Permission::ReadCredentials,
            Self::CreateTokenClient | Self::DeleteTokenClient(_) | Self::CreateRenewalAccount | Self::DeleteRenewalAccount(_) => Permission::ManageCredentials,
            Self::CreateKey | Self::EditKey(_) | Self::RevokeKey(_) | Self::RegenerateKey(_) => Permission::ManageKeys,
            Self::RotateClientSecret(_) => Permission::RotateClientSecret,
            Self::Audit => Permission::ReadAudit,
            Self::ListTokens => Permission::ReadTokens,
            Self::CreateToken | Self::DeleteToken(_) => Permission::ManageTokens,
        }
    }

    /// The method and the path template `openapi.json` documents the route
    /// under (one per variant: the description is checked against it).
    pub const fn template(&self) -> (&'static str, &'static str) {
        match self {
            Self::Healthz => ("get", "/healthz"),
            Self::Readyz => ("get", "/readyz"),
            Self::Metrics => ("get", "/metrics"),
            Self::Console(_) => ("get", "/ui/{file}"),
            Self::Session => ("get", "/session"),
            Self::OpenApi => ("get", "/openapi.json"),
            Self::Config => ("get", "/config"),
            Self::Reload => ("post", "/reload"),
            Self::KeyRecords => ("get", "/keys"),
            Self::PutKeyRecord(_) => ("put", "/keys/{id}"),
            Self::DeleteKeyRecord(_) => ("delete", "/keys/{id}"),
            Self::ReleaseIdempotency => ("post", "/idempotency/{environment}/{keyId}/{key}/release"),
            Self::SetClock => ("put", "/clock"),
            Self::ResetClock => ("delete", "/clock"),
            Self::CreateKey => ("post", "/lifecycle/keys"),
            Self::ListKeys => ("get", "/lifecycle/keys"),
            Self::GetKey(_) => ("get", "/lifecycle/keys/{id}"),
            Self::EditKey(_) => ("patch", "/lifecycle/keys/{id}"),
            Self::RevokeKey(_) => ("post", "/lifecycle/keys/{id}/revoke"),
            Self::RegenerateKey(_) => ("post", "/lifecycle/keys/{id}/regenerate"),
            Self::RotateClientSecret(_) => ("post", "/lifecycle/client-secrets/{environment}/rotate"),
            Self::Audit => ("get", "/lifecycle/audit"),
            Self::ListTokens => ("get", "/admin-tokens"),
            Self::CreateToken => ("post", "/admin-tokens"),
            Self::DeleteToken(_) => ("delete", "/admin-tokens/{name}"),
            Self::KeyTraffic(_) => ("get", "/lifecycle/keys/{id}/traffic"),
            Self::ListTokenClients => ("get", "/lifecycle/token-clients"),
            Self::CreateTokenClient => ("post", "/lifecycle/token-clients"),
            Self::DeleteTokenClient(_) => ("delete", "/lifecycle/token-clients/{id}"),
            Self::ListRenewalAccounts => ("get", "/lifecycle/renewal-accounts"),
            Self::CreateRenewalAccount => ("post", "/lifecycle/renewal-accounts"),
            Self::DeleteRenewalAccount(_) => ("delete", "/lifecycle/renewal-accounts/{codeUrl}"),
        }
    }

    /// The body the route reads.
    pub const fn body(&self) -> BodyKind {
        match self {
            Self::PutKeyRecord(_) | Self::CreateKey | Self::EditKey(_) | Self::RegenerateKey(_) | Self::CreateToken | Self::CreateTokenClient | Self::CreateRenewalAccount => BodyKind::Json,
            Self::SetClock => BodyKind::Text,
            _ => BodyKind::None,
        }
    }

    /// Whether the route changes state (its `Origin` is checked).
    pub fn changes_state(method: &Method) -> bool {
        !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One route of every variant (a variant missing here fails
    /// `every_route_is_documented_and_every_documented_path_is_routed`'s count).
    fn every_route() -> Vec<Route> {
        let id = || "x".to_owned();
        vec![
            Route::Healthz,
            Route::Readyz,
            Route::Metrics,
            Route::Console(id()),
            Route::Session,
            Route::OpenApi,
            Route::Config,
            Route::Reload,
            Route::KeyRecords,
            Route::PutKeyRecord(id()),
            Route::DeleteKeyRecord(id()),
            Route::ReleaseIdempotency,
            Route::SetClock,
            Route::ResetClock,
            Route::CreateKey,
            Route::ListKeys,
            Route::GetKey(id()),
            Route::EditKey(id()),
            Route::RevokeKey(id()),
            Route::RegenerateKey(id()),
            Route::RotateClientSecret(id()),
            Route::Audit,
            Route::ListTokens,
            Route::CreateToken,
            Route::DeleteToken(id()),
            Route::KeyTraffic(id()),
            Route::ListTokenClients,
            Route::CreateTokenClient,
            Route::DeleteTokenClient(id()),
            Route::ListRenewalAccounts,
            Route::CreateRenewalAccount,
            Route::DeleteRenewalAccount(id()),
        ]
    }

    #[test]
    fn every_route_is_documented_and_every_documented_path_is_routed() {
        let doc: serde_json::Value = serde_json::from_str(crate::console::OPENAPI).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut documented = std::collections::BTreeSet::new();
        for (path, operations) in doc["paths"].as_object().unwrap() {
            for (method, operation) in operations.as_object().unwrap() {
                // Substitute every {parameter} with a sample segment and route it.
                let sample: String = path.split('/').map(|s| if s.starts_with('{') { "sample" } else { s }).collect::<Vec<_>>().join("/");
                let parsed = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
                let Routing::Found(route) = Route::of(&parsed, &sample) else { panic!("{method} {path} is documented and not routed") };
                assert_eq!(route.template(), (method.as_str(), path.as_str()), "{method} {path} routes to {route:?}");
                let permission = format!("{:?}", route.permission());
                assert_eq!(operation["x-payseal-permission"].as_str(), Some(permission.as_str()), "{method} {path}");
                assert_eq!(operation.get("security").is_some(), route.permission() == Permission::Public, "{method} {path}: security");
                documented.insert((method.clone(), path.clone()));
            }
        }
        let routes = every_route();
        let templates: std::collections::BTreeSet<(String, String)> = routes.iter().map(|r| (r.template().0.to_owned(), r.template().1.to_owned())).collect();
        assert_eq!(templates.len(), routes.len(), "one template per variant");
        assert_eq!(templates, documented, "routed and documented differ");
    }

    #[test]
    fn paths_route_with_their_parameters() {
        let found = |m: Method, p: &str| match Route::of(&m, p) {
            Routing::Found(r) => r,
            other => panic!("{m} {p}: {other:?}"),
        };
        assert_eq!(found(Method::GET, "/lifecycle/keys/key_1"), Route::GetKey("key_1".into()));
        assert_eq!(found(Method::POST, "/lifecycle/keys/key_1/regenerate"), Route::RegenerateKey("key_1".into()));
        assert_eq!(found(Method::POST, "/lifecycle/client-secrets/live/rotate"), Route::RotateClientSecret("live".into()));
        assert_eq!(found(Method::DELETE, "/admin-tokens/ops"), Route::DeleteToken("ops".into()));
        assert_eq!(found(Method::GET, "/lifecycle/keys/key_1/traffic"), Route::KeyTraffic("key_1".into()));
        assert_eq!(found(Method::DELETE, "/lifecycle/token-clients/shop"), Route::DeleteTokenClient("shop".into()));
        assert_eq!(found(Method::DELETE, "/lifecycle/renewal-accounts/ABC"), Route::DeleteRenewalAccount("ABC".into()));
        assert_eq!(Route::of(&Method::POST, "/lifecycle/keys/key_1/traffic"), Routing::MethodNotAllowed);
        assert_eq!(Route::of(&Method::GET, "/lifecycle/token-clients/shop"), Routing::MethodNotAllowed);
        assert_eq!(Route::of(&Method::PUT, "/lifecycle/renewal-accounts"), Routing::MethodNotAllowed);
        assert_eq!(found(Method::POST, "/idempotency/live/k/row%2F1/release"), Route::ReleaseIdempotency);
        assert_eq!(Route::of(&Method::POST, "/lifecycle/keys/key_1"), Routing::MethodNotAllowed);
        assert_eq!(Route::of(&Method::GET, "/admin-tokens/ops"), Routing::MethodNotAllowed);
        assert_eq!(Route::of(&Method::GET, "/lifecycle/keys/"), Routing::MethodNotAllowed);
        assert_eq!(Route::of(&Method::GET, "/nope"), Routing::NotFound);
        assert_eq!(found(Method::GET, "/ui"), Route::Console(String::new()));
        assert_eq!(found(Method::GET, "/ui/"), Route::Console("/".into()));
        assert_eq!(found(Method::GET, "/ui/console.js"), Route::Console("/console.js".into()));
        assert_eq!(Route::of(&Method::POST, "/ui/"), Routing::MethodNotAllowed);
        assert_eq!(Route::of(&Method::GET, "/lifecycle/keys/a/b/c"), Routing::NotFound);
    }

    #[test]
    fn only_probes_are_public() {
        assert_eq!(Route::Healthz.permission(), Permission::Public);
        assert_eq!(Route::Readyz.permission(), Permission::Public);
        for route in [Route::Session, Route::Config, Route::CreateKey, Route::Audit, Route::ListTokens, Route::SetClock, Route::KeyRecords] {
            assert_ne!(route.permission(), Permission::Public, "{route:?}");
        }
    }
}
