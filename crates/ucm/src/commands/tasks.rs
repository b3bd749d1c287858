//! `ucm tasks`, `ucm runs` and `ucm bulk`: Automated Tasks, their results, Bulk Operations.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use model::filter::UserFilter;
use model::ids::{AccountId, FilterId, ProcessId, TaskId};
use model::run::{ChangeStatus, Progress, RunOutcome, RunRecord};
use model::task::{Action, AppTarget, ExecutionLimit, Schedule, ScheduleKind, Task, Weekday};
use tasks::{BulkInput, Preview, RunFilter, RunStart, StartedRun, TaskError, TaskInput, TaskService};

use crate::cli::{BulkArgs, BulkCommand, RunsCommand, TaskArgs, TasksCommand};
use crate::context::Context;
use crate::output;
use crate::output::outln;

/// Who the CLI says changed things.
const CLI: &str = "cli";

/// The service, after closing runs whose process died (a killed `ucm tasks run`), so that
/// they neither block their task nor show as running.
async fn service(context: &Context) -> anyhow::Result<TaskService> {
    let service = context.task_service(&context.public_url())?;
    for id in service.close_interrupted().await.map_err(explain)? {
        eprintln!("Closed run {id} as failed: the process running it stopped before it finished.");
    }
    Ok(service)
}

