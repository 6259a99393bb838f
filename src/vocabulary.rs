//! The contract's closed vocabularies: the kinds of agency, the concerns, the DASH risk grades
//! and the other fixed sets of names a contact uses (API.md fixes their spellings).
//!
//! They sit at the bottom of the crate because everything reads them: the policy file names
//! concerns and agency kinds, the contact stores them, the API documents them.

/// A closed set of `snake_case` names, as the API spells them.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[derive(strum::Display, strum::EnumString, strum::IntoStaticStr, strum::VariantArray, strum::VariantNames)]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),+ }
    };
}

pub(crate) use wire_enum;

wire_enum!(
    /// The kind of a partner agency (API.md).
    AgencyKind { Police, School, Health, LocalAuthority, Probation, Housing, Voluntary, Other }
);
wire_enum!(
    /// A child's gender as recorded by the referrer.
    Gender { Female, Male, Other, Unknown }
);
wire_enum!(
    /// An adult's relationship to the children.
    Relationship {
        Parent, StepParent, Carer, PartnerOfParent, Relative, HouseholdMember, AllegedPerpetrator, Other,
    }
);
wire_enum!(
    /// A safeguarding concern.
    Concern {
        PhysicalAbuse, SexualAbuse, EmotionalAbuse, Neglect, DomesticAbuse, ChildSexualExploitation,
        ChildCriminalExploitation, FemaleGenitalMutilation, Radicalisation, Missing, SelfHarm,
        OnlineHarm, Trafficking, ModernSlavery, HonourBasedAbuse, ForcedMarriage, Gangs,
        ParentalSubstanceMisuse, ParentalMentalHealth, ParentalLearningDisability,
        ChildMentalHealth, YoungCarer, PrivateFostering, UnaccompaniedAsylumSeeking, Other,
    }
);
wire_enum!(
    /// The police DASH risk grading.
    DashRisk { Standard, Medium, High }
);
wire_enum!(
    /// Where a health referrer saw the child.
    HealthSetting { Gp, EmergencyDepartment, Midwifery, HealthVisiting, SchoolNursing, Camhs, Other }
);
wire_enum!(
    /// Whether the family consented to the contact.
    ConsentStatus { Obtained, Refused, NotSought }
);
wire_enum!(
    /// Why consent was not obtained.
    ReasonNotSought { RiskToChild, RiskToOthers, WouldPrejudiceInvestigation, Emergency, UnableToContact }
);
