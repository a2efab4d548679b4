//! The built-in drafter: a reply from the best-matching knowledge-base article.
//!
//! [`KbDrafter`] wraps the article's answer in a greeting and a closing in the customer's
//! language (plainer ones for sensitive topics), and asks a clarifying question when no article
//! fits. It reads the conversation: an article the bot already answered with before a person
//! took over is never proposed again (the customer read it and still asked for a person); the
//! draft then acknowledges it and follows up personally. It is the default drafter, so shiftdesk drafts with no model server, and the model
//! drafter falls back to it. It lives apart from the knowledge base it reads so that the phrase
//! tables and the choice of article on regenerate are kept (and tested) on their own; as a child
//! of `kb` it may still read the context search that the knowledge base keeps private.

use std::sync::Arc;

use super::{KnowledgeBase, Match};
use crate::drafting::{DraftProposal, DraftRequest, Drafter};
use crate::lang::Lang;

/// Below this score an article is not worth drafting from; the drafter asks a question instead.
const MIN_DRAFT_SCORE: f32 = 0.3;
/// Earlier messages count for less than the message being answered.
const HISTORY_WEIGHT: f32 = 0.85;
/// How many earlier messages are read for context.
const HISTORY_DEPTH: usize = 2;
/// Confidence reported with a clarifying question.
pub(crate) const CLARIFY_CONFIDENCE: f32 = 0.1;
/// Confidence reported with a personal follow-up to the bot's answer: the right kind of reply,
/// but the worker has to add what they find in the customer's case.
const FOLLOW_UP_CONFIDENCE: f32 = 0.5;

/// Drafts a reply from the best-matching knowledge-base article: a greeting in the customer's
/// language, the article's answer, and a closing line. This is the default drafter, so that
/// shiftdesk works with no model server; its confidence is the retrieval score.
#[derive(Debug, Clone)]
pub struct KbDrafter {
    kb: Arc<KnowledgeBase>,
}

impl KbDrafter {
    pub fn new(kb: Arc<KnowledgeBase>) -> Self {
        KbDrafter { kb }
    }

    /// A drafter over the built-in articles.
    pub fn builtin() -> Self {
        Self::new(Arc::new(KnowledgeBase::builtin()))
    }

    /// The knowledge base it drafts from.
    pub fn knowledge_base(&self) -> &KnowledgeBase {
        &self.kb
    }

    /// Candidate articles for a request, best first: the message alone, or the message read
    /// together with the last few earlier messages (weighted down), whichever fits better.
    pub(crate) fn candidates(&self, req: &DraftRequest<'_>) -> Vec<Match> {
        let skip = req.history.len().saturating_sub(HISTORY_DEPTH);
        let (mut best, in_context) =
            self.kb
                .search_in_context(&req.history[skip..], req.text, req.language);
        if let Some(in_context) = in_context {
            for mut m in in_context {
                m.score *= HISTORY_WEIGHT;
                match best.iter_mut().find(|b| b.article_id == m.article_id) {
                    Some(existing) if existing.score >= m.score => {}
                    Some(existing) => *existing = m,
                    None => best.push(m),
                }
            }
            best.sort_by(|a, b| b.score.total_cmp(&a.score));
        }
        best.retain(|m| m.score >= MIN_DRAFT_SCORE);
        best
    }
}

impl Drafter for KbDrafter {
    fn name(&self) -> &str {
        "kb"
    }

    fn parallel_drafts(&self) -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    /// Attempt `n` uses the `n`-th best candidate article; once every candidate has been
    /// offered, it starts again with the next greeting and closing, so every regenerate gives
    /// the worker a different text.
    fn draft(&self, req: &DraftRequest<'_>) -> DraftProposal {
        let sent = req.bot_sent();
        if !sent.is_empty() {
            return self.follow_up(req, &sent);
        }
        let lang = req.language;
        let attempt = req.attempt as usize;
        let candidates = self.candidates(req);
        // Search only finds articles written in the customer's language.
        let chosen = (!candidates.is_empty())
            .then(|| &candidates[attempt % candidates.len()])
            .and_then(|m| self.kb.article(&m.article_id).map(|a| (m, a)))
            .and_then(|(m, a)| a.answer(lang).map(|answer| (m, a, answer)));
        match chosen {
            Some((m, article, answer)) => {
                let variant = attempt / candidates.len();
                self.article_draft(req, m, article, answer, variant)
            }
            None => self.clarifying(lang, attempt),
        }
    }
}

