//! The web UI in a real browser: Debian's Chromium, headless, driven through chromedriver
//! (WebDriver) with fantoccini, against `ucm serve --demo`. Each step leaves a screenshot in
//! `target/browser-screenshots/` for a reader to look at.
//!
//! Skipped with a note when chromedriver is not installed, unless `UCM_TEST_REQUIRE_BROWSER=1`
//! (as in CI, which installs `chromium` and `chromium-driver`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use testkit::TestDb;

use crate::serve::{admin_key, start_with};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver on a port of its own, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts chromedriver, or says why the browser tests cannot run.
async fn driver() -> Option<Driver> {
    if !std::path::Path::new(CHROMEDRIVER).exists() {
        assert!(
            std::env::var("UCM_TEST_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "UCM_TEST_REQUIRE_BROWSER=1 but {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)"
        );
        eprintln!("browser tests skipped: {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Stopped when dropped, however this ends.
    let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Some(driver);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start on port {port}");
}

/// A headless Chromium session.
async fn browser(driver: &Driver) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--no-first-run", "--no-default-browser-check"]
        }),
    );
    // Installs the process's TLS provider, which fantoccini's client needs even for http.
    let _ = testkit::http_client();
    ClientBuilder::rustls().unwrap().capabilities(capabilities).connect(&driver.url).await.unwrap()
}

