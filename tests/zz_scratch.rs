use shiftdesk::drafting::kb::KnowledgeBase;
use shiftdesk::hub::triage::triage;
use shiftdesk::lang::detect;
#[test]
fn scratch() {
    let kb = KnowledgeBase::builtin();
    let text = std::fs::read_to_string("/tmp/scratch/msgs.txt").unwrap();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let d = triage(&kb, line, None);
        let m = kb.search(line, d.language);
        let top: Vec<String> = m
            .iter()
            .take(2)
            .map(|m| format!("{}={:.2}{:?}", m.article_id, m.score, m.matched))
            .collect();
        println!(
            "{:<70} | {} | {} | {}",
            line,
            detect(line, None),
            d.reason.explain(),
            top.join(" ")
        );
    }
}
