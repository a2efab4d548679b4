//! Languages beyond the six built in, loaded from files: a team in Madrid or Warsaw adds `es` or
//! `pl` without a new binary.
//!
//! A language file is `languages/CODE.toml` inside the knowledge-base folder (`--kb DIR`), so a
//! language and its articles (`gift-cards.pl.md`) travel together and are checked by
//! `shiftdesk kb check` and reloaded on SIGHUP with them. It holds everything the hub says or
//! looks for in that language:
//!
//! ```toml
//! name = "Polski"              # in the language itself, for pickers
//! english_name = "Polish"      # for prompts to a language model
//! detect = "pol"               # optional: ISO 639-3 code for statistical detection (whatlang)
//! script = "latin"             # or "cyrillic"
//! markers = ["nie", "jest", "czy", "moje"]  # very common words that mark the language
//! person = ["z konsultantem", "z człowiekiem"]  # ways to ask for a person (required)
//!
//! [sensitive]                  # required: words for each built-in sensitive topic
//! fraud = ["oszustwo*"]
//! dispute = ["reklamacj*"]
//! hardship = ["nie stać mnie"]
//! complaint = ["skarg*"]
//! bereavement = ["zmarł*"]
//! crisis = ["nie chcę żyć"]      # optional: a customer who may harm themselves (line in English)
//!
//! [lines]                      # what the bot and the system say
//! welcome = "Cześć! …"
//! joined = "{name} dołącza do rozmowy."
//! resolved = "…"
//! handoff = "… Jesteś numerem {position} w kolejce."
//! greetings = ["Cześć, dziękujemy za wiadomość!"]
//! closings = ["Czy mogę pomóc w czymś jeszcze?"]
//! clarifying = ["Czy możesz napisać trochę więcej?"]
//! # optional: the bot's question when two articles fit ({first}, {second} are their titles);
//! # without it the first clarifying line is followed by the two titles
//! which_one = "Chodzi ci o „{first}” czy o „{second}”?"
//! # optional: a draft's opening after the bot already answered with an article ({topic} is
//! # its title); without it drafts open with a greeting and ask for more details
//! followup = ["Widzę, że asystent wyjaśnił już: {topic}. Przyjrzę się twojej sprawie osobiście."]
//!
//! [page]                       # optional: the customer chat page's texts (see PAGE_TEXTS)
//! talk = "Porozmawiaj z konsultantem"        # the "Talk to a person" button
//! person = "Chcę porozmawiać z konsultantem." # what it sends: must contain a `person` phrase
//! ```
//!
//! The registry is process-wide and only ever holds complete, checked files. The dispatch core
//! reads it as it reads the compiled-in tables: the same registry gives the same decisions.
//! Loaded text is interned for the life of the process (each distinct file once), so the bot's
//! lines can be handed out as `&'static str` like the built-in ones.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, RwLock};

use serde::Deserialize;

use crate::lang::Lang;

/// Built-in sensitive topics a language file must give words for.
const TOPICS: [&str; 5] = ["fraud", "dispute", "hardship", "complaint", "bereavement"];

/// The customer chat page's texts a language file may give in `[page]` (the keys of the page's
/// own table in `assets/web/chat.js`), each with the placeholders it must keep. Any left out
/// are shown in English, except `person`: see [`Language::page`].
pub const PAGE_TEXTS: [(&str, &[&str]); 32] = [
    ("title", &[]),
    ("language", &[]),
    ("you", &[]),
    ("assistant", &[]),
    ("support", &[]),
    ("placeholder", &[]),
    ("message_label", &[]),
    ("send", &[]),
    ("talk", &[]),
    ("person", &[]),
    ("connecting", &[]),
    ("connected", &[]),
    ("offline", &[]),
    ("restarting", &[]),
    ("queued", &["{n}"]),
    ("with_person", &[]),
    ("ended", &[]),
    ("new_chat", &[]),
    ("sending", &[]),
    ("not_sent", &["{m}"]),
    ("elsewhere", &[]),
    ("continue_here", &[]),
    ("conversation", &[]),
    ("too_long", &["{n}", "{max}"]),
    ("chars_left", &["{n}"]),
    ("chars_over", &["{n}"]),
    ("wait", &["{m}"]),
    ("nobody", &[]),
    ("typing", &["{name}"]),
    ("too_fast", &["{s}"]),
    ("minutes", &["{n}"]),
    ("less_than_a_minute", &[]),
];

