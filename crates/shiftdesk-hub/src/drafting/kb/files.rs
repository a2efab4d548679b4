//! Reading a knowledge-base folder: one Markdown file per article and language.
//!
//! An article file is named `ID.LANG.md` (`gift-cards.en.md`) and starts with TOML front matter
//! between `+++` lines, as Zola and Hugo write it; the Markdown after it is the answer:
//!
//! ```text
//! +++
//! title = "Gift cards"
//! questions = ["Can I pay with a gift card?"]
//! keywords = ["gift card", "voucher"]
//! +++
//!
//! Yes: enter the gift card's code at checkout...
//! ```
//!
//! Everything wrong with a folder is collected as a [`Problem`] naming the file, the line where
//! there is one, and what to change, so `shiftdesk kb check` can list them all at once and a
//! hub that cannot load a folder says exactly why. Errors keep a folder from loading; warnings
//! (an article missing in a language, a file that is not an article) do not.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::lang::Lang;

/// How bad a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The folder cannot be used until this is fixed.
    Error,
    /// The folder loads; this is probably not what its author meant.
    Warning,
}

/// One thing wrong with a knowledge-base folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    /// 1-based line in `path`, where the problem has one.
    pub line: Option<usize>,
    pub severity: Severity,
    pub message: String,
}

impl Problem {
    fn error(path: &Path, line: Option<usize>, message: impl Into<String>) -> Problem {
        Problem {
            path: path.to_path_buf(),
            line,
            severity: Severity::Error,
            message: message.into(),
        }
    }

    fn warning(path: &Path, line: Option<usize>, message: impl Into<String>) -> Problem {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(path, line, message)
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// `path:line: error: message`, as compilers write it, so editors can jump to it.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, ": {severity}: {}", self.message)
    }
}

/// One article file, read and checked: its id and language (from the name), its front matter
/// and its answer (the body).
#[derive(Debug, Clone)]
pub(super) struct ArticleFile {
    pub path: PathBuf,
    pub id: String,
    pub lang: Lang,
    pub title: String,
    /// The intent, if the file sets one, with its line.
    pub intent: Option<(String, usize)>,
    pub sensitive: bool,
    pub tags: Vec<String>,
    pub questions: Vec<String>,
    pub keywords: Vec<String>,
    pub answer: String,
}

/// What a file's name says it is.
#[derive(Debug, PartialEq)]
pub(super) enum FileName {
    Article {
        id: String,
        lang: Lang,
    },
    /// A Markdown file with no language in its name (`README.md`): not an article.
    NotArticle,
    /// Looks like an article but the name is wrong; says what is wrong.
    Bad(String),
}

/// Read an article's id and language from its file name (`gift-cards.en.md`).
pub(super) fn parse_name(name: &str) -> FileName {
    let Some(stem) = name.strip_suffix(".md") else {
        return FileName::NotArticle;
    };
    let Some((id, code)) = stem.rsplit_once('.') else {
        return FileName::NotArticle;
    };
    // Any language code: one the hub does not serve is reported by `kb check` as a warning
    // (its articles wait for `languages/CODE.toml`).
    let Some(lang) = Lang::from_code(code).filter(|l| l.code() == code) else {
        return FileName::Bad(format!(
            "`{code}` in the file name is not a language code (articles are named ID.LANG.md, \
             with a lowercase ISO 639 code: en, it, de, nl, sv, ru, or one in languages/)"
        ));
    };
    if id.is_empty() {
        return FileName::Bad("the file name has no article id before the language".into());
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        return FileName::Bad(format!(
            "article id `{id}` has {c:?}: use lowercase letters, digits, `-` and `_`"
        ));
    }
    FileName::Article {
        id: id.to_string(),
        lang,
    }
}

/// The front matter as written; checked into an [`ArticleFile`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    title: Option<Spanned<String>>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    questions: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    sensitive: bool,
    intent: Option<Spanned<String>>,
}

