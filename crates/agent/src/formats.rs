//! The built-in formats (PRODUCT §8), each a faithful rendering of its recipe: names, never ids
//! (but the run's own `processId`); `-` for empty cells; users linked to the User Browser
//! filtered to them; user data escaped for the format it lands in.

use model::run::{AppAccessRef, ChangedGroup, RunOutcome, RunRecord, UserChange};
use model::task::ActionType;

/// At most this many users are listed in a Slack summary.
pub const SLACK_MAX_USERS: usize = 10;

/// A built-in format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Markdown: the webhook payload and a per-user changes table (Recipe 1).
    ConfluenceAudit,
    /// Slack mrkdwn: status, run summary, up to 10 affected users (Recipe 2).
    SlackSummary,
    /// Markdown: an incident with the affected users and next steps (Recipe 3).
    JiraIncident,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::ConfluenceAudit, Format::SlackSummary, Format::JiraIncident];

    pub fn name(self) -> &'static str {
        match self {
            Format::ConfluenceAudit => "confluence-audit",
            Format::SlackSummary => "slack-summary",
            Format::JiraIncident => "jira-incident",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Renders `record` (with all of its user changes) in `format`.
pub fn render(format: Format, record: &RunRecord) -> String {
    match format {
        Format::ConfluenceAudit => confluence_audit(record),
        Format::SlackSummary => slack_summary(record),
        Format::JiraIncident => jira_incident(record),
    }
}

/// The webhook trigger the run's outcome fired.
fn trigger(record: &RunRecord) -> &'static str {
    match record.run.outcome {
        Some(RunOutcome::Success) => "taskSuccess",
        _ => "taskFailure",
    }
}

fn action_types(record: &RunRecord) -> String {
    record.run.action_types.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")
}

fn group_name(group: &ChangedGroup) -> &str {
    group.current_name.as_deref().unwrap_or(&group.name)
}

/// An app access by its display name, with the site: `Confluence (acme)`.
fn app_name(access: &AppAccessRef) -> String {
    let app = access.current_app_name.as_deref().unwrap_or(&access.app_name);
    let site = access.current_site_name.as_deref().unwrap_or(&access.site_name);
    format!("{app} ({site})")
}

fn action_words(action: ActionType) -> &'static str {
    match action {
        ActionType::AddToGroups => "add to group",
        ActionType::RemoveFromGroups => "remove from group",
        ActionType::RemoveAppAccess => "remove app access",
        ActionType::SuspendUsers => "suspend",
        ActionType::RestoreUsers => "restore",
    }
}

/// What happened to one user, in words: `+ops, -admins, -Confluence (acme) access, suspended`,
/// then failures.
fn change_words(change: &UserChange) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    words.extend(change.groups_added.iter().map(|g| format!("+{}", group_name(g))));
    words.extend(change.groups_removed.iter().map(|g| format!("-{}", group_name(g))));
    words.extend(change.app_access_removed.iter().map(|a| format!("-{} access", app_name(a))));
    if change.suspended {
        words.push("suspended".to_owned());
    }
    if change.restored {
        words.push("restored".to_owned());
    }
    words.extend(change.failures.iter().map(|f| match &f.target {
        Some(target) => format!("failed to {} {target}: {}", action_words(f.action_type), f.reason),
        None => format!("failed to {}: {}", action_words(f.action_type), f.reason),
    }));
    words
}

/// Text in a Markdown table cell or paragraph: line breaks become spaces, and everything that
/// Markdown or a table would read as markup is escaped.
pub fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '&' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A Markdown link whose text is user data.
fn markdown_link(label: &str, url: &str) -> String {
    // Parentheses and spaces would end the destination early: `<…>` holds it whole.
    let url = url.replace(['<', '>', '\n', '\r'], "");
    format!("[{}](<{url}>)", markdown_text(label))
}

fn cell(text: String) -> String {
    if text.trim().is_empty() { "-".to_owned() } else { text }
}

fn joined<T>(items: &[T], name: impl Fn(&T) -> String) -> String {
    cell(items.iter().map(|item| markdown_text(&name(item))).collect::<Vec<_>>().join(", "))
}

