//! `ucm`: the command line and the wiring. Reusable pieces live in the library crates; this
//! binary reads configuration, opens the store, and calls them.

#![allow(clippy::print_stdout, reason = "a CLI prints its answers")]

mod cli;
mod commands;
mod config;
mod context;
mod files;
mod output;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