/// Parse one article file. Problems go to `problems`; `None` when the file cannot be used.
pub(super) fn parse_article(
    path: &Path,
    id: &str,
    lang: Lang,
    text: &str,
    problems: &mut Vec<Problem>,
) -> Option<ArticleFile> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let parts = match split_front_matter(text) {
        Ok(parts) => parts,
        Err((line, message)) => {
            problems.push(Problem::error(path, Some(line), message));
            return None;
        }
    };
    let front: FrontMatter = match toml::from_str(parts.front) {
        Ok(front) => front,
        Err(e) => {
            let line = e
                .span()
                .map(|span| parts.front_line + line_of(parts.front, span.start) - 1);
            problems.push(Problem::error(
                path,
                line.or(Some(parts.front_line)),
                format!("front matter: {}", e.message().trim()),
            ));
            return None;
        }
    };
    let mut usable = true;
    let title = match front.title {
        Some(title) if title.get_ref().trim().is_empty() => {
            let line = parts.front_line + line_of(parts.front, title.span().start) - 1;
            problems.push(Problem::error(path, Some(line), "`title` is empty"));
            usable = false;
            String::new()
        }
        Some(title) => title.into_inner().trim().to_string(),
        None => {
            problems.push(Problem::error(
                path,
                Some(1),
                "missing `title` in the front matter (title = \"...\")",
            ));
            usable = false;
            String::new()
        }
    };
    let intent = match front.intent {
        Some(intent) => {
            let line = parts.front_line + line_of(parts.front, intent.span().start) - 1;
            let intent = intent.into_inner().trim().to_string();
            if intent.is_empty() {
                problems.push(Problem::error(
                    path,
                    Some(line),
                    "`intent` is empty (leave it out to use the article id)",
                ));
                usable = false;
            }
            Some((intent, line))
        }
        None => None,
    };
    let answer = chat_text(parts.body);
    if answer.is_empty() {
        problems.push(Problem::error(
            path,
            Some(parts.body_line),
            "empty body: the text after the closing `+++` is the answer customers get",
        ));
        usable = false;
    }
    for keyword in &front.keywords {
        if crate::lang::words(keyword).is_empty() {
            problems.push(Problem::warning(
                path,
                None,
                format!("keyword {keyword:?} has no letters or digits; it is ignored"),
            ));
        }
    }
    if front.keywords.is_empty() && front.questions.is_empty() {
        problems.push(Problem::warning(
            path,
            Some(1),
            "no `keywords` and no `questions`: the bot can never pick this article",
        ));
    }
    usable.then(|| ArticleFile {
        path: path.to_path_buf(),
        id: id.to_string(),
        lang,
        title,
        intent,
        sensitive: front.sensitive,
        tags: front.tags,
        questions: front
            .questions
            .into_iter()
            .map(|q| q.trim().to_string())
            .filter(|q| !q.is_empty())
            .collect(),
        keywords: front.keywords,
        answer,
    })
}

/// A file split at its front matter.
struct Parts<'a> {
    front: &'a str,
    /// The file's line number of the first front-matter line.
    front_line: usize,
    body: &'a str,
    /// The file's line number of the closing `+++` (an empty body is reported there).
    body_line: usize,
}

