//! Slack (TARGETS.md): an incoming webhook (the URL is the credential; success is 200 with
//! `ok`) or `chat.postMessage` with a bot token (HTTP 200 even on failure: `{"ok": false,
//! "error": …}` is read). 429 carries `Retry-After`. Text over Slack's 40,000 characters is
//! shortened first, with a note and the deep link.

use serde::Serialize;
use serde_json::{Value, json};
use webhooks::{GuardedClient, Request};

use crate::connections::Settings;
use crate::{ConnectorError, Target};

/// Slack cuts text beyond this many characters.
pub const MAX_TEXT_CHARS: usize = 40_000;

/// `chat.postMessage` repeats the message in its answer (non-ASCII as `\uXXXX`), so an answer
/// to a long message is several times its size: read enough that a success is never cut short.
const MAX_ANSWER_BYTES: usize = 2 * 1024 * 1024;

/// Errors of `chat.postMessage` that may pass if tried again. (`fatal_error` is not one: Slack
/// says part of the work may have been done, so a retry could post twice.)
const RETRYABLE_ERRORS: [&str; 4] = ["ratelimited", "internal_error", "service_unavailable", "request_timeout"];

/// Longer deep links are left out of the shortening note.
const MAX_NOTE_LINK_CHARS: usize = 2000;

/// A message to post, in mrkdwn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// A channel id or `#name`; the connection's default channel when empty (bot only; an
    /// incoming webhook posts to its own channel).
    pub channel: String,
    pub text: String,
    /// Where the whole story is, linked from the note when the text is shortened.
    pub deep_link: Option<String>,
}

/// What Slack said when the message was posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Posted {
    /// The channel and message timestamp (`chat.postMessage` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ts: Option<String>,
    /// Whether the text was shortened to fit.
    pub shortened: bool,
}

/// Shortens `text` to fit Slack's limit, ending with a note (and the deep link).
pub fn fit(text: &str, deep_link: Option<&str>) -> (String, bool) {
    if text.chars().count() <= MAX_TEXT_CHARS {
        return (text.to_owned(), false);
    }
    let note = match deep_link.filter(|link| link.chars().count() <= MAX_NOTE_LINK_CHARS) {
        Some(link) => {
            format!("\n\n_…shortened to fit Slack; the full text is at {}._", render::slack_link(link, "the run"))
        }
        None => "\n\n_…shortened to fit Slack._".to_owned(),
    };
    let keep = MAX_TEXT_CHARS.saturating_sub(note.chars().count());
    let mut cut: String = text.chars().take(keep).collect();
    // Do not leave half an entity or an open link behind.
    if let Some(amp) = cut.rfind('&').filter(|&i| !cut[i..].contains(';')) {
        cut.truncate(amp);
    }
    if let Some(open) = cut.rfind('<').filter(|&i| !cut[i..].contains('>')) {
        cut.truncate(open);
    }
    (cut + &note, true)
}

/// Posts `message` through the connection.
pub async fn post(client: &GuardedClient, target: &Target, message: &Message) -> Result<Posted, ConnectorError> {
    let (text, shortened) = fit(&message.text, message.deep_link.as_deref());
    match &target.settings {
        Settings::SlackWebhook => {
            let response =
                client.send(&Request::json("POST", target.secret()?, &json!({"text": text})), MAX_ANSWER_BYTES).await?;
            let body = response.text();
            if response.status == 200 && body.trim() == "ok" {
                return Ok(Posted { channel: None, ts: None, shortened });
            }
            Err(webhook_error(&response, &body))
        }
        Settings::SlackBot { api_url, default_channel } => {
            let channel =
                if message.channel.trim().is_empty() { default_channel.trim() } else { message.channel.trim() };
            if channel.is_empty() {
                return Err(ConnectorError::permanent(
                    "no channel: name one in the step, or set the connection's default channel",
                )
                .on_field("channel"));
            }
            let answer =
                call(client, api_url, target.secret()?, "chat.postMessage", &json!({"channel": channel, "text": text}))
                    .await?;
            Ok(Posted {
                channel: answer["channel"].as_str().map(str::to_owned),
                ts: answer["ts"].as_str().map(str::to_owned),
                shortened,
            })
        }
        other => Err(ConnectorError::permanent(format!("a {} connection cannot post to Slack", other.kind()))),
    }
}

