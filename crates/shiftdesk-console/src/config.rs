//! Where the console keeps things, and what it remembers between runs.
//!
//! Config directory (`directories::ProjectDirs::from("", "", "shiftdesk")`, or
//! `$SHIFTDESK_CONFIG_DIR`):
//! - `console.toml`: settings (`keymap`, `bell`, `notify`, `notify_text`, `theme`,
//!   `break_reminder`);
//! - `keymap.toml`: the user's keys, layered over the chosen keymap;
//! - `login.toml`: the hub URL and token of the last successful login, readable by the user
//!   only (0600).
//!
//! Data directory (`--data-dir`, else the platform data dir, else `$SHIFTDESK_CONFIG_DIR/data`
//! when that variable is set): `console.log` and `outbox.json`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use shiftdesk_client::outbox_file::write_private;

/// The env var that replaces the platform config directory (tests use it).
pub const CONFIG_DIR_ENV: &str = "SHIFTDESK_CONFIG_DIR";

pub const SETTINGS_FILE: &str = "console.toml";
pub const KEYMAP_FILE: &str = "keymap.toml";
pub const LOGIN_FILE: &str = "login.toml";
pub const OUTBOX_FILE: &str = "outbox.json";
pub const LOG_FILE: &str = "console.log";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    pub config: PathBuf,
    pub data: PathBuf,
}

impl Dirs {
    /// The config and data directories (not created here).
    pub fn locate() -> anyhow::Result<Dirs> {
        if let Some(dir) = std::env::var_os(CONFIG_DIR_ENV).filter(|d| !d.is_empty()) {
            let config = PathBuf::from(dir);
            return Ok(Dirs {
                data: config.join("data"),
                config,
            });
        }
        let project = directories::ProjectDirs::from("", "", "shiftdesk")
            .context("cannot find a home directory for the config; set SHIFTDESK_CONFIG_DIR")?;
        Ok(Dirs {
            config: project.config_dir().to_path_buf(),
            data: project.data_dir().to_path_buf(),
        })
    }
}

/// `console.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// default, vim, emacs, or a path to a keymap file.
    pub keymap: Option<String>,
    /// Ring the terminal bell on a new offer (default true).
    pub bell: Option<bool>,
    /// Desktop notifications (OSC 9 / OSC 777) on a new offer.
    pub notify: Option<bool>,
    /// Include the customer's words in desktop notifications.
    pub notify_text: Option<bool>,
    /// default, high-contrast or monochrome.
    pub theme: Option<crate::ui::theme::Theme>,
    /// Minutes on shift without a break before a reminder (0: never).
    pub break_reminder: Option<u64>,
    /// `--standby`: how many waiting is worth a notification.
    pub demand_waiting: Option<u32>,
    /// `--standby`: minutes between two notifications at most.
    pub demand_every: Option<u64>,
}

impl Settings {
    /// Read `path`; a missing file is the default settings.
    pub fn load(path: &Path) -> anyhow::Result<Settings> {
        let Some(text) = read_optional(path)? else {
            return Ok(Settings::default());
        };
        toml::from_str(&text).map_err(|e| anyhow::anyhow!(toml_error(path, &text, &e)))
    }
}

/// `login.toml`: the last successful login.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    pub hub: Option<String>,
    pub token: Option<String>,
}

impl Login {
    pub fn load(path: &Path) -> anyhow::Result<Login> {
        let Some(text) = read_optional(path)? else {
            return Ok(Login::default());
        };
        toml::from_str(&text).map_err(|e| anyhow::anyhow!(toml_error(path, &text, &e)))
    }

    /// Write the login so only the user can read it (0600), atomically.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let text = toml::to_string(self).context("encoding the login")?;
        write_private(path, text.as_bytes())
    }
}

fn read_optional(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!("{}: cannot read: {e}", path.display())),
    }
}

/// `file:line: message` for a TOML error.
pub fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> String {
    let line = e
        .span()
        .map(|s| {
            text.as_bytes()[..s.start.min(text.len())]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1
        })
        .unwrap_or(1);
    format!("{}:{line}: {}", path.display(), e.message().trim())
}

/// Remember a login that worked. Errors are for the log: the console runs on without it.
pub fn remember_login(config_dir: &Path, hub: &str, token: &str) -> anyhow::Result<()> {
    Login {
        hub: Some(hub.to_string()),
        token: Some(token.to_string()),
    }
    .save(&config_dir.join(LOGIN_FILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SETTINGS_FILE);
        std::fs::write(&path, "bell = true\nkeymapp = \"vim\"\n").unwrap();
        let e = Settings::load(&path).unwrap_err().to_string();
        assert!(e.contains("console.toml:2:"), "{e}");
        assert!(e.contains("keymapp"), "{e}");

        std::fs::write(&path, "bell = \"loud\"\n").unwrap();
        let e = Settings::load(&path).unwrap_err().to_string();
        assert!(e.contains("console.toml:1:"), "{e}");
    }

    #[test]
    fn theme_and_break_reminder_are_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SETTINGS_FILE);
        std::fs::write(&path, "theme = \"high-contrast\"\nbreak_reminder = 45\n").unwrap();
        let s = Settings::load(&path).unwrap();
        assert_eq!(s.theme, Some(crate::ui::theme::Theme::HighContrast));
        assert_eq!(s.break_reminder, Some(45));

        std::fs::write(&path, "bell = true\ntheme = \"neon\"\n").unwrap();
        let e = Settings::load(&path).unwrap_err().to_string();
        assert!(e.contains("console.toml:2:"), "{e}");
        assert!(e.contains("neon") && e.contains("monochrome"), "{e}");
    }

    #[test]
    fn missing_settings_are_defaults() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            Settings::load(&dir.path().join("nope.toml")).unwrap(),
            Settings::default()
        );
    }

    #[test]
    fn login_is_saved_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        remember_login(dir.path(), "ws://127.0.0.1:9", "tok").unwrap();
        let path = dir.path().join(LOGIN_FILE);
        let login = Login::load(&path).unwrap();
        assert_eq!(login.hub.as_deref(), Some("ws://127.0.0.1:9"));
        assert_eq!(login.token.as_deref(), Some("tok"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}