/// Find the front matter between a first line `+++` and the next line `+++`. On error, the
/// line and what is wrong.
fn split_front_matter(text: &str) -> Result<Parts<'_>, (usize, String)> {
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or_default();
    match first.trim() {
        "+++" => {}
        "---" => {
            return Err((
                1,
                "the front matter is YAML (`---`); write it as TOML between `+++` lines".into(),
            ));
        }
        _ => {
            return Err((
                1,
                "no front matter: an article starts with a `+++` line, then `title = \"...\"`, \
                 then a closing `+++` line, then the answer"
                    .into(),
            ));
        }
    }
    let front_start = first.len();
    let mut at = front_start;
    for (n, line) in lines.enumerate() {
        if line.trim() == "+++" {
            return Ok(Parts {
                front: &text[front_start..at],
                front_line: 2,
                body: &text[at + line.len()..],
                body_line: n + 2,
            });
        }
        at += line.len();
    }
    Err((
        1,
        "the front matter opened here is never closed by a `+++` line".into(),
    ))
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The text a customer gets from an article's Markdown body. Markdown is kept as written
/// (a chat shows `- item` and `**bold**` readably), except that lines of one paragraph are
/// joined, as Markdown renders them: authors wrap lines in their editor, customers should not
/// see those breaks. Blank lines between paragraphs, list items, headings, quotes, code blocks
/// and hard breaks (two trailing spaces or a `\`) keep their own lines.
pub(super) fn chat_text(body: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    let mut blank_before = false;
    // The previous line ends its line in the output (a hard break, a code line).
    let mut break_after = false;
    for raw in body.lines() {
        let line = raw.trim_end();
        let fence = line.trim_start().starts_with("```");
        if fence || in_code {
            separate(&mut out, blank_before, true);
            out.push_str(line);
            in_code ^= fence;
            blank_before = false;
            break_after = true;
            continue;
        }
        if line.is_empty() {
            blank_before = true;
            continue;
        }
        let content = line.trim_start();
        let block = starts_block(content);
        separate(&mut out, blank_before, break_after || block);
        let (text, hard) = match content.strip_suffix('\\') {
            Some(text) => (text.trim_end(), true),
            None => (content, raw.ends_with("  ")),
        };
        if block {
            // Indentation matters in lists.
            out.push_str(&line[..line.len() - content.len()]);
        }
        out.push_str(text);
        blank_before = false;
        break_after = hard;
    }
    out
}

/// What goes between the text so far and the next line: nothing at the start, a blank line
/// between paragraphs, a line break, or a space inside a paragraph.
fn separate(out: &mut String, blank_before: bool, newline: bool) {
    if out.is_empty() {
        return;
    }
    out.push_str(match (blank_before, newline) {
        (true, _) => "\n\n",
        (false, true) => "\n",
        (false, false) => " ",
    });
}

