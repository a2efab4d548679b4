//! The real hub on 127.0.0.1:0 with real websocket clients: what the bot says and what the
//! worker is then offered. A worker's draft never repeats the article the bot already sent
//! before the customer asked for a person; a question that fits two articles about equally
//! gets a clarifying question in the customer's language, and the answer to it gets the right
//! article.

use serde_json::json;
use shiftdesk_hub::drafting::kb::KnowledgeBase;
use shiftdesk_protocol::{Lang, Role};
use shiftdesk_testkit::{Client, accepted_draft, add_worker, available, bot_says, customer, hub};

/// How many lines the bot has said to the customer so far.
fn bot_lines(c: &Client) -> usize {
    c.seen
        .iter()
        .filter(|v| v["type"] == "message" && v["from"] == "bot")
        .count()
}

#[tokio::test]
async fn the_draft_after_the_bots_answer_acknowledges_it_instead_of_repeating_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "marta", &[Lang::En], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let base = hub.url();
    let kb = KnowledgeBase::builtin();
    let article = kb.article("move-due-date").expect("built-in article");
    let answer = article.answer(Lang::En).expect("English answer");

    let mut w = available(&base, &token).await;
    let (mut c, conv) = customer(&base, "Kim", "en").await;
    bot_says(&mut c).await; // the greeting
    c.send(json!({"type": "message", "text": "How can I move my due date?"}))
        .await;
    assert_eq!(
        bot_says(&mut c).await,
        answer,
        "the bot answers from the article"
    );
    c.send(json!({"type": "message", "text": "That doesn't help, I want a person"}))
        .await;
    c.until_type("queued").await;

    let draft = accepted_draft(&mut w, &conv).await;
    let text = draft["text"].as_str().expect("draft text");
    assert!(!text.contains(answer), "the draft repeats the bot: {text}");
    assert!(
        draft["sources"]
            .as_array()
            .is_some_and(|s| !s.iter().any(|id| id == "move-due-date")),
        "{draft}"
    );
    assert!(
        text.contains("I see the assistant already sent you our article “Moving a due date”"),
        "the draft acknowledges the bot's answer: {text}"
    );
    assert_eq!(draft["language"], "en");
}

#[tokio::test]
async fn a_close_call_gets_a_clarifying_question_then_the_right_article() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = hub(dir.path()).await;
    let base = hub.url();
    let kb = KnowledgeBase::builtin();
    let title = |id: &str| {
        kb.article(id)
            .and_then(|a| a.title(Lang::De))
            .expect("German title")
            .to_string()
    };

    // (In Italian, English and Russian the bot now answers this at once with the due-date
    // article; in German the keywords still tie.)
    let (mut c, _conv) = customer(&base, "Jonas", "de").await;
    bot_says(&mut c).await; // the greeting
    c.send(json!({"type": "message", "text": "kann ich die nächste Rate aufschieben?"}))
        .await;
    let question = bot_says(&mut c).await;
    assert!(
        question.starts_with("Damit ich die richtige Frage beantworte"),
        "in German: {question}"
    );
    assert!(question.contains(&title("move-due-date")), "{question}");
    assert!(question.contains(&title("payment-plans")), "{question}");

    // The conversation stays with the bot: the answer is triaged again.
    c.send(json!({"type": "message", "text": "den Fälligkeitstermin, bitte"}))
        .await;
    let answer = bot_says(&mut c).await;
    assert_eq!(
        Some(answer.as_str()),
        kb.article("move-due-date").and_then(|a| a.answer(Lang::De))
    );
    assert!(
        !c.seen.iter().any(|v| v["type"] == "queued"),
        "no hand-over: {:?}",
        c.seen
    );
}

#[tokio::test]
async fn a_second_unclear_answer_goes_to_a_person_not_another_question() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = hub(dir.path()).await;
    let base = hub.url();

    let (mut c, _conv) = customer(&base, "Kim", "nl").await;
    bot_says(&mut c).await; // the greeting
    c.send(json!({"type": "message", "text": "kan ik de volgende termijn uitstellen?"}))
        .await;
    let question = bot_says(&mut c).await;
    assert!(question.starts_with("Om zeker te zijn"), "{question}");
    c.send(json!({"type": "message", "text": "hmm, weet ik niet"}))
        .await;
    c.until_type("queued").await;
    assert_eq!(bot_lines(&c), 2, "greeting and one question: {:?}", c.seen);
}

/// The bot never sends an article twice: a customer still asking about what it already answered
/// gets a person, and the worker's offer says why.
#[tokio::test]
async fn asking_again_about_what_the_bot_answered_goes_to_a_person() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "marta", &[Lang::En], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let base = hub.url();
    let kb = KnowledgeBase::builtin();
    let answer = kb
        .article("declined-payment")
        .and_then(|a| a.answer(Lang::En))
        .expect("English answer");

    let mut w = available(&base, &token).await;
    let (mut c, _conv) = customer(&base, "Kim", "en").await;
    bot_says(&mut c).await; // the greeting
    c.send(json!({"type": "message", "text": "my payment was declined"}))
        .await;
    assert_eq!(bot_says(&mut c).await, answer);
    c.send(json!({"type": "message", "text": "it was declined again, why does my card keep getting declined?"}))
        .await;
    c.until_type("queued").await;
    assert_eq!(bot_lines(&c), 2, "greeting and one answer: {:?}", c.seen);
    let offer = w.until_type("offer").await;
    assert_eq!(
        offer["why"], "the bot already answered with declined-payment; the customer asked again",
        "{offer}"
    );
}

