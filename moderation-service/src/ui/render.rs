//! Turning stored posts into safe HTML for moderators.
//!
//! Everything a poster wrote is escaped; the only markup added is `<mark>`
//! around matched spans (byte ranges of the ORIGINAL field, as verdicts
//! give them) and the result of the HTML sanitizer for HTML bodies. Links
//! are shown defanged (`hxxp://`) and never as anchors: moderators are the
//! phishing target.

use std::collections::BTreeSet;

use moderation_core::{Field, Verdict};

/// One matched range to highlight.
struct Hit<'a> {
    start: usize,
    end: usize,
    rule: &'a str,
    category: &'a str,
}

/// Escapes `text` as HTML and wraps each span of `verdict` in `field` in a
/// `<mark>` labelled with its rules. Overlapping spans split into segments
/// that list every rule covering them.
pub fn highlight(text: &str, field: Field, verdict: Option<&Verdict>) -> String {
    let mut hits = Vec::new();
    if let Some(v) = verdict {
        for s in &v.signals {
            for span in s.spans.iter().filter(|sp| sp.field == field) {
                let (start, end) = (span.start.min(text.len()), span.end.min(text.len()));
                if start < end && text.is_char_boundary(start) && text.is_char_boundary(end) {
                    hits.push(Hit { start, end, rule: &s.id, category: s.category.as_str() });
                }
            }
        }
    }
    let mut cuts: BTreeSet<usize> = BTreeSet::from([0, text.len()]);
    for h in &hits {
        cuts.insert(h.start);
        cuts.insert(h.end);
    }
    let cuts: Vec<usize> = cuts.into_iter().collect();
    let mut out = String::with_capacity(text.len() + 64);
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let segment = defang(&escape(&text[a..b]));
        let covering: Vec<&Hit<'_>> = hits.iter().filter(|h| h.start <= a && b <= h.end).collect();
        if covering.is_empty() {
            out.push_str(&segment);
        } else {
            let mut rules: Vec<&str> = covering.iter().map(|h| h.rule).collect();
            rules.dedup();
            out.push_str(&format!(
                "<mark class=\"hit\" data-category=\"{}\" title=\"{}\">{}</mark>",
                escape(covering[0].category),
                escape(&rules.join(", ")),
                segment
            ));
        }
    }
    out
}

/// HTML-escapes text (element content and quoted attribute values).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `https://` → `hxxps[://]`, and `[://]` for any other scheme, in any
/// letter case, so a pasted URL is not one click (or one copy) away from a
/// phishing page.
pub fn defang(text: &str) -> String {
    static SCHEME: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = SCHEME.get_or_init(|| regex::Regex::new(r"(?i)\b([a-z][a-z0-9+.-]*)://").expect("a valid pattern"));
    re.replace_all(text, |c: &regex::Captures<'_>| {
        let scheme = &c[1];
        let scheme = if scheme.len() >= 4 && scheme[..4].eq_ignore_ascii_case("http") {
            format!("hxxp{}", scheme[4..].to_ascii_lowercase())
        } else {
            scheme.to_string()
        };
        format!("{scheme}[://]")
    })
    .into_owned()
}

/// An HTML body as the forum would show it, through the ammonia sanitizer:
/// no script, no event handlers, no styles; links and images removed
/// (their text kept), so nothing loads and nothing can be clicked.
pub fn sanitize(html: &str) -> String {
    let mut tags = ammonia::Builder::default().clone_tags();
    tags.remove("a");
    tags.remove("img");
    let clean = ammonia::Builder::default()
        .tags(tags)
        .url_schemes(BTreeSet::new().into_iter().collect())
        .clean(html)
        .to_string();
    defang(&clean)
}

/// The first `chars` characters of a post, for a queue row.
pub fn opening(title: Option<&str>, body: &str, chars: usize) -> String {
    let text = match title {
        Some(t) if !t.trim().is_empty() => format!("{t} — {body}"),
        _ => body.to_string(),
    };
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = one_line.chars().take(chars).collect();
    if one_line.chars().count() > chars {
        cut.push('…');
    }
    defang(&cut)
}

/// "3m", "2h", "5d": how long ago.
pub fn age(now: i64, then: i64) -> String {
    let s = (now - then).max(0) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use moderation_core::{Engine, Post};

    #[test]
    fn spans_are_marked_in_the_original_and_everything_else_escaped() {
        let post = Post::new("1", "<b>hi</b> DM me on Telegram @helpdesk for support http://x.example");
        let verdict = Engine::new().unwrap().score(&post);
        let html = highlight(&post.body, Field::Body, Some(&verdict));
        assert!(html.starts_with("&lt;b&gt;hi&lt;/b&gt;"), "{html}");
        assert!(html.contains("<mark class=\"hit\""), "{html}");
        assert!(html.contains("hxxp[://]x.example") && !html.contains("http://"), "{html}");
        // Removing the marks gives back the escaped, defanged original.
        let plain = html.split("<mark").map(|p| p.split_once('>').map_or(p, |(_, rest)| rest)).collect::<String>();
        assert_eq!(plain.replace("</mark>", ""), defang(&escape(&post.body)));
    }

    #[test]
    fn sanitized_html_keeps_no_script_handler_link_or_image() {
        let dirty = r#"<p onclick="x()">Hi <script>window.__xss=1</script><a href="javascript:alert(1)">claim</a>
            <img src="http://tracker.example/p.png" onerror="window.__xss=1"><svg onload="window.__xss=1"></svg> https://a.example</p>"#;
        let clean = sanitize(dirty);
        for bad in ["<script", "onclick", "onerror", "onload", "<a", "<img", "<svg", "javascript:", "https://"] {
            assert!(!clean.contains(bad), "{bad} in {clean}");
        }
        assert!(clean.contains("claim") && clean.contains("hxxps[://]a.example"), "{clean}");
        assert_eq!(defang("HtTpS://evil.example ftp://x"), "hxxps[://]evil.example ftp[://]x");
    }
}
