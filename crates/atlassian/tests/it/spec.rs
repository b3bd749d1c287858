//! The simulator speaks the API Atlassian publishes: every request the client sends and every
//! answer the simulator gives, through a sync, each action and its refusals, a scoped key, a
//! refused key and rate limits, is checked against `organization-api.json` (a byte-for-byte copy
//! of Atlassian's document of 2026-09-24, in `data/`): the path and method exist, the request
//! body fits its schema, the status is declared, and the answer's body fits its schema.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use atlassian::simulator::{SYNCED_PREFIX, SimOrg, SimSettings, Simulator};
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use model::ids::{AccountId, GroupId};
use model::run::{Change, Op};
use serde_json::{Value, json};
use testkit::{TestDb, backend_tests};

use crate::{KEY, client, now};

backend_tests!(every_exchange_fits_the_published_document);

/// One request and its answer.
#[derive(Debug, Clone)]
struct Exchange {
    method: String,
    path: String,
    request: Vec<u8>,
    status: u16,
    answer: Vec<u8>,
}

/// Atlassian's document, with OpenAPI 3.0's `nullable` turned into JSON Schema's null type.
fn document() -> Value {
    let mut doc: Value = serde_json::from_str(include_str!("data/organization-api.json")).unwrap();
    fn nullable(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if map.get("nullable") == Some(&Value::Bool(true))
                    && let Some(Value::String(kind)) = map.get("type").cloned()
                {
                    map.insert("type".into(), json!([kind, "null"]));
                }
                map.values_mut().for_each(nullable);
            }
            Value::Array(items) => items.iter_mut().for_each(nullable),
            _ => {}
        }
    }
    nullable(&mut doc);
    doc
}

/// What is wrong with `instance` under the schema at `schema` (a `$ref`able subschema).
fn schema_errors(doc: &Value, schema: &Value, instance: &Value) -> Vec<String> {
    let mut root = schema.clone();
    if let Value::Object(map) = &mut root {
        map.insert("components".into(), doc["components"].clone());
    }
    let validator = jsonschema::options().with_draft(jsonschema::Draft::Draft4).build(&root).unwrap();
    validator.iter_errors(instance).map(|e| format!("{e} at {}", e.instance_path())).take(5).collect()
}

/// Follows a `$ref` to `#/components/…`.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference.trim_start_matches("#/").split('/').fold(doc, |node, part| &node[part]),
        None => value,
    }
}

/// The document's path template that `path` (after `/admin`) matches.
fn template<'a>(doc: &'a Value, path: &str) -> Option<&'a str> {
    let segments: Vec<&str> = path.split('/').collect();
    doc["paths"].as_object()?.keys().map(String::as_str).find(|t| {
        let parts: Vec<&str> = t.split('/').collect();
        parts.len() == segments.len()
            && parts.iter().zip(&segments).all(|(p, s)| (p.starts_with('{') && p.ends_with('}')) || p == s)
    })
}

