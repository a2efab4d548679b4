//! The six languages shiftdesk serves, and how a customer's language is recognised.
//!
//! Everything language-aware in the product (routing offers to workers who speak the language,
//! drafting a reply, the customer-facing handoff notice) keys on [`Lang`]. Detection has to work on
//! the short, informal messages customers actually send ("operatore", "Kan ik eerder betalen?"),
//! where a statistical detector alone is unreliable, so [`detect`] combines `whatlang` (restricted
//! to our six languages) with a small table of very common words per language, and falls back to
//! what we already know about the conversation when the text says too little.
//!
//! The text normalisation used for keyword matching ([`normalize`], [`words`]) lives here too, so
//! that the knowledge base, triage and detection all see the same words.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::languages::Script;

pub use shiftdesk_protocol::Lang;

/// The matching `whatlang` language, for the detector's allowlist (a loaded language has one
/// when its file says `detect = "..."`).
fn whatlang_of(lang: Lang) -> Option<whatlang::Lang> {
    match lang {
        Lang::En => Some(whatlang::Lang::Eng),
        Lang::It => Some(whatlang::Lang::Ita),
        Lang::De => Some(whatlang::Lang::Deu),
        Lang::Nl => Some(whatlang::Lang::Nld),
        Lang::Sv => Some(whatlang::Lang::Swe),
        Lang::Ru => Some(whatlang::Lang::Rus),
        _ => crate::languages::get(lang).and_then(|l| l.detect),
    }
}

/// Lowercase, turn punctuation into spaces, and fold diacritics lightly (`é` → `e`, `ö` → `o`,
/// `ß` → `ss`, `ё` → `е`), so that "Fälligkeit", "falligkeit" and "FÄLLIGKEIT!" compare equal and a
/// customer who types without accents still matches. Apostrophes split words ("can't" → "can t",
/// "l'app" → "l app"), which keeps Italian elisions matchable.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match fold_char(c) {
            Folded::One(f) => out.push(f),
            Folded::Two(a, b) => {
                out.push(a);
                out.push(b);
            }
            Folded::Space => out.push(' '),
        }
    }
    out
}

/// The words of a text after [`normalize`], in order: the `norm` of each of its [`tokens`],
/// without building the shown forms (the drafter splits every message it reads).
pub fn words(text: &str) -> Vec<String> {
    normalize(text)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// One word of a customer message: its [`normalize`]d form for matching, and the lowercased
/// form as the customer wrote it, for quoting back to a worker ("operatori", not "operatori*").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub norm: String,
    pub shown: String,
}

/// Split a text into [`Token`]s, using the same rules as [`normalize`].
pub fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut current = Token {
        norm: String::new(),
        shown: String::new(),
    };
    for c in text.chars().flat_map(char::to_lowercase) {
        match fold_char(c) {
            Folded::One(f) => current.norm.push(f),
            Folded::Two(a, b) => {
                current.norm.push(a);
                current.norm.push(b);
            }
            Folded::Space => {
                if !current.norm.is_empty() {
                    out.push(std::mem::replace(
                        &mut current,
                        Token {
                            norm: String::new(),
                            shown: String::new(),
                        },
                    ));
                }
                continue;
            }
        }
        current.shown.push(c);
    }
    if !current.norm.is_empty() {
        out.push(current);
    }
    out
}

enum Folded {
    One(char),
    Two(char, char),
    Space,
}

fn fold_char(c: char) -> Folded {
    // Most text is ASCII, and no ASCII character folds to another.
    if c.is_ascii() {
        return if c.is_ascii_alphanumeric() {
            Folded::One(c)
        } else {
            Folded::Space
        };
    }
    let f = match c {
        'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' | 'ā' => 'a',
        'è' | 'é' | 'ê' | 'ë' | 'ē' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ò' | 'ó' | 'ô' | 'ö' | 'õ' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        'ý' | 'ÿ' => 'y',
        'ё' => 'е',
        'ß' => return Folded::Two('s', 's'),
        'æ' => return Folded::Two('a', 'e'),
        // Letters with a stroke have no canonical decomposition.
        'ł' => 'l',
        'đ' => 'd',
        'ħ' => 'h',
        // The rest of the Latin letters with diacritics (Polish ą ę ś ź ż, Czech č ř ů, Spanish
        // and Portuguese ones, ...): their base letter, for languages added from files.
        c if ('\u{0100}'..='\u{024F}').contains(&c) => {
            let mut base = c;
            unicode_normalization::char::decompose_canonical(c, |d| {
                if base == c && d.is_alphabetic() {
                    base = d;
                }
            });
            base
        }
        c if c.is_alphanumeric() => c,
        _ => return Folded::Space,
    };
    Folded::One(f)
}

