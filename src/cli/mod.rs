//! The command line's commands, one file each; `main.rs` parses the arguments and calls
//! them.
//!
//! - `serve`: the live range or drill in the terminal.
//! - `simulate`: headless runs.
//! - `scenarios`: `scenarios list|show|validate`.
//! - `drills`, `replay`, `report`, `findings`: recorded drills.
//! - `pcap`: a capture of a range's Modbus/TCP traffic, rebuilt by replay.
//! - `registry`: `registry ...` and `region ...`.
//! - `exam`: `exam ...` and `cert verify`.
//! - `bundle`: signed drill bundles, `bundle export|import|key`.

pub(crate) mod bundle;
pub(crate) mod drills;
pub(crate) mod exam;
pub(crate) mod findings;
pub(crate) mod pcap;
pub(crate) mod registry;
pub(crate) mod replay;
pub(crate) mod report;
pub(crate) mod scenarios;
pub(crate) mod serve;
pub(crate) mod simulate;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use icsdrill_engine::Scenario;

/// UI language.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    /// English (英文).
    En,
    /// Simplified Chinese (简体中文).
    Zh,
}

/// The async runtime a serving command runs on (the ranges' Modbus endpoints have their own
/// event loops: `runtime::shards`).
pub(crate) fn async_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

/// A number as a person typed it, short: `1e308`, not 309 digits.
pub(crate) fn shown(x: f64) -> String {
    if x != 0.0 && !(1e-3..1e9).contains(&x.abs()) { format!("{x:e}") } else { format!("{x}") }
}

/// Loads a scenario given as a built-in id or a path.
pub(crate) fn load_scenario(arg: &str) -> Result<Arc<Scenario>> {
    load_scenario_source(arg).map(|(s, _)| s)
}

/// Loads a scenario given as a built-in id or a path, with its source text.
pub(crate) fn load_scenario_source(arg: &str) -> Result<(Arc<Scenario>, String)> {
    if let Some(b) = icsdrill_scenarios::builtin(arg) {
        let s = b.load().map_err(|e| anyhow::anyhow!("built-in scenario `{arg}` is invalid:\n{e}"))?;
        return Ok((s, b.source.to_string()));
    }
    let path = PathBuf::from(arg);
    if !path.exists() {
        bail!("no built-in scenario or file named `{arg}` (see `icsdrill scenarios list`)");
    }
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let source = Scenario::text(arg, &bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let s = Scenario::from_yaml(arg, &source).map(Arc::new).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((s, source))
}

/// Where a command finds the database: `--data-dir` and the global `--database`.
pub(crate) struct Location {
    pub(crate) data_dir: Option<PathBuf>,
    database: Option<String>,
}

impl Location {
    pub(crate) fn new(data_dir: Option<PathBuf>, database: &Option<String>) -> Location {
        Location { data_dir, database: database.clone() }
    }

    /// The database.
    pub(crate) fn database(&self) -> Result<icsdrill::store::Database> {
        Ok(icsdrill::store::Database::resolve(self.data_dir.as_deref(), self.database.as_deref())?)
    }

    /// Opens it, creating it if needed.
    pub(crate) fn create(&self) -> Result<Box<dyn icsdrill::store::Store>> {
        Ok(self.database()?.open()?)
    }
}

/// Writes `FILE.tmp`, then renames it: a reader never sees half a file.
pub(crate) fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Opens an existing database (an SQLite file that is not there is an error, not a new one).
pub(crate) fn open_store(at: &Location) -> Result<Box<dyn icsdrill::store::Store>> {
    let db = at.database()?;
    if let icsdrill::store::Database::Sqlite(dir) = &db
        && !icsdrill::store::db_path(dir).exists()
    {
        bail!("no drill database in {} (give --data-dir or --database)", dir.display());
    }
    Ok(db.open()?)
}