/// Problems of one exchange against the document.
fn check(doc: &Value, x: &Exchange) -> Vec<String> {
    let mut problems = Vec::new();
    let path = x.path.split('?').next().unwrap_or_default();
    let Some(path) = path.strip_prefix("/admin") else { return vec![format!("{path}: not under /admin")] };
    let Some(template) = template(doc, path) else { return vec![format!("{path}: no such path")] };
    let method = x.method.to_lowercase();
    let operation = &doc["paths"][template][&method];
    if operation.is_null() {
        return vec![format!("{method} {template}: no such operation")];
    }
    let at = format!("{} {template}", x.method);
    // A request the simulator refused with 400 may well not fit: that is why it was refused.
    if !x.request.is_empty() && x.status != 400 {
        let body: Value = serde_json::from_slice(&x.request).unwrap_or(Value::Null);
        let schema = &resolve(doc, &operation["requestBody"])["content"]["application/json"]["schema"];
        if schema.is_null() {
            problems.push(format!("{at}: a body where none is described"));
        } else {
            problems.extend(schema_errors(doc, schema, &body).into_iter().map(|e| format!("{at} request: {e}")));
        }
    }
    let declared = &operation["responses"][x.status.to_string()];
    // The gateway answers 401 and 429 on every path, declared or not (NOTES §2.11, §3).
    let gateway = matches!(x.status, 401 | 429);
    if declared.is_null() && !gateway {
        problems.push(format!("{at}: status {} is not declared", x.status));
        return problems;
    }
    let schema = &resolve(doc, declared)["content"]["application/json"]["schema"];
    if !x.answer.is_empty() && !schema.is_null() {
        let body: Value = match serde_json::from_slice(&x.answer) {
            Ok(body) => body,
            Err(e) => return vec![format!("{at} {}: the answer is not JSON: {e}", x.status)],
        };
        let errors = schema_errors(doc, schema, &body);
        let proxy = gateway && body.get("code").is_some() && body.get("message").is_some();
        if !proxy {
            problems.extend(errors.into_iter().map(|e| format!("{at} {}: {e}", x.status)));
        }
    }
    if x.status == 204 && !x.answer.is_empty() {
        problems.push(format!("{at}: 204 with a body"));
    }
    problems
}

/// The simulator, every exchange recorded.
async fn recorded(sim: &Arc<Simulator>) -> (String, Arc<Mutex<Vec<Exchange>>>) {
    let log: Arc<Mutex<Vec<Exchange>>> = Arc::default();
    let kept = log.clone();
    let record = move |request: Request, next: Next| {
        let log = kept.clone();
        async move {
            let (parts, body) = request.into_parts();
            let request_bytes = to_bytes(body, usize::MAX).await.unwrap().to_vec();
            let method = parts.method.to_string();
            let path = parts.uri.to_string();
            let response = next.run(Request::from_parts(parts, Body::from(request_bytes.clone()))).await;
            let (parts, body) = response.into_parts();
            let answer = to_bytes(body, usize::MAX).await.unwrap().to_vec();
            log.lock().unwrap().push(Exchange {
                method,
                path,
                request: request_bytes,
                status: parts.status.as_u16(),
                answer: answer.clone(),
            });
            Response::from_parts(parts, Body::from(answer))
        }
    };
    let router = sim.router().layer(axum::middleware::from_fn(record));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, log)
}

