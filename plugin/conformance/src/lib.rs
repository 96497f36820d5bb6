//! The one case translator of the plugin's conformance runners.
//!
//! It reads every file of `tests/vectors/` (at run time) and turns each case
//! into a **plan case**: the plugin configuration the case needs (its
//! secrets, keys and policy go there, never into a call), and the calls to
//! make with what each must answer. The Rust host runs the plan directly;
//! `payseal-plugin-plan` writes it as JSON for the JavaScript and Python
//! hosts, so the three hosts share the mapping as data and differ only in
//! how they call the plugin.
//!
//! A case whose `op`, scheme or field this translator does not know becomes
//! a plan case with an `error`: every host counts it as a failure.
//!
//! Every plan case with a body in a call is planned twice: as the vectors
//! give it (the body in the JSON input) and as its **framed variant** (id
//! suffixed ` [framed]`), which sends the same bodies in the plugin's framed
//! input (`payseal_plugin::frame`). Each host frames the calls itself, so
//! both input forms run in every host against the same expectations.
//!
//! # Plan format
//!
//! ```text
//! { "format": "payseal-plugin-plan/2",
//!   "cases": [ { "id": "<file> / <case name>" | "<file> / <case name> [framed]",
//!                "config": { …the manifest's "payseal" document… },
//!                "steps": [ { "kind": "call" | "idempotent" | "finish",
//!                             "function": "<export>", "input": {…}, "expect": {…},
//!                             "framed_body_base64"?: "<standard base64 of the body>" } ],
//!                "error": null | "<why the case cannot be expressed>" } ],
//!   "canary": { "id", "forbidden": [<strings>], "config", "bad_config",
//!               "calls": [ { "function", "input": "<raw input text>" } ] } }
//! ```
//!
//! A runner creates one plugin instance per case with
//! `config = {"payseal": JSON.stringify(case.config)}` and runs the steps in
//! order against one empty store (a map from storage key to record):
//! - `call`: call `function` with `input`.
//! - `idempotent`: call; when the outcome is `lookup`, call again with
//!   `input.idempotency = {"storage_key": out.storage_key, "record": store[out.storage_key] ?? null}`.
//!   When the outcome is `execute` with `idempotency`, set
//!   `store[idempotency.storage_key] = idempotency.claim` and remember that claim.
//! - `finish`: only after an `idempotent` step that executed: call
//!   `finish_request` with `input` plus `claim` (the remembered record); on
//!   `{"action":"store"}` replace the stored record, on `release` delete it.
//!
//! A step with `framed_body_base64` sends **every** call it makes (the
//! `idempotent` step's second call with `input.idempotency` too, the
//! `finish` call with `claim` added) as a frame: the 4 bytes `00 70 73 66`,
//! the length of the input's JSON text as a big-endian u32, that JSON text,
//! then the raw body (the field's decoded bytes, possibly none). Its `input`
//! has no body fields: the body is the one in the frame. A step without the
//! field sends `input` as JSON text, as in format 1.
//!
//! After each call, every field of `expect` must equal the same field of the
//! output (deep equality); an error returned by the call fails the step.
//!
//! The `canary` check counts as one more case: make every call of `calls`
//! (raw input text) on one instance of `config`, call `describe` on an
//! instance of `bad_config`; no output, error message or log line of the
//! plugin may contain a `forbidden` string. Outputs and errors must both occur.

pub mod canary;
pub mod workload;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use payseal_plugin::frame;
use serde_json::{Map, Value, json};

/// The plan format's name and version. Version 2 added framed steps
/// (`framed_body_base64`); a runner of version 1 would send their inputs
/// without their bodies.
pub const FORMAT: &str = "payseal-plugin-plan/2";

/// What a framed variant's id ends with.
pub const FRAMED_SUFFIX: &str = " [framed]";

/// The name every plan case gives its one configured verifier, signer or opener.
const NAME: &str = "case";

