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

/// A child's ethnicity, as the Department for Education's census codes (CIN census, Ofsted's
/// Annex A): the 18 groups, `REFU` (refused) and `NOBT` (information not yet obtained).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
    strum::VariantNames,
)]
#[serde(rename_all = "UPPERCASE")]
#[strum(serialize_all = "UPPERCASE")]
pub enum Ethnicity {
    Wbri,
    Wiri,
    Wirt,
    Woth,
    Wrom,
    Mwbc,
    Mwba,
    Mwas,
    Moth,
    Aind,
    Apkn,
    Aban,
    Aoth,
    Bcrb,
    Bafr,
    Both,
    Chne,
    Ooth,
    Refu,
    Nobt,
}

impl Ethnicity {
    /// The cell Ofsted's Annex A template holds for the code ("a) WBRI").
    pub fn annex_a(self) -> String {
        let letter = "abcdefghijklmnopqrst".as_bytes()[self as usize] as char;
        format!("{letter}) {self}")
    }
}

/// Where contacts come from, as the census's source codes (CIN census "source of referral",
/// Ofsted's Annex A "contact source"). Each agency has one; its contacts carry it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
    strum::VariantNames,
)]
pub enum ContactSource {
    /// Individual: family member, relative or carer.
    #[serde(rename = "1A")]
    #[strum(serialize = "1A")]
    IndividualFamily,
    /// Individual: acquaintance (neighbours, child minders).
    #[serde(rename = "1B")]
    #[strum(serialize = "1B")]
    IndividualAcquaintance,
    /// Individual: self.
    #[serde(rename = "1C")]
    #[strum(serialize = "1C")]
    IndividualSelf,
    /// Individual: other (strangers).
    #[serde(rename = "1D")]
    #[strum(serialize = "1D")]
    IndividualOther,
    #[serde(rename = "2A")]
    #[strum(serialize = "2A")]
    Schools,
    #[serde(rename = "2B")]
    #[strum(serialize = "2B")]
    EducationServices,
    /// Health services: GP.
    #[serde(rename = "3A")]
    #[strum(serialize = "3A")]
    HealthGp,
    #[serde(rename = "3B")]
    #[strum(serialize = "3B")]
    HealthVisitor,
    #[serde(rename = "3C")]
    #[strum(serialize = "3C")]
    SchoolNurse,
    #[serde(rename = "3D")]
    #[strum(serialize = "3D")]
    OtherPrimaryHealth,
    /// Health services: A&E.
    #[serde(rename = "3E")]
    #[strum(serialize = "3E")]
    AccidentAndEmergency,
    /// Health services: other (e.g. a hospice, midwifery).
    #[serde(rename = "3F")]
    #[strum(serialize = "3F")]
    OtherHealth,
    #[serde(rename = "4")]
    #[strum(serialize = "4")]
    Housing,
    /// Local authority: social care (e.g. adult social care).
    #[serde(rename = "5A")]
    #[strum(serialize = "5A")]
    LaSocialCare,
    /// Local authority: other internal (e.g. youth offending).
    #[serde(rename = "5B")]
    #[strum(serialize = "5B")]
    LaOtherInternal,
    /// Local authority: external (another authority).
    #[serde(rename = "5C")]
    #[strum(serialize = "5C")]
    LaExternal,
    #[serde(rename = "5D")]
    #[strum(serialize = "5D")]
    LaEarlyHelp,
    #[serde(rename = "6")]
    #[strum(serialize = "6")]
    Police,
    /// Other legal agency: courts, probation, immigration, Cafcass, prison.
    #[serde(rename = "7")]
    #[strum(serialize = "7")]
    OtherLegalAgency,
    /// Other: children's centres, independent providers, voluntary organisations.
    #[serde(rename = "8")]
    #[strum(serialize = "8")]
    Other,
    #[serde(rename = "9")]
    #[strum(serialize = "9")]
    Anonymous,
    #[serde(rename = "10")]
    #[strum(serialize = "10")]
    Unknown,
}

impl ContactSource {
    /// The source an agency of `kind` has unless it is given one: the census code its kind
    /// usually means (a health agency is "other health" until told it is a GP, A&E, ...).
    pub fn default_for(kind: AgencyKind) -> Self {
        match kind {
            AgencyKind::Police => Self::Police,
            AgencyKind::School => Self::Schools,
            AgencyKind::Health => Self::OtherHealth,
            AgencyKind::LocalAuthority => Self::LaOtherInternal,
            AgencyKind::Probation => Self::OtherLegalAgency,
            AgencyKind::Housing => Self::Housing,
            AgencyKind::Voluntary | AgencyKind::Other => Self::Other,
        }
    }

    /// The cell Ofsted's Annex A template holds for the code ("q) 6: Police").
    pub fn annex_a(self) -> &'static str {
        match self {
            Self::IndividualFamily => "a) 1A: Individual",
            Self::IndividualAcquaintance => "b) 1B: Individual",
            Self::IndividualSelf => "c) 1C: Individual",
            Self::IndividualOther => "d) 1D: Individual",
            Self::Schools => "e) 2A: Schools",
            Self::EducationServices => "f) 2B: Education services",
            Self::HealthGp => "g) 3A: Health services",
            Self::HealthVisitor => "h) 3B: Health services",
            Self::SchoolNurse => "i) 3C: Health services",
            Self::OtherPrimaryHealth => "j) 3D: Health services",
            Self::AccidentAndEmergency => "k) 3E: Health services",
            Self::OtherHealth => "l) 3F: Health services",
            Self::Housing => "m) 4: Housing",
            Self::LaSocialCare => "n) 5A: LA services",
            Self::LaOtherInternal => "o) 5B: LA services",
            Self::LaExternal => "p) 5C: LA services",
            Self::LaEarlyHelp => "p1) 5D: LA services",
            Self::Police => "q) 6: Police",
            Self::OtherLegalAgency => "r) 7: Other legal agency",
            Self::Other => "s) 8: Other",
            Self::Anonymous => "t) 9: Anonymous",
            Self::Unknown => "u) 10: Unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn census_codes_are_spelled_as_the_census_spells_them() {
        assert_eq!(Ethnicity::Wbri.to_string(), "WBRI");
        assert_eq!("NOBT".parse::<Ethnicity>().unwrap(), Ethnicity::Nobt);
        assert_eq!(serde_json::to_value(Ethnicity::Mwbc).unwrap(), "MWBC");
        assert_eq!(Ethnicity::Wbri.annex_a(), "a) WBRI");
        assert_eq!(Ethnicity::Ooth.annex_a(), "r) OOTH");
        assert_eq!(Ethnicity::Nobt.annex_a(), "t) NOBT");
        assert_eq!(<Ethnicity as strum::VariantNames>::VARIANTS.len(), 20);
        assert_eq!("3E".parse::<ContactSource>().unwrap(), ContactSource::AccidentAndEmergency);
        assert_eq!(serde_json::to_value(ContactSource::Police).unwrap(), "6");
        assert_eq!(ContactSource::default_for(AgencyKind::School).annex_a(), "e) 2A: Schools");
        assert!("3G".parse::<ContactSource>().is_err());
    }
}
