//! Run the scripted model server by hand: `cargo run --example model_server -- script.json`.
//! Prints its URL, then one line per request (method, path, whether it took a script turn).

#[path = "../tests/support/model_server.rs"]
mod model_server;

use model_server::{ModelServer, Script};

fn main() {
    let script = match std::env::args().nth(1) {
        Some(path) => {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {path}: {error}"));
            serde_json::from_str::<Script>(&text).unwrap_or_else(|error| panic!("bad script {path}: {error}"))
        }
        None => Script::new(),
    };
    let server = ModelServer::start(script);
    println!("{}", server.url());
    let mut seen = 0;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let requests = server.requests();
        for request in &requests[seen..] {
            eprintln!("{} {} turn={:?} {}", request.method, request.path, request.turn, request.body);
        }
        seen = requests.len();
    }
}
