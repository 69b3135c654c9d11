//! The review queue's rules, without a database: what status a scored post
//! gets, how reports and scores make a priority, and which moderator
//! actions move an item where. The store persists what this decides.

use moderation_core::{Category, Decision, Engine, Post, Verdict};
use serde::{Deserialize, Serialize};

/// Where an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Scored `allow` and not (yet) reported enough: not in the queue.
    Allowed,
    /// Waiting for a moderator (scored review/hold, or reported).
    Pending,
    /// Sent up to senior moderators.
    Escalated,
    /// Scored `reject`: hidden by the forum, kept here to be restored.
    Rejected,
    /// A moderator approved it (or restored a rejected post).
    Approved,
    /// A moderator removed it.
    Removed,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 6] =
        [Status::Allowed, Status::Pending, Status::Escalated, Status::Rejected, Status::Approved, Status::Removed];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Allowed => "allowed",
            Status::Pending => "pending",
            Status::Escalated => "escalated",
            Status::Rejected => "rejected",
            Status::Approved => "approved",
            Status::Removed => "removed",
        }
    }

    /// Parses a stored or query-string name.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// What a moderator does to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Publish it (on a rejected or removed item: restore it).
    Approve,
    /// Take it down.
    Remove,
    /// Hand it to senior moderators.
    Escalate,
}

impl Action {
    /// The status the action leads to.
    pub fn target(self) -> Status {
        match self {
            Action::Approve => Status::Approved,
            Action::Remove => Status::Removed,
            Action::Escalate => Status::Escalated,
        }
    }

    /// The name in requests and metrics (`approve`, `remove`, `escalate`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Remove => "remove",
            Action::Escalate => "escalate",
        }
    }

    /// The name used in the audit log and webhooks: an approval of a post
    /// that was hidden (auto-rejected or removed) is a `restore`, so the
    /// forum knows to publish it again.
    pub fn event(self, from: Status) -> &'static str {
        match (self, from) {
            (Action::Approve, Status::Rejected | Status::Removed) => "restore",
            (Action::Approve, _) => "approve",
            (Action::Remove, _) => "remove",
            (Action::Escalate, _) => "escalate",
        }
    }
}

/// A moderator's decision on one item.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DecisionInput {
    /// approve, remove or escalate.
    pub action: Action,
    /// A reason code (`scam`, `spam`, `off-topic`, `ok`, …). When it names a
    /// category, an export labels the post with it.
    pub reason: String,
    /// Free text for other moderators.
    #[serde(default)]
    pub note: String,
    /// Refuse (409) if the item's version is no longer this: someone else
    /// changed it since the moderator looked.
    #[serde(default)]
    pub expected_version: Option<i64>,
}

/// How reports and scores turn into queue order. Configurable
/// (`[queue]` in the config file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Report weight by the reporter's trust level (index 0 = level 0;
    /// levels above the last use the last; unknown trust uses the first).
    pub report_weights: Vec<f64>,
    /// Summed report weight at which an allowed post enters the queue.
    pub report_threshold: f64,
    /// How long a claim lasts, in seconds.
    pub lease_seconds: u64,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy { report_weights: vec![0.5, 1.0, 1.5, 2.0, 3.0], report_threshold: 2.0, lease_seconds: 600 }
    }
}

impl Policy {
    /// The weight of one report from a user at this trust level.
    pub fn report_weight(&self, trust_level: Option<u8>) -> f64 {
        let first = self.report_weights.first().copied().unwrap_or(1.0);
        match trust_level {
            None => first,
            Some(l) => self.report_weights.get(usize::from(l)).or(self.report_weights.last()).copied().unwrap_or(first),
        }
    }

    /// The status a freshly scored post gets, given the reports it has.
    pub fn status_for(&self, decision: Decision, report_weight: f64) -> Status {
        match decision {
            Decision::Allow if report_weight >= self.report_threshold => Status::Pending,
            Decision::Allow => Status::Allowed,
            Decision::Review | Decision::Hold => Status::Pending,
            Decision::Reject => Status::Rejected,
        }
    }

    /// The status after a post was edited and rescored. A moderator's
    /// removal stands; an approval stands unless the edit is now flagged
    /// (the classic trick: get approved, then edit a scam link in); items
    /// already in the queue stay there with their new priority.
    pub fn status_after_edit(&self, current: Status, decision: Decision, report_weight: f64) -> Status {
        match current {
            Status::Removed | Status::Escalated | Status::Pending => current,
            Status::Approved if decision >= Decision::Review => Status::Pending,
            Status::Approved => Status::Approved,
            Status::Allowed | Status::Rejected => self.status_for(decision, report_weight),
        }
    }

    /// The lease length in milliseconds.
    pub fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease_seconds.saturating_mul(1000)).unwrap_or(i64::MAX)
    }
}