/// Recipe 1: the webhook payload as a field/value table, then one row per changed user.
pub fn confluence_audit(record: &RunRecord) -> String {
    let run = &record.run;
    let mut out = String::new();
    out.push_str("# Webhook payload\n\n| Field | Value |\n| --- | --- |\n");
    out.push_str(&format!("| trigger | {} |\n", trigger(record)));
    out.push_str(&format!("| processId | {} |\n", markdown_text(&run.process_id.0)));
    out.push_str(&format!("| name | {} |\n", cell(markdown_text(&run.name))));
    out.push_str(&format!("| actionTypes | {} |\n", cell(action_types(record))));
    out.push_str(&format!("| deepLink | {} |\n", markdown_link("Open in User Manager", &run.deep_link)));
    if let Some(error) = &run.error {
        out.push_str(&format!("\n**The run failed:** {}\n", markdown_text(error)));
    }
    out.push_str("\n# Per-user changes\n\n");
    if record.user_changes.is_empty() {
        out.push_str("_No per-user changes._\n");
        return out;
    }
    out.push_str("| User | Email | Groups added | Groups removed | App access removed | Suspended |\n");
    out.push_str("| --- | --- | --- | --- | --- | --- |\n");
    for change in &record.user_changes {
        let suspended = match (change.suspended, change.restored) {
            (true, _) => "yes",
            (false, true) => "restored",
            (false, false) => "-",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {suspended} |\n",
            markdown_link(&change.display_name, &change.user_browser_url),
            cell(markdown_text(&change.email)),
            joined(&change.groups_added, |g| group_name(g).to_owned()),
            joined(&change.groups_removed, |g| group_name(g).to_owned()),
            joined(&change.app_access_removed, app_name),
        ));
    }
    out
}

/// Text inside Slack backticks: escaped, and no backtick to end it early.
fn slack_code(text: &str) -> String {
    format!("`{}`", render::escape_mrkdwn(&text.replace('`', "'")))
}

/// Recipe 2: status, run summary, and up to ten affected users, in Slack mrkdwn.
pub fn slack_summary(record: &RunRecord) -> String {
    let run = &record.run;
    let summary = &run.summary;
    let emoji = match (run.outcome, summary.failed_count) {
        (Some(RunOutcome::Success), 0) => ":white_check_mark:",
        (Some(RunOutcome::Success), _) => ":warning:",
        _ => ":x:",
    };
    let name = render::escape_mrkdwn(&run.name);
    // Slack has no escape for `*`: a name holding one is shown without bold rather than broken.
    let name = if name.contains('*') || name.trim().is_empty() { name } else { format!("*{name}*") };
    let mut lines = vec![
        format!("{emoji} {name} - {}", slack_code(trigger(record))),
        format!("Actions: {}", slack_code(&action_types(record))),
        render::slack_link(&run.deep_link, "Open in User Manager"),
    ];
    if let Some(error) = &run.error {
        lines.push(format!("_The run failed:_ {}", slack_code(error)));
    }
    lines.push("*Run summary*".to_owned());
    lines.push(format!("- Users updated: `{}` (`{}` failed)", summary.users_updated, summary.failed_count));
    lines.push(format!("- Group ops: +`{}` / -`{}`", summary.groups_added, summary.groups_removed));
    lines.push(format!("- App access removed: `{}`", summary.app_access_removed));
    lines.push(format!("- Suspended: `{}` - Restored: `{}`", summary.users_suspended, summary.users_restored));
    let total = summary.total_user_changes.max(record.user_changes.len() as u64);
    if total == 0 {
        lines.push("_No per-user changes._".to_owned());
        return lines.join("\n");
    }
    lines.push(format!("*Affected users* ({total})"));
    for change in record.user_changes.iter().take(SLACK_MAX_USERS) {
        let who = render::slack_link(&change.user_browser_url, &change.display_name);
        let email = if change.email.is_empty() {
            String::new()
        } else {
            format!(" ({})", render::escape_mrkdwn(&change.email))
        };
        let words = change_words(change).join(", ");
        let words = if words.is_empty() { "no change".to_owned() } else { words };
        // Italic as the recipe has it, unless the words hold a `_` or `*` that would end it early.
        let words = render::escape_mrkdwn(&words);
        let words = if breaks_italic(&words) { words } else { format!("_{words}_") };
        lines.push(format!("- {who}{email} - {words}"));
    }
    let listed = record.user_changes.len().min(SLACK_MAX_USERS) as u64;
    if total > listed {
        lines.push(format!("...and {} more.", total - listed));
    }
    lines.join("\n")
}

/// Whether `text` inside `_…_` would end the italics early: a `*`, or a `_` at a word edge
/// (Slack ignores one between letters, as in `deactivated_users`).
fn breaks_italic(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    chars.iter().enumerate().any(|(i, &c)| {
        c == '*'
            || (c == '_'
                && !(i > 0 && chars[i - 1].is_alphanumeric() && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric())))
    })
}