/// The first `now` of an idempotency case; step `i` runs at `IDEMPOTENCY_NOW + i`,
/// as the native runner does.
const IDEMPOTENCY_NOW: u64 = 1_719_500_000;

/// Fields of a case that are not inputs.
const NOT_INPUTS: [&str; 4] = ["name", "op", "expected", "note"];

/// Fields of an idempotency step.
const STEP_FIELDS: [&str; 8] = ["key", "method", "path", "body", "environment", "key_id", "expected", "finish"];

/// Fields of a keys `check` request.
const REQUEST_FIELDS: [&str; 6] = ["api_key", "method", "path", "client_ip", "webcode", "now"];

/// Every field of `expect` equals the output's.
fn compare(expect: &Value, output: &Value) -> Result<(), String> {
    let Some(expect) = expect.as_object() else { return Err("expect is not an object".into()) };
    for (field, want) in expect {
        let got = output.get(field).unwrap_or(&Value::Null);
        if got != want {
            return Err(format!("{field}: expected {want}, got {got}"));
        }
    }
    Ok(())
}

/// Calls `function` with `input` as JSON text, or framed with `body`.
fn call_step<H: PlanHost>(host: &mut H, function: &str, input: &Value, body: Option<&[u8]>) -> Result<Value, String> {
    let bytes = match body {
        // The JSON is serialized straight into the frame, as a host would.
        Some(body) => frame::encode_with(body, |buffer| serde_json::to_writer(buffer, input))
            .map_err(|e| format!("{function}: the input cannot be framed: {e}"))?,
        None => input.to_string().into_bytes(),
    };
    host.call(function, &bytes).map_err(|e| format!("{function} failed: {e}"))
}

/// A step's framed body: the decoded `framed_body_base64`, `None` without it.
fn framed_body(step: &Value) -> Result<Option<Vec<u8>>, String> {
    match step.get("framed_body_base64") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(encoded)) => {
            BASE64.decode(encoded).map(Some).map_err(|e| format!("framed_body_base64 is not standard base64: {e}"))
        }
        Some(_) => Err("framed_body_base64 is not a string".into()),
    }
}

/// One plugin instance of a plan case, in whatever host runs it.
pub trait PlanHost {
    /// Calls `function` with `input`: the output parsed as JSON, or the
    /// call's error message.
    ///
    /// # Errors
    /// The call failed or its output is not JSON.
    fn call(&mut self, function: &str, input: &[u8]) -> Result<Value, String>;
}

/// Runs a plan case's steps, as the format above says, on the instance
/// `instantiate` makes for the case's configuration, against one fresh store.
///
/// # Errors
/// The first step that failed, or the case's own `error`.
pub fn run_case<H: PlanHost>(case: &Value, instantiate: impl FnOnce(&Value) -> H) -> Result<(), String> {
    if let Some(error) = case["error"].as_str() {
        return Err(error.to_owned());
    }
    let mut plugin = instantiate(&case["config"]);
    let mut store: BTreeMap<String, Value> = BTreeMap::new();
    let mut claim: Option<(String, Value)> = None;
    let steps = case["steps"].as_array().ok_or("case has no steps")?;
    for (i, step) in steps.iter().enumerate() {
        let function = step["function"].as_str().ok_or("step has no function")?;
        let mut input = step["input"].clone();
        let body = framed_body(step).map_err(|e| format!("step {i}: {e}"))?;
        let body = body.as_deref();
        let output = match step["kind"].as_str() {
            Some("call") => call_step(&mut plugin, function, &input, body)?,
            Some("idempotent") => {
                claim = None;
                let mut output = call_step(&mut plugin, function, &input, body)?;
                if output["outcome"] == "lookup" {
                    let key = output["storage_key"].as_str().ok_or("lookup without storage_key")?.to_owned();
                    let record = store.get(&key).cloned().unwrap_or(Value::Null);
                    input["idempotency"] = json!({ "storage_key": key, "record": record });
                    output = call_step(&mut plugin, function, &input, body)?;
                }
                if output["outcome"] == "execute" && output["idempotency"].is_object() {
                    let key = output["idempotency"]["storage_key"].as_str().ok_or("claim without storage_key")?;
                    let record = output["idempotency"]["claim"].clone();
                    store.insert(key.to_owned(), record.clone());
                    claim = Some((key.to_owned(), record));
                }
                output
            }
            Some("finish") => {
                let Some((key, record)) = claim.take() else { continue };
                input["claim"] = record;
                let output = call_step(&mut plugin, function, &input, body)?;
                match output["action"].as_str() {
                    Some("store") => {
                        store.insert(key, output["record"].clone());
                    }
                    Some("release") => {
                        store.remove(&key);
                    }
                    _ => return Err(format!("step {i}: finish_request answered {output}")),
                }
                output
            }
            other => return Err(format!("step {i}: unknown step kind {other:?}")),
        };
        compare(&step["expect"], &output).map_err(|e| format!("step {i}: {e}"))?;
    }
    Ok(())
}

