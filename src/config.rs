//! `shiftdesk hub --config FILE`: every hub flag can live in a TOML file.
//!
//! A key is the flag's long name with underscores (`--offer-timeout` → `offer_timeout`). The
//! file is turned into flags placed before the command line's own, so a flag given on the command
//! line overrides the file. Each key is checked on its own, with the same parser as the flag, so
//! an error names the file, the line and the key. Tables that are not flags (`[rules.LANG]`) are
//! handed to the hub as they are; see [`shiftdesk_hub::rules`].
//!
//! Relative paths in the file are taken relative to the file's folder, so a config and the
//! knowledge base beside it can be moved together.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{ArgAction, Command, ValueHint};
use toml::Spanned;

use shiftdesk_hub::rules::OperatorRules;

/// Tables in the config file that are not flags.
const SECTIONS: [&str; 2] = ["rules", "rates"];

/// What was wrong with a config file, with where.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

/// A hub config file, read and checked.
#[derive(Debug, Default)]
pub struct HubFile {
    /// Flags in the order written, ready to be put before the command line's own.
    pub flags: Vec<OsString>,
    /// Extra request-a-person phrases and sensitive-topic words, by language.
    pub rules: OperatorRules,
    /// What shifts earn (`[rates]`); none: no earnings are shown.
    pub rates: Option<shiftdesk_hub::dispatch::RateCard>,
}

/// If `argv` runs `shiftdesk hub --config FILE`, put FILE's flags before the command line's own
/// and return the file's other sections. Any other command is returned unchanged.
pub fn expand(
    cli: &Command,
    mut argv: Vec<OsString>,
) -> Result<(Vec<OsString>, Option<HubFile>), ConfigError> {
    let Some(hub) = cli.find_subcommand("hub") else {
        return Ok((argv, None));
    };
    if argv.get(1).and_then(|a| a.to_str()) != Some("hub") {
        return Ok((argv, None));
    }
    let Some(path) = config_path(&argv[2..]) else {
        return Ok((argv, None));
    };
    let file = load(hub, &path)?;
    let rest = argv.split_off(2);
    argv.extend(file.flags.iter().cloned());
    argv.extend(rest);
    Ok((argv, Some(file)))
}

/// The value of `--config` on the command line, if any (`--config F` or `--config=F`).
fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let arg = arg.to_str()?;
        if arg == "--" {
            return None;
        }
        if arg == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(value) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(value));
        }
    }
    None
}

/// Read and check a config file against the `hub` command's flags.
pub fn load(hub: &Command, path: &Path) -> Result<HubFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        path: path.to_path_buf(),
        line: None,
        message: format!("cannot read: {e}"),
    })?;
    parse(hub, path, &text)
}

