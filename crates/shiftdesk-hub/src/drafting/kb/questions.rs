//! Example questions: what customers ask, written by the article's author, used for retrieval.
//!
//! An author rarely thinks in keywords; they know what customers ask ("Can I pay with a gift
//! card?"). A question is reduced to its content words (the words of [`lang::words`] that are
//! not function words like "can", "I", "with", "a" of its language), and a customer message
//! matches it by how many of those words it has, each matched as a knowledge-base keyword is
//! (stems, a typo, inside a compound). So "is a gift card accepted?" matches the question above
//! on "gift" and "card".

use crate::drafting::keywords::Phrase;
use crate::lang::{self, Lang};

/// One example question, ready to match.
#[derive(Debug, Clone)]
pub(super) struct Question {
    /// Its content words, each a one-word keyword.
    pub(super) words: Vec<Phrase>,
    /// How much each word says about this article rather than about every article of its
    /// language (the keywords' specificity, in `words` order; 1 until the knowledge base has
    /// counted). A product name all the questions share then cannot match a question alone.
    pub(super) specificity: Vec<f32>,
}

impl Question {
    /// `None` when the question has no content words ("How?").
    pub(super) fn new(text: &str, lang: Lang) -> Option<Question> {
        let mut seen: Vec<String> = Vec::new();
        for word in lang::words(text) {
            if word.chars().count() >= 2
                && !function_words(lang).contains(&word.as_str())
                && !seen.contains(&word)
            {
                seen.push(word);
            }
        }
        (!seen.is_empty()).then(|| Question {
            specificity: vec![1.0; seen.len()],
            words: seen.iter().map(|w| Phrase::keyword(w)).collect(),
        })
    }
}

