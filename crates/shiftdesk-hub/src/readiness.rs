//! What `/readyz` asks of the store beyond the last append: that it would take a write now.
//! For SQLite, the data directory takes a small synced write; for PostgreSQL, the database
//! answers on a connection of its own (made again when it broke).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::engine::now_ms;
use crate::store::{OpenMode, PostgresStore, PostgresTarget, StoreChoice};

pub enum StoreProbe {
    DataDir(PathBuf),
    Postgres {
        target: PostgresTarget,
        /// Opened at the first probe.
        store: Mutex<Option<Box<PostgresStore>>>,
    },
}

impl StoreProbe {
    pub fn new(store: &StoreChoice, data_dir: &Path) -> StoreProbe {
        match store {
            StoreChoice::Sqlite => StoreProbe::DataDir(data_dir.to_path_buf()),
            StoreChoice::Postgres(target) => StoreProbe::Postgres {
                target: target.clone(),
                store: Mutex::new(None),
            },
        }
    }

    /// `Err` says why the store would not take a write now.
    pub async fn check(self: &Arc<Self>) -> Result<(), String> {
        let probe = self.clone();
        tokio::task::spawn_blocking(move || probe.check_blocking())
            .await
            .unwrap_or_else(|_| Err("the store probe did not finish".into()))
    }

    fn check_blocking(&self) -> Result<(), String> {
        match self {
            StoreProbe::DataDir(dir) => write_probe(dir),
            StoreProbe::Postgres { target, store } => {
                let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
                if store.is_none() {
                    *store = Some(Box::new(
                        PostgresStore::open(target, OpenMode::ReadOnly)
                            .map_err(|e| e.to_string())?,
                    ));
                }
                match store.as_ref() {
                    Some(open) => open.ping().map_err(|e| e.to_string()),
                    None => Err("no connection to the store".into()),
                }
            }
        }
    }
}

/// Write a few bytes to a file in the data directory, sync them to disk and remove the file:
/// a full or read-only disk fails here before it fails a customer's message.
fn write_probe(dir: &Path) -> Result<(), String> {
    use std::io::Write;
    let path = dir.join(".readyz-probe");
    let written = std::fs::File::create(&path).and_then(|mut file| {
        file.write_all(&now_ms().to_le_bytes())?;
        file.sync_all()
    });
    let removed = std::fs::remove_file(&path);
    written
        .and(removed)
        .map_err(|e| format!("cannot write to the data directory {}: {e}", dir.display()))
}
