//! The `ucm` binary as a person uses it: commands, exit codes, files on disk, and `ucm serve`
//! answering HTTP on 127.0.0.1. Database-backed tests run on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)]

mod atlassian;
mod browser;
mod cli;
mod connections;
mod flows;
mod mcp;
mod serve;
mod tasks;
mod webhooks;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use testkit::TestDb;

/// A `ucm` command in `dir`, pointed at `db` (when given), with no stray `UCM_*` settings.
pub fn ucm(dir: &Path, db: Option<&TestDb>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ucm"));
    command.current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("UCM_") && !key.starts_with("UCM_TEST_") {
            command.env_remove(key);
        }
    }
    command.env("RUST_LOG", "warn");
    if let Some(db) = db {
        command.envs(db.env());
    }
    command
}

/// Runs a command and returns (exit success, stdout, stderr).
pub fn run(command: &mut Command) -> (bool, String, String) {
    let Output { status, stdout, stderr } = command.output().unwrap();
    (status.success(), String::from_utf8(stdout).unwrap(), String::from_utf8(stderr).unwrap())
}

/// Runs a command with `input` on its standard input (a secret for `--secret-stdin`, a document
/// to render) and returns (exit success, stdout, stderr), as [`run`] does.
pub fn run_with_input(command: &mut Command, input: impl AsRef<[u8]>) -> (bool, String, String) {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_ref()).unwrap();
    let Output { status, stdout, stderr } = child.wait_with_output().unwrap();
    (status.success(), String::from_utf8_lossy(&stdout).into_owned(), String::from_utf8_lossy(&stderr).into_owned())
}

/// Writes `text` to `name` in `dir` and returns the path.
pub fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}
