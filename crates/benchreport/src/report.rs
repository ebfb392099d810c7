//! BENCHMARKS.md from the runs: the machine, then per benchmark what it measures against
//! which baseline, how long it ran and how busy the machine was meanwhile, its chart, and a
//! table with one column per printed line and one row per figure. Pure: no I/O.

use crate::{
    machine::{Load, Machine, BUSY_CORES},
    results::{cell, Row},
};

/// One benchmark the report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bench {
    pub name: &'static str,
    pub target: &'static str,
    /// Builds what the target runs, before it is timed (so compiling is not counted).
    pub prepare: &'static str,
    pub measures: &'static str,
    pub baseline: &'static str,
}

/// How one benchmark's run went.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Ran {
        rows: Vec<Row>,
        secs: f64,
        load: Load,
        chart: Option<String>,
    },
    Failed {
        why: String,
    },
}

/// Where and when the run happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub when: String,
    pub commit: String,
    pub machine: Machine,
}

pub fn markdown(header: &Header, runs: &[(Bench, Outcome)]) -> String {
    let m = &header.machine;
    let mut out = format!(
        "# Benchmarks\n\n\
         Written by `make bench` on {} at commit `{}`: every benchmark the Makefile has, each \
         figure beside its baseline measured in the same run. Regenerate with `make bench` \
         (`make bench BENCH=capture,routing` for some); the charts are in `bench/charts/`.\n\n\
         **Machine**: {}, {} cores, {} GiB, Linux {}.\n\n\
         While each benchmark ran, the report counts the CPU time its own processes used and \
         what the whole machine used: when everything else held more than {BUSY_CORES} of a \
         core on average, the section says the machine was busy and its ratios do not mean \
         much.\n",
        header.when, header.commit, m.cpu, m.cores, m.memory_gib, m.kernel
    );
    for (bench, outcome) in runs {
        out.push_str(&section(bench, outcome));
    }
    out
}

fn section(bench: &Bench, outcome: &Outcome) -> String {
    let mut out = format!(
        "\n## {}\n\n{} Baseline: {}. (`make {}`)\n\n",
        bench.name, bench.measures, bench.baseline, bench.target
    );
    let (rows, secs, load, chart) = match outcome {
        Outcome::Failed { why } => {
            out.push_str(&format!("**Did not finish**: {why}\n"));
            return out;
        }
        Outcome::Ran {
            rows,
            secs,
            load,
            chart,
        } => (rows, secs, load, chart),
    };
    out.push_str(&format!(
        "Ran {secs:.0} s (after building); its processes kept {} cores busy, everything else {}.",
        load.bench_cores, load.other_cores
    ));
    if load.busy() {
        out.push_str(
            " **The machine was busy**: other work shared the cores, so these ratios do not \
             mean much.",
        );
    }
    out.push_str("\n\n");
    if rows.is_empty() {
        out.push_str("It printed no figures.\n");
        return out;
    }
    if chart.is_some() {
        out.push_str(&format!(
            "![{name}: ratios to the baseline](bench/charts/{name}.svg)\n\n",
            name = bench.name
        ));
    }
    out.push_str(&table(rows));
    out
}

/// Figures down, printed lines across: the keys in first-printed order.
fn table(rows: &[Row]) -> String {
    let mut keys: Vec<&str> = Vec::new();
    for row in rows {
        for (k, _) in &row.figures {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
    }
    let escape = |s: &str| s.replace('|', "\\|");
    let mut out = String::from("| figure |");
    for row in rows {
        out.push_str(&format!(" {} |", escape(&row.label)));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(rows.len()));
    out.push('\n');
    for key in keys {
        out.push_str(&format!("| `{key}` |"));
        for row in rows {
            let value = row.figures.iter().find(|(k, _)| k == key).map(|(_, v)| v);
            out.push_str(&format!(" {} |", escape(&cell(value))));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::parse;

    const BENCH: Bench = Bench {
        name: "routing",
        target: "bench-routing",
        prepare: "",
        measures: "Decision time.",
        baseline: "a naive scan",
    };

    fn header() -> Header {
        Header {
            when: "2026-12-04 18:00 UTC".into(),
            commit: "abc1234".into(),
            machine: Machine {
                cpu: "Test CPU".into(),
                cores: 2,
                memory_gib: 23.4,
                kernel: "6.1".into(),
            },
        }
    }

    #[test]
    fn a_quiet_run_shows_its_figures_across_lines_and_its_chart() {
        let rows = parse(
            "{\"scenario\":\"latency\",\"p50_ms\":0.5,\"ratio\":1.2}\n\
             {\"scenario\":\"max\",\"p50_ms\":0.9,\"extra\":\"a|b\"}",
        );
        let load = Load {
            bench_cores: 1.5,
            other_cores: 0.1,
        };
        let md = markdown(
            &header(),
            &[(
                BENCH,
                Outcome::Ran {
                    rows,
                    secs: 12.0,
                    load,
                    chart: Some(String::new()),
                },
            )],
        );
        assert!(md.contains("**Machine**: Test CPU, 2 cores, 23.4 GiB, Linux 6.1."));
        assert!(
            md.contains("| figure | latency | max |\n|---|---|---|\n"),
            "{md}"
        );
        assert!(md.contains("| `p50_ms` | 0.5 | 0.9 |"));
        assert!(
            md.contains("| `extra` | – | a\\|b |"),
            "a pipe in a value is escaped"
        );
        assert!(md.contains("![routing: ratios to the baseline](bench/charts/routing.svg)"));
        assert!(!md.contains("**The machine was busy**"));
    }

    #[test]
    fn a_busy_run_says_so_and_a_failed_one_says_why() {
        let busy = Load {
            bench_cores: 1.0,
            other_cores: 0.9,
        };
        let rows = parse("{\"p50_ms\":1}");
        let md = markdown(
            &header(),
            &[
                (
                    BENCH,
                    Outcome::Ran {
                        rows,
                        secs: 3.0,
                        load: busy,
                        chart: None,
                    },
                ),
                (
                    BENCH,
                    Outcome::Failed {
                        why: "exit status 2".into(),
                    },
                ),
            ],
        );
        assert!(md.contains("**The machine was busy**"));
        assert!(md.contains("**Did not finish**: exit status 2"));
        assert!(!md.contains("](bench/charts/"), "no ratio, no chart");
    }
}
