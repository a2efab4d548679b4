//! The supervisor wallboard as the console keeps it: the hub's latest figures, and how the
//! supervisor looks at them (sort, filter, which list has focus, what is selected).
//!
//! Sorting and filtering happen here, when a `wallboard` frame arrives (about once a second) or
//! the supervisor changes the sort or the filter, never while drawing. The view gets
//! [`WallboardView::rows`] and [`WallboardView::live_rows`], indices in display order, and turns
//! only the rows that fit on the screen into widgets, so drawing costs the same for 10 workers
//! or 1,000. Selections are kept by id: a row that moves when the figures change stays selected.

use std::cmp::{Ordering, Reverse};
use std::collections::HashSet;

use shiftdesk_protocol::{
    ConversationId, ConversationState, LiveConversation, Millis, Wallboard, WallboardWorker,
    WorkerStatus,
};

/// Which list of the wallboard the arrow keys move in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoardFocus {
    #[default]
    Workers,
    /// The live conversations, to pick one to shadow.
    Live,
}

/// The column the workers are sorted by; a key cycles through them in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WorkerSort {
    #[default]
    Name,
    /// Available, break, draining, offline; longest in that status first.
    Status,
    /// Longest in their current status first.
    TimeInStatus,
    /// Most open conversations first.
    Open,
    /// Most missed offers first.
    Missed,
    /// Most declined offers first.
    Declined,
    /// Most rejected drafts first.
    Rejected,
}

impl WorkerSort {
    pub const ALL: [WorkerSort; 7] = [
        WorkerSort::Name,
        WorkerSort::Status,
        WorkerSort::TimeInStatus,
        WorkerSort::Open,
        WorkerSort::Missed,
        WorkerSort::Declined,
        WorkerSort::Rejected,
    ];

    pub fn label(self) -> &'static str {
        match self {
            WorkerSort::Name => "name",
            WorkerSort::Status => "status",
            WorkerSort::TimeInStatus => "time in status",
            WorkerSort::Open => "open",
            WorkerSort::Missed => "missed offers",
            WorkerSort::Declined => "declined offers",
            WorkerSort::Rejected => "rejected drafts",
        }
    }

    pub fn next(self) -> WorkerSort {
        let i = WorkerSort::ALL.iter().position(|s| *s == self).unwrap_or(0);
        WorkerSort::ALL[(i + 1) % WorkerSort::ALL.len()]
    }

    fn compare(self, a: &WallboardWorker, b: &WallboardWorker) -> Ordering {
        match self {
            WorkerSort::Name => Ordering::Equal,
            WorkerSort::Status => status_rank(a.status)
                .cmp(&status_rank(b.status))
                .then(a.since.cmp(&b.since)),
            WorkerSort::TimeInStatus => a.since.cmp(&b.since),
            WorkerSort::Open => Reverse(a.open).cmp(&Reverse(b.open)),
            WorkerSort::Missed => {
                Reverse(a.stats.offers_missed).cmp(&Reverse(b.stats.offers_missed))
            }
            WorkerSort::Declined => {
                Reverse(a.stats.offers_declined).cmp(&Reverse(b.stats.offers_declined))
            }
            WorkerSort::Rejected => {
                Reverse(a.stats.drafts_rejected).cmp(&Reverse(b.stats.drafts_rejected))
            }
        }
    }
}

fn status_rank(status: WorkerStatus) -> u8 {
    match status {
        WorkerStatus::Available => 0,
        WorkerStatus::Break => 1,
        WorkerStatus::Draining => 2,
        WorkerStatus::Offline => 3,
    }
}

/// What the supervisor typed to narrow the workers list: words match a name (or id) as a
/// substring, ignoring case, and must all match; `status:break` keeps one status (several
/// `status:` words keep any of them; a prefix such as `status:av` is enough).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkerFilter {
    pub text: String,
    words: Vec<String>,
    statuses: Vec<WorkerStatus>,
    /// What could not be understood (an unknown status), for the wallboard's title.
    pub problem: Option<String>,
}