/// The vectors directory: `$PAYSEAL_VECTORS`, else `tests/vectors` of the workspace.
pub fn vectors_dir() -> PathBuf {
    std::env::var_os("PAYSEAL_VECTORS")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors"), PathBuf::from)
}

/// The plan of every case of every `*.json` file in `dir`, files in name order.
///
/// # Errors
/// The directory cannot be read. A file that cannot be read or parsed
/// becomes one failing plan case, not an error.
pub fn plan(dir: &Path) -> Result<Value, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut planned = Vec::new();
    for path in &files {
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let file = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<Value>(&t).map_err(|e| e.to_string()));
        match file {
            Ok(file) => planned.extend(file_cases(&file_name, &file)),
            Err(e) => planned.push(failed(&file_name, "<file>", &format!("unreadable: {e}"))),
        }
    }
    let mut cases = Vec::with_capacity(planned.len() * 2);
    for case in planned {
        let variant = framed(&case);
        cases.push(case);
        cases.extend(variant);
    }
    if cases.is_empty() {
        cases.push(failed("<vectors>", "<none>", &format!("no vector files in {}", dir.display())));
    }
    Ok(json!({ "format": FORMAT, "cases": cases, "canary": canary::plan() }))
}

/// The framed variant of a plan case, `None` when no call of it carries a
/// body (`body` or `body_base64` of the input; of `input.response` for
/// `finish_request`). Every step with one moves it, as raw bytes in
/// standard base64, to `framed_body_base64`; config and expectations are
/// the case's.
fn framed(case: &Value) -> Option<Value> {
    if !case["error"].is_null() {
        return None;
    }
    let mut variant = case.clone();
    let mut framed_steps = 0usize;
    for step in variant["steps"].as_array_mut()? {
        let finish = step["function"] == "finish_request";
        let input = step.get_mut("input").and_then(Value::as_object_mut);
        let fields = if finish { input.and_then(|i| i.get_mut("response")).and_then(Value::as_object_mut) } else { input };
        let Some(fields) = fields else { continue };
        let Some(body) = body_of(fields) else { continue };
        fields.remove("body");
        fields.remove("body_base64");
        step["framed_body_base64"] = json!(BASE64.encode(body));
        framed_steps += 1;
    }
    variant["id"] = json!(format!("{}{FRAMED_SUFFIX}", case["id"].as_str().unwrap_or_default()));
    (framed_steps > 0).then_some(variant)
}

/// The raw body of an input's body fields: `body` as UTF-8 bytes or
/// `body_base64` decoded; `None` for none (absent or `null`), both, or
/// base64 the plugin would refuse (such a call stays plain JSON).
fn body_of(fields: &Map<String, Value>) -> Option<Vec<u8>> {
    let text = fields.get("body").and_then(Value::as_str);
    let encoded = fields.get("body_base64").and_then(Value::as_str);
    match (text, encoded) {
        (Some(text), None) => Some(text.as_bytes().to_vec()),
        (None, Some(encoded)) => BASE64.decode(encoded).ok(),
        _ => None,
    }
}

