//! What the load generator reads about the server from `/proc`: CPU time
//! (user + system, all threads) and resident memory. Efficiency figures are
//! operations per server CPU-second, which stay fair when the load
//! generator, not the server, is the bottleneck on a small machine.

use std::time::Duration;

/// Linux reports `/proc/PID/stat` times in USER_HZ ticks, which is 100 on
/// every architecture Linux runs on (it is fixed by the kernel ABI, unlike
/// the kernel's internal HZ).
const TICKS_PER_SECOND: u64 = 100;

/// User plus system CPU time the process has used so far.
pub fn cpu_time(pid: u32) -> std::io::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_cpu_time(&stat).ok_or_else(|| std::io::Error::other(format!("odd /proc/{pid}/stat")))
}

/// Resident set size in bytes.
pub fn rss(pid: u32) -> std::io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_rss(&status).ok_or_else(|| std::io::Error::other(format!("no VmRSS in /proc/{pid}/status")))
}

fn parse_cpu_time(stat: &str) -> Option<Duration> {
    // The command name (field 2) is in parentheses and may hold spaces;
    // the fields after the last ')' start at field 3 (state).
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 1000 / TICKS_PER_SECOND))
}

fn parse_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Samples a server's CPU time at the start and end of a measured
/// interval; a no-op when no PID was given.
pub struct CpuMeter {
    pid: Option<u32>,
    start: Duration,
}

impl CpuMeter {
    /// Starts measuring now.
    pub fn start(pid: Option<u32>) -> std::io::Result<Self> {
        let start = match pid {
            Some(pid) => cpu_time(pid)?,
            None => Duration::ZERO,
        };
        Ok(CpuMeter { pid, start })
    }

    /// Server CPU seconds since `start`, or None without a PID.
    pub fn elapsed(&self) -> std::io::Result<Option<f64>> {
        match self.pid {
            Some(pid) => Ok(Some((cpu_time(pid)? - self.start).as_secs_f64())),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_a_command_name_holding_spaces_and_parentheses() {
        let stat = "4242 (my (odd) server) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0";
        assert_eq!(parse_cpu_time(stat), Some(Duration::from_millis(3250)));
        assert_eq!(parse_cpu_time("4242 (x) S 1"), None);
    }

    #[test]
    fn parses_rss_and_reads_our_own_process() {
        assert_eq!(parse_rss("Name:\tx\nVmRSS:\t   1234 kB\n"), Some(1234 * 1024));
        assert_eq!(parse_rss("Name:\tx\n"), None);
        let me = std::process::id();
        assert!(rss(me).unwrap() > 0);
        // Burn a little CPU so the clock moves at least one tick.
        let meter = CpuMeter::start(Some(me)).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_millis(50);
        let mut spin = 0u64;
        while std::time::Instant::now() < deadline {
            spin = std::hint::black_box(spin.wrapping_add(1));
        }
        assert!(meter.elapsed().unwrap().unwrap() > 0.0);
    }
}
