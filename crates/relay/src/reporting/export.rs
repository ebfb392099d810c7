//! Report rows as CSV for spreadsheets: RFC 4180 quoting by the `csv` crate, a header of the
//! field names (in alphabetical order), one line per row, missing values empty, and no text
//! cell a spreadsheet would run. Queue and agent names are typed by people, and a cell that
//! begins with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula by Excel,
//! LibreOffice and Sheets (`=HYPERLINK(...)` becomes a live link, `=cmd|...` worse), so such a
//! text cell is written with a leading `'`, as OWASP's CSV-injection advice says: the
//! spreadsheet then shows the text as typed. Numbers are the relay's own and are written as
//! they are.

use serde::Serialize;

/// The first characters that make a spreadsheet read a cell as a formula (with the full-width
/// forms some of them also accept).
const FORMULA_STARTS: &[char] = &[
    '=', '+', '-', '@', '\t', '\r', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}',
];

/// `text` as a spreadsheet shows it rather than runs it.
pub fn neutralise(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(FORMULA_STARTS) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// Rows serialised as flat JSON objects, as CSV.
pub fn to_csv<T: Serialize>(rows: &[T]) -> Result<Vec<u8>, csv::Error> {
    let values: Vec<serde_json::Value> = rows
        .iter()
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect();
    let Some(serde_json::Value::Object(first)) = values.first() else {
        return Ok(Vec::new());
    };
    let columns: Vec<String> = first.keys().cloned().collect();
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    out.write_record(columns.iter().map(|c| neutralise(c).into_owned()))?;
    for value in &values {
        out.write_record(columns.iter().map(|c| match value.get(c) {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(s)) => neutralise(s).into_owned(),
            Some(other) => other.to_string(),
        }))?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        name: &'static str,
        n: i32,
        avg: Option<f64>,
    }

    fn csv_of(rows: &[Row]) -> String {
        String::from_utf8(to_csv(rows).unwrap()).unwrap()
    }

    #[test]
    fn csv_has_a_header_quotes_commas_and_leaves_missing_values_empty() {
        let csv = csv_of(&[
            Row {
                name: "sales, EU",
                n: 3,
                avg: Some(1.5),
            },
            Row {
                name: "say \"hi\"",
                n: 0,
                avg: None,
            },
        ]);
        assert_eq!(
            csv,
            "avg,n,name\r\n1.5,3,\"sales, EU\"\r\n,0,\"say \"\"hi\"\"\"\r\n"
        );
    }

    #[test]
    fn text_a_spreadsheet_would_run_is_written_as_text() {
        for (typed, written) in [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"",
            ),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "\"'\rx\""),
            ("＝1+1", "'＝1+1"),
            ("sales = support", "sales = support"),
        ] {
            let csv = csv_of(&[Row {
                name: typed,
                n: -1,
                avg: None,
            }]);
            assert_eq!(csv, format!("avg,n,name\r\n,-1,{written}\r\n"), "{typed:?}");
        }
    }
}
