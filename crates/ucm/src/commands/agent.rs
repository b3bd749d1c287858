//! `ucm agent`: the agent's built-in formats of a run.

use model::ids::ProcessId;

use crate::cli::{AgentCommand, AgentFormat};
use crate::context::Context;
use crate::output::outln;

/// The most users a rendering lists (the Slack summary shows ten; the tables show them all).
const MAX_USERS: usize = 100_000;

pub async fn run(context: &Context, command: AgentCommand) -> anyhow::Result<()> {
    match command {
        AgentCommand::Format { format, process_id } => {
            let service = context.task_service(&context.public_url())?;
            let record = service.full_record(&ProcessId(process_id), MAX_USERS).await?;
            let format = match format {
                AgentFormat::ConfluenceAudit => agent::Format::ConfluenceAudit,
                AgentFormat::SlackSummary => agent::Format::SlackSummary,
                AgentFormat::JiraIncident => agent::Format::JiraIncident,
            };
            outln!("{}", agent::render(format, &record).trim_end());
            Ok(())
        }
    }
}
