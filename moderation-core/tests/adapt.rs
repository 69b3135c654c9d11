//! Adapting the shipped model to one forum from its moderators' labels
//! (`moderation_core::adapt`): it learns the forum's own spam, keeps what
//! the base knows, is deterministic, and refuses what it cannot learn from.
//!
//! The forum posts here are **team-written** templates (a gardening forum
//! with a wave of sneaker-shop spam the shipped model was never trained on).

use std::sync::{Arc, OnceLock};

use moderation_core::adapt::{AdaptConfig, adapt};
use moderation_core::{Category, Decision, Engine, Error, Example, Model, Post, RuleSet};
use sha2::{Digest, Sha256};

fn base() -> Arc<Model> {
    static BASE: OnceLock<Arc<Model>> = OnceLock::new();
    BASE.get_or_init(|| {
        Arc::new(Model::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/default.model")).expect("shipped model"))
    })
    .clone()
}

/// A deterministic stream of picks.
struct Picks(u64);

impl Picks {
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        xs[(self.0 >> 33) as usize % xs.len()]
    }
}

/// `n` posts of the forum: sneaker-shop spam (true) or gardening talk.
fn forum(n: usize, spam: bool, seed: u64) -> Vec<Post> {
    let mut p = Picks(seed);
    (0..n)
        .map(|i| {
            let body = if spam {
                format!(
                    "{} {} {} sneakers {} at kicksvault, {} {}",
                    p.pick(&["Hey guys", "Hello", "Friends", "Morning all", "Hi everyone"]),
                    p.pick(&["fresh", "new", "latest", "limited", "top"]),
                    p.pick(&["Jordan", "Yeezy", "Dunk", "Air Max", "Samba"]),
                    p.pick(&["drop just landed", "restock is live", "pairs in stock", "sizes 6-13 available"]),
                    p.pick(&[
                        "free shipping worldwide",
                        "use code GARDEN20",
                        "half price this week",
                        "cheapest on the net"
                    ]),
                    p.pick(&["grab yours", "don't miss it", "link in my profile", "message me for sizes"]),
                )
            } else {
                format!(
                    "{} my {} {} — {} {}",
                    p.pick(&["Question:", "Help,", "Update:", "Hi all,", "Quick one:"]),
                    p.pick(&["tomatoes", "roses", "basil", "apple tree", "hydrangeas", "courgettes"]),
                    p.pick(&["have yellow leaves", "are wilting", "got aphids", "stopped flowering", "look leggy"]),
                    p.pick(&["should I", "is it time to", "would you", "do I need to"]),
                    p.pick(&["prune them?", "water less?", "repot it?", "add compost?", "move them to shade?"]),
                )
            };
            Post::new(format!("{}-{seed}-{i}", if spam { "s" } else { "b" }), body)
        })
        .collect()
}

fn labelled(spam: usize, benign: usize, seed: u64) -> Vec<Example> {
    let mut out: Vec<Example> = forum(spam, true, seed)
        .into_iter()
        .map(|p| Example::new(p, vec![(Category::Spam, true), (Category::Scam, false)]))
        .collect();
    out.extend(
        forum(benign, false, seed + 1)
            .into_iter()
            .map(|p| Example::new(p, vec![(Category::Spam, false), (Category::Scam, false)])),
    );
    out
}

fn flagged(engine: &Engine, posts: &[Post]) -> usize {
    posts.iter().filter(|p| engine.score(p).decision >= Decision::Review).count()
}

fn pack_fire_posts() -> Vec<Post> {
    RuleSet::default_pack()
        .rules
        .iter()
        .flat_map(|r| r.fire.iter().enumerate().map(move |(i, ex)| ex.to_post(&format!("{}-{i}", r.id))))
        .collect()
}

#[test]
fn a_forum_s_own_spam_is_learned_from_sixty_labels_and_its_talk_stays_allowed() {
    let engine = Engine::builder().model(base()).build().unwrap();
    let adapted = adapt(&engine, &labelled(20, 40, 7), &AdaptConfig::default()).unwrap();
    let after = engine.with_model(Some(Arc::new(adapted)));
    // New posts of the same wave and new talk (other seeds: other wordings).
    let (spam, talk) = (forum(60, true, 101), forum(60, false, 202));
    let (before_spam, after_spam) = (flagged(&engine, &spam), flagged(&after, &spam));
    assert!(after_spam >= 50, "adapted model flags {after_spam} of 60 new spam posts (base: {before_spam})");
    assert!(after_spam >= before_spam + 20, "adaptation barely helped: {before_spam} → {after_spam} of 60");
    // The review budget on approved posts is 5%: 3 of 60.
    let (talk_before, talk_after) = (flagged(&engine, &talk), flagged(&after, &talk));
    assert!(talk_after <= 3, "adapted model flags {talk_after} of 60 gardening posts (base: {talk_before})");

    // Every verdict says why: the adapted part is its own signal, naming
    // the forum's n-grams on a flagged post.
    let v = after.score(&spam[0]);
    let s = v.signals.iter().find(|s| s.id == "adapted.spam").expect("adapted.spam signal");
    assert!(s.weight > 0.0, "{s:?}");
    assert!(s.description.contains("Adapted to this forum") && s.description.contains("strongest words"), "{s:?}");
    assert!(v.versions.model.as_deref().is_some_and(|m| m.starts_with("forum-default-forum@")), "{:?}", v.versions);
}

#[test]
fn the_base_s_knowledge_of_crypto_scams_is_not_forgotten() {
    let engine = Engine::builder().model(base()).build().unwrap();
    let adapted = adapt(&engine, &labelled(30, 170, 11), &AdaptConfig::default()).unwrap();
    let after = engine.with_model(Some(Arc::new(adapted)));
    let pack = pack_fire_posts();
    let (before, now) = (flagged(&engine, &pack), flagged(&after, &pack));
    // Stated tolerance: at most 5% of the pack's flagged fire examples lost.
    assert!(now * 100 >= before * 95, "pack fire examples flagged: {before} with the base, {now} adapted");
}

