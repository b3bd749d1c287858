//! What every background worker of ucm shares: the task runner, the flow executor, the webhook
//! dispatcher and the scheduler.
//!
//! - [`Claim`]: a unit of work (a run, an execution, a delivery) is claimed in the database with
//!   a lease. While the work goes on, the claim is renewed; a worker asks [`Claim::held`] before
//!   every side effect, and stops when another process may have taken the work over.
//! - [`isolate`]: a panic while doing one unit of work ends that unit, not the worker, and
//!   becomes an error the worker records.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use futures_util::FutureExt as _;

/// A claim on a unit of work, as far as this process knows. Clones share it; the renewal stops
/// when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct Claim(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    state: Arc<State>,
    renewer: Option<tokio::task::JoinHandle<()>>,
}

#[derive(Debug)]
struct State {
    /// A renewal found the work taken by someone else.
    taken: AtomicBool,
    /// Until when the claim surely holds: the start of the last renewal that succeeded (or of
    /// the claim) plus the lease. Past it, the lease may have lapsed in the database.
    holds_until: Mutex<Instant>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(renewer) = &self.renewer {
            renewer.abort();
        }
    }
}

impl Claim {
    /// A claim taken just now for `lease`, renewed every third of it by `renew` until the claim
    /// is dropped. `renew` answers true while the work is still this process's, false once it
    /// is not (the claim is then lost for good), or an error (logged; tried again at the next
    /// turn, and the claim lapses if no renewal succeeds within the lease).
    pub fn renewed<F, Fut, E>(what: impl Into<String>, lease: Duration, mut renew: F) -> Self
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<bool, E>> + Send,
        E: std::fmt::Display,
    {
        let what = what.into();
        let state = Arc::new(State::new(lease));
        let every = (lease / 3).max(Duration::from_millis(10));
        let shared = state.clone();
        let renewer = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let started = Instant::now();
                match renew().await {
                    Ok(true) => *shared.holds_until.lock().unwrap_or_else(PoisonError::into_inner) = started + lease,
                    Ok(false) => {
                        shared.taken.store(true, Ordering::SeqCst);
                        tracing::warn!(work = %what, "lost the claim: another process took the work over");
                        return;
                    }
                    Err(e) => tracing::warn!(work = %what, error = %e, "could not renew the claim; trying again"),
                }
            }
        });
        Self(Arc::new(Inner { state, renewer: Some(renewer) }))
    }

    /// A claim taken just now for `lease` and never renewed: for work shorter than its lease
    /// (one delivery attempt).
    pub fn unrenewed(lease: Duration) -> Self {
        Self(Arc::new(Inner { state: Arc::new(State::new(lease)), renewer: None }))
    }

    /// Whether the work is still surely this process's: no renewal found it taken, and the lease
    /// has not run out since the last renewal that succeeded. Asked before every side effect.
    pub fn held(&self) -> bool {
        let state = &self.0.state;
        !state.taken.load(Ordering::SeqCst)
            && Instant::now() < *state.holds_until.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn new(lease: Duration) -> Self {
        Self { taken: AtomicBool::new(false), holds_until: Mutex::new(Instant::now() + lease) }
    }
}

/// A panic caught while doing one unit of work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panicked {
    /// The panic's message, for the log (never shown to a client).
    pub message: String,
}

impl std::fmt::Display for Panicked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "panicked: {}", self.message)
    }
}

impl std::error::Error for Panicked {}

/// Runs one unit of work (`what`, for the log): a panic inside it is caught, logged as an error
/// and returned as [`Panicked`], so the worker that awaited it goes on with the next unit.
pub async fn isolate<F: Future>(what: &str, work: F) -> Result<F::Output, Panicked> {
    AssertUnwindSafe(work).catch_unwind().await.map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        tracing::error!(work = what, panic = %message, "a unit of work panicked; it ends as an internal error");
        Panicked { message }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[tokio::test(start_paused = true)]
    async fn a_panic_is_returned_and_the_caller_goes_on() {
        let caught = isolate("test", async { panic!("Addition overflowed") }).await;
        assert_eq!(caught, Err::<(), _>(Panicked { message: "Addition overflowed".to_owned() }));
        let owned = isolate("test", async { panic!("{}", String::from("owned")) }).await;
        assert_eq!(owned.map_err(|p| p.message), Err::<(), _>("owned".to_owned()));
        assert_eq!(isolate("test", async { 7 }).await, Ok(7));
    }

    #[tokio::test(start_paused = true)]
    async fn a_claim_holds_while_renewals_succeed_and_is_lost_when_one_finds_it_taken() {
        let renewals = Arc::new(AtomicU32::new(0));
        let counted = renewals.clone();
        let claim = Claim::renewed("test", Duration::from_millis(60), move || {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, String>(n < 5) }
        });
        tokio::time::sleep(Duration::from_millis(70)).await;
        assert!(claim.held(), "renewed past its first lease");
        while renewals.load(Ordering::SeqCst) <= 5 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(!claim.held(), "a renewal found the work taken");
    }

    #[tokio::test(start_paused = true)]
    async fn a_claim_whose_renewals_fail_lapses_with_its_lease() {
        let claim = Claim::renewed("test", Duration::from_millis(60), || async { Err::<bool, _>("unreachable") });
        assert!(claim.held());
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(!claim.held(), "no renewal succeeded within the lease");
        let unrenewed = Claim::unrenewed(Duration::from_millis(20));
        assert!(unrenewed.held());
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!unrenewed.held());
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_last_clone_stops_the_renewals() {
        let renewals = Arc::new(AtomicU32::new(0));
        let counted = renewals.clone();
        let claim = Claim::renewed("test", Duration::from_millis(30), move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, String>(true) }
        });
        let clone = claim.clone();
        drop(claim);
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert!(clone.held() && renewals.load(Ordering::SeqCst) > 0, "a clone keeps it renewed");
        drop(clone);
        let after = renewals.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(renewals.load(Ordering::SeqCst), after);
    }
}
