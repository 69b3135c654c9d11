//! The review queue's rules, without a database: what status a scored post
//! gets, how reports and scores make a priority, and which moderator
//! actions move an item where. Each change is a pure transition (the item
//! as loaded in, the new status, version and claim, the audit entry and,
//! for decisions, the webhook out); the store locks, loads, calls one of
//! [`decide`], [`claim`], [`release`], [`report`], [`edit`] or
//! [`created`], and persists what it returns.

use moderation_core::{Category, Decision, Engine, Post, Verdict};
use serde::{Deserialize, Serialize};

use crate::webhook::DecisionEvent;

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
    /// An action on the post's author, taken in the same transaction as
    /// the decision (with its own audit entry and `account` webhook).
    #[serde(default)]
    pub account: Option<crate::accounts::AccountInput>,
}

/// A moderator's hold on an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Claim {
    /// The moderator's key id.
    pub by: String,
    /// The moderator's display name, when their key has one.
    #[serde(default)]
    pub by_name: Option<String>,
    /// When the lease runs out (Unix ms) unless renewed.
    pub expires_at: i64,
}

impl Claim {
    /// Whether the lease still runs at `now`.
    pub fn live(&self, now: i64) -> bool {
        self.expires_at > now
    }
}

/// A community flag.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Report {
    /// The forum's id for the reporting user.
    pub reporter_id: String,
    /// Their trust level (weights the report).
    pub trust_level: Option<u8>,
    /// Why (`spam`, `scam`, `offensive`, …).
    pub reason: String,
    /// Free text.
    #[serde(default)]
    pub note: String,
    /// When (Unix ms); set by the service.
    #[serde(default)]
    pub created_at: i64,
    /// The weight it was given; set by the service.
    #[serde(default)]
    pub weight: f64,
}

/// An item as the store loaded it (locked) to change it.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemState {
    /// The queue's id for it.
    pub id: i64,
    /// Its forum.
    pub forum: String,
    /// The forum's id for the post.
    pub post_id: String,
    /// Where it is.
    pub status: Status,
    /// Its version.
    pub version: i64,
    /// The claim as stored (possibly expired: the rules check the lease).
    pub claim: Option<Claim>,
    /// Its top category.
    pub category: Category,
    /// That category's score.
    pub score: f64,
    /// Summed weight of community reports.
    pub report_weight: f64,
}

impl ItemState {
    /// The claim of someone other than `actor` that still runs at `now`.
    fn held_by_other(&self, actor: &str, now: i64) -> Option<Claim> {
        self.claim.as_ref().filter(|c| c.live(now) && c.by != actor).cloned()
    }
}

/// One audit log entry, as appended.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// The item.
    pub item: i64,
    /// The key id that acted.
    pub actor: String,
    /// `submitted`, `edited`, `reported`, `claimed`, `released`, or a
    /// decision's event (`approve`, `remove`, `escalate`, `restore`).
    pub action: &'static str,
    /// Status before (none for a first submission).
    pub from: Option<Status>,
    /// Status after.
    pub to: Status,
    /// Reason code (decisions, reports; the engine's decision for submissions).
    pub reason: String,
    /// Free text.
    pub note: String,
    /// The item's version after the change.
    pub version: i64,
    /// When (Unix ms).
    pub at: i64,
}

/// What a change does to an item: the store writes these fields, the
/// audit entry and, when present, the webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The new status.
    pub status: Status,
    /// The new version.
    pub version: i64,
    /// The claim after the change.
    pub claim: Option<Claim>,
    /// The summed report weight after the change.
    pub report_weight: f64,
    /// The queue priority after the change (see [`priority`]).
    pub priority: i64,
    /// The entry for the audit log.
    pub audit: AuditRecord,
    /// For a decision on a forum with a webhook: what the forum is sent.
    pub webhook: Option<DecisionEvent>,
}

/// Why the rules refuse a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecideError {
    /// Another moderator holds it.
    Held(Claim),
    /// The item changed since the moderator looked (`expected_version`).
    Stale {
        /// Its version now.
        current: i64,
    },
    /// It already has that status.
    NoChange(Status),
}

/// Why the rules refuse a claim or a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimError {
    /// Another moderator holds it.
    Held(Claim),
}