/// What is wrong with a language file, and where.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct LanguageError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    name: String,
    english_name: String,
    #[serde(default)]
    detect: Option<String>,
    #[serde(default)]
    script: Option<String>,
    #[serde(default)]
    markers: Vec<String>,
    person: Vec<String>,
    sensitive: BTreeMap<String, Vec<String>>,
    lines: LinesToml,
    #[serde(default)]
    page: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinesToml {
    welcome: String,
    joined: String,
    resolved: String,
    handoff: String,
    greetings: Vec<String>,
    closings: Vec<String>,
    #[serde(default)]
    gentle_greetings: Vec<String>,
    #[serde(default)]
    gentle_closings: Vec<String>,
    clarifying: Vec<String>,
    #[serde(default)]
    which_one: Option<String>,
    #[serde(default)]
    followup: Vec<String>,
}

/// Writing systems detection tells apart before it weighs words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    Latin,
    Cyrillic,
}

/// One loaded language: its names, how to recognise it, what the hub says in it.
#[derive(Debug)]
pub struct Language {
    pub lang: Lang,
    pub name: &'static str,
    pub english_name: &'static str,
    pub detect: Option<whatlang::Lang>,
    pub script: Script,
    /// Very common words (also taken as the words that say nothing about a question's topic).
    pub markers: &'static [&'static str],
    pub person: Vec<&'static str>,
    /// Topic (a built-in topic's intent) → words.
    pub sensitive: Vec<(&'static str, Vec<&'static str>)>,
    pub welcome: &'static str,
    pub joined: &'static str,
    pub resolved: &'static str,
    pub handoff: &'static str,
    pub greetings: &'static [&'static str],
    pub closings: &'static [&'static str],
    pub gentle_greetings: &'static [&'static str],
    pub gentle_closings: &'static [&'static str],
    pub clarifying: &'static [&'static str],
    /// The bot's clarifying question between two articles (`{first}`, `{second}`), if given.
    pub which_one: Option<&'static str>,
    /// A draft's opening that acknowledges the article the bot already sent (`{topic}`); may
    /// be empty.
    pub followup: &'static [&'static str],
    /// The chat page's texts (keys of [`PAGE_TEXTS`]) the file gives, and always `person`: what
    /// "Talk to a person" sends, recognised as a request for a person by the file's own
    /// `person` phrases (without `[page] person`, the first phrase, as a sentence).
    pub page: Vec<(&'static str, &'static str)>,
}

/// The languages loaded on top of the built-in ones.
#[derive(Debug, Default)]
pub struct Registry {
    loaded: BTreeMap<Lang, &'static Language>,
}

impl Registry {
    pub fn get(&self, lang: Lang) -> Option<&'static Language> {
        self.loaded.get(&lang).copied()
    }

    pub fn loaded(&self) -> impl Iterator<Item = &'static Language> + '_ {
        self.loaded.values().copied()
    }
}

static REGISTRY: LazyLock<RwLock<Arc<Registry>>> = LazyLock::new(Default::default);

/// Files already interned, by their text: a reload of an unchanged file costs nothing.
static INTERNED: LazyLock<Mutex<HashMap<(String, String), &'static Language>>> =
    LazyLock::new(Default::default);

/// The languages loaded now.
pub fn registry() -> Arc<Registry> {
    REGISTRY
        .read()
        .map(|r| r.clone())
        .unwrap_or_else(|e| e.into_inner().clone())
}