/// Words that say nothing about what a question is about, as [`lang::normalize`] writes them.
#[rustfmt::skip]
pub(super) fn function_words(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::En => &[
            "the", "an", "me", "my", "mine", "you", "your", "we", "our", "us", "it", "its", "is",
            "are", "was", "were", "be", "been", "am", "do", "does", "did", "have", "has", "had",
            "can", "could", "would", "should", "will", "shall", "may", "might", "must", "to", "of",
            "in", "on", "at", "by", "for", "with", "from", "about", "as", "into", "than", "then",
            "that", "this", "these", "those", "there", "here", "what", "which", "who", "whom",
            "when", "where", "why", "how", "if", "or", "and", "but", "not", "no", "so", "too",
            "very", "just", "also", "any", "some", "please", "hi", "hello", "thanks", "thank",
            "don", "doesn", "didn", "isn", "aren", "wasn", "won", "get", "got", "want", "need",
            "like", "use", "using", "way", "still", "yet", "ve", "ll", "re",
        ],
        Lang::It => &[
            "il", "lo", "la", "gli", "le", "un", "uno", "una", "di", "del", "dello", "della",
            "dei", "degli", "delle", "da", "dal", "dallo", "dalla", "al", "allo", "alla", "ai",
            "agli", "alle", "in", "nel", "nello", "nella", "nei", "negli", "nelle", "con", "su",
            "sul", "sulla", "per", "tra", "fra", "ed", "ma", "non", "che", "chi", "cui", "come",
            "dove", "quando", "perche", "cosa", "quale", "quali", "quanto", "mi", "ti", "si",
            "ci", "vi", "ne", "io", "tu", "lui", "lei", "noi", "voi", "loro", "mio", "mia", "miei",
            "mie", "tuo", "tua", "suo", "sua", "sono", "sei", "ho", "hai", "ha", "abbiamo",
            "avete", "hanno", "posso", "puoi", "puo", "possiamo", "potete", "possono", "vorrei",
            "voglio", "devo", "essere", "avere", "fare", "questo", "questa", "quello", "quella",
            "anche", "ancora", "gia", "piu", "molto", "ciao", "grazie", "salve", "buongiorno",
            "po", "se", "dov", "qual",
        ],
        Lang::De => &[
            "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer",
            "eines", "und", "oder", "aber", "nicht", "ich", "du", "er", "sie", "es", "wir", "ihr",
            "mich", "mir", "dich", "dir", "uns", "mein", "meine", "meinen", "meinem", "meiner",
            "dein", "deine", "deinen", "ihre", "ist", "sind", "war", "bin", "bist", "hat", "habe",
            "haben", "hast", "kann", "kannst", "konnen", "konnte", "mochte", "will", "willst",
            "wollen", "muss", "musst", "soll", "wie", "was", "wo", "wann", "warum", "wer",
            "welche", "welcher", "zu", "zum", "zur", "von", "vom", "mit", "fur", "auf", "an", "am",
            "im", "in", "aus", "bei", "nach", "uber", "um", "bitte", "danke", "hallo", "ja",
            "nein", "noch", "auch", "schon", "so", "da", "dass", "ob", "wenn", "man", "gibt",
        ],
        Lang::Nl => &[
            "de", "het", "een", "en", "of", "maar", "niet", "ik", "jij", "je", "hij", "zij", "ze",
            "wij", "we", "jullie", "mij", "me", "mijn", "jouw", "uw", "zijn", "is", "ben", "bent",
            "was", "heb", "hebt", "heeft", "hebben", "kan", "kun", "kunt", "kunnen", "wil",
            "wilt", "willen", "moet", "mag", "hoe", "wat", "waar", "wanneer", "waarom", "wie",
            "welke", "te", "van", "voor", "met", "op", "in", "aan", "bij", "naar", "uit", "over",
            "om", "tot", "dat", "dit", "die", "er", "ook", "nog", "al", "dan", "hallo", "hoi",
            "bedankt", "dank", "graag", "alstublieft", "alsjeblieft", "ja", "nee",
        ],
        Lang::Sv => &[
            "och", "eller", "men", "inte", "jag", "du", "han", "hon", "den", "det", "vi", "ni",
            "de", "mig", "dig", "oss", "min", "mitt", "mina", "din", "ditt", "dina", "sin", "ar",
            "var", "har", "hade", "kan", "kunna", "vill", "ska", "skulle", "maste", "hur", "vad",
            "nar", "varfor", "vem", "vilken", "vilket", "att", "av", "for", "med", "pa", "till",
            "fran", "om", "som", "en", "ett", "hej", "tack", "ja", "nej", "ocksa", "redan", "sa",
            "da", "finns", "man",
        ],
        Lang::Ru => &[
            "и", "или", "но", "не", "нет", "я", "ты", "он", "она", "оно", "мы", "вы", "они",
            "меня", "мне", "мой", "моя", "мое", "мои", "моего", "моей", "твой", "ваш", "ваша",
            "ваше", "наш", "это", "этот", "эта", "то", "как", "что", "где", "когда", "почему",
            "зачем", "кто", "какой", "какая", "какие", "можно", "могу", "может", "хочу", "нужно",
            "надо", "быть", "есть", "был", "была", "во", "на", "со", "ко", "по", "об", "от", "до",
            "из", "за", "для", "при", "про", "ли", "же", "бы", "да", "здравствуйте", "привет",
            "спасибо", "пожалуйста", "еще", "уже",
        ],
        // A language loaded from a file: its marker words are its most common words.
        _ => crate::languages::get(lang).map_or(&[], |l| l.markers),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str, lang: Lang) -> Vec<String> {
        Question::new(text, lang)
            .map(|q| q.words.into_iter().map(|p| p.text).collect())
            .unwrap_or_default()
    }

    #[test]
    fn questions_keep_their_content_words() {
        assert_eq!(
            words("Can I pay with a gift card?", Lang::En),
            ["pay", "gift", "card"]
        );
        assert_eq!(
            words("Posso pagare con un buono regalo?", Lang::It),
            ["pagare", "buono", "regalo"]
        );
        assert_eq!(
            words("Kann ich mit einem Gutschein bezahlen?", Lang::De),
            ["gutschein", "bezahlen"]
        );
        assert!(Question::new("How? What?", Lang::En).is_none());
    }

    /// Function words are written as `normalize` leaves them, or they would never match.
    #[test]
    fn function_words_are_normalised() {
        for lang in Lang::ALL {
            for word in function_words(lang) {
                assert_eq!(lang::words(word), [*word], "{lang}: {word}");
            }
        }
    }
}