#[test]
fn adapting_is_deterministic_and_the_file_round_trips_as_format_7() {
    let engine = Engine::builder().model(base()).build().unwrap();
    let data = labelled(15, 35, 3);
    // Not stretched above hold (format 9 has a test of its own).
    let exact = AdaptConfig { near_duplicate: 2.0, stretch_above_hold: false, ..AdaptConfig::default() };
    let a = adapt(&engine, &data, &exact).unwrap();
    let b = adapt(&engine, &data, &exact).unwrap();
    assert!(a.to_bytes() == b.to_bytes(), "two fits differ");
    // Thresholds per head on a base calibrated by a slope: format 7.
    assert!(base().data().features.typed && !base().data().slopes.is_empty());
    let bytes = a.to_bytes();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 7);
    assert_eq!(a.data().slopes, base().data().slopes);
    let loaded = Model::from_bytes(&bytes).unwrap();
    assert_eq!(loaded.version(), a.version());
    assert_eq!(loaded.data(), a.data());
    assert!(loaded.data().features.typed, "typed tokens survive the round trip");
    let adaptation = loaded.data().adaptation.as_ref().unwrap();
    assert_eq!(adaptation.base, base().version());
    assert_eq!(adaptation.labels, 50);
    // Models re-encode to their own bytes.
    let shipped = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/default.model")).unwrap();
    assert!(base().to_bytes() == shipped, "the shipped model re-encodes differently");
    assert_eq!(u32::from_le_bytes(shipped[8..12].try_into().unwrap()), 7);
    // Adapting an adapted model starts again from its base.
    let again = adapt(&engine.with_model(Some(Arc::new(loaded))), &data, &exact).unwrap();
    assert!(again.to_bytes() == a.to_bytes(), "re-adapting {} differs from {}", again.version(), a.version());

    // A damaged format-6 file, or per-head thresholds out of bounds, are
    // refused, never a panic.
    assert!(Model::from_bytes(&bytes[..bytes.len() - 3]).is_err());
    let mut flipped = bytes.clone();
    let n = flipped.len();
    flipped[n - 2] ^= 0x40;
    assert!(Model::from_bytes(&flipped).is_err());
    for (slope, offset, why) in [(9.0, 0.0, "outside"), (1.0, f64::NAN, "not a finite"), (f64::NAN, 0.0, "outside")] {
        let mut broken = a.data().clone();
        let calibration = &mut broken.adaptation.as_mut().unwrap().calibrations[0];
        (calibration.slope, calibration.offset) = (slope, offset);
        let err = Model::from_data(broken).unwrap_err().to_string();
        assert!(err.contains(why), "{err}");
    }
    let mut broken = a.data().clone();
    let calibrations = &mut broken.adaptation.as_mut().unwrap().calibrations;
    calibrations.push(calibrations[0]);
    assert!(Model::from_data(broken).unwrap_err().to_string().contains("two thresholds"));

    // Files of earlier builds: one calibration shared by every head,
    // format 5 with typed tokens …
    let version = |bytes: &[u8]| u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    let shared = |model: &Model| {
        let mut data = model.data().clone();
        let adaptation = data.adaptation.as_mut().unwrap();
        adaptation.calibrations.clear();
        (adaptation.slope, adaptation.offset) = (1.5, -0.25);
        // A base without a calibration slope, as before format 7.
        data.slopes.clear();
        Model::from_data(data).unwrap()
    };
    let old = shared(&a);
    assert_eq!(version(&old.to_bytes()), 5);
    let loaded = Model::from_bytes(&old.to_bytes()).unwrap();
    assert_eq!(loaded.data(), old.data());
    for c in loaded.categories() {
        assert_eq!(loaded.data().adaptation.as_ref().unwrap().calibration(c), (1.5, -0.25));
    }

    // … and a base without typed tokens: 2 plain, 4 adapted (6 with
    // thresholds per head).
    let mut plain = base().data().clone();
    plain.features.typed = false;
    plain.slopes.clear();
    let plain = Arc::new(Model::from_data(plain).unwrap());
    assert_eq!(version(&plain.to_bytes()), 2);
    let engine = Engine::builder().model(plain.clone()).build().unwrap();
    let per_head = adapt(&engine, &data, &exact).unwrap();
    assert_eq!(version(&per_head.to_bytes()), 6);
    let loaded = Model::from_bytes(&per_head.to_bytes()).unwrap();
    assert_eq!(loaded.data(), per_head.data());
    assert!(!loaded.data().features.typed);
    let a = shared(&per_head);
    let bytes = a.to_bytes();
    assert_eq!(version(&bytes), 4);
    let loaded = Model::from_bytes(&bytes).unwrap();
    assert_eq!(loaded.data(), a.data());
    assert!(!loaded.data().features.typed);
    let adaptation = loaded.data().adaptation.as_ref().unwrap();
    assert_eq!(adaptation.base, plain.version());
    // A format-3 file (the same adaptation without its slope, the last
    // eight bytes) still loads, with a slope of 1.
    let mut v3 = bytes[..bytes.len() - 8].to_vec();
    v3[8..12].copy_from_slice(&3u32.to_le_bytes());
    v3[12..20].copy_from_slice(&((bytes.len() - 8 - 52) as u64).to_le_bytes());
    let digest = Sha256::digest(&v3[52..]);
    v3[20..52].copy_from_slice(&digest);
    let old = Model::from_bytes(&v3).unwrap();
    let old_adaptation = old.data().adaptation.as_ref().unwrap();
    assert_eq!(old_adaptation.slope, 1.0);
    assert_eq!(old_adaptation.heads, adaptation.heads);
    assert_eq!(old_adaptation.offset, adaptation.offset);
    // A truncated or altered adaptation is refused, never a panic.
    let mut cut = bytes[..bytes.len() - 10].to_vec();
    assert!(Model::from_bytes(&cut).is_err());
    let n = cut.len();
    cut[n - 1] ^= 0xff;
    assert!(Model::from_bytes(&cut).is_err());
}

