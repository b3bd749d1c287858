use std::io::Write as _;
use std::process::Stdio;

use testkit::{TestDb, backend_tests};

use crate::{run, ucm};

backend_tests!(webhooks_from_the_cli_keep_their_secret_sealed);

async fn webhooks_from_the_cli_keep_their_secret_sealed(db: TestDb) {
    let dir = db.dir().to_owned();
    let secret = "a-secret-nobody-should-read-again";
    let mut child = ucm(&dir, Some(&db))
        .env("UCM_WEBHOOKS__ALLOWED_URL_PREFIXES", "http://127.0.0.1:")
        .args(["webhooks", "create", "--name", "Local", "--url", "http://127.0.0.1:9000/hook"])
        .args(["--triggers", "taskSuccess,taskFailure", "--secret-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{secret}\n").as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let (out, err) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{err}");
    assert!(out.contains("its secret is sealed"), "{out}");

    // The key that sealed it is the owner's alone; the secret is not in the database file.
    let key_file = dir.join("ucm-data/secret-key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    if db.schema.is_none() {
        let bytes = std::fs::read(dir.join("ucm.db")).unwrap_or_default();
        let wal = std::fs::read(dir.join("ucm.db-wal")).unwrap_or_default();
        let all = [bytes, wal].concat();
        assert!(!all.windows(secret.len()).any(|w| w == secret.as_bytes()), "the secret is sealed at rest");
    }

    let (ok, out, err) = run(ucm(&dir, Some(&db)).args(["webhooks", "list"]));
    assert!(ok, "{err}");
    assert!(out.contains("Local") && out.contains("taskSuccess,taskFailure") && !out.contains(secret), "{out}");
    // A test goes into the delivery log.
    let (_, out, _) = run(ucm(&dir, Some(&db)).args(["webhooks", "list", "--json"]));
    let id = serde_json::from_str::<serde_json::Value>(&out).unwrap()[0]["id"].as_str().unwrap().to_owned();
    let (ok, out, err) = run(ucm(&dir, Some(&db)).args(["webhooks", "test", &id]));
    assert!(ok && out.starts_with("Queued test delivery msg_"), "{out}{err}");
    let (ok, out, _) = run(ucm(&dir, Some(&db)).args(["webhooks", "deliveries", &id]));
    assert!(ok && out.contains("taskSuccess") && out.contains("pending"), "{out}");

    // Refused URLs say what is allowed.
    let (ok, _, err) = run(ucm(&dir, Some(&db)).args([
        "webhooks",
        "create",
        "--name",
        "Far",
        "--url",
        "http://10.1.1.1/x",
        "--triggers",
        "orgKeyExpiry",
    ]));
    assert!(!ok);
    assert!(
        err.contains("--url (url)") && err.contains("https://api-private.atlassian.com/automation/webhooks/"),
        "{err}"
    );
    assert!(err.contains("--secret-stdin (secret): a new webhook needs a secret"), "{err}");
}
