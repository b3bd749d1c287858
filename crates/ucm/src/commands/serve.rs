//! `ucm serve`: first-start chores (demo data, the initial admin key), then the HTTP server and
//! the scheduler.

use std::io::Write as _;

use anyhow::Context as _;
use model::apikey::{ApiKey, ApiKeyRole};
use model::webhook::Trigger;

use crate::cli::ServeArgs;
use crate::context::Context;
use crate::output::outln;

/// How often an idle flow executor looks for work.
pub const EXECUTOR_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

/// The file the initial admin key is written to, inside the data directory.
pub const ADMIN_KEY_FILE: &str = "admin-api-key";

pub async fn serve(mut context: Context, args: ServeArgs) -> anyhow::Result<()> {
    if let Some(bind) = args.bind {
        context.config.server.bind = bind;
    }
    let addr = context.config.bind_addr()?;
    // Bind first: a taken port fails before any first-start work, and messages name the real port.
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let public_url = if context.config.server.public_url.is_empty() {
        format!("http://{local}")
    } else {
        context.config.server.public_url.clone()
    };
    // Commands run beside this server build their links from the address it answers at.
    context.store.set_served_url(&public_url).await?;
    let state = context.app_state(&public_url)?;
    let tasks = state.tasks.clone();
    // Flows saved before their web requests' credentials were sealed at rest are sealed now.
    let sealed = state.flows.seal_stored_credentials().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    if sealed > 0 {
        tracing::info!(flows = sealed, "sealed the credentials of flows saved before they were sealed at rest");
    }
    // The initial key first: the demo adds a key of its own.
    ensure_initial_key(&context, local).await?;
    if args.demo {
        seed_demo_on_first_start(&context, &state).await?;
    }

    // One signal stops the HTTP server, the scheduler, the dispatcher and the flow executor.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let scheduler = tasks::Scheduler::new(state.tasks.clone(), state.sync_slot.clone());
    let every = context.config.scheduler_interval()?;
    let mut scheduler_stopped = stopped.clone();
    let scheduler = tokio::spawn(scheduler.run(every, async move {
        let _ = scheduler_stopped.wait_for(|stop| *stop).await;
    }));
    // Webhooks to this installation's own flows go to this listener.
    let dispatcher =
        context.dispatcher(state.webhooks.clone(), state.delivery_metrics.clone())?.with_own_flows(&public_url, local);
    let mut dispatcher_stopped = stopped.clone();
    let dispatcher = tokio::spawn(dispatcher.run(std::time::Duration::from_secs(1), async move {
        let _ = dispatcher_stopped.wait_for(|stop| *stop).await;
    }));
    let executor = context.executor(&public_url)?;
    let mut executor_stopped = stopped.clone();
    let executor = tokio::spawn(executor.run(EXECUTOR_INTERVAL, async move {
        let _ = executor_stopped.wait_for(|stop| *stop).await;
    }));

    tracing::info!(%local, public_url, engine = context.store.engine().name(), "listening");
    outln!("ucm is listening on http://{local} (database: {})", context.store.engine().name());
    std::io::stdout().flush()?;
    server::serve(listener, state, async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    })
    .await?;
    let _ = scheduler.await;
    let _ = dispatcher.await;
    let _ = executor.await;
    // Runs started by this process get the chance to finish (or to stop as cancelled).
    tasks.shutdown(std::time::Duration::from_secs(10), std::time::Duration::from_secs(10)).await;
    tracing::info!("stopped");
    Ok(())
}

async fn seed_demo_on_first_start(context: &Context, state: &server::AppState) -> anyhow::Result<()> {
    let existing = context.store.count_users().await?;
    if existing > 0 {
        // `ucm seed-demo` (or an import) came first: keep the directory, and still set up what
        // is missing of the demo.
        eprintln!("The directory already holds {existing} users: no demo organization added.");
    } else {
        let now = context.clock.now();
        let org = directory::demo::organization(context.config.demo.users, now, directory::demo::DEFAULT_SEED);
        let report = context.store.import_directory(&org, &|_| {}).await?;
        eprintln!(
            "Created a demo organization: {} sites, {} groups, {} users.",
            report.sites, report.groups, report.users_created
        );
        if context.store.tasks().await?.is_empty() {
            let names = tasks::demo::create_demo_tasks(&state.tasks).await?;
            eprintln!("Created example tasks (run by hand only): {}.", names.join(", "));
        }
    }
    let flows = context.store.flows().await?.len();
    let webhooks = state.webhooks.list().await?.len();
    if flows == 0 && webhooks == 0 {
        set_up_demo_loop(context, state).await?;
    } else {
        eprintln!(
            "The demo's automation loop is not set up: this installation already has {flows} flow(s) and {webhooks} \
             webhook(s), which it would mix with. Import the recipes yourself with \
             `ucm flows import --file examples/recipes/<recipe>.json`."
        );
    }
    Ok(())
}

