//! `make bench`: runs every benchmark target of the Makefile in turn (or those `--only`
//! names), keeps what each printed under `target/bench/`, and writes BENCHMARKS.md with one
//! SVG chart per benchmark under `bench/charts/`. `--from DIR` writes the report from kept
//! outputs without running anything. A benchmark that fails is reported as such and the
//! others still run; the exit status then says so.

mod chart;
mod machine;
mod merge;
mod report;
mod results;

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{bail, Context};
use machine::{Load, Machine, Ticks};
use report::{Bench, Header, Outcome};

const BENCHES: &[Bench] = &[
    Bench {
        name: "capture",
        target: "bench-capture",
        prepare: "make -s wasm && (test -d bench/node_modules || (cd bench && npm ci --no-audit --no-fund --silent))",
        measures: "The customer page's recorder on real workloads in headless Chromium: its own \
                   main-thread time and the bytes it sends. `observer_own_ms` is what a bare \
                   MutationObserver and insertRule hook cost, which any recorder pays.",
        baseline: "rrweb 2.2.2's recorder on the same pages in the same browser run",
    },
    Bench {
        name: "relay",
        target: "bench-relay",
        prepare: "cargo bench --quiet -p relay --bench relay --no-run",
        measures: "Co-browse frames through the relay: latency at a fixed rate, the most frames \
                   per second, CPU per frame, memory per idle session.",
        baseline: "a bare tokio-tungstenite forwarder with the same socket buffers",
    },
    Bench {
        name: "routing",
        target: "bench-routing",
        prepare: "cargo bench --quiet -p relay --bench routing --no-run",
        measures: "Routing decision time with 1,000 agents and 10,000 waiting interactions, \
                   and with 10,000 agents and 100,000 waiting (`routing_large`, target p99 \
                   1 ms).",
        baseline: "a naive scan over the same agents and interactions; for the large case, \
                   the indexed engine at 1,000 × 10,000 in the same run",
    },
    Bench {
        name: "messaging",
        target: "bench-messaging",
        prepare: "cargo bench --quiet -p relay --bench messaging --no-run",
        measures: "Customer-message ingest through the relay (widget and webhook), closed and \
                   open loop, with and without an fsync per commit.",
        baseline: "raw SQLite inserts with the same settings",
    },
    Bench {
        name: "cluster",
        target: "bench-cluster",
        prepare: "cargo bench --quiet -p relay --bench cluster --no-run",
        measures: "Co-browse frames from a customer on another node than its session (piped \
                   over NATS to it) to the agent, at 1,000 frames/s: p50 and p99 (target p99 \
                   2x), and with the agent on the other node too; widget messages per second \
                   through two nodes.",
        baseline: "the same pair with both sockets on the session's node, same two nodes, \
                   same run; for messages, the same guests all through one node",
    },
    Bench {
        name: "e2e",
        target: "bench-e2e",
        prepare: "make -s wasm && cargo build --quiet -p relay --bin relay && cargo bench --quiet -p e2e --bench e2e --no-run",
        measures: "A DOM change in the customer's page to its application in the console's \
                   mirror (two headless browsers, real relay); and a 20,000-row page (about \
                   100,000 elements) shared in parts: its first and last row in the mirror \
                   after sharing began (pairing and key exchange included).",
        baseline: "a bare WebSocket echo between the same two pages; for the large page, \
                   the customer's own first contentful paint of it",
    },
    Bench {
        name: "call",
        target: "bench-call",
        prepare: "cargo build --quiet -p relay --bin relay && cargo bench --quiet -p e2e --bench call --no-run",
        measures: "A video call placed from the inbox: the customer's Accept to the first decoded \
                   frame of the other side's camera, on each side (20 calls).",
        baseline: "two RTCPeerConnections in one page, signalled by direct calls",
    },
    Bench {
        name: "hostile",
        target: "bench-hostile",
        prepare: "cargo build --quiet --release -p relay --bin relay && cargo bench --quiet -p e2e --bench hostile --no-run",
        measures: "A legitimate co-browse and chat pair while 200 hostile clients flood \
                   sign-in, guest sign-up, pairing and uploads.",
        baseline: "the same pair with no flood, in the same run",
    },
];

struct Args {
    only: Option<Vec<String>>,
    from: Option<PathBuf>,
    keep: PathBuf,
    out: PathBuf,
    charts: PathBuf,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        only: None,
        from: None,
        keep: PathBuf::from("target/bench"),
        out: PathBuf::from("BENCHMARKS.md"),
        charts: PathBuf::from("bench/charts"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--only" => {
                let names: Vec<String> = value()?
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                if let Some(bad) = names.iter().find(|n| !BENCHES.iter().any(|b| b.name == *n)) {
                    let known: Vec<&str> = BENCHES.iter().map(|b| b.name).collect();
                    bail!("no benchmark {bad:?}; known: {}", known.join(", "));
                }
                args.only = (!names.is_empty()).then_some(names);
            }
            "--from" => args.from = Some(value()?.into()),
            "--keep" => args.keep = value()?.into(),
            "--out" => args.out = value()?.into(),
            "--charts" => args.charts = value()?.into(),
            other => bail!(
                "unknown argument {other:?} (--only a,b  --from DIR  --keep DIR  --out FILE  --charts DIR)"
            ),
        }
    }
    Ok(args)
}

