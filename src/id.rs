//! Typed identifiers. Every id is a UUID (v7, so ids sort by creation time) wrapped in a newtype,
//! so a contact id can never be passed where an agency id is expected.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type)]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

id_type!(
    /// A contact.
    ContactId
);
id_type!(
    /// A partner agency.
    AgencyId
);
id_type!(
    /// A hub staff member.
    StaffId
);
id_type!(
    /// An API key (not the key itself: the key is a secret shown once).
    ApiKeyId
);
id_type!(
    /// A clock on a contact (decision or feedback).
    ClockId
);
id_type!(
    /// A child named in a contact (each contact's children have their own ids; matching links
    /// them across contacts).
    ChildId
);
id_type!(
    /// A webhook delivery: the `X-Mash-Delivery` id, the same on every retry.
    DeliveryId
);
id_type!(
    /// A webhook endpoint (an agency's, or a staff-notification one).
    EndpointId
);