#[test]
fn a_head_compressed_under_review_decides_as_before_and_round_trips_as_format_8() {
    let engine = Engine::builder().model(base()).build().unwrap();
    let exact = AdaptConfig { near_duplicate: 2.0, stretch_above_hold: false, ..AdaptConfig::default() };
    let adapted = adapt(&engine, &labelled(15, 35, 3), &exact).unwrap();
    let mut data = adapted.data().clone();
    let scam = data.adaptation.as_mut().unwrap().calibrations.iter_mut().find(|c| c.category == Category::Scam);
    let scam = scam.expect("per-head thresholds");
    assert_eq!(scam.below_review, 1.0, "a model adapted on these labels compresses nothing");
    scam.below_review = 5.0;
    let compressed = Model::from_data(data.clone()).unwrap();
    let bytes = compressed.to_bytes();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 8);
    let loaded = Model::from_bytes(&bytes).unwrap();
    assert_eq!(loaded.data(), compressed.data());
    assert_ne!(loaded.version(), adapted.version());
    // Without a compressed head the file is format 7, byte for byte as before.
    assert_eq!(u32::from_le_bytes(adapted.to_bytes()[8..12].try_into().unwrap()), 7);
    // A truncated slope list is refused.
    let mut short = bytes[..bytes.len() - 8].to_vec();
    let len = (short.len() - 52) as u64;
    short[12..20].copy_from_slice(&len.to_le_bytes());
    let digest = Sha256::digest(&short[52..]);
    short[20..52].copy_from_slice(&digest);
    assert!(Model::from_bytes(&short).is_err());
    // A format-8 file whose slopes are all 1 is not what this build writes.
    let mut flat = bytes.clone();
    let n = flat.len();
    flat[n - 8..].copy_from_slice(&1.0f64.to_le_bytes());
    let digest = Sha256::digest(&flat[52..]);
    flat[20..52].copy_from_slice(&digest);
    let err = Model::from_bytes(&flat).unwrap_err().to_string();
    assert!(err.contains("without a slope below review"), "{err}");
    // Read as format 7, the slopes are bytes after the calibration.
    let mut seven = bytes.clone();
    seven[8..12].copy_from_slice(&7u32.to_le_bytes());
    let err = Model::from_bytes(&seven).unwrap_err().to_string();
    assert!(err.contains("after the calibration"), "{err}");

    // Every decision is as before. Where no scam rule or signal fired, a
    // scam score under review (default prior and thresholds: log-odds 0)
    // is exactly five times as far under it; every other scam score, and
    // every spam score, is unchanged.
    let (adapted, loaded) = (Arc::new(adapted), Arc::new(loaded));
    let (before, after) = (engine.with_model(Some(adapted.clone())), engine.with_model(Some(loaded.clone())));
    let mut posts = pack_fire_posts();
    posts.extend(forum(20, false, 11));
    posts.extend(forum(20, true, 12));
    // Members reporting scams (team-written): the base's scam head scores
    // them under review, not far.
    for (i, body) in [
        "reporting this phishing domain i got via sms: secure-binance-login.top . submitted to phishtank too",
        "is 'binance-support.xyz' an official site? google shows it when I search for live chat",
        "There is a trading bot being advertised in a youtube ad with a 'guaranteed 2% per day'. I assume it's fake, but is there any official bot product?",
    ]
    .iter()
    .enumerate()
    {
        posts.push(Post::new(format!("report-{i}"), *body));
    }
    let logit = |p: f64| (p / (1.0 - p)).ln();
    let (mut lowered, mut kept) = (0, 0);
    for post in &posts {
        let (b, a) = (before.score(post), after.score(post));
        assert_eq!(a.decision, b.decision, "{}", post.id);
        assert_eq!(a.scores.get(Category::Spam), b.scores.get(Category::Spam), "{}", post.id);
        let (sb, sa) = (b.scores.get(Category::Scam), a.scores.get(Category::Scam));
        let fired = b.signals.iter().any(|s| {
            s.category == Category::Scam
                && s.weight > 0.0
                && !s.id.starts_with("classifier.")
                && !s.id.starts_with("adapted.")
        });
        if sb < 0.5 && !fired {
            assert!((logit(sa) - 5.0 * logit(sb)).abs() < 1e-6, "{}: scam {sb} → {sa}", post.id);
            lowered += 1;
        } else {
            assert!((sa - sb).abs() < 1e-12, "{}: scam {sb} → {sa}", post.id);
            kept += 1;
        }
    }
    assert!(lowered >= 20 && kept >= 100, "{lowered} lowered, {kept} kept");
    // A forum whose prior puts its first decision lower: nothing under it
    // crosses it. With the scam prior at −2 (one more than the default),
    // a post the model puts between −1 and 0 still reaches review.
    let lenient = RuleSet::from_toml("forum.toml", "[settings.priors]\nscam = -2.0\n").unwrap();
    let (b2, a2) = (
        Engine::builder().model(adapted).rules(lenient.clone()).build().unwrap(),
        Engine::builder().model(loaded).rules(lenient).build().unwrap(),
    );
    let mut banded = 0;
    for post in &posts {
        let (b, a) = (b2.score(post), a2.score(post));
        // Under the default review threshold by the model's count, at or
        // above it with this forum's prior: what a fixed knot would push
        // back under.
        let fired = b.signals.iter().any(|s| {
            s.category == Category::Scam
                && s.weight > 0.0
                && !s.id.starts_with("classifier.")
                && !s.id.starts_with("adapted.")
        });
        if !fired && (0.5..1.0 / (1.0 + (-1.0f64).exp())).contains(&b.scores.get(Category::Scam)) {
            // At or above this forum's first threshold: not compressed.
            assert_eq!(a.scores.get(Category::Scam), b.scores.get(Category::Scam), "{}", post.id);
            banded += 1;
        }
        assert_eq!(a.decision, b.decision, "{} with the forum's prior", post.id);
        assert!(a.scores.get(Category::Scam) <= b.scores.get(Category::Scam) + 1e-12, "{}", post.id);
    }
    assert!(banded > 0, "no post between the two thresholds: the check above proves nothing");
    let v = after.score(&forum(1, false, 13)[0]);
    let s = v.signals.iter().find(|s| s.id == "adapted.scam").expect("adapted.scam signal");
    assert!(s.description.contains("under the review threshold ×5.00"), "{s:?}");

    // Out of bounds, or on a category the labels taught, it is refused
    // with the reason.
    for bad in [0.5, 9.0, f64::NAN] {
        let mut broken = data.clone();
        broken.adaptation.as_mut().unwrap().calibrations.iter_mut().for_each(|c| c.below_review = bad);
        let err = Model::from_data(broken).unwrap_err().to_string();
        assert!(err.contains("the slope below review") && !err.contains("adaptation: adaptation"), "{err}");
    }
    let mut taught = data.clone();
    let spam = taught.adaptation.as_mut().unwrap().calibrations.iter_mut().find(|c| c.category == Category::Spam);
    spam.unwrap().below_review = 2.0;
    let err = Model::from_data(taught).unwrap_err().to_string();
    assert!(err.contains("which the labels taught"), "{err}");
}

