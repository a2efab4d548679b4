//! A draft answers the customer's latest message, read with the conversation so far, and never
//! proposes a text the worker or the bot already sent in the conversation. The built-in drafter
//! is called directly, with the transcript the hub gives it.
//!
//! Both cases come from an outside tester: after the bot's article a customer raised a double
//! charge, and every draft still acknowledged the bot's article and asked what was unclear,
//! even once the customer had given the order and the charge; and a worker who had sent the
//! clarifying question was offered exactly that question again for the customer's answer.

use shiftdesk_hub::drafting::kb::{KbDrafter, KnowledgeBase};
use shiftdesk_hub::drafting::{DraftProposal, DraftRequest, Drafter, Speaker, Turn};
use shiftdesk_hub::lang::Lang;

/// The draft for the customer's last line in `transcript`, as the hub asks for it: the
/// customer's earlier lines as history.
fn draft(drafter: &KbDrafter, lang: Lang, transcript: &[Turn], attempt: u32) -> DraftProposal {
    let (last, earlier) = transcript.split_last().expect("a transcript");
    assert_eq!(last.speaker, Speaker::Customer);
    let history: Vec<String> = earlier
        .iter()
        .filter(|t| t.speaker == Speaker::Customer)
        .map(|t| t.text.clone())
        .collect();
    drafter.draft(&DraftRequest {
        text: &last.text,
        language: lang,
        history: &history,
        transcript,
        attempt,
    })
}

fn bot_answer(kb: &KnowledgeBase, article: &str, lang: Lang) -> Turn {
    Turn {
        speaker: Speaker::Bot,
        text: kb
            .article(article)
            .and_then(|a| a.answer(lang))
            .expect("built-in article")
            .to_string(),
        sources: vec![article.to_string()],
    }
}

const DOUBLE_CHARGE: &str = "I was charged twice for the same order, I need to talk to someone";
const ORDER_DETAILS: &str =
    "Order 12345 from ShoeShop, my card 4111 1111 1111 1111 was charged twice on 3 Dec.";

/// Case A, the first reply: the customer's message is about a double charge, not about the
/// payment plans the bot answered, so the draft does not acknowledge that article (and asks
/// about the charge); a message still about the article does get the acknowledgement.
#[test]
fn a_new_topic_after_the_bots_article_is_not_met_with_the_acknowledgement() {
    let drafter = KbDrafter::builtin();
    let kb = drafter.knowledge_base();
    let after = |then: &str| {
        [
            Turn::new(Speaker::Customer, "How do payment plans work?"),
            bot_answer(kb, "payment-plans", Lang::En),
            Turn::new(Speaker::Customer, then),
        ]
    };
    for attempt in 0..3 {
        let first = draft(&drafter, Lang::En, &after(DOUBLE_CHARGE), attempt);
        assert!(
            !first.text.contains("already sent you")
                && !first.text.contains("already read")
                && !first.text.contains("Pay in 3"),
            "#{attempt}: the draft follows the double charge, not the bot's article: {first:?}"
        );
        assert!(first.sources.is_empty(), "#{attempt}: {first:?}");
    }
    let still = draft(
        &drafter,
        Lang::En,
        &after("that doesn't help, I need to talk to someone"),
        0,
    );
    assert!(still.text.contains("already sent you"), "{still:?}");
    assert!(
        still.text.contains("How Pay in 3 and Pay in 4 work"),
        "{still:?}"
    );
}

