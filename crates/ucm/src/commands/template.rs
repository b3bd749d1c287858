//! `ucm template`: render or check a smart-value template.

use anyhow::Context as _;
use smartvalues::{Limits, Template};

use crate::cli::TemplateCommand;
use crate::output::outln;

pub fn run(command: TemplateCommand) -> anyhow::Result<()> {
    match command {
        TemplateCommand::Check { template } => {
            Template::parse(&template).map_err(|e| anyhow::anyhow!("{e}"))?;
            outln!("The template is valid.");
            Ok(())
        }
        TemplateCommand::Eval { template, context, now } => {
            let context: serde_json::Value = match context {
                None => serde_json::json!({}),
                Some(path) => {
                    let text = crate::files::read_text(&path)?;
                    serde_json::from_str(&text).context("the context is not valid JSON")?
                }
            };
            let now: jiff::Timestamp = match now {
                Some(text) => text.parse().with_context(|| format!("--now `{text}` is not an RFC 3339 instant"))?,
                None => jiff::Timestamp::now(),
            };
            let parsed = Template::parse(&template).map_err(|e| anyhow::anyhow!("{e}"))?;
            let rendered = parsed.render(&context, now, &Limits::default()).map_err(|e| anyhow::anyhow!("{e}"))?;
            outln!("{}", rendered.text);
            if !rendered.missing.is_empty() {
                eprintln!("missing (rendered empty): {}", rendered.missing.join(", "));
            }
            Ok(())
        }
    }
}
