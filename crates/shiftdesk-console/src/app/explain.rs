//! Why the system did what it did: the hub's automated decisions about this worker (each with
//! its rule, parameters and plain words) shown on request for the offer or conversation in
//! front of them, and "About dispatch", the rules in force as the hub describes them.

use shiftdesk_protocol::{AboutDispatch, Decision, WorkerCommand};

use super::{App, Command, ConnState, Level, Modal, fmt_duration};

/// Decisions kept in the console (the hub resends its latest after a login without resume).
const KEEP: usize = 100;

/// A read-only text screen: a title and lines, scrolled with the help's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfoView {
    pub title: String,
    pub lines: Vec<InfoLine>,
    pub scroll: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InfoLine {
    Heading(String),
    Text(String),
    /// Dimmed detail: a rule's parameters.
    Detail(String),
    /// A heading marked as selected (shown reversed), kept in view when scrolling.
    Selected(String),
    Blank,
}

impl App {
    pub(super) fn decision_arrived(&mut self, decision: Decision) {
        if self.decisions.contains(&decision) {
            // Sent again after a login without resume.
            return;
        }
        if self.decisions.len() == KEEP {
            self.decisions.remove(0);
        }
        self.decisions.push(decision);
    }

    /// `explain`: the decisions behind the waiting offer, else the selected conversation, else
    /// the latest ones.
    pub(super) fn explain(&mut self) {
        if matches!(self.modal, Some(Modal::Shifts(_))) {
            self.explain_shift();
            return;
        }
        self.shifts_back = None;
        let (target, title) = if let Some(offer) = &self.offer {
            (
                Some(offer.conversation.clone()),
                format!(" Why this offer · {} ", offer.customer),
            )
        } else if let Some(c) = self.selected_conversation() {
            (
                Some(c.view.id.clone()),
                format!(" Why · {} ", c.view.customer.name),
            )
        } else {
            (None, " Decisions about you ".to_string())
        };
        let chosen: Vec<&Decision> = match &target {
            Some(id) => self
                .decisions
                .iter()
                .filter(|d| d.conversation.as_deref() == Some(id.as_str()))
                .collect(),
            None => self.decisions.iter().rev().take(10).rev().collect(),
        };
        let mut lines = Vec::new();
        if chosen.is_empty() {
            lines.push(InfoLine::Text(match target {
                Some(_) => "No automated decision about you was recorded for this conversation \
                            (a supervisor's hand-back, or one from before this console started)."
                    .into(),
                None => "No automated decision about you yet this session.".into(),
            }));
        }
        for d in chosen {
            if !lines.is_empty() {
                lines.push(InfoLine::Blank);
            }
            lines.push(InfoLine::Heading(format!(
                "{} · {} ago",
                d.kind.label(),
                fmt_duration(self.since_hub_time(d.at))
            )));
            lines.push(InfoLine::Text(d.text.clone()));
            lines.push(InfoLine::Detail(rule_line(&d.rule, &d.params)));
        }
        let about = self.key_hint(crate::keymap::Action::AboutDispatch);
        lines.push(InfoLine::Blank);
        lines.push(InfoLine::Detail(format!(
            "Every rule and what is monitored: press {about} (About dispatch)."
        )));
        self.modal = Some(Modal::Info(InfoView {
            title,
            lines,
            scroll: 0,
        }));
    }

    /// `about.dispatch`: ask the hub; the screen opens when its answer arrives.
    pub(super) fn ask_about_dispatch(&mut self, out: &mut Vec<Command>) {
        if self.conn != ConnState::Connected {
            self.note(
                Level::Info,
                "Not connected: About dispatch comes from the hub.",
            );
            return;
        }
        self.send(WorkerCommand::AboutDispatch, out);
    }

    pub(super) fn about_arrived(&mut self, about: AboutDispatch) {
        let mut lines = vec![InfoLine::Text(
            "How this hub decides who gets work, built from its configuration now. Every \
             decision about you is recorded with these parameters; press explain on an offer or \
             a conversation to see it."
                .into(),
        )];
        lines.push(InfoLine::Blank);
        lines.push(InfoLine::Heading("Rules".into()));
        for rule in &about.rules {
            lines.push(InfoLine::Text(format!("• {}", rule.text)));
            if !rule.params.is_empty() {
                lines.push(InfoLine::Detail(format!(
                    "  {}",
                    rule_line(&rule.name, &rule.params)
                )));
            }
        }
        lines.push(InfoLine::Blank);
        lines.push(InfoLine::Heading("Monitored".into()));
        lines.extend(
            about
                .monitored
                .iter()
                .map(|m| InfoLine::Text(format!("• {m}"))),
        );
        lines.push(InfoLine::Blank);
        lines.push(InfoLine::Heading("Not monitored, never used".into()));
        lines.extend(
            about
                .not_monitored
                .iter()
                .map(|m| InfoLine::Text(format!("• {m}"))),
        );
        self.about = Some(about);
        if self.modal.is_none() || matches!(self.modal, Some(Modal::Info(_) | Modal::Summary)) {
            self.shifts_back = None;
            self.modal = Some(Modal::Info(InfoView {
                title: " About dispatch ".into(),
                lines,
                scroll: 0,
            }));
        }
    }
}

/// `rule longest_idle · idle 4m12s · eligible 3`: durations in `_ms` shown as durations.
pub(super) fn rule_line(rule: &str, params: &std::collections::BTreeMap<String, String>) -> String {
    let mut parts = vec![format!("rule {rule}")];
    for (k, v) in params {
        match (k.strip_suffix("_ms"), v.parse::<u64>()) {
            (Some(name), Ok(ms)) => {
                parts.push(format!("{} {}", name.replace('_', " "), fmt_duration(ms)))
            }
            _ => parts.push(format!("{} {v}", k.replace('_', " "))),
        }
    }
    parts.join(" · ")
}
