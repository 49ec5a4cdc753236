//! Samples a process's CPU use and resident memory from /proc (Linux).

use std::time::Instant;

pub struct Sampler {
    pid: u32,
    ticks_per_sec: f64,
    last: Option<(Instant, f64)>,
}

/// CPU seconds (user + system) of a process.
fn cpu_secs(pid: u32, ticks_per_sec: f64) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / ticks_per_sec)
}

/// Resident set size in MiB.
fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

impl Sampler {
    pub fn new(pid: u32) -> Self {
        let ticks_per_sec = std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0);
        let mut s = Self {
            pid,
            ticks_per_sec,
            last: None,
        };
        s.sample();
        s
    }

    /// CPU percent since the previous sample (100 = one core) and current RSS in MiB.
    pub fn sample(&mut self) -> (Option<f64>, Option<f64>) {
        let now = Instant::now();
        let cpu = cpu_secs(self.pid, self.ticks_per_sec);
        let pct = match (self.last, cpu) {
            (Some((t0, c0)), Some(c1)) => {
                let wall = now.duration_since(t0).as_secs_f64();
                (wall > 0.0).then(|| ((c1 - c0) / wall * 1000.0).round() / 10.0)
            }
            _ => None,
        };
        if let Some(c) = cpu {
            self.last = Some((now, c));
        }
        (pct, rss_mb(self.pid).map(|m| (m * 10.0).round() / 10.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_process() {
        let mut s = Sampler::new(std::process::id());
        // Burn a little CPU so the second sample has something to measure.
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let (cpu, rss) = s.sample();
        assert!(cpu.is_some_and(|c| c > 0.0), "{cpu:?}");
        assert!(rss.is_some_and(|r| r > 1.0), "{rss:?}");
    }
}