fn transition(item: &ItemState, status: Status, version: i64, audit: AuditRecord) -> Transition {
    Transition {
        status,
        version,
        claim: item.claim.clone(),
        report_weight: item.report_weight,
        priority: priority(item.score, item.report_weight),
        audit,
        webhook: None,
    }
}

/// An audit entry for a change of `item` by `actor` (no reason, no note).
fn record(item: &ItemState, actor: &str, action: &'static str, to: Status, version: i64, at: i64) -> AuditRecord {
    AuditRecord {
        item: item.id,
        actor: actor.to_string(),
        action,
        from: Some(item.status),
        to,
        reason: String::new(),
        note: String::new(),
        version,
        at,
    }
}

/// A moderator's decision: refused while another moderator holds the
/// item, when `expected_version` is not the item's, or when the item
/// already has the target status; otherwise the new status, version + 1,
/// the claim released, the audit entry named by [`Action::event`] and,
/// when `webhook`, the event the forum is sent.
pub fn decide(
    item: &ItemState,
    input: &DecisionInput,
    actor: &str,
    now: i64,
    webhook: bool,
) -> Result<Transition, DecideError> {
    if let Some(held) = item.held_by_other(actor, now) {
        return Err(DecideError::Held(held));
    }
    if input.expected_version.is_some_and(|v| v != item.version) {
        return Err(DecideError::Stale { current: item.version });
    }
    let (from, to) = (item.status, input.action.target());
    if from == to {
        return Err(DecideError::NoChange(from));
    }
    let event = input.action.event(from);
    let version = item.version + 1;
    let audit = AuditRecord {
        reason: input.reason.clone(),
        note: input.note.clone(),
        ..record(item, actor, event, to, version, now)
    };
    let webhook = webhook.then(|| DecisionEvent {
        action: event,
        category: item.category,
        decided_at: now,
        event: "decision",
        forum: item.forum.clone(),
        idempotency_key: DecisionEvent::key(item.id, version),
        item_id: item.id,
        moderator: actor.to_string(),
        moderator_name: None,
        note: input.note.clone(),
        post_id: item.post_id.clone(),
        reason: input.reason.clone(),
        score: item.score,
        status: to.as_str(),
        version,
    });
    Ok(Transition { claim: None, webhook, ..transition(item, to, version, audit) })
}

/// Claims the item for `actor` until `now + lease_ms` (renews the actor's
/// own claim, takes over an expired one); refused while another
/// moderator's claim runs. The version does not change.
pub fn claim(item: &ItemState, actor: &str, lease_ms: i64, now: i64) -> Result<Transition, ClaimError> {
    if let Some(held) = item.held_by_other(actor, now) {
        return Err(ClaimError::Held(held));
    }
    let audit = record(item, actor, "claimed", item.status, item.version, now);
    let claim = Claim { by: actor.to_string(), by_name: None, expires_at: now.saturating_add(lease_ms) };
    Ok(Transition { claim: Some(claim), ..transition(item, item.status, item.version, audit) })
}

/// Gives `actor`'s claim up (releasing an unclaimed item is not an
/// error); refused while another moderator's claim runs.
pub fn release(item: &ItemState, actor: &str, now: i64) -> Result<Transition, ClaimError> {
    if let Some(held) = item.held_by_other(actor, now) {
        return Err(ClaimError::Held(held));
    }
    let audit = record(item, actor, "released", item.status, item.version, now);
    Ok(Transition { claim: None, ..transition(item, item.status, item.version, audit) })
}

/// Releases an item `actor` holds because they moved on to another one
/// (the pages: one item at a time).
pub fn move_on(item: &ItemState, actor: &str, now: i64) -> Transition {
    let audit =
        AuditRecord { note: "moved on".to_string(), ..record(item, actor, "released", item.status, item.version, now) };
    Transition { claim: None, ..transition(item, item.status, item.version, audit) }
}