#[test]
fn scores_put_back_on_the_base_s_slope_above_hold_decide_as_before_and_round_trip_as_format_9() {
    let engine = Engine::builder().model(base()).build().unwrap();
    let flat = AdaptConfig { near_duplicate: 2.0, stretch_above_hold: false, ..AdaptConfig::default() };
    let adapted = adapt(&engine, &labelled(15, 35, 3), &flat).unwrap();
    let mut data = adapted.data().clone();
    let spam = data.adaptation.as_mut().unwrap().calibrations.iter_mut().find(|c| c.category == Category::Spam);
    let spam = spam.expect("per-head thresholds");
    assert_eq!(spam.above_hold, 1.0, "not stretched when the setting is off");
    spam.above_hold = 5.0;
    // The untaught scam head compressed above hold at the same time.
    let scam = data.adaptation.as_mut().unwrap().calibrations.iter_mut().find(|c| c.category == Category::Scam);
    let scam = scam.expect("per-head thresholds");
    assert_eq!(scam.above_hold, 1.0, "not compressed when the setting is off");
    scam.above_hold = 0.5;
    let stretched = Model::from_data(data.clone()).unwrap();
    let bytes = stretched.to_bytes();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 9);
    let loaded = Model::from_bytes(&bytes).unwrap();
    assert_eq!(loaded.data(), stretched.data());
    assert_ne!(loaded.version(), adapted.version());
    // Without a stretched head the file is format 7, byte for byte as before.
    assert_eq!(u32::from_le_bytes(adapted.to_bytes()[8..12].try_into().unwrap()), 7);
    // A format-9 file whose stretches are all 1 is not what this build
    // writes; one whose list is cut short is refused.
    let reseal = |mut b: Vec<u8>| {
        let len = (b.len() - 52) as u64;
        b[12..20].copy_from_slice(&len.to_le_bytes());
        let digest = Sha256::digest(&b[52..]);
        b[20..52].copy_from_slice(&digest);
        b
    };
    let mut ones = bytes.clone();
    let n = ones.len();
    // The list is spam's then scam's, the file's last 16 bytes.
    assert_eq!(ones[n - 16..n - 8], 5.0f64.to_le_bytes());
    assert_eq!(ones[n - 8..], 0.5f64.to_le_bytes());
    ones[n - 16..n - 8].copy_from_slice(&1.0f64.to_le_bytes());
    ones[n - 8..].copy_from_slice(&1.0f64.to_le_bytes());
    let err = Model::from_bytes(&reseal(ones)).map(|m| m.version().to_string()).unwrap_err().to_string();
    assert!(err.contains("without a slope above hold"), "{err}");
    assert!(Model::from_bytes(&reseal(bytes[..bytes.len() - 8].to_vec())).is_err());
    // Read as format 8 it is refused: its slopes under review are all 1.
    let mut eight = bytes.clone();
    eight[8..12].copy_from_slice(&8u32.to_le_bytes());
    let err = Model::from_bytes(&eight).map(|m| m.version().to_string()).unwrap_err().to_string();
    assert!(err.contains("format 8 without a slope below review"), "{err}");

    // Every decision is as before, reject included, though a stretched
    // score may pass the reject threshold (and a compressed one fall
    // under it). At or under the hold threshold (default prior: log-odds
    // ln(0.85/0.15)) every score is unchanged; above it, where no rule or
    // signal of the category fired, its distance from the threshold is
    // five times as far for spam and half as far for scam. Where one
    // fired, the base's score is a floor that is not moved: the score
    // moves towards that, never past it.
    let (flat, stretched) = (Arc::new(adapted), Arc::new(loaded));
    let (before, after) = (engine.with_model(Some(flat.clone())), engine.with_model(Some(stretched.clone())));
    let mut posts = pack_fire_posts();
    posts.extend(forum(40, false, 11));
    posts.extend(forum(60, true, 12));
    let logit = |p: f64| (p / (1.0 - p)).ln();
    let hold = logit(0.85);
    // These labels give the forum's heads no evidence weights, so a post's
    // calibrated log-odds are the score before plus nothing: where the
    // category's adapted weight before was above 0 (or no rule fired), the
    // expected score after is exact.
    let adaptation = data.adaptation.as_ref().unwrap();
    assert!(
        adaptation.heads.iter().all(|h| h.evidence.is_empty()),
        "the expectations below assume no evidence weights"
    );
    let weight =
        |v: &moderation_core::Verdict, id: &str| v.signals.iter().find(|s| s.id == id).map_or(0.0, |s| s.weight);
    let fired = |v: &moderation_core::Verdict, c: Category| {
        v.signals.iter().any(|s| {
            s.category == c && s.weight > 0.0 && !s.id.starts_with("classifier.") && !s.id.starts_with("adapted.")
        })
    };
    // Counts per kind of post: (exact above hold, floored, unchanged).
    let mut seen = [[0usize; 3]; 2];
    let mut past_reject = 0;
    for post in &posts {
        let (b, a) = (before.score(post), after.score(post));
        assert_eq!(a.decision, b.decision, "{}", post.id);
        for (n, (c, factor)) in [(Category::Spam, 5.0), (Category::Scam, 0.5)].into_iter().enumerate() {
            let (pb, pa) = (b.scores.get(c), a.scores.get(c));
            let (lb, la) = (logit(pb), logit(pa));
            let w = weight(&b, &format!("adapted.{}", c.as_str()));
            let on_line = |l: f64| if l > hold { hold + factor * (l - hold) } else { l };
            let want = if !fired(&b, c) {
                Some(on_line(lb))
            } else if w > 0.0 {
                // The base's log-odds (the score before without the
                // adaptation's weight) stay a floor.
                Some(on_line(lb).max(lb - w))
            } else if factor < 1.0 {
                // At the floor already; compressing only goes under it.
                Some(lb)
            } else {
                None
            };
            match want {
                Some(want) => {
                    // Near 1 a probability keeps few digits of its log-odds.
                    let tolerance = 1e-6 + 1e-15 / (1.0 - pa);
                    let saturated = pa == 1.0 && want > 30.0;
                    assert!(saturated || (la - want).abs() < tolerance, "{} {c:?}: {pb} → {pa}, want {want}", post.id);
                    if lb > hold {
                        seen[n][if fired(&b, c) { 1 } else { 0 }] += 1;
                    } else {
                        seen[n][2] += 1;
                    }
                }
                // At the floor with a stretch: somewhere between.
                None => {
                    assert!(
                        pa >= pb && la <= on_line(lb) + 1e-6 + 1e-15 / (1.0 - pa),
                        "{} {c:?}: {pb} → {pa}",
                        post.id
                    );
                    seen[n][1] += 1;
                }
            }
            // A score that crosses the reject threshold while the decision
            // stays (asserted above): decided without the shown score.
            past_reject += usize::from((pb >= 0.97) != (pa >= 0.97));
        }
    }
    let [spam, scam] = seen;
    assert!(spam[0] >= 20 && spam[1] >= 20 && spam[2] >= 40, "spam: {spam:?} (stretched, floored, unchanged)");
    assert!(scam[0] + scam[1] >= 5 && scam[2] >= 40, "scam: {scam:?} (compressed, floored, unchanged)");
    assert!(past_reject > 0, "no score crossed the reject threshold: the decision check above proves nothing about it");
    eprintln!("spam {spam:?}, scam {scam:?}, {past_reject} crossed reject");
    let v = after.score(&forum(1, true, 13)[0]);
    let s = v.signals.iter().find(|s| s.id == "adapted.spam").expect("adapted.spam signal");
    assert!(s.description.contains("above the hold threshold ×5.00 the distance"), "{s:?}");

    // A forum that holds later: the knot is its own hold threshold, so
    // scores between the two are not stretched.
    let strict =
        RuleSet::from_toml("forum.toml", "[settings.thresholds.spam]\nreview = 0.5\nhold = 0.95\nreject = 0.99\n")
            .unwrap();
    let (b2, a2) = (
        Engine::builder().model(flat).rules(strict.clone()).build().unwrap(),
        Engine::builder().model(stretched).rules(strict).build().unwrap(),
    );
    let (mut banded, mut above) = (0, 0);
    for post in &posts {
        let (b, a) = (b2.score(post), a2.score(post));
        assert_eq!(a.decision, b.decision, "{} with the forum's thresholds", post.id);
        let sb = b.scores.get(Category::Spam);
        if sb > 0.85 && sb <= 0.95 {
            assert_eq!(a.scores.get(Category::Spam), sb, "{}", post.id);
            banded += 1;
        } else if sb > 0.95 + 1e-9 {
            assert!(a.scores.get(Category::Spam) >= sb, "{}", post.id);
            above += usize::from(a.scores.get(Category::Spam) > sb);
        }
    }
    assert!(banded > 0, "no post between the two hold thresholds: the check above proves nothing");
    assert!(above > 0, "nothing above this forum's hold threshold was stretched");

    // Out of bounds, a stretch on a category the labels did not teach or
    // a compression on one they taught: refused with the reason.
    let refused = |category: Category, value: f64| {
        let mut broken = data.clone();
        let c = broken.adaptation.as_mut().unwrap().calibrations.iter_mut().find(|c| c.category == category);
        c.unwrap().above_hold = value;
        Model::from_data(broken).map(|m| m.version().to_string()).unwrap_err().to_string()
    };
    for bad in [0.1, 9.0, f64::NAN] {
        let err = refused(Category::Spam, bad);
        assert!(err.contains("the slope above hold") && err.contains("is outside 0.2..=5"), "{err}");
    }
    let err = refused(Category::Scam, 2.0);
    assert!(err.contains("over 1 for scam, which the labels did not teach"), "{err}");
    let err = refused(Category::Spam, 0.5);
    assert!(err.contains("under 1 for spam, which the labels taught"), "{err}");
}