/// Case A, the next reply: once the worker has answered, the customer's details are answered,
/// not met with the acknowledgement of the bot's article (or the worker's own reply) again.
#[test]
fn after_the_workers_reply_the_customers_details_lead_the_draft() {
    let drafter = KbDrafter::builtin();
    let kb = drafter.knowledge_base();
    let question = [
        Turn::new(Speaker::Customer, "How do payment plans work?"),
        bot_answer(kb, "payment-plans", Lang::En),
        Turn::new(Speaker::Customer, DOUBLE_CHARGE),
    ];
    // Whatever the worker was offered and sent for the double charge.
    let sent = draft(&drafter, Lang::En, &question, 0).text;
    let mut transcript = question.to_vec();
    transcript.push(Turn::new(Speaker::Agent, sent.clone()));
    transcript.push(Turn::new(Speaker::Customer, ORDER_DETAILS));
    for attempt in 0..4 {
        let next = draft(&drafter, Lang::En, &transcript, attempt);
        assert_ne!(next.text, sent, "#{attempt} repeats the worker's reply");
        assert!(
            !next.text.contains("already sent you") && !next.text.contains("already read"),
            "#{attempt} acknowledges the bot's article again: {next:?}"
        );
        assert!(
            !next.sources.iter().any(|s| s == "payment-plans"),
            "#{attempt}: {next:?}"
        );
        if attempt == 0 {
            assert!(
                !next.text.contains('?'),
                "the customer gave the order and the charge: not asked again: {next:?}"
            );
        }
    }

    // Even when the worker sent the acknowledgement, the next draft does not send it again.
    let mut transcript = question.to_vec();
    let acknowledgement = "Hi, I see the assistant already sent you our article “How Pay in 3 \
                           and Pay in 4 work”, and that didn't fully answer your question.";
    transcript.push(Turn::new(Speaker::Agent, acknowledgement));
    transcript.push(Turn::new(Speaker::Customer, ORDER_DETAILS));
    let next = draft(&drafter, Lang::En, &transcript, 0);
    assert!(!next.text.contains("already sent you"), "{next:?}");
    assert!(!next.text.contains('?'), "{next:?}");
}

/// Case B: the worker sent the clarifying question; the customer's answer (in German, in an
/// English conversation) matches no English article, and the draft must not be that question
/// again, on any regenerate.
#[test]
fn the_answer_to_the_workers_question_never_gets_the_same_question_back() {
    let drafter = KbDrafter::builtin();
    let opening = [Turn::new(Speaker::Customer, "I want to talk to a person")];
    let asked = draft(&drafter, Lang::En, &opening, 0).text;
    assert!(asked.starts_with("Thanks for your message!"), "{asked}");
    let transcript = [
        opening[0].clone(),
        Turn::new(Speaker::Agent, asked.clone()),
        Turn::new(Speaker::Customer, "Ich brauche Hilfe mit meiner Rechnung"),
    ];
    let mut offered = Vec::new();
    for attempt in 0..6 {
        let next = draft(&drafter, Lang::En, &transcript, attempt);
        assert_ne!(next.text.trim(), asked.trim(), "#{attempt}");
        offered.push(next.text);
    }
    assert_ne!(offered[0], offered[1], "regenerate gives another text");

    // The same in German: whatever the worker sent is not proposed again.
    let opening = [Turn::new(
        Speaker::Customer,
        "Ich möchte mit einem Menschen sprechen",
    )];
    let asked = draft(&drafter, Lang::De, &opening, 0).text;
    let transcript = [
        opening[0].clone(),
        Turn::new(Speaker::Agent, asked.clone()),
        Turn::new(Speaker::Customer, "Ich brauche Hilfe mit meiner Rechnung"),
    ];
    for attempt in 0..6 {
        let next = draft(&drafter, Lang::De, &transcript, attempt);
        assert_ne!(next.text.trim(), asked.trim(), "#{attempt}");
    }
}

/// Every text the worker or the bot sent is left out, however the draft was made: a customer
/// who asks the same question twice does not get the worker's answer word for word again.
#[test]
fn a_draft_never_repeats_what_the_worker_or_the_bot_sent() {
    let drafter = KbDrafter::builtin();
    let question = "how do I pay off the rest early?";
    let start = [
        Turn::new(Speaker::Customer, "my payment was declined"),
        Turn::new(Speaker::Agent, "Sorry about that, it went through now."),
        Turn::new(Speaker::Customer, question),
    ];
    let sent = draft(&drafter, Lang::En, &start, 0);
    assert_eq!(sent.sources, ["pay-early"], "{sent:?}");
    let mut transcript = start.to_vec();
    transcript.push(Turn::new(Speaker::Agent, sent.text.clone()));
    transcript.push(Turn::new(Speaker::Customer, question));
    let mut offered: Vec<String> = Vec::new();
    for attempt in 0..6 {
        let next = draft(&drafter, Lang::En, &transcript, attempt);
        assert_ne!(next.text, sent.text, "#{attempt}");
        offered.push(next.text);
    }
    assert_ne!(offered[0], offered[1], "regenerate gives another text");
}
