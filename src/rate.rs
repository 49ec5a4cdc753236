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
        self.take_n(1.0)
    }

    /// Takes `n` tokens at once, or none.
    pub fn take_n(&mut self, n: f64) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + (now - self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }

    /// Tokens left now, and the seconds until the bucket is full again.
    pub fn left(&self) -> (f64, f64) {
        let elapsed = (Instant::now() - self.at).as_secs_f64();
        let tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        (tokens, (self.burst - tokens) / self.rate)
    }
}
