//! The registry as a table: the columns of an import or export, row checks that report every
//! problem at once, and reading CSV and xlsx.

use super::*;

/// The columns of a registry file, in order.
pub const COLUMNS: [&str; 13] = [
    "id",
    "name",
    "prefecture",
    "industry",
    "class",
    "level",
    "verified_by",
    "verified_on",
    "contact",
    "phone",
    "security_officer",
    "scenarios",
    "installation_key",
];

/// One bad cell of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based row in the file (the header is row 1).
    pub row: usize,
    /// Column name.
    pub column: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "row {}, column {}: {}", self.row, self.column, self.message)
    }
}

/// Validates the rows of a registry file (first row: the header, any column order) imported
/// on `today`: a level is not verified after it.
pub fn validate_rows(rows: &[Vec<String>], today: Day) -> Result<Vec<Enterprise>, Vec<RowError>> {
    let mut errors = Vec::new();
    let Some(header) = rows.first() else {
        return Err(vec![RowError { row: 1, column: "-".into(), message: "the file is empty".into() }]);
    };
    let mut index = BTreeMap::new();
    for c in COLUMNS {
        match header.iter().position(|h| h.trim().eq_ignore_ascii_case(c)) {
            Some(i) => {
                index.insert(c, i);
            }
            None if ["scenarios", "contact", "phone", "security_officer", "installation_key"]
                .contains(&c) => {}
            None => errors.push(RowError { row: 1, column: c.into(), message: "missing column".into() }),
        }
    }
    for (i, h) in header.iter().enumerate() {
        if !COLUMNS.iter().any(|c| h.trim().eq_ignore_ascii_case(c)) {
            errors.push(RowError {
                row: 1,
                column: format!("{} ({h})", i + 1),
                message: format!("unknown column `{h}`"),
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut out: Vec<Enterprise> = Vec::new();
    for (r, row) in rows.iter().enumerate().skip(1) {
        let rownum = r + 1;
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |c: &str| {
            index.get(c).and_then(|i| row.get(*i)).map(|v| v.trim().to_string()).unwrap_or_default()
        };
        let mut err =
            |c: &str, m: String| errors.push(RowError { row: rownum, column: c.into(), message: m });
        let id = cell("id");
        if !icsdrill_drill::vocab::valid_team_id(&id) {
            err("id", format!("`{id}` must be 1-32 letters, digits, `-` or `_`"));
        } else if out.iter().any(|e| e.id == id) {
            err("id", format!("duplicate id `{id}`"));
        }
        let name = cell("name");
        if name.is_empty() {
            err("name", "empty".into());
        }
        let prefecture = cell("prefecture");
        if !prefectures().iter().any(|p| p.code == prefecture || p.zh == prefecture) {
            err("prefecture", format!("unknown prefecture `{prefecture}`"));
        }
        let prefecture =
            prefectures().iter().find(|p| p.zh == prefecture).map_or(prefecture.clone(), |p| p.code.clone());
        let industry = cell("industry");
        if !INDUSTRIES.contains(&industry.as_str()) {
            err("industry", format!("unknown industry `{industry}` (one of {})", INDUSTRIES.join(", ")));
        }
        let class = cell("class");
        if !CLASSES.contains(&class.as_str()) {
            err("class", format!("unknown class `{class}` (one of {})", CLASSES.join(", ")));
        }
        let level_text = cell("level");
        let level = match level_text.parse::<u8>() {
            Ok(l @ 1..=3) => l,
            _ => {
                err("level", format!("`{level_text}` is not a security level (1-3)"));
                0
            }
        };
        let verified_by = cell("verified_by");
        let expected = if level == 3 { "region" } else { "prefecture" };
        if level != 0 && verified_by != expected {
            err(
                "verified_by",
                format!("a level {level} enterprise is verified by the {expected}, not `{verified_by}`"),
            );
        }
        let verified_on = match dates::parse(&cell("verified_on")) {
            Ok(d) if d > today => {
                err("verified_on", format!("{d} is after the import's date ({today})"));
                d
            }
            Ok(d) => d,
            Err(e) => {
                err("verified_on", e.to_string());
                dates::today()
            }
        };
        let scenarios: Vec<String> = cell("scenarios")
            .split([';', ','])
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        for s in &scenarios {
            if icsdrill_scenarios::builtin(s).is_none() {
                err("scenarios", format!("unknown scenario `{s}`"));
            }
        }
        let installation_key = cell("installation_key").to_ascii_lowercase();
        if !installation_key.is_empty() && !valid_key(&installation_key) {
            err("installation_key", "not an ed25519 public key (64 hex digits)".into());
        }
        out.push(Enterprise {
            id,
            name,
            prefecture,
            industry,
            class,
            level,
            verified_by,
            verified_on,
            contact: cell("contact"),
            phone: cell("phone"),
            security_officer: cell("security_officer"),
            scenarios,
            installation_key,
        });
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// Reads CSV rows.
pub fn csv_rows(text: &str) -> Result<Vec<Vec<String>>> {
    let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| Error::invalid(format!("row {}: not valid CSV: {e}", i + 1)))?;
        // A cell our export neutralised ('=...) reads back as it was written.
        rows.push(rec.iter().map(|c| crate::governance::tabular::from_csv_cell(c).to_string()).collect());
    }
    Ok(rows)
}

/// The largest registry file read (CSV or xlsx): a region's enterprises fit in far less.
pub const MAX_IMPORT_BYTES: u64 = 16 << 20;
/// The most an xlsx registry may hold once unpacked (a small file can unpack to gigabytes).
pub const MAX_UNPACKED_BYTES: u64 = 64 << 20;
/// The most rows and columns a sheet is read to: a region registers thousands of
/// enterprises, in some twenty columns.
pub const MAX_IMPORT_ROWS: u32 = 100_000;
/// See `MAX_IMPORT_ROWS`.
pub const MAX_IMPORT_COLUMNS: u32 = 64;

/// Reads the first sheet of an xlsx workbook as rows of text (from its first used row and
/// column, every row as wide as the widest). Read cell by cell within `MAX_IMPORT_ROWS` and
/// `MAX_IMPORT_COLUMNS`: a sheet whose used range spans A1:XFD1048576 with two cells is a
/// clear error, not seventeen billion empty cells.
pub fn xlsx_rows(bytes: &[u8]) -> Result<Vec<Vec<String>>> {
    use calamine::{Data, DataRef, Reader, Xlsx};
    let invalid = |e: &dyn std::fmt::Display| Error::invalid(format!("not an xlsx workbook: {e}"));
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| invalid(&e))?;
    let mut unpacked = 0u64;
    for i in 0..zip.len() {
        unpacked = unpacked.saturating_add(zip.by_index_raw(i).map_err(|e| invalid(&e))?.size());
    }
    if unpacked > MAX_UNPACKED_BYTES {
        return Err(Error::invalid(format!(
            "the workbook unpacks to {unpacked} bytes; at most {MAX_UNPACKED_BYTES} are read"
        )));
    }
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).map_err(|e| invalid(&e))?;
    let Some(name) = wb.sheet_names().first().cloned() else {
        return Err(Error::invalid("the workbook has no sheet"));
    };
    let mut reader = wb.worksheet_cells_reader(&name).map_err(|e| invalid(&e))?;
    let mut cells = Vec::new();
    while let Some(cell) = reader.next_cell().map_err(|e| invalid(&e))? {
        let (row, column) = cell.get_position();
        if row >= MAX_IMPORT_ROWS || column >= MAX_IMPORT_COLUMNS {
            return Err(Error::invalid(format!(
                "the sheet has a cell at row {}, column {}: at most {MAX_IMPORT_ROWS} rows and \
                 {MAX_IMPORT_COLUMNS} columns are read",
                u64::from(row) + 1,
                u64::from(column) + 1
            )));
        }
        let text = match cell.get_value() {
            DataRef::Empty => continue,
            DataRef::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
            other => Data::from(other.clone()).to_string(),
        };
        cells.push((row, column, text));
    }
    let (Some(top), Some(left)) = (cells.iter().map(|c| c.0).min(), cells.iter().map(|c| c.1).min()) else {
        return Ok(Vec::new());
    };
    let height = cells.iter().map(|c| c.0 - top + 1).max().unwrap_or(0) as usize;
    let width = cells.iter().map(|c| c.1 - left + 1).max().unwrap_or(0) as usize;
    let mut rows = vec![vec![String::new(); width]; height];
    for (row, column, text) in cells {
        rows[(row - top) as usize][(column - left) as usize] = text;
    }
    Ok(rows)
}

fn row_of(e: &Enterprise) -> Vec<String> {
    vec![
        e.id.clone(),
        e.name.clone(),
        e.prefecture.clone(),
        e.industry.clone(),
        e.class.clone(),
        e.level.to_string(),
        e.verified_by.clone(),
        e.verified_on.to_string(),
        e.contact.clone(),
        e.phone.clone(),
        e.security_officer.clone(),
        e.scenarios.join(";"),
        e.installation_key.clone(),
    ]
}

/// Whether `key` is an installation's public key as written (64 hex digits).
pub fn valid_key(key: &str) -> bool {
    key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit())
}

pub use crate::governance::tabular::{to_csv, to_csv_for_excel, to_xlsx};

/// The registry as rows (`COLUMNS`).
pub fn export_rows(enterprises: &[Enterprise]) -> Vec<Vec<String>> {
    enterprises.iter().map(row_of).collect()
}
