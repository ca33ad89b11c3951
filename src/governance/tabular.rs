//! Every table icsdrill exports (registry, roll-ups, cohorts, standings, report sheets) is
//! written here, as CSV (the `csv` crate: quoting, RFC 4180) or xlsx, and every text cell is
//! neutralised against formula injection (OWASP "CSV injection"): a cell a spreadsheet would
//! take for a formula — starting with `=`, `+`, `-`, `@`, a tab or a carriage return — gets a
//! leading `'` in CSV, and the quote-prefix style in xlsx, so it stays text. A negative number
//! (`-3.5`) is not a formula and is kept as it is; a leading `+` always gets the prefix (no
//! table writes a signed number, and a phone number `+86 139…` or `+8613912345678` stays the
//! text it was, not a number a spreadsheet rounds).

use std::borrow::Cow;

use crate::{Error, Result};
use rust_xlsxwriter::{Format, Workbook, Worksheet};

/// Whether a spreadsheet would read `s` as a formula (or the start of one).
pub fn formula_like(s: &str) -> bool {
    s.starts_with(['=', '+', '@', '\t', '\r']) || (s.starts_with('-') && s.trim().parse::<f64>().is_err())
}

/// A CSV cell: formula-like text gets a leading `'`.
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    if formula_like(s) { Cow::Owned(format!("'{s}")) } else { Cow::Borrowed(s) }
}

/// A CSV cell as read back: the `'` `csv_cell` put before formula-like text comes off.
pub fn from_csv_cell(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if formula_like(rest) => rest,
        _ => s,
    }
}

/// Writes rows as CSV, with a header row.
pub fn to_csv(header: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header.iter().map(|h| csv_cell(h).into_owned()))?;
    for r in rows {
        w.write_record(r.iter().map(|c| csv_cell(c).into_owned()))?;
    }
    w.into_inner().map_err(|e| Error::Csv(e.to_string()))
}

/// `to_csv` for a spreadsheet to open: a UTF-8 byte-order mark first, without which Excel on
/// a Chinese Windows reads the file in the local code page and garbles every Chinese name.
/// (What icsdrill reads back, a registry file, may start with one too: Excel writes it.)
pub fn to_csv_for_excel(header: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    out.extend(to_csv(header, rows)?);
    Ok(out)
}

/// Writes a text cell, formula-like text with the quote prefix (Excel then keeps it text,
/// even when someone edits the cell).
pub fn text(s: &mut Worksheet, row: u32, col: u16, value: impl AsRef<str>) -> Result<()> {
    let value = value.as_ref();
    if formula_like(value) {
        s.write_string_with_format(row, col, value, &Format::new().set_quote_prefix())?;
    } else {
        s.write_string(row, col, value)?;
    }
    Ok(())
}

/// Writes a bold text cell (headings), neutralised like `text`.
pub fn bold(s: &mut Worksheet, row: u32, col: u16, value: impl AsRef<str>, bold: &Format) -> Result<()> {
    let value = value.as_ref();
    if formula_like(value) {
        s.write_string_with_format(row, col, value, &bold.clone().set_quote_prefix())?;
    } else {
        s.write_string_with_format(row, col, value, bold)?;
    }
    Ok(())
}

/// Writes a bold header in row `row`.
pub fn header_row(s: &mut Worksheet, row: u32, heads: &[impl AsRef<str>], format: &Format) -> Result<()> {
    for (c, h) in heads.iter().enumerate() {
        bold(s, row, c as u16, h, format)?;
    }
    Ok(())
}

/// Writes rows as a one-sheet xlsx workbook: numbers as numbers (but not codes with leading
/// zeros, such as phone numbers), text neutralised.
pub fn to_xlsx(sheet: &str, header: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let heading = Format::new().set_bold();
    let s = wb.add_worksheet().set_name(sheet)?;
    header_row(s, 0, header, &heading)?;
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            cell(s, r as u32 + 1, c as u16, v)?;
        }
    }
    Ok(wb.save_to_buffer()?)
}

/// Writes a cell: a number as a number (`as_number`), anything else as text (`text`).
pub fn cell(s: &mut Worksheet, row: u32, col: u16, value: &str) -> Result<()> {
    match as_number(value) {
        Some(n) => drop(s.write_number(row, col, n)?),
        None => text(s, row, col, value)?,
    }
    Ok(())
}

/// A cell's number when it is written as a plain decimal a spreadsheet keeps exactly: digits,
/// a sign and a point only, at most 15 digits, no leading zero (`0` and `0.5` are numbers).
/// Anything else is text that only looks like a number and would not come back as it was: a
/// phone number (`0991...`, `+86...`), a name such as `1e5`, a long code.
fn as_number(v: &str) -> Option<f64> {
    let unsigned = v.strip_prefix('-').unwrap_or(v);
    let (int, frac) = unsigned.split_once('.').map_or((unsigned, None), |(i, f)| (i, Some(f)));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let plain = digits(int) && frac.is_none_or(digits);
    let code = int.len() > 1 && int.starts_with('0');
    let exact = int.len() + frac.map_or(0, str::len) <= 15;
    if plain && !code && exact { v.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_numbers_and_codes_with_a_leading_zero_text() {
        for (v, n) in [("0", Some(0.0)), ("0.5", Some(0.5)), ("12", Some(12.0)), ("-3.5", Some(-3.5))] {
            assert_eq!(as_number(v), n, "{v}");
        }
        for code in [
            "0991-1234567",
            "09911234567",
            "007",
            "",
            "inf",
            "NaN",
            "plc-t101",
            "+8613900000000",
            "1e5",
            "12.",
            ".5",
            "1234567890123456",
        ] {
            assert_eq!(as_number(code), None, "{code}");
        }
    }

    #[test]
    fn formulas_are_neutralised_and_numbers_kept() {
        for payload in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+cmd|' /C calc'!A0",
            "@SUM(1)",
            "-1+2",
            "\t=1",
            "\r=1",
            "+8613912345678",
            "+7",
        ] {
            assert!(formula_like(payload), "{payload}");
            assert_eq!(csv_cell(payload), format!("'{payload}"));
            assert_eq!(from_csv_cell(&csv_cell(payload)), payload);
        }
        for plain in ["-3.5", "12", "plc-t101", "a=b", "", "13912345678"] {
            assert!(!formula_like(plain), "{plain}");
        }
        let csv = String::from_utf8(to_csv(&["a", "b"], &[vec!["=1+1".into(), "x,\"y\"".into()]]).unwrap())
            .unwrap();
        assert_eq!(csv, "a,b\n'=1+1,\"x,\"\"y\"\"\"\n");
    }
}