/// How much more evidence the winning language needs than the runner-up before we trust it.
const MIN_MARGIN: f32 = 0.5;
/// How much evidence in total the winning language needs before we trust it.
const MIN_EVIDENCE: f32 = 1.0;
/// Extra weight for the language the conversation was already in: a customer rarely switches,
/// and "ok" or "thanks" should not flip the language of the conversation.
const HINT_BONUS: f32 = 0.5;
/// Weight of whatlang's opinion, multiplied by its confidence (0..1).
const WHATLANG_WEIGHT: f32 = 2.0;

/// Each word of [`MARKERS`] with the languages that list it, in [`MARKERS`] order.
static MARKER_OWNERS: LazyLock<HashMap<&'static str, Vec<Lang>>> = LazyLock::new(|| {
    let mut owners: HashMap<&'static str, Vec<Lang>> = HashMap::new();
    for (lang, list) in MARKERS {
        for word in list {
            let langs = owners.entry(word).or_default();
            if !langs.contains(&lang) {
                langs.push(lang);
            }
        }
    }
    owners
});

/// Very common words of each Latin-script language, plus a few support words ("refund",
/// "rimborso", "terugbetaling") that customers use even in one-line messages. `whatlang` is
/// trigram-based and often unsure on five words; these tip the balance. A word listed under
/// several languages counts for each of them, split evenly. Entries are in [`normalize`]d form.
#[rustfmt::skip]
const MARKERS: [(Lang, &[&str]); 5] = [
    (
        Lang::En,
        &[
            "the", "my", "me", "you", "your", "is", "are", "was", "can", "could", "how", "what",
            "when", "where", "why", "do", "does", "did", "not", "with", "for", "to", "of", "and",
            "have", "has", "want", "need", "please", "thanks", "thank", "hello", "hi", "help",
            "pay", "paid", "payment", "refund", "money", "order", "account", "card", "due", "early",
            "person", "human", "agent", "someone", "talk", "speak", "this", "that", "will", "would",
            "just", "still", "it", "be", "an", "on", "got", "get", "don", "doesn", "didn", "haven",
            "weather", "today", "instalment", "installment",
        ],
    ),
    (
        Lang::It,
        &[
            "il", "lo", "la", "le", "gli", "un", "una", "uno", "di", "del", "della", "dei", "che",
            "e", "non", "per", "con", "mi", "ho", "ha", "sono", "posso", "vorrei", "voglio", "come",
            "quando", "dove", "perche", "mio", "mia", "miei", "ciao", "grazie", "buongiorno",
            "salve", "pagare", "pagamento", "rata", "rate", "rimborso", "ordine", "conto", "carta",
            "scadenza", "aiuto", "persona", "parlare", "operatore", "qualcuno", "ancora", "anche",
            "ma", "questo", "questa", "bisogno", "tempo", "oggi", "fa", "dov", "cosa", "si", "al",
            "alla", "nel", "nella", "anticipo", "ricevuto",
        ],
    ),
    (
        Lang::De,
        &[
            "ich", "mein", "meine", "meinen", "meiner", "meinem", "nicht", "ist", "sind", "und",
            "der", "die", "das", "den", "dem", "ein", "eine", "einen", "einem", "mit", "fur", "von",
            "zu", "auf", "kann", "konnen", "mochte", "will", "wie", "was", "wo", "warum", "wann",
            "bitte", "danke", "hallo", "guten", "tag", "habe", "hat", "bezahlen", "zahlung", "rate",
            "raten", "ruckerstattung", "bestellung", "konto", "karte", "frist", "fallig",
            "mitarbeiter", "mensch", "menschen", "sprechen", "jemand", "noch", "auch", "aber", "es",
            "sie", "ja", "nein", "bin", "schon", "geld", "hilfe", "fruher", "verschieben", "wetter",
            "heute", "keine", "kein",
        ],
    ),
    (
        Lang::Nl,
        &[
            "ik", "mijn", "niet", "is", "zijn", "en", "het", "de", "een", "met", "voor", "van",
            "op", "te", "kan", "kunnen", "wil", "wilt", "hoe", "wat", "waar", "waarom", "wanneer",
            "alstublieft", "alsjeblieft", "graag", "bedankt", "dank", "hallo", "hoi", "goedendag",
            "heb", "heeft", "betalen", "betaling", "termijn", "terugbetaling", "bestelling",
            "rekening", "kaart", "vervaldatum", "medewerker", "mens", "spreken", "praten", "iemand",
            "nog", "ook", "maar", "geld", "hulp", "eerder", "verplaatsen", "geen", "er", "dit",
            "dat", "mij", "u", "je", "weer", "vandaag", "want", "nee", "ja",
        ],
    ),
    (
        Lang::Sv,
        &[
            "jag", "min", "mitt", "mina", "inte", "ar", "och", "att", "en", "ett", "med", "for",
            "av", "pa", "till", "kan", "vill", "hur", "vad", "var", "varfor", "nar", "tack", "hej",
            "halla", "har", "betala", "betalning", "delbetalning", "aterbetalning", "bestallning",
            "konto", "kort", "forfallodag", "handlaggare", "manniska", "prata", "nagon", "ocksa",
            "men", "pengar", "hjalp", "snalla", "det", "den", "om", "ska", "skulle", "mig",
            "vadret", "idag", "fa", "tidigare", "flytta", "nej", "ja",
        ],
    ),
];

