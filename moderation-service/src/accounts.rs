//! Account actions without a database: what a moderator can do to a
//! forum's author (silence, suspend for a time, ban, lift), the standing
//! each leaves, and the webhook the forum receives ([`AccountEvent`]). The
//! store loads the author's account, calls [`act`] and persists what it
//! returns with its audit entry, in one transaction. The forum enforces the
//! standing (it owns the accounts); the service records it, shows it and
//! tells the forum.

use serde::{Deserialize, Serialize};

/// What a moderator does to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountAction {
    /// May read but not post (for `duration_hours`, or until lifted).
    Silence,
    /// May not log in for `duration_hours` (required).
    Suspend,
    /// May not log in, for good (until lifted).
    Ban,
    /// Back to good standing.
    Lift,
}

impl AccountAction {
    /// The name in requests, the audit log (`account.<name>`) and webhooks.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountAction::Silence => "silence",
            AccountAction::Suspend => "suspend",
            AccountAction::Ban => "ban",
            AccountAction::Lift => "lift",
        }
    }

    /// The audit log's action name.
    pub fn audit_action(self) -> &'static str {
        match self {
            AccountAction::Silence => "account.silence",
            AccountAction::Suspend => "account.suspend",
            AccountAction::Ban => "account.ban",
            AccountAction::Lift => "account.lift",
        }
    }

    /// The standing it leaves.
    pub fn standing(self) -> Standing {
        match self {
            AccountAction::Silence => Standing::Silenced,
            AccountAction::Suspend => Standing::Suspended,
            AccountAction::Ban => Standing::Banned,
            AccountAction::Lift => Standing::Good,
        }
    }
}

/// Where an account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Standing {
    /// No restriction.
    Good,
    /// May not post.
    Silenced,
    /// May not log in until a time.
    Suspended,
    /// May not log in.
    Banned,
}

impl Standing {
    /// Every standing.
    pub const ALL: [Standing; 4] = [Standing::Good, Standing::Silenced, Standing::Suspended, Standing::Banned];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Good => "good",
            Standing::Silenced => "silenced",
            Standing::Suspended => "suspended",
            Standing::Banned => "banned",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Standing> {
        Standing::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// Longest suspension or silence, in hours (ten years).
pub const MAX_DURATION_HOURS: u32 = 87_600;

/// An account action as requested, beside a decision or on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    /// `silence`, `suspend`, `ban` or `lift`.
    pub action: AccountAction,
    /// How long, in hours (1–87,600): required to suspend, optional to
    /// silence (none: until lifted), refused for ban and lift.
    #[serde(default)]
    pub duration_hours: Option<u32>,
    /// Also remove every post of the author still waiting in the queue
    /// (pending or escalated), each as its own decision with its audit
    /// entry and webhook.
    #[serde(default)]
    pub remove_pending: bool,
}

/// Why an account action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// A suspension without a duration.
    #[error("a suspension needs duration_hours")]
    DurationNeeded,
    /// A duration given to a ban or a lift.
    #[error("`{0}` takes no duration_hours")]
    NoDuration(&'static str),
    /// A duration of 0 or past the limit.
    #[error("duration_hours must be between 1 and {MAX_DURATION_HOURS}")]
    Duration,
}

impl AccountInput {
    /// Checks the duration against the action.
    pub fn validate(&self) -> Result<(), AccountError> {
        match (self.action, self.duration_hours) {
            (AccountAction::Suspend, None) => Err(AccountError::DurationNeeded),
            (a @ (AccountAction::Ban | AccountAction::Lift), Some(_)) => Err(AccountError::NoDuration(a.as_str())),
            (_, Some(h)) if !(1..=MAX_DURATION_HOURS).contains(&h) => Err(AccountError::Duration),
            _ => Ok(()),
        }
    }
}

/// An account as stored: its standing, until when, and a version that
/// grows with every action (webhooks carry it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Account {
    /// The store's id.
    pub id: i64,
    /// The forum.
    pub forum: String,
    /// The forum's id for the author.
    pub author_id: String,
    /// The standing as of now (a silence or suspension that ran out is `good`).
    pub standing: Standing,
    /// When a silence or suspension ends (Unix ms); `null` for good, banned, or indefinite.
    pub until: Option<i64>,
    /// Grows with every action.
    pub version: i64,
}

impl Account {
    /// The standing at `now`: a silence or suspension that ran out is over.
    pub fn at(mut self, now: i64) -> Account {
        if self.until.is_some_and(|u| u <= now) {
            self.standing = Standing::Good;
            self.until = None;
        }
        self
    }
}

/// What an action does to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountTransition {
    /// The standing before (as of now).
    pub from: Standing,
    /// The standing after.
    pub to: Standing,
    /// Until when (silence, suspension with a duration).
    pub until: Option<i64>,
    /// The account's version after.
    pub version: i64,
}

/// The transition of `current` (its standing as of `now`, version) by
/// `input`, which must be valid.
pub fn act(current: &Account, input: &AccountInput, now: i64) -> AccountTransition {
    let until = input.duration_hours.map(|h| now.saturating_add(i64::from(h) * 3_600_000));
    AccountTransition {
        from: current.clone().at(now).standing,
        to: input.action.standing(),
        until: until.filter(|_| matches!(input.action, AccountAction::Silence | AccountAction::Suspend)),
        version: current.version + 1,
    }
}