pub async fn run(context: &Context, command: TasksCommand) -> anyhow::Result<()> {
    let service = service(context).await?;
    match command {
        TasksCommand::List { json } => {
            let tasks = service.tasks().await.map_err(explain)?;
            if json {
                return output::json(&tasks);
            }
            if tasks.is_empty() {
                outln!("No tasks yet. Create one with `ucm tasks create` (see --help).");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = tasks
                .iter()
                .map(|t| {
                    vec![
                        t.task_id.to_string(),
                        t.name.clone(),
                        t.schedule.describe(),
                        if t.active { "active".into() } else { "paused".into() },
                        output::when(t.last_run_at),
                        if t.active { output::when(t.next_run_at) } else { "-".into() },
                    ]
                })
                .collect();
            output::table(&["ID", "NAME", "SCHEDULE", "STATE", "LAST RUN", "NEXT RUN"], &rows);
            Ok(())
        }
        TasksCommand::Show { task_id, json } => {
            let task = service.task(&find_task(&service, &task_id).await?).await.map_err(explain)?;
            if json {
                return output::json(&task);
            }
            let catalog = context.store.catalog().await?;
            let filter = context.store.saved_filter(&task.filter_id).await.map(|f| f.name).ok();
            print_task(&task, &catalog, filter.as_deref());
            Ok(())
        }
        TasksCommand::Create(args) => {
            let input = task_input(&args)?;
            let task = service.create_task(&input, CLI).await.map_err(explain)?;
            outln!("Saved task `{}` ({}).", task.name, task.task_id);
            outln!(
                "Preview it with `ucm tasks preview {}`, run it with `ucm tasks run {}`.",
                task.task_id,
                task.task_id
            );
            Ok(())
        }
        TasksCommand::Update { task_id, task } => {
            let input = task_input(&task)?;
            let task =
                service.update_task(&find_task(&service, &task_id).await?, &input, CLI).await.map_err(explain)?;
            outln!("Updated task `{}` ({}); next run: {}.", task.name, task.task_id, output::when(task.next_run_at));
            Ok(())
        }
        TasksCommand::Delete { task_id } => {
            let id = find_task(&service, &task_id).await?;
            service.delete_task(&id).await.map_err(explain)?;
            outln!("Deleted task {task_id}; its runs stay readable with `ucm runs list --task {id}`.");
            Ok(())
        }
        TasksCommand::Pause { task_id } => {
            let task = service.set_active(&find_task(&service, &task_id).await?, false, CLI).await.map_err(explain)?;
            outln!("Paused `{}`: the scheduler will not start it until it is resumed.", task.name);
            Ok(())
        }
        TasksCommand::Resume { task_id } => {
            let task = service.set_active(&find_task(&service, &task_id).await?, true, CLI).await.map_err(explain)?;
            outln!("Resumed `{}`; next run: {}.", task.name, output::when(task.next_run_at));
            Ok(())
        }
        TasksCommand::Preview { task_id, sample, json } => {
            let preview = service.preview_task(&find_task(&service, &task_id).await?, sample).await.map_err(explain)?;
            if json {
                return output::json(&preview);
            }
            print_preview(&preview);
            Ok(())
        }
        TasksCommand::Run { task_id, yes, json } => {
            let id = find_task(&service, &task_id).await?;
            let mut start = RunStart { started_by: CLI.to_owned(), confirm: yes };
            let run = match service.start_task_run(&id, &start).await {
                Err(TaskError::OverLimit { would_change, limit }) => {
                    confirm_over_limit(would_change, limit)?;
                    start.confirm = true;
                    service.start_task_run(&id, &start).await.map_err(explain)?
                }
                other => other.map_err(explain)?,
            };
            execute_and_report(&service, run, json).await
        }
    }
}

pub async fn runs(context: &Context, command: RunsCommand) -> anyhow::Result<()> {
    let service = service(context).await?;
    match command {
        RunsCommand::List { task, account, outcome, since, until, limit, json } => {
            let instant = |flag: &str, v: Option<String>| -> anyhow::Result<Option<jiff::Timestamp>> {
                v.map(|v| v.parse().map_err(|_| anyhow::anyhow!("--{flag}: `{v}` is not an RFC 3339 instant")))
                    .transpose()
            };
            let outcome = outcome
                .map(|o| {
                    model::from_wire::<RunOutcome>(&o).ok_or_else(|| {
                        anyhow::anyhow!("--outcome: `{o}` is not one of success, failure, quarantined, rejected")
                    })
                })
                .transpose()?;
            let task_id = match task {
                Some(task) => Some(find_task(&service, &task).await?),
                None => None,
            };
            // An email names the user as well as an account id does.
            let account_id = match account {
                Some(account) if account.contains('@') => Some(
                    context
                        .store
                        .account_id_by_email(&account)
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("--account: no user has the email `{account}`"))?,
                ),
                other => other.map(AccountId),
            };
            let filter = RunFilter {
                task_id,
                account_id,
                outcome,
                since: instant("since", since)?,
                until: instant("until", until)?,
                limit: Some(limit),
            };
            let runs = service.runs(&filter).await.map_err(explain)?;
            if json {
                return output::json(&runs);
            }
            if runs.is_empty() {
                outln!("No runs match.");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = runs
                .iter()
                .map(|r| {
                    vec![
                        r.process_id.to_string(),
                        r.name.clone(),
                        output::when(Some(r.started_at)),
                        r.outcome_text(),
                        r.summary.users_by_result().to_string(),
                    ]
                })
                .collect();
            output::table(&["PROCESS ID", "NAME", "STARTED", "OUTCOME", "USERS"], &rows);
            Ok(())
        }
        RunsCommand::Show { process_id, json, cursor, limit } => {
            let id = ProcessId(process_id);
            if json && limit.is_none() && cursor.is_none() {
                return write_export(&service, &id, &mut std::io::stdout().lock()).await;
            }
            let record = service.run_record(&id, cursor.as_deref(), limit.unwrap_or(50)).await.map_err(explain)?;
            if json {
                return output::json(&record);
            }
            print_record(&record);
            Ok(())
        }
        RunsCommand::Users { process_id, status, cursor, limit, json } => {
            let status = status
                .map(|v| {
                    model::from_wire::<ChangeStatus>(&v).ok_or_else(|| {
                        anyhow::anyhow!("--status: `{v}` is not one of updated, partial, failed, unchanged, skipped")
                    })
                })
                .transpose()?;
            let page = service
                .run_users(&ProcessId(process_id.clone()), status, cursor.as_deref(), limit)
                .await
                .map_err(explain)?;
            if json {
                return output::json(&page);
            }
            if page.users.is_empty() {
                outln!("No users{}.", status.map(|s| format!(" with status {}", s.as_str())).unwrap_or_default());
                return Ok(());
            }
            let rows: Vec<Vec<String>> = page
                .users
                .iter()
                .map(|u| {
                    let items: Vec<String> = u
                        .result
                        .items
                        .iter()
                        .map(|i| {
                            let target = i.target.as_ref().map(|t| format!(" {}", t.label())).unwrap_or_default();
                            let outcome = serde_json::to_value(i.outcome).unwrap_or_default();
                            let reason = i.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
                            format!("{}{target}: {}{reason}", i.action_type, outcome.as_str().unwrap_or_default())
                        })
                        .collect();
                    vec![
                        u.result.display_name.clone(),
                        u.result.email.clone(),
                        u.status.as_str().to_owned(),
                        items.join("; "),
                    ]
                })
                .collect();
            output::table(&["USER", "EMAIL", "STATUS", "ITEMS"], &rows);
            if let Some(next) = &page.next_cursor {
                outln!("… more: ucm runs users {process_id} --cursor '{next}'");
            }
            Ok(())
        }
        RunsCommand::Export { process_id, output: file } => {
            let id = ProcessId(process_id);
            let path = file.unwrap_or_else(|| PathBuf::from(format!("run-{}.json", id.as_str().replace('/', "_"))));
            // Written next to the target, then renamed: a failure leaves no half file behind.
            let partial = path.with_extension("json.partial");
            let written = async {
                let mut out = std::io::BufWriter::new(
                    std::fs::File::create(&partial).with_context(|| format!("cannot write {}", partial.display()))?,
                );
                write_export(&service, &id, &mut out).await?;
                out.flush().with_context(|| format!("cannot write {}", partial.display()))?;
                std::fs::rename(&partial, &path).with_context(|| format!("cannot write {}", path.display()))
            }
            .await;
            if written.is_err() {
                let _ = std::fs::remove_file(&partial);
            }
            written?;
            let changes = service.run_record(&id, None, 1).await.map_err(explain)?.run.summary.total_user_changes;
            outln!("Wrote run {id} ({changes} user changes) to {}.", path.display());
            Ok(())
        }
        RunsCommand::Approve { process_id } => {
            let run = service.approve(&ProcessId(process_id), CLI).await.map_err(explain)?;
            execute_and_report(&service, run, false).await
        }
        RunsCommand::Reject { process_id } => {
            service.reject(&ProcessId(process_id.clone()), CLI).await.map_err(explain)?;
            outln!("Rejected run {process_id}: nothing was changed.");
            Ok(())
        }
        RunsCommand::Cancel { process_id } => {
            service.cancel(&ProcessId(process_id.clone()), CLI).await.map_err(explain)?;
            outln!("Asked run {process_id} to stop after the users in hand.");
            Ok(())
        }
    }
}

pub async fn bulk(context: &Context, command: BulkCommand) -> anyhow::Result<()> {
    let service = service(context).await?;
    match command {
        BulkCommand::Run { bulk, yes, json } => {
            let mut input = bulk_input(&bulk, yes)?;
            let run = match service.start_bulk(&input, CLI).await {
                Err(TaskError::OverLimit { would_change, limit }) => {
                    confirm_over_limit(would_change, limit)?;
                    input.confirm = true;
                    service.start_bulk(&input, CLI).await.map_err(explain)?
                }
                other => other.map_err(explain)?,
            };
            execute_and_report(&service, run, json).await
        }
        BulkCommand::Preview { bulk, sample, json } => {
            let preview = service.preview_bulk(&bulk_input(&bulk, false)?, sample).await.map_err(explain)?;
            if json {
                return output::json(&preview);
            }
            print_preview(&preview);
            Ok(())
        }
    }
}

/// Asks on a terminal; elsewhere says how to confirm.
fn confirm_over_limit(would_change: u64, limit: u64) -> anyhow::Result<()> {
    let question = format!("This run would change {would_change} users, more than the execution limit of {limit}.");
    if !std::io::stdin().is_terminal() {
        bail!("{question} Nothing was changed; add --yes to run it anyway.");
    }
    eprint!("{question} Run it anyway? [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        eprintln!("Not run: nothing was changed.");
        std::process::exit(1)
    }
}

/// Executes a started run with a progress bar on a terminal (Ctrl-C asks it to stop), then
/// prints its result.
async fn execute_and_report(service: &TaskService, run: StartedRun, json: bool) -> anyhow::Result<()> {
    // Drawn once the number of users is known, so it never starts as a full 0/0 bar.
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} users ({eta} left)")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(format!("running `{}`", run.name));
        bar
    });
    let progress = |p: Progress| {
        if let Some(bar) = &bar
            && p.total > 0
        {
            if bar.is_hidden() {
                bar.set_length(p.total);
                bar.set_draw_target(ProgressDrawTarget::stderr());
            }
            bar.set_position(p.done);
        }
    };
    let process_id = run.process_id.clone();
    let execution = service.execute(&run, &progress);
    tokio::pin!(execution);
    let outcome = tokio::select! {
        outcome = &mut execution => outcome,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("\nCancelling: the run stops after the users in hand… (Ctrl-C again to quit now)");
            if let Err(e) = service.cancel(&process_id, "cli (Ctrl-C)").await {
                eprintln!("could not ask the run to stop: {e}");
            }
            tokio::select! {
                outcome = &mut execution => outcome,
                _ = tokio::signal::ctrl_c() => {
                    eprintln!("Quit. The run will be closed as interrupted once its claim lapses.");
                    std::process::exit(130);
                }
            }
        }
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let record = service.run_record(&process_id, None, 20).await.map_err(explain)?;
    if json {
        write_export(service, &process_id, &mut std::io::stdout().lock()).await?;
    } else {
        print_record(&record);
    }
    match outcome {
        RunOutcome::Failure => bail!("the run failed: {}", record.run.error.as_deref().unwrap_or("no reason recorded")),
        _ => Ok(()),
    }
}

