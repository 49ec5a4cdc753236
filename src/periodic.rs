//! A background pass repeated on a period until shutdown: webhook deliveries, assessments,
//! the retention sweep. A failed pass is logged and tried again at the next tick.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Runs `pass` every `period` (a late tick waits, it does not burst) until `stop`; a failure
/// is logged with `failed` as the message.
pub async fn every<F, Fut, T, E>(
    period: Duration,
    stop: CancellationToken,
    failed: &str,
    mut pass: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Display,
{
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {
                if let Err(e) = pass().await {
                    tracing::warn!(error = %e, "{failed}");
                }
            }
        }
    }
}