/// Whether a Markdown line starts a block of its own (a list item, heading or quote).
fn starts_block(line: &str) -> bool {
    if line.starts_with('#') || line.starts_with('>') || line.starts_with('|') {
        return true;
    }
    if ["- ", "* ", "+ "].iter().any(|m| line.starts_with(m)) {
        return true;
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && (line[digits..].starts_with(". ") || line[digits..].starts_with(") "))
}

/// How deep subfolders are read; deeper ones (a symbolic link to a folder above, most likely)
/// are a warning.
const MAX_DEPTH: usize = 8;

/// Every article file of a folder and its subfolders (hidden ones are skipped), with its text
/// or why it could not be read, sorted by path. A folder that cannot be listed is a problem.
pub(super) fn read_folder(
    dir: &Path,
    problems: &mut Vec<Problem>,
) -> Vec<(PathBuf, std::io::Result<String>)> {
    let mut files = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), 0)];
    while let Some((folder, depth)) = pending.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) => {
                problems.push(Problem::error(
                    &folder,
                    None,
                    format!("cannot read the folder: {e}"),
                ));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    problems.push(Problem::error(
                        &folder,
                        None,
                        format!("cannot read the folder: {e}"),
                    ));
                    continue;
                }
            };
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if hidden {
                continue;
            }
            if path.is_dir() {
                if depth < MAX_DEPTH {
                    pending.push((path, depth + 1));
                } else {
                    problems.push(Problem::warning(
                        &path,
                        None,
                        format!("more than {MAX_DEPTH} folders deep; not read"),
                    ));
                }
            } else if path.extension().is_some_and(|e| e == "md") {
                let text = std::fs::read_to_string(&path);
                files.push((path, text));
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

/// Parse every file and check the articles as a whole: no id written twice in one language,
/// one intent per article, and every article in every language the folder uses (a warning).
pub(super) fn parse_files(
    files: Vec<(PathBuf, std::io::Result<String>)>,
    problems: &mut Vec<Problem>,
) -> Vec<Vec<ArticleFile>> {
    // id -> language -> file
    let mut by_id: BTreeMap<String, BTreeMap<Lang, ArticleFile>> = BTreeMap::new();
    let mut languages = BTreeSet::new();
    for (path, text) in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (id, lang) = match parse_name(&name) {
            FileName::Article { id, lang } => (id, lang),
            FileName::NotArticle => {
                problems.push(Problem::warning(
                    &path,
                    None,
                    "not an article (articles are named ID.LANG.md, like gift-cards.en.md); \
                     ignored",
                ));
                continue;
            }
            FileName::Bad(message) => {
                problems.push(Problem::error(&path, None, message));
                continue;
            }
        };
        languages.insert(lang);
        let text = match text {
            Ok(text) => text,
            Err(e) => {
                problems.push(Problem::error(&path, None, format!("cannot read: {e}")));
                continue;
            }
        };
        if let Some(other) = by_id.get(&id).and_then(|langs| langs.get(&lang)) {
            problems.push(Problem::error(
                &path,
                None,
                format!(
                    "duplicate: article `{id}` in {lang} is also {}",
                    other.path.display()
                ),
            ));
            continue;
        }
        if let Some(file) = parse_article(&path, &id, lang, &text, problems) {
            by_id.entry(id).or_default().insert(lang, file);
        }
    }
    let mut articles = Vec::with_capacity(by_id.len());
    for (id, files) in by_id {
        let files: Vec<ArticleFile> = files.into_values().collect();
        check_article(&id, &files, &languages, problems);
        articles.push(files);
    }
    articles
}