/// Writes a run's whole record as JSON, a page at a time, and a final newline.
async fn write_export(service: &TaskService, id: &ProcessId, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let quiet_on_closed_pipe = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        anyhow::Error::from(e)
    };
    let mut export = service.export(id).await.map_err(explain)?;
    while let Some(chunk) = export.next_chunk().await.map_err(explain)? {
        out.write_all(&chunk).map_err(quiet_on_closed_pipe)?;
    }
    writeln!(out).map_err(quiet_on_closed_pipe)?;
    Ok(())
}

fn print_record(r: &RunRecord) {
    let outcome = r.run.outcome_text();
    outln!("Run {} · {} ({}, started by {})", r.run.process_id, r.run.name, r.run.source.as_str(), r.run.started_by);
    outln!("Outcome:  {outcome}{}", r.run.error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default());
    outln!("Started:  {}   finished: {}", output::when(Some(r.run.started_at)), output::when(r.run.finished_at));
    if r.run.finished_at.is_none() && r.run.progress.total > 0 {
        outln!("Progress: {} of {} users", r.run.progress.done, r.run.progress.total);
    }
    if let Some(q) = &r.run.quarantine {
        outln!(
            "Waiting for approval: would change {} users, more than the limit of {}. \
             `ucm runs approve {}` or `ucm runs reject {}`.",
            q.would_change,
            q.limit,
            r.run.process_id,
            r.run.process_id
        );
    }
    let s = &r.run.summary;
    outln!("Users:    {}", s.users_by_result());
    outln!(
        "Items:    {} groups added · {} groups removed · {} app accesses removed · {} suspended · {} restored",
        s.groups_added,
        s.groups_removed,
        s.app_access_removed,
        s.users_suspended,
        s.users_restored
    );
    outln!("Link:     {}", r.run.deep_link);
    if r.user_changes.is_empty() {
        return;
    }
    outln!();
    let rows: Vec<Vec<String>> = r
        .user_changes
        .iter()
        .map(|c| {
            let mut changes = Vec::new();
            if !c.groups_added.is_empty() {
                changes
                    .push(format!("+{}", c.groups_added.iter().map(|g| g.name.as_str()).collect::<Vec<_>>().join(",")));
            }
            if !c.groups_removed.is_empty() {
                changes.push(format!(
                    "-{}",
                    c.groups_removed.iter().map(|g| g.name.as_str()).collect::<Vec<_>>().join(",")
                ));
            }
            for a in &c.app_access_removed {
                changes.push(format!("-{}@{}", a.app_name, a.site_name));
            }
            if c.suspended {
                changes.push("suspended".into());
            }
            if c.restored {
                changes.push("restored".into());
            }
            let failures: Vec<String> = c.failures.iter().map(failure_words).collect();
            vec![
                c.display_name.clone(),
                c.email.clone(),
                c.status.as_str().to_owned(),
                if changes.is_empty() { "-".into() } else { changes.join(" ") },
                if failures.is_empty() { "-".into() } else { failures.join("; ") },
            ]
        })
        .collect();
    output::table(&["USER", "EMAIL", "STATUS", "CHANGES", "FAILURES"], &rows);
    if let Some(cursor) = &r.next_cursor {
        outln!("… more: ucm runs show {} --cursor '{}'   (or --json for all)", r.run.process_id, cursor);
    }
}

