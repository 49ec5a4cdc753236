//! Rate limits on tokio's clock (so they run on paused time in tests).

use tokio::time::Instant;

/// A token bucket on tokio's clock.
#[derive(Debug)]
pub struct Bucket {
    tokens: f64,
    burst: f64,
    rate: f64,
    at: Instant,
}

impl Bucket {
    pub fn new(burst: f64, rate_per_sec: f64) -> Self {
        Self {
            tokens: burst,
            burst,
            rate: rate_per_sec,
            at: Instant::now(),
        }
    }

    pub fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + (now - self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
