//! The outbox on disk (`outbox.json`), written off the UI task.
//!
//! The console's `App` hands over a snapshot of its outbox after every change (every send and
//! every answer). Writing and fsyncing the file each time on the UI task would stall keys and
//! drawing behind the disk, so an [`OutboxWriter`] thread does it: [`OutboxWriter::save`] never
//! blocks, and the thread writes only the newest snapshot waiting when it gets to it (the older
//! ones are already out of date). Each write goes to a temporary file in the same directory, is
//! fsynced, and renamed over the old file, then the directory is fsynced: a crash leaves the old
//! file or the new one, never half of one. [`OutboxWriter::finish`] writes the last snapshot and
//! waits for it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use anyhow::Context as _;

use crate::outbox::{Pending, SavedOutbox};
use crate::session::Frame;
use shiftdesk_protocol::WorkerFrame;

/// Write `bytes` to `path`, readable by the user only (0600), so that a crash at any moment
/// leaves either the old content or the new: a temporary file in the same directory, fsync,
/// rename, fsync of the directory.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // tempfile creates the file with mode 0600 and a name no one else uses.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync {}", dir.display()))?;
    Ok(())
}

/// Read an outbox file. A missing file, or one written for another hub, is an empty outbox; a
/// file that is not an outbox is an error naming it.
pub fn load<F: Frame>(path: &Path, hub: &str) -> anyhow::Result<Vec<Pending<F>>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let saved: SavedOutbox<F> = serde_json::from_str(&text)
        .with_context(|| format!("{}: not an outbox file", path.display()))?;
    Ok(if saved.hub == hub {
        saved.entries
    } else {
        Vec::new()
    })
}

/// How the writer thread puts bytes on disk ([`write_private`], or a stand-in in tests).
pub type WriteFn = Box<dyn FnMut(&Path, &[u8]) -> anyhow::Result<()> + Send>;

/// Keeps an outbox file up to date from a thread of its own; see the module doc.
pub struct OutboxWriter<F = WorkerFrame> {
    snapshots: Option<mpsc::Sender<Vec<Pending<F>>>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl<F: Frame> OutboxWriter<F> {
    /// Start the writer for `path`; the file names `hub` so another hub's commands are never
    /// sent to this one.
    pub fn start(path: PathBuf, hub: String) -> anyhow::Result<OutboxWriter<F>> {
        OutboxWriter::start_with(path, hub, Box::new(write_private))
    }

    /// [`OutboxWriter::start`] with another way to write (tests).
    pub fn start_with(path: PathBuf, hub: String, mut write: WriteFn) -> anyhow::Result<Self> {
        let (snapshots, newest) = mpsc::channel::<Vec<Pending<F>>>();
        let thread = std::thread::Builder::new()
            .name("outbox-writer".into())
            .spawn(move || {
                let mut result = Ok(());
                while let Ok(mut entries) = newest.recv() {
                    // Coalesce: of what piled up during the last write, only the newest counts.
                    while let Ok(newer) = newest.try_recv() {
                        entries = newer;
                    }
                    let saved = SavedOutbox {
                        hub: hub.clone(),
                        entries,
                    };
                    result = serde_json::to_vec(&saved)
                        .context("encoding the outbox")
                        .and_then(|bytes| write(&path, &bytes));
                    if let Err(e) = &result {
                        tracing::warn!(error = %format!("{e:#}"), "could not save the outbox");
                    }
                }
                result
            })
            .context("cannot start the outbox writer")?;
        Ok(OutboxWriter {
            snapshots: Some(snapshots),
            thread: Some(thread),
        })
    }

    /// Hand over the newest state of the outbox. Never blocks: the thread writes it when it can,
    /// unless a newer one arrives first.
    pub fn save(&self, entries: Vec<Pending<F>>) {
        if let Some(snapshots) = &self.snapshots {
            let _ = snapshots.send(entries);
        }
    }

    /// Write the last snapshot handed over and wait for it; the error of that last write, if it
    /// failed. Blocks: call it from a blocking context (`spawn_blocking`) in async code.
    pub fn finish(mut self) -> anyhow::Result<()> {
        self.snapshots.take();
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| anyhow::anyhow!("the outbox writer panicked"))?,
            None => Ok(()),
        }
    }
}

