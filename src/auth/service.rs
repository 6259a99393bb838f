//! Creating agencies, staff and keys, and turning a presented key into a [`Principal`].

use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{
    model::{AgencyKind, AgencyPrincipal, Principal, Role, StaffPrincipal},
    repo,
};
use crate::{
    audit::{self, Actor, AuditAction},
    db::StoreError,
    id::{AgencyId, ApiKeyId, StaffId},
    state::AppState,
};

/// Every key starts with this, so secret scanners and people can recognise one.
const KEY_PREFIX: &str = "mash_";
/// Random bytes in a key: 192 bits, far beyond guessing, so a fast hash (SHA-256) is enough.
const KEY_BYTES: usize = 24;

/// Why a caller was not let in.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No key, or a key that is unknown or revoked.
    #[error("missing or unknown API key")]
    Unauthenticated,
    /// A valid key whose principal may not use this route.
    #[error("this key may not use this operation")]
    Forbidden,
    /// The agency named on the command line does not exist.
    #[error("no agency with that id or name")]
    UnknownAgency,
    /// An agency with that name exists already.
    #[error("an agency with that name exists already")]
    DuplicateAgency,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AuthError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(err.into())
    }
}

/// A newly issued key: the secret is shown once and never stored.
#[derive(Debug)]
pub struct IssuedKey {
    pub id: ApiKeyId,
    pub secret: String,
}

/// The stored form of a key.
pub(crate) fn hash_key(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

fn generate_secret() -> String {
    let mut bytes = [0u8; KEY_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    format!("{KEY_PREFIX}{}", hex::encode(bytes))
}

/// Resolves a presented key to its principal.
pub async fn authenticate(state: &AppState, secret: &str) -> Result<Principal, AuthError> {
    // Anything not shaped like one of our keys cannot match; skip the database.
    if !secret.starts_with(KEY_PREFIX) || secret.len() != KEY_PREFIX.len() + KEY_BYTES * 2 {
        return Err(AuthError::Unauthenticated);
    }
    repo::find_principal_by_key_hash(&state.db, &hash_key(secret)).await?.ok_or(AuthError::Unauthenticated)
}

impl Principal {
    /// The agency behind this principal, or `Forbidden` for staff.
    pub fn require_agency(&self) -> Result<AgencyPrincipal, AuthError> {
        match self {
            Self::Agency(agency) => Ok(*agency),
            Self::Staff(_) => Err(AuthError::Forbidden),
        }
    }

    /// The staff member behind this principal if their role is one of `roles`.
    pub fn require_staff(&self, roles: &[Role]) -> Result<StaffPrincipal, AuthError> {
        match self {
            Self::Staff(staff) if roles.contains(&staff.role) => Ok(*staff),
            _ => Err(AuthError::Forbidden),
        }
    }

    /// Who this principal is, for the audit trail.
    pub fn actor(&self) -> Actor {
        match self {
            Self::Agency(a) => Actor::agency(a.agency_id, a.key_id),
            Self::Staff(s) => Actor::staff(s.staff_id, s.key_id),
        }
    }
}

/// Creates an agency (command line). Audited as a system action.
pub async fn create_agency(state: &AppState, name: &str, kind: AgencyKind) -> Result<AgencyId, AuthError> {
    let id = AgencyId::generate();
    let now = state.clock.now();
    crate::db::in_transaction(&state.db, async |tx| {
        if !repo::insert_agency(tx, id, name, kind, now).await? {
            return Err(AuthError::DuplicateAgency);
        }
        audit::record(
            tx,
            now,
            &Actor::system(),
            AuditAction::AgencyCreated,
            None,
            serde_json::json!({ "agency_id": id, "kind": kind }),
        )
        .await?;
        Ok(id)
    })
    .await
}

/// Whether an agency exists.
pub async fn agency_exists(conn: &mut sqlx::PgConnection, id: AgencyId) -> Result<bool, sqlx::Error> {
    repo::agency_exists(conn, id).await
}

/// Finds an agency by id or exact name.
pub async fn find_agency(state: &AppState, id_or_name: &str) -> Result<AgencyId, AuthError> {
    let by_id = id_or_name.parse::<uuid::Uuid>().ok().map(AgencyId);
    repo::find_agency(&state.db, by_id, id_or_name).await?.ok_or(AuthError::UnknownAgency)
}

/// Issues a key for an existing agency.
pub async fn create_agency_key(state: &AppState, agency_id: AgencyId) -> Result<IssuedKey, AuthError> {
    let key = IssuedKey { id: ApiKeyId::generate(), secret: generate_secret() };
    let now = state.clock.now();
    crate::db::in_transaction(&state.db, async |tx| {
        repo::insert_key(tx, key.id, &hash_key(&key.secret), Some(agency_id), None, now).await?;
        audit::record(
            tx,
            now,
            &Actor::system(),
            AuditAction::ApiKeyCreated,
            None,
            serde_json::json!({ "api_key_id": key.id, "agency_id": agency_id }),
        )
        .await?;
        Ok(key)
    })
    .await
}

/// Creates a staff member with one role and issues their key.
pub async fn create_staff_with_key(
    state: &AppState,
    name: &str,
    role: Role,
) -> Result<(StaffId, IssuedKey), AuthError> {
    let staff_id = StaffId::generate();
    let key = IssuedKey { id: ApiKeyId::generate(), secret: generate_secret() };
    let now = state.clock.now();
    crate::db::in_transaction(&state.db, async |tx| {
        repo::insert_staff(tx, staff_id, name, role, now).await?;
        repo::insert_key(tx, key.id, &hash_key(&key.secret), None, Some(staff_id), now).await?;
        audit::record(
            tx,
            now,
            &Actor::system(),
            AuditAction::StaffCreated,
            None,
            serde_json::json!({ "staff_id": staff_id, "role": role, "api_key_id": key.id }),
        )
        .await?;
        Ok((staff_id, key))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_unique_prefixed_and_hash_to_32_bytes() {
        let a = generate_secret();
        let b = generate_secret();
        assert_ne!(a, b);
        assert!(a.starts_with(KEY_PREFIX));
        assert_eq!(a.len(), KEY_PREFIX.len() + KEY_BYTES * 2);
        assert_eq!(hash_key(&a).len(), 32);
        assert_ne!(hash_key(&a), hash_key(&b));
    }

    #[test]
    fn roles_gate_staff_and_agencies_separately() {
        let staff = Principal::Staff(StaffPrincipal {
            staff_id: StaffId::generate(),
            role: Role::Practitioner,
            key_id: ApiKeyId::generate(),
        });
        assert!(staff.require_staff(&[Role::Practitioner, Role::Manager]).is_ok());
        assert!(matches!(staff.require_staff(&[Role::Auditor]), Err(AuthError::Forbidden)));
        assert!(matches!(staff.require_agency(), Err(AuthError::Forbidden)));
    }
}
