//! The scheduler: one loop that closes interrupted runs, runs the daily directory sync in its
//! slot, and starts due tasks.
//!
//! Due tasks are claimed in the database (the task's `next_run_at` moves in the same
//! transaction that records the run), so two processes on one PostgreSQL database never start
//! the same run twice. A task missed during downtime runs once, and its next run is the first
//! one after now. Nothing starts inside the daily sync slot; what falls due then starts when
//! the slot ends.

use std::sync::Mutex;
use std::time::Duration;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use model::ids::ProcessId;

use crate::service::next_run;
use crate::{StartedRun, TaskError, TaskService};

/// The daily one-hour window in which the directory is synced and no task starts.
#[derive(Debug, Clone)]
pub struct SyncSlot {
    start: Time,
    time_zone: TimeZone,
}

impl SyncSlot {
    /// A slot starting at local `start` (`03:00`) in the IANA zone `time_zone`.
    pub fn new(start: &str, time_zone: &str) -> Result<Self, String> {
        let start = start.parse::<Time>().map_err(|_| format!("`{start}` is not a local time such as `03:00`"))?;
        let time_zone = TimeZone::get(time_zone).map_err(|_| format!("`{time_zone}` is not a known IANA time zone"))?;
        Ok(Self { start, time_zone })
    }

    /// The local date of the slot that contains `now`, if `now` is inside a slot.
    pub fn slot_containing(&self, now: Timestamp) -> Option<Date> {
        let local = now.to_zoned_datetime(self.time_zone.clone());
        // The slot may have started on the previous local day (a slot at 23:30).
        [local.date(), local.date().yesterday().ok()?]
            .into_iter()
            .find(|date| self.bounds(*date).is_some_and(|(begin, end)| begin <= now && now < end))
    }

    /// When the slot of local `date` begins and ends.
    fn bounds(&self, date: Date) -> Option<(Timestamp, Timestamp)> {
        let begin = self.time_zone.to_ambiguous_timestamp(date.to_datetime(self.start)).compatible().ok()?;
        Some((begin, begin.checked_add(SignedDuration::from_hours(1)).ok()?))
    }

    /// The slot that contains `now`, or else the next one: its beginning and end.
    pub fn current_or_next(&self, now: Timestamp) -> Option<(Timestamp, Timestamp)> {
        let today = now.to_zoned_datetime(self.time_zone.clone()).date();
        [today.yesterday().ok()?, today, today.tomorrow().ok()?, today.tomorrow().ok()?.tomorrow().ok()?]
            .into_iter()
            .filter_map(|date| self.bounds(date))
            .find(|(_, end)| now < *end)
    }

    /// The slot in words: `03:00–04:00 Europe/Berlin`.
    pub fn describe(&self) -> String {
        let end = self.start.wrapping_add(SignedDuration::from_hours(1));
        let zone = self.time_zone.iana_name().unwrap_or("UTC");
        format!("{}–{} {zone}", self.start.strftime("%H:%M"), end.strftime("%H:%M"))
    }

    /// The slot's time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }
}

/// What one scheduler pass did.
#[derive(Debug, Default)]
pub struct TickReport {
    /// Runs found interrupted (their process died) and closed as `failure`.
    pub closed_interrupted: Vec<ProcessId>,
    /// Whether this pass ran the daily sync.
    pub synced: bool,
    /// Whether the sync slot was open (no task started).
    pub in_sync_slot: bool,
    /// Runs started by this pass; execute them (the loop spawns them).
    pub started: Vec<StartedRun>,
    /// API keys this pass noticed expiring within 7 days (`orgKeyExpiry` queued).
    pub keys_noticed: Vec<model::ids::ApiKeyId>,
}

/// The scheduler of one process.
#[derive(Debug)]
pub struct Scheduler {
    service: TaskService,
    slot: Option<SyncSlot>,
    last_sync: Mutex<Option<Date>>,
    /// When this process last ran the API key expiry check (at start, then daily).
    last_expiry_check: Mutex<Option<Timestamp>>,
}

impl Scheduler {
    pub fn new(service: TaskService, slot: Option<SyncSlot>) -> Self {
        Self { service, slot, last_sync: Mutex::new(None), last_expiry_check: Mutex::new(None) }
    }

    /// One pass: close interrupted runs, sync in the slot, start what is due (outside it). The
    /// runs it starts are returned, to be executed by the caller.
    pub async fn tick(&self) -> Result<TickReport, TaskError> {
        self.pass(false).await
    }

    /// A pass that, with `spawn`, executes each run in the background as soon as it starts
    /// (so no started run waits for the others to be claimed) and returns none.
    async fn pass(&self, spawn: bool) -> Result<TickReport, TaskError> {
        let store = self.service.store();
        let now = self.service.now();
        let mut report =
            TickReport { closed_interrupted: self.service.close_interrupted().await?, ..Default::default() };
        for id in &report.closed_interrupted {
            tracing::warn!(process_id = %id, "closed an interrupted run as failure");
        }
        report.keys_noticed = self.expiry_check(now).await?;
        if let Some(slot) = &self.slot
            && let Some(date) = slot.slot_containing(now)
        {
            report.in_sync_slot = true;
            report.synced = self.daily_sync(date, now).await?;
            return Ok(report);
        }
        for task in store.due_tasks(now).await? {
            let Some(due) = task.next_run_at else { continue };
            // One run for however many ticks were missed: the next is the first after now.
            let next = next_run(&task, now);
            // One task's trouble does not hold up the others, nor lose the runs already started.
            match self.service.start_scheduled(&task, due, next).await {
                Ok(Some(run)) if spawn => self.service.spawn(run).await,
                Ok(Some(run)) => report.started.push(run),
                Ok(None) => tracing::debug!(task_id = %task.task_id, "another process started this run"),
                Err(TaskError::Conflict(reason)) => tracing::debug!(task_id = %task.task_id, reason, "not started"),
                Err(e) => tracing::warn!(task_id = %task.task_id, error = %e, "could not start a due task"),
            }
        }
        Ok(report)
    }