/// A failure as the tables show it: what it was about (a group's or an app's name), then why.
fn failure_words(failure: &model::run::Failure) -> String {
    match &failure.target {
        Some(target) => format!("{target}: {}", failure.reason),
        None => failure.reason.clone(),
    }
}

fn print_preview(p: &Preview) {
    outln!("Would change {} users ({} matched). Nothing was changed.", p.would_change, p.summary.users_matched);
    match p.limit {
        Some(limit) if p.over_limit => {
            outln!("That is more than the execution limit of {limit}: running it needs confirmation.");
        }
        Some(limit) => outln!("Execution limit: {limit} users."),
        None => {}
    }
    outln!("Would be: {}", p.summary.users_by_result());
    let rows: Vec<Vec<String>> = p
        .user_changes
        .iter()
        .map(|c| {
            let failures: Vec<String> = c.failures.iter().map(failure_words).collect();
            vec![
                c.display_name.clone(),
                c.email.clone(),
                c.status.as_str().to_owned(),
                if failures.is_empty() { "-".into() } else { failures.join("; ") },
            ]
        })
        .collect();
    if !rows.is_empty() {
        outln!();
        output::table(&["USER", "EMAIL", "WOULD BE", "WOULD FAIL"], &rows);
        let more = p.summary.total_user_changes.saturating_sub(rows.len() as u64);
        if more > 0 {
            outln!("… and {more} more (--sample N lists more, --json gives the details).");
        }
    }
}

