//! What one benchmark printed, as figures: each JSON line it wrote to stdout is one row,
//! flattened (`forwarder.p50_ms`), labelled by the fields that say what was measured
//! (`workload`, `scenario`, `path`…), with its ratios to the same-run baseline picked out.
//! Pure: no I/O.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

/// Fields whose string values name a row, in the order they are joined.
const LABEL_FIELDS: &[&str] = &[
    "bench",
    "workload",
    "scenario",
    "path",
    "durability",
    "figure",
    "phase",
    "name",
];

/// One line a benchmark printed.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// What the line measured, e.g. `capture · typing-50-inputs`.
    pub label: String,
    /// Every field but the label's, flattened, in the order printed.
    pub figures: Vec<(String, Value)>,
}

impl Row {
    /// The ratios to the baseline this line carries (fields named `*ratio*` with a number).
    pub fn ratios(&self) -> impl Iterator<Item = (&str, f64)> {
        self.figures.iter().filter_map(|(k, v)| {
            (k.contains("ratio") && !k.contains('.'))
                .then(|| v.as_f64())
                .flatten()
                .map(|n| (k.as_str(), n))
        })
    }
}

/// The rows in a benchmark's stdout: lines that parse as JSON objects; other lines (a
/// child's `LISTENING 1234`, progress text) are not figures and are skipped.
pub fn parse(stdout: &str) -> Vec<Row> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Ordered>(line.trim()).ok())
        .map(|Ordered(fields)| row(&fields))
        .collect()
}

/// A JSON object's fields in the order they were printed (serde_json's own map sorts them,
/// and its `preserve_order` feature would reorder every JSON the relay writes).
struct Ordered(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut fields = Vec::new();
                while let Some(field) = map.next_entry::<String, Value>()? {
                    fields.push(field);
                }
                Ok(Ordered(fields))
            }
        }
        d.deserialize_map(Fields)
    }
}

fn row(map: &[(String, Value)]) -> Row {
    let get = |name: &str| map.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let label: Vec<&str> = LABEL_FIELDS
        .iter()
        .filter_map(|f| get(f).and_then(Value::as_str))
        .collect();
    let mut figures = Vec::new();
    for (key, value) in map {
        if LABEL_FIELDS.contains(&key.as_str()) && value.is_string() {
            continue;
        }
        flatten(key, value, &mut figures);
    }
    Row {
        label: if label.is_empty() {
            "result".to_owned()
        } else {
            label.join(" · ")
        },
        figures,
    }
}

fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                flatten(&format!("{prefix}.{key}"), inner, out);
            }
        }
        other => out.push((prefix.to_owned(), other.clone())),
    }
}

/// A value as a table cell: numbers as printed, `null` as a dash.
pub fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "–".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_become_labelled_rows_and_other_lines_are_skipped() {
        let out = "LISTENING 4100\n\
            {\"workload\":\"typing\",\"ours_ms\":1.5,\"rrweb_ms\":6.0,\"ms_ratio\":0.25}\n\
            progress 50%\n\
            {\"scenario\":\"max\",\"p50_ms\":0.4,\"ratio_cpu_per_frame\":1.3,\"forwarder\":{\"p50_ms\":0.2}}\n";
        let rows = parse(out);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].label, "typing");
        assert_eq!(rows[0].ratios().collect::<Vec<_>>(), [("ms_ratio", 0.25)]);
        assert_eq!(rows[1].label, "max");
        let keys: Vec<&str> = rows[1].figures.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["p50_ms", "ratio_cpu_per_frame", "forwarder.p50_ms"]);
        assert_eq!(
            rows[1].ratios().count(),
            1,
            "a nested ratio is the baseline's own"
        );
    }

    #[test]
    fn several_naming_fields_join_and_a_text_baseline_stays_a_figure() {
        let rows = parse(
            "{\"bench\":\"messaging\",\"path\":\"widget\",\"durability\":\"fsync\",\
             \"baseline\":\"raw SQLite\",\"ratio_to_baseline\":null}",
        );
        assert_eq!(rows[0].label, "messaging · widget · fsync");
        assert_eq!(cell(Some(&rows[0].figures[0].1)), "raw SQLite");
        assert_eq!(rows[0].ratios().count(), 0, "a null ratio is not charted");
        assert_eq!(cell(Some(&Value::Null)), "–");
    }
}