async fn every_exchange_fits_the_published_document(db: TestDb) {
    let sim = Simulator::new(SimOrg::generate(120, now(), 4), SimSettings::new(KEY));
    let (base, log) = recorded(&sim).await;
    let http = webhooks::GuardedClient::new(
        webhooks::AddressPolicy::parse(&["127.0.0.0/8".to_owned()]).unwrap(),
        webhooks::Timeouts::default(),
    )
    .unwrap();
    let organization = atlassian::Organization::new(
        db.store.clone(),
        http,
        webhooks::SealingKey::from_base64(&webhooks::SealingKey::generate()).unwrap(),
        Arc::new(model::clock::ManualClock::new(now())),
        atlassian::OrgSettings { api_base: base.clone(), min_interval: Duration::ZERO },
    );
    let connect = |key: &str, org_id: Option<String>| atlassian::ConnectInput {
        api_key: key.to_owned(),
        key_expires: "2027-06-30".parse().unwrap(),
        key_name: None,
        org_id,
        directory_id: None,
    };
    // A refused key, a scoped key (no org listed; then by id), a sync with 429s on the way.
    assert!(organization.connect(&connect("wrong", None), "test").await.is_err());
    sim.settings().scoped = true;
    assert!(organization.connect(&connect(KEY, None), "test").await.is_err());
    let org_id = sim.org().org_id.clone();
    organization.connect(&connect(KEY, Some(org_id)), "test").await.unwrap();
    sim.settings().scoped = false;
    sim.settings().rate_limit_every = Some(9);
    organization.sync(&|_| {}).await.unwrap();
    sim.settings().rate_limit_every = None;

    // Every action, and each refusal: 409 already, 404 gone, 403 synced group.
    let (user, member_of, other, synced) = {
        let org = sim.org();
        let user = org.users.values().find(|u| u.status() == "active" && !u.org_admin && u.groups.len() >= 2).unwrap();
        let member_of = org.groups.iter().find(|g| g.modifiable && user.groups.contains(&g.id)).unwrap().id.clone();
        let other = org.groups.iter().find(|g| g.modifiable && !user.groups.contains(&g.id)).unwrap().id.clone();
        let synced = org.groups.iter().find(|g| g.name.starts_with(SYNCED_PREFIX)).unwrap().id.clone();
        (user.account_id.clone(), member_of, other, synced)
    };
    let change = |op: Op| Change { account_id: AccountId(user.clone()), op };
    organization
        .apply(&[
            change(Op::AddToGroup(GroupId(other.clone()))),
            change(Op::RemoveFromGroup(GroupId(member_of.clone()))),
            change(Op::Suspend),
            change(Op::Restore),
        ])
        .await
        .unwrap();
    // Another user, changed in Atlassian behind the mirror's back: 409 "already" and 404.
    let (second, joined, left) = {
        let mut org = sim.org();
        let groups: Vec<String> = org.groups.iter().filter(|g| g.modifiable).map(|g| g.id.clone()).collect();
        let second = org
            .users
            .values_mut()
            .find(|u| u.account_id != user && u.status() == "active" && !u.org_admin && !u.groups.is_empty())
            .unwrap();
        let left = groups.iter().find(|g| second.groups.contains(*g)).unwrap().clone();
        let joined = groups.iter().find(|g| !second.groups.contains(*g)).unwrap().clone();
        second.groups.remove(&left);
        second.groups.insert(joined.clone());
        (second.account_id.clone(), joined, left)
    };
    let changed = |op: Op| Change { account_id: AccountId(second.clone()), op };
    organization
        .apply(&[
            changed(Op::AddToGroup(GroupId(joined))),
            changed(Op::RemoveFromGroup(GroupId(left))),
            change(Op::AddToGroup(GroupId(synced))),
        ])
        .await
        .unwrap();
    // A group that became synced from an identity provider since the last sync: 403.
    let turned = {
        let mut org = sim.org();
        let group = org.groups.iter_mut().find(|g| g.modifiable && !g.name.starts_with(SYNCED_PREFIX)).unwrap();
        group.modifiable = false;
        group.id.clone()
    };
    let outsider = {
        let org = sim.org();
        let u = org.users.values().find(|u| u.status() == "active" && !u.org_admin && !u.groups.contains(&turned));
        u.unwrap().account_id.clone()
    };
    let answers = organization
        .apply(&[Change { account_id: AccountId(outsider), op: Op::AddToGroup(GroupId(turned)) }])
        .await
        .unwrap();
    assert!(matches!(answers.as_slice(), [model::run::Applied::Failed(_)]), "{answers:?}");
    // Bodies and limits the client never sends, sent by hand: the simulator's 400s fit too.
    let raw = client(&base, KEY);
    let dir = {
        let org = sim.org();
        format!("/v2/orgs/{}/directories/{}", org.org_id, org.directory_id)
    };
    let too_many: Result<Value, _> = raw.post(&format!("{dir}/users/search"), &json!({"limit": 500})).await;
    assert!(too_many.is_err());

    let exchanges = log.lock().unwrap().clone();
    let statuses: std::collections::BTreeSet<u16> = exchanges.iter().map(|x| x.status).collect();
    for expected in [200, 204, 400, 401, 403, 404, 409, 429] {
        assert!(statuses.contains(&expected), "no {expected} was exercised: {statuses:?}");
    }
    let doc = document();
    let problems: Vec<String> = exchanges.iter().flat_map(|x| check(&doc, x)).collect();
    assert!(problems.is_empty(), "{} exchanges, problems:\n{}", exchanges.len(), problems.join("\n"));
}
