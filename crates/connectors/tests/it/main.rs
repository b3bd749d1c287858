//! Every connector against a simulator on 127.0.0.1 that checks requests as the real API would;
//! connections and local outputs on both engines.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use connectors::jira::WorkItem;
use connectors::slack::Message;
use connectors::{ConnectionInput, Connections, Settings, Target, confluence, jira, local, slack, web};
use model::clock::ManualClock;
use testkit::simulators::{ATLASSIAN_EMAIL, ATLASSIAN_TOKEN, SLACK_BOT_TOKEN, SLACK_WEBHOOK_PATH, Simulator};
use testkit::{TestDb, backend_tests};
use webhooks::{AddressPolicy, GuardedClient, Request, SealingKey, Timeouts};

fn client() -> GuardedClient {
    GuardedClient::new(AddressPolicy::parse(&["127.0.0.0/8".to_owned()]).unwrap(), Timeouts::default()).unwrap()
}

fn target(settings: Settings, secret: &str) -> Target {
    Target { settings, secret: Some(secret.to_owned()) }
}

fn message(channel: &str, text: &str) -> Message {
    Message { channel: channel.to_owned(), text: text.to_owned(), deep_link: Some("https://ucm.test/run".to_owned()) }
}

#[tokio::test]
async fn slack_incoming_webhooks_post_and_say_what_went_wrong() {
    let slack = Simulator::slack().await;
    let hook = target(Settings::SlackWebhook, &format!("{}{SLACK_WEBHOOK_PATH}", slack.base));
    let posted = slack::post(&client(), &hook, &message("", "*3 users* suspended")).await.unwrap();
    assert!(!posted.shortened);
    assert_eq!(slack.received()[0].json()["text"], "*3 users* suspended");

    // Too long for Slack: shortened first, with the note and the deep link.
    let posted = slack::post(&client(), &hook, &message("", &"x".repeat(50_000))).await.unwrap();
    assert!(posted.shortened);
    let sent = slack.received()[1].json()["text"].as_str().unwrap().to_owned();
    assert!(sent.chars().count() <= slack::MAX_TEXT_CHARS && sent.ends_with("<https://ucm.test/run|the run>._"));

    slack.fail_next(429, &[("retry-after", "7")], "rate_limited");
    let limited = slack::post(&client(), &hook, &message("", "again")).await.unwrap_err();
    assert!(limited.retryable && limited.retry_after == Some(Duration::from_secs(7)), "{limited:?}");

    let wrong = target(Settings::SlackWebhook, &format!("{}/services/T0001/B0001/WRONG", slack.base));
    let refused = slack::post(&client(), &wrong, &message("", "hi")).await.unwrap_err();
    assert!(!refused.retryable && refused.field.as_deref() == Some("secret"), "{refused:?}");
    assert!(refused.message.contains("no_service") && !refused.message.contains("WRONG"), "{refused}");
    let bad_port = target(Settings::SlackWebhook, "https://hooks.slack.com:4x3/services/T/B/SECRETPART");
    let unusable = slack::post(&client(), &bad_port, &message("", "hi")).await.unwrap_err();
    assert!(!unusable.retryable && !unusable.message.contains("SECRETPART"), "URLs stay out of errors: {unusable}");

    assert!(slack::test(&client(), &hook).await.unwrap().contains("answers"));
    assert!(slack::test(&client(), &wrong).await.is_err());
    assert_eq!(slack.received().len(), 6, "a test posts nothing visible: Slack refuses its empty message");
}

