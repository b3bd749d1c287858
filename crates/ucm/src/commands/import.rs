//! `ucm import` and `ucm seed-demo`: data in, all or nothing, with progress on a terminal.

use std::io::IsTerminal as _;

use anyhow::{Context as _, bail};
use directory::import::{self, Format};
use indicatif::{ProgressBar, ProgressStyle};
use store::ImportReport;

use crate::cli::{FileFormat, ImportArgs, SeedDemoArgs};
use crate::context::Context;
use crate::output::outln;

pub async fn import(context: &Context, args: ImportArgs) -> anyhow::Result<()> {
    let format = match (args.format, Format::from_path(&args.file)) {
        (Some(FileFormat::Json), _) => Format::Json,
        (Some(FileFormat::Csv), _) => Format::Csv,
        (None, Some(format)) => format,
        (None, None) => {
            bail!("cannot tell the format of {} from its name; add --format json or --format csv", args.file.display())
        }
    };
    let text = crate::files::read_text(&args.file)?;
    let now = context.clock.now();
    let spinner = progress_spinner("checking the file");
    let batch = import::prepare(&context.store, &text, format, now).await;
    if let Some(spinner) = &spinner {
        spinner.finish_and_clear();
    }
    let batch = batch?;
    let report = write_with_progress(context, &batch).await?;
    print_report(&report);
    Ok(())
}

pub async fn seed_demo(context: &Context, args: SeedDemoArgs) -> anyhow::Result<()> {
    let existing = context.store.count_users().await?;
    if existing > 0 && !args.force {
        bail!("the directory already holds {existing} users; add --force to add the demo organization anyway");
    }
    if args.users == 0 || args.users > 1_000_000 {
        bail!("--users must be between 1 and 1000000");
    }
    let org = directory::demo::organization(args.users, context.clock.now(), args.seed);
    let report = write_with_progress(context, &org).await?;
    print_report(&report);
    if context.store.tasks().await?.is_empty() {
        let service = context.task_service(&context.public_url())?;
        match tasks::demo::create_demo_tasks(&service).await {
            Ok(names) => outln!("Created example tasks (run by hand only): {}.", names.join(", ")),
            Err(e) => eprintln!("note: the example tasks were not created: {e}"),
        }
    }
    Ok(())
}

async fn write_with_progress(context: &Context, batch: &store::DirectoryImport) -> anyhow::Result<ImportReport> {
    let total = batch.users.len() as u64;
    let bar = (std::io::stderr().is_terminal() && total >= 1_000).then(|| {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} users ({per_sec}, {eta} left)")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message("importing");
        bar
    });
    let progress = |written: u64| {
        if let Some(bar) = &bar {
            bar.set_position(written);
        }
    };
    let report = context.store.import_directory(batch, &progress).await.context("nothing was imported")?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(report)
}

fn progress_spinner(message: &'static str) -> Option<ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let spinner = ProgressBar::new_spinner();
        spinner.set_message(message);
        spinner.enable_steady_tick(std::time::Duration::from_millis(120));
        spinner
    })
}

fn print_report(report: &ImportReport) {
    outln!(
        "Imported {} site(s), {} group(s) and {} user(s) ({} new, {} updated).",
        report.sites,
        report.groups,
        report.users_created + report.users_updated,
        report.users_created,
        report.users_updated
    );
}
