//! What a submission did.

use crate::contact::ContactRecord;

/// What a submission did.
#[derive(Debug, Clone, PartialEq)]
pub enum Submitted {
    /// A new contact was stored.
    Created(ContactRecord),
    /// The same body was sent before under this reference: the stored contact, unchanged.
    Replayed(ContactRecord),
}