#[tokio::test]
async fn slack_bot_reads_ok_false_and_names_the_field() {
    let slack = Simulator::slack().await;
    let settings = |channel: &str| Settings::SlackBot {
        api_url: format!("{}/api", slack.base),
        default_channel: channel.to_owned(),
    };
    let bot = target(settings("#ops"), SLACK_BOT_TOKEN);
    let posted = slack::post(&client(), &bot, &message("", "hello & <you>")).await.unwrap();
    assert_eq!((posted.channel.as_deref(), posted.ts.as_deref()), (Some("C0001"), Some("1700000000.000100")));
    let request = &slack.received()[0];
    assert_eq!(request.target, "/api/chat.postMessage");
    assert_eq!(request.headers["authorization"], format!("Bearer {SLACK_BOT_TOKEN}"));
    assert_eq!(request.json()["channel"], "#ops", "the default channel");

    let missing = slack::post(&client(), &bot, &message("#nowhere", "hi")).await.unwrap_err();
    assert!(!missing.retryable && missing.field.as_deref() == Some("channel"), "{missing:?}");
    assert!(missing.message.contains("channel_not_found"));
    let revoked =
        slack::post(&client(), &target(settings("#ops"), "xoxb-revoked"), &message("", "hi")).await.unwrap_err();
    assert_eq!(revoked.field.as_deref(), Some("secret"), "{revoked:?}");
    let nowhere = slack::post(&client(), &target(settings(""), SLACK_BOT_TOKEN), &message("", "hi")).await.unwrap_err();
    assert!(nowhere.message.contains("no channel"), "nothing sent without a channel: {nowhere}");

    slack.fail_next(200, &[("content-type", "application/json")], r#"{"ok": false, "error": "ratelimited"}"#);
    assert!(slack::post(&client(), &bot, &message("", "hi")).await.unwrap_err().retryable);
    assert_eq!(slack::test(&client(), &bot).await.unwrap(), "connected as ucm-bot in Acme");
}

fn confluence_target(base: &str, token: &str) -> Target {
    target(Settings::Confluence { site: format!("{base}/"), email: ATLASSIAN_EMAIL.to_owned() }, token)
}

fn page(title: &str, space: &str) -> confluence::Page {
    confluence::Page {
        space_key: space.to_owned(),
        parent_id: String::new(),
        title: title.to_owned(),
        markdown: "# Audit\n\n| User | Outcome |\n|---|---|\n| Ada & Bob | done |\n\n```\n]]>\n```".to_owned(),
    }
}

#[tokio::test]
async fn confluence_pages_get_a_space_id_a_free_title_and_valid_storage() {
    let confluence = Simulator::confluence().await;
    let site = confluence_target(&confluence.base, ATLASSIAN_TOKEN);
    confluence.add_page("98304", "Weekly cleanup 2026-11-29");
    let created = confluence::create_page(&client(), &site, &page("Weekly cleanup 2026-11-29", "OPS")).await.unwrap();
    assert_eq!(created.title, "Weekly cleanup 2026-11-29 (2)", "the taken title gets a number");
    assert_eq!(created.url, format!("{}/wiki/spaces/OPS/pages/2", confluence.base));
    let post = confluence.received().into_iter().find(|r| r.method == "POST").unwrap();
    let body = post.json();
    assert_eq!((body["spaceId"].as_str(), body["status"].as_str()), (Some("98304"), Some("current")));
    assert!(body["body"]["value"].as_str().unwrap().contains("<th>User</th>"));
    assert!(post.headers["authorization"].to_str().unwrap().starts_with("Basic "));

    let unknown = confluence::create_page(&client(), &site, &page("x", "NOPE")).await.unwrap_err();
    assert_eq!(unknown.field.as_deref(), Some("space"), "{unknown:?}");
    let denied = confluence::create_page(&client(), &confluence_target(&confluence.base, "wrong"), &page("x", "OPS"))
        .await
        .unwrap_err();
    assert!(!denied.retryable && denied.field.as_deref() == Some("secret"), "{denied:?}");
    confluence.fail_next(503, &[], "");
    assert!(confluence::create_page(&client(), &site, &page("y", "OPS")).await.unwrap_err().retryable);
    assert!(confluence::test(&client(), &site).await.unwrap().contains("signed in"));
}

fn jira_target(base: &str) -> Target {
    target(Settings::Jira { site: base.to_owned(), email: ATLASSIAN_EMAIL.to_owned() }, ATLASSIAN_TOKEN)
}

fn work_item(issue_type: &str) -> WorkItem {
    WorkItem {
        project_key: "OPS".into(),
        issue_type: issue_type.into(),
        summary: "Rotate the Automation key".into(),
        markdown: "The key **expires** on 2026-12-03.\n\n- rotate\n- update Automation".into(),
        due_date: Some("2026-12-01".into()),
        priority: Some("P2".into()),
        labels: vec!["ucm".into(), "key-expiry".into()],
    }
}

#[tokio::test]
async fn jira_work_items_carry_adf_and_errors_come_back_by_field() {
    let jira = Simulator::jira().await;
    let site = jira_target(&jira.base);
    let created = jira::create(&client(), &site, &work_item("Task")).await.unwrap();
    assert_eq!((created.key.as_str(), created.url.clone()), ("OPS-1", format!("{}/browse/OPS-1", jira.base)));
    let fields = jira.received()[0].json()["fields"].clone();
    assert!(testkit::adf_errors(&fields["description"]).is_empty());
    assert_eq!((fields["duedate"].as_str(), fields["priority"]["name"].as_str()), (Some("2026-12-01"), Some("P2")));

    let refused = jira::create(&client(), &site, &work_item("Epic")).await.unwrap_err();
    assert_eq!(refused.field_errors, vec![("issuetype".to_owned(), "The issue type selected is invalid.".to_owned())]);
    assert!(!refused.retryable && refused.message.contains("issuetype"), "{refused:?}");

    // What Jira would refuse anyway is refused before anything is sent.
    let before = jira.received().len();
    let mut bad = work_item("");
    bad.due_date = Some("next week".into());
    let checked = jira::create(&client(), &site, &bad).await.unwrap_err();
    let fields: Vec<&str> = checked.field_errors.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fields, ["issuetype", "duedate"]);
    assert_eq!(jira.received().len(), before);

    jira.fail_next(429, &[("retry-after", "30")], "");
    let limited = jira::create(&client(), &site, &work_item("Task")).await.unwrap_err();
    assert_eq!((limited.retryable, limited.retry_after), (true, Some(Duration::from_secs(30))));
    assert_eq!(
        jira::test(&client(), &site).await.unwrap(),
        format!("signed in to Jira at {} as Ada Lovelace", jira.base)
    );
}