fn parse(hub: &Command, path: &Path, text: &str) -> Result<HubFile, ConfigError> {
    let error = |span: Option<std::ops::Range<usize>>, message: String| ConfigError {
        path: path.to_path_buf(),
        line: span.map(|s| line_of(text, s.start)),
        message,
    };
    let table: BTreeMap<Spanned<String>, Spanned<toml::Value>> =
        toml::from_str(text).map_err(|e| error(e.span(), e.message().to_string()))?;
    let base = path.parent().unwrap_or(Path::new(""));
    let mut file = HubFile::default();
    // In the order written, so that errors come out top to bottom.
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    for (key, value) in entries {
        let name = key.get_ref().as_str();
        let at = Some(key.span());
        if name == "rules" {
            let rules: OperatorRules =
                value
                    .get_ref()
                    .clone()
                    .try_into()
                    .map_err(|e: toml::de::Error| {
                        error(at.clone(), format!("rules: {}", e.message()))
                    })?;
            rules
                .check()
                .map_err(|e| error(at.clone(), format!("rules: {e}")))?;
            file.rules = rules;
            continue;
        }
        if name == "rates" {
            let rates: shiftdesk_hub::dispatch::RateCard = value
                .get_ref()
                .clone()
                .try_into()
                .map_err(|e: toml::de::Error| {
                    error(at.clone(), format!("rates: {}", e.message()))
                })?;
            rates
                .check()
                .map_err(|e| error(at.clone(), format!("rates: {e}")))?;
            file.rates = Some(rates);
            continue;
        }
        let flag = name.replace('_', "-");
        let Some(arg) = hub
            .get_arguments()
            .find(|a| a.get_long() == Some(flag.as_str()))
            .filter(|_| !matches!(name, "config" | "check" | "help"))
        else {
            return Err(error(
                at,
                format!("unknown key `{name}`; known keys: {}", known_keys(hub)),
            ));
        };
        let takes_value = !matches!(
            arg.get_action(),
            ArgAction::SetTrue | ArgAction::SetFalse | ArgAction::Count
        );
        let is_path = matches!(
            arg.get_value_hint(),
            ValueHint::AnyPath | ValueHint::FilePath | ValueHint::DirPath
        );
        let values: Vec<String> = match value.get_ref() {
            toml::Value::Boolean(on) if !takes_value => {
                if *on {
                    file.flags.push(format!("--{flag}").into());
                }
                continue;
            }
            _ if !takes_value => {
                return Err(error(
                    at,
                    format!("`{name}` is a switch: write true or false"),
                ));
            }
            toml::Value::Array(items) => items
                .iter()
                .map(|v| scalar(v).ok_or(()))
                .collect::<Result<_, _>>()
                .map_err(|()| error(at.clone(), format!("`{name}`: a list of plain values")))?,
            other => vec![
                scalar(other)
                    .ok_or_else(|| error(at.clone(), format!("`{name}` takes a plain value")))?,
            ],
        };
        // `--store` is checked by the hub, not by clap (whose errors would show a password).
        if name == "store"
            && let Some(Err(e)) = values
                .iter()
                .map(|v| shiftdesk_hub::store::StoreChoice::parse(v))
                .find(Result::is_err)
        {
            return Err(error(at, format!("store: {e}")));
        }
        let mut flags = Vec::new();
        for value in values {
            let value = if is_path && Path::new(&value).is_relative() {
                base.join(&value).to_string_lossy().into_owned()
            } else {
                value
            };
            flags.push(OsString::from(format!("--{flag}")));
            flags.push(OsString::from(value));
        }
        // Check this key alone, with the flag's own parser, so that the error can name it.
        let mut probe = vec![OsString::from("hub")];
        probe.extend(flags.iter().cloned());
        if let Err(e) = hub.clone().try_get_matches_from(&probe) {
            return Err(error(at, format!("{name}: {}", clap_reason(&e))));
        }
        file.flags.extend(flags);
    }
    Ok(file)
}

fn scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// clap's message without its "error: " prefix and its usage and help lines.
fn clap_reason(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let first = rendered.lines().next().unwrap_or_default();
    first.trim_start_matches("error: ").to_string()
}

