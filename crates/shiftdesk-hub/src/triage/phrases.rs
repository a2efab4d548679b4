//! The built-in phrase lists triage looks for, in every built-in language: requests for a person
//! and words of the sensitive topics. Data more than code; kept apart so the rules in the parent
//! module read on one screen. Languages loaded from files bring their own lists (`crate::languages`).

use std::sync::LazyLock;

use super::SensitiveTopic;
use crate::drafting::keywords::Phrase;

fn compile(lists: &[&[&str]]) -> Vec<Phrase> {
    lists
        .iter()
        .flat_map(|list| list.iter())
        .map(|p| Phrase::pattern(p))
        .collect()
}

/// Requests for a person, in every language. Patterns are written as [`lang::normalize`] sees
/// text (lowercase, no diacritics: "kanner" for "känner"; "don t" for "don't"), though they are
/// normalised again when compiled. Words match exactly unless they end in `*`; at
/// most one other word may stand between two pattern words ("talk to a human" matches
/// "talk to human"). Keep patterns specific: a false match sends a routine question to a
/// person (safe, but costly); a missed one keeps a customer from a person (not acceptable).
#[rustfmt::skip]
pub(super) static PERSON_PATTERNS: LazyLock<Vec<Phrase>> = LazyLock::new(|| {
    compile(&[
        // English
        &[
            "human", "humans", "real person", "actual person", "live person", "a person",
            "real human", "real people", "agent", "agents", "live agent", "operator*",
            "representative*", "rep", "someone real", "speak to someone", "talk to someone",
            "speak with someone", "talk with someone", "speak to a person",
            "talk to customer service", "speak to customer service", "live chat", "not a bot",
            "not a robot", "no bot", "no bots", "stop the bot", "not the bot",
            "member of staff", "advisor", "adviser", "call me", "call me back", "put me through",
            "not a chatbot", "supervisor*", "manager*", "team leader", "team lead",
            "support staff", "staff member", "someone from support", "someone from your team",
            "someone from the team", "talk to support", "speak to support", "speak with support",
            "talk with support", "contact support", "customer support", "customer care",
            "support team", "someone who can help", "bot is useless", "useless bot",
            "stupid bot", "bot is not helping", "bot isn t helping", "bot doesn t help",
            "not helping", "doesn t help", "didn t help", "not helpful", "you re useless",
            "you are useless", "human being", "supervis*", "useless", "isn t helping",
            "isnt helping", "youre useless", "u r useless", "don t help", "dont help",
            "does not help", "pointless", "waste of time", "unhelpful", "sucks", "nobody is helping",
            "no one is helping", "helpdesk", "help desk", "chat with support", "support agent*",
            "reps", "robot", "boss", "real support",
            // Requests in languages the hub may not serve: a person, whatever the language.
            "konsultant*", "z czlowiekiem", "conseiller*", "une personne", "quelqu un",
            "atendente*", "falar com", "humano", "alguien real", "hablar con alguien",
        ],
        // Italian
        &[
            "operator*", "operatric*", "persona reale", "persona vera", "una persona", "un umano",
            "essere umano", "parlare con qualcuno", "parlare con una persona", "assistenza umana",
            "consulente", "addetto", "addetta", "un agente", "non un bot", "non voglio il bot",
            "carne e ossa", "farmi chiamare", "chiamarmi", "richiamarmi", "mi richiamate",
            "un collega", "vostro collega", "assistente umano", "responsabile", "supervisore",
            "manager", "bot inutile", "bot non serve", "non mi aiuta", "non mi sei utile",
            "servizio clienti", "assistenza clienti", "inutile", "non mi aiuti", "non aiuta",
            "staff", "un superiore", "tuo superiore", "vostro superiore", "col capo",
            "con il capo", "tuo capo", "vostro capo", "customer service",
        ],
        // German
        &[
            "mitarbeiter*", "einem menschen", "echten menschen", "echter mensch", "mensch sprechen",
            "menschen sprechen", "echte person", "echten person", "einer person", "berater*",
            "kundenberater*", "sachbearbeiter*", "mit dem kundendienst", "mit dem kundenservice",
            "mit jemandem", "kein bot", "keinen bot", "nicht mit einem bot", "nicht mit dem bot",
            "keinen chatbot", "anrufen", "zuruckrufen", "ruckruf", "kollege", "kollegin",
            "personlich", "vorgesetzt*", "teamleiter*", "supervisor*", "manager*", "chef",
            "bot ist nutzlos", "nutzlos* bot", "bot hilft nicht", "hilft mir nicht",
            "hilft nicht weiter", "mit dem support", "support sprechen", "kundenservice sprechen",
            "hilfst mir nicht", "sinnlos*", "keine hilfe", "nutzlos*", "einen menschen",
        ],
        // Dutch
        &[
            "medewerker*", "met een mens", "een mens", "echt mens", "echte mens", "echt persoon",
            "echte persoon", "met een persoon", "iemand spreken", "iemand praten", "met iemand",
            "met de klantenservice", "geen bot", "niet met een bot", "geen chatbot", "bellen",
            "terugbellen", "aan de lijn", "collega", "leidinggevende", "manager*",
            "supervisor*", "bot is nutteloos", "nutteloze bot", "bot helpt niet",
            "helpt me niet", "klantenservice spreken", "klantenservice", "waardeloo*",
            "nutteloos", "support spreken", "de support",
        ],
        // Swedish
        &[
            "handlaggare*", "manniska*", "manniskor", "riktig person", "verklig person",
            "prata med nagon", "tala med nagon", "prata med en person", "prata med kundtjanst",
            "prata med kundservice", "operator", "operatoren", "inte en bot", "ingen bot",
            "ringa mig", "ringa upp", "en person", "medarbetare", "kollega", "med en bot",
            "chef", "chefen", "arbetsledare", "supervisor", "manager", "botten ar vardelos",
            "vardelos bot", "botten hjalper inte", "hjalper inte", "vardelos*", "handledare",
            "med support*", "med supporten",
        ],
        // Russian
        &[
            "оператор*", "жив* человек*", "с человеком", "нужен человек", "позовите человека",
            "позвать человека", "реальн* человек*", "настоящ* человек*", "сотрудник*",
            "специалист*", "менеджер*", "консультант*", "с кем то", "с кем нибудь", "не бот",
            "не с ботом", "без бота", "позвонить", "перезвон*", "коллег*", "руководител*",
            "начальник*", "супервайзер*", "бот бесполез*", "бесполезн* бот*", "бот не помогает",
            "не помогает", "не помогло", "служб* поддержки", "поддержк* клиентов", "поддержк*",
            "техподдержк*", "не помогаете", "бесполезн*", "тупой бот", "старшего",
            "администратор*", "саппорт*",
        ],
    ])
});