#[tokio::test]
async fn web_requests_return_any_answer_and_keep_to_the_address_policy() {
    let server = Simulator::jira().await;
    let request = Request::get(format!("{}/rest/api/3/nothing", server.base));
    let answer = web::send(&client(), &request).await.unwrap();
    assert_eq!(answer.status, 401, "an error status is an answer, not a failure");
    assert!(answer.body.contains("not authenticated"));
    let mut odd = request.clone();
    odd.method = "TRACE".into();
    assert_eq!(web::send(&client(), &odd).await.unwrap_err().field.as_deref(), Some("method"));
    let bad_header = request.clone().header("X Bad", "value");
    let unsendable = web::send(&client(), &bad_header).await.unwrap_err();
    assert!(!unsendable.retryable, "a request that cannot be built is not retried: {unsendable:?}");
    assert!(!format!("{:?}", request.clone().header("authorization", "Bearer s3cr3t")).contains("s3cr3t"));
    let strict = GuardedClient::new(AddressPolicy::default(), Timeouts::default()).unwrap();
    let refused = web::send(&strict, &request).await.unwrap_err();
    assert!(!refused.retryable && refused.message.contains("refused"), "{refused}");
    let shown = web::redacted_headers(&[
        ("Authorization".into(), "Basic x".into()),
        ("X-Api-Key".into(), "k".into()),
        ("Accept".into(), "*/*".into()),
    ]);
    assert_eq!(shown.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(), ["***", "***", "*/*"]);
}

backend_tests!(
    connections_keep_their_credential_sealed_and_test_against_the_target,
    local_outputs_are_kept_newest_first
);

fn connections(db: &TestDb) -> Connections {
    let key = SealingKey::from_base64(&SealingKey::generate()).unwrap();
    let clock = Arc::new(ManualClock::new("2026-11-29T10:00:00Z".parse().unwrap()));
    Connections::new(db.store.clone(), key, client(), clock)
}

