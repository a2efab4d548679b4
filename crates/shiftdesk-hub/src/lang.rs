//! The six languages shiftdesk serves, and how a customer's language is recognised.
//!
//! Everything language-aware in the product (routing offers to workers who speak the language,
//! drafting a reply, the customer-facing handoff notice) keys on [`Lang`]. Detection has to work on
//! the short, informal messages customers actually send ("operatore", "Kan ik eerder betalen?"),
//! where a statistical detector alone is unreliable, so [`detect`] combines `whatlang` with a small
//! table of very common words per language, and falls back to what we already know about the
//! conversation when the text says too little. Text in a language the hub does not serve (Spanish,
//! Polish, French, ...) is not claimed by the served language nearest to it: both whatlang over all
//! its languages and the common words of a few such languages count against every served one.
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
    /// What stood between the word before and this one, as written (lowercased): "'" in
    /// "can't", ", " or " " elsewhere; for the first word, what came before it.
    pub glue: String,
}

/// The words `tokens[first..=last]` as the customer wrote them (lowercased), with what stood
/// between them ("can't afford", not "can t afford"); runs of white space become one space.
pub fn quote(tokens: &[Token], first: usize, last: usize) -> String {
    let mut out = String::new();
    for (i, t) in tokens[first..=last].iter().enumerate() {
        if i > 0 {
            let mut space = false;
            for c in t.glue.chars() {
                if c.is_whitespace() {
                    space = true;
                } else {
                    if space && !out.ends_with(' ') {
                        out.push(' ');
                    }
                    space = false;
                    out.push(c);
                }
            }
            if space && !out.ends_with(' ') {
                out.push(' ');
            }
        }
        out.push_str(&t.shown);
    }
    out
}

