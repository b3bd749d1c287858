//! Running flows: the executor claims queued executions (and those whose process stopped, once
//! their lease lapses), runs the flow's steps with smart values rendered in every field, and
//! records each step for the audit log (AUTOMATION §5): what each template became, what came
//! back, what went wrong.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agent::Tools;
use agent::llm::LlmBackend;
use connectors::{Connections, Settings};
use model::clock::Clock;
use model::flow::{Branch, Comparison, Match, Operator, Step};
use model::ids::ProcessId;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use store::{Store, StoreError, StoredExecution};
use utoipa::ToSchema;

use crate::flows::Flows;

/// The largest regular expression a comparison compiles (bytes of compiled program).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// How an execution ended (AUTOMATION §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Success,
    /// Some actions failed, others did not.
    SomeErrors,
    /// Every action failed, or the execution could not run.
    Failure,
    /// A condition stopped the flow before any action.
    NoActionsPerformed,
    /// The flow used its time budget: this execution did not run.
    Throttled,
    /// A chain of flows triggering each other went too deep: this execution did not run.
    Loop,
    /// The flow was disabled after the request was accepted: this execution did not run.
    Aborted,
}

impl ExecutionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::SomeErrors => "SOME_ERRORS",
            Self::Failure => "FAILURE",
            Self::NoActionsPerformed => "NO_ACTIONS_PERFORMED",
            Self::Throttled => "THROTTLED",
            Self::Loop => "LOOP",
            Self::Aborted => "ABORTED",
        }
    }
}

/// How one step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepStatus {
    Success,
    Failure,
    /// A condition that did not hold: the rest of its branch did not run.
    ConditionNotMet,
}

/// One step's audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepRecord {
    /// Where the step is (`steps[1]`, `steps[2].branches[0].steps[1]`).
    pub path: String,
    /// The step's type (`slack.message.send`).
    #[serde(rename = "type")]
    pub step_type: String,
    /// The work item this pass was for (`provided` triggers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_item: Option<String>,
    pub status: StepStatus,
    pub duration_ms: u64,
    /// What each field's template became (credentials in headers redacted).
    #[schema(value_type = Object)]
    pub inputs: Map<String, Value>,
    /// What the step produced (`agentResponse`, `createdPage`, …).
    #[schema(value_type = Object)]
    pub outputs: Map<String, Value>,
    /// Missing values, fallbacks, errors, in words.
    pub messages: Vec<String>,
}

/// How the executor runs.
#[derive(Debug, Clone)]
pub struct ExecutorSettings {
    /// How long a claim holds; an execution not finished by then is run again by whoever
    /// claims it next (its process is taken to have stopped).
    pub lease: Duration,
    /// Executions one worker runs before it looks at the clock and the shutdown again.
    pub batch: u32,
    /// Executions run at the same time in this process (each worker claims one at a time).
    pub concurrency: usize,
    /// The processing time a flow may use in any hour; past it, executions are `THROTTLED`.
    pub time_budget_per_hour: Duration,
    /// Finished executions older than this are deleted.
    pub retention: Duration,
}

impl Default for ExecutorSettings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(300),
            batch: 10,
            concurrency: 4,
            time_budget_per_hour: Duration::from_secs(600),
            retention: Duration::from_secs(90 * 24 * 3600),
        }
    }
}

/// Runs accepted requests of every flow.
#[derive(Debug, Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    flows: Flows,
    store: Store,
    tools: Tools,
    llm: Option<LlmBackend>,
    connections: Connections,
    clock: Arc<dyn Clock>,
    public_url: String,
    owner: String,
    settings: ExecutorSettings,
    /// Each flow's processing in the last hour, as last read plus what this process added.
    spent: std::sync::Mutex<HashMap<String, Spent>>,
}

/// A flow's processing time in the last hour (ms), read from the store at `read_at`.
#[derive(Debug, Clone, Copy)]
struct Spent {
    read_at: Instant,
    used_ms: i64,
}

/// How long a read of a flow's processing time is used before it is read again: the sum is
/// over every execution of the hour, too much to read for each one.
const SPENT_FRESH: Duration = Duration::from_secs(1);

/// An execution claimed this many times without finishing is failed, not claimed again: its
/// process died each time it ran (a crash, an out-of-memory kill).
const MAX_CLAIMS: u32 = 3;

/// What the audit log says of a step, or an execution, that panicked (the panic is in the log).
const INTERNAL_ERROR: &str = "internal error: the execution stopped unexpectedly; the details are in the server log";

/// What the audit log says where this process stopped because it lost its claim.
const CLAIM_LOST: &str =
    "not run here: this process lost its claim on the execution (another process may have taken it over)";

/// The state of one pass through a flow's steps.
struct Pass<'r> {
    /// How many flows led here; a web request from this pass says one more.
    depth: u32,
    context: Value,
    work_item: Option<String>,
    /// The execution's records, steps appended as they end (kept if a later step panics).
    records: &'r mut Vec<StepRecord>,
    /// The claim on the execution: no step starts once it is not surely held.
    claim: &'r worker::Claim,
    claim_lost: bool,
    actions_done: usize,
    /// Steps that failed: actions, and conditions or agent steps that could not run.
    steps_failed: usize,
    stopped_by_condition: bool,
}

