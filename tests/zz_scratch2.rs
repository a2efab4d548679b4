use shiftdesk::drafting::kb::KnowledgeBase;
#[test]
fn errs() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("broken.toml"),
        "id = \"broken\"\nintent = = 3\n",
    )
    .unwrap();
    println!("ERR1 {}", KnowledgeBase::from_dir(d.path()).unwrap_err());
    std::fs::write(d.path().join("broken.toml"), "id = \"broken\"\nintent = \"x\"\ntitle = {en=\"a\"}\n[keywords]\nen=[\"a\"]\n[answer]\nen=\"a\"").unwrap();
    println!("ERR2 {}", KnowledgeBase::from_dir(d.path()).unwrap_err());
    std::fs::write(d.path().join("broken.toml"), "id = \"broken\"\n").unwrap();
    println!("ERR3 {}", KnowledgeBase::from_dir(d.path()).unwrap_err());
    println!(
        "ERR4 {}",
        KnowledgeBase::from_dir("/nonexistent/kb").unwrap_err()
    );
}
