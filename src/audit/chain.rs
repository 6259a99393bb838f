//! Verifying the audit trail's hash chains (`mash-triage audit verify`).
//!
//! The database links every audit row into a chain as it is inserted (migration
//! `20261130000010_chain_audit_events.sql`; since `20261204000003`, a transaction reads its
//! lane's head once and links its later rows to the row before): one chain per UTC day and lane,
//! positions 1, 2, 3..., and `hash = sha256(prev_hash || canonical text)`, the first `prev_hash`
//! being 32 zero bytes.
//! [`ChainWalk`] re-checks that in chain order. It trusts nothing the database computes except the
//! canonical text of each row, which the verifying query builds from the columns itself.
//!
//! What it finds: a row changed after it was written (its hash no longer matches), a row removed
//! or inserted out of turn (a position is missing or the previous hash does not match), and a row
//! outside every chain. What it cannot find on its own: a superuser who rewrites a row *and*
//! recomputes every later link of its chain, or who removes a chain's last rows: that needs the
//! chain heads kept somewhere the database's administrators cannot write (not built yet).
//!
//! Reports carry chain names, positions and event ids only, never the rows' content.

use std::fmt;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

/// The `prev_hash` of a chain's first row.
const GENESIS: [u8; 32] = [0; 32];

/// One row as the verifier reads it, in chain order.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChainLink {
    pub chain_day: NaiveDate,
    pub chain_lane: i16,
    pub chain_seq: i64,
    pub id: i64,
    /// `None` only if someone removed the column's NOT NULL and wrote a row without it.
    pub prev_hash: Option<Vec<u8>>,
    pub hash: Option<Vec<u8>>,
    /// The row's canonical text, built by the verifying query.
    pub canonical: String,
}

/// Why a link is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkProblem {
    /// The row's hash does not match its content and previous hash: the row was changed.
    Altered,
    /// The row does not point at the hash of the row before it: a row before it was changed or
    /// replaced, or it was written out of turn.
    NotLinked,
    /// The chain skips from one position to a later one: rows were removed.
    Missing { expected: i64 },
    /// A chain does not start at position 1: its first rows were removed.
    NoStart,
    /// The row has no chain position at all.
    Unchained,
}

/// The first broken link found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    /// `YYYY-MM-DD/lane`, or `none` for an unchained row.
    pub chain: String,
    pub seq: Option<i64>,
    pub event_id: i64,
    pub problem: LinkProblem,
}

impl fmt::Display for BrokenLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = match self.seq {
            Some(seq) => format!("chain {}, seq {}, event {}", self.chain, seq, self.event_id),
            None => format!("event {} (in no chain)", self.event_id),
        };
        let why = match &self.problem {
            LinkProblem::Altered => "its hash does not match its content: the row was changed".to_owned(),
            LinkProblem::NotLinked => "it does not link to the row before it: that row was changed or replaced, \
                                       or this one was written out of turn"
                .to_owned(),
            LinkProblem::Missing { expected } => {
                format!("seq {expected} onwards is missing before it: rows were removed")
            }
            LinkProblem::NoStart => "the chain does not start at seq 1: its first rows were removed".to_owned(),
            LinkProblem::Unchained => "it has no place in any chain".to_owned(),
        };
        write!(f, "{at}: {why}")
    }
}

/// The result of a whole verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Sound { events: u64, chains: u64 },
    Broken { checked: u64, first: BrokenLink },
}

/// Checks links one at a time, in chain order (day, lane, seq).
#[derive(Debug, Default)]
pub struct ChainWalk {
    chain: Option<(NaiveDate, i16)>,
    next_seq: i64,
    last_hash: Vec<u8>,
    /// Links found sound so far.
    pub events: u64,
    /// Chains entered so far.
    pub chains: u64,
}

impl ChainWalk {
    /// Checks the next link; the first error is the first broken link.
    pub fn check(&mut self, link: &ChainLink) -> Result<(), BrokenLink> {
        let key = (link.chain_day, link.chain_lane);
        if self.chain != Some(key) {
            self.chain = Some(key);
            self.chains += 1;
            self.next_seq = 1;
            self.last_hash = GENESIS.to_vec();
        }
        let broken = |problem| BrokenLink {
            chain: chain_name(link.chain_day, link.chain_lane),
            seq: Some(link.chain_seq),
            event_id: link.id,
            problem,
        };
        if link.chain_seq != self.next_seq {
            return Err(broken(if self.next_seq == 1 {
                LinkProblem::NoStart
            } else {
                LinkProblem::Missing { expected: self.next_seq }
            }));
        }
        let (Some(prev), Some(hash)) = (&link.prev_hash, &link.hash) else {
            return Err(broken(LinkProblem::Altered));
        };
        if *prev != self.last_hash {
            return Err(broken(LinkProblem::NotLinked));
        }
        if Sha256::new().chain_update(prev).chain_update(link.canonical.as_bytes()).finalize()[..] != hash[..] {
            return Err(broken(LinkProblem::Altered));
        }
        self.last_hash.clone_from(hash);
        self.next_seq += 1;
        self.events += 1;
        Ok(())
    }
}

fn chain_name(day: NaiveDate, lane: i16) -> String {
    format!("{}/{lane}", day.format("%Y-%m-%d"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(seq: i64, id: i64, prev: &[u8], content: &str) -> ChainLink {
        let hash = Sha256::new().chain_update(prev).chain_update(content.as_bytes()).finalize().to_vec();
        ChainLink {
            chain_day: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            chain_lane: 3,
            chain_seq: seq,
            id,
            prev_hash: Some(prev.to_vec()),
            hash: Some(hash),
            canonical: content.to_owned(),
        }
    }

    fn chain(n: i64) -> Vec<ChainLink> {
        let mut prev = GENESIS.to_vec();
        (1..=n)
            .map(|seq| {
                let l = link(seq, seq * 10, &prev, &format!("[{seq}]"));
                prev.clone_from(l.hash.as_ref().unwrap());
                l
            })
            .collect()
    }

    fn walk(links: &[ChainLink]) -> Result<u64, BrokenLink> {
        let mut walk = ChainWalk::default();
        for l in links {
            walk.check(l)?;
        }
        Ok(walk.events)
    }

    #[test]
    fn a_sound_chain_walks_to_the_end() {
        assert_eq!(walk(&chain(5)), Ok(5));
    }

    #[test]
    fn a_changed_row_is_the_first_broken_link_and_named_by_position_and_id() {
        let mut links = chain(5);
        links[2].canonical = "[changed]".into();
        let broken = walk(&links).unwrap_err();
        assert_eq!((broken.seq, broken.event_id, &broken.problem), (Some(3), 30, &LinkProblem::Altered));
        assert_eq!(broken.chain, "2026-11-30/3");
        assert!(broken.to_string().contains("chain 2026-11-30/3, seq 3, event 30"), "{broken}");
    }

    #[test]
    fn a_rehashed_row_breaks_the_next_link() {
        let mut links = chain(5);
        let prev = links[1].hash.clone().unwrap();
        links[2] = link(3, 30, &prev, "[changed]");
        assert_eq!(walk(&links).unwrap_err().problem, LinkProblem::NotLinked);
        assert_eq!(walk(&links).unwrap_err().seq, Some(4));
    }

    #[test]
    fn removed_rows_are_found_in_the_middle_and_at_the_start() {
        let mut links = chain(5);
        links.remove(2);
        assert_eq!(walk(&links).unwrap_err().problem, LinkProblem::Missing { expected: 3 });
        assert_eq!(walk(&chain(5)[1..]).unwrap_err().problem, LinkProblem::NoStart);
    }
}