fn known_keys(hub: &Command) -> String {
    let mut keys: Vec<String> = hub
        .get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|l| !matches!(*l, "config" | "check" | "help"))
        .map(|l| l.replace('-', "_"))
        .collect();
    keys.extend(SECTIONS.iter().map(|s| format!("[{s}]")));
    keys.join(", ")
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    fn hub() -> Command {
        crate::Cli::command()
            .find_subcommand("hub")
            .cloned()
            .expect("the hub command")
    }

    fn parse_str(text: &str) -> Result<HubFile, ConfigError> {
        parse(&hub(), Path::new("/etc/shiftdesk/hub.toml"), text)
    }

    #[test]
    fn the_store_url_is_checked_where_it_is_written_and_its_password_hidden() {
        let file =
            parse_str("store = \"postgres://shiftdesk@db:5432/shiftdesk\"\n").expect("valid");
        let flags: Vec<_> = file.flags.iter().map(|f| f.to_string_lossy()).collect();
        assert_eq!(flags, ["--store", "postgres://shiftdesk@db:5432/shiftdesk"]);
        let err = parse_str("listen = \"127.0.0.1:0\"\nstore = \"postgres://sd:s3cret@db:x/sd\"\n")
            .expect_err("a bad port");
        let text = err.to_string();
        assert!(
            text.starts_with("/etc/shiftdesk/hub.toml:2: store: "),
            "{text}"
        );
        assert!(
            text.contains("postgres://sd:***@db:x/sd") && !text.contains("s3cret"),
            "{text}"
        );
    }

    #[test]
    fn keys_become_flags_and_relative_paths_follow_the_file() {
        let file = parse_str("offer_timeout = 20\ndata_dir = \"data\"\nlisten = \"0.0.0.0:80\"\n")
            .expect("valid");
        let flags: Vec<_> = file.flags.iter().map(|f| f.to_string_lossy()).collect();
        assert_eq!(
            flags,
            [
                "--offer-timeout",
                "20",
                "--data-dir",
                "/etc/shiftdesk/data",
                "--listen",
                "0.0.0.0:80"
            ]
        );
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let e = parse_str("grace = 5\n\nofer_timeout = 20\n").expect_err("unknown key");
        let text = e.to_string();
        assert!(
            text.starts_with("/etc/shiftdesk/hub.toml:3: unknown key `ofer_timeout`"),
            "{text}"
        );
        assert!(text.contains("offer_timeout"), "{text}");
    }

    #[test]
    fn bad_value_names_file_line_and_key() {
        let e = parse_str("grace = 5\noffer_timeout = 0\n").expect_err("out of range");
        let text = e.to_string();
        assert!(
            text.starts_with("/etc/shiftdesk/hub.toml:2: offer_timeout:"),
            "{text}"
        );
        let e = parse_str("listen = \"nowhere\"\n").expect_err("bad address");
        assert!(e.to_string().contains(":1: listen:"), "{e}");
        let e = parse_str("grace = [1, {a = 2}]\n").expect_err("bad list");
        assert!(e.to_string().contains(":1: `grace`"), "{e}");
    }

    #[test]
    fn a_rate_card_is_read_and_checked() {
        let file = parse_str(
            "grace = 5\n[rates]\ncurrency = \"EUR\"\nper_engaged_hour = 14.5\nper_conversation = 0.4\nlanguage_premium = { ru = 0.3 }\n",
        )
        .expect("valid");
        let rates = file.rates.expect("a rate card");
        assert_eq!(rates.per_engaged_hour, 14.5);
        assert_eq!(rates.language_premium["ru"], 0.3);
        let e = parse_str("[rates]\ncurrency = \"euro\"\nper_conversation = 1\n").expect_err("bad");
        assert!(
            e.to_string()
                .starts_with("/etc/shiftdesk/hub.toml:1: rates: currency `euro`"),
            "{e}"
        );
        let e = parse_str("\n[rates]\ncurrency = \"EUR\"\nper_hour = 1\n").expect_err("unknown");
        assert!(
            e.to_string()
                .contains(":2: rates: unknown field `per_hour`"),
            "{e}"
        );
        assert!(parse_str("").expect("empty").rates.is_none());
    }

    #[test]
    fn toml_syntax_error_has_a_line() {
        let e = parse_str("grace = 5\noffer_timeout = \n").expect_err("syntax");
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn command_line_flags_override_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hub.toml");
        std::fs::write(&path, "offer_timeout = 20\ngrace = 7\n").expect("write");
        let argv: Vec<OsString> = [
            "shiftdesk",
            "hub",
            "--config",
            path.to_str().expect("utf-8"),
            "--offer-timeout",
            "45",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        let (argv, file) = expand(&crate::Cli::command(), argv).expect("expand");
        assert!(file.is_some());
        let cli = crate::Cli::try_parse_from(argv).expect("parses");
        let crate::Cmd::Hub(args) = cli.command else {
            panic!("not the hub command")
        };
        assert_eq!(args.offer_timeout, 45);
        assert_eq!(args.grace, 7);
    }
}