/// Letters that only (or mostly) one of our Latin-script languages writes.
const LETTER_MARKERS: [(char, Lang, f32); 8] = [
    ('å', Lang::Sv, 1.0),
    ('ß', Lang::De, 1.0),
    ('ü', Lang::De, 1.0),
    ('à', Lang::It, 1.0),
    ('è', Lang::It, 1.0),
    ('ò', Lang::It, 1.0),
    ('ä', Lang::De, 0.5),
    ('ä', Lang::Sv, 0.5),
];

/// Detect the language of a customer message among the six, using whatlang with an allowlist;
/// short or unreliable text falls back to `hint`, then English.
///
/// Cyrillic text is Russian (the only Cyrillic language we serve). Latin text is scored per
/// language from three sources: whatlang's guess weighted by its confidence, common words of
/// each language, and letters like `å` or `ß`. The winner must have enough evidence and a clear
/// margin over the runner-up; otherwise the conversation's known language (`hint`) is kept, or
/// English is assumed. The hint also gets a small bonus so that a terse "ok" keeps the language.
pub fn detect(text: &str, hint: Option<Lang>) -> Lang {
    evidence_winner(text, hint).or(hint).unwrap_or(Lang::En)
}

/// The language `text` is clearly written in, with no prior: `None` when the text says too
/// little (no letters, "ok", digits, a word shared by several languages). Used for customers who
/// did not declare a language, where guessing English would route them to the wrong people.
pub fn detect_clear(text: &str) -> Option<Lang> {
    evidence_winner(text, None)
}

