//! What a run reports: one [`CheckResult`] per check, the [`Fail`] a check gives when the relay
//! differs from PROTOCOL.md, and the table printed for people.

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// Stable, snake_case: scripts and tests match on it.
    pub name: String,
    pub passed: bool,
    /// What was seen: on a pass, the evidence; on a failure, what differed from PROTOCOL.md.
    pub detail: String,
}

/// Why one check failed, in words for the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail(pub String);

impl From<String> for Fail {
    fn from(s: String) -> Self {
        Fail(s)
    }
}

impl From<&str> for Fail {
    fn from(s: &str) -> Self {
        Fail(s.to_owned())
    }
}

/// The results so far, in the order they ran.
#[derive(Default)]
pub struct Results(pub Vec<CheckResult>);

impl Results {
    pub fn record(&mut self, name: &str, outcome: Result<String, Fail>) -> bool {
        let passed = outcome.is_ok();
        let detail = match outcome {
            Ok(detail) | Err(Fail(detail)) => detail,
        };
        self.0.push(CheckResult {
            name: name.to_owned(),
            passed,
            detail,
        });
        passed
    }
}

/// The pass/fail table: one row per check, columns aligned, and a summary line.
pub fn table(results: &[CheckResult]) -> String {
    let width = results
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!("{:<width$}  RESULT  DETAIL\n", "CHECK");
    for r in results {
        let verdict = if r.passed { "PASS" } else { "FAIL" };
        out.push_str(&format!("{:<width$}  {verdict:<6}  {}\n", r.name, r.detail));
    }
    let failed = results.iter().filter(|r| !r.passed).count();
    out.push_str(&format!(
        "{} checks, {} passed, {failed} failed\n",
        results.len(),
        results.len() - failed
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_a_row_per_check_and_counts_the_failures() {
        let row = |name: &str, passed| CheckResult {
            name: name.into(),
            passed,
            detail: "seen".into(),
        };
        let text = table(&[row("a_long_check_name", true), row("b", false)]);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(
            lines[1].starts_with("a_long_check_name  PASS    seen"),
            "{text}"
        );
        assert!(
            lines[2].starts_with("b                  FAIL    seen"),
            "{text}"
        );
        assert_eq!(lines[3], "2 checks, 1 passed, 1 failed");
    }
}
