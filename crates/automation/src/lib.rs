//! The automation engine (AUTOMATION.md): flows, a trigger and ordered steps, saved after
//! every problem of their definition is found at once, with the incoming webhook's URL and
//! secret minted on the first save ([`flows`]); receiving that webhook: checked, stored as a
//! queued execution, then accepted ([`receive`]); and running executions with a lease, every
//! step recorded for the audit log, a chain of flows stopped at depth 10 (`LOOP`), a flow over
//! its time budget held back (`THROTTLED`), old records deleted ([`execute`]); export and
//! import in Atlassian Automation's rule shape ([`transfer`]).

pub mod execute;
pub mod flows;
pub mod receive;
pub mod transfer;

pub use execute::{ExecutionStatus, ExecutionView, Executor, ExecutorSettings, StepRecord, StepStatus};
pub use flows::{Flow, FlowError, Flows, ImportReport, ImportedFlow, WebhookEndpoint};
pub use receive::{Accepted, Incoming, MAX_BODY_BYTES, MAX_CHAIN_DEPTH, MAX_QUEUED, RateLimit, Refusal};
pub use transfer::{ExportFile, UnknownComponent};