/// Whether the steps after this one run.
enum Next {
    Continue,
    Stop,
}

impl Executor {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        flows: Flows,
        store: Store,
        tools: Tools,
        llm: Option<LlmBackend>,
        connections: Connections,
        clock: Arc<dyn Clock>,
        public_url: &str,
        settings: ExecutorSettings,
    ) -> Self {
        let owner = format!("ucm-{}", model::ids::new_uuid());
        let public_url = public_url.trim_end_matches('/').to_owned();
        let spent = std::sync::Mutex::default();
        Self {
            inner: Arc::new(Inner { flows, store, tools, llm, connections, clock, public_url, owner, settings, spent }),
        }
    }

    /// Claims what is due and runs it; how many executions finished.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let inner = &self.inner;
        let mut finished = 0;
        // One at a time, so each execution's lease starts when it does: a batch claimed together
        // would have its last ones' leases run out while they wait.
        for _ in 0..inner.settings.batch {
            let now = inner.clock.now();
            let until = self.lease_until(now);
            // Each claim its own holder, so another worker of this process cannot take it for
            // its own, nor finish it in its place.
            let holder = format!("{}/{}", inner.owner, model::ids::new_uuid());
            let Some(execution) = inner.store.claim_executions(&holder, now, until, 1).await?.pop() else {
                break;
            };
            if self.run_claimed(&execution).await? {
                finished += 1;
            }
        }
        Ok(finished)
    }

    /// A test run: `payload` as the webhook's body, run now, whether the flow is enabled or not
    /// (no secret, no rate); its execution is in the audit log like any other.
    pub async fn test_run(&self, flow_id: &str, payload: &Value) -> Result<ExecutionView, crate::FlowError> {
        let inner = &self.inner;
        let flow = inner.flows.get(flow_id, false).await?;
        let model::flow::FlowTrigger::IncomingWebhook { work_items } = flow.definition.trigger;
        let work_items = crate::receive::work_items_of(payload, work_items).map_err(|refusal| {
            crate::FlowError::Invalid(vec![model::filter::FieldProblem::new("payload", "", refusal.to_string())])
        })?;
        let now = inner.clock.now();
        // Stored already claimed by this process: the background loop cannot take it first.
        let execution = StoredExecution {
            id: model::ids::new_uuid(),
            flow_id: flow_id.to_owned(),
            state: "running".to_owned(),
            status: None,
            webhook_id: None,
            body: payload.to_string(),
            work_items: work_items.map(|items| Value::from(items).to_string()),
            source: "test run".to_owned(),
            auth: "test".to_owned(),
            received_at: now,
            started_at: Some(now),
            finished_at: None,
            steps: None,
            duration_ms: None,
            depth: 0,
            owner: Some(inner.owner.clone()),
            lease_until: Some(self.lease_until(now)),
            claims: 0,
        };
        inner.store.insert_execution(&execution).await?;
        self.run_claimed(&execution).await?;
        inner.flows.execution(&execution.id).await
    }

    fn lease_until(&self, now: jiff::Timestamp) -> jiff::Timestamp {
        let lease =
            jiff::SignedDuration::try_from(self.inner.settings.lease).unwrap_or(jiff::SignedDuration::from_secs(300));
        now.checked_add(lease).unwrap_or(jiff::Timestamp::MAX)
    }

    fn spent(&self) -> std::sync::MutexGuard<'_, HashMap<String, Spent>> {
        self.inner.spent.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A flow's processing time in the last hour (ms): read from the store at most once every
    /// [`SPENT_FRESH`], this process's own executions added in between.
    async fn time_used(&self, flow_id: &str) -> Result<i64, StoreError> {
        if let Some(spent) = self.spent().get(flow_id).filter(|s| s.read_at.elapsed() < SPENT_FRESH) {
            return Ok(spent.used_ms);
        }
        let inner = &self.inner;
        let hour_ago =
            inner.clock.now().checked_sub(jiff::SignedDuration::from_hours(1)).unwrap_or(jiff::Timestamp::MIN);
        let used_ms = inner.store.execution_time_since(flow_id, hour_ago).await?;
        self.spent().insert(flow_id.to_owned(), Spent { read_at: Instant::now(), used_ms });
        Ok(used_ms)
    }

    /// Runs an execution this process claimed and records it; false if the claim lapsed first.
    /// A panic while it runs ends it as a failure with an internal error, not the worker.
    async fn run_claimed(&self, execution: &StoredExecution) -> Result<bool, StoreError> {
        let inner = &self.inner;
        let started = Instant::now();
        let holder = execution.owner.clone().unwrap_or_else(|| inner.owner.clone());
        let used = self.time_used(&execution.flow_id).await?;
        let budget = i64::try_from(inner.settings.time_budget_per_hour.as_millis()).unwrap_or(i64::MAX);
        // The claim is renewed while the steps run: a long execution is not taken over and
        // run a second time while it is still running.
        let claim = self.keep_claim(&execution.id, &holder);
        let mut records = Vec::new();
        let status = if execution.claims > MAX_CLAIMS {
            let note = format!(
                "this execution was started {} times and never finished (the process running it stopped each \
                 time); it is not run again",
                execution.claims - 1
            );
            records.push(note_record(&note));
            ExecutionStatus::Failure
        } else if used > budget {
            let note = format!(
                "the flow used {} s of processing in the last hour, over its budget of {} s; this execution did not run",
                used / 1000,
                budget / 1000
            );
            records.push(note_record(&note));
            ExecutionStatus::Throttled
        } else {
            let what = format!("flow execution {}", execution.id);
            match worker::isolate(&what, self.execute(execution, &claim, &mut records)).await {
                Ok(status) => status,
                Err(_) => {
                    records.push(note_record(INTERNAL_ERROR));
                    ExecutionStatus::Failure
                }
            }
        };
        // Credentials the request carried, and flow secrets in webhook paths, never reach the
        // audit log, whichever step's input or output they ended up in.
        let body: Value = serde_json::from_str(&execution.body).unwrap_or(Value::Null);
        let secrets = credential_values(&body);
        for record in &mut records {
            for value in record.inputs.values_mut().chain(record.outputs.values_mut()) {
                scrub(value, &secrets);
            }
            for message in &mut record.messages {
                *message = scrub_text(message, &secrets);
            }
        }
        let steps = serde_json::to_string(&records).unwrap_or_else(|_| "[]".to_owned());
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let kept = inner
            .store
            .finish_execution(&execution.id, &holder, status.as_str(), &steps, inner.clock.now(), duration_ms)
            .await?;
        drop(claim);
        if kept && let Some(spent) = self.spent().get_mut(&execution.flow_id) {
            spent.used_ms = spent.used_ms.saturating_add(duration_ms);
        }
        if kept {
            tracing::info!(execution = %execution.id, flow = %execution.flow_id, status = status.as_str(), duration_ms, "flow executed");
        } else {
            tracing::warn!(execution = %execution.id, "the execution's claim lapsed before it finished; its result was not kept");
        }
        Ok(kept)
    }

    /// The claim on execution `id`, renewed every third of the lease while it is kept.
    fn keep_claim(&self, id: &str, holder: &str) -> worker::Claim {
        let executor = self.clone();
        let (id, holder) = (id.to_owned(), holder.to_owned());
        worker::Claim::renewed(format!("flow execution {id}"), self.inner.settings.lease, move || {
            let (executor, id, holder) = (executor.clone(), id.clone(), holder.clone());
            async move {
                let until = executor.lease_until(executor.inner.clock.now());
                executor.inner.store.renew_execution_lease(&id, &holder, until).await
            }
        })
    }

    /// Deletes finished executions older than the retention; how many.
    pub async fn delete_expired(&self) -> Result<u64, StoreError> {
        let retention =
            jiff::SignedDuration::try_from(self.inner.settings.retention).unwrap_or(jiff::SignedDuration::MAX);
        let before = self.inner.clock.now().checked_sub(retention).unwrap_or(jiff::Timestamp::MIN);
        self.inner.store.delete_executions_before(before).await
    }

    /// Runs due executions with `settings.concurrency` workers, each looking for work every
    /// `every` when there is none, until `shutdown` completes (executions in hand are
    /// finished); the first worker also deletes expired records once an hour.
    pub async fn run(self, every: Duration, shutdown: impl Future<Output = ()>) {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let workers: Vec<_> = (0..self.inner.settings.concurrency.max(1))
            .map(|worker| {
                let executor = self.clone();
                let stopped = stopped.clone();
                tokio::spawn(async move { executor.work(every, worker == 0, stopped).await })
            })
            .collect();
        shutdown.await;
        let _ = stop.send(true);
        for worker in workers {
            let _ = worker.await;
        }
    }

    /// One worker: runs executions while there are some, looking at the shutdown and the
    /// cleanup's hour after every `batch`; sleeps `every` when there are none.
    async fn work(self, every: Duration, cleans_up: bool, mut stopped: tokio::sync::watch::Receiver<bool>) {
        let mut last_cleanup: Option<Instant> = None;
        loop {
            if cleans_up && last_cleanup.is_none_or(|at| at.elapsed() >= Duration::from_secs(3600)) {
                last_cleanup = Some(Instant::now());
                match self.delete_expired().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "expired flow executions deleted"),
                    Err(e) => tracing::warn!(error = %e, "cannot delete expired flow executions"),
                }
            }
            // An execution's panic is caught where it runs; one anywhere else in the pass (logged
            // by `isolate`) still leaves the worker working.
            let finished = match worker::isolate("flow executor pass", self.run_once()).await {
                Ok(Ok(finished)) => finished,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "cannot claim flow executions; trying again shortly");
                    0
                }
                Err(_) => 0,
            };
            if *stopped.borrow() {
                return;
            }
            if finished == 0 {
                tokio::select! {
                    _ = stopped.wait_for(|stop| *stop) => return,
                    () = tokio::time::sleep(every) => {}
                }
            }
        }
    }

    /// Runs one execution (once, or once per work item), appending each step's record to
    /// `records` as it ends; how it ended.
    async fn execute(
        &self,
        execution: &StoredExecution,
        claim: &worker::Claim,
        records: &mut Vec<StepRecord>,
    ) -> ExecutionStatus {
        let flow = match self.inner.flows.get(&execution.flow_id, false).await {
            Ok(flow) => flow,
            Err(e) => {
                records.push(note_record(&e.to_string()));
                return ExecutionStatus::Failure;
            }
        };
        // A test run runs a disabled flow on purpose; a request waiting when its flow was
        // disabled does not run.
        if !flow.definition.enabled && execution.auth != "test" {
            records.push(note_record("the flow was disabled after this request was accepted; it did not run"));
            return ExecutionStatus::Aborted;
        }
        let body: Value = serde_json::from_str(&execution.body).unwrap_or(Value::Null);
        let items: Vec<Option<String>> = match execution.work_items.as_deref().map(serde_json::from_str::<Vec<String>>)
        {
            Some(Ok(items)) => items.into_iter().map(Some).collect(),
            _ => vec![None],
        };
        let (mut done, mut failed, mut stopped) = (0, 0, false);
        for item in items {
            let mut context = json!({"webhookData": body});
            if let Some(key) = &item {
                context["issue"] = json!({"key": key});
            }
            let mut pass = Pass {
                depth: execution.depth,
                context,
                work_item: item,
                records: &mut *records,
                claim,
                claim_lost: false,
                actions_done: 0,
                steps_failed: 0,
                stopped_by_condition: false,
            };
            self.run_steps(&flow.definition.steps, "", &mut pass).await;
            done += pass.actions_done;
            failed += pass.steps_failed;
            stopped |= pass.stopped_by_condition && pass.actions_done + pass.steps_failed == 0;
            if pass.claim_lost {
                break;
            }
        }
        match (done, failed) {
            (0, 0) if stopped => ExecutionStatus::NoActionsPerformed,
            (_, 0) => ExecutionStatus::Success,
            (0, _) => ExecutionStatus::Failure,
            _ => ExecutionStatus::SomeErrors,
        }
    }

    /// Runs `steps` in order until one stops the branch, or the claim on the execution is no
    /// longer surely held (then nothing more runs: another process may be running it).
    async fn run_steps(&self, steps: &[Step], prefix: &str, pass: &mut Pass<'_>) -> Next {
        for (i, step) in steps.iter().enumerate() {
            let path = format!("{prefix}steps[{i}]");
            if pass.claim_lost || !pass.claim.held() {
                if !pass.claim_lost {
                    let mut record = note_record(CLAIM_LOST);
                    (record.path, record.step_type) = (path, step.type_name().to_owned());
                    pass.records.push(record);
                    pass.steps_failed += 1;
                    pass.claim_lost = true;
                }
                return Next::Stop;
            }
            let next = Box::pin(self.run_step(step, &path, pass)).await;
            if matches!(next, Next::Stop) {
                return Next::Stop;
            }
        }
        Next::Continue
    }

    async fn run_step(&self, step: &Step, path: &str, pass: &mut Pass<'_>) -> Next {
        let started = Instant::now();
        let mut record = StepRecord {
            path: path.to_owned(),
            step_type: step.type_name().to_owned(),
            work_item: pass.work_item.clone(),
            status: StepStatus::Success,
            duration_ms: 0,
            inputs: Map::new(),
            outputs: Map::new(),
            messages: Vec::new(),
        };
        let mut next = Next::Continue;
        match step {
            Step::Condition(comparison) => match self.holds(comparison, pass, &mut record) {
                Ok(true) => {}
                Ok(false) => {
                    record.status = StepStatus::ConditionNotMet;
                    pass.stopped_by_condition = true;
                    next = Next::Stop;
                }
                Err(e) => {
                    record.status = StepStatus::Failure;
                    record.messages.push(e);
                    pass.steps_failed += 1;
                    next = Next::Stop;
                }
            },
            Step::IfElse { branches } => {
                let chosen = self.choose(branches, pass, &mut record);
                record.outputs.insert("branch".to_owned(), chosen.map_or(Value::Null, Value::from));
                record.duration_ms = elapsed_ms(started);
                pass.records.push(record);
                match chosen {
                    Some(index) => {
                        // A condition inside the branch stops the rest of that branch only.
                        let prefix = format!("{path}.branches[{index}].");
                        self.run_steps(&branches[index].steps, &prefix, pass).await;
                    }
                    None => pass.stopped_by_condition = true,
                }
                return Next::Continue;
            }
            Step::Log { message } => match self.render(message, "message", pass, &mut record) {
                Ok(text) => record.messages.push(text),
                Err(e) => {
                    record.status = StepStatus::Failure;
                    record.messages.push(e);
                    pass.steps_failed += 1;
                }
            },
            Step::VariableCreate { name, value } => match self.render(value, "value", pass, &mut record) {
                Ok(text) => {
                    pass.context[name.as_str()] = Value::String(text.clone());
                    record.outputs.insert(name.clone(), Value::String(text));
                }
                // Left unset: later steps note it as missing rather than use an empty text.
                Err(e) => {
                    record.status = StepStatus::Failure;
                    record.messages.push(e);
                    pass.steps_failed += 1;
                }
            },
            Step::AgentUse { .. } => self.agent(step, pass, &mut record).await,
            _ => match self.action(step, pass, &mut record).await {
                Ok(()) => pass.actions_done += 1,
                Err(e) => {
                    record.status = StepStatus::Failure;
                    record.messages.push(e);
                    pass.steps_failed += 1;
                }
            },
        }
        record.duration_ms = elapsed_ms(started);
        pass.records.push(record);
        next
    }

    /// Renders `template` against the pass's values, noting it as input `field` and any missing
    /// value as a message. A template that cannot render (an overflow, a limit, a bad argument)
    /// is the step's failure, `field: why`: nothing is sent with a field left blank.
    fn render(&self, template: &str, field: &str, pass: &Pass<'_>, record: &mut StepRecord) -> Result<String, String> {
        let rendered = smartvalues::Template::parse(template)
            .map_err(|e| e.to_string())
            .and_then(|parsed| {
                parsed
                    .render(&pass.context, self.inner.clock.now(), &smartvalues::Limits::default())
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| format!("{field}: {e}"))?;
        for missing in rendered.missing {
            record.messages.push(format!("{field}: `{missing}` has no value (rendered empty)"));
        }
        record.inputs.insert(field.to_owned(), Value::String(rendered.text.clone()));
        Ok(rendered.text)
    }

    fn holds(&self, comparison: &Comparison, pass: &Pass<'_>, record: &mut StepRecord) -> Result<bool, String> {
        let first = self.render(&comparison.first, "first", pass, record)?;
        let second = self.render(&comparison.second, "second", pass, record)?;
        record.inputs.insert("operator".to_owned(), json!(comparison.operator));
        compare(&first, comparison.operator, &second)
    }

    /// The first branch whose conditions hold (a branch without conditions always does).
    fn choose(&self, branches: &[Branch], pass: &Pass<'_>, record: &mut StepRecord) -> Option<usize> {
        for (index, branch) in branches.iter().enumerate() {
            let mut results = Vec::new();
            for comparison in &branch.conditions {
                match self.holds(comparison, pass, record) {
                    Ok(holds) => results.push(holds),
                    Err(e) => {
                        record.messages.push(format!("branches[{index}]: {e}"));
                        results.push(false);
                    }
                }
            }
            let taken = match branch.matches {
                Match::All => results.iter().all(|r| *r),
                Match::Any => results.is_empty() || results.iter().any(|r| *r),
            };
            if taken {
                return Some(index);
            }
        }
        None
    }

    /// The agent step: the run named by `webhookData.processId` in a built-in format.
    async fn agent(&self, step: &Step, pass: &mut Pass<'_>, record: &mut StepRecord) {
        let Step::AgentUse { prompt, format, backend, .. } = step else { return };
        record.inputs.insert("format".to_owned(), Value::from(format.as_str()));
        let outcome = async {
            let prompt = self.render(prompt, "prompt", pass, record)?;
            let format =
                agent::Format::from_name(format).ok_or_else(|| format!("`{format}` is not a built-in format"))?;
            let process_id = pass.context["webhookData"]["processId"]
                .as_str()
                .ok_or("the webhook's body has no processId: the agent step renders a task run")?
                .to_owned();
            let llm = match backend.as_deref() {
                Some("llm") => {
                    if self.inner.llm.is_none() {
                        record.messages.push(
                            "no model is configured ([agent] llm_base_url): the built-in format is used".to_owned(),
                        );
                    }
                    self.inner.llm.as_ref()
                }
                _ => None,
            };
            agent::step::run_step(&self.inner.tools, llm, format, &prompt, &ProcessId(process_id))
                .await
                .map_err(|e| e.to_string())
        }
        .await;
        match outcome {
            Ok(reply) => {
                if let Some(reason) = &reply.fallback_reason {
                    record.messages.push(format!("the built-in rendering was used: {reason}"));
                }
                record.outputs.insert("agentResponse".to_owned(), Value::String(reply.text.clone()));
                record.outputs.insert("backend".to_owned(), json!(reply.backend));
                record.outputs.insert("toolCalls".to_owned(), json!(reply.tool_calls));
                pass.context["agentResponse"] = Value::String(reply.text);
            }
            Err(e) => {
                // Left unset: later steps note it as missing rather than use an empty text.
                record.status = StepStatus::Failure;
                record.messages.push(e);
                pass.steps_failed += 1;
            }
        }
    }

    /// An action step through its connection; its output goes into the pass's values.
    async fn action(&self, step: &Step, pass: &mut Pass<'_>, record: &mut StepRecord) -> Result<(), String> {
        let now = self.inner.clock.now();
        let store = &self.inner.store;
        let client = self.inner.connections.client();
        if let Step::WebRequest { method, url, headers, body } = step {
            let url = self.render(url, "url", pass, record)?;
            let body = self.render(body, "body", pass, record)?;
            let headers = headers
                .iter()
                .map(|h| Ok((h.name.clone(), self.render(&h.value, "headers", pass, record)?)))
                .collect::<Result<Vec<(String, String)>, String>>();
            // Each header's value was noted in clear over the last: gone before anything can
            // return, and the list as sent, credentials redacted, noted below.
            record.inputs.remove("headers");
            let headers = headers?;
            // Credentials in headers never reach the audit log.
            record.inputs.insert("headers".to_owned(), json!(connectors::web::redacted_headers(&headers)));
            // A flow this request triggers knows how deep the chain is.
            let mut headers = headers;
            headers.retain(|(name, _)| !name.eq_ignore_ascii_case("x-automation-depth"));
            headers.push(("x-automation-depth".to_owned(), (pass.depth + 1).to_string()));
            record.inputs.insert("method".to_owned(), Value::from(method.as_str()));
            // Nor do credentials in the address or the body.
            record.inputs.insert("url".to_owned(), Value::from(crate::transfer::hidden_url(&url)));
            record.inputs.insert("body".to_owned(), Value::from(crate::transfer::hidden_body(&body)));
            let request = webhooks::Request {
                method: method.clone(),
                url,
                headers,
                body: (!body.is_empty()).then(|| body.into_bytes()),
            };
            let response = connectors::web::send(client, &request).await.map_err(|e| e.to_string())?;
            let answer = json!({"status": response.status, "body": response.body});
            record.outputs.insert("webResponse".to_owned(), answer.clone());
            pass.context["webResponse"] = answer;
            return Ok(());
        }
        let name = step.connection().unwrap_or_default();
        record.inputs.insert("connection".to_owned(), Value::from(name));
        let (_, target) = self.inner.connections.open(name).await.map_err(|e| e.to_string())?;
        let local = matches!(target.settings, Settings::Local);
        match step {
            Step::ConfluencePagePublish { space, parent_page, title, body, .. } => {
                let space = self.render(space, "space", pass, record)?;
                let parent = self.render(parent_page, "parentPage", pass, record)?;
                let title = self.render(title, "title", pass, record)?;
                let markdown = self.render(body, "body", pass, record)?;
                required(&[("title", &title), ("body", &markdown)])?;
                let created = if local {
                    let output = connectors::local::page(store, now, &space, &title, &markdown)
                        .await
                        .map_err(|e| e.to_string())?;
                    json!({"id": output.id, "title": output.title, "url": self.output_url(&output.id)})
                } else {
                    let page = connectors::confluence::Page { space_key: space, parent_id: parent, title, markdown };
                    json!(connectors::confluence::create_page(client, &target, &page).await.map_err(|e| e.to_string())?)
                };
                self.output(pass, record, "createdPage", created);
            }
            Step::SlackMessageSend { channel, message, .. } => {
                let channel = self.render(channel, "channel", pass, record)?;
                let text = self.render(message, "message", pass, record)?;
                required(&[("message", &text)])?;
                let posted = if local {
                    let output =
                        connectors::local::message(store, now, &channel, &text).await.map_err(|e| e.to_string())?;
                    json!({"channel": channel, "ts": output.id, "url": self.output_url(&output.id)})
                } else {
                    let deep_link = pass.context["webhookData"]["deepLink"].as_str().map(str::to_owned);
                    let message = connectors::slack::Message { channel, text, deep_link };
                    json!(connectors::slack::post(client, &target, &message).await.map_err(|e| e.to_string())?)
                };
                self.output(pass, record, "slackMessage", posted);
            }
            Step::JiraWorkItemCreate {
                project, issue_type, summary, description, due_date, priority, labels, ..
            } => {
                let item = connectors::jira::WorkItem {
                    project_key: self.render(project, "project", pass, record)?,
                    issue_type: self.render(issue_type, "issueType", pass, record)?,
                    summary: self.render(summary, "summary", pass, record)?,
                    markdown: self.render(description, "description", pass, record)?,
                    due_date: Some(self.render(due_date, "dueDate", pass, record)?).filter(|d| !d.trim().is_empty()),
                    priority: Some(self.render(priority, "priority", pass, record)?).filter(|p| !p.trim().is_empty()),
                    labels: labels
                        .iter()
                        .map(|l| self.render(l, "labels", pass, record))
                        .collect::<Result<Vec<_>, _>>()?
                        .into_iter()
                        .filter(|l| !l.is_empty())
                        .collect(),
                };
                // Each label was recorded over the last: the list as sent.
                record.inputs.insert("labels".to_owned(), json!(item.labels));
                required(&[("issueType", &item.issue_type), ("summary", &item.summary)])?;
                let created = if local {
                    let output = connectors::local::work_item(store, now, &item).await.map_err(|e| e.to_string())?;
                    json!({"id": output.id, "key": output.key, "url": self.output_url(&output.id)})
                } else {
                    json!(connectors::jira::create(client, &target, &item).await.map_err(|e| e.to_string())?)
                };
                self.output(pass, record, "createdIssue", created);
            }
            Step::EmailSend { to, cc, bcc, subject, body, .. } => {
                let mut list = |field: &'static str, template: &str| -> Result<Vec<String>, String> {
                    let text = self.render(template, field, pass, record)?;
                    Ok(text.split(',').map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned).collect())
                };
                let (to, cc, bcc) = (list("to", to)?, list("cc", cc)?, list("bcc", bcc)?);
                let subject = self.render(subject, "subject", pass, record)?;
                let markdown = self.render(body, "body", pass, record)?;
                if to.is_empty() && cc.is_empty() && bcc.is_empty() {
                    return Err("the email has no recipient once rendered".to_owned());
                }
                required(&[("subject", &subject)])?;
                let email = connectors::email::Email { to, cc, bcc, subject, markdown };
                let sent = if local {
                    let output = connectors::local::email(store, now, &email).await.map_err(|e| e.to_string())?;
                    json!({"id": output.id, "url": self.output_url(&output.id)})
                } else {
                    json!(connectors::email::send(client, &target, &email).await.map_err(|e| e.to_string())?)
                };
                self.output(pass, record, "sentEmail", sent);
            }
            _ => {}
        }
        Ok(())
    }

    fn output(&self, pass: &mut Pass<'_>, record: &mut StepRecord, name: &str, value: Value) {
        record.outputs.insert(name.to_owned(), value.clone());
        pass.context[name] = value;
    }

    /// Where the web UI shows what the local connection stored.
    fn output_url(&self, id: &str) -> String {
        format!("{}/outputs/{id}", self.inner.public_url)
    }
}