impl KbDrafter {
    /// The draft after the bot already answered with the articles `sent`: never one of those
    /// again. Articles the message itself (not the earlier ones, which the bot answered) asks
    /// about come first; then a personal follow-up that names the last article sent.
    fn follow_up(&self, req: &DraftRequest<'_>, sent: &[&str]) -> DraftProposal {
        let lang = req.language;
        let attempt = req.attempt as usize;
        let alone = DraftRequest {
            history: &[],
            ..*req
        };
        let others: Vec<Match> = self
            .candidates(&alone)
            .into_iter()
            .filter(|m| !sent.contains(&m.article_id.as_str()))
            .collect();
        // What regenerate goes through: the articles the message clearly asks about (as sure
        // as triage needs to answer), the follow-up, then the weaker matches.
        let (strong, weak): (Vec<&Match>, Vec<&Match>) = others
            .iter()
            .partition(|m| m.score >= crate::triage::LOW_CONFIDENCE);
        let slots: Vec<Option<&Match>> = strong
            .into_iter()
            .map(Some)
            .chain([None])
            .chain(weak.into_iter().map(Some))
            .collect();
        let variant = attempt / slots.len();
        if let Some(Some(m)) = slots.get(attempt % slots.len())
            && let Some(article) = self.kb.article(&m.article_id)
            && let Some(answer) = article.answer(lang)
        {
            return self.article_draft(req, m, article, answer, variant);
        }
        let last = sent.last().and_then(|id| self.kb.article(id));
        let topic = last
            .and_then(|a| a.title(lang).or_else(|| a.title(Lang::En)))
            .or(sent.last().copied())
            .unwrap_or_default();
        let text = match follow_ups(lang) {
            Some(lines) => pick(lines, variant).replace("{topic}", topic),
            // A loaded language without follow-up lines: a greeting, then ask what is needed.
            None => format!(
                "{}\n\n{}",
                pick(greetings(lang), variant),
                pick(clarifying_questions(lang), variant)
            ),
        };
        DraftProposal {
            text,
            confidence: FOLLOW_UP_CONFIDENCE,
            intent: last.map_or_else(|| "unknown".to_string(), |a| a.intent.clone()),
            language: lang,
            sources: Vec::new(),
            drafter: self.name().to_string(),
            model: None,
            latency_ms: None,
        }
    }

    /// A draft from one article's answer, between a greeting and a closing. Once a person has
    /// written to the customer, the conversation is under way: no greeting again.
    fn article_draft(
        &self,
        req: &DraftRequest<'_>,
        m: &Match,
        article: &super::Article,
        answer: &str,
        variant: usize,
    ) -> DraftProposal {
        let lang = req.language;
        let (greeting, closing) = if article.sensitive {
            (gentle_greetings(lang), gentle_closings(lang))
        } else {
            (greetings(lang), closings(lang))
        };
        let closing = pick(closing, variant);
        let text = if req.agent_replied() {
            format!("{answer}\n\n{closing}")
        } else {
            format!("{}\n\n{answer}\n\n{closing}", pick(greeting, variant))
        };
        DraftProposal {
            text,
            confidence: m.score.clamp(0.0, 1.0),
            intent: article.intent.clone(),
            language: lang,
            sources: vec![article.id.clone()],
            drafter: self.name().to_string(),
            model: None,
            latency_ms: None,
        }
    }

    /// Asked when no article fits.
    fn clarifying(&self, lang: Lang, attempt: usize) -> DraftProposal {
        DraftProposal {
            text: pick(clarifying_questions(lang), attempt).to_string(),
            confidence: CLARIFY_CONFIDENCE,
            intent: "unknown".to_string(),
            language: lang,
            sources: Vec::new(),
            drafter: self.name().to_string(),
            model: None,
            latency_ms: None,
        }
    }
}

fn pick(options: &'static [&'static str], n: usize) -> &'static str {
    options
        .get(n % options.len().max(1))
        .copied()
        .unwrap_or_default()
}

