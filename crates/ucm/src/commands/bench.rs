//! `ucm bench`: performance figures, printed (never asserted). Each run measures a baseline in
//! the same process so the ratios mean something on a noisy machine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use directory::{Directory as _, LocalDirectory};
use model::clock::ManualClock;
use model::filter::{PageRequest, UserFilter};
use serde::Serialize;
use store::{Engine, Store};

use crate::cli::BenchCommand;
use crate::config::Config;
use crate::output::outln;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DirectoryBench {
    engine: &'static str,
    users: usize,
    import_seconds: f64,
    import_users_per_second: f64,
    queries: Vec<QueryFigures>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct QueryFigures {
    name: &'static str,
    matched: u64,
    p50_ms: f64,
    p99_ms: f64,
    /// p50 divided by the baseline's p50 (an unfiltered first page).
    ratio_to_baseline: f64,
}

pub async fn run(config: &Config, command: BenchCommand) -> anyhow::Result<()> {
    let (users, queries, json) = match command {
        BenchCommand::Directory { users, queries, json } => (users, queries, json),
        BenchCommand::Templates { iterations, json } => return bench_templates(iterations, json),
        BenchCommand::Render { size_mb, iterations, json } => {
            return super::bench_render::run(size_mb, iterations, json);
        }
        BenchCommand::Tasks { users, reads, json } => return super::bench_tasks::run(config, users, reads, json).await,
        BenchCommand::Atlassian { users, task_users, limit, json } => {
            return super::bench_atlassian::run(config, users, task_users, limit, json).await;
        }
        BenchCommand::Delivery { events, json } => return super::bench_delivery::run(config, events, json).await,
        BenchCommand::Automation { requests, json } => {
            return super::bench_automation::run(config, requests, json).await;
        }
        BenchCommand::Agent { users, reads, render_users, json } => {
            return super::bench_agent::run(config, users, reads, render_users, json).await;
        }
    };
    anyhow::ensure!(users > 0 && queries > 0, "--users and --queries must be at least 1");
    let results = on_scratch_stores(config, async |store| bench_directory(store, users, queries).await).await?;

    if json {
        return crate::output::json(&results);
    }
    for r in &results {
        outln!(
            "{}: imported {} users in {:.2} s = {:.0} users/s",
            r.engine,
            r.users,
            r.import_seconds,
            r.import_users_per_second
        );
        let rows: Vec<Vec<String>> = r
            .queries
            .iter()
            .map(|q| {
                vec![
                    q.name.to_owned(),
                    q.matched.to_string(),
                    format!("{:.2}", q.p50_ms),
                    format!("{:.2}", q.p99_ms),
                    format!("{:.2}×", q.ratio_to_baseline),
                ]
            })
            .collect();
        crate::output::table(
            &["QUERY (first page of 20 + total)", "MATCHED", "P50 MS", "P99 MS", "VS BASELINE"],
            &rows,
        );
        outln!();
    }
    Ok(())
}

/// Runs `measure` on a scratch SQLite database and, when the configuration points at
/// PostgreSQL, on a scratch schema there; each is removed after its measurement, whatever the
/// outcome. Your data is never touched.
pub(crate) async fn on_scratch_stores<T>(
    config: &Config,
    measure: impl AsyncFn(&Store) -> anyhow::Result<T>,
) -> anyhow::Result<Vec<T>> {
    let mut results = Vec::new();

    let dir = std::env::temp_dir().join(format!("ucm-bench-{}", model::random::secret_text(6)));
    std::fs::create_dir_all(&dir)?;
    let sqlite_url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    let outcome = measure_on(&sqlite_url, &store::StoreOptions::default(), &measure).await;
    let _ = std::fs::remove_dir_all(&dir);
    results.push(outcome?);

    let url = config.database_url();
    if Engine::from_url(&url)? == Engine::Postgres {
        let schema =
            format!("ucm_bench_{}", model::random::secret_text(6).to_ascii_lowercase().replace(['-', '_'], "x"));
        store::create_postgres_schema(&url, &schema).await?;
        let options = store::StoreOptions { postgres_schema: Some(schema.clone()), ..config.store_options() };
        let outcome = measure_on(&url, &options, &measure).await;
        store::drop_postgres_schema(&url, &schema).await?;
        results.push(outcome?);
    } else {
        eprintln!("(PostgreSQL skipped: set UCM_DATABASE_URL=postgres://… to measure it too)");
    }
    Ok(results)
}

/// Opens a store, measures it, and closes it whatever the outcome.
async fn measure_on<T>(
    url: &str,
    options: &store::StoreOptions,
    measure: &impl AsyncFn(&Store) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let store = Store::open(url, options).await?;
    let outcome = measure(&store).await;
    store.close().await;
    outcome
}

async fn bench_directory(store: &Store, users: usize, queries: usize) -> anyhow::Result<DirectoryBench> {
    let now = jiff::Timestamp::now();
    let org = directory::demo::organization(users, now, directory::demo::DEFAULT_SEED);
    let started = Instant::now();
    store.import_directory(&org, &|_| {}).await?;
    let import = started.elapsed().as_secs_f64();

    let directory = LocalDirectory::new(store.clone(), Arc::new(ManualClock::new(now)));
    let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let cases: [(&'static str, UserFilter); 4] = [
        ("baseline: everyone", UserFilter::default()),
        (
            "inactive 30 days in JSM",
            UserFilter { apps: strings(&["JSM"]), inactive_days: Some(30), ..UserFilter::default() },
        ),
        ("member of engineering", UserFilter { groups: strings(&["engineering"]), ..UserFilter::default() }),
        (
            "email domain + status",
            UserFilter {
                email_domains: strings(&["acme.com"]),
                statuses: strings(&["active"]),
                ..UserFilter::default()
            },
        ),
    ];
    let mut figures = Vec::new();
    let mut baseline_p50 = 0.0;
    for (name, filter) in cases {
        // One untimed run warms caches and prepares statements.
        let matched = directory.search_users(&filter, &PageRequest::default()).await?.total;
        let mut times: Vec<Duration> = Vec::with_capacity(queries);
        for _ in 0..queries {
            let t = Instant::now();
            directory.search_users(&filter, &PageRequest::default()).await?;
            times.push(t.elapsed());
        }
        times.sort();
        let ms = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
        let (p50, p99) = (ms(0.50), ms(0.99));
        if baseline_p50 == 0.0 {
            baseline_p50 = p50;
        }
        figures.push(QueryFigures { name, matched, p50_ms: p50, p99_ms: p99, ratio_to_baseline: p50 / baseline_p50 });
    }
    Ok(DirectoryBench {
        engine: store.engine().name(),
        users,
        import_seconds: import,
        import_users_per_second: users as f64 / import,
        queries: figures,
    })
}

const SMART_TEMPLATE: &str = "{{#if(equals(outcome, \"success\"))}}:white_check_mark:{{/}}\
{{#if(equals(outcome, \"failure\"))}}:x:{{/}} *{{name}}* finished \
{{finishedAt.toDate.format(\"yyyy-MM-dd HH:mm\")}} (started {{startedAt.toDate.mediumDateTime}})
Updated {{summary.usersUpdated}} of {{summary.usersMatched}} users, {{summary.failedCount}} failed.
{{#users}}- <{{url}}|{{displayName}}> ({{email}}){{#if(suspended)}} suspended{{/}}{{^last}}
{{/}}{{/}}";

const JINJA_TEMPLATE: &str = "{% if outcome == \"success\" %}:white_check_mark:{% endif %}\
{% if outcome == \"failure\" %}:x:{% endif %} *{{ name }}* finished \
{{ finishedAt|datefmt(\"%Y-%m-%d %H:%M\") }} (started {{ startedAt|datefmt(\"%b %-d, %Y %-I:%M:%S %p\") }})
Updated {{ summary.usersUpdated }} of {{ summary.usersMatched }} users, {{ summary.failedCount }} failed.
{% for u in users %}- <{{ u.url }}|{{ u.displayName }}> ({{ u.email }}){% if u.suspended %} suspended{% endif %}\
{% if not loop.last %}
{% endif %}{% endfor %}";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TemplateBench {
    iterations: usize,
    outputs_identical: bool,
    smartvalues_parse_micros: f64,
    smartvalues_renders_per_second: f64,
    minijinja_renders_per_second: f64,
    /// minijinja's rate divided by ours: above 1 means minijinja is faster.
    minijinja_speed_ratio: f64,
}

fn bench_templates(iterations: usize, json: bool) -> anyhow::Result<()> {
    anyhow::ensure!(iterations > 0, "--iterations must be at least 1");
    let users: Vec<serde_json::Value> = (0..10)
        .map(|i| {
            serde_json::json!({
                "displayName": format!("User {i} & <Co>"),
                "email": format!("user{i}@example.com"),
                "url": format!("http://127.0.0.1:8080/users?accountId=u{i}"),
                "suspended": i % 3 == 0,
            })
        })
        .collect();
    let context = serde_json::json!({
        "outcome": "success",
        "name": "Deactivate inactive users",
        "startedAt": "2026-11-28T05:10:00Z",
        "finishedAt": "2026-11-28T05:10:03Z",
        "summary": {"usersUpdated": 34, "usersMatched": 40, "failedCount": 2},
        "users": users,
    });
    let now = jiff::Timestamp::now();
    let limits = smartvalues::Limits::default();

    let started = Instant::now();
    for _ in 0..iterations.min(5_000) {
        std::hint::black_box(smartvalues::Template::parse(SMART_TEMPLATE).map_err(|e| anyhow::anyhow!("{e}"))?);
    }
    let parse_micros = started.elapsed().as_secs_f64() * 1e6 / iterations.min(5_000) as f64;

    // Both engines get their context converted once, outside the timed loop.
    let template = smartvalues::Template::parse(SMART_TEMPLATE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let smart_context = smartvalues::Value::from_json(&context);
    let ours = template.render_value(&smart_context, now, &limits)?.text;
    let started = Instant::now();
    for _ in 0..iterations {
        std::hint::black_box(template.render_value(&smart_context, now, &limits)?);
    }
    let ours_rate = iterations as f64 / started.elapsed().as_secs_f64();

    let mut env = minijinja::Environment::new();
    env.add_filter("datefmt", |value: String, format: String| -> Result<String, minijinja::Error> {
        let at: jiff::Timestamp =
            value.parse().map_err(|e| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, format!("{e}")))?;
        Ok(at.strftime(&format).to_string())
    });
    env.add_template("summary", JINJA_TEMPLATE)?;
    let jinja = env.get_template("summary")?;
    let jinja_context = minijinja::Value::from(minijinja::value::Serde(&context));
    let theirs = jinja.render(&jinja_context)?;
    let started = Instant::now();
    for _ in 0..iterations {
        std::hint::black_box(jinja.render(&jinja_context)?);
    }
    let theirs_rate = iterations as f64 / started.elapsed().as_secs_f64();

    let result = TemplateBench {
        iterations,
        outputs_identical: ours == theirs,
        smartvalues_parse_micros: parse_micros,
        smartvalues_renders_per_second: ours_rate,
        minijinja_renders_per_second: theirs_rate,
        minijinja_speed_ratio: theirs_rate / ours_rate,
    };
    if json {
        return crate::output::json(&result);
    }
    outln!(
        "smart values: parse {:.1} µs, {:.0} renders/s",
        result.smartvalues_parse_micros,
        result.smartvalues_renders_per_second
    );
    outln!(
        "minijinja:    {:.0} renders/s (same output: {})",
        result.minijinja_renders_per_second,
        if result.outputs_identical { "yes" } else { "NO" }
    );
    outln!("ratio:        minijinja renders {:.2}× as fast", result.minijinja_speed_ratio);
    if !result.outputs_identical {
        outln!("\n--- smart values\n{ours}\n--- minijinja\n{theirs}");
    }
    Ok(())
}