/// Where screenshots go: the workspace's `target/browser-screenshots/`.
fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn snap(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

/// Presses and releases one key, wherever the focus is (as a person at a keyboard would).
async fn press(client: &Client, key: Key) {
    let key = char::from(key);
    let actions =
        KeyActions::new("keyboard".to_owned()).then(KeyAction::Down { value: key }).then(KeyAction::Up { value: key });
    client.perform_actions(actions).await.unwrap();
}

/// The `id` of the element that has the focus.
async fn focused_id(client: &Client) -> String {
    client.active_element().await.unwrap().attr("id").await.unwrap().unwrap_or_default()
}

/// Waits until the address holds each of `parts` in its query: a page swapped in place (htmx)
/// has arrived once the address says what was asked.
async fn wait_for_query(client: &Client, parts: &[&str]) {
    let mut url = client.current_url().await.unwrap();
    for _ in 0..100 {
        if url.query().is_some_and(|q| parts.iter().all(|p| q.contains(p))) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        url = client.current_url().await.unwrap();
    }
    panic!("the address never held {parts:?}: {url}");
}

/// Reloads `url` until `css` is on the page (the loop works in the background).
async fn wait_for(client: &Client, url: &str, css: &str) -> fantoccini::elements::Element {
    for _ in 0..100 {
        client.goto(url).await.unwrap();
        if let Ok(element) = client.find(Locator::Css(css)).await {
            return element;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{css} never appeared on {url}: {}", client.source().await.unwrap_or_default());
}

/// Reloads `url` until the text of `css` holds `wanted`; that text.
async fn wait_for_text(client: &Client, url: &str, css: &str, wanted: &str) -> String {
    let mut text = String::new();
    for _ in 0..100 {
        client.goto(url).await.unwrap();
        if let Ok(element) = client.find(Locator::Css(css)).await {
            text = element.text().await.unwrap_or_default();
            if text.contains(wanted) {
                return text;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("`{wanted}` never appeared in {css} on {url}: {text}");
}

/// Sign in (by keyboard), read the outputs the demo loop made, filter users, run a task and read
/// its result, open the Confluence-style page and the Slack-style message it produced and the
/// flow's audit log, write and import flows, write a task, look at every view on a phone's
/// width, sign out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_loop_in_a_real_browser() {
    let Some(driver) = driver().await else { return };
    let db = TestDb::sqlite().await;
    let server = start_with(&db, &[]);
    let key = admin_key(&db);
    let client = browser(&driver).await;
    let base = server.base.clone();

    // Not signed in: the sign-in page.
    client.goto(&format!("{base}/outputs")).await.unwrap();
    assert!(client.current_url().await.unwrap().path().ends_with("/sign-in"));
    snap(&client, "01-sign-in").await;
    // By keyboard alone: Tab from the top of the page reaches the key field; Enter sends it.
    // The field takes the focus by itself; take it away to start from the top.
    assert_eq!(focused_id(&client).await, "api_key", "the key field has the focus when the page opens");
    client.execute("document.activeElement.blur()", vec![]).await.unwrap();
    assert_ne!(focused_id(&client).await, "api_key");
    let mut steps = 0;
    while focused_id(&client).await != "api_key" {
        steps += 1;
        assert!(steps <= 8, "Tab never reached the key field");
        press(&client, Key::Tab).await;
    }
    client.active_element().await.unwrap().send_keys("ucm_wrong").await.unwrap();
    press(&client, Key::Enter).await;
    let problem = client.wait().for_element(Locator::Id("sign-in-problem")).await.unwrap();
    assert!(problem.text().await.unwrap().contains("not valid"));
    snap(&client, "02-wrong-key").await;
    client.find(Locator::Id("api_key")).await.unwrap().send_keys(&key).await.unwrap();
    client.find(Locator::Css("form[action='/sign-in'] button")).await.unwrap().click().await.unwrap();
    client.wait().for_element(Locator::Css("nav[aria-label=Kinds]")).await.unwrap();
    assert_eq!(client.current_url().await.unwrap().path(), "/outputs");
    // The example key's expiry goes through recipe 4 at start: an email and a work item.
    let list = wait_for_text(&client, &format!("{base}/outputs"), "main", "Rotate User Manager API key").await;
    assert!(list.contains("expires"), "{list}");
    snap(&client, "03-outputs-after-key-expiry").await;

    // The Dashboard: license health per app and site, as a chart.
    client.find(Locator::LinkText("Dashboard")).await.unwrap().click().await.unwrap();
    let share = client.wait().for_element(Locator::Id("inactive-share")).await.unwrap().text().await.unwrap();
    // The first Tab on a page offers to skip the navigation; following it moves the focus.
    client.goto(&format!("{base}/")).await.unwrap();
    press(&client, Key::Tab).await;
    let skip = client.active_element().await.unwrap();
    assert_eq!(skip.text().await.unwrap(), "Skip to the content");
    press(&client, Key::Enter).await;
    assert!(client.current_url().await.unwrap().as_str().ends_with("#main"));
    assert_eq!(focused_id(&client).await, "main", "the focus moved past the navigation");
    assert!(share.ends_with('%'), "{share}");
    assert!(client.find(Locator::Css("svg.bar[role=img]")).await.is_ok(), "the chart is drawn");
    snap(&client, "04-dashboard").await;

    // The User Browser: filter to JSM users inactive for 30 days.
    client.find(Locator::LinkText("Users")).await.unwrap().click().await.unwrap();
    // A misspelt app first: the problem is shown (a 400 page, swapped in like any other).
    client.wait().for_element(Locator::Id("f-apps")).await.unwrap().send_keys("Jria").await.unwrap();
    client.find(Locator::Css("form.filters button")).await.unwrap().click().await.unwrap();
    let problem = client.wait().for_element(Locator::Css("section.error")).await.unwrap().text().await.unwrap();
    assert!(problem.contains("did you mean"), "{problem}");
    let apps = client.find(Locator::Id("f-apps")).await.unwrap();
    apps.clear().await.unwrap();
    apps.send_keys("JSM").await.unwrap();
    client.find(Locator::Id("f-inactiveDays")).await.unwrap().send_keys("30").await.unwrap();
    client.find(Locator::Css("form.filters button")).await.unwrap().click().await.unwrap();
    wait_for_query(&client, &["apps=JSM", "inactiveDays=30"]).await;
    client.wait().for_element(Locator::Css("table.users")).await.unwrap();
    let count = client.find(Locator::Css("p.count")).await.unwrap().text().await.unwrap();
    assert!(count.ends_with("users") || count.contains("users ·"), "{count}");
    snap(&client, "05-user-browser-filtered").await;

    // A Bulk Operation on two of them: reviewed (how many change, how many admins are
    // protected), then run; its result opens like a task run's.
    let boxes = client.find_all(Locator::Css("input[name=accountId]")).await.unwrap();
    assert!(boxes.len() >= 2);
    boxes[0].click().await.unwrap();
    boxes[1].click().await.unwrap();
    client.find(Locator::Id("bulk-targets")).await.unwrap().send_keys("security").await.unwrap();
    client.find(Locator::Css("fieldset.bulk button")).await.unwrap().click().await.unwrap();
    let would = client.wait().for_element(Locator::Id("would-change")).await.unwrap().text().await.unwrap();
    assert!(would == "1" || would == "2", "{would}");
    snap(&client, "06-bulk-operation-review").await;
    client.find(Locator::Css(".confirm button")).await.unwrap().click().await.unwrap();
    client.wait().for_element(Locator::Css("[role=dialog]")).await.unwrap();
    let bulk_url = client.current_url().await.unwrap().to_string();
    assert_eq!(wait_for_text(&client, &bulk_url, "#run-outcome", "success").await, "success");
    snap(&client, "07-bulk-operation-result").await;

    // Run a demo task from the Tasks view (closing the dialog leads there); its result opens
    // in a dialog and fills in live.
    client.find(Locator::Css(".dialog a.close")).await.unwrap().click().await.unwrap();
    let mut closed = false;
    for _ in 0..100 {
        if client.find(Locator::Css("[role=dialog]")).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(closed, "the dialog closes");
    let row = client
        .wait()
        .for_element(Locator::XPath("//tr[td[normalize-space()='Onboard contractors']]//button[text()='Run now']"))
        .await
        .unwrap();
    row.click().await.unwrap();
    client.wait().for_element(Locator::Css("[role=dialog]")).await.unwrap();
    let result_url = client.current_url().await.unwrap().to_string();
    assert!(result_url.contains("taskId=") && result_url.contains("processId="), "{result_url}");
    // Without reloading: the dialog follows the run by itself, and once it shows the run
    // finished it no longer offers to stop it.
    let mut outcome = String::new();
    for _ in 0..200 {
        if let Ok(element) = client.find(Locator::Css("#run-outcome")).await {
            outcome = element.text().await.unwrap_or_default();
            if outcome != "running" {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The demo's contractors include some who cannot join a group: a success that says so.
    assert!(outcome.starts_with("success, ") && outcome.ends_with(" failed"), "{outcome}");
    assert!(client.find(Locator::Css("#run-stop")).await.is_err(), "a finished run offers no stop");
    let dialog = client.find(Locator::Css("[role=dialog]")).await.unwrap().text().await.unwrap();
    assert!(dialog.contains("+jira-users-acme"), "{dialog}");
    snap(&client, "08-task-result").await;

    // Its Slack-style message, with the mrkdwn rendered.
    wait_for(&client, &format!("{base}/outputs?kind=message"), "table.outputs a").await.click().await.unwrap();
    let body = client.wait().for_element(Locator::Css(".output-message .body")).await.unwrap();
    let text = body.text().await.unwrap();
    assert!(text.contains("Onboard contractors") && !text.contains("*Onboard"), "bold is rendered: {text}");
    snap(&client, "09-slack-style-message").await;

    // Its Confluence-style page.
    wait_for(&client, &format!("{base}/outputs?kind=page"), "table.outputs a").await.click().await.unwrap();
    let page = client.wait().for_element(Locator::Css(".output-page .body")).await.unwrap();
    let text = page.text().await.unwrap();
    assert!(text.contains("Per-user changes"), "{text}");
    assert!(client.find(Locator::Css(".output-page .body table")).await.is_ok(), "the tables render");
    snap(&client, "10-confluence-style-page").await;

    // The flow that posted the message, and its audit log with each step's rendered inputs.
    client.find(Locator::LinkText("Automation")).await.unwrap().click().await.unwrap();
    client.wait().for_element(Locator::LinkText("Slack alert per task run")).await.unwrap().click().await.unwrap();
    client.wait().for_element(Locator::Id("webhook-url")).await.unwrap();
    // The execution may still be finishing: reload until the log says how it ended.
    let flow_url = client.current_url().await.unwrap().to_string();
    wait_for_text(&client, &flow_url, "details.execution summary", "SUCCESS").await;
    client.find(Locator::Css("details.execution summary")).await.unwrap().click().await.unwrap();
    let audit = client.find(Locator::Css("details.execution")).await.unwrap().text().await.unwrap();
    assert!(audit.contains("SUCCESS") && audit.contains("agentResponse") && audit.contains("#it-ops"), "{audit}");
    assert!(client.find(Locator::Id("webhook-secret")).await.is_ok(), "an admin sees the flow's secret");
    snap(&client, "11-flow-audit-log").await;

    // A new flow from the step-by-step editor: the example's steps and one more, added in
    // place; saved, its webhook URL and secret shown at once.
    client.find(Locator::LinkText("Automation")).await.unwrap().click().await.unwrap();
    client.wait().for_element(Locator::LinkText("New flow")).await.unwrap().click().await.unwrap();
    let name = client.wait().for_element(Locator::Id("flow-name")).await.unwrap();
    name.clear().await.unwrap();
    name.send_keys("Log every run").await.unwrap();
    client.find(Locator::Id("new-step")).await.unwrap().select_by_value("log").await.unwrap();
    client.find(Locator::Css("button[value=add]")).await.unwrap().click().await.unwrap();
    let message = client.wait().for_element(Locator::Id("step2.message")).await.unwrap();
    message.send_keys("run {{webhookData.processId}} ended {{webhookData.trigger}}").await.unwrap();
    assert_eq!(
        client.find(Locator::Id("flow-name")).await.unwrap().prop("value").await.unwrap().unwrap(),
        "Log every run"
    );
    snap(&client, "12-flow-step-editor").await;
    client.find(Locator::XPath("//button[text()='Save the flow']")).await.unwrap().click().await.unwrap();
    let secret = client.wait().for_element(Locator::Id("webhook-secret")).await.unwrap().text().await.unwrap();
    assert!(secret.len() >= 40, "{secret}");
    snap(&client, "13-new-flow-with-its-secret").await;

    // Import: the demo's flows as an export file, pasted in.
    let export: serde_json::Value = testkit::http_client()
        .get(format!("{base}/api/v1/flows/export"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    client.find(Locator::LinkText("Automation")).await.unwrap().click().await.unwrap();
    client.wait().for_element(Locator::LinkText("Import")).await.unwrap().click().await.unwrap();
    let editor = client.wait().for_element(Locator::Id("text")).await.unwrap();
    editor.send_keys(&export.to_string()).await.unwrap();
    client.find(Locator::Css("form.editor button")).await.unwrap().click().await.unwrap();
    let report = client.wait().for_element(Locator::Css("section.imported")).await.unwrap();
    assert!(report.text().await.unwrap().contains("Nothing to reconnect"));
    let heading = client.find(Locator::Css("main h1")).await.unwrap().text().await.unwrap();
    assert_eq!(heading, "Imported 5 flows");
    snap(&client, "14-import-report").await;

    // A task from the editor: the User Browser's criteria saved as a filter, actions chosen,
    // previewed (nothing changes), then saved.
    client.find(Locator::LinkText("Users")).await.unwrap().click().await.unwrap();
    client.wait().for_element(Locator::Id("f-statuses")).await.unwrap().send_keys("suspended").await.unwrap();
    client.find(Locator::Css("form.filters button")).await.unwrap().click().await.unwrap();
    wait_for_query(&client, &["statuses=suspended"]).await;
    let name = client.wait().for_element(Locator::Css("form.save-filter #filter-name")).await.unwrap();
    name.send_keys("Suspended people").await.unwrap();
    client.find(Locator::Css("form.save-filter button")).await.unwrap().click().await.unwrap();
    let task_name = client.wait().for_element(Locator::Id("task-name")).await.unwrap();
    let chosen = client.find(Locator::Css("#task-filter option:checked")).await.unwrap().text().await.unwrap();
    assert_eq!(chosen, "Suspended people");
    task_name.send_keys("Tidy suspended people").await.unwrap();
    client.find(Locator::Id("action0")).await.unwrap().select_by_value("removeAppAccess").await.unwrap();
    client.find(Locator::Id("targets0")).await.unwrap().send_keys("JSM, Confluence").await.unwrap();
    client.find(Locator::Css("button[value=preview]")).await.unwrap().click().await.unwrap();
    let would = client.wait().for_element(Locator::Id("preview-would-change")).await.unwrap().text().await.unwrap();
    assert!(would.parse::<u64>().is_ok(), "{would}");
    snap(&client, "15-task-editor-preview").await;
    client.find(Locator::Css("button[value=save]")).await.unwrap().click().await.unwrap();
    let notice = client.wait().for_element(Locator::Css("p.notice")).await.unwrap().text().await.unwrap();
    assert_eq!(notice, "Saved Tidy suspended people.");
    snap(&client, "16-task-saved").await;

    // On a phone: every view and editor fits the screen's width (wide tables scroll inside
    // themselves).
    client.set_window_size(390, 844).await.unwrap();
    let views = [
        ("/", "17-phone-dashboard"),
        ("/users", "18-phone-users"),
        ("/tasks", "19-phone-tasks"),
        (result_url.strip_prefix(base.as_str()).unwrap(), "20-phone-task-result"),
        ("/tasks/new", "21-phone-task-editor"),
        ("/automation", "22-phone-automation"),
        ("/automation/new/steps", "23-phone-flow-step-editor"),
        ("/settings", "24-phone-settings"),
        ("/settings/webhooks/new", "25-phone-webhook-editor"),
        ("/outputs?kind=message", "26-phone-outputs"),
    ];
    for (path, name) in views {
        client.goto(&format!("{base}{path}")).await.unwrap();
        client.wait().for_element(Locator::Css("main h1, main [role=dialog]")).await.unwrap();
        let overflow = client
            .execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth", vec![])
            .await
            .unwrap();
        snap(&client, name).await;
        let widest = client
            .execute(
                "const clipped = (e) => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) \
                 { if (getComputedStyle(a).overflowX !== 'visible') return true; } return false; }; \
                 let w = null; for (const e of document.querySelectorAll('body *')) { \
                 const r = e.getBoundingClientRect(); if (r.right > document.documentElement.clientWidth \
                 && !clipped(e) && (!w || r.right > w.r)) w = {r: r.right, tag: e.tagName, cls: e.className}; } \
                 return w;",
                vec![],
            )
            .await
            .unwrap();
        assert!(overflow.as_i64().unwrap() <= 0, "{path} scrolls sideways on a phone by {overflow}px: {widest}");
    }
    client.set_window_size(1280, 900).await.unwrap();

    // Signing out ends the session.
    client.find(Locator::Css("form.who button")).await.unwrap().click().await.unwrap();
    client.wait().for_element(Locator::Id("api_key")).await.unwrap();
    client.goto(&format!("{base}/outputs")).await.unwrap();
    assert!(client.current_url().await.unwrap().path().ends_with("/sign-in"));
    snap(&client, "27-signed-out").await;
    client.close().await.unwrap();
    drop(server);
}