/// Opening lines of a draft, one set per language.
fn greetings(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::En => &[
            "Hi, thanks for getting in touch!",
            "Hello, and thanks for your message.",
            "Hi there, happy to help with that.",
        ],
        Lang::It => &[
            "Ciao, grazie per averci contattato!",
            "Ciao, e grazie per il tuo messaggio.",
            "Ciao, ti aiuto volentieri.",
        ],
        Lang::De => &[
            "Hallo, danke, dass du dich meldest!",
            "Hallo und danke für deine Nachricht.",
            "Hallo, da helfe ich dir gern weiter.",
        ],
        Lang::Nl => &[
            "Hoi, bedankt voor je bericht!",
            "Hallo, en bedankt dat je contact opneemt.",
            "Hoi, ik help je daar graag mee.",
        ],
        Lang::Sv => &[
            "Hej, tack för att du hör av dig!",
            "Hej och tack för ditt meddelande.",
            "Hej, jag hjälper dig gärna med det.",
        ],
        Lang::Ru => &[
            "Здравствуйте, спасибо за обращение!",
            "Здравствуйте и спасибо за ваше сообщение.",
            "Здравствуйте, с радостью помогу.",
        ],
        _ => crate::languages::get(lang).map_or_else(|| greetings(Lang::En), |l| l.greetings),
    }
}

/// Closing lines of a draft, one set per language.
fn closings(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::En => &[
            "Is there anything else I can help you with?",
            "Let me know if you have any other questions.",
            "I hope that helps. Anything else I can do for you?",
        ],
        Lang::It => &[
            "Posso aiutarti con qualcos'altro?",
            "Fammi sapere se hai altre domande.",
            "Spero di esserti stato utile. Posso fare altro per te?",
        ],
        Lang::De => &[
            "Kann ich dir sonst noch helfen?",
            "Melde dich gern, wenn du noch Fragen hast.",
            "Ich hoffe, das hilft dir weiter. Kann ich sonst noch etwas für dich tun?",
        ],
        Lang::Nl => &[
            "Kan ik je ergens anders mee helpen?",
            "Laat het me weten als je nog vragen hebt.",
            "Ik hoop dat dit helpt. Kan ik nog iets anders voor je doen?",
        ],
        Lang::Sv => &[
            "Finns det något mer jag kan hjälpa dig med?",
            "Hör av dig om du har fler frågor.",
            "Jag hoppas att det hjälper. Är det något mer jag kan göra för dig?",
        ],
        Lang::Ru => &[
            "Могу ли я помочь вам чем-то ещё?",
            "Если у вас остались вопросы, напишите нам.",
            "Надеюсь, это поможет. Чем ещё я могу вам помочь?",
        ],
        _ => crate::languages::get(lang).map_or_else(|| closings(Lang::En), |l| l.closings),
    }
}

/// Opening lines for sensitive topics (a death, fraud, money worries): plain, not cheerful.
fn gentle_greetings(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::En => &["Hello,", "Hello, and thank you for writing to us."],
        Lang::It => &["Ciao,", "Ciao, e grazie per averci scritto."],
        Lang::De => &["Hallo,", "Hallo, und danke, dass du uns schreibst."],
        Lang::Nl => &["Hallo,", "Hallo, en bedankt dat je ons schrijft."],
        Lang::Sv => &["Hej,", "Hej, och tack för att du skriver till oss."],
        Lang::Ru => &["Здравствуйте.", "Здравствуйте, спасибо, что написали нам."],
        _ => crate::languages::get(lang)
            .map_or_else(|| gentle_greetings(Lang::En), |l| l.gentle_greetings),
    }
}

/// Closing lines for sensitive topics: no "anything else?", just that we are there.
fn gentle_closings(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::En => &[
            "I'm here if you have any questions.",
            "Take your time, and write to us whenever you're ready.",
        ],
        Lang::It => &[
            "Sono qui se hai domande.",
            "Prenditi tutto il tempo che ti serve e scrivici quando vuoi.",
        ],
        Lang::De => &[
            "Ich bin für dich da, wenn du Fragen hast.",
            "Lass dir Zeit und schreib uns, wann immer du so weit bist.",
        ],
        Lang::Nl => &[
            "Ik ben er als je vragen hebt.",
            "Neem de tijd en schrijf ons wanneer je er klaar voor bent.",
        ],
        Lang::Sv => &[
            "Jag finns här om du har frågor.",
            "Ta den tid du behöver och skriv till oss när du är redo.",
        ],
        Lang::Ru => &[
            "Если у вас есть вопросы, я на связи.",
            "Не торопитесь и напишите нам, когда будете готовы.",
        ],
        _ => crate::languages::get(lang)
            .map_or_else(|| gentle_closings(Lang::En), |l| l.gentle_closings),
    }
}

