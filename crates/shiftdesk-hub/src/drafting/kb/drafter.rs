//! The built-in drafter: a reply from the best-matching knowledge-base article.
//!
//! [`KbDrafter`] wraps the article's answer in a greeting and a closing in the customer's
//! language (plainer ones for sensitive topics), and asks a clarifying question when no article
//! fits. It answers the customer's latest message, read with the few before it, and reads the
//! conversation: an article the customer already has (the bot answered with it before a person
//! took over, or a worker sent its answer) is never proposed again, and no draft is a text the
//! worker or the bot already sent. The first reply after the bot's article, to a message still
//! about it, acknowledges it and follows up personally. It is the default drafter, so
//! shiftdesk drafts with no model server, and the model drafter falls back to it. It lives
//! apart from the knowledge base it reads so that the phrase tables and the choice of article
//! on regenerate are kept (and tested) on their own; as a child of `kb` it may still read the
//! context search that the knowledge base keeps private.

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

    /// The drafts worth offering, in order (see [`KbDrafter::plan`]), each in every wording:
    /// attempt `n` is the `n`-th of them that the customer has not already been sent, so every
    /// regenerate gives the worker a different text, and none is a text the worker or the bot
    /// already sent in this conversation.
    fn draft(&self, req: &DraftRequest<'_>) -> DraftProposal {
        let attempt = req.attempt as usize;
        let sent: Vec<String> = req.already_sent().map(normalized).collect();
        let plan = self.plan(req);
        // When every planned text was sent already: the clarifying questions in every wording.
        for slots in [plan.as_slice(), &[Slot::Clarify { first: 0 }]] {
            // Each kind's wordings that the customer has not been sent.
            let wordings: Vec<Vec<DraftProposal>> = slots
                .iter()
                .map(|slot| {
                    let mut fresh: Vec<DraftProposal> = Vec::new();
                    for variant in 0..WORDINGS {
                        if let Some(draft) = self.render(req, slot, variant)
                            && !repeats(&sent, &draft.text)
                            && !fresh.iter().any(|f| f.text == draft.text)
                        {
                            fresh.push(draft);
                        }
                    }
                    fresh
                })
                .collect();
            // Regenerate goes round the kinds, each in its next wording.
            let mut offered: Vec<&DraftProposal> = Vec::new();
            for round in 0..WORDINGS {
                for draft in wordings.iter().filter_map(|w| w.get(round)) {
                    if !offered.iter().any(|o| o.text == draft.text) {
                        offered.push(draft);
                    }
                }
            }
            if !offered.is_empty() {
                return offered[attempt % offered.len()].clone();
            }
        }
        // Unreachable in practice (a clarifying question in six wordings, all sent already).
        self.clarifying(req, 0, attempt)
    }
}

/// One kind of draft the drafter can offer.
#[derive(Debug, Clone)]
enum Slot {
    /// The answer of a matching article.
    Article(Match),
    /// A personal follow-up that acknowledges the bot's last article.
    FollowUp,
    /// A question asking the customer to say more, from the `first`-th of the questions.
    Clarify { first: usize },
    /// Thanks for the details, the worker is looking into it.
    LookingIntoIt,
}

/// How many of a message's words an article must match to count as the message's topic when
/// it scores below [`MIN_DRAFT_SCORE`].
const TOPIC_WORDS: usize = 2;

/// How many wordings of one kind of draft are tried: the greetings, closings, follow-ups and
/// clarifying questions each come in two or three, so six goes through every combination.
const WORDINGS: usize = 6;

