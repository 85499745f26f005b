use std::time::Instant;
fn generated(statements: usize) -> String {
    let mut text = String::from(
        "task {\n  prompt \"Fix it.\"\n  agent command \"true\"\n}\npermissions {\n  write \"src/**\"\n  deny irreversible\n}\nlimits { timeout 6h; attempts 5; stuck 3; idle 45m; cost $5 }\n",
    );
    text.push_str("success {\n");
    for i in 0..statements / 2 {
        text.push_str(&format!("  count /warning {i}: [a-z]+/ in \"grep -r x src\" <= {i}  # check {i}\n"));
    }
    text.push_str("}\nnotify {\n");
    for i in 0..statements / 2 {
        text.push_str(&format!("  webhook \"http://127.0.0.1:9/{i}\" on end failure\n"));
    }
    text.push_str("}\n");
    text
}
fn main() {
    let text = generated(10_000);
    println!("bytes {}", text.len());
    let env = |n: &str| (n == "PATH").then(|| "/usr/bin:/bin".to_string());
    let dir = tempfile::tempdir().unwrap();
    let source = night::source::Source::new(dir.path().join("large.night"), text.clone());
    for _ in 0..3 {
        let t = Instant::now();
        let (statements, _) = night::syntax::parse_statements(&text).unwrap();
        let a = t.elapsed();
        let t = Instant::now();
        let parsed = night::syntax::parse(&source);
        let b = t.elapsed();
        let t = Instant::now();
        let out = night::check::check_parsed(&source, parsed, &env, &night::check::Machine);
        let c = t.elapsed();
        let t = Instant::now();
        let mut n = 0; for line in text.lines() { n += line.split_whitespace().count(); }
        let d = t.elapsed();
        println!("pest+tree {:?} parse(all) {:?} check {:?} scan {:?} ({} stmts, {} diags, {n})", a, b, c, d, statements.len(), out.diagnostics.len());
    }
}
