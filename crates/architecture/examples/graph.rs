//! Prints a crate's import circles (and with `--edges` every import, with `--externals` the
//! other crates each module names):
//! `cargo run -p architecture --example graph -- crates/relay/src/lib.rs --edges`.
fn main() {
    let root = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "crates/relay/src/lib.rs".into());
    let graph = match architecture::Graph::load(std::path::Path::new(&root)) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let show_edges = std::env::args().any(|a| a == "--edges");
    if std::env::args().any(|a| a == "--externals") {
        for (module, names) in graph.externals() {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            println!("{module}: {}", names.join(", "));
        }
    }
    if show_edges {
        for e in graph.edges() {
            println!("{} -> {}   ({})", e.from, e.to, e.via);
        }
    }
    for (i, c) in graph.cycles().iter().enumerate() {
        let mut names: Vec<&str> = c.iter().map(|e| e.from.as_str()).collect();
        names.sort();
        names.dedup();
        println!("circle {i}: {} modules: {}", names.len(), names.join(", "));
        for e in c {
            println!("    {} -> {}   ({})", e.from, e.to, e.via);
        }
    }
}