/// A draft's opening after the bot already answered with an article (`{topic}`, its title):
/// acknowledges it and follows up personally. `None` for a loaded language that gives none.
fn follow_ups(lang: Lang) -> Option<&'static [&'static str]> {
    Some(match lang {
        Lang::En => &[
            "Hi, I see the assistant already sent you our article “{topic}”, and that didn't fully answer your question. Let me look at your case personally: could you tell me what is still unclear, or what happened when you tried?",
            "Hello, thanks for your patience. You've already read our article “{topic}”, so I won't repeat it. Let me look into your case personally: what exactly do you need, and which purchase is it about?",
        ],
        Lang::It => &[
            "Ciao, vedo che l'assistente ti ha già inviato il nostro articolo «{topic}», ma non ha risolto del tutto la tua domanda. Guardo personalmente il tuo caso: puoi dirmi cosa non è ancora chiaro, o cosa è successo quando ci hai provato?",
            "Ciao, grazie per la pazienza. Hai già letto il nostro articolo «{topic}», quindi non te lo ripeto. Me ne occupo personalmente: di cosa hai bisogno esattamente, e a quale acquisto si riferisce?",
        ],
        Lang::De => &[
            "Hallo, ich sehe, dass der Assistent dir schon unseren Artikel „{topic}“ geschickt hat und dir das nicht ganz weitergeholfen hat. Ich schaue mir deinen Fall persönlich an: Was ist noch unklar, oder was ist passiert, als du es versucht hast?",
            "Hallo, danke für deine Geduld. Unseren Artikel „{topic}“ kennst du schon, den wiederhole ich nicht. Ich kümmere mich persönlich darum: Was genau brauchst du, und um welchen Einkauf geht es?",
        ],
        Lang::Nl => &[
            "Hoi, ik zie dat de assistent je ons artikel “{topic}” al heeft gestuurd en dat je daarmee nog niet helemaal geholpen bent. Ik bekijk je situatie persoonlijk: wat is er nog onduidelijk, of wat gebeurde er toen je het probeerde?",
            "Hallo, bedankt voor je geduld. Ons artikel “{topic}” heb je al gelezen, dus dat herhaal ik niet. Ik zoek het persoonlijk voor je uit: wat heb je precies nodig, en om welke aankoop gaat het?",
        ],
        Lang::Sv => &[
            "Hej, jag ser att assistenten redan har skickat vår artikel ”{topic}” till dig och att det inte riktigt besvarade din fråga. Jag tittar på ditt ärende personligen: vad är fortfarande oklart, eller vad hände när du försökte?",
            "Hej, tack för ditt tålamod. Vår artikel ”{topic}” har du redan läst, så jag upprepar den inte. Jag tar hand om det personligen: vad behöver du exakt, och vilket köp gäller det?",
        ],
        Lang::Ru => &[
            "Здравствуйте! Вижу, что ассистент уже отправил вам нашу статью «{topic}», но это не полностью ответило на ваш вопрос. Я лично разберусь в вашей ситуации: расскажите, что осталось непонятным или что произошло, когда вы попробовали?",
            "Здравствуйте, спасибо за терпение. Статью «{topic}» вы уже прочитали, поэтому не буду её повторять. Я лично займусь вашим вопросом: что именно вам нужно и о какой покупке идёт речь?",
        ],
        _ => {
            return crate::languages::get(lang)
                .map(|l| l.followup)
                .filter(|lines| !lines.is_empty());
        }
    })
}