/// A task in words: its filter by name, its actions with group, app and site names.
fn print_task(t: &Task, catalog: &model::directory::Catalog, filter: Option<&str>) {
    outln!("Task {} · {}", t.task_id, t.name);
    match filter {
        Some(name) => outln!("Filter:    {name} ({})", t.filter_id),
        None => outln!("Filter:    {} (no longer saved)", t.filter_id),
    }
    for (i, action) in t.actions.iter().enumerate() {
        outln!("Action {}:  {}", i + 1, action.describe(catalog));
    }
    outln!("Schedule:  {}", t.schedule.describe());
    outln!("State:     {}", if t.active { "active" } else { "paused" });
    outln!("Last run:  {}", output::when(t.last_run_at));
    outln!("Next run:  {}", if t.active { output::when(t.next_run_at) } else { "-".into() });
    outln!("Changed:   {} by {}", output::when(Some(t.updated_at)), t.updated_by);
}

/// `--action` values in order.
fn actions(values: &[String]) -> anyhow::Result<Vec<Action>> {
    values.iter().map(|v| parse_action(v)).collect()
}

fn parse_action(text: &str) -> anyhow::Result<Action> {
    let (kind, arg) = text.split_once('=').map_or((text, None), |(k, a)| (k, Some(a)));
    let list = |arg: Option<&str>| -> anyhow::Result<Vec<String>> {
        let items: Vec<String> =
            arg.unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        if items.is_empty() {
            bail!("--action {kind} needs a list: {kind}=A,B");
        }
        Ok(items)
    };
    Ok(match kind.trim() {
        "add-to-groups" => Action::AddToGroups { group_ids: list(arg)?.into_iter().map(Into::into).collect() },
        "remove-from-groups" => {
            Action::RemoveFromGroups { group_ids: list(arg)?.into_iter().map(Into::into).collect() }
        }
        "remove-app-access" if arg.is_some_and(|a| a.trim() == "all") => {
            Action::RemoveAppAccess { apps: vec![], all: true }
        }
        "remove-app-access" => Action::RemoveAppAccess {
            apps: list(arg)?
                .into_iter()
                .map(|item| match item.split_once('@') {
                    Some((app, site)) => AppTarget { app_type: app.into(), site_id: Some(site.into()) },
                    None => AppTarget { app_type: item.as_str().into(), site_id: None },
                })
                .collect(),
            all: false,
        },
        "suspend" | "suspend-users" if arg.is_none() => Action::SuspendUsers,
        "restore" | "restore-users" if arg.is_none() => Action::RestoreUsers,
        other => {
            let known = ["add-to-groups", "remove-from-groups", "remove-app-access", "suspend", "restore"];
            let hint = model::suggest::closest(other, known, 1);
            bail!(
                "--action `{text}` is not an action{}; expected one of: add-to-groups=G,… remove-from-groups=G,… \
                 remove-app-access=APP[@SITE],… (or =all), suspend, restore",
                hint.first().map(|h| format!(" (did you mean `{h}`?)")).unwrap_or_default()
            )
        }
    })
}