/// The loaded language `lang`, if it is one (the six built-in ones are not in the registry).
pub fn get(lang: Lang) -> Option<&'static Language> {
    registry().get(lang)
}

/// Every language the hub serves: the six built in, then the loaded ones.
pub fn served() -> Vec<Lang> {
    let mut all = Lang::ALL.to_vec();
    all.extend(registry().loaded.keys().copied());
    all
}

/// Whether the hub serves `lang`.
pub fn is_served(lang: Lang) -> bool {
    lang.is_builtin() || registry().loaded.contains_key(&lang)
}

/// The language's name in itself.
pub fn name(lang: Lang) -> String {
    get(lang).map_or_else(|| lang.name().to_string(), |l| l.name.to_string())
}

/// The language's name in English.
pub fn english_name(lang: Lang) -> String {
    get(lang).map_or_else(
        || lang.english_name().to_string(),
        |l| l.english_name.to_string(),
    )
}

/// Make `languages` the loaded set (replacing the previous one). Languages of the previous set
/// that are missing now are no longer served to new conversations.
pub fn install(languages: Vec<Parsed>) {
    let loaded = languages.into_iter().map(|p| (p.0.lang, p.0)).collect();
    let next = Arc::new(Registry { loaded });
    match REGISTRY.write() {
        Ok(mut r) => *r = next,
        Err(e) => *e.into_inner() = next,
    }
}

/// A checked language file, ready to [`install`].
#[derive(Debug, Clone, Copy)]
pub struct Parsed(&'static Language);

impl Parsed {
    pub fn language(&self) -> &'static Language {
        self.0
    }
}

impl Parsed {
    pub fn lang(&self) -> Lang {
        self.0.lang
    }
}