#[test]
fn an_adaptation_puts_a_taught_head_under_slope_one_back_on_the_base_s_slope_above_hold() {
    let engine = Engine::builder().model(base()).build().unwrap();
    let data = labelled(15, 35, 3);
    let exact = AdaptConfig { near_duplicate: 2.0, ..AdaptConfig::default() };
    let on = adapt(&engine, &data, &exact).unwrap();
    let off = adapt(&engine, &data, &AdaptConfig { stretch_above_hold: false, ..exact }).unwrap();
    let (a_on, a_off) = (on.data().adaptation.as_ref().unwrap(), off.data().adaptation.as_ref().unwrap());
    let spam = a_on.calibrations.iter().find(|c| c.category == Category::Spam).expect("per-head thresholds");
    assert!(spam.slope < 1.0, "these labels need a spam slope under 1 for this test: {spam:?}");
    assert_eq!(spam.above_hold, 1.0 / spam.slope, "{spam:?}");
    for c in &a_on.calibrations {
        let taught = a_on.heads.iter().any(|h| h.category == c.category);
        let want = if taught && c.slope < 1.0 || !taught && c.slope > 1.0 { 1.0 / c.slope } else { 1.0 };
        assert_eq!(c.above_hold, want, "{c:?}");
    }
    assert!(a_off.calibrations.iter().all(|c| c.above_hold == 1.0));
    // The same model otherwise: weights and thresholds are equal.
    assert_eq!(a_on.heads, a_off.heads);
    for (x, y) in a_on.calibrations.iter().zip(&a_off.calibrations) {
        assert_eq!((x.slope, x.offset, x.below_review), (y.slope, y.offset, y.below_review));
    }
    assert!(a_on.thresholds.contains("above the hold threshold spam ×"), "{}", a_on.thresholds);
    assert_eq!(u32::from_le_bytes(on.to_bytes()[8..12].try_into().unwrap()), 9);
}

#[test]
fn a_category_without_positives_keeps_the_base_s_head() {
    let engine = Engine::builder().model(base()).build().unwrap();
    // Only spam labels: the scam head is not adapted.
    let data: Vec<Example> = labelled(10, 30, 5)
        .into_iter()
        .map(|e| {
            let spam = e.label(Category::Spam).unwrap();
            Example::new(e.post, vec![(Category::Spam, spam)])
        })
        .collect();
    let adapted = adapt(&engine, &data, &AdaptConfig::default()).unwrap();
    let heads: Vec<Category> = adapted.data().adaptation.as_ref().unwrap().heads.iter().map(|h| h.category).collect();
    assert_eq!(heads, vec![Category::Spam]);
}

