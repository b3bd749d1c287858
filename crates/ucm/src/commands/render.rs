//! `ucm render`: Markdown to a target's format, from a file or standard input.

use std::io::Read as _;

use anyhow::{Context as _, bail};

use crate::cli::{RenderArgs, RenderFormat};
use crate::output::outln;

/// The largest input accepted (a page or a message is far smaller).
const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

pub fn run(args: RenderArgs) -> anyhow::Result<()> {
    let bytes = match args.file.as_deref().filter(|p| p.as_os_str() != "-") {
        None => read_limited(std::io::stdin().lock()).context("cannot read standard input")?,
        Some(path) => {
            let file = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
            read_limited(file).with_context(|| format!("cannot read {}", path.display()))?
        }
    };
    let markdown = String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!("the input is not UTF-8 text (invalid bytes at offset {})", e.utf8_error().valid_up_to())
    })?;
    let output = match args.to {
        RenderFormat::Storage => ::render::to_storage(&markdown),
        RenderFormat::Adf => serde_json::to_string_pretty(&::render::to_adf(&markdown))?,
        RenderFormat::Html => ::render::to_html(&markdown),
        RenderFormat::Mrkdwn => ::render::to_mrkdwn(&markdown),
    };
    outln!("{}", output.trim_end_matches('\n'));
    Ok(())
}

fn read_limited(reader: impl std::io::Read) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        bail!("the input is larger than {} MiB", MAX_INPUT_BYTES / 1024 / 1024);
    }
    Ok(bytes)
}