/// Every `*.toml` in `dir` (a missing folder is no languages). Returns every problem found.
pub fn load_dir(dir: &Path) -> Result<Vec<Parsed>, Vec<LanguageError>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(vec![LanguageError {
                path: dir.to_path_buf(),
                line: None,
                message: format!("cannot read: {e}"),
            }]);
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let (mut ok, mut errors) = (Vec::new(), Vec::new());
    for path in paths {
        match std::fs::read_to_string(&path) {
            Ok(text) => match parse(&path, &text) {
                Ok(parsed) => ok.push(parsed),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(LanguageError {
                path: path.clone(),
                line: None,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    if errors.is_empty() {
        Ok(ok)
    } else {
        Err(errors)
    }
}

/// Parse and check one language file; its code is its file name (`pl.toml`).
pub fn parse(path: &Path, text: &str) -> Result<Parsed, LanguageError> {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let key = (stem.to_string(), text.to_string());
    let mut interned = INTERNED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(language) = interned.get(&key) {
        return Ok(Parsed(language));
    }
    let language: &'static Language = Box::leak(Box::new(parse_new(path, text)?));
    interned.insert(key, language);
    Ok(Parsed(language))
}

fn parse_new(path: &Path, text: &str) -> Result<Language, LanguageError> {
    let error = |line: Option<usize>, message: String| LanguageError {
        path: path.to_path_buf(),
        line,
        message,
    };
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let lang = Lang::from_code(stem)
        .filter(|l| l.code() == stem)
        .ok_or_else(|| {
            error(
                None,
                format!("the file name must be a language code in lowercase, such as pl.toml, not `{stem}`"),
            )
        })?;
    if lang.is_builtin() {
        return Err(error(
            None,
            format!(
                "`{lang}` is built in; add phrases to it with [rules.{lang}] in the hub's config"
            ),
        ));
    }
    let file: FileToml = toml::from_str(text).map_err(|e| {
        error(
            e.span().map(|s| text[..s.start].matches('\n').count() + 1),
            e.message().to_string(),
        )
    })?;
    let line_of = |needle: &str| {
        text.find(needle)
            .map(|at| text[..at].matches('\n').count() + 1)
    };
    let detect = match &file.detect {
        None => None,
        Some(code) => Some(whatlang::Lang::from_code(code).ok_or_else(|| {
            error(
                line_of("detect"),
                format!(
                    "detect: `{code}` is not an ISO 639-3 code the detector knows (e.g. pol, spa)"
                ),
            )
        })?),
    };
    let script = match file.script.as_deref() {
        None | Some("latin") => Script::Latin,
        Some("cyrillic") => Script::Cyrillic,
        Some(other) => {
            return Err(error(
                line_of("script"),
                format!("script: `{other}`: latin or cyrillic"),
            ));
        }
    };
    let nonempty = |key: &str, list: &[String]| {
        if list.iter().all(|s| crate::lang::words(s).is_empty()) {
            Err(error(
                line_of(key),
                format!("{key}: needs at least one phrase with words"),
            ))
        } else {
            Ok(())
        }
    };
    nonempty("person", &file.person)?;
    for topic in TOPICS {
        nonempty(topic, file.sensitive.get(topic).map_or(&[][..], Vec::as_slice))
            .map_err(|_| {
                error(
                    line_of("[sensitive]"),
                    format!("sensitive.{topic}: needs words (every built-in sensitive topic must be recognised)"),
                )
            })?;
    }
    let lines = &file.lines;
    for (key, template, placeholder) in [
        ("joined", &lines.joined, Some("{name}")),
        ("handoff", &lines.handoff, Some("{position}")),
        ("welcome", &lines.welcome, None),
        ("resolved", &lines.resolved, None),
    ] {
        if template.trim().is_empty() {
            return Err(error(line_of(key), format!("lines.{key}: empty")));
        }
        if let Some(p) = placeholder
            && !template.contains(p)
        {
            return Err(error(
                line_of(key),
                format!("lines.{key}: must contain {p}"),
            ));
        }
    }
    for (key, list) in [
        ("greetings", &lines.greetings),
        ("closings", &lines.closings),
        ("clarifying", &lines.clarifying),
    ] {
        if list.iter().all(|s| s.trim().is_empty()) {
            return Err(error(
                line_of(key),
                format!("lines.{key}: needs at least one line"),
            ));
        }
    }

    if let Some(template) = &lines.which_one {
        for p in ["{first}", "{second}"] {
            if !template.contains(p) {
                return Err(error(
                    line_of("which_one"),
                    format!("lines.which_one: must contain {p}"),
                ));
            }
        }
    }
    if let Some(line) = lines.followup.iter().find(|l| !l.contains("{topic}")) {
        return Err(error(
            line_of("followup"),
            format!("lines.followup: every line must contain {{topic}} (\"{line}\" does not)"),
        ));
    }
    let page = page_texts(&file, text).map_err(|(line, message)| error(line, message))?;
    let leak = |s: &String| -> &'static str { Box::leak(s.clone().into_boxed_str()) };
    let leak_list = |list: &[String]| -> &'static [&'static str] {
        let v: Vec<&'static str> = list
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(leak)
            .collect();
        Box::leak(v.into_boxed_slice())
    };
    let or = |list: &Vec<String>, fallback: &Vec<String>| {
        if list.is_empty() {
            fallback.clone()
        } else {
            list.clone()
        }
    };
    let mut markers: Vec<&'static str> = Vec::new();
    let mut seen = HashSet::new();
    for m in &file.markers {
        for w in crate::lang::words(m) {
            if seen.insert(w.clone()) {
                markers.push(Box::leak(w.into_boxed_str()));
            }
        }
    }
    Ok(Language {
        lang,
        name: leak(&file.name),
        english_name: leak(&file.english_name),
        detect,
        script,
        markers: Box::leak(markers.into_boxed_slice()),
        person: file.person.iter().map(leak).collect(),
        sensitive: file
            .sensitive
            .iter()
            .map(|(topic, list)| (leak(topic), list.iter().map(leak).collect()))
            .collect(),
        welcome: leak(&lines.welcome),
        joined: leak(&lines.joined),
        resolved: leak(&lines.resolved),
        handoff: leak(&lines.handoff),
        greetings: leak_list(&lines.greetings),
        closings: leak_list(&lines.closings),
        gentle_greetings: leak_list(&or(&lines.gentle_greetings, &lines.greetings)),
        gentle_closings: leak_list(&or(&lines.gentle_closings, &lines.closings)),
        clarifying: leak_list(&lines.clarifying),
        which_one: lines.which_one.as_ref().map(leak),
        followup: leak_list(&lines.followup),
        page: page.iter().map(|(key, text)| (*key, leak(text))).collect(),
    })
}

/// A problem in a file: its line, if known, and what is wrong.
type Problem = (Option<usize>, String);

/// The file's `[page]` texts, checked, with `person` always among them.
fn page_texts(file: &FileToml, text: &str) -> Result<Vec<(&'static str, String)>, Problem> {
    // The line of `key = …` inside `[page]` (or of `[page]` itself).
    let section = text.find("[page]");
    let line_of = |key: &str| {
        let start = section?;
        let mut at = start;
        for line in text[start..].split_inclusive('\n') {
            let rest = line.trim_start().strip_prefix(key).map(str::trim_start);
            if rest.is_some_and(|r| r.starts_with('=')) {
                break;
            }
            at += line.len();
        }
        let at = if at >= text.len() { start } else { at };
        Some(text[..at].matches('\n').count() + 1)
    };
    let mut page = Vec::new();
    for (key, value) in &file.page {
        let Some(&(key, wanted)) = PAGE_TEXTS.iter().find(|(k, _)| k == key) else {
            let known: Vec<&str> = PAGE_TEXTS.iter().map(|(k, _)| *k).collect();
            return Err((
                line_of(key),
                format!(
                    "page.{key}: not a text of the chat page (it has: {})",
                    known.join(", ")
                ),
            ));
        };
        if value.trim().is_empty() {
            return Err((
                line_of(key),
                format!("page.{key}: empty (leave it out to show it in English)"),
            ));
        }
        if let Some(p) = wanted.iter().find(|p| !value.contains(**p)) {
            return Err((line_of(key), format!("page.{key}: must contain {p}")));
        }
        if let Some(p) = placeholders(value).find(|p| !wanted.contains(p)) {
            let may = if wanted.is_empty() {
                "it takes none".to_string()
            } else {
                format!("it takes {}", wanted.join(", "))
            };
            return Err((
                line_of(key),
                format!("page.{key}: {p} is not filled in here ({may})"),
            ));
        }
        page.push((key, value.trim().to_string()));
    }
    match page.iter().find(|(key, _)| *key == "person") {
        Some((_, sentence)) => {
            if !asks_for_person(sentence, &file.person) {
                return Err((
                    line_of("person"),
                    format!(
                        "page.person: \"{sentence}\" is not recognised as a request for a person: \
                         it must contain one of the file's `person` phrases"
                    ),
                ));
            }
        }
        None => {
            // `nonempty` made sure there is a phrase with words.
            let phrase = file
                .person
                .iter()
                .find(|p| !p.contains('*') && !crate::lang::words(p).is_empty())
                .or_else(|| {
                    file.person
                        .iter()
                        .find(|p| !crate::lang::words(p).is_empty())
                })
                .map(|p| p.replace('*', ""))
                .unwrap_or_default();
            let mut chars = phrase.trim().chars();
            let sentence: String = chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or_default();
            page.push(("person", sentence));
        }
    }
    Ok(page)
}

/// The `{word}` placeholders in a text.
fn placeholders(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices('{').filter_map(|(at, _)| {
        let end = at + text[at..].find('}')?;
        let inner = &text[at + 1..end];
        (!inner.is_empty() && inner.chars().all(|c| c.is_alphanumeric() || c == '_'))
            .then(|| &text[at..=end])
    })
}

/// Whether triage would take `sentence` as a request for a person by one of `phrases` (the
/// same patterns and matching as [`crate::triage`]).
fn asks_for_person(sentence: &str, phrases: &[String]) -> bool {
    use crate::drafting::keywords::{KeywordIndex, MatchMode, Phrase};
    let mut index = KeywordIndex::for_patterns();
    let mut patterns: Vec<Phrase> = phrases.iter().map(|p| Phrase::pattern(p)).collect();
    for phrase in &mut patterns {
        index.add(phrase);
    }
    let words: Vec<String> = crate::lang::tokens(sentence)
        .into_iter()
        .map(|t| t.norm)
        .collect();
    let hits = index.hits(&words);
    let unused = vec![false; words.len()];
    patterns
        .iter()
        .any(|p| hits.find(p, &unused, MatchMode::Pattern).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLISH: &str = include_str!("../tests/data/languages/pl.toml");

    fn parse_as(name: &str, text: &str) -> Result<Parsed, LanguageError> {
        parse(&Path::new("/kb/languages").join(name), text)
    }

    #[test]
    fn a_complete_file_parses() {
        let pl = parse_as("pl.toml", POLISH).expect("valid").language();
        assert_eq!(pl.lang.code(), "pl");
        assert_eq!(pl.name, "Polski");
        assert_eq!(pl.detect, Some(whatlang::Lang::Pol));
        assert!(pl.markers.contains(&"chce"), "markers are normalised");
        assert!(pl.handoff.contains("{position}"));
        // Parsing the same text again gives the same interned language.
        let again = parse_as("pl.toml", POLISH).expect("valid").language();
        assert!(std::ptr::eq(pl, again));
    }

    #[test]
    fn the_clarifying_and_follow_up_lines_are_optional_and_checked() {
        let pl = parse_as("pl.toml", POLISH).expect("valid").language();
        assert_eq!(pl.which_one, None);
        assert!(pl.followup.is_empty());
        let with = POLISH.replace(
            "clarifying = ",
            "which_one = \"Chodzi o „{first}” czy o „{second}”?\"\n\
             followup = [\"Widzę, że asystent wysłał już artykuł „{topic}”.\"]\n\
             clarifying = ",
        );
        let pl = parse_as("pl.toml", &with).expect("valid").language();
        assert_eq!(pl.which_one, Some("Chodzi o „{first}” czy o „{second}”?"));
        assert_eq!(pl.followup.len(), 1);
        let e =
            parse_as("pl.toml", &with.replace("{second}", "drugie")).expect_err("no placeholder");
        assert!(
            e.message.contains("lines.which_one: must contain {second}"),
            "{e}"
        );
        assert!(e.line.is_some(), "{e}");
        let e = parse_as("pl.toml", &with.replace("{topic}", "to")).expect_err("no topic");
        assert!(e.message.contains("lines.followup"), "{e}");
    }

    #[test]
    fn the_chat_page_texts_are_optional_and_the_person_request_is_always_recognised() {
        // Without `[page]`: the button sends the first `person` phrase, as a sentence.
        let pl = parse_as("pl.toml", POLISH).expect("valid").language();
        assert_eq!(pl.page, vec![("person", "Z konsultantem")]);
        let file: FileToml = toml::from_str(POLISH).expect("toml");
        assert!(asks_for_person("Z konsultantem", &file.person));
        assert!(!asks_for_person("Dzień dobry", &file.person));
        // Only phrases with a `*`: the stem.
        let starred = POLISH.replace(
            "\"z konsultantem\", \"konsultant*\"",
            "\"konsultant*\", \"z konsultantem\"",
        );
        let starred = starred.replace("\"z konsultantem\",", "").replace(
            "\"z człowiekiem\", \"żywy człowiek\", \"prawdziwa osoba\",\n  \"z osobą\", \"z kimś\", \"z pracownikiem\", \"nie z botem\", \"bez bota\",",
            "",
        );
        let only = parse_as("pl.toml", &starred).expect("valid").language();
        assert_eq!(only.page, vec![("person", "Konsultant")], "{starred}");

        let with = format!(
            "{POLISH}\n[page]\ntalk = \"Porozmawiaj z konsultantem\"\n\
             person = \"Chcę porozmawiać z konsultantem.\"\n\
             queued = \"Jesteś numerem {{n}} w kolejce.\"\n"
        );
        let pl = parse_as("pl.toml", &with).expect("valid").language();
        assert_eq!(
            pl.page,
            vec![
                ("person", "Chcę porozmawiać z konsultantem."),
                ("queued", "Jesteś numerem {n} w kolejce."),
                ("talk", "Porozmawiaj z konsultantem"),
            ]
        );
        let line = |needle: &str| {
            with.lines()
                .position(|l| l.starts_with(needle))
                .map(|i| i + 1)
        };

        let e = parse_as(
            "pl.toml",
            &with.replace("Chcę porozmawiać z konsultantem.", "Chcę porozmawiać."),
        )
        .expect_err("not a request");
        assert!(
            e.message.contains(
                "page.person: \"Chcę porozmawiać.\" is not recognised as a request for a person"
            ),
            "{e}"
        );
        assert_eq!(
            e.line,
            line("person = \"Chcę"),
            "the line in [page], not the top-level list"
        );
        let e = parse_as("pl.toml", &with.replace("{n}", "N")).expect_err("no placeholder");
        assert!(e.message.contains("page.queued: must contain {n}"), "{e}");
        assert_eq!(e.line, line("queued"));
        let e = parse_as("pl.toml", &with.replace("{n}", "{n} {position}"))
            .expect_err("a placeholder the page does not fill");
        assert!(
            e.message
                .contains("page.queued: {position} is not filled in here (it takes {n})"),
            "{e}"
        );
        let e = parse_as("pl.toml", &format!("{with}button = \"Wyślij\"\n")).expect_err("unknown");
        let line = |needle: &str| {
            format!("{with}button = \"Wyślij\"\n")
                .lines()
                .position(|l| l.starts_with(needle))
                .map(|i| i + 1)
        };
        assert!(
            e.message
                .contains("page.button: not a text of the chat page (it has: title,"),
            "{e}"
        );
        assert_eq!(e.line, line("button"));
        let e = parse_as(
            "pl.toml",
            &with.replace("talk = \"Porozmawiaj z konsultantem\"", "talk = \" \""),
        )
        .expect_err("empty");
        assert!(e.message.contains("page.talk: empty"), "{e}");
    }

    #[test]
    fn problems_name_the_file_and_line() {
        let e = parse_as("Polish.toml", POLISH).expect_err("bad name");
        assert!(
            e.to_string()
                .contains("Polish.toml: the file name must be a language code"),
            "{e}"
        );
        let e = parse_as("en.toml", POLISH).expect_err("built in");
        assert!(e.message.contains("[rules.en]"), "{e}");
        let e =
            parse_as("pl.toml", &POLISH.replace("{position}", "N")).expect_err("no placeholder");
        assert!(
            e.message.contains("lines.handoff: must contain {position}"),
            "{e}"
        );
        assert_eq!(
            e.line,
            POLISH
                .lines()
                .position(|l| l.starts_with("handoff"))
                .map(|i| i + 1)
        );
        let e = parse_as(
            "pl.toml",
            &POLISH.replace("bereavement =", "# bereavement ="),
        )
        .expect_err("topic");
        assert!(e.message.contains("sensitive.bereavement"), "{e}");
        let e = parse_as(
            "pl.toml",
            &POLISH.replace("detect = \"pol\"", "detect = \"polish\""),
        )
        .expect_err("detect");
        assert!(e.message.contains("detect"), "{e}");
        assert_eq!(e.line, Some(4));
        let e = parse_as("pl.toml", &format!("{POLISH}\nshout = true\n")).expect_err("unknown key");
        assert!(e.message.contains("shout"), "{e}");
        assert!(e.line.is_some(), "{e}");
    }
}
