//! The machine a run happened on, and how busy it was while each benchmark ran: the share of
//! every core's time spent outside the benchmark's own processes, from `/proc/stat` (all
//! CPU time) and `/proc/self/stat` (the finished children's CPU time) read before and after.
//! A ratio measured while other work held a core does not mean much; the report says so.

use std::{fs, time::Duration};

/// Others' work above this many cores, on average over a benchmark, makes its figures suspect.
pub const BUSY_CORES: f64 = 0.25;

/// What the report says about the machine.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
}

impl Machine {
    pub fn read() -> Self {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown CPU".to_owned(), |(_, v)| v.trim().to_owned());
        let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0.0);
        Self {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib: (kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_owned(),
        }
    }
}

/// CPU time counters at one moment, in clock ticks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ticks {
    /// All cores' non-idle time.
    busy: u64,
    /// This process's finished children's user + system time.
    children: u64,
}

impl Ticks {
    pub fn now() -> Self {
        Self {
            busy: fs::read_to_string("/proc/stat")
                .ok()
                .as_deref()
                .and_then(busy_ticks)
                .unwrap_or(0),
            children: fs::read_to_string("/proc/self/stat")
                .ok()
                .as_deref()
                .and_then(children_ticks)
                .unwrap_or(0),
        }
    }
}

/// How busy the machine was over one benchmark.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    /// Cores the benchmark's processes kept busy, on average.
    pub bench_cores: f64,
    /// Cores everything else kept busy, on average.
    pub other_cores: f64,
}

impl Load {
    pub fn between(before: Ticks, after: Ticks, wall: Duration) -> Self {
        // The kernel's USER_HZ is 100 on every Linux this runs on.
        let secs = wall.as_secs_f64().max(0.001) * 100.0;
        let all = after.busy.saturating_sub(before.busy) as f64 / secs;
        let bench = after.children.saturating_sub(before.children) as f64 / secs;
        Self {
            bench_cores: round2(bench),
            other_cores: round2((all - bench).max(0.0)),
        }
    }

    pub fn busy(&self) -> bool {
        self.other_cores > BUSY_CORES
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The `cpu` line of `/proc/stat`: user nice system idle iowait irq softirq steal …; busy is
/// everything but idle and iowait.
fn busy_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let n: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|v| v.parse().ok())
        .collect();
    (n.len() == 8).then(|| n.iter().sum::<u64>() - n[3] - n[4])
}

/// Fields 16 and 17 of `/proc/self/stat` (cutime, cstime), counted after the command name,
/// which may itself hold spaces and parentheses.
fn children_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): cutime is field 16, so index 13.
    let cutime: u64 = fields.get(13)?.parse().ok()?;
    let cstime: u64 = fields.get(14)?.parse().ok()?;
    Some(cutime + cstime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_time_leaves_out_idle_and_iowait() {
        let stat = "cpu  100 5 50 1000 20 1 2 3 0 0\ncpu0 50 2 25 500 10 0 1 1 0 0\n";
        assert_eq!(busy_ticks(stat), Some(100 + 5 + 50 + 1 + 2 + 3));
        assert_eq!(busy_ticks("intr 1 2 3"), None);
    }

    #[test]
    fn children_time_is_read_past_a_command_name_with_spaces() {
        let stat = "42 (my (odd) cmd) S 1 42 42 0 -1 4194304 100 0 0 0 7 3 250 120 20 0 1 0";
        assert_eq!(children_ticks(stat), Some(370));
    }

    #[test]
    fn others_work_is_what_the_benchmark_did_not_do() {
        let before = Ticks {
            busy: 1_000,
            children: 100,
        };
        let after = Ticks {
            busy: 1_400,
            children: 300,
        };
        let load = Load::between(before, after, Duration::from_secs(2));
        assert_eq!(
            load,
            Load {
                bench_cores: 1.0,
                other_cores: 1.0
            }
        );
        assert!(load.busy());
        let quiet = Load::between(
            before,
            Ticks {
                busy: 1_210,
                children: 300,
            },
            Duration::from_secs(2),
        );
        assert!(!quiet.busy(), "{quiet:?}");
    }
}