async fn connections_keep_their_credential_sealed_and_test_against_the_target(db: TestDb) {
    let jira = Simulator::jira().await;
    let service = connections(&db);
    let input = ConnectionInput {
        name: "Jira".into(),
        settings: Settings::Jira { site: jira.base.clone(), email: ATLASSIAN_EMAIL.into() },
        secret: Some(ATLASSIAN_TOKEN.into()),
    };
    let created = service.create(&input).await.unwrap();
    assert!(created.has_secret);
    let shown = serde_json::to_string(&service.list().await.unwrap()).unwrap();
    assert!(shown.contains("\"kind\":\"jira\"") && !shown.contains(ATLASSIAN_TOKEN), "{shown}");
    let stored = db.store.connection("jira").await.unwrap();
    assert!(!stored.secret_sealed.unwrap().contains(ATLASSIAN_TOKEN), "sealed at rest");

    // An update without a secret keeps the one there is.
    let renamed = ConnectionInput { name: "Jira Cloud".into(), secret: None, ..input.clone() };
    service.update(&created.id, &renamed).await.unwrap();
    let (_, target) = service.open("jira cloud").await.unwrap();
    assert_eq!(target.secret.as_deref(), Some(ATLASSIAN_TOKEN));
    assert!(!format!("{target:?}").contains(ATLASSIAN_TOKEN), "Debug hides it");

    let result = service.test("Jira Cloud").await.unwrap();
    assert!(result.ok && result.message.contains("Ada Lovelace"), "{result:?}");
    // Pointing the stored credential somewhere else needs the credential again.
    let elsewhere = ConnectionInput {
        settings: Settings::Jira { site: "https://evil.example".into(), email: ATLASSIAN_EMAIL.into() },
        ..renamed.clone()
    };
    let refused = service.update("Jira Cloud", &elsewhere).await.unwrap_err().to_string();
    assert!(refused.contains("secret:"), "{refused}");
    let cleartext = ConnectionInput {
        settings: Settings::Jira { site: "http://acme.atlassian.net".into(), email: ATLASSIAN_EMAIL.into() },
        ..input.clone()
    };
    assert!(service.create(&cleartext).await.unwrap_err().to_string().contains("https://"));
    let wrong = ConnectionInput { secret: Some("not-the-token".into()), ..renamed.clone() };
    service.update("Jira Cloud", &wrong).await.unwrap();
    let result = service.test("Jira Cloud").await.unwrap();
    assert_eq!((result.ok, result.retryable, result.field.as_deref()), (false, Some(false), Some("secret")));

    let bad = ConnectionInput {
        name: " ".into(),
        settings: Settings::Confluence { site: "ftp://x".into(), email: "nobody".into() },
        secret: None,
    };
    let problems = service.create(&bad).await.unwrap_err().to_string();
    for field in ["name:", "site:", "email:", "secret:"] {
        assert!(problems.contains(field), "{field} in {problems}");
    }
    let plain_remote = ConnectionInput {
        name: "Mail".into(),
        settings: Settings::Smtp {
            host: "mail.example.com".into(),
            port: 25,
            security: connectors::email::SmtpSecurity::None,
            username: String::new(),
            from: "not an address".into(),
        },
        secret: None,
    };
    let problems = service.create(&plain_remote).await.unwrap_err().to_string();
    assert!(problems.contains("security: plain SMTP only to localhost") && problems.contains("from:"), "{problems}");
    assert!(service.create(&input).await.is_ok(), "the old name is free again");
    assert!(service.create(&input).await.unwrap_err().to_string().contains("already exists"));
    service.delete("Jira Cloud").await.unwrap();
    assert!(service.get("Jira Cloud").await.is_err());
}