fn parse_schedule(text: &str, time_zone: &str) -> anyhow::Result<Schedule> {
    let (kind, arg) = text.split_once(':').map_or((text, ""), |(k, a)| (k, a));
    let kind = match kind.trim() {
        "manual" => ScheduleKind::Manual,
        "once" => ScheduleKind::Once { at: arg.to_owned() },
        "daily" => ScheduleKind::Daily { time: arg.to_owned() },
        "weekly" => {
            let (days, time) = arg
                .split_once('@')
                .ok_or_else(|| anyhow::anyhow!("--schedule weekly needs days and a time: weekly:mon,fri@05:00"))?;
            let days = days
                .split(',')
                .map(|d| {
                    model::from_wire::<Weekday>(&d.trim().to_ascii_lowercase()).ok_or_else(|| {
                        anyhow::anyhow!("--schedule: `{d}` is not a day (mon, tue, wed, thu, fri, sat, sun)")
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            ScheduleKind::Weekly { days, time: time.to_owned() }
        }
        "interval" => ScheduleKind::Interval { every: arg.to_owned() },
        "cron" => ScheduleKind::Cron { expr: arg.trim().to_owned() },
        other => bail!(
            "--schedule `{other}` is not a schedule; expected manual, daily:HH:MM, weekly:mon,fri@HH:MM, \
             interval:6h, cron:EXPR or once:YYYY-MM-DDTHH:MM"
        ),
    };
    Ok(Schedule { kind, time_zone: time_zone.to_owned() })
}

fn task_input(args: &TaskArgs) -> anyhow::Result<TaskInput> {
    if let Some(file) = &args.file {
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
        let mut deserializer = serde_json::Deserializer::from_str(&text);
        return serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|e| anyhow::anyhow!("{}: {} (at `{}`)", file.display(), e.inner(), e.path()));
    }
    let limit = ExecutionLimit { max_users: args.max_users, max_percent: args.max_percent };
    Ok(TaskInput {
        name: args.name.clone().unwrap_or_default(),
        filter_id: FilterId(args.filter.clone().unwrap_or_default()),
        actions: actions(&args.actions)?,
        schedule: parse_schedule(&args.schedule, &args.time_zone)?,
        active: !args.paused,
        execution_limit: (!limit.is_unbounded()).then_some(limit),
    })
}

fn bulk_input(args: &BulkArgs, confirm: bool) -> anyhow::Result<BulkInput> {
    let filter: UserFilter = args.filter.to_filter();
    let has_criteria = filter != UserFilter::default();
    let (account_ids, filter) = match (args.account_ids.is_empty(), has_criteria, args.everyone) {
        (false, false, _) => (Some(args.account_ids.iter().map(|a| AccountId(a.clone())).collect()), None),
        (false, true, _) => bail!("give either --account-id or filter flags, not both"),
        (true, true, _) | (true, false, true) => (None, Some(filter)),
        (true, false, false) => {
            bail!("say whom: --account-id ID,… or filter flags (see --help); --everyone for every user")
        }
    };
    Ok(BulkInput { name: args.name.clone(), actions: actions(&args.actions)?, account_ids, filter, confirm })
}

/// A task by id, or by name ignoring case.
async fn find_task(service: &TaskService, input: &str) -> anyhow::Result<TaskId> {
    let id = TaskId(input.to_owned());
    match service.task(&id).await {
        Ok(task) => return Ok(task.task_id),
        Err(TaskError::NotFound(_)) => {}
        Err(e) => return Err(explain(e)),
    }
    let tasks = service.tasks().await.map_err(explain)?;
    let wanted = input.trim().to_lowercase();
    if let Some(task) = tasks.iter().find(|t| t.name.to_lowercase() == wanted) {
        return Ok(task.task_id.clone());
    }
    let close = model::suggest::closest(input, tasks.iter().map(|t| t.name.as_str()), 3);
    let hint = if close.is_empty() { String::new() } else { format!(" (did you mean: {}?)", close.join(", ")) };
    bail!("there is no task with the id or name `{input}`{hint}; `ucm tasks list` shows them")
}

/// A task error for people: every field problem on its own line, named by the flag that
/// sets it (and the JSON field, for `--file`).
fn explain(error: TaskError) -> anyhow::Error {
    match error {
        TaskError::Invalid(problems) => super::list_problems("this cannot be used", &problems, flag_for),
        other => other.into(),
    }
}

/// `actions[1].groupIds[0]` → `--action #2 (actions[1].groupIds[0])`.
fn flag_for(field: &str) -> String {
    let numbered = |rest: &str, flag: &str| -> Option<String> {
        let (index, _) = rest.split_once(']')?;
        let n: usize = index.parse().ok()?;
        Some(format!("{flag} #{} ({field})", n + 1))
    };
    let flag = if let Some(rest) = field.strip_prefix("actions[") {
        numbered(rest, "--action")
    } else if let Some(rest) = field.strip_prefix("accountIds[") {
        numbered(rest, "--account-id")
    } else {
        let plain = match field {
            "name" => Some("--name"),
            "filterId" => Some("--filter"),
            "actions" => Some("--action"),
            "accountIds" => Some("--account-id"),
            "schedule.timeZone" => Some("--time-zone"),
            "executionLimit.maxPercent" => Some("--max-percent"),
            "filter.q" => Some("--search"),
            f if f.starts_with("schedule.") => Some("--schedule"),
            _ => None,
        };
        plain.map(|flag| format!("{flag} ({field})")).or_else(|| {
            let criterion = field.strip_prefix("filter.")?;
            let kebab: String = criterion
                .chars()
                .flat_map(|c| if c.is_ascii_uppercase() { vec!['-', c.to_ascii_lowercase()] } else { vec![c] })
                .collect();
            Some(format!("--{kebab} ({field})"))
        })
    };
    flag.unwrap_or_else(|| field.to_owned())
}
