//! What the network benchmarks share about their server child process: the bench binary
//! re-executes itself as `serve-child …`, and the child's first line on stdout says where it
//! listens.

use std::{
    io::{BufRead, BufReader},
    process::Child,
};

/// Reads the child's `LISTENING <where>` line and parses `<where>` (a port or an address).
pub fn listening<T: std::str::FromStr>(child: &mut Child) -> T
where
    T::Err: std::fmt::Debug,
{
    // A wrapper (a profiler) may print lines of its own first.
    let mut reader = BufReader::new(child.stdout.take().expect("the child's stdout is piped"));
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .expect("the child prints where it listens");
        assert!(n > 0, "the child exited before printing a LISTENING line");
        if let Some(at) = line.trim().strip_prefix("LISTENING ") {
            // The rest of stdout is drained, so a chatty wrapper never blocks the child.
            std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
            return at.parse().expect("a port or address");
        }
    }
}

/// The command that starts this bench binary as a server child: pinned to core 0 when `pin`,
/// and under `RELAY_BENCH_SERVER_WRAPPER` when set (a profiler, e.g. `valgrind
/// --tool=callgrind`: instructions per frame or message, whatever the machine's load).
pub fn command(pin: bool) -> std::process::Command {
    let exe = std::env::current_exe().expect("the bench binary's path");
    let mut words: Vec<std::ffi::OsString> = Vec::new();
    if pin {
        words.extend(["taskset", "-c", "0"].map(Into::into));
    }
    if let Ok(wrapper) = std::env::var("RELAY_BENCH_SERVER_WRAPPER") {
        words.extend(wrapper.split_whitespace().map(Into::into));
    }
    words.push(exe.into());
    let mut cmd = std::process::Command::new(&words[0]);
    cmd.args(&words[1..]);
    cmd
}

/// Stops a server child: a terminate signal under a wrapper, so a profiler writes its
/// figures first, else a kill.
pub fn stop(child: &mut Child) {
    if std::env::var_os("RELAY_BENCH_SERVER_WRAPPER").is_some() {
        let pid = child.id().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .ok();
    } else {
        child.kill().ok();
    }
    child.wait().ok();
}

/// User and system CPU time of a process (`self` or a pid), in microseconds, from
/// `/proc/<pid>/stat` (fields 14 and 15, in clock ticks of 1/100 s).
pub fn cpu_us(pid: &str) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    // The command name may hold spaces and parentheses: fields are counted after its `)`.
    let after = stat.rsplit_once(')').expect("a stat line").1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let us = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .expect("a CPU time field")
            * 1_000_000
            / 100
    };
    (us(11), us(12))
}