/// "Test connection": `auth.test` for a bot token; for an incoming webhook, an empty post,
/// which Slack refuses with `no_text` when the URL is good (nothing is posted).
pub async fn test(client: &GuardedClient, target: &Target) -> Result<String, ConnectorError> {
    match &target.settings {
        Settings::SlackWebhook => {
            let response = client.send(&Request::json("POST", target.secret()?, &json!({})), MAX_ANSWER_BYTES).await?;
            let body = response.text();
            match (response.status, body.trim()) {
                (400, "no_text" | "invalid_payload" | "missing_text_or_fallback_or_attachments") => {
                    Ok("the incoming webhook answers (an empty test message was refused, as it should be)".to_owned())
                }
                _ => Err(webhook_error(&response, &body)),
            }
        }
        Settings::SlackBot { api_url, .. } => {
            let answer = call(client, api_url, target.secret()?, "auth.test", &json!({})).await?;
            Ok(format!(
                "connected as {} in {}",
                answer["user"].as_str().unwrap_or("the bot"),
                answer["team"].as_str().unwrap_or("the workspace")
            ))
        }
        other => Err(ConnectorError::permanent(format!("a {} connection is not a Slack connection", other.kind()))),
    }
}

/// Calls a Web API method and reads `ok`.
async fn call(
    client: &GuardedClient,
    api_url: &str,
    token: &str,
    method: &str,
    body: &Value,
) -> Result<Value, ConnectorError> {
    let request = Request::json("POST", format!("{}/{method}", crate::base(api_url)), body)
        .header("authorization", format!("Bearer {token}"));
    let response = client.send(&request, MAX_ANSWER_BYTES).await?;
    if response.status != 200 {
        return Err(ConnectorError::from_status("Slack", &response, response.text().trim()));
    }
    let answer: Value =
        response.json().ok_or_else(|| ConnectorError::transient(format!("Slack's answer to {method} was not JSON")))?;
    if answer["ok"] == true {
        return Ok(answer);
    }
    let error = answer["error"].as_str().unwrap_or("unknown_error");
    let mut failure = if RETRYABLE_ERRORS.contains(&error) {
        ConnectorError::transient(format!("Slack: {method} failed with `{error}`"))
    } else {
        ConnectorError::permanent(format!("Slack: {method} failed with `{error}`"))
    };
    failure.field = match error {
        "channel_not_found" | "not_in_channel" | "is_archived" => Some("channel".to_owned()),
        "invalid_auth" | "not_authed" | "token_revoked" | "account_inactive" => Some("secret".to_owned()),
        _ => None,
    };
    Err(failure)
}

fn webhook_error(response: &webhooks::Response, body: &str) -> ConnectorError {
    let error = ConnectorError::from_status("Slack", response, body.trim());
    match (response.status, body.trim()) {
        (403 | 404 | 410, _) | (_, "no_service" | "invalid_token" | "channel_not_found") => ConnectorError {
            message: format!("Slack refused the incoming webhook URL ({}: {})", response.status, body.trim()),
            ..error
        }
        .on_field("secret"),
        _ => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_shortened_with_a_note_and_never_half_a_link() {
        let (text, shortened) = fit("short", None);
        assert_eq!((text.as_str(), shortened), ("short", false));
        let long = format!("{}<https://x.test|a link>{}", "a".repeat(MAX_TEXT_CHARS - 90), " more".repeat(100));
        let (text, shortened) = fit(&long, Some("https://ucm.test/run"));
        assert!(shortened && text.chars().count() <= MAX_TEXT_CHARS);
        assert!(text.ends_with("<https://ucm.test/run|the run>._"), "{}", &text[text.len() - 80..]);
        assert!(!text.contains("<https://x.test"), "the cut link is dropped whole");
        let (text, _) = fit(&long, Some("https://ucm.test/tasks?taskId=1&processId=2"));
        assert!(text.ends_with("<https://ucm.test/tasks?taskId=1&amp;processId=2|the run>._"), "the link is escaped");
        let (text, _) = fit(&long, Some(&"x".repeat(50_000)));
        assert!(text.ends_with("_…shortened to fit Slack._") && text.chars().count() <= MAX_TEXT_CHARS);
    }
}
