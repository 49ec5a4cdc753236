//! Hot state in Redis (fred): checkpoints, tickets, ownership leases, the live event stream,
//! revoked tokens and rate limits, shared by every node.
//!
//! Redis is never the only copy of an answer once Postgres has it, and the server never waits
//! on Redis being up: the client fails fast while disconnected (every command has a timeout)
//! and reconnects by itself with backoff, so an outage costs checkpoints and live monitoring
//! on other nodes until it ends, never an interview.

use std::time::Duration;

use async_trait::async_trait;
use fred::prelude::*;
use fred::types::streams::XReadResponse;
use uuid::Uuid;

use super::{Checkpoint, Claim, FeedItem, HotState, StoreError, StoreResult, StoredEvent};

/// How long a checkpoint outlives the interview's last activity.
const CHECKPOINT_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long a live stream outlives its last event.
const STREAM_TTL: Duration = Duration::from_secs(24 * 3600);
/// Every command's deadline: a slow Redis degrades hot state, never the interview.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// A lease is `<generation>|<node>` (a bare `<node>`: generation 0, from before fencing);
/// KEYS[2] counts generations. ARGV: node, ttl ms, `take`|`renew`, the floor or the held
/// generation, the counter's ttl ms. Returns the generation, 0 if refused (see `Claim`).
const ACQUIRE_LEASE: &str = r#"
local node, mode, n = ARGV[1], ARGV[3], tonumber(ARGV[4])
local v = redis.call('GET', KEYS[1])
local gen, holder = 0, nil
if v then
  local bar = string.find(v, '|', 1, true)
  holder = v
  if bar then
    gen = tonumber(string.sub(v, 1, bar - 1))
    holder = string.sub(v, bar + 1)
  end
  if holder ~= node then return 0 end
end
if mode == 'renew' then
  if v == false then
    -- Expired: still the holder's if nobody took it since.
    if tonumber(redis.call('GET', KEYS[2]) or '0') ~= n then return 0 end
  elseif gen ~= n then
    return 0
  end
  redis.call('SET', KEYS[1], n .. '|' .. node, 'PX', ARGV[2])
  return n
end
if v and gen > 0 and gen >= n then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return gen
end
local g = redis.call('INCR', KEYS[2])
if g <= n then
  g = n + 1
  redis.call('SET', KEYS[2], g)
end
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('SET', KEYS[1], g .. '|' .. node, 'PX', ARGV[2])
return g
"#;

/// Deletes the lease if ARGV[1] holds it.
const RELEASE_LEASE: &str = r#"
local v = redis.call('GET', KEYS[1])
if v == false then return 0 end
local bar = string.find(v, '|', 1, true)
local holder = v
if bar then holder = string.sub(v, bar + 1) end
if holder == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

/// Saves a checkpoint unless the stored one carries a higher fence; 0 if refused.
const SAVE_CHECKPOINT: &str = r#"
local old = redis.call('GET', KEYS[1])
if old then
  local ok, cp = pcall(cjson.decode, old)
  if ok and type(cp) == 'table' and tonumber(cp.fence or 0) > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
"#;

/// How long a lease's generation counter outlives its last holder (the store's fence floor
/// covers a counter lost after that).
const GENERATION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Returns a list and deletes it, at once.
const TAKE_ALL: &str = r#"
local v = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
return v
"#;

/// Feed entries kept per interview (a few seconds of both sides' audio and messages).
const FEED_CAP: i64 = 2000;
/// How long a feed outlives its last item.
const FEED_TTL: Duration = Duration::from_secs(60);

/// Where nodes ask each other for interviews (`interview::handoff`).
const HANDOFF_CHANNEL: &str = "viva:handoff";

/// Fixed-window counter: the first hit starts the window.
const RATE_LIMIT: &str = r#"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"#;

#[derive(Clone)]
pub struct RedisHot {
    client: Client,
}

fn key(kind: &str, id: impl std::fmt::Display) -> String {
    format!("viva:{kind}:{id}")
}

fn ms(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

impl RedisHot {
    /// Connects to a `redis://` URL. Fails if Redis cannot be reached now; once connected,
    /// later outages are ridden out (reconnect with backoff, commands fail fast meanwhile).
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let config = Config::from_url(url)?;
        let mut builder = Builder::from_config(config);
        builder
            .with_config(|c| {
                c.fail_fast = true;
            })
            .with_performance_config(|p| {
                p.default_command_timeout = COMMAND_TIMEOUT;
            })
            .with_connection_config(|c| {
                c.connection_timeout = COMMAND_TIMEOUT;
                c.internal_command_timeout = COMMAND_TIMEOUT;
                c.max_command_attempts = 1;
            })
            // Forever, 100 ms doubling to 2 s.
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2));
        let client = builder.build()?;
        client.init().await?;
        Ok(Self { client })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// Stream entries read per command.
