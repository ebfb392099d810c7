//! `make bench BENCH=a,b`: the sections just re-run replace theirs in the BENCHMARKS.md already
//! written, and every other section stays as it was, so re-running one benchmark does not wipe
//! the figures of the others (which may not be re-runnable on this machine today). Pure: no I/O.

/// `old` is the report on disk, `fresh` the report of the benchmarks just run (named `rerun`,
/// in the order `order` lists every benchmark). The old header stays; each re-run section
/// says when and at which commit it was re-run alone.
pub fn merge(old: &str, fresh: &str, rerun: &[&str], order: &[&str], when: &str) -> String {
    let (old_head, old_sections) = split(old);
    let (_, fresh_sections) = split(fresh);
    if old_head.trim().is_empty() {
        return fresh.to_owned();
    }
    let mut out = old_head.to_owned();
    for name in order {
        let kept = if rerun.contains(name) {
            fresh_sections
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, s)| restated(s, name, when))
        } else {
            old_sections
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, s)| (*s).to_owned())
        };
        if let Some(section) = kept {
            out.push_str(&section);
        }
    }
    out
}

/// The text before the first section, and each section (`\n## name` to the next) by name.
fn split(report: &str) -> (&str, Vec<(&str, &str)>) {
    let mut starts: Vec<usize> = report.match_indices("\n## ").map(|(i, _)| i).collect();
    let head = &report[..starts.first().copied().unwrap_or(report.len())];
    starts.push(report.len());
    let sections = starts
        .windows(2)
        .map(|w| {
            let text = &report[w[0]..w[1]];
            let name = text[4..].lines().next().unwrap_or("").trim();
            (name, text)
        })
        .collect();
    (head, sections)
}

fn restated(section: &str, name: &str, when: &str) -> String {
    let note = format!(
        "\nRe-run alone by `make bench BENCH={name}` {when}; the other sections are from the \
         full run named above. Ran "
    );
    section.replacen("\nRan ", &note, 1)
}

#[cfg(test)]
mod tests {
    use super::merge;

    const OLD: &str = "# Benchmarks\n\nWritten at commit `1`.\n\n## a\n\nA old.\n\nRan 1 s.\n\n| a |\n\n## b\n\nB old.\n\nRan 2 s.\n";
    const FRESH: &str = "# Benchmarks\n\nWritten at commit `2`.\n\n## b\n\nB new.\n\nRan 3 s.\n\n## c\n\nC new.\n\nRan 4 s.\n";

    #[test]
    fn a_partial_run_replaces_its_sections_and_keeps_the_others() {
        let out = merge(OLD, FRESH, &["b", "c"], &["a", "b", "c"], "at commit `2`");
        assert!(
            out.starts_with("# Benchmarks\n\nWritten at commit `1`."),
            "{out}"
        );
        assert!(out.contains("## a\n\nA old.\n\nRan 1 s.\n\n| a |"), "{out}");
        assert!(!out.contains("B old"), "{out}");
        assert!(out.contains("B new.\n\nRe-run alone by `make bench BENCH=b` at commit `2`; the other sections are from the full run named above. Ran 3 s."), "{out}");
        let (a, b, c) = (out.find("## a"), out.find("## b"), out.find("## c"));
        assert!(a < b && b < c, "{out}");
    }

    #[test]
    fn with_no_report_on_disk_the_fresh_one_is_written_whole() {
        assert_eq!(
            merge("", FRESH, &["b", "c"], &["a", "b", "c"], "now"),
            FRESH
        );
    }
}