fn failed(file: &str, name: &str, why: &str) -> Value {
    json!({ "id": format!("{file} / {name}"), "config": {}, "steps": [], "error": why })
}

fn file_cases(file_name: &str, file: &Value) -> Vec<Value> {
    let scheme = file["scheme"].as_str().unwrap_or_default();
    let Some(cases) = file["cases"].as_array().filter(|c| !c.is_empty()) else {
        return vec![failed(file_name, "<cases>", "file has no cases")];
    };
    let known_file_fields = ["scheme", "spec", "generated_by", "set", "cases", "policy", "records"];
    if let Some(extra) = file.as_object().and_then(|o| o.keys().find(|k| !known_file_fields.contains(&k.as_str())))
    {
        return vec![failed(file_name, "<file>", &format!("translator does not understand file field {extra:?}"))];
    }
    cases
        .iter()
        .map(|raw| {
            let case = Case::new(raw);
            let name = case.name().to_owned();
            match translate(scheme, file, &case).and_then(|planned| case.check_all_used().map(|()| planned)) {
                Ok((config, steps)) => json!({
                    "id": format!("{file_name} / {name}"),
                    "config": config,
                    "steps": steps,
                    "error": null,
                }),
                Err(why) => failed(file_name, &name, &why),
            }
        })
        .collect()
}

/// One vector case, recording which input fields were read.
struct Case<'a> {
    raw: &'a Value,
    used: std::cell::RefCell<BTreeSet<String>>,
}

impl<'a> Case<'a> {
    fn new(raw: &'a Value) -> Self {
        Self { raw, used: std::cell::RefCell::new(BTreeSet::new()) }
    }

    fn name(&self) -> &str {
        self.raw["name"].as_str().unwrap_or("<unnamed>")
    }

    fn op(&self) -> Result<&str, String> {
        self.raw["op"].as_str().ok_or_else(|| "case has no op".to_owned())
    }

    /// An input field, marked as read; absent is `null`.
    fn get(&self, field: &str) -> &'a Value {
        self.used.borrow_mut().insert(field.to_owned());
        self.raw.get(field).unwrap_or(&Value::Null)
    }

    fn has(&self, field: &str) -> bool {
        self.raw.get(field).is_some()
    }

    fn str(&self, field: &str) -> Result<&'a str, String> {
        self.get(field).as_str().ok_or_else(|| format!("field {field:?} is not a string"))
    }

    fn u64(&self, field: &str) -> Result<u64, String> {
        self.get(field).as_u64().ok_or_else(|| format!("field {field:?} is not an unsigned integer"))
    }

    /// A string or `null`.
    fn opt_str(&self, field: &str) -> Result<Value, String> {
        match self.get(field) {
            v @ (Value::Null | Value::String(_)) => Ok(v.clone()),
            _ => Err(format!("field {field:?} is not a string or null")),
        }
    }

    /// A list of strings under `plural`, or one string under `singular`.
    fn strings(&self, plural: &str, singular: &str) -> Result<Vec<Value>, String> {
        if self.has(plural) {
            let list = self.get(plural).as_array().ok_or_else(|| format!("{plural:?} is not a list"))?;
            if list.iter().all(Value::is_string) {
                Ok(list.clone())
            } else {
                Err(format!("{plural:?} holds a non-string"))
            }
        } else if self.has(singular) {
            Ok(vec![Value::String(self.str(singular)?.to_owned())])
        } else {
            Err(format!("case has neither {plural:?} nor {singular:?}"))
        }
    }

    /// An object whose values are strings.
    fn string_map(&self, field: &str) -> Result<Value, String> {
        let map = self.get(field).as_object().ok_or_else(|| format!("{field:?} is not an object"))?;
        if map.values().all(Value::is_string) {
            Ok(Value::Object(map.clone()))
        } else {
            Err(format!("{field:?} holds a non-string value"))
        }
    }

    fn expected(&self) -> Result<&'a Map<String, Value>, String> {
        self.raw["expected"].as_object().ok_or_else(|| "case has no expected object".to_owned())
    }

    fn check_all_used(&self) -> Result<(), String> {
        let used = self.used.borrow();
        let unused: Vec<&String> = self
            .raw
            .as_object()
            .map(|o| o.keys().filter(|k| !NOT_INPUTS.contains(&k.as_str()) && !used.contains(k.as_str())).collect())
            .unwrap_or_default();
        if unused.is_empty() { Ok(()) } else { Err(format!("translator does not understand field(s) {unused:?}")) }
    }
}