/// The stored priority: the top category score in thousandths plus 100 per
/// unit of report weight (a trust-level-4 report is worth 300, as much as
/// a score difference of 0.3). Stored, so the queue order is an index.
pub fn priority(score: f64, report_weight: f64) -> i64 {
    let s = (score.clamp(0.0, 1.0) * 1000.0).round() as i64;
    let r = (report_weight.clamp(0.0, 1e9) * 100.0).round() as i64;
    s + r
}

/// The score an item is queued by: its top category's.
pub fn top(verdict: &Verdict) -> (Category, f64) {
    let c = verdict.top_category();
    (c, verdict.scores.get(c))
}

/// A post as the store keeps it: leaked secrets starred out (see
/// [`moderation_core::redact`]).
#[derive(Debug, Clone)]
pub struct Scored {
    /// The forum (from the API key).
    pub forum: String,
    /// The redacted post.
    pub post: Post,
    /// The redacted verdict.
    pub verdict: Verdict,
}

impl Scored {
    /// Redacts `post` and `verdict` for storing. A field longer than the
    /// engine scans ([`moderation_core::MAX_SCAN_BYTES`]) is stored cut at
    /// that length, with a note: bytes the engine never read could hold a
    /// secret it never masked, so they are not kept.
    pub fn new(forum: &str, post: Post, verdict: Verdict) -> Scored {
        // Most posts leak nothing: keep them as they are, without copies.
        let leaks = verdict.signals.iter().any(|s| s.category == Category::Exposure);
        let (mut post, verdict) = if leaks { moderation_core::redact(&post, &verdict) } else { (post, verdict) };
        post.forum = Some(forum.to_string());
        cut_unscanned(&mut post.body);
        if let Some(title) = post.title.as_mut() {
            cut_unscanned(title);
        }
        if let Some(name) = post.author.as_mut().and_then(|a| a.name.as_mut()) {
            cut_unscanned(name);
        }
        Scored { forum: forum.to_string(), post, verdict }
    }
}

/// Free text a person typed that is stored and shown beside a post (a
/// report's reason and note, a decision's reason and note), with any leaked
/// secret starred out as in posts: a reporter quoting a seed phrase they
/// saw would otherwise store it in clear. Such texts are at most a few KB,
/// well inside what the engine scans.
pub fn mask_secrets(engine: &Engine, text: String) -> String {
    if text.trim().is_empty() {
        return text;
    }
    let post = Post::new("", text);
    let verdict = engine.score(&post);
    if !verdict.signals.iter().any(|s| s.category == Category::Exposure) {
        return post.body;
    }
    let mut body = moderation_core::redact(&post, &verdict).0.body;
    cut_unscanned(&mut body);
    body
}

fn cut_unscanned(text: &mut String) {
    let (scanned, cut) = moderation_core::scanned_prefix(text);
    if cut {
        let (kept, dropped) = (scanned.len(), text.len() - scanned.len());
        text.truncate(kept);
        text.push_str(&format!(
            " […{dropped} bytes beyond the scanned {} not stored]",
            moderation_core::MAX_SCAN_BYTES
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_weigh_by_trust_and_queue_an_allowed_post_at_the_threshold() {
        let p = Policy::default();
        assert_eq!(p.report_weight(None), 0.5);
        assert_eq!(p.report_weight(Some(0)), 0.5);
        assert_eq!(p.report_weight(Some(4)), 3.0);
        assert_eq!(p.report_weight(Some(9)), 3.0);
        assert_eq!(p.status_for(Decision::Allow, 1.5), Status::Allowed);
        assert_eq!(p.status_for(Decision::Allow, 2.0), Status::Pending);
        assert_eq!(p.status_for(Decision::Hold, 0.0), Status::Pending);
        assert_eq!(p.status_for(Decision::Reject, 0.0), Status::Rejected);
    }

    #[test]
    fn edits_requeue_approved_posts_that_turn_bad_but_never_undo_a_removal() {
        let p = Policy::default();
        assert_eq!(p.status_after_edit(Status::Approved, Decision::Hold, 0.0), Status::Pending);
        assert_eq!(p.status_after_edit(Status::Approved, Decision::Allow, 0.0), Status::Approved);
        assert_eq!(p.status_after_edit(Status::Removed, Decision::Allow, 0.0), Status::Removed);
        assert_eq!(p.status_after_edit(Status::Rejected, Decision::Allow, 0.0), Status::Allowed);
        assert_eq!(p.status_after_edit(Status::Allowed, Decision::Reject, 0.0), Status::Rejected);
    }

    #[test]
    fn priority_orders_by_score_then_reports() {
        assert!(priority(0.9, 0.0) > priority(0.5, 0.0));
        assert!(priority(0.5, 1.0) > priority(0.5, 0.5));
        assert_eq!(priority(0.5, 3.0), 800);
        assert_eq!(priority(f64::NAN.max(0.0), 0.0), 0);
        assert_eq!(Action::Approve.event(Status::Rejected), "restore");
        assert_eq!(Action::Approve.event(Status::Pending), "approve");
    }
}
