//! Prints a model file's stacker coefficients and fitted rule weights (what
//! the model card's tables are made from):
//! `cargo run --release -p moderation-core --example dump_model -- models/default.model`.

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| "models/default.model".into());
    let model = moderation_core::Model::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let d = model.data();
    println!("{} ({} columns, {:?})", model.version(), d.columns.len(), d.features);
    println!("training: {:?}", d.training);
    println!("unwanted: {:?}", d.unwanted);
    for h in &d.heads {
        println!("{} threshold {} metrics {:?}", h.category.as_str(), h.threshold, h.metrics);
    }
    for h in &d.heads {
        println!("\n{} intercept {:+.3}, text coefficients {:?}", h.category.as_str(), h.intercept, h.text_coefs);
        for (n, c) in d.signal_features.iter().zip(&h.signal_coefs) {
            println!("  {n:<32} {c:+.3}");
        }
        for r in &h.rules {
            println!("  | `{}` | {} | {:.2} | {:.2} |", r.id, r.hits, r.hand_weight, r.weight);
        }
    }
}
