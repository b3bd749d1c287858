//! `ucm bench render`: Markdown conversion throughput for each target format, against comrak's
//! own HTML rendering of the same document (parse + render, the same parser options) in the
//! same run. The ratio is each converter's time over the baseline's.

use std::time::{Duration, Instant};

use render::Format;
use serde::Serialize;

use crate::output::outln;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RenderBench {
    input_bytes: usize,
    iterations: usize,
    baseline_mb_per_second: f64,
    formats: Vec<FormatFigures>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FormatFigures {
    format: &'static str,
    mb_per_second: f64,
    output_bytes: usize,
    /// Median time over the baseline's median time.
    time_ratio_to_baseline: f64,
}

pub fn run(size_mb: usize, iterations: usize, json: bool) -> anyhow::Result<()> {
    anyhow::ensure!((1..=256).contains(&size_mb), "--size-mb must be from 1 to 256");
    anyhow::ensure!(iterations > 0, "--iterations must be at least 1");
    let markdown = document(size_mb * 1024 * 1024);
    let options = render::options();
    let megabytes = markdown.len() as f64 / 1_000_000.0;
    let baseline = median(iterations, || comrak::markdown_to_html(&markdown, &options).len());
    let formats = Format::ALL
        .into_iter()
        .map(|format| {
            let output_bytes = render::convert(&markdown, format).len();
            let time = median(iterations, || render::convert(&markdown, format).len());
            FormatFigures {
                format: format.name(),
                mb_per_second: megabytes / time.as_secs_f64(),
                output_bytes,
                time_ratio_to_baseline: time.as_secs_f64() / baseline.as_secs_f64(),
            }
        })
        .collect();
    let result = RenderBench {
        input_bytes: markdown.len(),
        iterations,
        baseline_mb_per_second: megabytes / baseline.as_secs_f64(),
        formats,
    };
    if json {
        return crate::output::json(&result);
    }
    outln!(
        "{:.2} MB of Markdown, median of {} runs; comrak's own HTML: {:.1} MB/s",
        megabytes,
        iterations,
        result.baseline_mb_per_second
    );
    for f in &result.formats {
        outln!(
            "  {:<8} {:>6.1} MB/s  {:>5.2}× comrak's HTML time  ({} bytes out)",
            f.format,
            f.mb_per_second,
            f.time_ratio_to_baseline,
            f.output_bytes
        );
    }
    Ok(())
}

/// The median time of `iterations` runs of `work` (its result is kept so it is not optimised away).
fn median(iterations: usize, mut work: impl FnMut() -> usize) -> Duration {
    let mut times: Vec<Duration> = (0..iterations)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(work());
            started.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// A run report as an agent would write it, repeated to `bytes`: headings, paragraphs with
/// emphasis, links and code, lists, a table, a code block and a quote.
fn document(bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 4096);
    let mut section = 0;
    while out.len() < bytes {
        section += 1;
        out.push_str(&format!(
            "## Run {section}: *Weekly cleanup* on `acme`\n\n\
             The task **suspended 3 users** and removed _Jira_ access from 2; one change ~~failed~~ \
             was retried. See [the run](https://ucm.example/tasks?taskId=t{section}&processId=p{section}) \
             or https://ucm.example/users?accountId=a{section} for details & history.\n\n\
             - Ada Lovelace <ada@example.com>: suspended\n- Bob Smith: removed from `engineering`\n  \
             1. nested detail\n  2. another\n\n\
             | User | Change | Result |\n|---|---|---|\n| Ada | suspend | done |\n| Bob | remove group | failed: 503 |\n\n\
             ```json\n{{\"processId\": \"p{section}\", \"changed\": 3}}\n```\n\n\
             > Note: org admins are never changed.\n\n"
        ));
    }
    out
}