/// A new community report (the store has checked it is the reporter's
/// first on the item): its weight added, an allowed post queued once the
/// weight reaches the threshold, version + 1.
pub fn report(item: &ItemState, report: &Report, policy: &Policy, actor: &str, now: i64) -> Transition {
    let total = item.report_weight + policy.report_weight(report.trust_level);
    let from = item.status;
    let status = if from == Status::Allowed { policy.status_for(Decision::Allow, total) } else { from };
    let version = item.version + 1;
    let audit = AuditRecord {
        reason: report.reason.clone(),
        note: report.note.clone(),
        ..record(item, actor, "reported", status, version, now)
    };
    Transition {
        report_weight: total,
        priority: priority(item.score, total),
        ..transition(item, status, version, audit)
    }
}

/// A changed resubmission of the post, rescored to `decision` with top
/// score `score`: the status per [`Policy::status_after_edit`], the next
/// version, the priority from the new score. (An identical resubmission
/// changes nothing and is no transition.)
pub fn edit(item: &ItemState, decision: Decision, score: f64, policy: &Policy, actor: &str, now: i64) -> Transition {
    let status = policy.status_after_edit(item.status, decision, item.report_weight);
    let version = item.version + 1;
    let audit =
        AuditRecord { reason: decision.as_str().to_string(), ..record(item, actor, "edited", status, version, now) };
    Transition { priority: priority(score, item.report_weight), ..transition(item, status, version, audit) }
}

