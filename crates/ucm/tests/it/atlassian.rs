//! `ucm directory` against the Atlassian simulator on 127.0.0.1: connect (a good key, a wrong
//! one, a scoped one, an unreachable API, an expiry in the past), sync, status, disconnect.

use atlassian::simulator::{SimOrg, SimSettings, Simulator};
use testkit::{TestDb, backend_tests};

use crate::run_with_input;
use crate::{run, ucm};

backend_tests!(an_organization_is_connected_synced_and_disconnected_from_the_cli);

const KEY: &str = "ATCTT3xFfGN0-cli-test-key";

async fn an_organization_is_connected_synced_and_disconnected_from_the_cli(db: TestDb) {
    let dir = db.dir().to_owned();
    let sim = Simulator::new(SimOrg::generate(120, jiff::Timestamp::now(), 11), SimSettings::new(KEY));
    let address = sim.start().await.unwrap();
    let org_id = sim.org().org_id.clone();
    let cli = |base: &str| {
        let mut command = ucm(&dir, Some(&db));
        command.env("UCM_ATLASSIAN__API_BASE", base).env("UCM_NETWORK__ALLOWED_NETWORKS", "127.0.0.0/8");
        command.env("UCM_ATLASSIAN__MAX_REQUESTS_PER_SECOND", "0");
        command
    };
    let base = format!("http://{address}");
    let expires = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
        .checked_add(jiff::Span::new().days(200))
        .unwrap()
        .to_string();
    let connect = |base: &str, key: &str, extra: &[&str]| {
        run_with_input(
            cli(base)
                .args(["directory", "connect", "atlassian", "--api-key-stdin", "--key-expires", &expires])
                .args(extra),
            format!("{key}\n"),
        )
    };

    // Refused: a wrong key, an address nothing listens on, an expiry that has passed.
    let (ok, _, err) = connect(&base, "not-the-key", &[]);
    assert!(!ok && err.contains("refused this key (401)"), "{err}");
    let (ok, _, err) = connect("http://127.0.0.1:9", KEY, &[]);
    assert!(!ok && err.contains("cannot reach Atlassian"), "{err}");
    let (ok, _, err) = run_with_input(
        cli(&base).args(["directory", "connect", "atlassian", "--api-key-stdin", "--key-expires", "2020-01-01"]),
        KEY,
    );
    assert!(!ok && err.contains("has passed"), "{err}");
    let (ok, out, _) = run(cli(&base).args(["directory", "status"]));
    assert!(ok && out.contains("Backend: local"), "nothing was stored: {out}");

    // A key created with scopes lists no organization: the org id is asked for, then used.
    sim.settings().scoped = true;
    let (ok, _, err) = connect(&base, KEY, &[]);
    assert!(!ok && err.contains("lists no organization") && err.contains("organization id"), "{err}");
    let (ok, out, err) = connect(&base, KEY, &["--org-id", &org_id]);
    assert!(ok, "{err}");
    assert!(out.contains("Acme (simulated)") && out.contains("Acme directory"), "{out}");

    // The key is sealed: not in the database's text.
    let stored = db.store.org_connection().await.unwrap().unwrap();
    assert!(!stored.key_sealed.contains(KEY));

    let (ok, out, err) = run(cli(&base).args(["directory", "sync", "--json"]));
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["users"], 120);
    assert_eq!(db.store.count_users().await.unwrap(), 120);

    let (ok, out, _) = run(cli(&base).args(["directory", "status", "--json"]));
    assert!(ok);
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["backend"], "atlassian");
    assert_eq!(status["atlassian"]["orgId"], org_id.as_str());
    assert_eq!(status["atlassian"]["keyExpiresOn"], expires.as_str());
    assert_eq!(status["atlassian"]["lastSync"]["users"], 120);
    assert!(!out.contains(KEY), "the key is never shown");

    // A sync that fails leaves the mirror as it was, and says why.
    sim.settings().key = "rotated".to_owned();
    let (ok, _, err) = run(cli(&base).args(["directory", "sync"]));
    assert!(!ok && err.contains("(401)") && err.contains("API keys"), "{err}");
    assert_eq!(db.store.count_users().await.unwrap(), 120);
    let (_, out, _) = run(cli(&base).args(["directory", "status"]));
    assert!(out.contains("FAILED"), "{out}");

    let (ok, out, _) = run(cli(&base).args(["directory", "disconnect"]));
    assert!(ok && out.contains("Disconnected"), "{out}");
    let (_, out, _) = run(cli(&base).args(["directory", "status"]));
    assert!(out.contains("Backend: local (120 users"), "the mirror stays: {out}");

    // The copy left behind is read-only: changing it would reach no one.
    let someone = sim.org().users.values().find(|u| !u.org_admin && u.status() == "active").unwrap().account_id.clone();
    let (ok, out, err) =
        run(cli(&base).args(["bulk", "run", "--action", "suspend", "--account-id", &someone, "--yes"]));
    assert!(!ok || out.contains("failure"), "{out}{err}");
    assert!(format!("{out}{err}").contains("read-only"), "{out}{err}");
    assert_eq!(
        db.store.user(&someone.as_str().into()).await.unwrap().status,
        model::directory::UserStatus::Active,
        "nothing changed"
    );
    // An import makes it the directory again, to change as any.
    let joiner = crate::file(
        &dir,
        "joiner.json",
        r#"[{"accountId": "u-joiner", "displayName": "Jo Iner", "email": "jo@example.com", "status": "active",
            "createdAt": "2025-01-01"}]"#,
    );
    let (ok, _, err) = run(cli(&base).args(["import", joiner.to_str().unwrap()]));
    assert!(ok, "{err}");
    let (ok, out, err) =
        run(cli(&base).args(["bulk", "run", "--action", "suspend", "--account-id", &someone, "--yes"]));
    assert!(ok && !format!("{out}{err}").contains("read-only"), "{out}{err}");
    assert_eq!(db.store.user(&someone.as_str().into()).await.unwrap().status, model::directory::UserStatus::Suspended);
}