async fn local_outputs_are_kept_newest_first(db: TestDb) {
    let at = |minute: i64| jiff::Timestamp::from_second(1_764_410_000 + minute * 60).unwrap();
    let page = local::page(&db.store, at(0), "OPS", "Audit", "# Audit\n\n**done**").await.unwrap();
    assert_eq!(page.data["html"], "<h1>Audit</h1>\n<p><strong>done</strong></p>\n");
    assert_eq!(page.data["storage"], "<h1>Audit</h1><p><strong>done</strong></p>");
    let message = local::message(&db.store, at(1), "#ops", "*3 users* &amp; more").await.unwrap();
    assert_eq!(message.data["html"], "<strong>3 users</strong> &amp; more");
    let first = local::work_item(&db.store, at(2), &work_item("Task")).await.unwrap();
    let second = local::work_item(&db.store, at(3), &work_item("Bug")).await.unwrap();
    assert_eq!((first.key.as_deref(), second.key.as_deref()), (Some("LOCAL-1"), Some("LOCAL-2")));
    assert!(testkit::adf_errors(&second.data["adf"]).is_empty());
    let email = connectors::email::Email {
        to: vec!["ops@example.com".into()],
        cc: vec![],
        bcc: vec!["audit@example.com".into()],
        subject: "Key expires".into(),
        markdown: "See [settings](https://ucm.test/settings)".into(),
    };
    let stored = local::email(&db.store, at(4), &email).await.unwrap();
    assert_eq!(
        (stored.data["to"][0].as_str(), stored.data["bcc"][0].as_str()),
        (Some("ops@example.com"), Some("audit@example.com"))
    );

    let all = local::list(&db.store, None, 10).await.unwrap();
    let kinds: Vec<&str> = all.iter().map(|o| o.kind.as_str()).collect();
    assert_eq!(kinds, ["email", "workItem", "workItem", "message", "page"]);
    let items = local::list(&db.store, Some("workItem"), 10).await.unwrap();
    assert_eq!(items.iter().map(|o| o.key.clone().unwrap()).collect::<Vec<_>>(), ["LOCAL-2", "LOCAL-1"]);
    assert_eq!(db.store.output("LOCAL-1").await.unwrap().title, "Rotate the Automation key");

    // A NUL from a payload (PostgreSQL cannot store one) is kept the same way on both engines.
    let nul = local::message(&db.store, at(5), "#ops\0x", "a\0b").await.unwrap();
    let stored = db.store.output(&nul.id).await.unwrap();
    assert_eq!(stored.title, "#ops\u{FFFD}x");
    assert!(stored.data.contains("a\\u0000b"), "{}", stored.data);
}

fn smtp_target(port: u16, username: &str, password: &str) -> Target {
    target(
        Settings::Smtp {
            host: "localhost".into(),
            port,
            security: connectors::email::SmtpSecurity::None,
            username: username.into(),
            from: "ucm <ucm@example.com>".into(),
        },
        password,
    )
}

