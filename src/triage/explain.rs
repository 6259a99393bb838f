//! `mash-triage policy explain`: the decision a policy gives a contact, without a database, so a
//! policy author can try a change on real-looking contacts before it is deployed.

use std::fmt::Write as _;

use chrono::{DateTime, TimeDelta, Utc};

use super::{ChildFacts, ContactFacts, Decision, classify};
use crate::{contact::NewContact, policy::Policy, vocabulary::AgencyKind};

/// The decision for `contact` from an agency of `kind`, received at `received_at`, as if each
/// child had `priors` earlier contacts (one a day before it, going back).
pub fn explain(
    policy: &Policy,
    contact: &NewContact,
    kind: AgencyKind,
    received_at: DateTime<Utc>,
    priors: u32,
) -> Decision {
    let facts = ContactFacts::of(contact, kind, received_at, policy);
    let mut children = ChildFacts::of(contact);
    for child in &mut children {
        child.prior_contacts = (1..=priors).map(|d| received_at - TimeDelta::days(i64::from(d))).collect();
    }
    classify(policy, &facts, &children)
}

/// The decision as text: version, urgency, queue, and every reason with the rule behind it.
pub fn render(d: &Decision) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "policy:  {}", d.policy_version);
    let _ = writeln!(out, "urgency: {}", d.urgency);
    let _ = writeln!(out, "queue:   {}", d.queue);
    let _ = writeln!(out, "reasons:");
    for r in &d.reasons {
        let child = r.child.map(|c| format!("child {c}: ")).unwrap_or_default();
        let _ = writeln!(out, "  - {child}{} -> {}: {}", r.rule, r.effect, r.explanation);
    }
    if !d.flags.is_empty() {
        let _ = writeln!(out, "flags:   {}", d.flags.join(", "));
    }
    out
}
