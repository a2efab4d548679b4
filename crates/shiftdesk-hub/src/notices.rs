//! System lines the customer sees, in their language.

use crate::lang::Lang;

/// "{name} has joined the conversation."
pub fn joined(lang: Lang, name: &str) -> String {
    match lang {
        Lang::En => format!("{name} has joined the conversation."),
        Lang::It => format!("{name} si è unito/a alla conversazione."),
        Lang::De => format!("{name} ist dem Gespräch beigetreten."),
        Lang::Nl => format!("{name} neemt nu deel aan het gesprek."),
        Lang::Sv => format!("{name} har anslutit till samtalet."),
        Lang::Ru => format!("{name} присоединился(-ась) к разговору."),
        _ => match crate::languages::get(lang) {
            Some(l) => l.joined.replace("{name}", name),
            None => joined(Lang::En, name),
        },
    }
}

/// The closing line when a worker resolves a conversation.
pub fn resolved(lang: Lang) -> String {
    match lang {
        Lang::En => "This conversation is resolved. Thank you for contacting us!",
        Lang::It => "Questa conversazione è stata risolta. Grazie per averci contattato!",
        Lang::De => "Dieses Gespräch ist abgeschlossen. Danke, dass du uns kontaktiert hast!",
        Lang::Nl => "Dit gesprek is afgerond. Bedankt voor je bericht!",
        Lang::Sv => "Det här ärendet är löst. Tack för att du kontaktade oss!",
        Lang::Ru => "Этот разговор завершён. Спасибо, что обратились к нам!",
        _ => {
            return crate::languages::get(lang)
                .map_or_else(|| resolved(Lang::En), |l| l.resolved.to_string());
        }
    }
    .to_string()
}

/// Greeting when a conversation opens.
pub fn welcome(lang: Lang) -> String {
    match lang {
        Lang::En => "Hi! I'm the assistant. How can I help? You can ask for a person at any time.",
        Lang::It => "Ciao! Sono l'assistente. Come posso aiutarti? Puoi chiedere di una persona in qualsiasi momento.",
        Lang::De => "Hallo! Ich bin der Assistent. Wie kann ich helfen? Du kannst jederzeit nach einem Menschen fragen.",
        Lang::Nl => "Hallo! Ik ben de assistent. Waarmee kan ik helpen? Je kunt altijd om een medewerker vragen.",
        Lang::Sv => "Hej! Jag är assistenten. Hur kan jag hjälpa dig? Du kan när som helst be att få prata med en människa.",
        Lang::Ru => "Здравствуйте! Я ассистент. Чем могу помочь? Вы в любой момент можете попросить оператора.",
        _ => return crate::languages::get(lang).map_or_else(|| welcome(Lang::En), |l| l.welcome.to_string()),
    }
    .to_string()
}

/// The bot's answer to a message that only says hello ("hi", "buongiorno"): what the customer
/// needs. A language loaded from a file says it with its first clarifying line.
/// Said to a customer who may harm themselves ([`crate::triage::SensitiveTopic::Crisis`]),
/// before the queue line: where to get help now, without waiting for a person. Numbers differ
/// by country, so it names the emergency number and the local crisis line, not a number.
#[rustfmt::skip]
pub fn crisis(lang: Lang) -> String {
    match lang {
        Lang::It => "Se sei in pericolo o pensi di farti del male, chiama subito il numero di emergenza (112) o una linea di ascolto: non sei solo. Una persona del nostro team ti risponde a breve.",
        Lang::De => "Wenn du in Gefahr bist oder daran denkst, dir etwas anzutun, ruf bitte sofort den Notruf (112) oder die Telefonseelsorge an: Du bist nicht allein. Ein Mensch aus unserem Team meldet sich gleich.",
        Lang::Nl => "Ben je in gevaar of denk je erover jezelf iets aan te doen, bel dan meteen het alarmnummer (112) of een hulplijn: je staat er niet alleen voor. Iemand van ons team reageert zo.",
        Lang::Sv => "Om du är i fara eller tänker skada dig själv, ring genast larmnumret (112) eller en stödlinje: du är inte ensam. En person i vårt team svarar snart.",
        Lang::Ru => "Если вам угрожает опасность или вы думаете причинить себе вред, сразу позвоните в экстренную службу (112) или на линию помощи: вы не одни. Сотрудник нашей команды скоро ответит.",
        _ => "If you are in danger or thinking about harming yourself, please call your local emergency number or a crisis line now: you are not alone. A person from our team will answer shortly.",
    }
    .to_string()
}