#[test]
fn a_forum_that_only_removes_spam_keeps_the_scam_head_s_thresholds() {
    // Sneaker adverts removed as spam, gardening talk approved: nothing
    // about scams among the labels.
    let engine = Engine::builder().model(base()).build().unwrap();
    let adapted = adapt(&engine, &labelled(20, 40, 7), &AdaptConfig::default()).unwrap();
    let a = adapted.data().adaptation.as_ref().unwrap();
    assert!(!a.lower_only && a.thresholds.contains("per head"), "{}", a.thresholds);
    // Spam's thresholds moved to where the forum's labels put them; scam's
    // are the base's.
    assert_ne!(a.calibration(Category::Spam), (1.0, 0.0), "{}", a.thresholds);
    assert_eq!(a.calibration(Category::Scam), (1.0, 0.0), "{}", a.thresholds);
    // So every scam score is the base's: the pack's scam examples and a
    // scam post no rule of the pack knows.
    let after = engine.with_model(Some(Arc::new(adapted)));
    let mut posts = pack_fire_posts();
    posts.push(Post::new(
        "unknown-scam",
        "Kindly send your account details to our verification officer to unlock the pending reward balance",
    ));
    for post in &posts {
        let (before, now) = (engine.score(post), after.score(post));
        let (b, n) = (before.scores.get(Category::Scam), now.scores.get(Category::Scam));
        assert!((b - n).abs() < 1e-9, "{}: scam {b} with the base, {n} adapted", post.id);
    }
    let v = after.score(&posts[0]);
    let s = v.signals.iter().find(|s| s.id == "adapted.scam").expect("adapted.scam signal");
    assert!(s.description.contains("none for scam): the base's thresholds"), "{s:?}");
}

#[test]
fn too_few_labels_or_one_class_only_are_refused_with_the_reason() {
    let engine = Engine::builder().model(base()).build().unwrap();
    let few = adapt(&engine, &labelled(5, 10, 1), &AdaptConfig::default()).unwrap_err();
    assert!(matches!(few, Error::Training(_)) && few.to_string().contains("at least 20"), "{few}");
    let benign_only = adapt(&engine, &labelled(0, 40, 1), &AdaptConfig::default()).unwrap_err();
    assert!(benign_only.to_string().contains("both a positive and a negative"), "{benign_only}");
    let no_model = adapt(&Engine::new().unwrap(), &labelled(10, 30, 1), &AdaptConfig::default()).unwrap_err();
    assert!(no_model.to_string().contains("base model"), "{no_model}");
    // Copies of one post count once.
    let exact = AdaptConfig { near_duplicate: 2.0, ..AdaptConfig::default() };
    let mut copies = labelled(10, 30, 1);
    let first = copies[0].clone();
    copies.extend(std::iter::repeat_n(first, 50));
    let adapted = adapt(&engine, &copies, &exact).unwrap();
    assert_eq!(adapted.data().adaptation.as_ref().unwrap().labels, 40);
}

#[test]
fn a_wave_of_near_copies_is_one_label() {
    let engine = Engine::builder().model(base()).build().unwrap();
    let labels = |data: &[Example], config: &AdaptConfig| {
        adapt(&engine, data, config).unwrap().data().adaptation.as_ref().unwrap().labels
    };
    let exact = AdaptConfig { near_duplicate: 2.0, ..AdaptConfig::default() };
    let mut data = labelled(10, 30, 21);
    let before = labels(&data, &AdaptConfig::default());
    // One moderator decision on a wave: 60 copies with other amounts,
    // handles and a changed greeting, all labelled "approve".
    for i in 0..60 {
        let greeting = ["Hi", "Hello", "Hey"][i % 3];
        let body = format!(
            "{greeting} all, send {i}.5 USDT to my wallet and get {} USDT back, message @trader{i} on telegram today",
            i * 2
        );
        data.push(Example::new(
            Post::new(format!("w{i}"), body),
            vec![(Category::Spam, false), (Category::Scam, false)],
        ));
    }
    assert_eq!(labels(&data, &AdaptConfig::default()), before + 1, "the wave counts once");
    assert_eq!(labels(&data, &exact), labels(&data[..40], &exact) + 60, "exact dedup alone keeps every copy");
}

#[test]
fn a_fired_scam_rule_is_not_cancelled_by_the_forum_s_benign_words() {
    // A forum whose benign talk is full of wallet and support words.
    let engine = Engine::builder().model(base()).build().unwrap();
    let mut p = Picks(9);
    let mut data = labelled(20, 0, 13);
    for i in 0..60 {
        let body = format!(
            "{} my {} wallet shows the {} balance after the {} update, support {}",
            p.pick(&["Hi,", "Question:", "Help,"]),
            p.pick(&["ledger", "hardware", "mobile", "desktop"]),
            p.pick(&["old", "wrong", "staked", "pending"]),
            p.pick(&["firmware", "app", "node", "chain"]),
            p.pick(&["answered on the ticket", "said to wait", "closed my ticket", "asked for logs"]),
        );
        data.push(Example::new(
            Post::new(format!("w{i}"), body),
            vec![(Category::Spam, false), (Category::Scam, false)],
        ));
    }
    let after = engine.with_model(Some(Arc::new(adapt(&engine, &data, &AdaptConfig::default()).unwrap())));
    let scam = Post::new(
        "x",
        "My wallet shows the wrong balance after the update. Support told me to enter my 12-word recovery phrase \
         at walletsync-support.pages.dev to fix it",
    );
    let v = after.score(&scam);
    assert!(v.decision >= Decision::Review, "{v:#?}");
}

#[test]
fn without_twenty_approved_posts_the_adaptation_only_lowers() {
    // Mostly removals, as when moderators decide reported posts: too few
    // approved posts to check a review rate against.
    let engine = Engine::builder().model(base()).build().unwrap();
    let adapted = adapt(&engine, &labelled(30, 10, 21), &AdaptConfig::default()).unwrap();
    let a = adapted.data().adaptation.as_ref().unwrap();
    assert!(a.lower_only, "{}", a.thresholds);
    for c in [Category::Spam, Category::Scam] {
        assert_eq!(a.calibration(c), (1.0, 0.0), "{}", a.thresholds);
    }
    let after = engine.with_model(Some(Arc::new(adapted)));
    for post in forum(30, true, 31).iter().chain(&forum(30, false, 32)) {
        let v = after.score(post);
        let s = v.signals.iter().find(|s| s.id == "adapted.spam").expect("adapted.spam");
        assert!(s.weight <= 0.0, "{s:?}");
    }
    // With enough approved posts it may raise. Sixty approved posts cannot
    // show a 1% hold budget with 75% confidence (0.99^60 = 0.55 of seeing
    // none above even at 1%), so the hold threshold is never more lenient
    // than the base's; at 99% confidence the 5% review budget cannot be
    // shown either (0.95^60 = 0.046 > 0.01).
    let hold = (0.85f64 / 0.15).ln();
    for (confidence, review_floored) in [(0.75, false), (0.99, true)] {
        let config = AdaptConfig { confidence, ..AdaptConfig::default() };
        let adapted = adapt(&engine, &labelled(30, 60, 21), &config).unwrap();
        let a = adapted.data().adaptation.as_ref().unwrap();
        assert!(!a.lower_only, "{}", a.thresholds);
        // Where the base holds (logit 0.85) the forum's calibration is at
        // or below it: stricter, never more lenient.
        let (slope, offset) = a.calibration(Category::Spam);
        assert!(slope * hold + offset <= hold + 1e-9, "{} ×{slope} {offset:+}", a.thresholds);
        assert!(a.thresholds.contains("not lowered"), "{}", a.thresholds);
        assert_eq!(a.thresholds.contains("review and hold not lowered"), review_floored, "{}", a.thresholds);
        if review_floored {
            assert!(offset <= 1e-9, "{} ×{slope} {offset:+}", a.thresholds);
        }
    }
}