/// Split a text into [`Token`]s, using the same rules as [`normalize`].
pub fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let empty = || Token {
        norm: String::new(),
        shown: String::new(),
        glue: String::new(),
    };
    let mut current = empty();
    for c in text.chars().flat_map(char::to_lowercase) {
        match fold_char(c) {
            Folded::One(f) => current.norm.push(f),
            Folded::Two(a, b) => {
                current.norm.push(a);
                current.norm.push(b);
            }
            Folded::Space => {
                if !current.norm.is_empty() {
                    out.push(std::mem::replace(&mut current, empty()));
                }
                current.glue.push(c);
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
            "alla", "nel", "nella", "anticipo", "ricevuto", "buonasera", "rifiutata",
            "rifiutato", "accedere",
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
            "heute", "keine", "kein", "moin", "servus", "morgen", "abend", "abgelehnt",
            "passwort", "anmelden", "zuruck",
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
            "dat", "mij", "u", "je", "weer", "vandaag", "want", "nee", "ja", "goedemorgen",
            "goedemiddag", "goedenavond", "geweigerd", "afgewezen", "wachtwoord", "inloggen",
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
            "vadret", "idag", "fa", "tidigare", "flytta", "nej", "ja", "morgon", "hejsan",
            "tjena", "nekad", "nekades", "avvisad", "avvisades", "losenord", "logga",
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

/// Very common words of Latin-script languages a hub often does not serve, in [`normalize`]d form
/// (no accents, apostrophes split: "j'ai" is "j ai"). They count against every served language,
/// so that "quiero hablar con una persona" is not Italian for its "con una persona", nor "Dzien
/// dobry, zapomnialem hasla" German. A word a served language lists too ("con", "de", "je") is
/// split between them like any shared word. A language the hub serves (a loaded file whose
/// `detect` or English name is this language) drops its list here, with the words it shares with
/// another list ("dobry" when Polish is loaded): its own file's words count instead.
/// Words frequent in a served language but missing from [`MARKERS`] ("a", "i", "no", "se", "to",
/// "do") are left out: they would count against it.
#[rustfmt::skip]
const UNSERVED_MARKERS: [(whatlang::Lang, &[&str]); 5] = [
    (
        whatlang::Lang::Spa,
        &[
            "hola", "buenas", "buenos", "dias", "tardes", "gracias", "por", "favor", "quiero",
            "quisiera", "puedo", "puede", "necesito", "tengo", "hablar", "ayuda", "ayudar",
            "alguien", "persona", "con", "una", "un", "el", "los", "las", "del", "la", "de", "en",
            "es", "esta", "este", "estoy", "y", "que", "como", "cuando", "donde", "porque", "pero",
            "mi", "mis", "su", "muy", "mas", "todavia", "hace", "hago", "cuenta", "contrasena",
            "clave", "olvide", "entrar", "pago", "pagar", "cuota", "cuotas", "dinero", "tarjeta",
            "pedido", "compra", "reembolso", "devolucion", "fecha", "cobraron", "rechazada",
            "semana", "semanas", "mes", "para",
        ],
    ),
    (
        whatlang::Lang::Por,
        &[
            "ola", "oi", "bom", "boa", "dia", "tarde", "obrigado", "obrigada", "por", "favor",
            "quero", "gostaria", "preciso", "tenho", "consigo", "consegui", "falar", "ajuda",
            "alguem", "pessoa", "atendente", "com", "uma", "um", "dos", "das", "na", "de", "que",
            "como", "onde", "porque", "mas", "meu", "minha", "meus", "voce", "nao", "sim", "ainda",
            "foi", "esta", "estou", "faz", "conta", "senha", "esqueci", "entrar", "pagar",
            "parcela", "parcelas", "dinheiro", "cartao", "pedido", "compra", "reembolso",
            "devolvi", "devolucao", "vencimento", "recusado", "semanas", "mes", "cade", "para",
        ],
    ),
    (
        whatlang::Lang::Fra,
        &[
            "bonjour", "bonsoir", "salut", "merci", "svp", "je", "j", "veux", "voudrais", "peux",
            "pouvez", "parler", "quelqu", "aide", "aider", "personne", "conseiller", "mon", "ma",
            "mes", "le", "la", "les", "des", "du", "une", "un", "de", "est", "et", "pas", "ne", "n",
            "qu", "que", "qui", "ce", "ca", "pour", "avec", "sur", "dans", "mais", "ou",
            "pourquoi", "comment", "ai", "suis", "vous", "nous", "votre", "mot", "passe", "compte",
            "carte", "paiement", "payer", "remboursement", "rembourse", "commande", "colis",
            "oublie", "refusee", "refuse", "echeance", "prelevement", "mensualite", "plus", "tot",
            "encore", "toujours", "deja",
        ],
    ),
    (
        whatlang::Lang::Pol,
        &[
            "dzien", "dobry", "czesc", "witam", "dziekuje", "prosze", "nie", "jest", "czy",
            "moje", "moja", "moj", "moge", "mozna", "chce", "chcialbym", "chcialabym", "jak",
            "gdzie", "dlaczego", "kiedy", "sie", "mnie", "juz", "jeszcze", "z", "w", "na", "co",
            "za", "od", "ze", "bo", "ale", "tylko", "karta", "karty", "haslo", "hasla", "konta",
            "zapomnialem", "zapomnialam", "zaplacic", "platnosc", "platnosci", "raty", "zwrot",
            "pieniadze", "pieniedzy", "zamowienie", "zamowienia", "konsultant", "konsultantem",
            "czlowiek", "czlowiekiem", "rozmawiac", "pomoc", "przesunac", "robic", "zrobic", "mam",
            "nastepnej",
        ],
    ),
    (
        whatlang::Lang::Ces,
        &[
            "dobry", "dekuji", "dekuju", "prosim", "ahoj", "chci", "chtel", "chtela", "bych",
            "muzu", "mohu", "nemuzu", "nemohu", "jsem", "jsme", "je", "neni", "mam", "nemam",
            "moje", "muj", "moji", "na", "v", "ve", "z", "k", "ale", "jak", "kde", "proc", "kdy",
            "co", "uz", "jeste", "taky", "heslo", "hesla", "ucet", "uctu", "karta", "karty",
            "platba", "platbu", "zaplatit", "splatka", "splatku", "splatky", "splatnosti",
            "vraceni", "penez", "penize", "objednavka", "objednavku", "objednavkou", "pomoc",
            "clovek", "clovekem", "mluvit", "zapomnel", "zapomnela", "dalsi", "byla", "byl",
            "bylo", "nefunguje", "posunout", "vratil", "zbozi", "tydny", "pred",
        ],
    ),
];

/// Each word of [`UNSERVED_MARKERS`] with the languages that list it.
static UNSERVED_OWNERS: LazyLock<HashMap<&'static str, Vec<whatlang::Lang>>> =
    LazyLock::new(|| {
        let mut owners: HashMap<&'static str, Vec<whatlang::Lang>> = HashMap::new();
        for (lang, list) in UNSERVED_MARKERS {
            for word in list {
                let langs = owners.entry(word).or_default();
                if !langs.contains(&lang) {
                    langs.push(lang);
                }
            }
        }
        owners
    });

/// Letters (and marks) that none of the built-in Latin-script languages writes, with a language
/// that does, like [`LETTER_MARKERS`] but counting against the served languages.
const UNSERVED_LETTERS: [(char, whatlang::Lang, f32); 22] = [
    ('ñ', whatlang::Lang::Spa, 1.0),
    ('¿', whatlang::Lang::Spa, 1.0),
    ('¡', whatlang::Lang::Spa, 1.0),
    ('ã', whatlang::Lang::Por, 1.0),
    ('õ', whatlang::Lang::Por, 1.0),
    ('ç', whatlang::Lang::Por, 0.5),
    ('ç', whatlang::Lang::Fra, 0.5),
    ('œ', whatlang::Lang::Fra, 1.0),
    ('ł', whatlang::Lang::Pol, 1.0),
    ('ą', whatlang::Lang::Pol, 1.0),
    ('ę', whatlang::Lang::Pol, 1.0),
    ('ś', whatlang::Lang::Pol, 1.0),
    ('ż', whatlang::Lang::Pol, 1.0),
    ('ź', whatlang::Lang::Pol, 1.0),
    ('ń', whatlang::Lang::Pol, 1.0),
    ('ć', whatlang::Lang::Pol, 1.0),
    ('ř', whatlang::Lang::Ces, 1.0),
    ('ů', whatlang::Lang::Ces, 1.0),
    ('ě', whatlang::Lang::Ces, 1.0),
    ('č', whatlang::Lang::Ces, 1.0),
    ('š', whatlang::Lang::Ces, 1.0),
    ('ž', whatlang::Lang::Ces, 1.0),
];

/// Cyrillic letters Russian never writes (Ukrainian і ї є ґ, Belarusian ў), and the letters
/// Ukrainian never writes (Russian ы э ъ ё).
const NOT_RUSSIAN: [(char, whatlang::Lang); 5] = [
    ('і', whatlang::Lang::Ukr),
    ('ї', whatlang::Lang::Ukr),
    ('є', whatlang::Lang::Ukr),
    ('ґ', whatlang::Lang::Ukr),
    ('ў', whatlang::Lang::Bel),
];
const ONLY_RUSSIAN: [char; 4] = ['ы', 'э', 'ъ', 'ё'];

/// The whatlang languages the hub serves: the built-in ones, and each loaded one by its `detect`
/// code or, without one, by its English name ("Polish"), so that a loaded language is never
/// counted as one the hub does not serve.
fn served_whatlang(registry: &crate::languages::Registry) -> Vec<whatlang::Lang> {
    let mut served: Vec<whatlang::Lang> = Lang::ALL.into_iter().filter_map(whatlang_of).collect();
    for l in registry.loaded() {
        let by_name = || {
            whatlang::Lang::all()
                .iter()
                .copied()
                .find(|w| w.eng_name().eq_ignore_ascii_case(l.english_name))
        };
        served.extend(l.detect.or_else(by_name));
    }
    served
}

/// Detect the language of a customer message among the languages the hub serves; short or
/// unreliable text, and text in a language the hub does not serve, falls back to `hint`, then
/// English.
///
/// Cyrillic text is Russian (the only Cyrillic language we serve), unless it is written with
/// letters Russian does not have (Ukrainian `і`, `ї`, `є`). Latin text is scored per language
/// from three sources: whatlang's guess weighted by its confidence, common words of each
/// language, and letters like `å` or `ß`. The same three sources score "a language the hub does
/// not serve" as one more contender: whatlang's guess among all its languages when that is not a
/// served one (which also discounts its guess among the served ones), common words of Spanish,
/// Portuguese, French, Polish and Czech, and letters like `ñ` or `ł`. The winner must be a served
/// language with enough evidence and a clear margin over the runner-up; otherwise the
/// conversation's known language (`hint`) is kept, or English is assumed. The hint also gets a
/// small bonus so that a terse "ok" keeps the language.
pub fn detect(text: &str, hint: Option<Lang>) -> Lang {
    read_language(text, hint).0
}

/// The English name of the language `text` is clearly written in ("French") when the hub does
/// not serve it: it has enough evidence and a clear margin over every served language, the
/// conversation's `hint` included. `None` for text in a served language, or too short to tell.
/// The bot cannot read such a message (its words are matched against the served languages'
/// articles only by accident), so triage hands it to a person.
pub fn unserved(text: &str, hint: Option<Lang>) -> Option<&'static str> {
    read_language(text, hint).1
}

/// [`detect`] and [`unserved`] from one weighing of the evidence, for triage, which needs both.
pub fn read_language(text: &str, hint: Option<Lang>) -> (Lang, Option<&'static str>) {
    let verdict = weigh(text, hint);
    (
        verdict.served.or(hint).unwrap_or(Lang::En),
        verdict.unserved.map(|l| l.eng_name()),
    )
}

/// The language `text` is clearly written in, with no prior: `None` when the text says too
/// little (no letters, "ok", digits, a word shared by several languages) or is in a language the
/// hub does not serve. Used for customers who did not declare a language, where guessing English
/// would route them to the wrong people.
pub fn detect_clear(text: &str) -> Option<Lang> {
    weigh(text, None).served
}

/// What the evidence says about a text's language (see [`detect`]).
#[derive(Debug, Default)]
struct Verdict {
    /// The served language with enough evidence and a clear margin, if any.
    served: Option<Lang>,
    /// The language the hub does not serve that the text is clearly in, if any.
    unserved: Option<whatlang::Lang>,
}

/// Weigh the evidence for each served language and for "a language the hub does not serve".
fn weigh(text: &str, hint: Option<Lang>) -> Verdict {
    let (mut cyrillic, mut latin) = (0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        if ('\u{0400}'..='\u{04FF}').contains(&c) {
            cyrillic += 1;
        } else if c.is_ascii_alphabetic() || ('\u{00C0}'..='\u{024F}').contains(&c) {
            latin += 1;
        }
    }
    if cyrillic == 0 && latin == 0 {
        return Verdict::default();
    }
    // The languages of the text's script: Russian is the only built-in Cyrillic one, so
    // Cyrillic text is Russian unless a loaded language is Cyrillic too (or it is not Russian
    // at all, below).
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
    let served = served_whatlang(&registry);
    if candidates.len() == 1 {
        // Russian alone: the only question is whether the text is Russian at all. whatlang is
        // no help on short Russian (it often says Bulgarian or Ukrainian), letters are.
        let not_russian = |w: &&str| {
            NOT_RUSSIAN
                .iter()
                .any(|(c, lang)| !served.contains(lang) && w.contains(*c))
        };
        let lower = text.to_lowercase();
        let foreign = lower.split_whitespace().filter(not_russian).count();
        let russian = lower
            .split_whitespace()
            .filter(|w| w.contains(ONLY_RUSSIAN))
            .count();
        if foreign == 0 || russian >= foreign {
            return Verdict {
                served: candidates.first().copied(),
                unserved: None,
            };
        }
        let unserved = NOT_RUSSIAN
            .iter()
            .filter(|(c, lang)| !served.contains(lang) && lower.contains(*c))
            .map(|(_, lang)| *lang)
            .next();
        return Verdict {
            served: None,
            unserved,
        };
    }

    let mut evidence = vec![0f32; candidates.len()];
    // Evidence for "a language the hub does not serve", and how it splits among them.
    let mut unserved = 0f32;
    let mut unserved_by: Vec<(whatlang::Lang, f32)> = Vec::new();
    let mut count_for = |lang: whatlang::Lang, weight: f32| match unserved_by
        .iter_mut()
        .find(|(l, _)| *l == lang)
    {
        Some((_, w)) => *w += weight,
        None => unserved_by.push((lang, weight)),
    };
    let mut add = |lang: Lang, weight: f32| {
        if let Some(i) = candidates.iter().position(|l| *l == lang) {
            evidence[i] += weight;
        }
    };
    // whatlang among all its languages (of the text's script): when it names one outside the
    // allowlist, its guess within the allowlist is only the nearest language there, and counts
    // for what whatlang is unsure of; the rest counts for "unserved" when the hub does not serve
    // that language (a loaded language without `detect` is served, but gets no whatlang share).
    let allow: Vec<whatlang::Lang> = candidates.iter().filter_map(|l| whatlang_of(*l)).collect();
    let mut served_share = 1.0;
    if script == Script::Latin
        && let Some(info) = whatlang::detect(text)
        && !allow.contains(&info.lang())
    {
        let confidence = info.confidence() as f32;
        served_share = 1.0 - confidence;
        if !served.contains(&info.lang()) {
            unserved += WHATLANG_WEIGHT * confidence;
            count_for(info.lang(), WHATLANG_WEIGHT * confidence);
        }
    }
    if let Some(info) = whatlang::Detector::with_allowlist(allow).detect(text)
        && let Some(lang) = candidates
            .iter()
            .find(|l| whatlang_of(**l) == Some(info.lang()))
    {
        add(
            *lang,
            WHATLANG_WEIGHT * info.confidence() as f32 * served_share,
        );
    }
    let is_unserved = |lang: &whatlang::Lang| !served.contains(lang);
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
        let others = UNSERVED_OWNERS
            .get(word.as_str())
            .filter(|langs| script == Script::Latin && langs.iter().all(is_unserved));
        let share = 1.0 / (owners.len() + usize::from(others.is_some())).max(1) as f32;
        for lang in &owners {
            add(*lang, share);
        }
        if let Some(others) = others {
            unserved += share;
            for lang in others {
                count_for(*lang, share / others.len() as f32);
            }
        }
    }
    let lower = text.to_lowercase();
    for (letter, lang, weight) in LETTER_MARKERS {
        if lower.contains(letter) {
            add(lang, weight);
        }
    }
    for (letter, lang, weight) in UNSERVED_LETTERS {
        if script == Script::Latin && is_unserved(&lang) && lower.contains(letter) {
            unserved += weight;
            count_for(lang, weight);
        }
    }
    if let Some(hint) = hint {
        add(hint, HINT_BONUS);
    }

    let mut ranked: Vec<(Lang, f32)> = candidates.iter().copied().zip(evidence).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (best, best_score) = ranked[0];
    let runner_up = ranked[1].1.max(unserved);
    let clear = |score: f32, next: f32| score >= MIN_EVIDENCE && score - next >= MIN_MARGIN;
    Verdict {
        served: clear(best_score, runner_up).then_some(best),
        unserved: clear(unserved, best_score)
            .then(|| {
                unserved_by
                    .iter()
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(l, _)| *l)
            })
            .flatten(),
    }
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

    /// Messages in languages the hub does not serve, written the way customers write (no
    /// accents, typos, one word or a long sentence), including the tester's report.
    const UNSERVED: [(&str, &[&str]); 5] = [
        (
            "Spanish",
            &[
                "Hola, olvidé mi contraseña y no puedo entrar en mi cuenta",
                "quiero hablar con una persona",
                "hola olvide mi contrasena",
                "necesito ayuda con mi pedido",
                "no puedo pagar la cuota de este mes, que hago",
                "me cobraron dos veces la misma compra, quiero un reembolso",
                "hola buenas tardes, quisiera cambiar la fecha de pago de mi proxima cuota porque \
                 cobro el dia 5",
                "quiero hablar con alguien por favor",
                "mi tarjeta fue rechazada",
                "donde esta mi paquete",
                "necesito un humano ya",
                "gracias",
            ],
        ),
        (
            "Polish",
            &[
                "Dzień dobry, zapomniałem hasła do konta",
                "dzien dobry zapomnialem hasla",
                "chce rozmawiac z konsultantem",
                "nie moge zaplacic raty",
                "gdzie jest moj zwrot pieniedzy?",
                "Dzien dobry, chcialbym przesunac termin platnosci nastepnej raty, bo wyplate \
                 dostaje dopiero 10",
                "karta mi nie przechodzi, co robic",
                "prosze o kontakt z czlowiekiem",
                "pobrali mi pieniadze dwa razy",
                "dziekuje",
            ],
        ),
        (
            "Portuguese",
            &[
                "Olá, esqueci minha senha e não consigo entrar",
                "quero falar com uma pessoa",
                "ola esqueci a senha",
                "nao consigo pagar a parcela deste mes",
                "cade meu reembolso? ja devolvi o produto faz duas semanas",
                "meu cartao foi recusado, o que eu faco",
                "bom dia, gostaria de mudar a data de vencimento da proxima parcela para o dia 10 \
                 por favor",
                "oi, tudo bem? meu pagamento nao foi aprovado",
                "quero cancelar minha conta",
                "obrigado",
            ],
        ),
        (
            "French",
            &[
                "Bonjour, j'ai oublié mon mot de passe",
                "je veux parler a quelqu'un",
                "bonjour j ai oublie mon mot de passe",
                "je n'arrive pas a payer ma mensualite",
                "ou est mon remboursement? j'ai renvoye le colis il y a deux semaines",
                "ma carte a ete refusee",
                "est ce que je peux payer plus tot",
                "je voudrais changer la date de prelevement de ma prochaine echeance svp",
                "c'est urgent, on m'a debite deux fois",
                "merci",
            ],
        ),
        (
            "Czech",
            &[
                "Dobrý den, zapomněl jsem heslo",
                "chci mluvit s clovekem",
                "dobry den zapomnel jsem heslo k uctu",
                "nemuzu zaplatit splatku",
                "kde je moje vraceni penez? zbozi jsem vratil pred dvema tydny",
                "moje karta byla zamitnuta",
                "chtel bych posunout datum splatnosti dalsi splatky prosim",
                "strhli mi penize dvakrat",
                "kde je muj balik?",
                "dekuji",
            ],
        ),
    ];

    #[test]
    fn a_language_the_hub_does_not_serve_is_not_claimed_by_one_it_does() {
        for (language, texts) in UNSERVED {
            for text in texts {
                assert_eq!(detect_clear(text), None, "{language}: {text:?}");
                // Not detected: the default, or the language the conversation already had.
                assert_eq!(detect(text, None), Lang::En, "{language}: {text:?}");
                assert_eq!(
                    detect(text, Some(Lang::Sv)),
                    Lang::Sv,
                    "{language}: {text:?}"
                );
                // Named, unless too many of its words are words of served languages too
                // ("con una persona" is Italian as well): then it is only not detected.
                let unsure = [
                    "quiero hablar con una persona",
                    "pobrali mi pieniadze dwa razy",
                ];
                let named = (!unsure.contains(text)).then_some(language);
                assert_eq!(unserved(text, None), named, "{text:?}");
            }
        }
    }

    /// A phrase is quoted as written, with its apostrophes and commas, in any script.
    #[test]
    fn quotes_keep_what_stood_between_the_words() {
        let t = tokens("Well... I can't afford,  the Payment!");
        let words: Vec<&str> = t.iter().map(|t| t.shown.as_str()).collect();
        assert_eq!(words, ["well", "i", "can", "t", "afford", "the", "payment"]);
        assert_eq!(quote(&t, 2, 4), "can't afford");
        assert_eq!(quote(&t, 4, 6), "afford, the payment");
        assert_eq!(quote(&t, 0, 0), "well");
        let t = tokens("vorrei parlare con l'operatore");
        assert_eq!(quote(&t, 3, 4), "l'operatore");
    }

    /// What a served language says is never taken for an unserved one, even in a conversation
    /// with no language yet, and a greeting or a support word in one is that language.
    #[test]
    fn served_text_is_not_called_unserved() {
        let cases = [
            ("zahlung abgelehnt", Lang::De),
            ("moin", Lang::De),
            ("god morgon", Lang::Sv),
            ("goedemorgen", Lang::Nl),
            ("betaling geweigerd", Lang::Nl),
            ("betalningen nekades", Lang::Sv),
            ("buonasera", Lang::It),
            ("my card was refused", Lang::En),
            ("Не могу войти в аккаунт", Lang::Ru),
        ];
        for (text, want) in cases {
            assert_eq!(detect_clear(text), Some(want), "{text}");
            assert_eq!(unserved(text, None), None, "{text}");
        }
        assert_eq!(unserved("Не можу увійти в акаунт", None), Some("Ukrainian"));
        assert_eq!(unserved("carte refusée", Some(Lang::En)), Some("French"));
    }

    #[test]
    fn ukrainian_is_not_russian() {
        for text in [
            "Доброго дня, я забув пароль від акаунту",
            "де мої гроші? я повернув товар два тижні тому",
            "не можу оплатити наступний платіж",
            "Привіт, чи можна перенести дату платежу?",
        ] {
            assert_eq!(detect_clear(text), None, "{text:?}");
        }
        // A Ukrainian place name in Russian text does not make it Ukrainian.
        assert_eq!(
            detect_clear("Я живу в Києві, мой платёж не прошёл"),
            Some(Lang::Ru)
        );
    }

    #[test]
    fn served_languages_keep_the_words_they_share_with_unserved_ones() {
        let cases = [
            ("vorrei parlare con una persona", Lang::It),
            ("una persona per favore", Lang::It),
            ("la rata non è passata", Lang::It),
            ("mi serve aiuto con la carta", Lang::It),
            ("grazie mille", Lang::It),
            ("de betaling is mislukt", Lang::Nl),
            ("kun je me helpen met de app", Lang::Nl),
            ("dank je wel", Lang::Nl),
            ("det går inte att betala", Lang::Sv),
            ("die Karte wurde abgelehnt", Lang::De),
            ("is there a person I can talk to", Lang::En),
            ("Мне нужен оператор", Lang::Ru),
        ];
        for (text, want) in cases {
            assert_eq!(detect_clear(text), Some(want), "{text}");
        }
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
