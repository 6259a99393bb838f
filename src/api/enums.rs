//! OpenAPI schemas for the domain's wire enums.
//!
//! The domain owns each enum's values (as strum variant lists); this module teaches
//! poem-openapi to document, parse and render them, so the values are written exactly once.

use std::borrow::Cow;

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef, Registry},
    types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type},
};
use serde_json::Value;

use crate::{
    auth::{AgencyKind, Role},
    contact::model::{
        Concern, ConsentStatus, ContactStatus, DashRisk, Gender, HealthSetting, ReasonNotSought, Relationship,
    },
    vocabulary::Ethnicity,
};

macro_rules! openapi_enum {
    ($($ty:ty => $name:literal, $doc:literal;)+) => {$(
        impl Type for $ty {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Reference($name.to_owned())
            }

            fn register(registry: &mut Registry) {
                registry.create_schema::<Self, _>($name.to_owned(), |_| MetaSchema {
                    description: Some($doc),
                    enum_items: <$ty as strum::VariantNames>::VARIANTS.iter().map(|v| Value::String((*v).to_owned())).collect(),
                    ..MetaSchema::new("string")
                });
            }

            fn as_raw_value(&self) -> Option<&Self::RawValueType> {
                Some(self)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }
        }

        impl ParseFromJSON for $ty {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                match value.as_ref().and_then(Value::as_str).and_then(|s| s.parse::<$ty>().ok()) {
                    Some(v) => Ok(v),
                    None => Err(ParseError::custom(concat!("expected a ", $name, " value"))),
                }
            }
        }

        impl ParseFromParameter for $ty {
            fn parse_from_parameter(value: &str) -> ParseResult<Self> {
                value.parse::<$ty>().map_err(|_| ParseError::custom(concat!("expected a ", $name, " value")))
            }
        }

        impl ToJSON for $ty {
            fn to_json(&self) -> Option<Value> {
                Some(Value::String(<&'static str>::from(*self).to_owned()))
            }
        }
    )+};
}

openapi_enum! {
    Gender => "Gender", "A child's gender as recorded by the referrer.";
    Relationship => "Relationship", "An adult's relationship to the children.";
    Concern => "Concern", "A safeguarding concern.";
    DashRisk => "DashRisk", "The police DASH risk grading (high means MARAC).";
    HealthSetting => "HealthSetting", "Where a health referrer saw the child.";
    ConsentStatus => "ConsentStatus", "Whether the family consented to the contact.";
    ReasonNotSought => "ReasonNotSought", "Why consent was not obtained.";
    ContactStatus => "ContactStatus", "Where a contact is: awaiting_screening -> in_screening -> decided (-> closed). Staff also see awaiting_authorisation (a decision waits for a manager); its agency sees in_screening then.";
    AgencyKind => "AgencyKind", "The kind of a partner agency.";
    Ethnicity => "Ethnicity", "A child's ethnicity as the DfE census codes (Ofsted Annex A): WBRI, WIRI, WIRT, WOTH, WROM, MWBC, MWBA, MWAS, MOTH, AIND, APKN, ABAN, AOTH, BCRB, BAFR, BOTH, CHNE, OOTH, REFU (refused) or NOBT (not yet obtained).";
    Role => "Role", "A hub staff role.";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_through_json_with_their_domain_spelling() {
        for c in <Concern as strum::VariantArray>::VARIANTS {
            assert_eq!(Concern::parse_from_json(c.to_json()).unwrap(), *c);
        }
        assert_eq!(Concern::FemaleGenitalMutilation.to_json(), Some(Value::String("female_genital_mutilation".into())));
        assert!(Gender::parse_from_json(Some(Value::String("f".into()))).is_err());
    }
}
