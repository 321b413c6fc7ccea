//! Trying again: the one back-off loop behind alert delivery and LLM calls.

use std::time::Duration;

/// How often and how patiently an operation is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all (at least one is made).
    pub attempts: u32,
    /// Wait before the second attempt; doubled after each failure.
    pub backoff: Duration,
    /// Time limit of one attempt.
    pub timeout: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 4,
            backoff: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
        }
    }
}

/// How an attempt failed.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure<E> {
    /// Trying again may help (a time-out, a 5xx, a refused connection).
    Transient(E),
    /// It will fail again (a 4xx, a spend limit): stop now.
    Permanent(E),
}

/// The outcome of the last attempt, with how many were made.
pub type Tried<T, E> = (Result<T, E>, u32);

impl Retry {
    /// Calls `attempt` (given its number, from 1) until it succeeds, fails for good, or the
    /// attempts run out, sleeping `backoff`, then twice as long, between them; `before_wait`
    /// hears of each failure that will be retried and the wait that follows.
    pub fn run<T, E>(
        &self,
        mut attempt: impl FnMut(u32) -> Result<T, Failure<E>>,
        mut before_wait: impl FnMut(u32, &E, Duration),
    ) -> Tried<T, E> {
        let mut wait = self.backoff;
        let last = self.attempts.max(1);
        for n in 1..=last {
            match attempt(n) {
                Ok(v) => return (Ok(v), n),
                Err(Failure::Transient(e)) if n < last => {
                    before_wait(n, &e, wait);
                    std::thread::sleep(wait);
                    wait = wait.saturating_mul(2);
                }
                Err(Failure::Transient(e) | Failure::Permanent(e)) => return (Err(e), n),
            }
        }
        unreachable!("the last attempt returns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(attempts: u32) -> Retry {
        Retry {
            attempts,
            backoff: Duration::from_millis(1),
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn transient_failures_are_retried_with_a_doubling_wait() {
        let mut waits = Vec::new();
        let (out, n) = policy(4).run(
            |n| {
                if n < 3 {
                    Err(Failure::Transient(n))
                } else {
                    Ok("done")
                }
            },
            |n, _, w| waits.push((n, w)),
        );
        assert_eq!((out, n), (Ok("done"), 3));
        assert_eq!(
            waits,
            [(1, Duration::from_millis(1)), (2, Duration::from_millis(2))]
        );
    }

    #[test]
    fn a_permanent_failure_or_the_last_attempt_stops() {
        let (out, n) = policy(4).run(|_| Err::<(), _>(Failure::Permanent("no")), |_, _, _| {});
        assert_eq!((out, n), (Err("no"), 1));
        let (out, n) = policy(3).run(|n| Err::<(), _>(Failure::Transient(n)), |_, _, _| {});
        assert_eq!((out, n), (Err(3), 3));
        let (out, n) = policy(0).run(|n| Err::<(), _>(Failure::Transient(n)), |_, _, _| {});
        assert_eq!((out, n), (Err(1), 1), "one attempt at least");
    }
}