/// The four recipes of `examples/recipes/`, and the triggers each is subscribed to.
const RECIPES: [(&str, &str, &[Trigger]); 4] = [
    (
        "1-confluence-audit-page.json",
        include_str!("../../../../examples/recipes/1-confluence-audit-page.json"),
        &[Trigger::TaskSuccess, Trigger::TaskFailure],
    ),
    (
        "2-slack-alert.json",
        include_str!("../../../../examples/recipes/2-slack-alert.json"),
        &[Trigger::TaskSuccess, Trigger::TaskFailure],
    ),
    (
        "3-jira-incident-on-failure.json",
        include_str!("../../../../examples/recipes/3-jira-incident-on-failure.json"),
        &[Trigger::TaskFailure],
    ),
    (
        "4-api-key-expiry-escalation.json",
        include_str!("../../../../examples/recipes/4-api-key-expiry-escalation.json"),
        &[Trigger::OrgKeyExpiry],
    ),
];

/// The loop out of the box (AUTOMATION, issue 8): the four recipes imported and enabled on the
/// `local` connection, each subscribed to its flow's webhook, and an example key that expires
/// within the week, so that the first expiry check fires `orgKeyExpiry`.
async fn set_up_demo_loop(context: &Context, state: &server::AppState) -> anyhow::Result<()> {
    let connections = context.connections()?;
    if connections.get("local").await.is_err() {
        let input = connectors::ConnectionInput {
            name: "local".to_owned(),
            settings: connectors::Settings::Local,
            secret: None,
        };
        connections.create(&input).await?;
    }
    let mut names = Vec::with_capacity(RECIPES.len());
    for (file, text, triggers) in RECIPES {
        let recipe: serde_json::Value = serde_json::from_str(text).with_context(|| format!("recipe {file}"))?;
        let report = state.flows.import(&recipe, "demo").await.with_context(|| format!("recipe {file}"))?;
        for imported in report.flows {
            let flow = state.flows.set_enabled(&imported.flow.flow_id, true).await?;
            let input = webhooks::SubscriptionInput {
                name: flow.definition.name.clone(),
                url: flow.webhook.url.clone(),
                secret: flow.webhook.secret.clone(),
                triggers: triggers.to_vec(),
                notes: format!("The demo's `{}` flow (examples/recipes/{file}).", flow.definition.name),
                enabled: true,
            };
            state.webhooks.create(&input).await?;
            names.push(flow.definition.name);
        }
    }
    let now = context.clock.now();
    let (key, secret) = ApiKey::mint(
        "Demo reporting integration (example)".to_owned(),
        ApiKeyRole::ReadOnly,
        None,
        now,
        now.checked_add(jiff::SignedDuration::from_hours(24 * 5))?,
    );
    // Nobody holds its secret: it exists to expire.
    context.store.insert_api_key(&key, &secret.hash()).await?;
    eprintln!(
        "Set up the automation loop on the `local` connection: {}; each subscribed to its webhooks. \
         An example API key expires in 5 days. What the flows publish: `ucm outputs list`.",
        names.join(", ")
    );
    Ok(())
}

/// With no API key at all, creates an admin key and writes it to a file only the owner can read.
async fn ensure_initial_key(context: &Context, local: std::net::SocketAddr) -> anyhow::Result<()> {
    if context.store.count_api_keys().await? > 0 {
        return Ok(());
    }
    let now = context.clock.now();
    let lifetime = model::apikey::parse_lifetime(&context.config.api_keys.initial_key_lifetime)
        .map_err(|e| anyhow::anyhow!("api_keys.initial_key_lifetime: {e}"))?;
    let (key, secret) =
        ApiKey::mint("initial admin key".to_owned(), ApiKeyRole::Admin, None, now, now.checked_add(lifetime)?);
    let path = context.config.data_dir.join(ADMIN_KEY_FILE);
    // The file first: a key nobody can read would be of no use.
    crate::files::write_private(&path, secret.expose())?;
    context.store.insert_api_key(&key, &secret.hash()).await?;
    eprintln!(
        "Created an admin API key (expires {}) and wrote it to {} (readable only by you).\n\
         Use it as:  curl -H \"Authorization: Bearer $(cat {})\" http://{}/api/v1/users",
        key.expires_at.strftime("%Y-%m-%d"),
        path.display(),
        path.display(),
        local,
    );
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