type Planned = (Value, Vec<Value>);

fn translate(scheme: &str, file: &Value, case: &Case<'_>) -> Result<Planned, String> {
    match (scheme, case.op()?) {
        ("dvpay" | "stripe" | "standard_webhooks" | "cybersource", "verify") => verify(scheme, case),
        ("rfc9421", "verify") => verify_rfc9421(case),
        ("dvpay" | "stripe" | "standard_webhooks" | "cybersource" | "rfc9421", "sign") => sign(scheme, case),
        ("redirect", "open") => open(case),
        ("keys", "check") => check(file, case),
        ("idempotency", "idempotency") => idempotency(case),
        (scheme, op) => Err(format!("translator does not know op {op:?} of scheme {scheme:?}")),
    }
}

fn call(function: &str, input: Value, expect: Value) -> Value {
    let mut step = Map::new();
    step.insert("kind".into(), json!("call"));
    step.insert("function".into(), json!(function));
    step.insert("input".into(), input);
    step.insert("expect".into(), expect);
    Value::Object(step)
}

/// The case's `expected` in the plugin's output names: `error` is the
/// output's `reason`; RFC 9421 fields are `snake_case`. Other fields keep
/// their names, so an expectation the plugin does not produce fails.
fn expect(case: &Case<'_>) -> Result<Value, String> {
    let renamed = case
        .expected()?
        .iter()
        .map(|(k, v)| {
            let k = match k.as_str() {
                "error" => "reason",
                "keyid" => "key_id",
                "signature-input" => "signature_input",
                "content-digest" => "content_digest",
                other => other,
            };
            (k.to_owned(), v.clone())
        })
        .collect();
    Ok(Value::Object(renamed))
}

fn verify(scheme: &str, case: &Case<'_>) -> Result<Planned, String> {
    let tolerance = case.u64("tolerance")?;
    let secrets = case.strings("secrets", "secret")?;
    let mut input = json!({ "webhook": NAME, "now": case.u64("now")?, "body": case.opt_str("body")? });
    let webhook = match scheme {
        "dvpay" => {
            input["headers"] = json!({ "X-Timestamp": case.str("timestamp")?, "X-Signature": case.str("signature")? });
            json!({ "scheme": "dvpay", "secrets": secrets, "tolerance": tolerance })
        }
        "stripe" => {
            input["headers"] = json!({ "Stripe-Signature": case.str("header")? });
            json!({ "scheme": "stripe", "secrets": secrets, "tolerance": tolerance })
        }
        "standard_webhooks" => {
            input["headers"] = case.string_map("headers")?;
            json!({ "scheme": "standard_webhooks", "secrets": secrets, "tolerance": tolerance })
        }
        _ => {
            let key_id = case.str("keyId")?;
            let keys: Vec<Value> = secrets.iter().map(|s| json!({ "key_id": key_id, "secret": s })).collect();
            let mut headers = vec![
                json!(["host", case.str("host")?]),
                json!(["date", case.str("date")?]),
                json!(["v-c-merchant-id", case.str("merchantId")?]),
                json!(["signature", case.str("signature")?]),
            ];
            match case.opt_str("digest")? {
                Value::Null => {}
                digest => headers.push(json!(["digest", digest])),
            }
            input["headers"] = Value::Array(headers);
            input["method"] = json!(case.str("method")?);
            input["target"] = json!(case.str("target")?);
            json!({ "scheme": "cybersource", "keys": keys, "tolerance": tolerance })
        }
    };
    let config = json!({ "webhooks": { NAME: webhook } });
    Ok((config, vec![call("verify_webhook", input, expect(case)?)]))
}