const READ_PAGE: u64 = 1000;

/// One XREAD of an interview's stream after `after` (blocking up to `block_ms` if given).
async fn xread(
    client: &impl StreamsInterface,
    id: Uuid,
    after: u64,
    block_ms: Option<u64>,
) -> StoreResult<Vec<StoredEvent>> {
    let reply: Value = client
        .xread(
            Some(READ_PAGE),
            block_ms,
            key("ev", id),
            format!("{after}-0").as_str(),
        )
        .await?;
    // A blocking read that times out answers nil: nothing new.
    let streams: XReadResponse<String, String, String, String> = if reply.is_null() {
        Default::default()
    } else {
        reply.into_xread_response()?
    };
    let mut out = Vec::new();
    for (_, entries) in streams {
        for (xid, mut fields) in entries {
            let seq = xid
                .split('-')
                .next()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| StoreError::Corrupt(format!("stream id {xid:?}")))?;
            let body = fields
                .remove("b")
                .ok_or_else(|| StoreError::Corrupt(format!("stream entry {xid} has no body")))?;
            out.push(StoredEvent {
                interview_id: id,
                seq,
                body,
            });
        }
    }
    Ok(out)
}

fn decode<T: serde::de::DeserializeOwned>(what: &str, raw: &str) -> StoreResult<T> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn is_stale_id(e: &fred::error::Error) -> bool {
    e.details().contains("equal or smaller")
}

#[async_trait]
impl HotState for RedisHot {
    async fn save_checkpoint(&self, cp: &Checkpoint) -> StoreResult<()> {
        let body = serde_json::to_string(cp).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let saved: i64 = self
            .client
            .eval(
                SAVE_CHECKPOINT,
                key("cp", cp.interview_id),
                vec![body, cp.fence.to_string(), ms(CHECKPOINT_TTL).to_string()],
            )
            .await?;
        if saved == 0 {
            return Err(StoreError::Fenced);
        }
        Ok(())
    }

    async fn load_checkpoint(&self, id: Uuid) -> StoreResult<Option<Checkpoint>> {
        let raw: Option<String> = self.client.get(key("cp", id)).await?;
        raw.map(|r| decode("checkpoint", &r)).transpose()
    }

    async fn put_ticket(&self, ticket: &str, interview_id: Uuid, ttl: Duration) -> StoreResult<()> {
        let () = self
            .client
            .set(
                key("ticket", ticket),
                interview_id.to_string(),
                Some(Expiration::PX(ms(ttl))),
                None,
                false,
            )
            .await?;
        Ok(())
    }

    async fn take_ticket(&self, ticket: &str) -> StoreResult<Option<Uuid>> {
        let raw: Option<String> = self.client.getdel(key("ticket", ticket)).await?;
        Ok(raw.and_then(|r| Uuid::parse_str(&r).ok()))
    }

    async fn acquire_lease(
        &self,
        id: Uuid,
        node: &str,
        ttl: Duration,
        claim: Claim,
    ) -> StoreResult<Option<u64>> {
        let (mode, n) = claim.parts();
        let generation: i64 = self
            .client
            .eval(
                ACQUIRE_LEASE,
                vec![key("lease", id), key("lease-gen", id)],
                vec![
                    node.to_owned(),
                    ms(ttl).to_string(),
                    mode.to_owned(),
                    n.to_string(),
                    ms(GENERATION_TTL).to_string(),
                ],
            )
            .await?;
        Ok((generation > 0).then_some(generation as u64))
    }

    async fn lease_holder(&self, id: Uuid) -> StoreResult<Option<String>> {
        let lease: Option<String> = self.client.get(key("lease", id)).await?;
        Ok(lease.map(|v| match v.split_once('|') {
            Some((_, node)) => node.to_owned(),
            None => v,
        }))
    }

    async fn release_lease(&self, id: Uuid, node: &str) -> StoreResult<()> {
        let _: i64 = self
            .client
            .eval(RELEASE_LEASE, key("lease", id), vec![node.to_owned()])
            .await?;
        Ok(())
    }

