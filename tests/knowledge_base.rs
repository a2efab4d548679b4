//! The operator's knowledge base: a folder of Markdown articles given to the real `shiftdesk`
//! binary. The bot answers a real customer from an article the built-in knowledge base does
//! not have; SIGHUP rereads the folder without dropping anyone, and a broken folder is refused
//! with its file and line; `kb check` and `kb ask` say what the hub would do.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shiftdesk_testkit::{Client, customer, worker};

use common::{BIN, add_worker_cli, hub_process};

const GIFT_CARDS_IT: &str = "+++
title = \"Buoni regalo\"
tags = [\"pagamenti\"]
questions = [\"Posso pagare con un buono regalo?\", \"Accettate le gift card?\"]
keywords = [\"buono regalo\", \"gift card\"]
+++

Sì: al momento del pagamento scegli *Buono regalo*
e inserisci il codice del buono.
Se il buono non copre tutto, il resto si paga a rate come sempre.
";

/// The customer gets the body with the author's line breaks joined, as Markdown renders it.
const GIFT_CARDS_IT_ANSWER: &str = "Sì: al momento del pagamento scegli *Buono regalo* e \
    inserisci il codice del buono. Se il buono non copre tutto, il resto si paga a rate come \
    sempre.";

const GIFT_CARDS_EN: &str = "+++
title = \"Gift cards\"
questions = [\"Can I pay with a gift card?\"]
+++

Yes: choose *Gift card* at checkout and enter the card's code.
";

const LOYALTY_EN: &str = "+++
title = \"Loyalty points\"
questions = [\"How do I use my loyalty points?\"]
keywords = [\"loyalty points\", \"points balance\"]
+++

Your points show in the app under Rewards; 100 points take 1 euro off your next plan.
";

fn kb_folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("folder made");
        }
        std::fs::write(path, text).expect("article written");
    }
    dir
}

fn shiftdesk(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("shiftdesk runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A customer's first message and the bot's answer to it (after its greeting).
async fn bot_answer(url: &str, lang: &str, text: &str) -> String {
    let (mut c, _) = customer(url, "Giulia", lang).await;
    c.until("the bot greeting", |v| {
        v["type"] == "message" && v["from"] == "bot"
    })
    .await;
    c.send(json!({"type": "message", "text": text})).await;
    let answer = c
        .until("the bot's answer or a hand-over", |v| {
            (v["type"] == "message" && v["from"] == "bot") || v["type"] == "queued"
        })
        .await;
    assert_eq!(answer["type"], "message", "the bot handed over: {answer}");
    answer["text"].as_str().expect("text").to_string()
}

/// `/healthz` of the hub at `url` (ws://host:port).
fn health(url: &str) -> Value {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("ws://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    write!(stream, "GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n").expect("write");
    let mut body = String::new();
    stream.read_to_string(&mut body).expect("read");
    serde_json::from_str(body.split("\r\n\r\n").nth(1).expect("body")).expect("json")
}

fn sighup(pid: u32) {
    let status = Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -HUP");
}

/// Wait until the hub reports `reloads` knowledge-base reloads. A signal cannot be awaited
/// from outside the process; the hub's health report says when the reload has happened.
async fn reloaded(url: &str, reloads: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let kb = health(url)["knowledge_base"].clone();
        if kb["reloads"].as_u64() >= Some(reloads) {
            return kb;
        }
        assert!(Instant::now() < deadline, "no reload reported: {kb}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Wait until the hub's log (its stderr) contains `text`; returns the log.
async fn logged(dir: &Path, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = std::fs::read_to_string(dir.join("hub.log")).unwrap_or_default();
        if log.contains(text) {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "{text:?} not in the hub log:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_bot_answers_a_real_customer_from_the_operators_article() {
    let data = tempfile::tempdir().expect("tempdir");
    let kb = kb_folder(&[
        ("gift-cards.it.md", GIFT_CARDS_IT),
        ("gift-cards.en.md", GIFT_CARDS_EN),
    ]);
    let kb_dir = kb.path().to_str().expect("utf-8 path");
    let hub = hub_process(data.path(), &["--kb", kb_dir]);

    let answer = bot_answer(&hub.url, "it", "posso pagare con un buono regalo?").await;
    assert_eq!(answer, GIFT_CARDS_IT_ANSWER);
    let answer = bot_answer(&hub.url, "en", "Can I pay with a gift card?").await;
    assert_eq!(
        answer,
        "Yes: choose *Gift card* at checkout and enter the card's code."
    );

    // The operator's articles replace the built-in ones: a built-in topic has no answer now.
    let (mut c, _) = customer(&hub.url, "Ada", "en").await;
    c.send(json!({"type": "message", "text": "How do I move my due date?"}))
        .await;
    c.until_type("queued").await;
    let kb_health = health(&hub.url)["knowledge_base"].clone();
    assert_eq!(kb_health["articles"], 1, "{kb_health}");
    assert_eq!(kb_health["source"], kb_dir);
    assert_eq!(kb_health["languages"], json!(["en", "it"]));
}

#[tokio::test]
async fn sighup_rereads_the_folder_and_keeps_everyone_connected() {
    let data = tempfile::tempdir().expect("tempdir");
    let token = add_worker_cli(data.path(), "Marta", "en,it", 2);
    let kb = kb_folder(&[("gift-cards.en.md", GIFT_CARDS_EN)]);
    let kb_dir = kb.path().to_str().expect("utf-8 path");
    let hub = hub_process(data.path(), &["--kb", kb_dir]);
    let (mut w, _) = worker(&hub.url, &token).await;
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    assert_eq!(health(&hub.url)["knowledge_base"]["reloads"], 0);

    // Not an article yet: the question goes to a person.
    let (mut early, _) = customer(&hub.url, "Early", "en").await;
    early
        .send(json!({"type": "message", "text": "How do I use my loyalty points?"}))
        .await;
    early.until_type("queued").await;

    // The operator adds the article and tells the hub.
    std::fs::write(kb.path().join("loyalty.en.md"), LOYALTY_EN).expect("article written");
    sighup(hub.pid());
    let kb_health = reloaded(&hub.url, 1).await;
    assert_eq!(kb_health["articles"], 2, "{kb_health}");
    let answer = bot_answer(&hub.url, "en", "How do I use my loyalty points?").await;
    assert!(
        answer.starts_with("Your points show in the app"),
        "{answer}"
    );
    // The old article still answers too.
    let answer = bot_answer(&hub.url, "en", "Can I pay with a gift card?").await;
    assert!(answer.starts_with("Yes: choose"), "{answer}");

    // The worker's connection was never dropped: the same socket takes the early customer's
    // offer and answers a command.
    still_connected(&mut w).await;

    // A broken folder is refused with its file and line; the hub keeps the articles it had.
    std::fs::write(
        kb.path().join("broken.en.md"),
        "+++\ntitle = \"Broken\"\nkeywords = [\"x\"\n+++\nBody\n",
    )
    .expect("written");
    sighup(hub.pid());
    let log = logged(data.path(), "not reloaded").await;
    assert!(log.contains("broken.en.md:3: error: front matter"), "{log}");
    assert_eq!(health(&hub.url)["knowledge_base"]["reloads"], 1);
    let answer = bot_answer(&hub.url, "en", "How do I use my loyalty points?").await;
    assert!(
        answer.starts_with("Your points show in the app"),
        "{answer}"
    );
    still_connected(&mut w).await;
}

/// The worker's socket still works: an offer or a command's answer arrives on it.
async fn still_connected(w: &mut Client) {
    w.ok(json!({"type": "set_status", "status": "available"}))
        .await;
}

#[test]
fn kb_check_names_each_file_and_its_problem() {
    let kb = kb_folder(&[
        ("gift-cards.en.md", GIFT_CARDS_EN),
        ("gift-cards.spanish.md", GIFT_CARDS_EN),
        ("languages/pl.toml", "name = \"Polski\"\n"),
        (
            "refunds.en.md",
            "+++\ntitle = \"Refunds\"\nkeywords = [\"refund\"]\n+++\n\n",
        ),
        ("fees.en.md", "+++\nkeywords = [\"fee\"]\n+++\nNo fees.\n"),
        (
            "late.en.md",
            "+++\ntitle = \"Late\"\nsensitiv = true\n+++\nCall us.\n",
        ),
    ]);
    let dir = kb.path().display().to_string();
    let out = shiftdesk(&["kb", "check", &dir]);
    assert!(!out.status.success(), "errors fail the check");
    let listed = stdout(&out);
    for want in [
        format!("{dir}/fees.en.md:1: error: missing `title`"),
        format!(
            "{dir}/gift-cards.spanish.md: error: `spanish` in the file name is not a language code"
        ),
        format!("{dir}/languages/pl.toml:1: error: missing field `english_name`"),
        format!("{dir}/late.en.md:3: error: front matter: unknown field `sensitiv`"),
        format!("{dir}/refunds.en.md:4: error: empty body"),
        format!("{dir}: 5 errors, 0 warnings"),
    ] {
        assert!(listed.contains(&want), "{want:?} not in:\n{listed}");
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the hub would not load it"), "{stderr}");

    // Warnings alone pass.
    let kb = kb_folder(&[
        ("gift-cards.en.md", GIFT_CARDS_EN),
        ("gift-cards.it.md", GIFT_CARDS_IT),
        ("loyalty.en.md", LOYALTY_EN),
    ]);
    let dir = kb.path().display().to_string();
    let out = shiftdesk(&["kb", "check", &dir]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "{dir}/loyalty.en.md: warning: no Italian version (loyalty.it.md): customers \
             writing in Italian do not get this article\n\
             {dir}: 2 articles in 2 languages (en, it); 0 errors, 1 warning\n"
        )
    );
}

#[test]
fn kb_ask_shows_the_article_the_runner_up_and_the_decision() {
    let kb = kb_folder(&[
        ("gift-cards.it.md", GIFT_CARDS_IT),
        ("gift-cards.en.md", GIFT_CARDS_EN),
        ("loyalty.en.md", LOYALTY_EN),
    ]);
    let dir = kb.path().display().to_string();
    let out = shiftdesk(&[
        "kb",
        "ask",
        &dir,
        "--lang",
        "it",
        "posso pagare con un buono regalo?",
    ]);
    assert!(out.status.success());
    let said = stdout(&out);
    assert_eq!(
        said,
        format!(
            "language   it (--lang)\n\
             article    gift-cards \"Buoni regalo\"  score 0.70  (matched: buono regalo, pagare)\n           \
             {dir}/gift-cards.it.md\n\
             runner-up  none\n\
             decision   answer: bot answered with gift-cards (confidence 0.70)\n\n\
             {GIFT_CARDS_IT_ANSWER}\n"
        )
    );

    // Two articles fit; the bot answers with the better one and names the other.
    let out = shiftdesk(&[
        "kb",
        "ask",
        &dir,
        "can I pay with a gift card or with my loyalty points?",
    ]);
    let said = stdout(&out);
    assert!(said.starts_with("language   en (detected)\n"), "{said}");
    assert!(
        said.contains("\narticle    loyalty \"Loyalty points\""),
        "{said}"
    );
    assert!(
        said.contains("\nrunner-up  gift-cards \"Gift cards\"  score 0."),
        "{said}"
    );

    // Without a folder: the built-in articles. A sensitive topic goes to a person, whose draft
    // is written from the article; an unknown question gets a clarifying question as draft.
    let said = stdout(&shiftdesk(&[
        "kb",
        "ask",
        "I don't recognise this purchase",
    ]));
    assert!(said.contains("\narticle    fraud "), "{said}");
    assert!(
        said.contains(
            "\ndecision   hand over to a person: sensitive: suspected fraud (\"don't recognise\"); \
             a person handles sensitive topics\n"
        ),
        "{said}"
    );
    assert!(
        said.ends_with("draft      the person's draft is written from fraud\n"),
        "{said}"
    );
    let said = stdout(&shiftdesk(&["kb", "ask", "--lang", "de", "Ich mag Katzen"]));
    assert!(
        said.contains("\narticle    none (no article matches)\n"),
        "{said}"
    );
    assert!(
        said.contains("decision   hand over to a person: bot unsure"),
        "{said}"
    );
    assert!(
        said.ends_with("draft      the person's draft asks the customer a clarifying question\n"),
        "{said}"
    );

    // A folder with no message after it is not taken for the message.
    let out = shiftdesk(&["kb", "ask", &dir]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("give the customer's message after it"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A folder with errors is not asked.
    let broken = kb_folder(&[("x.en.md", "no front matter")]);
    let out = shiftdesk(&["kb", "ask", &broken.path().display().to_string(), "hello"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("x.en.md:1: error: no front matter"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_hub_with_a_broken_folder_does_not_start() {
    let data = tempfile::tempdir().expect("tempdir");
    let kb = kb_folder(&[("gift-cards.en.md", "+++\ntitle = \"Gift cards\"\n+++\n")]);
    let out = Command::new(BIN)
        .args(["hub", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .arg("--kb")
        .arg(kb.path())
        .output()
        .expect("shiftdesk runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("gift-cards.en.md:3: error: empty body"),
        "{stderr}"
    );
}

#[test]
fn kb_eval_measures_the_bot_on_an_operators_folder() {
    let kb = kb_folder(&[
        ("gift-cards.it.md", GIFT_CARDS_IT),
        ("gift-cards.en.md", GIFT_CARDS_EN),
        ("loyalty.en.md", LOYALTY_EN),
    ]);
    let dir = kb.path().display().to_string();
    let set = kb.path().join("set.jsonl");
    std::fs::write(
        &set,
        "# labelled messages\n\
         {\"lang\": \"it\", \"expect\": \"gift-cards\", \"text\": \"posso pagare con un buono regalo?\"}\n\
         {\"lang\": \"en\", \"expect\": \"loyalty\", \"text\": \"Can I pay with a gift card?\"}\n\
         {\"lang\": \"en\", \"expect\": \"person\", \"text\": \"can I talk to a human please\"}\n\
         {\"lang\": \"en\", \"expect\": \"sensitive\", \"topic\": \"fraud\", \"text\": \"There's a charge on my account I don't recognise\"}\n",
    )
    .expect("set written");
    let set = set.display().to_string();

    let out = shiftdesk(&["kb", "eval", &set, "--kb", &dir]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = stdout(&out);
    assert!(
        said.contains("4 messages: 2 routine, 1 asking for a person, 1 sensitive"),
        "{said}"
    );
    // One right answer, one wrong one: 100% answered, 50% right, 50% wrong.
    assert!(
        said.contains(
            "\nall                        4    100.0%   50.0%   50.0%    0.0%      0.0%    1/1 100.0%    1/1 100.0%\n"
        ),
        "{said}"
    );
    assert!(
        said.contains("  loyalty -> gift-cards  1  e.g. en: Can I pay with a gift card?"),
        "{said}"
    );

    let out = shiftdesk(&["kb", "eval", &set, "--kb", &dir, "--json"]);
    assert!(out.status.success());
    let parts: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(parts[0]["overall"]["counts"]["wrong"], 1);
    assert_eq!(parts[0]["overall"]["person_share"], 1.0);
    assert_eq!(parts[0]["languages"]["it"]["right_share"], 1.0);

    // A label that is not a routine article of the folder is an error with its line.
    let bad = kb.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"lang\": \"en\", \"expect\": \"refunds-returns\", \"text\": \"where is my refund\"}\n",
    )
    .expect("set written");
    let out = shiftdesk(&["kb", "eval", &bad.display().to_string(), "--kb", &dir]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.jsonl:1: no article `refunds-returns` in the knowledge base"),
        "{stderr}"
    );
}
