//! Surviving vendors: retries with exponential backoff and jitter (honouring `Retry-After`),
//! a circuit breaker per provider, and counters tests and operators can read.
//!
//! Policy (configurable): at most 3 tries, waits of about 1 s then 2 s (±25 % jitter), a
//! `Retry-After` within the budget replaces the wait; 429, 408, 5xx, timeouts and connection
//! errors are retried, other 4xx never. The breaker opens after 5 consecutive failures for
//! 60 s, then lets 3 trial calls through (half-open): a success closes it, a failure opens it
//! again. An open breaker fails at once, so a chain moves to its fallback without waiting.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use super::{ProviderError, ProviderResult};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub tries: u32,
    pub base_delay: Duration,
    /// Longest wait honoured (a longer `Retry-After` gives up, so a fallback can answer).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            tries: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(8),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerPolicy {
    pub failures_to_open: u32,
    pub open_for: Duration,
    pub half_open_calls: u32,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self {
            failures_to_open: 5,
            open_for: Duration::from_secs(60),
            half_open_calls: 3,
        }
    }
}

/// What one try came to.
pub enum Attempt<T> {
    Ok(T),
    /// Worth another try (`retry_after` from the vendor, if it said).
    Retry {
        error: String,
        retry_after: Option<Duration>,
    },
    /// Another try would fail the same way (bad request, bad key).
    Fatal(String),
}

impl<T> Attempt<T> {
    /// The value, or the failed attempt as an attempt of another type.
    pub fn ok_or_fail<U>(self) -> Result<T, Attempt<U>> {
        match self {
            Attempt::Ok(v) => Ok(v),
            Attempt::Retry { error, retry_after } => Err(Attempt::Retry { error, retry_after }),
            Attempt::Fatal(e) => Err(Attempt::Fatal(e)),
        }
    }
}

/// Classifies an HTTP status that is not a success.
pub fn classify_status<T>(
    status: reqwest::StatusCode,
    retry_after: Option<&reqwest::header::HeaderValue>,
    body: &str,
) -> Attempt<T> {
    let snippet: String = body.chars().take(200).collect();
    let error = format!("HTTP {status}: {snippet}");
    let retryable = status.as_u16() == 429 || status.as_u16() == 408 || status.is_server_error();
    if retryable {
        Attempt::Retry {
            error,
            retry_after: retry_after
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64),
        }
    } else {
        Attempt::Fatal(error)
    }
}

/// Sends a request and turns a non-success status into an [`Attempt`].
pub async fn send(
    req: reqwest::RequestBuilder,
    first_byte: Duration,
) -> Attempt<reqwest::Response> {
    match tokio::time::timeout(first_byte, req.send()).await {
        Err(_) => Attempt::Retry {
            error: format!("no response within {} ms", first_byte.as_millis()),
            retry_after: None,
        },
        Ok(Err(e)) => transport(e),
        Ok(Ok(r)) if r.status().is_success() => Attempt::Ok(r),
        Ok(Ok(r)) => {
            let status = r.status();
            let retry_after = r.headers().get(reqwest::header::RETRY_AFTER).cloned();
            let body = r.text().await.unwrap_or_default();
            classify_status(status, retry_after.as_ref(), &body)
        }
    }
}

/// A response's media type, lower-cased ("" if absent).
pub fn content_type(r: &reqwest::Response) -> String {
    r.headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Classifies a transport error (connect, timeout, reset): always worth a retry.
pub fn transport<T>(e: reqwest::Error) -> Attempt<T> {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "transport error"
    };
    // Without the URL: it can carry a key (Gemini's `?key=`).
    Attempt::Retry {
        error: format!("{kind}: {}", e.without_url()),
        retry_after: None,
    }
}

#[derive(Debug)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { admitted: u32 },
}

/// Counters of one provider, for tests and `/health`.
#[derive(Debug, Default)]
pub struct Counters {
    pub calls: AtomicU64,
    pub tries: AtomicU64,
    pub retries: AtomicU64,
    pub failures: AtomicU64,
    pub rejected_open: AtomicU64,
    pub opened: AtomicU64,
}

impl Counters {
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// Retry policy, breaker and counters of one provider.
#[derive(Debug)]
pub struct Resilience {
    pub name: String,
    pub retry: RetryPolicy,
    pub breaker: BreakerPolicy,
    state: Mutex<State>,
    pub counters: Counters,
}

impl Resilience {
    pub fn new(name: impl Into<String>, retry: RetryPolicy, breaker: BreakerPolicy) -> Self {
        Self {
            name: name.into(),
            retry,
            breaker,
            state: Mutex::new(State::Closed { failures: 0 }),
            counters: Counters::default(),
        }
    }

    /// Whether a call may go out now.
    fn admit(&self) -> bool {
        let mut s = self.state.lock().expect("breaker lock");
        match *s {
            State::Closed { .. } => true,
            State::Open { until } if Instant::now() >= until => {
                tracing::info!(provider = %self.name, "circuit half-open: trying again");
                *s = State::HalfOpen { admitted: 1 };
                true
            }
            State::Open { .. } => false,
            State::HalfOpen { admitted } if admitted < self.breaker.half_open_calls => {
                *s = State::HalfOpen {
                    admitted: admitted + 1,
                };
                true
            }
            State::HalfOpen { .. } => false,
        }
    }

    fn succeeded(&self) {
        let mut s = self.state.lock().expect("breaker lock");
        if matches!(*s, State::HalfOpen { .. }) {
            tracing::info!(provider = %self.name, "circuit closed");
        }
        *s = State::Closed { failures: 0 };
    }