    async fn publish_events(&self, events: &[StoredEvent], cap: usize) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        // The stream id is the event's seq, so readers resume with `seq-0` and a retried
        // batch is refused per entry instead of duplicated.
        let pipeline = self.client.pipeline();
        let mut streams: Vec<Uuid> = Vec::new();
        for e in events {
            let _: () = pipeline
                .xadd(
                    key("ev", e.interview_id),
                    false,
                    ("MAXLEN", "~", cap as i64),
                    format!("{}-0", e.seq).as_str(),
                    ("b", e.body.as_str()),
                )
                .await?;
            if !streams.contains(&e.interview_id) {
                streams.push(e.interview_id);
            }
        }
        for id in &streams {
            let _: () = pipeline
                .pexpire(key("ev", id), ms(STREAM_TTL), None)
                .await?;
        }
        for result in pipeline.try_all::<Value>().await {
            match result {
                Ok(_) => {}
                Err(e) if is_stale_id(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    async fn read_events(
        &self,
        id: Uuid,
        after: u64,
        wait: Duration,
    ) -> StoreResult<Vec<StoredEvent>> {
        if wait.is_zero() {
            // Everything after `after`, a page at a time, on the shared connection.
            let mut out: Vec<StoredEvent> = Vec::new();
            loop {
                let from = out.last().map_or(after, |e| e.seq);
                let page = xread(&self.client, id, from, None).await?;
                let full = page.len() == READ_PAGE as usize;
                out.extend(page);
                if !full {
                    return Ok(out);
                }
            }
        }
        // A blocking read holds its connection, so it gets its own.
        let reader = self.client.clone_new();
        reader.init().await?;
        // Its deadline is the wait plus the usual one: a quiet stream is not a slow Redis.
        let patient = reader.with_options(&Options {
            timeout: Some(wait + COMMAND_TIMEOUT),
            ..Default::default()
        });
        let result = xread(&patient, id, after, Some(ms(wait) as u64)).await;
        let _ = reader.quit().await;
        result
    }

    async fn revoke_token(&self, jti: &str, ttl: Duration) -> StoreResult<()> {
        let () = self
            .client
            .set(
                key("revoked", jti),
                1,
                Some(Expiration::PX(ms(ttl).max(1))),
                None,
                false,
            )
            .await?;
        Ok(())
    }

    async fn is_revoked(&self, jti: &str) -> StoreResult<bool> {
        let n: i64 = self.client.exists(key("revoked", jti)).await?;
        Ok(n > 0)
    }

    async fn rate_limit(&self, key_: &str, limit: u32, window: Duration) -> StoreResult<bool> {
        let n: i64 = self
            .client
            .eval(RATE_LIMIT, key("rl", key_), vec![ms(window).to_string()])
            .await?;
        Ok(n <= i64::from(limit))
    }

    async fn ask_handoff(&self, ask: &str) -> StoreResult<()> {
        let _: i64 = self.client.publish(HANDOFF_CHANNEL, ask).await?;
        Ok(())
    }

    async fn handoff_asks(&self) -> StoreResult<Option<tokio::sync::mpsc::Receiver<String>>> {
        // A connection of its own: a subscribed connection takes no other commands.
        let sub = self.client.clone_new();
        sub.init().await?;
        sub.subscribe(HANDOFF_CHANNEL).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        let mut messages = sub.message_rx();
        let mut reconnects = sub.reconnect_rx();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    m = messages.recv() => match m {
                        Ok(m) => {
                            let Some(body) = m.value.as_string() else { continue };
                            if tx.send(body).await.is_err() {
                                break;
                            }
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(missed = n, "handoff requests missed");
                        }
                        Err(_) => break,
                    },
                    r = reconnects.recv() => match r {
                        Ok(_) => {
                            if let Err(e) = sub.subscribe(HANDOFF_CHANNEL).await {
                                tracing::warn!(error = %e, "cannot listen for handoff requests again");
                            }
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(_) => break,
                    },
                    _ = tx.closed() => break,
                }
            }
            let _ = sub.quit().await;
        });
        Ok(Some(rx))
    }

    async fn answer_handoff(&self, request: &str, answer: &str, ttl: Duration) -> StoreResult<()> {
        let () = self
            .client
            .set(
                key("handoff", request),
                answer,
                Some(Expiration::PX(ms(ttl))),
                None,
                false,
            )
            .await?;
        Ok(())
    }

    async fn handoff_answer(&self, request: &str) -> StoreResult<Option<String>> {
        Ok(self.client.get(key("handoff", request)).await?)
    }

    async fn forget(&self, id: Uuid) -> StoreResult<()> {
        let _: i64 = self
            .client
            .del(vec![
                key("cp", id),
                key("ev", id),
                key("mail", id),
                key("feed", id),
                key("lease-gen", id),
            ])
            .await?;
        Ok(())
    }

    async fn put_live(&self, id: Uuid, status: Option<&str>, ttl: Duration) -> StoreResult<()> {
        match status {
            Some(s) => {
                let () = self
                    .client
                    .set(
                        key("live", id),
                        s,
                        Some(Expiration::PX(ms(ttl).max(1))),
                        None,
                        false,
                    )
                    .await?;
            }
            None => {
                let _: i64 = self.client.del(key("live", id)).await?;
            }
        }
        Ok(())
    }

