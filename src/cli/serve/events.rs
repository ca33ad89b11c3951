//! `serve --events FILE`: a range's event log streamed to a file as it happens.

use anyhow::{Context, Result};

/// Batches of event lines the simulation job may have waiting for the file writer; beyond, the
/// simulation job waits for the disk (a local file, never a socket).
const EVENTS_FILE_QUEUE: usize = 1_024;

/// A range's event log streamed to a file as it happens (JSON Lines, written to `OUT.tmp` and
/// renamed to `OUT` when the range stops, so `OUT` is always a whole log).
pub(super) struct EventsFile {
    tx: std::sync::mpsc::SyncSender<Vec<String>>,
    thread: std::thread::JoinHandle<Result<()>>,
}

impl EventsFile {
    /// Creates the file with the log's first events.
    pub(super) fn create(path: &std::path::Path, first: &[icsdrill_engine::SimEvent]) -> Result<EventsFile> {
        use std::io::Write as _;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<String>>(EVENTS_FILE_QUEUE);
        let tmp = super::super::simulate::tmp_path(path);
        let file = std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut w = std::io::BufWriter::new(file);
        for e in first {
            writeln!(w, "{}", e.to_json())?;
        }
        let path = path.to_path_buf();
        let thread =
            std::thread::Builder::new().name("icsdrill-events".into()).spawn(move || -> Result<()> {
                for lines in rx {
                    for l in lines {
                        writeln!(w, "{l}").with_context(|| format!("cannot write {}", tmp.display()))?;
                    }
                }
                w.flush().with_context(|| format!("cannot write {}", tmp.display()))?;
                drop(w);
                std::fs::rename(&tmp, &path)
                    .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
            })?;
        Ok(EventsFile { tx, thread })
    }

    /// The tick hook that feeds the file.
    pub(super) fn hook(&self) -> icsdrill::runtime::live::TickHook {
        let tx = self.tx.clone();
        Box::new(move |_, _, _, _, events| {
            if !events.is_empty() {
                let _ = tx.send(events.iter().map(icsdrill_engine::SimEvent::to_json).collect());
            }
        })
    }

    /// Writes what is left and renames the file into place (after the range has stopped).
    pub(super) fn finish(self) -> Result<()> {
        drop(self.tx);
        self.thread.join().map_err(|_| anyhow::anyhow!("the event log writer failed"))?
    }
}
