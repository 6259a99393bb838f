//! The request schema of `/v1/contacts`: documentation of the contract. `intake::validate` reads
//! and enforces it (every problem at once, with pointers); a test keeps the two in step through
//! [`as_request`].

use chrono::{DateTime, NaiveDate, Utc};
use poem_openapi::{Object, types::ParseFromJSON};

use crate::{
    api::payload::BodyLimit,
    config::HttpSettings,
    contact::{
        NewContact,
        model::{Concern, ConsentStatus, DashRisk, Ethnicity, Gender, HealthSetting, ReasonNotSought, Relationship},
    },
};

/// A contact about one or more children, as a partner agency submits it.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct NewContactRequest {
    /// The agency's own reference, unique per agency: resending the same reference with the same
    /// body is a safe retry.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub agency_reference: String,
    pub referrer: ReferrerRequest,
    /// The children the contact is about (1-20).
    #[oai(validator(min_items = 1, max_items = 20))]
    pub children: Vec<ChildRequest>,
    /// Adults in the child's life (0-20).
    #[oai(validator(max_items = 20))]
    pub adults: Option<Vec<AdultRequest>>,
    /// At least one concern; repeats are ignored.
    #[oai(validator(min_items = 1, max_items = 25))]
    pub concerns: Vec<Concern>,
    pub injury: Option<InjuryRequest>,
    /// The child has disclosed the abuse. Default false.
    pub disclosure_made: Option<bool>,
    /// The referrer believes the child is at immediate risk. Default false.
    pub immediate_risk: Option<bool>,
    /// What happened, in the referrer's words (1-20,000 characters).
    #[oai(validator(min_length = 1, max_length = 20000))]
    pub narrative: String,
    /// When the incident happened (RFC 3339 with offset; not in the future).
    pub incident_at: Option<DateTime<Utc>>,
    pub police: Option<PoliceRequest>,
    pub health: Option<HealthRequest>,
    pub school: Option<SchoolRequest>,
    pub consent: ConsentRequest,
}

/// Who made the contact.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct ReferrerRequest {
    #[oai(validator(min_length = 1, max_length = 200))]
    pub name: String,
    /// The referrer's role, e.g. "Designated safeguarding lead".
    #[oai(validator(min_length = 1, max_length = 200))]
    pub role: String,
    #[oai(validator(max_length = 50))]
    pub phone: Option<String>,
    #[oai(validator(max_length = 254))]
    pub email: Option<String>,
    /// The referrer asks not to be named to the family. Default false.
    pub anonymity_requested: Option<bool>,
}

/// A child. Needs a given or family name, unless unborn (then `expected_date_of_birth`).
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct ChildRequest {
    #[oai(validator(max_length = 100))]
    pub given_name: Option<String>,
    #[oai(validator(max_length = 100))]
    pub family_name: Option<String>,
    /// Not in the future.
    pub date_of_birth: Option<NaiveDate>,
    /// For an unborn child, in place of `date_of_birth`; at most 10 months ahead.
    pub expected_date_of_birth: Option<NaiveDate>,
    pub gender: Option<Gender>,
    /// The child's ethnicity as the `DfE` census code, if the referrer knows it (hubs report it
    /// to Ofsted); `NOBT` when not yet obtained, `REFU` when the family declined to say.
    pub ethnicity: Option<Ethnicity>,
    /// Ten digits with a valid modulus-11 check digit; spaces and hyphens are ignored.
    #[oai(validator(max_length = 20))]
    pub nhs_number: Option<String>,
    /// Unique pupil number: 13 characters with a valid check letter.
    #[oai(validator(max_length = 20))]
    pub upn: Option<String>,
    /// The child cannot yet move about on their own (e.g. a baby who cannot crawl).
    pub non_mobile: Option<bool>,
    pub address: Option<AddressRequest>,
    /// The school the child attends.
    #[oai(validator(max_length = 200))]
    pub school: Option<String>,
}

/// A postal address.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct AddressRequest {
    #[oai(validator(max_length = 200))]
    pub line1: Option<String>,
    #[oai(validator(max_length = 200))]
    pub line2: Option<String>,
    #[oai(validator(max_length = 100))]
    pub town: Option<String>,
    #[oai(validator(max_length = 10))]
    pub postcode: Option<String>,
}

/// An adult in the child's life. Needs a given or family name.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct AdultRequest {
    #[oai(validator(max_length = 100))]
    pub given_name: Option<String>,
    #[oai(validator(max_length = 100))]
    pub family_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub relationship: Option<Relationship>,
}

/// An injury seen or described.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct InjuryRequest {
    pub observed: Option<bool>,
    #[oai(validator(max_length = 2000))]
    pub description: Option<String>,
    pub non_accidental_suspected: Option<bool>,
}

/// Police details.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct PoliceRequest {
    pub dash_risk: Option<DashRisk>,
    /// A child was present at the incident.
    pub child_present: Option<bool>,
}

/// Health details.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct HealthRequest {
    pub setting: Option<HealthSetting>,
}

/// School details.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct SchoolRequest {
    /// The school's six-digit unique reference number.
    #[oai(validator(pattern = r"^[0-9]{6}$"))]
    pub urn: Option<String>,
}

/// Whether the family consented to the contact.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct ConsentRequest {
    pub status: ConsentStatus,
    /// Required unless `status` is `obtained`.
    pub reason_not_sought: Option<ReasonNotSought>,
}

/// Up to 500 contacts, each handled on its own.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct BatchRequest {
    #[oai(validator(min_items = 1, max_items = 500))]
    pub contacts: Vec<NewContactRequest>,
}

impl BodyLimit for NewContactRequest {
    fn limit(settings: &HttpSettings) -> usize {
        settings.max_body_bytes
    }
}

impl BodyLimit for BatchRequest {
    fn limit(settings: &HttpSettings) -> usize {
        settings.max_batch_body_bytes
    }
}

/// Converts a domain contact to the documented request type; used to check that the schema and
/// the validator agree.
pub fn as_request(contact: &NewContact) -> Option<NewContactRequest> {
    NewContactRequest::parse_from_json(serde_json::to_value(contact).ok()).ok()
}