/// A post's first submission, as inserted (status per
/// [`Policy::status_for`] with no reports, version 1): its audit entry.
pub fn created(item: &ItemState, decision: Decision, actor: &str, now: i64) -> Transition {
    let audit = AuditRecord {
        from: None,
        reason: decision.as_str().to_string(),
        ..record(item, actor, "submitted", item.status, 1, now)
    };
    transition(item, item.status, 1, audit)
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

    fn item(status: Status, claim: Option<(&str, i64)>) -> ItemState {
        ItemState {
            id: 7,
            forum: "main".into(),
            post_id: "p-7".into(),
            status,
            version: 3,
            claim: claim.map(|(by, until)| Claim { by: by.into(), by_name: None, expires_at: until }),
            category: Category::Scam,
            score: 0.9,
            report_weight: 1.0,
        }
    }

    fn input(action: Action, expected_version: Option<i64>) -> DecisionInput {
        DecisionInput { action, reason: "scam".into(), note: "fake support".into(), expected_version, account: None }
    }

    #[test]
    fn a_decision_moves_the_item_releases_the_claim_and_records_it() {
        let t = decide(
            &item(Status::Pending, Some(("key_a", 2_000))),
            &input(Action::Remove, Some(3)),
            "key_a",
            1_000,
            false,
        )
        .unwrap();
        assert_eq!((t.status, t.version, t.claim.clone(), t.webhook.clone()), (Status::Removed, 4, None, None));
        assert_eq!(
            t.audit,
            AuditRecord {
                item: 7,
                actor: "key_a".into(),
                action: "remove",
                from: Some(Status::Pending),
                to: Status::Removed,
                reason: "scam".into(),
                note: "fake support".into(),
                version: 4,
                at: 1_000,
            }
        );
        assert_eq!((t.report_weight, t.priority), (1.0, priority(0.9, 1.0)));
    }

    #[test]
    fn a_decision_is_refused_while_another_moderator_holds_the_item_but_not_after_the_lease() {
        let held = item(Status::Pending, Some(("key_b", 2_000)));
        let claim = Claim { by: "key_b".into(), by_name: None, expires_at: 2_000 };
        assert_eq!(
            decide(&held, &input(Action::Approve, None), "key_a", 1_999, true),
            Err(DecideError::Held(claim.clone()))
        );
        assert_eq!(claim_item(&held, "key_a", 1_999), Err(ClaimError::Held(claim.clone())));
        assert_eq!(release(&held, "key_a", 1_999), Err(ClaimError::Held(claim)));
        assert!(decide(&held, &input(Action::Approve, None), "key_a", 2_000, true).is_ok());
        assert!(decide(&held, &input(Action::Approve, None), "key_b", 1_000, true).is_ok());
    }

    fn claim_item(state: &ItemState, actor: &str, now: i64) -> Result<Transition, ClaimError> {
        claim(state, actor, 600, now)
    }

    #[test]
    fn a_stale_version_and_no_change_are_refused() {
        let pending = item(Status::Pending, None);
        assert_eq!(
            decide(&pending, &input(Action::Remove, Some(2)), "key_a", 1, false),
            Err(DecideError::Stale { current: 3 })
        );
        let removed = item(Status::Removed, None);
        assert_eq!(
            decide(&removed, &input(Action::Remove, None), "key_a", 1, false),
            Err(DecideError::NoChange(Status::Removed))
        );
    }

    #[test]
    fn a_webhook_is_built_only_when_asked_and_names_restores() {
        let rejected = item(Status::Rejected, None);
        let t = decide(&rejected, &input(Action::Approve, None), "key_a", 5_000, true).unwrap();
        assert_eq!(t.audit.action, "restore");
        let event = t.webhook.unwrap();
        assert_eq!(
            event,
            DecisionEvent {
                action: "restore",
                category: Category::Scam,
                decided_at: 5_000,
                event: "decision",
                forum: "main".into(),
                idempotency_key: "item-7-v4".into(),
                item_id: 7,
                moderator: "key_a".into(),
                moderator_name: None,
                note: "fake support".into(),
                post_id: "p-7".into(),
                reason: "scam".into(),
                score: 0.9,
                status: "approved",
                version: 4,
            }
        );
        let t = decide(&item(Status::Pending, None), &input(Action::Approve, None), "key_a", 5_000, false).unwrap();
        assert_eq!((t.audit.action, t.webhook), ("approve", None));
    }

    #[test]
    fn claims_and_releases_keep_the_version_and_record_who() {
        let t = claim(&item(Status::Pending, Some(("key_b", 100))), "key_a", 600, 1_000).unwrap();
        assert_eq!(t.claim, Some(Claim { by: "key_a".into(), by_name: None, expires_at: 1_600 }));
        assert_eq!((t.status, t.version, t.audit.action, t.audit.version), (Status::Pending, 3, "claimed", 3));
        let t = release(&item(Status::Pending, Some(("key_a", 2_000))), "key_a", 1_000).unwrap();
        assert_eq!((t.claim, t.audit.action, t.audit.note.as_str()), (None, "released", ""));
        let t = move_on(&item(Status::Escalated, Some(("key_a", 2_000))), "key_a", 1_000);
        assert_eq!((t.claim, t.audit.action, t.audit.note.as_str()), (None, "released", "moved on"));
    }

    #[test]
    fn reports_add_weight_and_queue_an_allowed_post_at_the_threshold() {
        let report_of = |trust| Report {
            reporter_id: "u1".into(),
            trust_level: Some(trust),
            reason: "spam".into(),
            note: String::new(),
            created_at: 0,
            weight: 0.0,
        };
        let allowed = item(Status::Allowed, None);
        let t = report(&allowed, &report_of(0), &Policy::default(), "key_f", 1);
        assert_eq!((t.status, t.version, t.report_weight), (Status::Allowed, 4, 1.5));
        let t = report(&allowed, &report_of(1), &Policy::default(), "key_f", 1);
        assert_eq!((t.status, t.priority, t.audit.reason.as_str()), (Status::Pending, priority(0.9, 2.0), "spam"));
        assert_eq!((t.audit.from, t.audit.action), (Some(Status::Allowed), "reported"));
        let t = report(&item(Status::Removed, None), &report_of(4), &Policy::default(), "key_f", 1);
        assert_eq!(t.status, Status::Removed);
    }

    #[test]
    fn submissions_and_edits_are_recorded_with_the_engine_decision() {
        let created_item = item(Status::Pending, None);
        let t = created(&ItemState { version: 1, ..created_item }, Decision::Hold, "key_f", 9);
        assert_eq!((t.version, t.audit.from, t.audit.to, t.audit.action), (1, None, Status::Pending, "submitted"));
        assert_eq!(t.audit.reason, "hold");
        let t = edit(&item(Status::Approved, None), Decision::Review, 0.5, &Policy::default(), "key_f", 9);
        assert_eq!(
            (t.status, t.version, t.audit.action, t.audit.reason.as_str()),
            (Status::Pending, 4, "edited", "review")
        );
        assert_eq!((t.audit.from, t.priority), (Some(Status::Approved), priority(0.5, 1.0)));
    }
}