/// "Hello" alone gets the bot's question instead of a place in the queue; a second hello alone
/// gets a person (the bot never asks twice).
#[tokio::test]
async fn hello_gets_a_question_and_a_second_hello_a_person() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = hub(dir.path()).await;
    let base = hub.url();

    let (mut c, _conv) = customer(&base, "Kim", "de").await;
    bot_says(&mut c).await; // the greeting
    c.send(json!({"type": "message", "text": "Guten Morgen!"}))
        .await;
    assert_eq!(
        bot_says(&mut c).await,
        "Hallo! Wobei kann ich dir helfen? Schreib es mir in ein paar Worten, oder frag \
         jederzeit nach einem Menschen."
    );
    assert!(
        !c.seen.iter().any(|v| v["type"] == "queued"),
        "{:?}",
        c.seen
    );
    c.send(json!({"type": "message", "text": "hallo"})).await;
    c.until_type("queued").await;
    assert_eq!(bot_lines(&c), 2, "greeting and one question: {:?}", c.seen);
}

/// Thanks after the bot's answer gets "you're welcome, anything else?", not a person; the
/// conversation stays with the bot.
#[tokio::test]
async fn thanks_after_an_answer_gets_the_bots_reply_not_the_queue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = hub(dir.path()).await;
    let base = hub.url();

    let (mut c, _conv) = customer(&base, "Kim", "en").await;
    bot_says(&mut c).await; // the greeting
    c.send(json!({"type": "message", "text": "my payment was declined"}))
        .await;
    bot_says(&mut c).await; // the article
    c.send(json!({"type": "message", "text": "ok thanks a lot!"}))
        .await;
    assert_eq!(
        bot_says(&mut c).await,
        "You're welcome! Is there anything else I can help with? You can also ask for a person."
    );
    // Thanked again: no second "you're welcome"; the next question is answered as usual.
    c.send(json!({"type": "message", "text": "thanks!"})).await;
    c.send(json!({"type": "message", "text": "how do I reset my password?"}))
        .await;
    let next = bot_says(&mut c).await;
    assert!(next.contains("Forgot password"), "{next}");
    assert_eq!(bot_lines(&c), 4, "{:?}", c.seen);
    assert!(
        !c.seen.iter().any(|v| v["type"] == "queued"),
        "{:?}",
        c.seen
    );
}

/// A customer writing in a language the hub does not serve gets a person, not an English article
/// matched on look-alike words ("refusée" is not "refused"), and the offer says why.
#[tokio::test]
async fn a_message_in_a_language_the_hub_does_not_serve_goes_to_a_person() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "marta", &[Lang::En], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let base = hub.url();

    let mut w = available(&base, &token).await;
    let (mut c, _conv) = customer(&base, "Camille", "en").await;
    bot_says(&mut c).await; // the greeting
    c.send(json!({"type": "message", "text": "ma carte a été refusée, pourquoi ?"}))
        .await;
    c.until_type("queued").await;
    assert_eq!(bot_lines(&c), 1, "only the greeting: {:?}", c.seen);
    let offer = w.until_type("offer").await;
    assert_eq!(
        offer["why"], "written in French, which the bot does not read",
        "{offer}"
    );
}

/// A customer who may harm themselves is told at once where to get help, and is offered to a
/// worker before a customer with another sensitive topic who was queued earlier.
#[tokio::test]
async fn a_customer_at_risk_is_told_where_to_get_help_and_served_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "marta", &[Lang::En], Role::Worker, 1);
    let hub = hub(dir.path()).await;
    let base = hub.url();

    let (mut fraud, _) = customer(&base, "Kim", "en").await;
    bot_says(&mut fraud).await;
    fraud
        .send(
            json!({"type": "message", "text": "someone used my card, I never made this purchase"}),
        )
        .await;
    fraud.until_type("queued").await;
    let (mut at_risk, conv) = customer(&base, "Alex", "en").await;
    bot_says(&mut at_risk).await;
    at_risk
        .send(json!({"type": "message", "text": "I can't pay any of this, I want to end my life"}))
        .await;
    let line = at_risk
        .until("the crisis line", |v| {
            v["type"] == "message" && v["from"] == "system"
        })
        .await;
    assert!(
        line["text"]
            .as_str()
            .is_some_and(|t| t.contains("emergency number")),
        "{line}"
    );
    at_risk.until_type("queued").await;

    let mut w = available(&base, &token).await;
    // The offer may come with the answer to going available.
    let offer = w.seen_or_until("an offer", |v| v["type"] == "offer").await;
    assert_eq!(offer["conversation"], conv, "{offer}");
    assert_eq!(
        offer["why"], "sensitive: customer may be at risk of harming themselves (\"end my life\")",
        "{offer}"
    );
}
