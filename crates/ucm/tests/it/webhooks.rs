use std::io::Write as _;
use std::process::Stdio;

use testkit::{TestDb, backend_tests};

use crate::{run, run_with_input, ucm};

backend_tests!(webhooks_from_the_cli_keep_their_secret_sealed);

async fn webhooks_from_the_cli_keep_their_secret_sealed(db: TestDb) {
    let dir = db.dir().to_owned();
    let secret = "a-secret-nobody-should-read-again";
    let (ok, out, err) = run_with_input(
        ucm(&dir, Some(&db))
            .env("UCM_WEBHOOKS__ALLOWED_URL_PREFIXES", "http://127.0.0.1:")
            .args(["webhooks", "create", "--name", "Local", "--url", "http://127.0.0.1:9000/hook"])
            .args(["--triggers", "taskSuccess,taskFailure", "--secret-stdin"]),
        format!("{secret}\n"),
    );
    assert!(ok, "{err}");
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
    let (ok, out, _) = run(ucm(&dir, Some(&db)).args(["webhooks", "deliveries", "local"]));
    assert!(ok && out.contains("taskSuccess") && out.contains("pending"), "by name, ignoring case: {out}");
    let (ok, _, err) = run(ucm(&dir, Some(&db)).args(["webhooks", "deliveries", "Locl"]));
    assert!(!ok && err.contains("did you mean: Local"), "{err}");

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

/// Kills the child process when dropped (a failed assertion must not leave a receiver running).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_test_receiver_checks_signatures_and_fails_as_told() {
    use std::io::BufRead as _;
    let dir = testkit::temp_dir();
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let mut child = ucm(&dir, None)
        .args(["webhooks", "listen", "--bind", "127.0.0.1:0", "--fail-first", "1", "--secret-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(secret.as_bytes()).unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let child = KillOnDrop(child);
    let first = lines.next().unwrap().unwrap();
    let base = first.strip_prefix("Listening on ").unwrap().split(' ').next().unwrap().to_owned();

    let signing = webhooks::SigningSecret::new(secret).unwrap();
    let body = r#"{"trigger":"taskSuccess"}"#;
    let http = testkit::http_client();
    let send = |signature: String| {
        let now = jiff::Timestamp::now().as_second();
        http.post(format!("{base}/hook"))
            .header("webhook-id", "msg_1")
            .header("webhook-timestamp", now.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
    };
    let now = jiff::Timestamp::now().as_second();
    let good = signing.sign("msg_1", now, body.as_bytes());
    assert_eq!(send(good.clone()).await.unwrap().status(), 500, "the first attempt fails as told");
    assert_eq!(send(good).await.unwrap().status(), 200, "the retry succeeds");
    assert_eq!(send("v1,AAAA".to_owned()).await.unwrap().status(), 401, "a bad signature is refused");

    let printed: Vec<String> = lines.by_ref().take(6).map(Result::unwrap).collect();
    assert!(printed[0].contains("POST /hook webhook-id=msg_1 attempt=1 signature valid → 500"), "{printed:?}");
    assert_eq!(printed[1], format!("  {body}"));
    assert!(printed[2].contains("attempt=2 signature valid → 200"), "{printed:?}");
    assert!(printed[4].contains("signature INVALID") && printed[4].ends_with("→ 401"), "{printed:?}");
    drop(child);
}