    async fn put_cached(&self, k: &str, value: &str, ttl: Duration) -> StoreResult<()> {
        let () = self
            .client
            .set(
                format!("viva:cache:{k}"),
                value,
                Some(Expiration::PX(ms(ttl).max(1))),
                None,
                false,
            )
            .await?;
        Ok(())
    }

    async fn cached(&self, k: &str) -> StoreResult<Option<String>> {
        Ok(self.client.get(format!("viva:cache:{k}")).await?)
    }

    async fn live(&self, ids: &[Uuid]) -> StoreResult<Vec<Option<String>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| key("live", id)).collect();
        let values: Vec<Option<String>> = self.client.mget(keys).await?;
        Ok(values)
    }

    async fn send_mail(&self, id: Uuid, body: &str, ttl: Duration) -> StoreResult<()> {
        let pipeline = self.client.pipeline();
        let _: () = pipeline.rpush(key("mail", id), body).await?;
        let _: () = pipeline.pexpire(key("mail", id), ms(ttl), None).await?;
        let _: Vec<Value> = pipeline.all().await?;
        Ok(())
    }

    async fn take_mail(&self, id: Uuid) -> StoreResult<Vec<String>> {
        let taken: Vec<String> = self
            .client
            .eval(TAKE_ALL, key("mail", id), Vec::<String>::new())
            .await?;
        Ok(taken)
    }

    async fn publish_feed(&self, items: &[(Uuid, FeedItem)]) -> StoreResult<()> {
        if items.is_empty() {
            return Ok(());
        }
        let pipeline = self.client.pipeline();
        let mut feeds: Vec<Uuid> = Vec::new();
        for (id, item) in items {
            let field: (&str, Value) = match item {
                FeedItem::Text(t) => ("t", Value::from(t.as_str())),
                FeedItem::Audio(b) => ("a", Value::Bytes(b.clone())),
            };
            let _: () = pipeline
                .xadd(
                    key("feed", id),
                    false,
                    ("MAXLEN", "~", FEED_CAP),
                    "*",
                    vec![field],
                )
                .await?;
            if !feeds.contains(id) {
                feeds.push(*id);
            }
        }
        for id in &feeds {
            let _: () = pipeline
                .pexpire(key("feed", id), ms(FEED_TTL), None)
                .await?;
        }
        let _: Vec<Value> = pipeline.all().await?;
        Ok(())
    }

    async fn read_feed(
        &self,
        id: Uuid,
        after: Option<String>,
        wait: Duration,
    ) -> StoreResult<(Vec<FeedItem>, Option<String>)> {
        // From now on: after the newest entry (or the start of an empty feed).
        let from = match after {
            Some(a) => a,
            None => {
                let newest: Value = self
                    .client
                    .xrevrange(key("feed", id), "+", "-", Some(1))
                    .await?;
                newest
                    .into_array()
                    .first()
                    .and_then(|e| e.clone().into_array().first().cloned())
                    .and_then(|v| v.into_string())
                    .unwrap_or_else(|| "0-0".to_owned())
            }
        };
        // A blocking read holds its connection, so it gets its own.
        let reader = self.client.clone_new();
        reader.init().await?;
        let patient = reader.with_options(&Options {
            timeout: Some(wait + COMMAND_TIMEOUT),
            ..Default::default()
        });
        let reply: Result<Value, _> = patient
            .xread(
                Some(READ_PAGE),
                Some(ms(wait) as u64),
                key("feed", id),
                from.as_str(),
            )
            .await;
        let _ = reader.quit().await;
        let reply = reply?;
        let streams: XReadResponse<String, String, String, Value> = if reply.is_null() {
            Default::default()
        } else {
            reply.into_xread_response()?
        };
        let mut out = Vec::new();
        let mut last = from;
        for (_, entries) in streams {
            for (xid, fields) in entries {
                for (name, value) in fields {
                    let item = match (name.as_str(), value) {
                        ("t", v) => v.into_string().map(FeedItem::Text),
                        ("a", Value::Bytes(b)) => Some(FeedItem::Audio(b)),
                        ("a", Value::String(s)) => {
                            Some(FeedItem::Audio(bytes::Bytes::from(s.to_string())))
                        }
                        _ => None,
                    };
                    out.extend(item);
                }
                last = xid;
            }
        }
        Ok((out, Some(last)))
    }

    async fn ping(&self) -> StoreResult<()> {
        let _: String = self.client.ping(None).await?;
        Ok(())
    }
}