#[tokio::test]
async fn email_is_a_real_smtp_conversation_with_both_parts_and_utf8_headers() {
    use connectors::email::{self, Email};
    use mail_parser::MessageParser;

    let server = testkit::smtp::SmtpServer::start(Some(("ucm", "smtp-password"))).await;
    let account = smtp_target(server.port, "ucm", "smtp-password");
    let sent = email::send(
        &client(),
        &account,
        &Email {
            to: vec!["Jürgen Groß <ops@example.com>".into(), "sec@example.com".into()],
            cc: vec!["lead@example.com".into()],
            bcc: vec!["audit@example.com".into()],
            subject: "Schlüssel „Automation“ läuft am 3. Dezember ab ✓".into(),
            markdown: "The key **expires** soon.\n\n[Settings](https://ucm.test/settings/api-keys)".into(),
        },
    )
    .await
    .unwrap();
    let received = server.received();
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(mail.authenticated_as.as_deref(), Some("ucm"));
    assert_eq!(mail.mail_from, "ucm@example.com");
    assert_eq!(mail.rcpt_to, ["ops@example.com", "sec@example.com", "lead@example.com", "audit@example.com"]);
    assert!(mail.data.contains("lead@example.com"), "Cc is a header");
    assert!(!mail.data.contains("audit@example.com"), "Bcc is not: {}", mail.data);

    let message = MessageParser::default().parse(mail.data.as_bytes()).unwrap();
    assert_eq!(message.subject(), Some("Schlüssel „Automation“ läuft am 3. Dezember ab ✓"));
    assert_eq!(message.to().unwrap().first().unwrap().name(), Some("Jürgen Groß"));
    assert!(message.date().is_some(), "Date is set");
    assert_eq!(format!("<{}>", message.message_id().unwrap()), sent.message_id, "Message-ID is set and returned");
    assert!(mail.data.contains("multipart/alternative"), "{}", mail.data);
    assert!(message.body_text(0).unwrap().contains("The key **expires** soon."));
    let html = message.body_html(0).unwrap();
    assert!(
        html.contains("<strong>expires</strong>") && html.contains("href=\"https://ucm.test/settings/api-keys\""),
        "{html}"
    );
    assert!(
        !mail.data.lines().any(|l| l.contains('ü') && l.starts_with("Subject")),
        "the subject is encoded, not raw UTF-8"
    );

    assert!(email::test(&client(), &account).await.unwrap().contains("accepts ucm"));
    let wrong = email::test(&client(), &smtp_target(server.port, "ucm", "nope")).await.unwrap_err();
    assert!(!wrong.retryable && wrong.field.as_deref() == Some("secret"), "{wrong:?}");
    assert_eq!(server.received().len(), 1, "tests send nothing");

    // Nothing listens: worth trying again later.
    let closed = email::test(&client(), &smtp_target(1, "", "")).await.unwrap_err();
    assert!(closed.retryable, "{closed:?}");
    // The address policy applies to SMTP too.
    let strict = GuardedClient::new(AddressPolicy::default(), Timeouts::default()).unwrap();
    let refused = email::test(&strict, &smtp_target(server.port, "ucm", "smtp-password")).await.unwrap_err();
    assert_eq!(refused.field.as_deref(), Some("host"), "{refused:?}");
}

#[tokio::test]
async fn email_upgrades_with_starttls_and_trusts_only_known_authorities() {
    use connectors::email::{self, Email, SmtpSecurity};

    let ca = testkit::tls::TestCa::new();
    let server = testkit::smtp::SmtpServer::start_tls(Some(("ucm", "smtp-password")), ca.acceptor()).await;
    let mut account = smtp_target(server.port, "ucm", "smtp-password");
    if let Settings::Smtp { security, .. } = &mut account.settings {
        *security = SmtpSecurity::Starttls;
    }
    let roots = GuardedClient::parse_roots(ca.ca_pem.as_bytes()).unwrap();
    let trusting = GuardedClient::with_roots(
        AddressPolicy::parse(&["127.0.0.0/8".to_owned()]).unwrap(),
        Timeouts::default(),
        roots,
    )
    .unwrap();
    let email = Email {
        to: vec!["ops@example.com".into()],
        cc: vec![],
        bcc: vec![],
        subject: "Over TLS".into(),
        markdown: "hello".into(),
    };
    email::send(&trusting, &account, &email).await.unwrap();
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].over_tls, "the message went after STARTTLS");
    assert_eq!(received[0].authenticated_as.as_deref(), Some("ucm"));

    // The system's roots alone do not know the test CA.
    let untrusted = email::send(&client(), &account, &email).await.unwrap_err();
    assert!(untrusted.retryable, "{untrusted:?}");
    // Plain to a server that requires STARTTLS is refused by the server.
    let plain = email::send(&trusting, &smtp_target(server.port, "ucm", "smtp-password"), &email).await.unwrap_err();
    assert!(!plain.retryable, "{plain:?}");
    assert_eq!(server.received().len(), 1);

    // TLS from the first byte (port 465).
    let implicit = testkit::smtp::SmtpServer::start_implicit_tls(None, ca.acceptor()).await;
    let mut wrapped = smtp_target(implicit.port, "", "");
    if let Settings::Smtp { security, .. } = &mut wrapped.settings {
        *security = SmtpSecurity::Tls;
    }
    email::send(&trusting, &wrapped, &email).await.unwrap();
    assert!(implicit.received()[0].over_tls);
}