impl WorkerFilter {
    pub fn parse(text: &str) -> WorkerFilter {
        let text = text.trim().to_string();
        let mut filter = WorkerFilter {
            text: text.clone(),
            ..WorkerFilter::default()
        };
        for word in text.split_whitespace() {
            let lower = word.to_lowercase();
            if let Some(status) = lower.strip_prefix("status:") {
                let found = [
                    WorkerStatus::Available,
                    WorkerStatus::Break,
                    WorkerStatus::Draining,
                    WorkerStatus::Offline,
                ]
                .into_iter()
                .find(|s| !status.is_empty() && s.label().starts_with(status));
                match found {
                    Some(s) => filter.statuses.push(s),
                    None => {
                        filter.problem = Some(format!(
                            "no status `{status}` (available, break, draining, offline)"
                        ));
                    }
                }
            } else {
                filter.words.push(lower);
            }
        }
        filter
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    pub fn matches(&self, w: &WallboardWorker) -> bool {
        if self.problem.is_some() {
            return false;
        }
        if !self.statuses.is_empty() && !self.statuses.contains(&w.status) {
            return false;
        }
        if self.words.is_empty() {
            return true;
        }
        let name = w.name.to_lowercase();
        let id = w.id.to_lowercase();
        self.words
            .iter()
            .all(|word| name.contains(word.as_str()) || id.contains(word.as_str()))
    }
}

/// A conversation the supervisor took over and is handing back: the wallboard then lists only
/// workers who can take it (connected, with free capacity), and choosing one hands it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandBackTarget {
    pub conversation: ConversationId,
    pub customer: String,
}

/// The wallboard: the hub's figures and the supervisor's way of looking at them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WallboardView {
    /// On screen (the data keeps coming while it is closed, for names and hand-back).
    pub open: bool,
    pub data: Option<Wallboard>,
    /// When the data arrived (console clock).
    pub received_at: Millis,
    pub sort: WorkerSort,
    pub filter: WorkerFilter,
    pub focus: BoardFocus,
    /// Indices into `data.workers`, sorted and filtered: the rows to show, in order.
    pub rows: Vec<usize>,
    /// Indices into `data.live`, in order.
    pub live_rows: Vec<usize>,
    /// Position in `rows` of the selected worker.
    pub selected: usize,
    /// Position in `live_rows` of the selected conversation.
    pub selected_live: usize,
    pub hand_back: Option<HandBackTarget>,
    /// The supervisor's own id: never a hand-back target.
    pub me: String,
}

/// How far one page key moves the selection.
pub const PAGE: usize = 10;

impl WallboardView {
    /// New figures from the hub.
    pub fn set_data(&mut self, data: Wallboard, now: Millis) {
        let worker = self.selected_worker().map(|w| w.id.clone());
        let live = self.selected_live().map(|c| c.id.clone());
        self.data = Some(data);
        self.received_at = now;
        self.refresh(worker, live);
    }

    pub fn cycle_sort(&mut self) {
        self.sort = self.sort.next();
        self.refresh_keeping_selection();
    }

    pub fn set_filter(&mut self, text: &str) {
        if self.filter.text == text.trim() {
            return;
        }
        self.filter = WorkerFilter::parse(text);
        self.refresh_keeping_selection();
    }

    pub fn toggle_focus(&mut self) {
        self.focus = match self.focus {
            BoardFocus::Workers => BoardFocus::Live,
            BoardFocus::Live => BoardFocus::Workers,
        };
    }

    /// Open the wallboard to choose whom to hand `conversation` back to.
    pub fn start_hand_back(&mut self, target: HandBackTarget) {
        self.hand_back = Some(target);
        self.open = true;
        self.focus = BoardFocus::Workers;
        self.refresh(None, None);
        self.selected = 0;
    }

    pub fn close(&mut self) {
        self.open = false;
        if self.hand_back.take().is_some() {
            self.refresh_keeping_selection();
        }
    }