    /// At start and then once a day: every API key that expires within 7 days fires one
    /// `orgKeyExpiry` per expiry date (PRODUCT §7). Idempotent across processes.
    async fn expiry_check(&self, now: Timestamp) -> Result<Vec<model::ids::ApiKeyId>, TaskError> {
        let due = self
            .last_expiry_check
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_none_or(|last| now.duration_since(last) >= SignedDuration::from_hours(24));
        if !due {
            return Ok(Vec::new());
        }
        let horizon = now.checked_add(SignedDuration::from_hours(24 * 7)).unwrap_or(Timestamp::MAX);
        let noticed =
            self.service.store().notice_key_expiries(now, horizon, &self.service.settings().public_url).await?;
        *self.last_expiry_check.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(now);
        for id in &noticed {
            tracing::info!(api_key_id = %id, "API key expires within 7 days: orgKeyExpiry queued");
        }
        Ok(noticed)
    }

    async fn daily_sync(&self, date: Date, now: Timestamp) -> Result<bool, TaskError> {
        if *self.last_sync.lock().unwrap_or_else(std::sync::PoisonError::into_inner) == Some(date) {
            return Ok(false);
        }
        let until = now.checked_add(SignedDuration::from_hours(48)).unwrap_or(Timestamp::MAX);
        let lease = format!("daily-sync:{date}");
        if !self.service.store().try_lease(&lease, &self.service.inner.owner, now, until).await? {
            *self.last_sync.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(date);
            return Ok(false);
        }
        let report = self.service.inner.directory.sync().await?;
        *self.last_sync.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(date);
        tracing::info!(%date, users = report.users, "daily directory sync done");
        Ok(true)
    }

    /// Ticks every `every` until `shutdown` completes, executing the runs it starts in the
    /// background. Errors and panics are logged and the loop goes on.
    pub async fn run(self, every: Duration, shutdown: impl Future<Output = ()>) {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = interval.tick() => {}
            }
            // A panic in a pass (logged by `isolate`) is one failed pass, not the end of the loop.
            if let Ok(Err(e)) = worker::isolate("scheduler pass", self.pass(true)).await {
                tracing::warn!(error = %e, "scheduler pass failed; trying again at the next tick");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn the_slot_is_described_and_found_before_during_and_after() {
        let slot = SyncSlot::new("23:30", "Europe/Berlin").unwrap();
        assert_eq!(slot.describe(), "23:30–00:30 Europe/Berlin");
        // Before tonight's slot (22:30 UTC is 23:30 in Berlin in winter): tonight's.
        let (begin, end) = slot.current_or_next(at("2026-11-29T12:00:00Z")).unwrap();
        assert_eq!((begin, end), (at("2026-11-29T22:30:00Z"), at("2026-11-29T23:30:00Z")));
        // Inside it, past local midnight: the slot that began yesterday, local time.
        let inside = at("2026-11-29T23:10:00Z");
        assert_eq!(slot.current_or_next(inside).unwrap().0, begin);
        assert_eq!(slot.slot_containing(inside), Some("2026-11-29".parse().unwrap()));
        // At its end: the next day's.
        assert_eq!(slot.current_or_next(end).unwrap().0, at("2026-11-30T22:30:00Z"));
        assert_eq!(slot.slot_containing(end), None);
    }

    #[test]
    fn a_slot_in_a_dst_gap_begins_when_the_clock_resumes() {
        // 02:30 does not exist in Berlin on 2026-03-29: the slot begins at 03:30 CEST (01:30 UTC).
        let slot = SyncSlot::new("02:30", "Europe/Berlin").unwrap();
        let (begin, end) = slot.current_or_next(at("2026-03-29T00:00:00Z")).unwrap();
        assert_eq!((begin, end), (at("2026-03-29T01:30:00Z"), at("2026-03-29T02:30:00Z")));
        assert_eq!(slot.slot_containing(at("2026-03-29T02:00:00Z")), Some("2026-03-29".parse().unwrap()));
        assert_eq!(slot.slot_containing(at("2026-03-29T01:00:00Z")), None, "not before the clock resumes");
    }

    #[test]
    fn a_slot_in_the_repeated_autumn_hour_is_the_first_of_the_two() {
        // 02:30 happens twice in Berlin on 2026-10-25: at 00:30 UTC (CEST) and at 01:30 UTC (CET).
        let slot = SyncSlot::new("02:30", "Europe/Berlin").unwrap();
        let (begin, end) = slot.current_or_next(at("2026-10-24T23:00:00Z")).unwrap();
        assert_eq!((begin, end), (at("2026-10-25T00:30:00Z"), at("2026-10-25T01:30:00Z")));
        assert_eq!(slot.slot_containing(at("2026-10-25T01:29:00Z")), Some("2026-10-25".parse().unwrap()));
        assert_eq!(slot.slot_containing(at("2026-10-25T01:31:00Z")), None, "one slot a day, not two");
        // The next one is the following day's, at 02:30 CET.
        assert_eq!(slot.current_or_next(end).unwrap().0, at("2026-10-26T01:30:00Z"));
    }
}
