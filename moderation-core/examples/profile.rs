//! Scores a typical 1 KB post in a loop, for profilers:
//! `cargo run --release -p moderation-core --example profile -- 20000`.
//! With `MODEL=models/default.model` the model is stacked on the rules.

use moderation_core::{Engine, Post};

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let body = "Hi all, my withdrawal to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq has been pending for two days. \
        I opened a ticket and support said the network is congested, see https://mempool.space for fees. \
        出金が二日間保留のままです。サポートに問い合わせましたが、まだ返事がありません。 \
        Is there anything else I can do? The app shows 'processing' and the txid is not visible yet. \
        I also tried the web version on https://www.binance.com/en/my/wallet but it looks the same. \
        Thanks in advance, and sorry for my English — 日本語でも大丈夫です。 Hi all, my withdrawal to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq \
        has been pending for two days. I opened a ticket and support said the network is congested, see https://mempool.space for \
        fees. 出金が二日間保留のままです。サポートに問い合わせましたが、まだ返事がありません。 Is there anything else I can do?";
    let mut builder = Engine::builder();
    if let Ok(path) = std::env::var("MODEL") {
        builder = builder.model(std::sync::Arc::new(moderation_core::Model::load(path).expect("model loads")));
    }
    let engine = builder.build().expect("default pack");
    let post = Post::new("p", body);
    let start = std::time::Instant::now();
    let mut signals = 0;
    for _ in 0..n {
        signals += engine.score(std::hint::black_box(&post)).signals.len();
    }
    let per = start.elapsed() / n as u32;
    println!("{} bytes, {n} posts, {per:?} per post, {signals} signals", body.len());
}