#[test]
fn the_adaptation_alone_holds_at_most_never_rejects() {
    let engine = Engine::builder().model(base()).build().unwrap();
    let adapted = adapt(&engine, &labelled(20, 40, 41), &AdaptConfig::default()).unwrap();
    let after = engine.with_model(Some(Arc::new(adapted)));
    let mut held = 0;
    for post in forum(40, true, 42) {
        let v = after.score(&post);
        let raised = v.signals.iter().any(|s| s.id == "adapted.spam" && s.weight > 0.0);
        // Nothing but the forum's n-grams speaks for this spam: the base
        // and the pack do not know the shop.
        assert!(v.decision <= Decision::Hold, "{v:#?}");
        held += usize::from(raised && v.decision == Decision::Hold);
    }
    assert!(held > 0, "the adapted spam reaches hold");
}

/// Posts of a marketplace forum (team-written), all alike but for the two
/// shops they name: adverts name two of forty made-up spam shops — few
/// repeat among a handful of adverts —, members two of forty others.
fn market(n: usize, advert: bool, seed: u64) -> Vec<Post> {
    const SPAM_SHOPS: &[&str] = &[
        "zorvex", "quilmar", "trendapo", "velkin", "brixo", "dalmuno", "fexoria", "gravik", "hulmo", "jandrel",
        "kestova", "lumbrix", "mervano", "nolqua", "opravo", "pelzin", "qormani", "rastelo", "sivrano", "tolmex",
        "ulvaro", "vantrel", "wexolo", "yarmino", "zeltavo", "abrino", "belquo", "cormavi", "dextrolo", "elvanto",
        "fornaxo", "gelmiro", "harvolo", "istrano", "jolvexa", "kormino", "lexvaro", "mondrilo", "nervaxo", "orlimo",
    ];
    const SHOPS: &[&str] = &[
        "pardeno", "quistel", "ravoni", "selbrik", "tarvino", "umbrelo", "vostani", "wimbrel", "xandero", "yorlith",
        "zambeli", "arveno", "bostrel", "calvini", "dorvane", "emberlo", "falsteno", "gorvini", "holbrani", "ilvano",
        "jesmaro", "kalvori", "lindaro", "morveni", "nestrilo", "ostravo", "pinvalo", "quorlen", "rimbaldo",
        "sostreni", "tivaldo", "ursani", "velmaro", "wistrano", "yelvori", "zornaldi", "amberlo", "brevani",
        "cistrelo", "delvaro",
    ];
    const PRODUCTS: &[&str] =
        &["handbags", "perfume", "headphones", "watches", "sunglasses", "sneakers", "jackets", "wallets", "earbuds"];
    let shops = if advert { SPAM_SHOPS } else { SHOPS };
    let mut p = Picks(seed);
    (0..n)
        .map(|i| {
            let body = format!(
                "{} {} {} {} and {}",
                p.pick(PRODUCTS),
                p.pick(&["from", "bought at", "seen at", "cheaper at"]),
                p.pick(shops),
                p.pick(&["or", "better than", "like"]),
                p.pick(shops),
            );
            Post::new(format!("{}-{seed}-{i}", if advert { "m" } else { "q" }), body)
        })
        .collect()
}

#[test]
fn removals_split_between_categories_are_learned_together() {
    // Adverts that moderators removed, some as spam and some as scams:
    // each category has a handful of positives, all of them together more.
    let engine = Engine::builder().model(base()).build().unwrap();
    let mut data: Vec<Example> = market(8, true, 51)
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let scam = i % 2 == 0;
            Example::new(p, vec![(Category::Spam, !scam), (Category::Scam, scam)])
        })
        .collect();
    data.extend(
        market(40, false, 52)
            .into_iter()
            .map(|p| Example::new(p, vec![(Category::Spam, false), (Category::Scam, false)])),
    );
    let ranked_with = |shared_unwanted: bool| {
        let config = AdaptConfig { shared_unwanted, ..AdaptConfig::default() };
        let adapted = adapt(&engine, &data, &config).unwrap();
        let after = engine.with_model(Some(Arc::new(adapted)));
        let unwanted = |p: &Post| {
            let v = after.score(p);
            v.scores.get(Category::Spam).max(v.scores.get(Category::Scam))
        };
        // How many new adverts score above every one of 60 new questions;
        // the budget is checked on 400 (the first 60 and 340 more).
        let questions = market(400, false, 54);
        let top = questions[..60].iter().map(unwanted).fold(0.0, f64::max);
        let adverts = market(60, true, 53);
        (adverts.iter().filter(|p| unwanted(p) > top).count(), flagged(&after, &adverts), flagged(&after, &questions))
    };
    let alone = ranked_with(false);
    let together = ranked_with(true);
    eprintln!(
        "adverts above every question, flagged, questions flagged: {alone:?} each category alone, {together:?} together"
    );
    // Measured: 2 → 11 adverts above every question, 5 → 15 flagged
    // (1 → 11 and 6 → 14 with 5 folds instead of 9).
    assert!(
        together.0 >= alone.0 + 5 && together.1 >= alone.1 + 5,
        "{alone:?} each category alone, {together:?} together"
    );
    // The review budget on approved posts is 5%: 20 of 400 new questions
    // (8 measured).
    assert!(together.2 <= 20, "{together:?}");
}