/// Fields an action cannot do without, checked once rendered.
fn required(fields: &[(&str, &str)]) -> Result<(), String> {
    match fields.iter().find(|(_, value)| value.trim().is_empty()) {
        Some((field, _)) => Err(format!("{field} is empty once rendered")),
        None => Ok(()),
    }
}

/// A record that only says why an execution did not run (or could not start).
pub(crate) fn note_record(message: &str) -> StepRecord {
    StepRecord {
        path: "flow".to_owned(),
        step_type: "flow".to_owned(),
        work_item: None,
        status: StepStatus::Failure,
        duration_ms: 0,
        inputs: Map::new(),
        outputs: Map::new(),
        messages: vec![message.to_owned()],
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// A comparison's regular expression, within the size every comparison is allowed (the same
/// when a flow is saved and when it runs).
pub(crate) fn regex(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern).size_limit(REGEX_SIZE_LIMIT).build()
}

/// A comparison of two rendered texts (AUTOMATION §3). Case-sensitive; `GREATER_THAN` and
/// `LESS_THAN` compare as numbers when both sides are numbers.
pub fn compare(first: &str, operator: Operator, second: &str) -> Result<bool, String> {
    let regex =
        |pattern: &str| regex(pattern).map_err(|e| format!("`{second}` is not a usable regular expression: {e}"));
    let ordering = || match (first.trim().parse::<f64>(), second.trim().parse::<f64>()) {
        (Ok(a), Ok(b)) => a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal),
        _ => first.cmp(second),
    };
    let one_of = || second.split(',').map(str::trim).any(|v| v == first.trim());
    Ok(match operator {
        Operator::Equals => first == second,
        Operator::NotEquals => first != second,
        Operator::Contains => first.contains(second),
        Operator::NotContains => !first.contains(second),
        Operator::StartsWith => first.starts_with(second),
        Operator::EndsWith => first.ends_with(second),
        Operator::RegexMatches => regex(&format!("^(?:{second})$"))?.is_match(first),
        Operator::RegexContains => regex(second)?.is_match(first),
        Operator::RegexNotMatches => !regex(&format!("^(?:{second})$"))?.is_match(first),
        Operator::GreaterThan => ordering() == std::cmp::Ordering::Greater,
        Operator::LessThan => ordering() == std::cmp::Ordering::Less,
        Operator::OneOf => one_of(),
        Operator::NotOneOf => !one_of(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_follow_the_spec() {
        use Operator::*;
        let cases = [
            ("taskFailure", Equals, "taskFailure", true),
            ("taskFailure", Equals, "TaskFailure", false),
            ("abc", NotEquals, "abd", true),
            ("taskSuccess", Contains, "Success", true),
            ("taskSuccess", NotContains, "Fail", true),
            ("orgKeyExpiry", StartsWith, "org", true),
            ("orgKeyExpiry", EndsWith, "Expiry", true),
            ("task42", RegexMatches, "task\\d+", true),
            ("xtask42", RegexMatches, "task\\d+", false),
            ("xtask42y", RegexContains, "task\\d+", true),
            ("xtask42", RegexNotMatches, "task\\d+", true),
            ("10", GreaterThan, "9", true),
            ("b", GreaterThan, "a", true),
            ("9", LessThan, "10", true),
            ("taskFailure", OneOf, "taskSuccess, taskFailure", true),
            ("orgKeyExpiry", NotOneOf, "taskSuccess,taskFailure", true),
        ];
        for (first, operator, second, expected) in cases {
            assert_eq!(compare(first, operator, second), Ok(expected), "{first} {operator:?} {second}");
        }
        assert!(compare("x", RegexMatches, "(").is_err());
    }
}

/// An execution as the audit log shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionView {
    pub execution_id: String,
    pub flow_id: String,
    /// `queued`, `running` or `finished`.
    pub state: String,
    /// Once finished: `SUCCESS`, `SOME_ERRORS`, `FAILURE`, `NO_ACTIONS_PERFORMED`, `THROTTLED`,
    /// `LOOP` or `ABORTED`.
    pub status: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub received_at: jiff::Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<jiff::Timestamp>,
    pub duration_ms: Option<i64>,
    /// The sender's address, and how it proved it knew the secret (`token`, `path`, `signature`).
    pub source: String,
    pub auth: String,
    pub webhook_id: Option<String>,
    /// The request's body (any JSON; text when it was not JSON), fields that look like
    /// credentials shown as `***`.
    pub request: Value,
    pub work_items: Option<Vec<String>>,
    pub steps: Vec<StepRecord>,
}

impl From<StoredExecution> for ExecutionView {
    fn from(e: StoredExecution) -> Self {
        let mut request = serde_json::from_str(&e.body).unwrap_or(Value::String(e.body));
        let secrets = credential_values(&request);
        scrub(&mut request, &secrets);
        Self {
            execution_id: e.id,
            flow_id: e.flow_id,
            state: e.state,
            status: e.status,
            received_at: e.received_at,
            finished_at: e.finished_at,
            duration_ms: e.duration_ms,
            source: e.source,
            auth: e.auth,
            webhook_id: e.webhook_id,
            request,
            work_items: e.work_items.and_then(|items| serde_json::from_str(&items).ok()),
            steps: e.steps.and_then(|steps| serde_json::from_str(&steps).ok()).unwrap_or_default(),
        }
    }
}

/// Words in a field's name that say its value is a credential.
const CREDENTIALS: [&str; 10] = [
    "secret",
    "password",
    "token",
    "authorization",
    "apikey",
    "api_key",
    "api-key",
    "privatekey",
    "accesskey",
    "credential",
];

/// Whether a field named `key` holds a credential (`apiToken`, `password`; not `tokenId`).
pub(crate) fn is_credential(key: &str) -> bool {
    let key = key.to_lowercase();
    CREDENTIALS.iter().any(|c| key.contains(c)) && !key.ends_with("id")
}

/// The text values of credential fields anywhere in `value` (long enough to be worth hiding).
fn credential_values(value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    fn visit(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(object) => {
                for (key, child) in object {
                    match child {
                        Value::String(text) if is_credential(key) && text.len() >= 6 => found.push(text.clone()),
                        other => visit(other, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| visit(item, found)),
            _ => {}
        }
    }
    visit(value, &mut found);
    found
}

/// `text` with every known secret, and the secret segment of flow webhook paths, as `***`.
fn scrub_text(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        out = out.replace(secret.as_str(), "***");
    }
    static WEBHOOK_PATH: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"/automation/webhooks/([A-Za-z0-9-]+)/[^/\s\x22'?#<>]+").unwrap_or_else(|_| unreachable!())
    });
    WEBHOOK_PATH.replace_all(&out, "/automation/webhooks/$1/***").into_owned()
}