/// The language with enough evidence and a clear margin, if any (see [`detect`]).
fn evidence_winner(text: &str, hint: Option<Lang>) -> Option<Lang> {
    let (mut cyrillic, mut latin) = (0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        if ('\u{0400}'..='\u{04FF}').contains(&c) {
            cyrillic += 1;
        } else if c.is_ascii_alphabetic() || ('\u{00C0}'..='\u{024F}').contains(&c) {
            latin += 1;
        }
    }
    if cyrillic == 0 && latin == 0 {
        return None;
    }
    // The languages of the text's script: Russian is the only built-in Cyrillic one, so
    // Cyrillic text is Russian unless a loaded language is Cyrillic too.
    let registry = crate::languages::registry();
    let script = if cyrillic > latin {
        Script::Cyrillic
    } else {
        Script::Latin
    };
    let mut candidates: Vec<Lang> = match script {
        Script::Cyrillic => vec![Lang::Ru],
        Script::Latin => Lang::ALL.into_iter().filter(|l| *l != Lang::Ru).collect(),
    };
    candidates.extend(
        registry
            .loaded()
            .filter(|l| l.script == script)
            .map(|l| l.lang),
    );
    if candidates.len() == 1 {
        return candidates.first().copied();
    }

    let mut evidence = vec![0f32; candidates.len()];
    let mut add = |lang: Lang, weight: f32| {
        if let Some(i) = candidates.iter().position(|l| *l == lang) {
            evidence[i] += weight;
        }
    };
    let allow: Vec<whatlang::Lang> = candidates.iter().filter_map(|l| whatlang_of(*l)).collect();
    if let Some(info) = whatlang::Detector::with_allowlist(allow).detect(text)
        && let Some(lang) = candidates
            .iter()
            .find(|l| whatlang_of(**l) == Some(info.lang()))
    {
        add(*lang, WHATLANG_WEIGHT * info.confidence() as f32);
    }
    for word in words(text) {
        let mut owners: Vec<Lang> = MARKER_OWNERS
            .get(word.as_str())
            .cloned()
            .unwrap_or_default();
        owners.extend(
            registry
                .loaded()
                .filter(|l| l.markers.contains(&word.as_str()))
                .map(|l| l.lang),
        );
        for lang in &owners {
            add(*lang, 1.0 / owners.len() as f32);
        }
    }
    let lower = text.to_lowercase();
    for (letter, lang, weight) in LETTER_MARKERS {
        if lower.contains(letter) {
            add(lang, weight);
        }
    }
    if let Some(hint) = hint {
        add(hint, HINT_BONUS);
    }

    let mut ranked: Vec<(Lang, f32)> = candidates.iter().copied().zip(evidence).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (best, best_score) = ranked[0];
    let runner_up = ranked[1].1;
    (best_score >= MIN_EVIDENCE && best_score - runner_up >= MIN_MARGIN).then_some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for lang in Lang::ALL {
            assert_eq!(Lang::from_code(lang.code()), Some(lang));
            assert_eq!(lang.code().parse::<Lang>(), Ok(lang));
            assert_eq!(lang.to_string(), lang.code());
        }
    }

    #[test]
    fn from_code_ignores_case_and_region() {
        assert_eq!(Lang::from_code("EN"), Some(Lang::En));
        assert_eq!(Lang::from_code("en-GB"), Some(Lang::En));
        assert_eq!(Lang::from_code("sv_SE"), Some(Lang::Sv));
        assert_eq!(Lang::from_code(" De-AT "), Some(Lang::De));
        assert_eq!(Lang::from_code("fr").map(|l| l.is_builtin()), Some(false));
        assert_eq!(Lang::from_code(""), None);
        assert_eq!(Lang::from_code("english"), None);
    }

    #[test]
    fn parse_error_names_what_was_given() {
        let err = "français".parse::<Lang>().expect_err("not a code");
        let msg = err.to_string();
        assert!(msg.contains("\"français\""), "{msg}");
        assert!(msg.contains("en, it"), "{msg}");
    }

    #[test]
    fn normalize_folds_latin_letters_of_added_languages() {
        assert_eq!(
            normalize("Chcę zapłacić źle, łódź"),
            "chce zaplacic zle  lodz"
        );
        assert_eq!(normalize("Přes účet"), "pres ucet");
        // Cyrillic keeps its letters (only ё folds).
        assert_eq!(normalize("мой"), "мой");
    }

    #[test]
    fn native_names() {
        assert_eq!(Lang::It.name(), "Italiano");
        assert_eq!(Lang::Ru.name(), "Русский");
    }

    #[test]
    fn serde_uses_lowercase_codes() {
        assert_eq!(
            serde_json::to_string(&Lang::Nl).expect("serialize"),
            "\"nl\""
        );
        let lang: Lang = serde_json::from_str("\"sv\"").expect("deserialize");
        assert_eq!(lang, Lang::Sv);
    }

    #[test]
    fn normalize_folds_case_accents_and_punctuation() {
        assert_eq!(normalize("Fälligkeit!"), "falligkeit ");
        assert_eq!(
            words("Can't pay, l'app è rotta?"),
            ["can", "t", "pay", "l", "app", "e", "rotta"]
        );
        assert_eq!(words("Straße"), ["strasse"]);
        assert_eq!(words("Ещё ОПЕРАТОР"), ["еще", "оператор"]);
    }

    #[test]
    fn detects_typical_short_messages() {
        let cases = [
            ("Ho bisogno di parlare con una persona", Lang::It),
            ("Ich möchte meinen Fälligkeitstermin verschieben", Lang::De),
            ("Мне нужен оператор", Lang::Ru),
            ("Can I pay early?", Lang::En),
            ("How do I move my due date?", Lang::En),
            ("Posso pagare in anticipo?", Lang::It),
            ("Kan ik eerder betalen?", Lang::Nl),
            ("Kan jag betala i förväg?", Lang::Sv),
            ("Ik wil met een medewerker praten", Lang::Nl),
            ("Jag vill prata med en människa", Lang::Sv),
            ("Kann ich früher bezahlen?", Lang::De),
            ("Hoe kan ik mijn vervaldatum verplaatsen?", Lang::Nl),
            ("Hur flyttar jag förfallodagen?", Lang::Sv),
            ("Dov'è il mio rimborso?", Lang::It),
            ("where is my refund", Lang::En),
        ];
        for (text, want) in cases {
            assert_eq!(detect(text, None), want, "{text}");
        }
    }

    #[test]
    fn unreliable_text_keeps_the_hint_then_english() {
        assert_eq!(detect("ok", Some(Lang::Sv)), Lang::Sv);
        assert_eq!(detect("ok", None), Lang::En);
        assert_eq!(detect("12345 ???", Some(Lang::De)), Lang::De);
        assert_eq!(detect("", None), Lang::En);
        assert_eq!(detect("xqzt vbrk", Some(Lang::Nl)), Lang::Nl);
    }

    #[test]
    fn detect_clear_says_nothing_rather_than_guess() {
        assert_eq!(detect_clear("ok"), None);
        assert_eq!(detect_clear("12345 ???"), None);
        assert_eq!(detect_clear(""), None);
        assert_eq!(
            detect_clear("Jag vill prata med en människa"),
            Some(Lang::Sv)
        );
        assert_eq!(detect_clear("Мне нужен оператор"), Some(Lang::Ru));
        assert_eq!(detect_clear("where is my refund"), Some(Lang::En));
    }

    #[test]
    fn clear_text_overrides_a_wrong_hint() {
        assert_eq!(detect("Kan ik eerder betalen?", Some(Lang::Sv)), Lang::Nl);
        assert_eq!(detect("Мне нужен оператор", Some(Lang::En)), Lang::Ru);
        assert_eq!(
            detect(
                "Ich möchte meinen Fälligkeitstermin verschieben",
                Some(Lang::En)
            ),
            Lang::De
        );
    }

    proptest::proptest! {
        /// `words` is the normalised half of `tokens`, and the words of `normalize`, for any
        /// text (any script, any punctuation).
        #[test]
        fn words_are_the_normalised_tokens(text in "\\PC{0,60}", ascii in "[ -~]{0,60}") {
            for text in [&text, &ascii] {
                let from_tokens: Vec<String> = tokens(text).into_iter().map(|t| t.norm).collect();
                proptest::prop_assert_eq!(words(text), from_tokens);
                let normalized = normalize(text);
                proptest::prop_assert_eq!(
                    normalized.split_whitespace().collect::<Vec<_>>(),
                    words(text)
                );
            }
        }
    }
}