/// Sensitive topics, in every language; same pattern rules as [`PERSON_PATTERNS`].
#[rustfmt::skip]
pub(super) static SENSITIVE_PATTERNS: LazyLock<Vec<(SensitiveTopic, Vec<Phrase>)>> = LazyLock::new(|| {
    vec![
        (
            SensitiveTopic::Fraud,
            compile(&[
                &[
                    "fraud*", "scam*", "don t recogni*", "do not recogni*", "didn t recogni*",
                    "dont recogni*", "unrecogni*", "didn t make this purchase",
                    "didn t make th* order", "not my purchase", "never ordered", "never bought",
                    "never made this", "unauthori*", "stolen", "identity theft", "someone used my",
                    "someone has used my", "hacked", "unknown charge*",
                ],
                &[
                    "frode", "frodi", "truff*", "non riconosco", "non l ho fatto io",
                    "non ho fatto io", "mai ordinato", "non autorizzat*", "rubat*", "furto",
                    "qualcuno ha usato", "hacker*", "violato", "addebito sconosciuto",
                    "addebit* non riconosciut*",
                ],
                &[
                    "betrug*", "betruger*", "betrogen", "abzocke", "erkenne ich nicht",
                    "erkenne* nicht", "nicht erkenn*", "kenne ich nicht", "nicht von mir",
                    "nie bestellt", "nicht bestellt", "nicht autorisiert*", "unautorisiert*",
                    "gestohlen", "geklaut", "identitatsdiebstahl", "jemand hat mein*", "gehackt",
                    "unbekannte abbuchung*", "fremde abbuchung*",
                ],
                &[
                    "fraude", "oplicht*", "opgelicht", "herken* ik niet", "herken* niet",
                    "niet herken*", "ken ik niet", "niet door mij", "nooit besteld", "niet besteld",
                    "niet geautoriseerd", "gestolen", "identiteitsfraude", "identiteitsdiefstal",
                    "iemand heeft mijn", "gehackt", "onbekende afschrijving*",
                    "heb ik niet gekocht", "niet gekocht",
                ],
                &[
                    "bedrageri*", "bedragare*", "lurad*", "kanner inte igen", "inte kanner igen",
                    "inte gjort det har kopet", "inte gjort kopet", "inte jag som",
                    "aldrig bestallt", "inte bestallt", "obehorig*", "stulen", "stulet", "stulna",
                    "stals", "identitetsstold", "nagon har anvant", "hackad*", "hackat",
                    "okand* betalning*", "okant kop", "okand dragning",
                ],
                &[
                    "мошенни*", "обман*", "не узнаю", "не совершал*", "не заказывал*",
                    "без моего ведома", "несанкционирован*", "украл*", "украден*", "кража",
                    "кто то воспользовал*", "взлом*", "неизвестн* списани*", "непонятн* списани*",
                    "чуж* покупк*",
                ],
            ]),
        ),
        (
            SensitiveTopic::Dispute,
            compile(&[
                &[
                    "dispute*", "never arrived", "hasn t arrived", "has not arrived",
                    "didn t arrive", "did not arrive", "not arrived", "never received",
                    "haven t received my order", "haven t received my package",
                    "haven t received my parcel", "haven t received the item*",
                    "not received my order", "never came", "not delivered", "never delivered",
                    "wrong item", "damaged", "faulty", "broken item", "not as described",
                    "merchant won t", "seller won t", "shop won t", "store won t",
                    "refuse* to refund", "won t refund", "will not refund", "merchant not respond*",
                    "merchant isn t respond*", "merchant is ignoring",
                ],
                &[
                    "contestazion*", "contestare", "disputa", "controversia", "mai arrivat*",
                    "non e arrivat*", "non mi e arrivat*", "non ho ricevuto l ordine",
                    "non ho ricevuto il pacco", "mai ricevut*", "non consegnat*",
                    "articolo sbagliato", "prodotto sbagliato", "danneggiat*", "difettos*",
                    "non corrisponde", "negozio non risponde", "venditore non risponde",
                ],
                &[
                    "reklamation", "reklamier*", "streitfall", "nie angekommen", "nicht angekommen",
                    "ware nicht erhalten", "bestellung nicht erhalten", "paket nicht erhalten",
                    "nie erhalten", "nicht geliefert", "nie geliefert", "keine lieferung",
                    "falsche* artikel", "falsche ware", "beschadigt*", "defekt*", "mangelhaft*",
                    "handler antwortet nicht", "handler reagiert nicht", "shop reagiert nicht",
                ],
                &[
                    "geschil*", "dispuut", "nooit aangekomen", "niet aangekomen", "niet ontvangen",
                    "nooit ontvangen", "niet geleverd", "nooit geleverd", "niet bezorgd",
                    "verkeerd* artikel", "beschadigd", "defect", "winkel reageert niet",
                    "verkoper reageert niet", "webshop reageert niet",
                ],
                &[
                    "tvist*", "reklamation", "reklamera", "aldrig kommit", "inte kommit",
                    "inte fatt paketet", "inte fatt min bestallning", "inte fatt varan",
                    "aldrig fatt", "inte levererad*", "inte levererats", "fel vara", "skadad*",
                    "trasig*", "defekt*", "butiken svarar inte", "handlaren svarar inte",
                    "saljaren svarar inte",
                ],
                &[
                    "спор", "оспорит*", "не пришел", "не пришла", "не пришло", "не доставлен*",
                    "не доставили", "не получил* заказ*", "не получил* товар*",
                    "не получил* посылк*", "не тот товар", "поврежден*", "сломан*", "бракован*",
                    "брак", "магазин не отвечает", "продавец не отвечает", "претензи*",
                ],
            ]),
        ),
        (
            SensitiveTopic::Hardship,
            compile(&[
                &[
                    "hardship", "financial difficult*", "financial problem*", "struggling to pay",
                    "struggling financially", "struggling with money", "can t afford",
                    "cannot afford", "can t pay anymore", "can t pay any more", "lost my job", "lost my income",
                    "unemployed", "no income", "no money", "out of work", "in debt", "debt",
                    "debts", "payment arrangement", "payment holiday", "behind on payments",
                    "money problems",
                ],
                &[
                    "difficolta economic*", "difficolta finanziari*", "difficolta a pagare",
                    "non riesco a pagare le rate", "non riesco piu a pagare",
                    "non ce la faccio", "perso il lavoro", "senza lavoro", "disoccupat*",
                    "licenziat*", "nessun reddito", "senza soldi", "non ho soldi",
                    "non ho piu soldi", "debiti", "indebitat*", "piano di rientro",
                    "problemi economic*", "in difficolta",
                ],
                &[
                    "finanzielle schwierigkeit*", "finanzielle probleme", "finanzielle not",
                    "geldprobleme", "geldsorgen", "kann die rate* nicht", "nicht leisten", "job verloren", "arbeit verloren",
                    "arbeitsplatz verloren", "arbeitslos*", "wurde gekundigt", "kein einkommen",
                    "kein geld", "schulden", "verschuldet", "zahlungsschwierigkeit*", "notlage",
                    "pleite", "zahlungsunfahig",
                ],
                &[
                    "financiele problemen", "financiele moeilijkheden", "geldproblemen",
                    "geldzorgen", "kan de termijn* niet", "baan kwijt", "werk kwijt", "ontslagen", "werkloos",
                    "geen inkomen", "geen geld", "schulden", "betalingsregeling", "schuldhulp*",
                    "moeite met betalen", "krap bij kas",
                ],
                &[
                    "ekonomiska svarigheter", "ekonomiska problem",
                    "klarar inte av att betala", "har inte rad", "forlorat jobbet",
                    "forlorat mitt jobb", "blivit uppsagd", "uppsagd", "arbetslos", "ingen inkomst",
                    "inga pengar", "skulder", "skuldsatt", "svart att betala", "kronofogden",
                    "pank", "betalningsuppgorelse",
                ],
                &[
                    "финансов* трудност*", "финансов* проблем*", "трудное положение",
                    "тяжел* ситуац*", "нечем платить", "нет денег", "потерял* работу", "уволили", "без работы",
                    "безработ*", "нет дохода", "долги", "долгов", "в долгах", "кредитные каникулы",
                    "реструктуризац*",
                ],
            ]),
        ),
        (
            SensitiveTopic::Complaint,
            compile(&[
                &[
                    "complaint*", "complain*", "unacceptable", "terrible service", "awful service",
                    "worst service", "poor service", "bad service", "shocking service", "disgust*",
                    "disgraceful", "very unhappy", "ombudsman", "rude", "escalate",
                ],
                &[
                    "reclam*", "lamentel*", "lamentar*", "inaccettabile", "servizio pessimo",
                    "pessimo servizio", "vergognos*", "scandalos*", "insoddisfatt*", "maleducat*",
                    "scortes*", "vergogna",
                ],
                &[
                    "beschwerde*", "beschweren", "unverschamt*", "inakzeptabel",
                    "schlechter service", "miserabler service", "frechheit", "unzufrieden",
                    "ombudsmann", "schlichtungsstelle", "unhoflich", "skandal*", "katastrophal",
                ],
                &[
                    "klacht*", "klagen", "onacceptabel", "slechte service", "waardeloze service",
                    "waardeloos", "schandalig", "belachelijk", "ontevreden", "ombudsman",
                    "geschillencommissie", "kifid", "onbeleefd",
                ],
                &[
                    "klagomal", "klaga", "oacceptabel*", "dalig service", "usel service",
                    "skandal*", "missnojd", "arn", "otrevlig*", "bedrovlig*",
                ],
                &[
                    "жалоб*", "пожаловат*", "неприемлем*", "ужасн* сервис", "ужасн* обслуживани*",
                    "плох* обслуживани*", "безобрази*", "возмутительн*", "возмущ*", "недовол*",
                    "омбудсмен*", "финансов* уполномоченн*", "хамств*", "нагруб*",
                ],
            ]),
        ),
        (
            SensitiveTopic::Bereavement,
            compile(&[
                &[
                    "passed away", "has died", "had died", "he died", "she died", "who died",
                    "recently died", "mother died", "father died", "husband died", "wife died",
                    "mum died", "dad died", "son died", "daughter died", "partner died",
                    "death in the family", "deceased", "funeral", "bereave*", "my late husband",
                    "my late wife", "my late mother", "my late father", "my late mum",
                    "my late dad", "death certificate", "next of kin", "lost my husband",
                    "lost my wife", "lost my mother", "lost my father", "lost my mum",
                    "lost my dad", "lost my son", "lost my daughter", "lost my partner",
                ],
                &[
                    "morto", "morta", "deceduto", "deceduta", "decesso", "venut* a mancare",
                    "ci ha lasciat*", "lutto", "funerale", "certificato di morte", "defunt*",
                ],
                &[
                    "verstorben*", "gestorben", "ist tot", "tod", "todesfall", "verstarb",
                    "beerdigung", "trauerfall", "sterbeurkunde", "nachlass", "hinterbliebene*",
                ],
                &[
                    "overleden", "gestorven", "overlijden*", "overlijdensakte", "begrafenis",
                    "uitvaart", "rouw", "nabestaande*", "nalatenschap",
                ],
                &[
                    "gatt bort", "gick bort", "mamma dog", "pappa dog", "mor dog", "far dog",
                    "man dog", "fru dog", "maken dog", "frun dog", "dog nyligen", "dog forra",
                    "dog igar", "avliden", "avled", "har dott", "dod", "dodsfall*", "begravning",
                    "dodsbo*", "dodsbevis", "dodsfallsintyg", "efterlevande",
                ],
                &[
                    "умер", "умерла", "умерли", "скончал*", "смерт*", "похорон*",
                    "свидетельство о смерти", "наследств*", "умерш*", "покойн*", "не стало",
                    "погиб*",
                ],
            ]),
        ),
    ]
});