/// Scrubs every text inside `value` (see [`scrub_text`]) and redacts credential fields.
fn scrub(value: &mut Value, secrets: &[String]) {
    match value {
        Value::String(text) => *text = scrub_text(text, secrets),
        Value::Array(items) => items.iter_mut().for_each(|item| scrub(item, secrets)),
        Value::Object(_) => {
            redact(value);
            if let Value::Object(object) = value {
                object.values_mut().for_each(|child| scrub(child, secrets));
            }
        }
        _ => {}
    }
}

/// Replaces the values of fields whose names say they hold a credential.
fn redact(value: &mut Value) {
    match value {
        Value::Object(object) => {
            for (key, child) in object.iter_mut() {
                if is_credential(key) {
                    *child = Value::String("***".to_owned());
                } else {
                    redact(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

impl Flows {
    /// A flow's executions, newest first, at most `limit`.
    pub async fn executions(&self, flow_id: &str, limit: u32) -> Result<Vec<ExecutionView>, crate::FlowError> {
        self.store().flow(flow_id).await?;
        let executions = self.store().executions_of_flow(flow_id, limit.clamp(1, 500)).await?;
        Ok(executions.into_iter().map(ExecutionView::from).collect())
    }

    /// One execution.
    pub async fn execution(&self, id: &str) -> Result<ExecutionView, crate::FlowError> {
        Ok(self.store().execution(id).await?.into())
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    #[test]
    fn credentials_in_a_request_are_not_shown() {
        let mut body = json!({"apiKeyId": "k1", "apiKey": "s3cret", "nested": [{"password": "p", "name": "ok"}],
            "Authorization": "Bearer x", "settingsUrl": "https://x"});
        redact(&mut body);
        assert_eq!(
            body,
            json!({"apiKeyId": "k1", "apiKey": "***", "nested": [{"password": "***", "name": "ok"}],
                "Authorization": "***", "settingsUrl": "https://x"})
        );
    }
}