fn verify_rfc9421(case: &Case<'_>) -> Result<Planned, String> {
    let required = case.get("required");
    if !required.as_array().is_some_and(|r| r.iter().all(Value::is_string)) {
        return Err("\"required\" is not a list of strings".into());
    }
    let webhook = json!({
        "scheme": "rfc9421",
        "keys": case.string_map("keys")?,
        "required": required,
        "tolerance": case.u64("tolerance")?,
    });
    let input = json!({
        "webhook": NAME,
        "now": case.u64("now")?,
        "method": case.str("method")?,
        "url": case.str("url")?,
        "headers": case.string_map("headers")?,
        "body": case.opt_str("body")?,
    });
    Ok((json!({ "webhooks": { NAME: webhook } }), vec![call("verify_webhook", input, expect(case)?)]))
}

fn sign(scheme: &str, case: &Case<'_>) -> Result<Planned, String> {
    let secret = case.str("secret")?;
    let mut input = json!({ "signer": NAME, "body": case.opt_str("body")? });
    let signer = match scheme {
        "dvpay" | "stripe" => {
            input["now"] = json!(case.u64("timestamp")?);
            json!({ "scheme": scheme, "secret": secret })
        }
        "standard_webhooks" => {
            input["now"] = json!(case.u64("timestamp")?);
            input["id"] = json!(case.str("id")?);
            json!({ "scheme": scheme, "secret": secret })
        }
        "cybersource" => {
            input["method"] = json!(case.str("method")?);
            input["target"] = json!(case.str("target")?);
            input["date"] = json!(case.str("date")?);
            json!({
                "scheme": "cybersource",
                "secret": secret,
                "key_id": case.str("keyId")?,
                "merchant_id": case.str("merchantId")?,
                "host": case.str("host")?,
            })
        }
        _ => {
            input["method"] = json!(case.str("method")?);
            input["url"] = json!(case.str("url")?);
            input["headers"] = case.string_map("headers")?;
            input["label"] = json!(case.str("label")?);
            input["components"] = case.get("components").clone();
            input["params"] = case.get("params").clone();
            json!({ "scheme": "rfc9421", "secret": secret })
        }
    };
    Ok((json!({ "signers": { NAME: signer } }), vec![call("sign_request", input, expect(case)?)]))
}

fn open(case: &Case<'_>) -> Result<Planned, String> {
    let opener = json!({
        "environment": case.str("environment")?,
        "profile": case.str("profile")?,
        "kdf": case.str("kdf")?,
        "secret": case.str("secret")?,
    });
    let input = json!({ "redirect": NAME, "token": case.str("token")?, "now": case.u64("now")? });
    Ok((json!({ "redirect": { NAME: opener } }), vec![call("open_redirect", input, expect(case)?)]))
}

fn check(file: &Value, case: &Case<'_>) -> Result<Planned, String> {
    let request = case.get("request").as_object().ok_or("request is not an object")?;
    if let Some(extra) = request.keys().find(|k| !REQUEST_FIELDS.contains(&k.as_str())) {
        return Err(format!("translator does not understand request field {extra:?}"));
    }
    let text = |f: &str| match request.get(f).unwrap_or(&Value::Null) {
        v @ (Value::Null | Value::String(_)) => Ok(v.clone()),
        _ => Err(format!("request.{f} is not a string or null")),
    };
    let mut headers = Map::new();
    if let Value::String(key) = text("api_key")? {
        headers.insert("X-Api-Key".into(), Value::String(key));
    }
    let input = json!({
        "now": request.get("now").and_then(Value::as_u64).ok_or("request.now missing")?,
        "method": text("method")?,
        "path": text("path")?,
        "client_ip": text("client_ip")?,
        "webcode": text("webcode")?,
        "headers": headers,
    });
    let config = json!({ "keys": { "policy": file["policy"], "records": file["records"] } });
    Ok((config, vec![call("check_request", input, expect(case)?)]))
}

