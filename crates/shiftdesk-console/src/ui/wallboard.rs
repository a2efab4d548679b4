//! The supervisor wallboard: queues, workers, and the live conversations to shadow.
//!
//! The lists can hold hundreds of rows. The app keeps them sorted and filtered
//! ([`WallboardView::rows`]); this file only turns the rows that fit on the screen into lines,
//! so drawing costs the same whatever the length of the list.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::{bold, dim, key_style, status_color, truncate, width};
use crate::app::{App, Modal, PromptPurpose, PromptState, fmt_duration};
use crate::board::{BoardFocus, WallboardView, WorkerSort, scroll_offset};
use crate::keymap::{Action, Context};
use shiftdesk_protocol::{
    ConversationState, LiveConversation, Wallboard, WallboardQueue, WallboardWorker,
};

pub fn render(app: &App, frame: &mut Frame, body: Rect) {
    let board = &app.board;
    // The filter is typed on a line of its own at the bottom, so the list it narrows stays
    // in view as it changes.
    let body = match &app.modal {
        Some(Modal::Prompt(prompt)) if is_filter(prompt) => {
            let [body, line] =
                Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(body);
            filter_line(app, prompt, frame, line);
            body
        }
        _ => body,
    };
    let Some(data) = &board.data else {
        frame.render_widget(
            Paragraph::new(Line::styled("waiting for the hub's figures…", dim()))
                .block(Block::bordered().title(" Wallboard ")),
            body,
        );
        return;
    };
    let roomy = body.height >= 34;
    let queues_h = match body.height {
        0..14 => 0,
        _ if roomy => 7,
        _ => 6,
    };
    let rest = body.height.saturating_sub(queues_h);
    let small = (rest / 3).clamp(4, 12);
    let (workers_c, live_c) = if board.hand_back.is_some() {
        (Constraint::Fill(1), Constraint::Length(0))
    } else if board.focus == BoardFocus::Live {
        (Constraint::Length(small), Constraint::Fill(1))
    } else {
        (Constraint::Fill(1), Constraint::Length(small))
    };
    let [q_area, w_area, l_area] =
        Layout::vertical([Constraint::Length(queues_h), workers_c, live_c]).areas(body);
    if queues_h > 0 {
        queues(data, roomy, frame, q_area);
    }
    workers(app, board, data, frame, w_area);
    if l_area.height > 0 {
        live(app, board, data, frame, l_area);
    }
}

// ---------------------------------------------------------------------------------------------
// Queues: one column per language
// ---------------------------------------------------------------------------------------------