#[test]
fn from_750_labels_the_forum_s_n_grams_are_scaled_by_naive_bayes() {
    let engine = Engine::builder().model(base()).build().unwrap();
    // Exact duplicates merged only, so 900 posts are over 750 labels.
    let data = labelled(350, 550, 5);
    let exact = AdaptConfig { near_duplicate: 2.0, ..AdaptConfig::default() };
    assert!(exact.nb_from_labels <= 750 && exact.nb_alpha > 0.0, "{exact:?}");
    let scaled = adapt(&engine, &data, &exact).unwrap();
    let plain = adapt(&engine, &data, &AdaptConfig { nb_alpha: 0.0, ..exact.clone() }).unwrap();
    let gated = adapt(&engine, &data, &AdaptConfig { nb_from_labels: data.len() + 1, ..exact.clone() }).unwrap();
    assert!(scaled.to_bytes() != plain.to_bytes(), "the scaling changed nothing: it is not in effect");
    assert!(gated.to_bytes() == plain.to_bytes(), "below nb_from_labels the n-grams must not be scaled");
    // Deterministic, and it still does its job: new spam of the wave is
    // flagged and new gardening talk is not.
    assert!(adapt(&engine, &data, &exact).unwrap().to_bytes() == scaled.to_bytes(), "two fits differ");
    let after = engine.with_model(Some(Arc::new(scaled)));
    let (spam, talk) = (forum(60, true, 303), forum(60, false, 404));
    assert!(flagged(&after, &spam) >= 55, "{} of 60 new spam posts flagged", flagged(&after, &spam));
    assert!(flagged(&after, &talk) <= 3, "{} of 60 gardening posts flagged", flagged(&after, &talk));
    // A smoothing count that is not a count is refused.
    let bad = AdaptConfig { nb_alpha: -1.0, ..exact };
    let err = adapt(&engine, &data, &bad).unwrap_err().to_string();
    assert!(err.contains("nb_alpha"), "{err}");
}

#[test]
fn a_forum_s_review_budget_sets_how_many_approved_posts_may_reach_review() {
    // Moderators removed 100 adverts and approved 300 questions, and 60
    // adverts too (a sixth of the approved posts read like the removed
    // ones). At a 5% budget the review threshold must sit above most of
    // the adverts; a forum that would rather review a quarter of its
    // approved posts to catch them all says so, and gets it.
    let engine = Engine::builder().model(base()).build().unwrap();
    let mut data: Vec<Example> = market(100, true, 61)
        .into_iter()
        .map(|p| Example::new(p, vec![(Category::Spam, true), (Category::Scam, false)]))
        .collect();
    for p in market(300, false, 62).into_iter().chain(market(60, true, 63)) {
        data.push(Example::new(p, vec![(Category::Spam, false), (Category::Scam, false)]));
    }
    let (adverts, questions) = (market(100, true, 64), market(100, false, 65));
    let with_budget = |review_fpr: f64| {
        let config = AdaptConfig { review_fpr, ..AdaptConfig::default() };
        let adapted = adapt(&engine, &data, &config).unwrap();
        let thresholds = adapted.data().adaptation.as_ref().unwrap().thresholds.clone();
        let after = engine.with_model(Some(Arc::new(adapted)));
        (flagged(&after, &adverts), flagged(&after, &questions), thresholds)
    };
    let (tight, wide) = (with_budget(0.05), with_budget(0.25));
    eprintln!("adverts, questions flagged: {tight:?} at 5%, {wide:?} at 25%");
    assert!(tight.2.contains("at most 5% reach review"), "{}", tight.2);
    assert!(wide.2.contains("at most 25% reach review"), "{}", wide.2);
    // 5%: about 17 of the 344 distinct approved posts, so most adverts stay
    // under the threshold; 25%: about 86, room for every approved advert
    // (measured: 17 and 94 of 100 new adverts flagged).
    assert!(wide.0 >= tight.0 + 30, "adverts flagged: {} at 5%, {} at 25%", tight.0, wide.0);
    assert!(wide.0 >= 90, "{} of 100 new adverts flagged at a 25% budget", wide.0);
    // Questions were never removed: a wider budget is not a licence to
    // flag them.
    assert!(wide.1 <= 10, "{} of 100 new questions flagged at a 25% budget (4 measured)", wide.1);
    // Budgets that are not shares of the approved posts are refused.
    for (review_fpr, hold_fpr, says) in [
        (0.6, 0.01, "review budget"),
        (0.05, 0.1, "hold budget"),
        (-0.1, 0.0, "review budget"),
        (f64::NAN, 0.0, "review budget"),
        (0.05, f64::NAN, "hold budget"),
    ] {
        let config = AdaptConfig { review_fpr, hold_fpr, ..AdaptConfig::default() };
        let err = adapt(&engine, &data, &config).unwrap_err().to_string();
        assert!(err.contains(says), "{review_fpr}/{hold_fpr}: {err}");
        assert_eq!(format!("cannot train: {}", config.validate().unwrap_err()), err);
    }
    // At the bounds: a budget of 0 flags no more than the base did (it can
    // never be shown to hold, so nothing is lowered), and says so; a hold
    // budget equal to the review budget is a budget.
    let zero = AdaptConfig { review_fpr: 0.0, hold_fpr: 0.0, ..AdaptConfig::default() };
    let adapted = adapt(&engine, &data, &zero).unwrap();
    let thresholds = &adapted.data().adaptation.as_ref().unwrap().thresholds;
    assert!(thresholds.contains("review and hold not lowered: a budget of 0"), "{thresholds}");
    let after = engine.with_model(Some(Arc::new(adapted)));
    assert!(
        flagged(&after, &questions) <= wide.1,
        "{} questions flagged at a budget of 0",
        flagged(&after, &questions)
    );
    let equal = AdaptConfig { review_fpr: 0.1, hold_fpr: 0.1, ..AdaptConfig::default() };
    assert!(adapt(&engine, &data, &equal).is_ok());
    // Without a hold budget, the default one, or a smaller review budget.
    let budgets = |review, hold| {
        let c = AdaptConfig::default().with_budgets(review, hold);
        (c.review_fpr, c.hold_fpr)
    };
    assert_eq!(budgets(0.1, None), (0.1, 0.01));
    assert_eq!(budgets(0.005, None), (0.005, 0.005));
    assert_eq!(budgets(0.1, Some(0.03)), (0.1, 0.03));
}
