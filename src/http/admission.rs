//! Admission at the door: how many connections this node holds, in all and per client IP, and
//! how many monitors watch each interview. A slot is held for the connection's whole life
//! (through a WebSocket upgrade) and given back when it is dropped.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use uuid::Uuid;

/// An IP network from `VIVA_TRUSTED_PROXIES`: `10.0.0.5`, `10.0.0.0/8`, `::1`, `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for IpNet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not an IP address or network (a.b.c.d/nn)");
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Self { addr, prefix })
    }
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses count as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    Node,
    Client,
}

#[derive(Debug)]
pub struct ConnectionLimits {
    max_total: usize,
    max_per_ip: usize,
    trusted: Vec<IpNet>,
    total: AtomicUsize,
    per_ip: DashMap<IpAddr, usize>,
}

impl ConnectionLimits {
    pub fn new(max_total: usize, max_per_ip: usize, trusted: Vec<IpNet>) -> Arc<Self> {
        Arc::new(Self {
            max_total: max_total.max(1),
            max_per_ip: max_per_ip.max(1),
            trusted,
            total: AtomicUsize::new(0),
            per_ip: DashMap::new(),
        })
    }

    pub fn max_total(&self) -> usize {
        self.max_total
    }

    /// Connections held now.
    pub fn open(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    pub fn is_trusted_proxy(&self, peer: IpAddr) -> bool {
        let peer = canonical(peer);
        self.trusted.iter().any(|n| n.contains(peer))
    }

    /// A slot for a new TCP connection from `peer`. A trusted proxy's connections count only
    /// against the node: its clients are counted by [`client_slot`](Self::client_slot).
    pub fn accept(self: &Arc<Self>, peer: IpAddr) -> Result<Slot, Full> {
        let ip = (!self.is_trusted_proxy(peer)).then(|| canonical(peer));
        self.take(true, ip)
    }

    /// A slot for a client behind a trusted proxy (its `X-Forwarded-For` address).
    pub fn client_slot(self: &Arc<Self>, client: IpAddr) -> Result<Slot, Full> {
        self.take(false, Some(canonical(client)))
    }

    fn take(self: &Arc<Self>, node: bool, ip: Option<IpAddr>) -> Result<Slot, Full> {
        if node {
            let taken = self
                .total
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < self.max_total).then_some(n + 1)
                });
            if taken.is_err() {
                return Err(Full::Node);
            }
        }
        if let Some(ip) = ip {
            let mut n = self.per_ip.entry(ip).or_insert(0);
            if *n >= self.max_per_ip {
                drop(n);
                if node {
                    self.total.fetch_sub(1, Ordering::AcqRel);
                }
                return Err(Full::Client);
            }
            *n += 1;
        }
        Ok(Slot {
            limits: self.clone(),
            node,
            ip,
        })
    }
}

/// A held connection slot; given back on drop.
#[derive(Debug)]
pub struct Slot {
    limits: Arc<ConnectionLimits>,
    node: bool,
    ip: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.node {
            self.limits.total.fetch_sub(1, Ordering::AcqRel);
        }
        if let Some(ip) = self.ip {
            self.limits.per_ip.remove_if_mut(&ip, |_, n| {
                *n -= 1;
                *n == 0
            });
        }
    }
}

/// Monitors per interview on this node.
#[derive(Debug)]
pub struct MonitorSeats {
    max: usize,
    taken: DashMap<Uuid, usize>,
}

impl MonitorSeats {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max: max.max(1),
            taken: DashMap::new(),
        })
    }

    pub fn take(self: &Arc<Self>, id: Uuid) -> Option<Seat> {
        let mut n = self.taken.entry(id).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Seat {
            seats: self.clone(),
            id,
        })
    }
}

#[derive(Debug)]
pub struct Seat {
    seats: Arc<MonitorSeats>,
    id: Uuid,
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.seats.taken.remove_if_mut(&self.id, |_, n| {
            *n -= 1;
            *n == 0
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_node_and_per_ip_and_given_back() {
        let l = ConnectionLimits::new(3, 2, vec!["10.0.0.0/8".parse().unwrap()]);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let a1 = l.accept(a).unwrap();
        let _a2 = l.accept(a).unwrap();
        assert_eq!(l.accept(a).unwrap_err(), Full::Client);
        let _b1 = l.accept(b).unwrap();
        assert_eq!(l.accept(b).unwrap_err(), Full::Node);
        assert_eq!(l.open(), 3);
        drop(a1);
        assert_eq!(l.open(), 2);
        let _a3 = l.accept(a).unwrap();
        // A trusted proxy counts against the node only; its clients are counted by address.
        let proxy: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert!(l.is_trusted_proxy(proxy));
        let _c1 = l.client_slot(b).unwrap();
        assert_eq!(l.client_slot(b).unwrap_err(), Full::Client);
    }

    #[test]
    fn networks_parse_and_match() {
        let n: IpNet = "10.0.0.0/8".parse().unwrap();
        assert!(n.contains("10.200.1.1".parse().unwrap()));
        assert!(!n.contains("11.0.0.1".parse().unwrap()));
        let one: IpNet = "::1".parse().unwrap();
        assert!(one.contains("::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("proxy".parse::<IpNet>().is_err());
    }

    #[test]
    fn monitor_seats_are_capped_per_interview() {
        let seats = MonitorSeats::new(2);
        let (i, j) = (Uuid::now_v7(), Uuid::now_v7());
        let s1 = seats.take(i).unwrap();
        let _s2 = seats.take(i).unwrap();
        assert!(seats.take(i).is_none());
        assert!(seats.take(j).is_some());
        drop(s1);
        assert!(seats.take(i).is_some());
    }
}