/// "I can't pay", in every language: financial hardship, unless the message says a payment
/// failed ([`TECHNICAL_PATTERNS`]): "ich kann nicht bezahlen, es kommt immer ein Fehler" is a
/// declined payment, and a person is not needed for it. Words of hardship itself ("lost my
/// job", "debts") are in [`SENSITIVE_PATTERNS`] and always count.
#[rustfmt::skip]
pub(super) static CANNOT_PAY_PATTERNS: LazyLock<Vec<Phrase>> = LazyLock::new(|| {
    compile(&[
        &[
            "can t pay my", "cannot pay my", "cant pay my", "can t pay this", "cannot pay this",
            "can t pay next", "unable to pay", "can t make my payment*",
            "can t make the payment*",
        ],
        &["non posso pagare"],
        &["kann nicht zahlen", "kann nicht bezahlen"],
        &["kan niet betalen", "kan het niet betalen"],
        &["kan inte betala"],
        &["не могу платить", "не могу заплатить", "не могу оплатить"],
    ])
});

/// A payment that failed for a technical reason: an error message, a decline.
#[rustfmt::skip]
pub(super) static TECHNICAL_PATTERNS: LazyLock<Vec<Phrase>> = LazyLock::new(|| {
    compile(&[
        &[
            "error*", "declined", "rejected", "won t go through", "doesn t go through",
            "didn t go through", "not working", "doesn t work", "keeps failing", "failed",
        ],
        &["errore", "errori", "rifiutat*", "non funziona", "non va a buon fine"],
        &[
            "fehler*", "fehlermeldung*", "abgelehnt", "funktioniert nicht", "geht nicht durch",
        ],
        &["fout*", "foutmelding*", "error", "geweigerd", "afgewezen", "werkt niet"],
        &[
            "fel", "felmeddelande*", "error", "nekad*", "nekas", "funkar inte",
            "fungerar inte", "gar inte igenom",
        ],
        &["ошибк*", "отклон*", "не работает", "не проходит", "не прошел", "не прошла"],
    ])
});