impl<F> Drop for OutboxWriter<F> {
    /// Without [`OutboxWriter::finish`] the thread still writes the last snapshot, unwaited.
    fn drop(&mut self) {
        self.snapshots.take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    use shiftdesk_protocol::WorkerCommand;

    fn entries(n: usize) -> Vec<Pending> {
        (0..n)
            .map(|i| Pending {
                frame: WorkerFrame {
                    id: format!("x-{i}"),
                    producer: None,
                    cseq: None,
                    command: WorkerCommand::Reply {
                        conversation: "c1".into(),
                        text: format!("reply {i}: {}", "words ".repeat(50)),
                    },
                },
                queued_at: i as u64,
                retries: 0,
                retry_at: None,
            })
            .collect()
    }

    fn lengths(written: &[Vec<u8>]) -> Vec<usize> {
        written
            .iter()
            .map(|bytes| {
                serde_json::from_slice::<SavedOutbox>(bytes)
                    .unwrap()
                    .entries
                    .len()
            })
            .collect()
    }

    #[test]
    fn snapshots_that_pile_up_during_a_write_are_coalesced_into_the_newest() {
        let written = Arc::new(Mutex::new(Vec::<Vec<u8>>::new()));
        let (entered_tx, entered) = mpsc::channel::<()>();
        let (release, gate) = mpsc::channel::<()>();
        let record = written.clone();
        let writer = OutboxWriter::start_with(
            PathBuf::from("unused"),
            "ws://h".into(),
            Box::new(move |_, bytes| {
                entered_tx.send(()).unwrap();
                gate.recv().unwrap();
                record.lock().unwrap().push(bytes.to_vec());
                Ok(())
            }),
        )
        .unwrap();
        writer.save(entries(1));
        // The first write is under way (slow disk); the app goes on changing its outbox.
        entered.recv().unwrap();
        for n in 2..=10 {
            writer.save(entries(n));
        }
        release.send(()).unwrap();
        entered.recv().unwrap();
        release.send(()).unwrap();
        writer.finish().unwrap();
        assert_eq!(
            lengths(&written.lock().unwrap()),
            [1, 10],
            "only the newest snapshot is written after the first"
        );
    }

    #[test]
    fn finish_flushes_the_last_snapshot_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.json");
        let writer = OutboxWriter::start(path.clone(), "ws://h".into()).unwrap();
        for n in 0..=20 {
            writer.save(entries(n));
        }
        writer.save(entries(3));
        writer.finish().unwrap();
        let loaded: Vec<Pending> = load(&path, "ws://h").unwrap();
        assert_eq!(loaded, entries(3));
        // Another hub's commands are not this hub's.
        assert!(load::<WorkerFrame>(&path, "ws://other").unwrap().is_empty());
        // Nothing but the file itself is left in the directory.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["outbox.json"]);
    }

    #[test]
    fn a_reader_never_sees_half_a_file_and_the_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.json");
        write_private(&path, &serde_json::to_vec(&entries(1)).unwrap()).unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (path, stop) = (path.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut reads = 0;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let bytes = std::fs::read(&path).unwrap();
                    let parsed: Vec<Pending> = serde_json::from_slice(&bytes)
                        .unwrap_or_else(|e| panic!("a partial file was seen: {e}"));
                    assert!(!parsed.is_empty());
                    reads += 1;
                }
                reads
            })
        };
        for n in 1..60 {
            write_private(&path, &serde_json::to_vec(&entries(n * 5)).unwrap()).unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(reader.join().unwrap() > 0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn a_failed_write_names_the_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: the rename fails.
        let path = dir.path().join("outbox.json");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("keep"), "x").unwrap();
        let e = format!("{:#}", write_private(&path, b"{}").unwrap_err());
        assert!(e.contains("outbox.json"), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // The writer reports the last failure from finish, and logs the others.
        let writer = OutboxWriter::<WorkerFrame>::start(path.clone(), "ws://h".into()).unwrap();
        writer.save(entries(1));
        let e = format!("{:#}", writer.finish().unwrap_err());
        assert!(e.contains("outbox.json"), "{e}");
    }

    #[test]
    fn a_corrupt_file_is_an_error_that_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.json");
        assert!(
            load::<WorkerFrame>(&path, "ws://h").unwrap().is_empty(),
            "missing: empty"
        );
        std::fs::write(&path, "{\"hub\": \"ws://h\", \"entries\": [tru").unwrap();
        let e = format!("{:#}", load::<WorkerFrame>(&path, "ws://h").unwrap_err());
        assert!(e.contains(&path.display().to_string()), "{e}");
        assert!(e.contains("not an outbox file"), "{e}");
    }
}