/// Recipe 3: an incident for a failed run or a run with failures: what happened, who was
/// affected (failed rows marked), and two or three next steps from the actions and failures.
pub fn jira_incident(record: &RunRecord) -> String {
    let run = &record.run;
    let failed = run.outcome != Some(RunOutcome::Success);
    let mut out = String::new();
    // The recipe's shape: a heading, the run's id and link, then the users and next steps.
    let heading = match (failed, run.summary.failed_count) {
        (true, _) => "failed".to_owned(),
        (false, 0) => "finished".to_owned(),
        (false, 1) => "finished with 1 failed user".to_owned(),
        (false, n) => format!("finished with {n} failed users"),
    };
    out.push_str(&format!("# Incident: {} {heading}\n\n", markdown_text(&run.name)));
    out.push_str(&format!("**processId**: `{}`\n\n", run.process_id.0.replace('`', "'")));
    out.push_str(&format!("**Open in User Manager**: {}\n", markdown_link("the run", &run.deep_link)));
    if let Some(error) = &run.error {
        out.push_str(&format!("\n**Error**: {}\n", markdown_text(error)));
    }
    out.push_str("\n## Affected users\n\n");
    if record.user_changes.is_empty() {
        out.push_str("_No per-user changes._\n");
    } else {
        out.push_str("| User | Email | Action attempted | Outcome |\n| --- | --- | --- | --- |\n");
        for change in &record.user_changes {
            let attempted: Vec<String> = change_words(change)
                .into_iter()
                .filter(|w| !w.starts_with("failed to "))
                .chain(change.failures.iter().map(|f| match &f.target {
                    Some(target) => format!("{} {target}", action_words(f.action_type)),
                    None => action_words(f.action_type).to_owned(),
                }))
                .collect();
            let outcome = if change.failures.is_empty() {
                "done".to_owned()
            } else {
                let reasons: Vec<&str> = change.failures.iter().map(|f| f.reason.as_str()).collect();
                format!("**FAILED**: {}", markdown_text(&reasons.join("; ")))
            };
            out.push_str(&format!(
                "| {} | {} | {} | {outcome} |\n",
                markdown_link(&change.display_name, &change.user_browser_url),
                cell(markdown_text(&change.email)),
                cell(markdown_text(&attempted.join(", "))),
            ));
        }
    }
    out.push_str("\n## Recommended next steps\n\n");
    for step in next_steps(record) {
        out.push_str(&format!("- {step}\n"));
    }
    out
}

/// Two or three steps from the failure pattern and the action types.
fn next_steps(record: &RunRecord) -> Vec<String> {
    let run = &record.run;
    let mut steps = Vec::new();
    if let Some(error) = &run.error {
        steps.push(format!(
            "Fix what stopped the run ({}), then run the task again from User Manager.",
            markdown_text(error)
        ));
    }
    // The most common failure reason, and how many users it hit.
    let mut reasons: Vec<(&str, usize)> = Vec::new();
    for failure in record.user_changes.iter().flat_map(|c| c.failures.iter()) {
        match reasons.iter_mut().find(|(r, _)| *r == failure.reason) {
            Some((_, n)) => *n += 1,
            None => reasons.push((&failure.reason, 1)),
        }
    }
    reasons.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    if let Some((reason, n)) = reasons.first() {
        let users = if *n == 1 { "1 change".to_owned() } else { format!("{n} changes") };
        steps.push(format!(
            "Resolve the most common failure ({users}: \"{}\"), then re-run the task for the failed users.",
            markdown_text(reason)
        ));
    }
    let actions = &run.action_types;
    if record.user_changes.is_empty() {
        // Nothing was changed: advice about what changed would be noise.
        steps.push("Preview the task to see which users it would change before its next run.".to_owned());
    } else if actions.contains(&ActionType::SuspendUsers) {
        steps.push(
            "Check that every suspended user should have lost access; restore anyone suspended by mistake.".to_owned(),
        );
    } else if actions.contains(&ActionType::RemoveAppAccess) || actions.contains(&ActionType::RemoveFromGroups) {
        steps.push("Check that no one lost group membership or app access they still need.".to_owned());
    } else if actions.contains(&ActionType::AddToGroups) || actions.contains(&ActionType::RestoreUsers) {
        steps.push("Confirm the users who were changed now have the access they should.".to_owned());
    }
    if steps.len() < 2 {
        steps.push("Review the run's record in User Manager before its next scheduled run.".to_owned());
    }
    steps.truncate(3);
    steps
}