/// `text` compared loosely: case, spacing and line breaks do not count.
fn normalized(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A draft `text` is a repeat when the customer was already sent it, on its own or as part of a
/// longer message (a worker who added a line to a draft still sent the draft), or when it
/// contains a whole message they were sent (a sentence or more: not a mere "ok").
fn repeats(sent: &[String], text: &str) -> bool {
    let text = normalized(text);
    !text.is_empty()
        && sent.iter().any(|s| {
            s.contains(&text) || (s.chars().count() >= WHOLE_MESSAGE_CHARS && text.contains(s))
        })
}

/// A message sent to the customer at least this long counts as repeated when a draft contains
/// it.
const WHOLE_MESSAGE_CHARS: usize = 40;

impl KbDrafter {
    /// What to offer for a request, best first; regenerate goes through it in order.
    ///
    /// Articles the customer already has are never offered: those the bot answered with (the
    /// customer read them and still asked for a person) and those whose answer a worker sent.
    /// The newest message leads: it is read alone and with the last few earlier ones.
    ///
    /// Right after the bot's article (no person has replied since), a message that is still
    /// about that article (nothing else fits it better) gets a personal follow-up that
    /// acknowledges the article; the articles the message clearly asks about (as sure as triage
    /// needs to answer) come before it, weaker matches after it. A message about something
    /// else gets the articles about that. Once a person has replied, the acknowledgement is
    /// never offered again. With no article to offer, a clarifying question.
    fn plan(&self, req: &DraftRequest<'_>) -> Vec<Slot> {
        let bot_sent = req.bot_sent();
        let known = self.articles_sent(req, &bot_sent);
        let new = |m: &Match| !known.contains(&m.article_id.as_str());
        let mut slots: Vec<Slot> = Vec::new();
        if !bot_sent.is_empty() && req.first_reply_after_bot() {
            // The articles the bot answered with already explain the earlier messages: the
            // message is read alone.
            let alone = self.kb.search(req.text, req.language);
            let about_sent = alone
                .iter()
                .filter(|m| bot_sent.contains(&m.article_id.as_str()))
                .map(|m| m.score)
                .fold(0.0, f32::max);
            // The message names a topic of its own when another article fits it better than
            // the bot's, on enough of its words: one word ("help", "someone") is not a topic.
            let moved_on = alone.iter().filter(|m| new(m)).any(|m| {
                m.score > about_sent
                    && (m.score >= MIN_DRAFT_SCORE || m.matched.len() >= TOPIC_WORDS)
            });
            let others: Vec<&Match> = alone
                .iter()
                .filter(|m| new(m) && m.score >= MIN_DRAFT_SCORE)
                .collect();
            let (strong, weak): (Vec<&Match>, Vec<&Match>) = others
                .into_iter()
                .partition(|m| m.score >= crate::triage::LOW_CONFIDENCE);
            slots.extend(strong.into_iter().cloned().map(Slot::Article));
            if !moved_on {
                slots.push(Slot::FollowUp);
            }
            slots.extend(weak.into_iter().cloned().map(Slot::Article));
        } else {
            slots.extend(
                self.candidates(req)
                    .into_iter()
                    .filter(|m| new(m))
                    .map(Slot::Article),
            );
        }
        if slots.is_empty() {
            // Nothing to answer from. A message that names a topic, if not surely enough to
            // answer (a double charge), is asked for details, not what it is about. Once a
            // person has written, a customer who gives details (an order number, a date, an
            // amount) is told the worker is looking into it rather than asked again;
            // otherwise a question not asked yet comes first.
            let topic = self
                .kb
                .search(req.text, req.language)
                .iter()
                .any(|m| m.matched.len() >= TOPIC_WORDS);
            slots.push(Slot::Clarify {
                first: usize::from(topic),
            });
            if req.agent_replied() {
                let details = req.text.chars().any(|c| c.is_ascii_digit());
                slots.insert(usize::from(!details), Slot::LookingIntoIt);
            }
        }
        slots
    }

    /// The articles the customer already has: `bot_sent`, and those whose answer a worker
    /// sent (on its own or inside a longer reply).
    fn articles_sent<'a>(&'a self, req: &DraftRequest<'_>, bot_sent: &[&'a str]) -> Vec<&'a str> {
        let from_agents: Vec<String> = req
            .transcript
            .iter()
            .filter(|t| t.speaker == crate::drafting::Speaker::Agent)
            .map(|t| normalized(&t.text))
            .collect();
        let mut known = bot_sent.to_vec();
        if from_agents.is_empty() {
            return known;
        }
        for article in self.kb.articles() {
            let sent = article
                .answer(req.language)
                .is_some_and(|answer| repeats(&from_agents, answer));
            if sent && !known.contains(&article.id.as_str()) {
                known.push(&article.id);
            }
        }
        known
    }

    /// One kind of draft in its `variant`-th wording; `None` for an article with no answer in
    /// the customer's language (search only finds articles written in it, so in practice
    /// never).
    fn render(&self, req: &DraftRequest<'_>, slot: &Slot, variant: usize) -> Option<DraftProposal> {
        match slot {
            Slot::Article(m) => {
                let article = self.kb.article(&m.article_id)?;
                let answer = article.answer(req.language)?;
                Some(self.article_draft(req, m, article, answer, variant))
            }
            Slot::FollowUp => Some(self.follow_up(req, variant)),
            Slot::Clarify { first } => Some(self.clarifying(req, *first, variant)),
            Slot::LookingIntoIt => {
                let lines = looking_into_it(req.language)?;
                Some(DraftProposal {
                    text: pick(lines, variant).to_string(),
                    ..self.clarifying(req, 0, 0)
                })
            }
        }
    }

    /// A personal follow-up to the bot's last article: acknowledges it by its title and asks
    /// what is still unclear.
    fn follow_up(&self, req: &DraftRequest<'_>, variant: usize) -> DraftProposal {
        let lang = req.language;
        let sent = req.bot_sent();
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

    /// Asked when no article fits: the questions one by one, starting with the `first`-th
    /// (the general "what do you need help with?" is 0; asking for the details of a problem the
    /// customer named is 1). Further wordings (when the plain ones were already sent) put a
    /// greeting, or once a person has written, the other question, before one.
    fn clarifying(&self, req: &DraftRequest<'_>, first: usize, variant: usize) -> DraftProposal {
        let lang = req.language;
        let questions = clarifying_questions(lang);
        let question = pick(questions, first + variant);
        let text = if variant < questions.len() {
            question.to_string()
        } else {
            let opening = if req.agent_replied() {
                pick(questions, first + variant + 1)
            } else {
                pick(greetings(lang), variant)
            };
            format!("{opening}\n\n{question}")
        };
        DraftProposal {
            text,
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

/// Said to a customer who gave the details a person asked for, when no article fits: thanks,
/// and the worker is looking into it. `None` for a loaded language (it has no such lines).
fn looking_into_it(lang: Lang) -> Option<&'static [&'static str]> {
    Some(match lang {
        Lang::En => &[
            "Thank you, that helps. I'm looking into it now and will get back to you here shortly.",
            "Thanks for the details. Let me check this for you; I'll write to you here as soon as I know more.",
        ],
        Lang::It => &[
            "Grazie, così mi è più chiaro. Ci sto guardando adesso e ti rispondo qui a breve.",
            "Grazie per i dettagli. Controllo subito e ti scrivo qui appena ne so di più.",
        ],
        Lang::De => &[
            "Danke, das hilft mir weiter. Ich schaue mir das jetzt an und melde mich gleich hier bei dir.",
            "Danke für die Details. Ich prüfe das für dich und schreibe dir hier, sobald ich mehr weiß.",
        ],
        Lang::Nl => &[
            "Bedankt, daar heb ik wat aan. Ik bekijk het nu en laat je hier zo snel mogelijk iets weten.",
            "Bedankt voor de details. Ik zoek het voor je uit en stuur je hier een bericht zodra ik meer weet.",
        ],
        Lang::Sv => &[
            "Tack, det hjälper. Jag tittar på det nu och återkommer till dig här inom kort.",
            "Tack för informationen. Jag kollar upp det åt dig och skriver här så snart jag vet mer.",
        ],
        Lang::Ru => &[
            "Спасибо, это помогает. Я сейчас всё проверю и скоро отвечу вам здесь.",
            "Спасибо за подробности. Я разберусь и напишу вам здесь, как только что-то узнаю.",
        ],
        _ => return None,
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