fn idempotency(case: &Case<'_>) -> Result<Planned, String> {
    let steps = case.get("steps").as_array().ok_or("steps is not a list")?;
    if steps.is_empty() {
        return Err("case has no steps".into());
    }
    let mut planned = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let fields = step.as_object().ok_or_else(|| format!("step {i} is not an object"))?;
        if let Some(extra) = fields.keys().find(|k| !STEP_FIELDS.contains(&k.as_str())) {
            return Err(format!("step {i}: translator does not understand field {extra:?}"));
        }
        let text = |f: &str| step[f].as_str().map(str::to_owned).ok_or_else(|| format!("step {i}: {f} is not a string"));
        let input = json!({
            "now": IDEMPOTENCY_NOW + i as u64,
            "key": text("key")?,
            "method": text("method")?,
            "path": text("path")?,
            "body": text("body")?,
            "environment": text("environment")?,
            "key_id": text("key_id")?,
        });
        let expected = step["expected"].as_object().ok_or_else(|| format!("step {i}: no expected"))?;
        planned.push(json!({
            "kind": "idempotent",
            "function": "decide_idempotency",
            "input": input,
            "expect": expected,
        }));
        match &step["finish"] {
            Value::Null => {}
            finish => {
                let status = finish["status"].as_u64().ok_or_else(|| format!("step {i}: finish has no numeric status"))?;
                if finish.as_object().is_some_and(|f| f.len() != 1) {
                    return Err(format!("step {i}: translator understands only finish.status"));
                }
                planned.push(json!({
                    "kind": "finish",
                    "function": "finish_request",
                    "input": { "response": { "status": status, "headers": [], "body": "{}" } },
                    "expect": {},
                }));
            }
        }
    }
    Ok((json!({ "idempotency": {} }), planned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_public_case_translates() {
        let plan = plan(&vectors_dir()).unwrap();
        let cases = plan["cases"].as_array().unwrap();
        assert!(cases.len() > 100, "{}", cases.len());
        for case in cases {
            assert!(case["error"].is_null(), "{}: {}", case["id"], case["error"]);
        }
    }

    #[test]
    fn every_case_with_a_body_has_a_framed_variant() {
        let plan = plan(&vectors_dir()).unwrap();
        let cases = plan["cases"].as_array().unwrap();
        let framed: Vec<&Value> = cases.iter().filter(|c| c["id"].as_str().unwrap().ends_with(FRAMED_SUFFIX)).collect();
        assert!(framed.len() > 50, "{}", framed.len());
        for variant in &framed {
            let id = variant["id"].as_str().unwrap().strip_suffix(FRAMED_SUFFIX).unwrap();
            let original = cases.iter().find(|c| c["id"] == id).unwrap();
            assert_eq!((&original["config"], original["steps"].as_array().unwrap().len()), (&variant["config"], variant["steps"].as_array().unwrap().len()));
            for step in variant["steps"].as_array().unwrap() {
                let input = if step["function"] == "finish_request" { &step["input"]["response"] } else { &step["input"] };
                if step.get("framed_body_base64").is_some() {
                    assert!(input.get("body").is_none() && input.get("body_base64").is_none(), "{step}");
                }
            }
        }
        // Both kinds of idempotency step frame their bodies.
        let idempotency = framed.iter().find(|c| c["id"].as_str().unwrap().starts_with("idempotency.json")).unwrap();
        let steps = idempotency["steps"].as_array().unwrap();
        assert!(steps.iter().all(|s| s["framed_body_base64"].is_string()), "{idempotency}");
        // The keys cases carry no body, so they have no variant.
        assert!(!framed.iter().any(|c| c["id"].as_str().unwrap().starts_with("keys.json")));
    }

    #[test]
    fn a_framed_variant_moves_the_body_and_keeps_the_rest() {
        let case = json!({ "id": "f / c", "config": { "a": 1 }, "error": null, "steps": [
            { "kind": "call", "function": "verify_webhook", "input": { "now": 1, "body": "hé" }, "expect": { "ok": true } },
            { "kind": "call", "function": "sign_request", "input": { "body_base64": "AP8=" }, "expect": {} },
            { "kind": "call", "function": "sign_request", "input": { "body": null }, "expect": {} },
            { "kind": "finish", "function": "finish_request", "input": { "response": { "status": 201, "body": "" } }, "expect": {} },
        ]});
        let variant = framed(&case).unwrap();
        assert_eq!(variant["id"], "f / c [framed]");
        assert_eq!(variant["config"], case["config"]);
        let steps = &variant["steps"];
        assert_eq!(steps[0], json!({ "kind": "call", "function": "verify_webhook", "input": { "now": 1 }, "expect": { "ok": true }, "framed_body_base64": "aMOp" }));
        assert_eq!((&steps[1]["input"], &steps[1]["framed_body_base64"]), (&json!({}), &json!("AP8=")));
        assert_eq!(steps[2], case["steps"][2]);
        assert_eq!((&steps[3]["input"], &steps[3]["framed_body_base64"]), (&json!({ "response": { "status": 201 } }), &json!("")));
        let no_body = json!({ "id": "k", "config": {}, "error": null, "steps": [case["steps"][2]] });
        assert_eq!(framed(&no_body), None);
    }

    /// A host that records what it was sent and answers `lookup`.
    struct Recorder<'a>(&'a mut Vec<Vec<u8>>);

    impl PlanHost for Recorder<'_> {
        fn call(&mut self, _: &str, input: &[u8]) -> Result<Value, String> {
            self.0.push(input.to_vec());
            Ok(json!({ "outcome": "lookup", "storage_key": "s" }))
        }
    }

    #[test]
    fn run_case_frames_every_call_of_a_framed_step() {
        let case = json!({ "id": "x", "config": {}, "error": null, "steps": [
            { "kind": "idempotent", "function": "decide_idempotency", "input": { "now": 1 }, "expect": {}, "framed_body_base64": "AP8=" },
            { "kind": "call", "function": "verify_webhook", "input": { "body": "b" }, "expect": {} },
        ]});
        let mut sent = Vec::new();
        run_case(&case, |_| Recorder(&mut sent)).unwrap();
        let mut again = json!({ "now": 1 });
        again["idempotency"] = json!({ "storage_key": "s", "record": null });
        let again = frame::encode(again.to_string().as_bytes(), b"\x00\xff");
        assert_eq!(sent, [frame::encode(br#"{"now":1}"#, b"\x00\xff"), again, br#"{"body":"b"}"#.to_vec()]);
        let bad = json!({ "id": "x", "config": {}, "error": null, "steps": [
            { "kind": "call", "function": "f", "input": {}, "expect": {}, "framed_body_base64": "!" },
        ]});
        assert!(run_case(&bad, |_| Recorder(&mut sent)).unwrap_err().contains("framed_body_base64"));
    }

    #[test]
    fn unknown_ops_and_fields_fail() {
        let file = json!({ "scheme": "stripe", "cases": [
            { "name": "a", "op": "frobnicate", "expected": {} },
            { "name": "b", "op": "sign", "secret": "s", "timestamp": 1, "body": "", "surprise": 1, "expected": {} },
        ]});
        let cases = file_cases("x.json", &file);
        assert!(cases[0]["error"].as_str().unwrap().contains("frobnicate"));
        assert!(cases[1]["error"].as_str().unwrap().contains("surprise"));
    }
}