/// Runs one benchmark's make target, its stdout kept (and echoed), its stderr passed through.
fn run(bench: &Bench, keep: &Path) -> anyhow::Result<Outcome> {
    eprintln!("== make {}", bench.target);
    if !bench.prepare.is_empty() {
        let built = Command::new("sh")
            .args(["-c", bench.prepare])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .with_context(|| format!("building for {}", bench.name))?;
        if !built.success() {
            return Ok(Outcome::Failed {
                why: format!("building for it (`{}`) ended with {built}", bench.prepare),
            });
        }
    }
    let (before, started) = (Ticks::now(), Instant::now());
    let output = Command::new("make")
        .args(["-s", bench.target])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("starting make {}", bench.target))?;
    let wall = started.elapsed();
    reap_orphans();
    let load = Load::between(before, Ticks::now(), wall);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    print!("{stdout}");
    fs::write(keep.join(format!("{}.out", bench.name)), &stdout)?;
    fs::write(
        keep.join(format!("{}.load", bench.name)),
        format!(
            "{} {} {}\n",
            wall.as_secs_f64(),
            load.bench_cores,
            load.other_cores
        ),
    )?;
    if !output.status.success() {
        return Ok(Outcome::Failed {
            why: format!("`make {}` ended with {}", bench.target, output.status),
        });
    }
    outcome(bench, &stdout, wall.as_secs_f64(), load)
}

/// Reaps the benchmark's descendants that were orphaned and handed to this process (a child
/// subreaper, see `main`): Chromium's renderers, which the browser process leaves behind. Their
/// CPU time then counts in this process's children's time, as the benchmark's own.
fn reap_orphans() {
    use rustix::process::{wait, WaitOptions};
    while let Ok(Some(_)) = wait(WaitOptions::NOHANG) {}
}

/// The outcome from kept outputs (`--from`).
fn reread(bench: &Bench, dir: &Path) -> anyhow::Result<Outcome> {
    let Ok(stdout) = fs::read_to_string(dir.join(format!("{}.out", bench.name))) else {
        return Ok(Outcome::Failed {
            why: format!("no kept output in {}", dir.display()),
        });
    };
    let load = fs::read_to_string(dir.join(format!("{}.load", bench.name))).unwrap_or_default();
    let n: Vec<f64> = load
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    let (secs, bench_cores, other_cores) = match n[..] {
        [a, b, c] => (a, b, c),
        _ => (0.0, 0.0, 0.0),
    };
    outcome(
        bench,
        &stdout,
        secs,
        Load {
            bench_cores,
            other_cores,
        },
    )
}

fn outcome(bench: &Bench, stdout: &str, secs: f64, load: Load) -> anyhow::Result<Outcome> {
    let rows = results::parse(stdout);
    let chart = chart::svg(&format!("{}: ratio to the baseline", bench.name), &rows)
        .map_err(|e| anyhow::anyhow!("drawing the {} chart: {e}", bench.name))?;
    Ok(Outcome::Ran {
        rows,
        secs,
        load,
        chart,
    })
}

fn command_text(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn main() -> anyhow::Result<()> {
    let args = args()?;
    // Orphaned descendants come to this process instead of init, so their CPU time is counted
    // as the benchmark's and not as other work. Without it (an old kernel) they count as other.
    if let Err(e) = rustix::process::set_child_subreaper(Some(rustix::process::getpid())) {
        eprintln!(
            "benchreport: not a child subreaper ({e}): orphaned processes count as other work"
        );
    }
    let chosen: Vec<Bench> = BENCHES
        .iter()
        .filter(|b| {
            args.only
                .as_ref()
                .is_none_or(|only| only.iter().any(|n| n == b.name))
        })
        .copied()
        .collect();
    fs::create_dir_all(&args.keep)?;
    fs::create_dir_all(&args.charts)?;
    let header = Header {
        when: command_text("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        commit: command_text("git", &["rev-parse", "--short", "HEAD"]),
        machine: Machine::read(),
    };
    // A partial run (`--only`) keeps the sections it did not re-run from the report on disk.
    let previous = match &args.only {
        Some(_) => fs::read_to_string(&args.out).unwrap_or_default(),
        None => String::new(),
    };
    let names: Vec<&str> = chosen.iter().map(|b| b.name).collect();
    let order: Vec<&str> = BENCHES.iter().map(|b| b.name).collect();
    let rerun_when = format!("at commit `{}` on {}", header.commit, header.when);
    let mut runs = Vec::new();
    for bench in chosen {
        let outcome = match &args.from {
            Some(dir) => reread(&bench, dir)?,
            None => run(&bench, &args.keep)?,
        };
        if let Outcome::Ran {
            chart: Some(svg), ..
        } = &outcome
        {
            fs::write(args.charts.join(format!("{}.svg", bench.name)), svg)?;
        }
        runs.push((bench, outcome));
        // Written after each benchmark, so a long run stopped part way keeps what it measured.
        let fresh = report::markdown(&header, &runs);
        let text = if previous.is_empty() {
            fresh
        } else {
            merge::merge(&previous, &fresh, &names, &order, &rerun_when)
        };
        fs::write(&args.out, text)?;
    }
    eprintln!(
        "benchreport: wrote {} and charts in {}",
        args.out.display(),
        args.charts.display()
    );
    let failed: Vec<&str> = runs
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Failed { .. }))
        .map(|(b, _)| b.name)
        .collect();
    if !failed.is_empty() {
        bail!("did not finish: {}", failed.join(", "));
    }
    Ok(())
}
