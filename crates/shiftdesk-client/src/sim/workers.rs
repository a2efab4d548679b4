//! Simulated workers for the supervisor demo and load tests: scripted consoles that go on and
//! off shift, accept or miss offers, and answer with drafts at a human pace.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::Courier;
use crate::session::{ConnState, SessionEvent};
use crate::worker::{self, WorkerConfig};
use shiftdesk_protocol::{
    Author, DraftAction, Lang, RejectReason, WorkerCommand, WorkerEvent, WorkerStatus,
};

/// How a simulated worker behaves.
#[derive(Debug, Clone, Copy)]
pub struct Habits {
    /// Chance of accepting an offer; the rest are declined or left to expire.
    pub accept: f64,
    /// Chance of accepting a draft as is; then edit, then reject.
    pub draft_accept: f64,
    pub draft_edit: f64,
    /// Time to read and act, in milliseconds (min, max).
    pub think_ms: (u64, u64),
    /// A conversation with no new customer line for this long is resolved.
    pub quiet_resolve: Duration,
    /// Average time between breaks (none if zero), and how long a break lasts.
    pub break_every: Duration,
    pub break_for: Duration,
}

impl Habits {
    pub fn human() -> Habits {
        Habits {
            accept: 0.85,
            draft_accept: 0.6,
            draft_edit: 0.3,
            think_ms: (2_000, 6_000),
            quiet_resolve: Duration::from_secs(20),
            break_every: Duration::from_secs(180),
            break_for: Duration::from_secs(40),
        }
    }
}

struct Open {
    last_customer: Instant,
    replied: bool,
    /// The customer's language: what the worker writes in.
    language: Lang,
}

/// What a simulated worker writes when it does not send a draft as it is, in the customer's
/// language: an edited draft, and a personal line after rejecting one. A language without its
/// own lines (one loaded from a file) gets English.
pub fn own_words(language: Lang) -> (&'static str, &'static str) {
    match language.code() {
        "it" => (
            "Grazie per l'attesa! Ho controllato il suo account: ora è tutto a posto.",
            "Me ne occupo io personalmente, un momento.",
        ),
        "de" => (
            "Danke für Ihre Geduld! Ich habe Ihr Konto geprüft: Jetzt ist alles in Ordnung.",
            "Ich kümmere mich persönlich darum, einen Moment bitte.",
        ),
        "nl" => (
            "Bedankt voor het wachten! Ik heb uw account bekeken: het is nu opgelost.",
            "Ik ga dit persoonlijk voor u uitzoeken, een moment.",
        ),
        "sv" => (
            "Tack för att du väntade! Jag har kollat ditt konto: nu är det ordnat.",
            "Jag tittar på det här personligen åt dig, ett ögonblick.",
        ),
        "ru" => (
            "Спасибо за ожидание! Я проверил ваш аккаунт: теперь всё в порядке.",
            "Я лично займусь вашим вопросом, одну минуту.",
        ),
        _ => (
            "Thanks for waiting! I've checked your account: it's sorted now.",
            "Let me look into this for you personally.",
        ),
    }
}

fn pick(range: (u64, u64)) -> Duration {
    Duration::from_millis(rand::rng().random_range(range.0..=range.1.max(range.0)))
}

/// Things the worker decided to do later.
enum Plan {
    Accept(String),
    Decline(String),
    Draft(String, String),
    Resolve(String),
    Status(WorkerStatus),
}

