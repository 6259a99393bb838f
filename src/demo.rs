//! Demo data for `make run`: a police force, a school and a health trust, each with a key, and
//! one staff member per role. Agencies are created once; keys are new on every run (a key is
//! shown only when it is created).

use crate::{
    auth::{AgencyKind, AuthError, Role, service},
    state::AppState,
};

/// Demo agencies: name and kind.
pub const DEMO_AGENCIES: &[(&str, AgencyKind)] = &[
    ("Demo Police Force", AgencyKind::Police),
    ("Demo Primary School", AgencyKind::School),
    ("Demo Health Trust", AgencyKind::Health),
];

/// One line of demo output.
#[derive(Debug)]
pub struct DemoKey {
    /// Who the key is for.
    pub label: String,
    /// The key, shown once.
    pub secret: String,
}

/// Creates the demo agencies (if missing), one fresh key for each, and one staff key per role.
pub async fn seed(state: &AppState) -> Result<Vec<DemoKey>, AuthError> {
    let mut keys = Vec::new();
    for (name, kind) in DEMO_AGENCIES {
        let agency_id = match service::create_agency(state, name, *kind).await {
            Ok(id) => id,
            Err(AuthError::DuplicateAgency) => service::find_agency(state, name).await?,
            Err(err) => return Err(err),
        };
        let key = service::create_agency_key(state, agency_id).await?;
        keys.push(DemoKey { label: format!("agency  {kind:<16} {name} ({agency_id})"), secret: key.secret });
    }
    for role in [Role::Practitioner, Role::Manager, Role::Auditor, Role::Admin] {
        let (_, key) = service::create_staff_with_key(state, &format!("Demo {role}"), role).await?;
        keys.push(DemoKey { label: format!("staff   {role:<16}"), secret: key.secret });
    }
    Ok(keys)
}