/// The checks across one article's files.
fn check_article(
    id: &str,
    files: &[ArticleFile],
    languages: &BTreeSet<Lang>,
    problems: &mut Vec<Problem>,
) {
    let Some(first) = files.first() else {
        return;
    };
    if let Some((intent, path)) = files
        .iter()
        .find_map(|f| f.intent.as_ref().map(|(i, _)| (i, &f.path)))
    {
        for file in files {
            let theirs = file.intent.as_ref().map(|(i, _)| i);
            if theirs.is_some_and(|i| i != intent) {
                problems.push(Problem::error(
                    &file.path,
                    file.intent.as_ref().map(|(_, line)| *line),
                    format!(
                        "intent {:?} differs from {intent:?} in {}: one article has one intent",
                        theirs.map(String::as_str).unwrap_or_default(),
                        path.display()
                    ),
                ));
            }
        }
    }
    if let Some(sensitive) = files.iter().find(|f| f.sensitive) {
        for file in files.iter().filter(|f| !f.sensitive) {
            problems.push(Problem::warning(
                &file.path,
                Some(1),
                format!(
                    "`sensitive = true` in {} but not here: the article is treated as sensitive \
                     in every language",
                    sensitive.path.display()
                ),
            ));
        }
    }
    for lang in languages {
        if !files.iter().any(|f| f.lang == *lang) {
            problems.push(Problem::warning(
                &first.path,
                None,
                format!(
                    "no {} version ({id}.{}.md): customers writing in {} do not get this article",
                    lang.english_name(),
                    lang.code(),
                    lang.english_name()
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(
            parse_name("gift-cards.en.md"),
            FileName::Article {
                id: "gift-cards".into(),
                lang: Lang::En
            }
        );
        assert_eq!(parse_name("README.md"), FileName::NotArticle);
        assert_eq!(parse_name("notes.txt"), FileName::NotArticle);
        assert!(matches!(
            parse_name("gift-cards.es.md"),
            FileName::Article { .. }
        ));
        let FileName::Bad(message) = parse_name("gift-cards.english.md") else {
            panic!("english is not a language code");
        };
        assert!(
            message.contains("`english` in the file name is not a language code"),
            "{message}"
        );
        assert!(matches!(parse_name("gift-cards.EN.md"), FileName::Bad(_)));
        assert!(matches!(parse_name("Gift Cards.en.md"), FileName::Bad(_)));
        assert!(matches!(parse_name(".en.md"), FileName::Bad(_)));
    }

    fn parse(text: &str) -> (Option<ArticleFile>, Vec<Problem>) {
        let mut problems = Vec::new();
        let file = parse_article(Path::new("a.en.md"), "a", Lang::En, text, &mut problems);
        (file, problems)
    }

    #[test]
    fn a_complete_article() {
        let (file, problems) = parse(
            "+++\ntitle = \"Gift cards\"\ntags = [\"payments\"]\nquestions = [\"Can I pay with a \
             gift card?\"]\nkeywords = [\"voucher\"]\nsensitive = false\nintent = \"gift\"\n+++\n\n\
             Yes, you can.\nEnter the code at checkout.\n",
        );
        assert_eq!(problems, []);
        let file = file.expect("parses");
        assert_eq!(file.title, "Gift cards");
        assert_eq!(file.tags, ["payments"]);
        assert_eq!(file.questions, ["Can I pay with a gift card?"]);
        assert_eq!(file.intent, Some(("gift".into(), 7)));
        assert_eq!(file.answer, "Yes, you can. Enter the code at checkout.");
    }

    fn only_error(text: &str) -> Problem {
        let (file, problems) = parse(text);
        assert!(file.is_none(), "{text}");
        let errors: Vec<Problem> = problems.into_iter().filter(Problem::is_error).collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        errors[0].clone()
    }

    #[test]
    fn front_matter_errors_name_the_line() {
        let p = only_error("+++\ntitle = \"T\"\nkeywords = [\"a\",\n+++\nBody\n");
        assert_eq!(p.line, Some(3), "{p}");
        let p = only_error("+++\ntitle = \"T\"\nsensitiv = true\n+++\nBody\n");
        assert_eq!(p.line, Some(3), "{p}");
        assert!(p.message.contains("sensitiv"), "{p}");
        let p = only_error("+++\ntitle = \"  \"\n+++\nBody\n");
        assert_eq!((p.line, p.message.as_str()), (Some(2), "`title` is empty"));
        let p = only_error("+++\nkeywords = [\"x\"]\n+++\nBody\n");
        assert!(p.message.contains("missing `title`"), "{p}");
        let p = only_error("+++\ntitle = \"T\"\nkeywords = [\"x\"]\n+++\n\n   \n");
        assert_eq!(p.line, Some(4), "{p}");
        assert!(p.message.contains("empty body"), "{p}");
        let p = only_error("title = \"T\"\nBody\n");
        assert!(p.message.contains("no front matter"), "{p}");
        let p = only_error("---\ntitle: T\n---\nBody\n");
        assert!(p.message.contains("YAML"), "{p}");
        let p = only_error("+++\ntitle = \"T\"\nBody\n");
        assert!(p.message.contains("never closed"), "{p}");
    }

    #[test]
    fn markdown_paragraphs_are_joined_and_blocks_kept() {
        let body = "First line\nof a paragraph.\n\nSecond paragraph:\n- one\n- two\n  continued\n\n\
                    Line with a break  \nafter it.\\\nAnd more.\n\n```\ncode\n  kept\n```\nEnd.";
        assert_eq!(
            chat_text(body),
            "First line of a paragraph.\n\nSecond paragraph:\n- one\n- two continued\n\n\
             Line with a break\nafter it.\nAnd more.\n\n```\ncode\n  kept\n```\nEnd."
        );
        assert_eq!(chat_text("\n\n  Just this.  \n\n"), "Just this.");
        assert_eq!(chat_text("1. first\n2. second"), "1. first\n2. second");
    }
}