/// Asked when no article fits: invites the customer to say more, with examples of what we can
/// help with.
fn clarifying_questions(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::En => &[
            "Thanks for your message! Could you tell me a bit more about what you need help with? For example, is it about a payment, a refund, a due date or your account?",
            "I want to make sure I understand you correctly. Could you describe the problem in a bit more detail, and which purchase it is about?",
        ],
        Lang::It => &[
            "Grazie per il messaggio! Puoi dirmi qualcosa in più su cosa ti serve? Ad esempio, riguarda un pagamento, un rimborso, una scadenza o il tuo account?",
            "Voglio essere sicuro di aver capito bene. Puoi descrivere il problema con qualche dettaglio in più e dirmi a quale acquisto si riferisce?",
        ],
        Lang::De => &[
            "Danke für deine Nachricht! Kannst du mir etwas genauer sagen, wobei ich dir helfen kann? Geht es zum Beispiel um eine Zahlung, eine Rückerstattung, einen Fälligkeitstermin oder dein Konto?",
            "Ich möchte sichergehen, dass ich dich richtig verstehe. Kannst du das Problem etwas genauer beschreiben und mir sagen, um welchen Einkauf es geht?",
        ],
        Lang::Nl => &[
            "Bedankt voor je bericht! Kun je iets meer vertellen over waar je hulp bij nodig hebt? Gaat het bijvoorbeeld om een betaling, een terugbetaling, een vervaldatum of je account?",
            "Ik wil zeker weten dat ik je goed begrijp. Kun je het probleem wat uitgebreider beschrijven en zeggen om welke aankoop het gaat?",
        ],
        Lang::Sv => &[
            "Tack för ditt meddelande! Kan du berätta lite mer om vad du behöver hjälp med? Gäller det till exempel en betalning, en återbetalning, ett förfallodatum eller ditt konto?",
            "Jag vill vara säker på att jag förstår dig rätt. Kan du beskriva problemet lite mer detaljerat och vilket köp det gäller?",
        ],
        Lang::Ru => &[
            "Спасибо за сообщение! Расскажите, пожалуйста, подробнее, с чем вам нужна помощь? Например, вопрос касается платежа, возврата денег, даты платежа или вашего аккаунта?",
            "Хочу убедиться, что правильно вас понял. Опишите, пожалуйста, проблему чуть подробнее и укажите, о какой покупке идёт речь.",
        ],
        _ => crate::languages::get(lang)
            .map_or_else(|| clarifying_questions(Lang::En), |l| l.clarifying),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drafting::{Speaker, Turn};

    fn request<'a>(
        text: &'a str,
        language: Lang,
        history: &'a [String],
        attempt: u32,
    ) -> DraftRequest<'a> {
        DraftRequest {
            text,
            language,
            history,
            transcript: &[],
            attempt,
        }
    }

    #[test]
    fn draft_uses_the_best_article_then_the_next_on_regenerate() {
        let drafter = KbDrafter::builtin();
        // Matches pay-early ("settle", "remaining balance") best, payment-plans ("next
        // payment") second.
        let text = "can I settle the remaining balance? and when is my next payment?";
        let first = drafter.draft(&request(text, Lang::En, &[], 0));
        let second = drafter.draft(&request(text, Lang::En, &[], 1));
        assert_eq!(first.sources, ["pay-early"]);
        assert_eq!(second.sources, ["payment-plans"]);
        assert!(second.confidence <= first.confidence);
        // After the last candidate it wraps round to the best one, worded differently.
        let third = drafter.draft(&request(text, Lang::En, &[], 2));
        assert_eq!(third.sources, first.sources);
        assert_ne!(third.text, first.text);
    }

    #[test]
    fn draft_reads_earlier_messages_for_context() {
        let drafter = KbDrafter::builtin();
        let history = vec!["I sent my order back to the shop last week".to_string()];
        let alone = drafter.draft(&request("how long will it take?", Lang::En, &[], 0));
        assert_eq!(alone.intent, "unknown");
        let with_context = drafter.draft(&request("how long will it take?", Lang::En, &history, 0));
        assert_eq!(with_context.sources, ["refunds-returns"]);
        assert!(with_context.confidence < 0.6, "context counts for less");
    }

    /// Once a person has written to the customer, a draft does not greet them again (an
    /// outside tester's worker got "Hi, thanks for getting in touch!" mid-conversation).
    #[test]
    fn a_draft_after_the_workers_reply_does_not_greet_again() {
        let drafter = KbDrafter::builtin();
        let text = "and how do I pay off the rest early?";
        let first = drafter.draft(&request(text, Lang::En, &[], 0));
        assert!(first.text.starts_with("Hi, thanks"), "{}", first.text);
        let transcript = [
            Turn::new(Speaker::Customer, "my payment was declined"),
            Turn::new(Speaker::Agent, "Sorry about that, it went through now."),
            Turn::new(Speaker::Customer, text),
        ];
        let later = drafter.draft(&DraftRequest {
            transcript: &transcript,
            ..request(text, Lang::En, &[], 0)
        });
        assert_eq!(later.sources, first.sources);
        let answer = KnowledgeBase::builtin()
            .article(&later.sources[0])
            .and_then(|a| a.answer(Lang::En))
            .expect("answer")
            .to_string();
        assert!(later.text.starts_with(&answer), "{}", later.text);
    }

    #[test]
    fn sensitive_drafts_open_gently() {
        let drafter = KbDrafter::builtin();
        let draft = drafter.draft(&request("my mother passed away", Lang::En, &[], 0));
        assert_eq!(draft.sources, ["bereavement"]);
        assert!(
            draft.text.starts_with("Hello,\n\nI'm so sorry"),
            "{}",
            draft.text
        );
        assert!(!draft.text.contains("anything else"), "{}", draft.text);
        let again = drafter.draft(&request("my mother passed away", Lang::En, &[], 1));
        assert_ne!(again.text, draft.text);
    }

    /// A conversation where the bot answered `question` with `article`, then the customer
    /// wrote `then`.
    fn after_bot_answer(
        question: &str,
        article: &str,
        lang: Lang,
        then: &str,
    ) -> (Vec<String>, Vec<crate::drafting::Turn>) {
        use crate::drafting::{Speaker, Turn};
        let kb = KnowledgeBase::builtin();
        let answer = kb
            .article(article)
            .and_then(|a| a.answer(lang))
            .expect("built-in article in every language");
        let transcript = vec![
            Turn::new(Speaker::Customer, question),
            Turn {
                speaker: Speaker::Bot,
                text: answer.to_string(),
                sources: vec![article.to_string()],
            },
            Turn::new(Speaker::Customer, then),
        ];
        (vec![question.to_string()], transcript)
    }

    #[test]
    fn after_the_bot_answered_the_draft_acknowledges_it_in_every_language() {
        let drafter = KbDrafter::builtin();
        let kb = KnowledgeBase::builtin();
        let article = kb.article("move-due-date").expect("article");
        let cases = [
            (
                Lang::En,
                "How can I move my due date?",
                "that doesn't help, I want a person",
                "I see the assistant already sent you",
            ),
            (
                Lang::It,
                "Come posso spostare la data di scadenza?",
                "non mi aiuta, voglio parlare con una persona",
                "vedo che l'assistente ti ha già inviato",
            ),
            (
                Lang::De,
                "Wie kann ich den Fälligkeitstermin verschieben?",
                "das hilft mir nicht, ich will mit einem Menschen sprechen",
                "dass der Assistent dir schon",
            ),
            (
                Lang::Nl,
                "Hoe kan ik mijn vervaldatum verplaatsen?",
                "dat helpt niet, ik wil een medewerker",
                "ik zie dat de assistent je",
            ),
            (
                Lang::Sv,
                "Hur flyttar jag förfallodagen?",
                "det hjälper inte, jag vill prata med en människa",
                "jag ser att assistenten redan",
            ),
            (
                Lang::Ru,
                "Как перенести дату платежа?",
                "это не помогло, хочу поговорить с оператором",
                "Вижу, что ассистент уже",
            ),
        ];
        for (lang, question, then, acknowledges) in cases {
            let (history, transcript) = after_bot_answer(question, "move-due-date", lang, then);
            let answer = article.answer(lang).expect("answer");
            let title = article.title(lang).expect("title");
            for attempt in 0..3 {
                let req = DraftRequest {
                    text: then,
                    language: lang,
                    history: &history,
                    transcript: &transcript,
                    attempt,
                };
                let draft = drafter.draft(&req);
                assert!(
                    !draft.sources.iter().any(|s| s == "move-due-date"),
                    "{lang} #{attempt}: {draft:?}"
                );
                assert!(
                    !draft.text.contains(answer),
                    "{lang} #{attempt}: {}",
                    draft.text
                );
                assert!(
                    draft.text.contains(title),
                    "{lang} #{attempt}: {}",
                    draft.text
                );
                assert_eq!(draft.language, lang);
                if attempt == 0 {
                    assert!(draft.text.contains(acknowledges), "{lang}: {}", draft.text);
                }
            }
        }
    }

    #[test]
    fn after_the_bot_answered_a_new_question_still_gets_its_article() {
        let drafter = KbDrafter::builtin();
        let then = "ok, and can I pay off the remaining balance early?";
        let (history, transcript) = after_bot_answer(
            "How can I move my due date?",
            "move-due-date",
            Lang::En,
            then,
        );
        let draft = drafter.draft(&DraftRequest {
            text: then,
            language: Lang::En,
            history: &history,
            transcript: &transcript,
            attempt: 0,
        });
        assert_eq!(draft.sources, ["pay-early"], "{draft:?}");
    }

    #[test]
    fn draft_proposal_serializes_language_as_code() {
        let drafter = KbDrafter::builtin();
        let draft = drafter.draft(&request("Kan ik eerder betalen?", Lang::Nl, &[], 0));
        let json = serde_json::to_value(&draft).expect("serialize");
        assert_eq!(json["language"], "nl");
        assert_eq!(json["drafter"], "kb");
        assert_eq!(json["intent"], "pay_early");
    }
}