    /// Move the selection of the focused list by `delta` rows, stopping at the ends.
    pub fn move_selection(&mut self, delta: isize) {
        let (selected, len) = match self.focus {
            BoardFocus::Workers => (&mut self.selected, self.rows.len()),
            BoardFocus::Live => (&mut self.selected_live, self.live_rows.len()),
        };
        let max = len.saturating_sub(1) as isize;
        *selected = (*selected as isize + delta).clamp(0, max) as usize;
    }

    pub fn selected_worker(&self) -> Option<&WallboardWorker> {
        let data = self.data.as_ref()?;
        data.workers.get(*self.rows.get(self.selected)?)
    }

    pub fn selected_live(&self) -> Option<&LiveConversation> {
        let data = self.data.as_ref()?;
        data.live.get(*self.live_rows.get(self.selected_live)?)
    }

    /// How many workers there are in all (before the filter).
    pub fn total_workers(&self) -> usize {
        self.data.as_ref().map(|d| d.workers.len()).unwrap_or(0)
    }

    /// The live conversations owned by the worker with this display name.
    pub fn live_of(&self, worker_name: &str) -> Vec<&LiveConversation> {
        self.data
            .as_ref()
            .map(|d| {
                d.live
                    .iter()
                    .filter(|c| c.owner.as_deref() == Some(worker_name))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A live conversation as the last frame had it.
    pub fn live_entry(&self, conversation: &str) -> Option<&LiveConversation> {
        let data = self.data.as_ref()?;
        data.live.iter().find(|c| c.id == conversation)
    }

    /// A worker's id by display name.
    pub fn id_of(&self, name: &str) -> Option<&str> {
        let data = self.data.as_ref()?;
        data.workers
            .iter()
            .find(|w| w.name == name)
            .map(|w| w.id.as_str())
    }

    /// A worker's display name by id.
    pub fn name_of(&self, worker: &str) -> Option<&str> {
        let data = self.data.as_ref()?;
        data.workers
            .iter()
            .find(|w| w.id == worker)
            .map(|w| w.name.as_str())
    }

    /// Can this worker take a conversation handed back now?
    pub fn can_take(&self, w: &WallboardWorker) -> bool {
        w.connected && w.open < w.capacity && w.id != self.me
    }

    fn refresh_keeping_selection(&mut self) {
        let worker = self.selected_worker().map(|w| w.id.clone());
        let live = self.selected_live().map(|c| c.id.clone());
        self.refresh(worker, live);
    }

    /// Recompute the rows; select the same worker and conversation again where they still are.
    fn refresh(&mut self, worker: Option<String>, live: Option<String>) {
        let Some(data) = &self.data else {
            self.rows.clear();
            self.live_rows.clear();
            return;
        };
        let hand_back = self.hand_back.is_some();
        let mut rows: Vec<usize> = (0..data.workers.len())
            .filter(|&i| {
                let w = &data.workers[i];
                self.filter.matches(w) && (!hand_back || self.can_take(w))
            })
            .collect();
        let names: Vec<String> = data.workers.iter().map(|w| w.name.to_lowercase()).collect();
        let sort = self.sort;
        rows.sort_by(|&a, &b| {
            let (wa, wb) = (&data.workers[a], &data.workers[b]);
            sort.compare(wa, wb)
                .then_with(|| names[a].cmp(&names[b]))
                .then_with(|| wa.id.cmp(&wb.id))
        });

        // With a filter, the conversations of the workers shown; without, all of them.
        let shown: Option<HashSet<&str>> = (!self.filter.is_empty()).then(|| {
            rows.iter()
                .map(|&i| data.workers[i].name.as_str())
                .collect()
        });
        let mut live_rows: Vec<usize> = (0..data.live.len())
            .filter(|&i| match &shown {
                None => true,
                Some(names) => data.live[i]
                    .owner
                    .as_deref()
                    .is_some_and(|o| names.contains(o)),
            })
            .collect();
        live_rows.sort_by(|&a, &b| {
            let (ca, cb) = (&data.live[a], &data.live[b]);
            live_rank(ca.state)
                .cmp(&live_rank(cb.state))
                .then(Reverse(ca.waiting_ms).cmp(&Reverse(cb.waiting_ms)))
                .then_with(|| ca.id.cmp(&cb.id))
        });

        self.selected = reselect(&rows, self.selected, worker.as_deref(), |i| {
            data.workers[i].id.as_str()
        });
        self.selected_live = reselect(&live_rows, self.selected_live, live.as_deref(), |i| {
            data.live[i].id.as_str()
        });
        self.rows = rows;
        self.live_rows = live_rows;
    }
}

/// Waiting conversations first (nobody is with the customer), then offered, then with a person.
fn live_rank(state: ConversationState) -> u8 {
    match state {
        ConversationState::Queued => 0,
        ConversationState::Offered => 1,
        ConversationState::Assigned => 2,
        _ => 3,
    }
}

/// Where the row with `id` is now; else the same position, within bounds.
fn reselect<'a>(
    rows: &[usize],
    at: usize,
    id: Option<&str>,
    id_of: impl Fn(usize) -> &'a str,
) -> usize {
    if let Some(id) = id
        && let Some(pos) = rows.iter().position(|&i| id_of(i) == id)
    {
        return pos;
    }
    at.min(rows.len().saturating_sub(1))
}

/// The first row to draw so that `selected` is visible in a window of `height` rows: it stays
/// in the middle once the list is scrolled, and the window never runs past the end. A pure
/// function of its inputs, so the view needs no scroll state of its own.
pub fn scroll_offset(selected: usize, len: usize, height: usize) -> usize {
    if height == 0 || len <= height {
        return 0;
    }
    selected.saturating_sub(height / 2).min(len - height)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shiftdesk_protocol::Lang;
    use shiftdesk_protocol::WorkerStats;

    fn worker(
        id: &str,
        status: WorkerStatus,
        since: Millis,
        open: u32,
        missed: u32,
    ) -> WallboardWorker {
        WallboardWorker {
            role: shiftdesk_protocol::Role::Worker,
            id: id.into(),
            name: id.to_uppercase(),
            status,
            connected: status != WorkerStatus::Offline,
            since,
            open,
            capacity: 2,
            stats: WorkerStats {
                offers_missed: missed,
                ..WorkerStats::default()
            },
        }
    }

    fn live(
        id: &str,
        state: ConversationState,
        owner: Option<&str>,
        waiting_ms: u64,
    ) -> LiveConversation {
        LiveConversation {
            id: id.into(),
            state,
            language: Lang::En,
            owner: owner.map(str::to_string),
            intent: "refund_status".into(),
            waiting_ms,
        }
    }

    fn board() -> WallboardView {
        let mut board = WallboardView {
            me: "sup".into(),
            ..WallboardView::default()
        };
        board.set_data(
            Wallboard {
                at: 0,
                workers: vec![
                    worker("cat", WorkerStatus::Break, 300, 0, 4),
                    worker("ann", WorkerStatus::Available, 100, 2, 0),
                    worker("bob", WorkerStatus::Available, 50, 1, 2),
                    worker("sup", WorkerStatus::Available, 10, 0, 0),
                ],
                queues: vec![],
                live: vec![
                    live("c1", ConversationState::Assigned, Some("ANN"), 10),
                    live("c2", ConversationState::Queued, None, 5),
                    live("c3", ConversationState::Assigned, Some("BOB"), 99),
                    live("c4", ConversationState::Queued, None, 50),
                ],
                slots: vec![],
            },
            0,
        );
        board
    }

    fn names(board: &WallboardView) -> Vec<&str> {
        let data = board.data.as_ref().unwrap();
        board
            .rows
            .iter()
            .map(|&i| data.workers[i].id.as_str())
            .collect()
    }

    fn live_ids(board: &WallboardView) -> Vec<&str> {
        let data = board.data.as_ref().unwrap();
        board
            .live_rows
            .iter()
            .map(|&i| data.live[i].id.as_str())
            .collect()
    }

    #[test]
    fn sorts_cycle_through_the_columns() {
        let mut board = board();
        assert_eq!(names(&board), ["ann", "bob", "cat", "sup"]);
        board.cycle_sort();
        assert_eq!(board.sort, WorkerSort::Status);
        assert_eq!(
            names(&board),
            ["sup", "bob", "ann", "cat"],
            "available longest first"
        );
        board.cycle_sort();
        assert_eq!(names(&board), ["sup", "bob", "ann", "cat"]);
        board.cycle_sort();
        assert_eq!(board.sort, WorkerSort::Open);
        assert_eq!(names(&board), ["ann", "bob", "cat", "sup"]);
        board.cycle_sort();
        assert_eq!(board.sort, WorkerSort::Missed);
        assert_eq!(names(&board), ["cat", "bob", "ann", "sup"]);
        for _ in 0..3 {
            board.cycle_sort();
        }
        assert_eq!(board.sort, WorkerSort::Name, "wraps around");
    }

    #[test]
    fn filter_by_name_and_status_and_say_what_is_wrong() {
        let mut board = board();
        board.set_filter("status:break");
        assert_eq!(names(&board), ["cat"]);
        assert!(live_ids(&board).is_empty(), "cat has no conversation");
        board.set_filter("B");
        assert_eq!(names(&board), ["bob"]);
        assert_eq!(live_ids(&board), ["c3"], "only bob's conversations");
        board.set_filter("status:av status:br");
        assert_eq!(names(&board), ["ann", "bob", "cat", "sup"]);
        board.set_filter("status:av n");
        assert_eq!(names(&board), ["ann"]);
        board.set_filter("status:lunch");
        assert!(names(&board).is_empty());
        assert!(board.filter.problem.as_deref().unwrap().contains("lunch"));
        board.set_filter("");
        assert_eq!(names(&board).len(), 4);
        assert_eq!(
            live_ids(&board),
            ["c4", "c2", "c3", "c1"],
            "waiting first, longest first"
        );
    }

    #[test]
    fn the_selection_follows_its_row_when_figures_change() {
        let mut board = board();
        board.move_selection(1);
        assert_eq!(board.selected_worker().unwrap().id, "bob");
        board.focus = BoardFocus::Live;
        board.move_selection(2);
        assert_eq!(board.selected_live().unwrap().id, "c3");
        let mut data = board.data.clone().unwrap();
        data.workers.retain(|w| w.id != "ann");
        data.live.retain(|c| c.id != "c4");
        board.set_data(data, 1_000);
        assert_eq!(board.selected_worker().unwrap().id, "bob");
        assert_eq!(board.selected_live().unwrap().id, "c3");
        board.move_selection(-100);
        assert_eq!(board.selected_live, 0, "stops at the top");
        board.move_selection(100);
        assert_eq!(board.selected_live, 2, "stops at the bottom");
    }

    #[test]
    fn hand_back_lists_only_workers_who_can_take_it() {
        let mut board = board();
        board.start_hand_back(HandBackTarget {
            conversation: "c9".into(),
            customer: "Maria".into(),
        });
        assert_eq!(
            names(&board),
            ["bob", "cat"],
            "ann is full and sup is me; cat is on break but connected"
        );
        board.close();
        assert_eq!(names(&board).len(), 4);
        assert!(!board.open);
    }

    #[test]
    fn scrolling_keeps_the_selection_in_view() {
        assert_eq!(scroll_offset(0, 5, 10), 0);
        assert_eq!(scroll_offset(3, 300, 10), 0);
        assert_eq!(scroll_offset(150, 300, 10), 145);
        assert_eq!(scroll_offset(299, 300, 10), 290);
        assert_eq!(scroll_offset(5, 300, 0), 0);
        for selected in 0..300 {
            let top = scroll_offset(selected, 300, 7);
            assert!(top <= selected && selected < top + 7 && top + 7 <= 300);
        }
    }
}