/// Work shifts until `stop` turns true.
pub async fn run_worker(
    hub: &str,
    token: &str,
    habits: Habits,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    crate::session::hub_urls(hub, "/ws/worker")?;
    // The session logs in (and back in after a drop); the courier sends what is queued then.
    let mut courier = Courier::new(worker::spawn(WorkerConfig::new(hub, token)));
    courier.send(WorkerCommand::SetStatus {
        status: WorkerStatus::Available,
    });
    let mut open: BTreeMap<String, Open> = BTreeMap::new();
    let mut plans: Vec<(Instant, Plan)> = Vec::new();
    let mut next_break = (!habits.break_every.is_zero()).then(|| {
        Instant::now()
            + pick((
                habits.break_every.as_millis() as u64 / 2,
                habits.break_every.as_millis() as u64 * 3 / 2,
            ))
    });
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            _ = stop.changed() => {
                courier.send(WorkerCommand::SetStatus { status: WorkerStatus::Offline });
                courier.stop().await;
                return Ok(());
            }
            _ = tick.tick() => {
                let now = Instant::now();
                let due: Vec<Plan> = {
                    let (due, later): (Vec<_>, Vec<_>) = plans.drain(..).partition(|(at, _)| *at <= now);
                    plans = later;
                    due.into_iter().map(|(_, p)| p).collect()
                };
                for plan in due {
                    let command = match plan {
                        Plan::Accept(c) => WorkerCommand::AcceptOffer { conversation: c },
                        Plan::Decline(c) => WorkerCommand::DeclineOffer { conversation: c, reason: Some("busy".into()) },
                        Plan::Resolve(c) => WorkerCommand::Resolve { conversation: c },
                        Plan::Status(status) => WorkerCommand::SetStatus { status },
                        Plan::Draft(c, d) => {
                            let (edited, personal) = own_words(open.get(&c).map_or(Lang::En, |o| o.language));
                            let roll: f64 = rand::rng().random();
                            let action = if roll < habits.draft_accept {
                                DraftAction::Accept
                            } else if roll < habits.draft_accept + habits.draft_edit {
                                DraftAction::Edit { text: edited.into() }
                            } else {
                                DraftAction::Reject { reason: RejectReason::NeedsPerson }
                            };
                            let rejected = matches!(action, DraftAction::Reject { .. });
                            courier.send(WorkerCommand::Draft { conversation: c.clone(), draft: d, action });
                            if rejected {
                                WorkerCommand::Reply { conversation: c, text: personal.into() }
                            } else {
                                continue;
                            }
                        }
                    };
                    courier.send(command);
                }
                for (id, conv) in open.iter_mut() {
                    if conv.replied && now.duration_since(conv.last_customer) >= habits.quiet_resolve {
                        conv.replied = false;
                        plans.push((now + pick(habits.think_ms), Plan::Resolve(id.clone())));
                    }
                }
                if next_break.is_some_and(|at| now >= at) {
                    // Finish the current chats, rest, come back.
                    plans.push((now, Plan::Status(WorkerStatus::Break)));
                    plans.push((now + habits.break_for, Plan::Status(WorkerStatus::Available)));
                    next_break = Some(now + habits.break_for + pick((habits.break_every.as_millis() as u64 / 2, habits.break_every.as_millis() as u64 * 3 / 2)));
                }
            }
            event = courier.next() => {
                let event = match event {
                    Some(SessionEvent::Frame(event)) => event,
                    Some(SessionEvent::Conn(ConnState::Offline { reason })) => anyhow::bail!("{reason}"),
                    Some(SessionEvent::Lost(why)) => {
                        tracing::info!(%why, "simulated worker reconnecting");
                        continue;
                    }
                    Some(SessionEvent::Conn(_)) => continue,
                    None => anyhow::bail!("the session ended"),
                };
                let now = Instant::now();
                match event {
                    WorkerEvent::Offer { conversation, .. } => {
                        let roll: f64 = rand::rng().random();
                        if roll < habits.accept {
                            plans.push((now + pick(habits.think_ms), Plan::Accept(conversation)));
                        } else if roll < habits.accept + (1.0 - habits.accept) / 2.0 {
                            plans.push((now + pick(habits.think_ms), Plan::Decline(conversation)));
                        }
                        // Otherwise: let it expire, as a distracted person would.
                    }
                    WorkerEvent::Conversation { conversation } => {
                        if let Some(draft) = &conversation.draft {
                            plans.push((now + pick(habits.think_ms), Plan::Draft(conversation.id.clone(), draft.id.clone())));
                        }
                        open.insert(conversation.id, Open { last_customer: now, replied: false, language: conversation.language });
                    }
                    WorkerEvent::Draft { conversation, draft } if open.contains_key(&conversation) => {
                        plans.push((now + pick(habits.think_ms), Plan::Draft(conversation, draft.id)));
                    }
                    WorkerEvent::Message { conversation, message } => {
                        match (open.get_mut(&conversation), message.from) {
                            (Some(c), Author::Customer) => c.last_customer = now,
                            (Some(c), Author::Worker) => c.replied = true,
                            _ => {}
                        }
                    }
                    WorkerEvent::Closed { conversation, .. } => {
                        open.remove(&conversation);
                        plans.retain(|(_, p)| !matches!(p, Plan::Draft(c, _) | Plan::Resolve(c) if *c == conversation));
                    }
                    _ => {}
                }
            }
        }
    }
}