pub fn what_about(lang: Lang) -> String {
    match lang {
        Lang::En => "Hello! What can I help you with? Tell me in a few words, or ask for a person at any time.",
        Lang::It => "Ciao! Di cosa hai bisogno? Scrivimelo in poche parole, oppure chiedi di una persona quando vuoi.",
        Lang::De => "Hallo! Wobei kann ich dir helfen? Schreib es mir in ein paar Worten, oder frag jederzeit nach einem Menschen.",
        Lang::Nl => "Hallo! Waarmee kan ik je helpen? Vertel het in een paar woorden, of vraag altijd om een medewerker.",
        Lang::Sv => "Hej! Vad kan jag hjälpa dig med? Beskriv det med några ord, eller be att få prata med en människa när du vill.",
        Lang::Ru => "Здравствуйте! Чем могу помочь? Опишите вопрос в нескольких словах или попросите оператора в любой момент.",
        _ => {
            return crate::languages::get(lang)
                .and_then(|l| l.clarifying.first())
                .map_or_else(|| what_about(Lang::En), |line| line.to_string());
        }
    }
    .to_string()
}

/// The bot's answer to a message that only thanks it: glad to help, anything else? A language
/// loaded from a file says it with its first closing line.
pub fn anything_else(lang: Lang) -> String {
    match lang {
        Lang::En => "You're welcome! Is there anything else I can help with? You can also ask for a person.",
        Lang::It => "Prego! Posso aiutarti con qualcos'altro? Puoi anche chiedere di una persona.",
        Lang::De => "Gern geschehen! Kann ich dir sonst noch helfen? Du kannst auch nach einem Menschen fragen.",
        Lang::Nl => "Graag gedaan! Kan ik je nog ergens anders mee helpen? Je kunt ook om een medewerker vragen.",
        Lang::Sv => "Varsågod! Kan jag hjälpa dig med något annat? Du kan också be att få prata med en människa.",
        Lang::Ru => "Пожалуйста! Могу ли я помочь чем-то ещё? Вы также можете попросить оператора.",
        _ => {
            return crate::languages::get(lang)
                .and_then(|l| l.closings.first())
                .map_or_else(|| anything_else(Lang::En), |line| line.to_string());
        }
    }
    .to_string()
}

/// The bot's clarifying question when two articles fit about equally well, naming both by
/// their titles: "do you mean “Moving a due date” or “How Pay in 3 and Pay in 4 work”?". A
/// language loaded from a file says it with its `lines.which_one` (`{first}`, `{second}`), or
/// else with its first clarifying line followed by the two titles.
pub fn which_one(lang: Lang, first: &str, second: &str) -> String {
    match lang {
        Lang::En => format!(
            "Just to be sure I answer the right question: do you mean “{first}” or “{second}”?"
        ),
        Lang::It => format!(
            "Per essere sicuro di rispondere alla domanda giusta: intendi «{first}» oppure «{second}»?"
        ),
        Lang::De => {
            format!("Damit ich die richtige Frage beantworte: Meinst du „{first}“ oder „{second}“?")
        }
        Lang::Nl => format!(
            "Om zeker te zijn dat ik de juiste vraag beantwoord: bedoel je “{first}” of “{second}”?"
        ),
        Lang::Sv => format!(
            "För att vara säker på att jag svarar på rätt fråga: menar du ”{first}” eller ”{second}”?"
        ),
        Lang::Ru => format!(
            "Чтобы ответить на правильный вопрос, уточните: вы имеете в виду «{first}» или «{second}»?"
        ),
        _ => match crate::languages::get(lang) {
            Some(l) => match l.which_one {
                Some(template) => template
                    .replace("{first}", first)
                    .replace("{second}", second),
                None => {
                    let ask = l.clarifying.first().copied().unwrap_or_default();
                    format!("{ask} (“{first}” / “{second}”)")
                        .trim_start()
                        .to_string()
                }
            },
            None => which_one(Lang::En, first, second),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_one_names_both_topics_in_every_built_in_language() {
        for lang in Lang::ALL {
            let q = which_one(lang, "AAA", "BBB");
            assert!(q.contains("AAA") && q.contains("BBB"), "{lang}: {q}");
            assert!(q.ends_with('?'), "{lang}: {q}");
        }
    }
}