/// The body of the `account` webhook (version 1): compact JSON, fields in
/// alphabetical order. Sent once per account action, in the account's
/// version order, with `Idempotency-Key: account-<id>-v<version>`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(
    description = "The body of the `account` webhook (event_version 1): compact JSON, fields in alphabetical order."
)]
pub struct AccountEvent {
    /// `silence`, `suspend`, `ban` or `lift`.
    pub action: AccountAction,
    /// The forum's id for the author.
    pub author_id: String,
    /// The campaign decision that took the action, if one did.
    pub campaign_id: Option<i64>,
    /// When (Unix ms).
    pub decided_at: i64,
    /// The duration asked for, in hours.
    pub duration_hours: Option<u32>,
    /// Always `account`.
    #[schema(schema_with = account_event_schema)]
    pub event: &'static str,
    /// This payload's version: 1.
    pub event_version: u32,
    /// The forum.
    pub forum: String,
    /// `account-<account id>-v<version>`, as the `Idempotency-Key` header.
    pub idempotency_key: String,
    /// The item whose decision took the action, if one did.
    pub item_id: Option<i64>,
    /// The deciding key's id.
    pub moderator: String,
    /// The moderator's display name: only when the service is configured
    /// to send names (`webhook.moderator_name`) and the key has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderator_name: Option<String>,
    /// The moderator's note.
    pub note: String,
    /// The reason code.
    pub reason: String,
    /// Whether the author's waiting posts are being removed too (each
    /// also gets its own `decision` webhook).
    pub remove_pending: bool,
    /// The standing after the action.
    pub standing: Standing,
    /// When a silence or suspension ends (Unix ms), if it does.
    pub until: Option<i64>,
    /// The account's version after the action.
    pub version: i64,
}

fn account_event_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["account"]))
        .description(Some("The event type: always `account`."))
        .build()
}

impl AccountEvent {
    /// The idempotency key of an account's action that made `version`.
    pub fn key(account: i64, version: i64) -> String {
        format!("account-{account}-v{version}")
    }

    /// The body as sent.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an account event serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(action: AccountAction, duration_hours: Option<u32>) -> AccountInput {
        AccountInput { action, duration_hours, remove_pending: false }
    }

    #[test]
    fn durations_are_checked_against_the_action() {
        assert_eq!(input(AccountAction::Suspend, None).validate(), Err(AccountError::DurationNeeded));
        assert_eq!(input(AccountAction::Ban, Some(1)).validate(), Err(AccountError::NoDuration("ban")));
        assert_eq!(input(AccountAction::Lift, Some(1)).validate(), Err(AccountError::NoDuration("lift")));
        assert_eq!(input(AccountAction::Silence, Some(0)).validate(), Err(AccountError::Duration));
        assert_eq!(input(AccountAction::Suspend, Some(MAX_DURATION_HOURS + 1)).validate(), Err(AccountError::Duration));
        assert!(input(AccountAction::Suspend, Some(MAX_DURATION_HOURS)).validate().is_ok());
        assert!(input(AccountAction::Silence, None).validate().is_ok());
        assert!(input(AccountAction::Ban, None).validate().is_ok());
    }

    #[test]
    fn actions_set_the_standing_and_suspensions_run_out() {
        let good = Account {
            id: 1,
            forum: "main".into(),
            author_id: "u1".into(),
            standing: Standing::Good,
            until: None,
            version: 0,
        };
        let t = act(&good, &input(AccountAction::Suspend, Some(24)), 1_000);
        assert_eq!(
            t,
            AccountTransition {
                from: Standing::Good,
                to: Standing::Suspended,
                until: Some(1_000 + 86_400_000),
                version: 1
            }
        );
        let suspended = Account { standing: t.to, until: t.until, version: t.version, ..good.clone() };
        assert_eq!(suspended.clone().at(1_000 + 86_399_999).standing, Standing::Suspended);
        assert_eq!(suspended.clone().at(1_000 + 86_400_000).standing, Standing::Good);
        let t = act(&suspended, &input(AccountAction::Ban, None), 2_000);
        assert_eq!((t.from, t.to, t.until, t.version), (Standing::Suspended, Standing::Banned, None, 2));
        let t = act(&suspended, &input(AccountAction::Lift, None), 1_000 + 86_400_000);
        assert_eq!(t.from, Standing::Good, "a suspension that ran out is lifted already");
    }

    #[test]
    fn the_account_event_is_alphabetical_compact_json() {
        let e = AccountEvent {
            action: AccountAction::Suspend,
            author_id: "u1".into(),
            campaign_id: None,
            decided_at: 5,
            duration_hours: Some(72),
            event: "account",
            event_version: 1,
            forum: "main".into(),
            idempotency_key: AccountEvent::key(3, 2),
            item_id: Some(9),
            moderator: "key_a".into(),
            moderator_name: None,
            note: String::new(),
            reason: "scam".into(),
            remove_pending: true,
            standing: Standing::Suspended,
            until: Some(259_200_005),
            version: 2,
        };
        assert_eq!(
            e.to_json(),
            r#"{"action":"suspend","author_id":"u1","campaign_id":null,"decided_at":5,"duration_hours":72,"event":"account","event_version":1,"forum":"main","idempotency_key":"account-3-v2","item_id":9,"moderator":"key_a","note":"","reason":"scam","remove_pending":true,"standing":"suspended","until":259200005,"version":2}"#
        );
    }
}
