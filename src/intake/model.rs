//! What a submission did.

use crate::contact::ContactRecord;

/// What a submission did.
#[derive(Debug, Clone, PartialEq)]
pub enum Submitted {
    /// A new contact was stored.
    Created(ContactRecord),
    /// The same body was sent before under this reference: the stored contact, unchanged.
    Replayed(ContactRecord),
    /// The same `Idempotency-Key` and body were sent before: the contact as it is now, with the
    /// status the first request was answered with (201 or 200).
    Repeated(ContactRecord, u16),
}

impl Submitted {
    /// The contact stored or found.
    pub fn record(&self) -> &ContactRecord {
        match self {
            Self::Created(r) | Self::Replayed(r) | Self::Repeated(r, _) => r,
        }
    }

    /// The status the submission is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Self::Created(_) => 201,
            Self::Replayed(_) => 200,
            Self::Repeated(_, status) => *status,
        }
    }
}
