//! The real hub on 127.0.0.1:0 with real websocket clients: after the worker sends a reply and
//! the customer writes again, the draft the worker is offered follows the customer's new
//! message. It is never the text the worker just sent, and the acknowledgement of the bot's
//! article ("I see the assistant already sent you …") is not offered again once a person has
//! replied.
//!
//! Both conversations are an outside tester's: a double charge raised after the bot's
//! payment-plans article, where every draft acknowledged that article and asked what was still
//! unclear even after the customer gave the order and the charge; and a customer answering the
//! worker's clarifying question, where the next draft was that question again.

use serde_json::{Value, json};
use shiftdesk_hub::drafting::kb::KnowledgeBase;
use shiftdesk_protocol::{Lang, Role};
use shiftdesk_testkit::{Client, accepted_draft, add_worker, available, bot_says, customer, hub};

/// The worker sends `draft` as it is (Enter in the console); the customer receives it.
async fn send_draft(w: &mut Client, c: &mut Client, conv: &str, draft: &Value) -> String {
    w.ok(json!({"type": "draft", "conversation": conv, "draft": draft["id"], "action": "accept"}))
        .await;
    c.until("the worker's message", |v| {
        v["type"] == "message" && v["from"] == "worker"
    })
    .await["text"]
        .as_str()
        .expect("text")
        .to_string()
}

/// The customer writes `text`; the draft the worker is then offered for it, and the one after
/// a regenerate.
async fn next_drafts(w: &mut Client, c: &mut Client, conv: &str, text: &str) -> [Value; 2] {
    c.send(json!({"type": "message", "text": text})).await;
    // Workers see card numbers masked: the line is known by how it starts.
    let start: String = text.chars().take(12).collect();
    let n = w
        .until("the customer's line", |v| {
            v["type"] == "message"
                && v["message"]["from"] == "customer"
                && v["message"]["text"]
                    .as_str()
                    .is_some_and(|t| t.starts_with(&start))
        })
        .await["message"]["n"]
        .clone();
    let first = w
        .until("the draft for it", |v| {
            v["type"] == "draft" && v["draft"]["for_message"] == n
        })
        .await["draft"]
        .clone();
    w.ok(json!({"type": "draft", "conversation": conv, "draft": first["id"], "action": "regenerate"}))
        .await;
    let again = w
        .until("the regenerated draft", |v| {
            v["type"] == "draft"
                && v["draft"]["for_message"] == n
                && v["draft"]["id"] != first["id"]
        })
        .await["draft"]
        .clone();
    [first, again]
}

fn text(draft: &Value) -> &str {
    draft["text"].as_str().expect("draft text")
}

#[tokio::test]
async fn after_the_workers_reply_the_draft_follows_the_double_charge_not_the_bots_article() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "marta", &[Lang::En], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let base = hub.url();
    let kb = KnowledgeBase::builtin();
    let answer = kb
        .article("payment-plans")
        .and_then(|a| a.answer(Lang::En))
        .expect("English answer");

    let mut w = available(&base, &token).await;
    let (mut c, conv) = customer(&base, "Kim", "en").await;
    bot_says(&mut c).await; // the greeting
    c.send(json!({"type": "message", "text": "How do payment plans work?"}))
        .await;
    assert_eq!(bot_says(&mut c).await, answer, "the bot answers");
    c.send(json!({"type": "message", "text": "I was charged twice for the same order, I need to talk to someone"}))
        .await;
    c.until_type("queued").await;

    let first = accepted_draft(&mut w, &conv).await;
    assert!(
        !text(&first).contains("already sent you"),
        "a double charge is not about the payment plans: {first}"
    );
    let sent = send_draft(&mut w, &mut c, &conv, &first).await;
    assert_eq!(sent, text(&first));

    let drafts = next_drafts(
        &mut w,
        &mut c,
        &conv,
        "Order 12345 from ShoeShop, my card 4111 1111 1111 1111 was charged twice on 3 Dec.",
    )
    .await;
    for draft in &drafts {
        assert_ne!(text(draft), sent, "the worker's reply again: {draft}");
        assert!(!text(draft).contains("already sent you"), "{draft}");
        assert!(!text(draft).contains("Pay in 3"), "{draft}");
        assert_eq!(draft["language"], "en");
    }
    assert!(
        !text(&drafts[0]).contains('?'),
        "the customer gave the order and the charge; the draft does not ask again: {}",
        drafts[0]
    );
    assert_ne!(text(&drafts[0]), text(&drafts[1]));
    hub.shutdown().await;
}

#[tokio::test]
async fn the_answer_to_the_workers_question_does_not_get_the_question_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = add_worker(dir.path(), "marta", &[Lang::En], Role::Worker, 2);
    let hub = hub(dir.path()).await;
    let base = hub.url();

    let mut w = available(&base, &token).await;
    let (mut c, conv) = customer(&base, "Kim", "en").await;
    bot_says(&mut c).await; // the greeting
    c.send(json!({"type": "message", "text": "I want to talk to a person"}))
        .await;
    c.until_type("queued").await;

    let first = accepted_draft(&mut w, &conv).await;
    assert!(
        text(&first).starts_with("Thanks for your message! Could you tell me a bit more"),
        "{first}"
    );
    let sent = send_draft(&mut w, &mut c, &conv, &first).await;

    let drafts = next_drafts(
        &mut w,
        &mut c,
        &conv,
        "Ich brauche Hilfe mit meiner Rechnung",
    )
    .await;
    for draft in &drafts {
        assert_ne!(text(draft), sent, "the worker's question again: {draft}");
    }
    assert_ne!(text(&drafts[0]), text(&drafts[1]));
    hub.shutdown().await;
}