fn queues(data: &Wallboard, roomy: bool, frame: &mut Frame, area: Rect) {
    let mut block = Block::bordered()
        .border_style(dim())
        .title(" Queues · waiting now, and time to a person today ");
    if !data.slots.is_empty() {
        // Planned shifts: the next slots, booked versus expected; short ones said in words.
        let parts: Vec<String> = data
            .slots
            .iter()
            .map(|s| {
                let time = crate::app::utc(s.start);
                let short = if (s.booked as f32) < s.expected {
                    " short"
                } else {
                    ""
                };
                format!("{} {}/{:.1}{short}", &time[11..], s.booked, s.expected)
            })
            .collect();
        block = block.title_bottom(
            Line::styled(
                super::truncate(
                    &format!(" slots booked/expected: {} ", parts.join(" · ")),
                    area.width.saturating_sub(4) as usize,
                ),
                dim(),
            )
            .right_aligned(),
        );
    }
    let inner = block.inner(area);
    let label_w = 12;
    let n = data.queues.len().max(1);
    let cell = ((inner.width as usize).saturating_sub(label_w) / n).clamp(4, 14);
    let mut header = vec![Span::styled(format!("{:<label_w$}", "queue"), bold())];
    for q in &data.queues {
        header.push(Span::styled(
            format!("{:>cell$}", q.language.code()),
            bold(),
        ));
    }
    let rows: &[QueueRow] = if roomy {
        &[
            QueueRow::Depth,
            QueueRow::Longest,
            QueueRow::P50,
            QueueRow::P90,
        ]
    } else {
        &[QueueRow::DepthAndLongest, QueueRow::P50, QueueRow::P90]
    };
    let mut lines = vec![Line::from(header)];
    for row in rows {
        let mut spans = vec![Span::styled(format!("{:<label_w$}", row.label()), dim())];
        for q in &data.queues {
            let (text, style) = row.cell(q);
            spans.push(Span::styled(
                format!("{:>cell$}", truncate(&text, cell.saturating_sub(1))),
                style,
            ));
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// A line of the queues table; the compact ones fit 80x24.
#[derive(Clone, Copy)]
enum QueueRow {
    Depth,
    Longest,
    DepthAndLongest,
    P50,
    P90,
}

impl QueueRow {
    fn label(self) -> &'static str {
        match self {
            QueueRow::Depth | QueueRow::DepthAndLongest => "waiting",
            QueueRow::Longest => "longest",
            QueueRow::P50 => "p50",
            QueueRow::P90 => "p90",
        }
    }

    fn cell(self, q: &WallboardQueue) -> (String, Style) {
        let opt = |v: Option<u64>| v.map(fmt_duration).unwrap_or_else(|| "-".into());
        let waiting = if q.depth > 0 {
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD)
        } else {
            dim()
        };
        match self {
            QueueRow::Depth => (q.depth.to_string(), waiting),
            QueueRow::Longest if q.depth == 0 => ("-".into(), dim()),
            QueueRow::Longest => (fmt_duration(q.longest_wait_ms), Style::default()),
            QueueRow::DepthAndLongest if q.depth == 0 => ("0".into(), dim()),
            QueueRow::DepthAndLongest => (
                format!("{} ({})", q.depth, fmt_duration(q.longest_wait_ms)),
                waiting,
            ),
            QueueRow::P50 => (opt(q.time_to_human_p50_ms), Style::default()),
            QueueRow::P90 => (opt(q.time_to_human_p90_ms), Style::default()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Workers
// ---------------------------------------------------------------------------------------------

/// The columns that fit, left to right; the name takes what is left, up to a point.
struct WorkerColumns {
    name: usize,
    wide: bool,
}

impl WorkerColumns {
    const FIXED: usize = 4 + 10 + 7 + 6 + 13 + 13;
    const WIDE_EXTRA: usize = 6 + 7;

    fn fit(inner: usize) -> WorkerColumns {
        let wide = inner >= Self::FIXED + Self::WIDE_EXTRA + 24;
        let fixed = Self::FIXED + if wide { Self::WIDE_EXTRA } else { 0 };
        WorkerColumns {
            name: inner.saturating_sub(fixed).clamp(8, 28),
            wide,
        }
    }
}

fn workers(app: &App, board: &WallboardView, data: &Wallboard, frame: &mut Frame, area: Rect) {
    let focused = board.focus == BoardFocus::Workers || board.hand_back.is_some();
    let total = data.workers.len();
    let shown = board.rows.len();
    let mut title = vec![Span::styled(" Workers ", bold())];
    if let Some(target) = &board.hand_back {
        title = vec![Span::styled(
            format!(" Hand {} back to… (connected, with room) ", target.customer),
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        )];
    }
    if board.filter.is_empty() {
        title.push(Span::raw(if board.hand_back.is_some() {
            format!("{shown} of {total} ")
        } else {
            format!("{total} ")
        }));
    } else {
        title.push(Span::raw(format!("{shown} of {total} ")));
    }
    title.push(Span::styled("· sort ", dim()));
    title.push(Span::styled(
        format!("{} {} ", board.sort.label(), arrow(board.sort)),
        key_style(),
    ));
    if !board.filter.is_empty() {
        title.push(Span::styled("· filter ", dim()));
        title.push(Span::styled(
            format!("{} ", board.filter.text),
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        ));
    }
    let border = if board.hand_back.is_some() {
        Style::default().fg(Color::Yellow)
    } else if focused {
        Style::default().fg(Color::Cyan)
    } else {
        dim()
    };
    let mut block = Block::bordered()
        .border_style(border)
        .title(Line::from(title));
    let inner = block.inner(area);
    let height = (inner.height as usize).saturating_sub(1);
    let top = scroll_offset(board.selected, shown, height);
    if shown > height && height > 0 {
        block = block.title_bottom(
            Line::styled(
                format!(" {}-{} of {shown} ", top + 1, (top + height).min(shown)),
                dim(),
            )
            .right_aligned(),
        );
    }
    let cols = WorkerColumns::fit(inner.width as usize);
    let mut lines = Vec::with_capacity(height + 1);
    lines.push(worker_header(&cols, board.sort));
    if shown == 0 {
        let text = if let Some(problem) = &board.filter.problem {
            format!("Filter: {problem}.")
        } else if board.hand_back.is_some() {
            "Nobody can take it now: no connected worker has free capacity.".to_string()
        } else if total == 0 {
            "No workers yet.".to_string()
        } else {
            format!("No worker matches `{}`.", board.filter.text)
        };
        lines.push(Line::styled(text, dim()));
    }
    // Only the rows that fit are made into lines.
    let end = (top + height).min(shown);
    for (pos, &index) in board.rows[top.min(end)..end].iter().enumerate() {
        let selected = top + pos == board.selected;
        lines.push(worker_row(
            app,
            &data.workers[index],
            &cols,
            selected,
            focused,
        ));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn arrow(sort: WorkerSort) -> &'static str {
    match sort {
        WorkerSort::Name | WorkerSort::Status => "▲",
        _ => "▼",
    }
}

fn worker_header(cols: &WorkerColumns, sort: WorkerSort) -> Line<'static> {
    let is = |s: &[WorkerSort]| {
        if s.contains(&sort) {
            bold().add_modifier(Modifier::UNDERLINED).fg(Color::Cyan)
        } else {
            bold()
        }
    };
    let n = cols.name;
    let mut spans = vec![
        Span::raw("    "),
        Span::styled(format!("{:<n$}", "name"), is(&[WorkerSort::Name])),
        Span::raw(" "),
        Span::styled(format!("{:<9}", "status"), is(&[WorkerSort::Status])),
        Span::raw(" "),
        Span::styled(format!("{:>6}", "for"), is(&[WorkerSort::TimeInStatus])),
        Span::raw(" "),
        Span::styled(format!("{:>5}", "open"), is(&[WorkerSort::Open])),
        Span::raw(" "),
        Span::styled(
            format!("{:>12}", "offers a/d/m"),
            is(&[WorkerSort::Missed, WorkerSort::Declined]),
        ),
        Span::raw(" "),
        Span::styled(
            format!("{:>12}", "drafts a/e/r"),
            is(&[WorkerSort::Rejected]),
        ),
    ];
    if cols.wide {
        spans.push(Span::styled(format!(" {:>5}", "done"), bold()));
        spans.push(Span::styled(format!(" {:>6}", "AHT"), bold()));
    }
    Line::from(spans)
}

fn worker_row(
    app: &App,
    w: &WallboardWorker,
    cols: &WorkerColumns,
    selected: bool,
    focused: bool,
) -> Line<'static> {
    let base = match (selected, focused) {
        (true, true) => Style::default().add_modifier(Modifier::REVERSED),
        (true, false) => bold(),
        _ => Style::default(),
    };
    let marker = if selected { "▸ " } else { "  " };
    let link = if w.connected {
        Span::styled("● ", base.fg(Color::Green))
    } else {
        Span::styled("○ ", base.fg(Color::DarkGray))
    };
    let name_style = if w.connected {
        base
    } else {
        base.fg(Color::Gray)
    };
    let n = cols.name;
    let name = truncate(&w.name, n);
    let pad = n.saturating_sub(width(&name));
    let s = &w.stats;
    let open_style = if w.open >= w.capacity && w.capacity > 0 {
        base.fg(Color::Yellow)
    } else {
        base
    };
    let missed_style = if s.offers_missed > 0 {
        base.fg(Color::Yellow)
    } else {
        base
    };
    let mut spans = vec![
        Span::styled(marker, base),
        link,
        Span::styled(format!("{name}{} ", " ".repeat(pad)), name_style),
        Span::styled(
            format!("{:<9}", w.status.label()),
            base.fg(status_color(w.status)),
        ),
        Span::styled(
            format!(" {:>6}", fmt_duration(app.since_hub_time(w.since))),
            base,
        ),
        Span::styled(
            // Full is marked with `!`, not only in yellow.
            format!(
                " {:>5}",
                format!(
                    "{}/{}{}",
                    w.open,
                    w.capacity,
                    if w.open >= w.capacity && w.capacity > 0 {
                        "!"
                    } else {
                        ""
                    }
                )
            ),
            open_style,
        ),
        Span::styled(
            format!(
                " {:>12}",
                format!(
                    "{}/{}/{}",
                    s.offers_accepted, s.offers_declined, s.offers_missed
                )
            ),
            missed_style,
        ),
        Span::styled(
            format!(
                " {:>12}",
                format!(
                    "{}/{}/{}",
                    s.drafts_accepted, s.drafts_edited, s.drafts_rejected
                )
            ),
            base,
        ),
    ];
    if cols.wide {
        let aht = if s.handled > 0 {
            fmt_duration(s.handle_ms_total / u64::from(s.handled))
        } else {
            "-".into()
        };
        spans.push(Span::styled(format!(" {:>5}", s.handled), base));
        spans.push(Span::styled(format!(" {aht:>6}"), base));
    }
    Line::from(spans)
}

// ---------------------------------------------------------------------------------------------
// Live conversations
// ---------------------------------------------------------------------------------------------

fn live(app: &App, board: &WallboardView, data: &Wallboard, frame: &mut Frame, area: Rect) {
    let focused = board.focus == BoardFocus::Live;
    let shown = board.live_rows.len();
    let mut title = vec![
        Span::styled(" Live conversations ", bold()),
        Span::raw(format!("{shown} ")),
    ];
    if !board.filter.is_empty() {
        title.push(Span::styled("· of the workers shown ", dim()));
    }
    if !focused
        && let Some(key) = app
            .keymap
            .key_for(&[Context::Wallboard], Action::WallboardFocus)
    {
        title.push(Span::styled("· ", dim()));
        title.push(Span::styled(key, key_style()));
        title.push(Span::styled(" to choose one to shadow ", dim()));
    }
    let mut block = Block::bordered()
        .border_style(if focused {
            Style::default().fg(Color::Cyan)
        } else {
            dim()
        })
        .title(Line::from(title));
    let inner = block.inner(area);
    let height = (inner.height as usize).saturating_sub(1);
    let top = scroll_offset(board.selected_live, shown, height);
    if shown > height && height > 0 {
        block = block.title_bottom(
            Line::styled(
                format!(" {}-{} of {shown} ", top + 1, (top + height).min(shown)),
                dim(),
            )
            .right_aligned(),
        );
    }
    let w = inner.width as usize;
    let topic_w = w.saturating_sub(2 + 11 + 5 + 10 + 19 + 8 + 13).clamp(8, 28);
    let mut lines = Vec::with_capacity(height + 1);
    lines.push(Line::styled(
        format!(
            "  {:<10} {:<4} {:<9} {:<18} {:<topic_w$} {:>7}",
            "conv", "lang", "state", "worker", "topic", "waited"
        ),
        bold(),
    ));
    if shown == 0 {
        lines.push(Line::styled(
            if board.filter.is_empty() {
                "No conversation is with a person or waiting for one."
            } else {
                "None of the workers shown has a conversation."
            },
            dim(),
        ));
    }
    let end = (top + height).min(shown);
    for (pos, &index) in board.live_rows[top.min(end)..end].iter().enumerate() {
        let selected = top + pos == board.selected_live;
        lines.push(live_row(app, &data.live[index], topic_w, selected, focused));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn live_row(
    app: &App,
    c: &LiveConversation,
    topic_w: usize,
    selected: bool,
    focused: bool,
) -> Line<'static> {
    let base = match (selected, focused) {
        (true, true) => Style::default().add_modifier(Modifier::REVERSED),
        (true, false) => bold(),
        _ => Style::default(),
    };
    let state_color = match c.state {
        ConversationState::Queued => Color::Yellow,
        ConversationState::Offered => Color::Cyan,
        ConversationState::Assigned => Color::Green,
        _ => Color::Gray,
    };
    let mine = app
        .conversations
        .iter()
        .find(|x| x.view.id == c.id && x.closed.is_none())
        .map(|x| {
            if app.owns(x) {
                "yours"
            } else {
                "◉ shadowing"
            }
        });
    let owner = c.owner.as_deref().unwrap_or("-");
    let topic = c.intent.replace('_', " ");
    let topic = truncate(&topic, topic_w);
    let topic_pad = topic_w.saturating_sub(width(&topic));
    Line::from(vec![
        Span::styled(if selected { "▸ " } else { "  " }, base),
        Span::styled(format!("{:<10} ", truncate(&c.id, 10)), base),
        Span::styled(format!("{:<4} ", c.language.code()), base.fg(Color::Gray)),
        Span::styled(
            format!("{:<9} ", format!("{:?}", c.state).to_lowercase()),
            base.fg(state_color),
        ),
        Span::styled(format!("{:<18} ", truncate(owner, 18)), base),
        Span::styled(format!("{topic}{} ", " ".repeat(topic_pad)), base),
        Span::styled(format!("{:>7}", fmt_duration(c.waiting_ms)), base),
        Span::styled(
            mine.map(|m| format!("  {m}")).unwrap_or_default(),
            base.fg(Color::LightMagenta).add_modifier(Modifier::BOLD),
        ),
    ])
}

// ---------------------------------------------------------------------------------------------
// The filter line
// ---------------------------------------------------------------------------------------------

pub fn is_filter(prompt: &PromptState) -> bool {
    matches!(prompt.purpose, PromptPurpose::WallboardFilter { .. })
}

fn filter_line(app: &App, prompt: &PromptState, frame: &mut Frame, area: Rect) {
    let label = " filter: ";
    let mut help = vec![Span::styled(
        format!(" {} shown ", app.board.rows.len()),
        dim(),
    )];
    help.extend(super::hints(
        app,
        &[Context::Prompt],
        &[(Action::PickerSelect, "apply"), (Action::Cancel, "cancel")],
    ));
    let help_w: usize = help.iter().map(Span::width).sum::<usize>() + 1;
    let [l, input, h] = Layout::horizontal([
        Constraint::Length(width(label) as u16),
        Constraint::Fill(1),
        Constraint::Length(help_w as u16),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(Span::styled(label, key_style())), l);
    frame.render_widget(&prompt.textarea, input);
    frame.render_widget(Paragraph::new(Line::from(help)), h);
}