    fn failed(&self) {
        let mut s = self.state.lock().expect("breaker lock");
        let open = match *s {
            State::Closed { failures } if failures + 1 >= self.breaker.failures_to_open => true,
            State::Closed { failures } => {
                *s = State::Closed {
                    failures: failures + 1,
                };
                false
            }
            State::HalfOpen { .. } => true,
            State::Open { .. } => false,
        };
        if open {
            tracing::warn!(provider = %self.name, for_secs = self.breaker.open_for.as_secs(), "circuit open");
            self.counters.opened.fetch_add(1, Ordering::Relaxed);
            *s = State::Open {
                until: Instant::now() + self.breaker.open_for,
            };
        }
    }

    /// Whether the breaker is open now (calls fail at once).
    pub fn is_open(&self) -> bool {
        matches!(*self.state.lock().expect("breaker lock"), State::Open { until } if Instant::now() < until)
    }

    fn backoff(&self, retry: u32) -> Duration {
        let base = self.retry.base_delay.as_secs_f64() * f64::from(1u32 << retry.min(16));
        let jitter = rand::thread_rng().gen_range(0.75..1.25);
        Duration::from_secs_f64(base * jitter).min(self.retry.max_delay)
    }

    /// Runs `try_once` under the policy. One call = up to `tries` tries = one breaker outcome.
    pub async fn call<T, F, Fut>(&self, mut try_once: F) -> ProviderResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Attempt<T>>,
    {
        self.counters.calls.fetch_add(1, Ordering::Relaxed);
        if !self.admit() {
            self.counters.rejected_open.fetch_add(1, Ordering::Relaxed);
            crate::metrics::global().provider_error(&self.name, "circuit_open");
            return Err(ProviderError::new(&self.name, "circuit open"));
        }
        let mut tried = 0;
        loop {
            tried += 1;
            self.counters.tries.fetch_add(1, Ordering::Relaxed);
            let (error, retry_after) = match try_once().await {
                Attempt::Ok(v) => {
                    self.succeeded();
                    return Ok(v);
                }
                Attempt::Fatal(error) => {
                    // The vendor is up; the request is wrong. Not the breaker's business.
                    self.counters.failures.fetch_add(1, Ordering::Relaxed);
                    crate::metrics::global().provider_error(&self.name, "fatal");
                    return Err(ProviderError::new(&self.name, error));
                }
                Attempt::Retry { error, retry_after } => (error, retry_after),
            };
            let wait = retry_after.unwrap_or_else(|| self.backoff(tried - 1));
            if tried >= self.retry.tries || wait > self.retry.max_delay {
                self.counters.failures.fetch_add(1, Ordering::Relaxed);
                crate::metrics::global().provider_error(&self.name, "transient");
                self.failed();
                return Err(ProviderError::new(
                    &self.name,
                    format!("{error} (after {tried} tries)"),
                ));
            }
            tracing::debug!(provider = %self.name, error = %error, wait_ms = wait.as_millis() as u64, "retrying");
            self.counters.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> Resilience {
        Resilience::new("test", RetryPolicy::default(), BreakerPolicy::default())
    }

    #[tokio::test(start_paused = true)]
    async fn retries_then_succeeds_and_honours_retry_after() {
        let r = fast();
        let mut n = 0;
        let t0 = Instant::now();
        let v = r
            .call(|| {
                n += 1;
                let n = n;
                async move {
                    match n {
                        1 => Attempt::Retry {
                            error: "429".into(),
                            retry_after: Some(Duration::from_secs(3)),
                        },
                        2 => Attempt::Retry {
                            error: "503".into(),
                            retry_after: None,
                        },
                        _ => Attempt::Ok(n),
                    }
                }
            })
            .await
            .unwrap();
        assert_eq!(v, 3);
        // 3 s as asked, then ~2 s (base 1 s doubled, ±25 %).
        let waited = t0.elapsed();
        assert!(waited >= Duration::from_millis(4500) && waited <= Duration::from_millis(5500));
        assert_eq!(Counters::get(&r.counters.retries), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn fatal_errors_are_not_retried() {
        let r = fast();
        let mut n = 0;
        let e = r
            .call(|| {
                n += 1;
                async { Attempt::<()>::Fatal("HTTP 401".into()) }
            })
            .await
            .unwrap_err();
        assert_eq!(n, 1);
        assert!(e.message.contains("401"));
        assert!(!r.is_open());
    }

    #[tokio::test(start_paused = true)]
    async fn the_breaker_opens_after_five_failures_and_half_opens_after_a_minute() {
        let r = fast();
        let fail = || async {
            Attempt::<()>::Retry {
                error: "500".into(),
                retry_after: None,
            }
        };
        for _ in 0..5 {
            assert!(r.call(fail).await.is_err());
        }
        assert!(r.is_open());
        assert_eq!(Counters::get(&r.counters.opened), 1);
        let before = Counters::get(&r.counters.tries);
        let e = r.call(fail).await.unwrap_err();
        assert_eq!(e.message, "circuit open");
        assert_eq!(
            Counters::get(&r.counters.tries),
            before,
            "no request while open"
        );

        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(r.call(|| async { Attempt::Ok(7) }).await.unwrap(), 7);
        assert!(!r.is_open(), "a half-open success closes it");

        for _ in 0..5 {
            let _ = r.call(fail).await;
        }
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(r.call(fail).await.is_err(), "a half-open failure");
        assert!(r.is_open(), "opens it again");
        // Opened by the first five, the second five, and the failed trial.
        assert_eq!(Counters::get(&r.counters.opened), 3);
    }
}
