//! The matcher on the sentences that define it: the issue's four false reds, each pattern of
//! DOMAIN.md's rule 2, and the documented limits. The labelled corpus (`corpus.rs`) measures it
//! on many more.

use super::*;
use crate::policy::Policy;

fn signals() -> NarrativeSignals {
    Policy::default_policy().unwrap().narrative
}

fn verdicts(text: &str) -> Vec<Verdict> {
    read(text, &signals(), &People::default()).into_iter().map(|r| r.verdict).collect()
}

fn injury(text: &str) -> bool {
    mentions_injury(text, &signals(), &People::default())
}

fn certain(text: &str) -> bool {
    find_injury(text, &signals(), &People::default()).is_some_and(|m| m.doubt.is_none())
}

#[test]
fn the_four_false_reds_of_issue_15_are_not_injuries() {
    for text in [
        "I checked the baby for bruising and none was found.",
        "None of the professionals involved (nursery staff, the GP or the health visitor) has ever seen any \
         bruising or other injury on him.",
        "Seen at the 8-week check by Dr Marks, who is worried about poor weight gain",
        "Mother had a swollen lip and said her partner had punched her. The baby was asleep upstairs; officers \
         checked him and he was unharmed.",
    ] {
        assert!(!injury(text), "{text}: {:?}", verdicts(text));
    }
}

#[test]
fn described_injuries_count_and_are_certain() {
    for text in [
        "At the home visit I noticed a bruise on the baby's forehead.",
        "BRUISING to both upper arms",
        "The child had a broken arm that was not explained.",
        "Mother said the baby was bitten by a sibling",
        "a burn on the hand",
        "X-ray showed broken ribs.",
        "He had a black-eye.",
        "There was blood on the cot sheet.",
        "The baby had a scald to his foot.",
        "A skeletal survey found a broken bone in his forearm.",
        "Her cheek was bruised.",
        "Mother said the baby was bruised after a fall.",
    ] {
        assert!(certain(text), "{text}: {:?}", verdicts(text));
    }
}

#[test]
fn negation_before_the_term_reaches_across_between_words_and_lists() {
    for text in [
        "Home conditions poor. No bruises or marks were seen on the baby.",
        "there were no marks or bruising",
        "mother reports no injuries",
        "Baby examined without any marks found.",
        "She denies any bruising.",
        "The officer didn\u{2019}t see any injury.",
        "No bleeding.",
        "No visible signs of injury.",
        "no new bruises",
        "No cuts, scratches or bruises.",
        "Nil injuries.",
        "The X-ray ruled out a fracture.",
        "He has never had a burn.",
    ] {
        assert!(!injury(text), "{text}: {:?}", verdicts(text));
    }
}

#[test]
fn negation_after_the_term_is_understood() {
    for text in [
        "Injuries: nil.",
        "Bruises: none seen.",
        "Bruising - none.",
        "Checked his arms and legs for marks but found none.",
        "Bruising was not seen on examination.",
        "Marks: not seen",
        "Injuries: no injuries noted.",
    ] {
        assert!(!injury(text), "{text}: {:?}", verdicts(text));
    }
}

#[test]
fn a_negative_subject_negates_what_it_did_not_see() {
    for text in [
        "Nobody has seen any bruising on him.",
        "No professional has ever seen bruising on him.",
        "None of the children had any injuries.",
        "Neither parent has seen any marks.",
        "None of the nursery staff, the GP or the health visitor has seen any bruising on him.",
    ] {
        assert!(!injury(text), "{text}: {:?}", verdicts(text));
    }
}

#[test]
fn pseudo_negations_report_the_injury_with_certainty() {
    for text in [
        "There is no explanation for the bruise on his cheek.",
        "This is not the first time he has had bruises.",
        "Father denies causing the bruise.",
        "Mother cannot say how the baby got the burn.",
        "Mother could not explain the bruise on his cheek.",
        "No one could explain the fracture.",
        "Mum did not seek medical attention for the scald.",
        "cannot remember how the bruise happened",
        "Neither parent could explain the bruise.",
    ] {
        assert!(certain(text), "{text}: {:?}", verdicts(text));
    }
}

#[test]
fn a_negation_does_not_reach_past_its_clause_or_a_presupposed_injury() {
    for text in [
        "No answer at the door. Later a bruise was seen on the cheek.",
        "There was no food in the house and the baby had a bruise.",
        "No concerns at nursery, but staff noticed swelling to the wrist.",
        "No one was home when the neighbours heard a scream and saw the toddler's bleeding lip",
        "No one has seen the bruise that mother described.",
        "The bruise was not seen by the GP.",
        "A bruise was found, not a burn.",
        "He had bruising and none of the staff knew how.",
        "A bruise on his cheek and none on his arms.",
        "He had bruising on his arm and none was seen on his legs.",
    ] {
        assert!(injury(text), "{text}: {:?}", verdicts(text));
    }
}

#[test]
fn an_adults_injury_is_not_the_childs() {
    for text in [
        "Mother had a swollen lip.",
        "Mother had a bruise on her arm.",
        "Mother's lip was swollen.",
        "The officer was bitten by the dog.",
        "PC Burns sustained a bite to his hand.",
        "Father had been punched and had a black eye.",
        "Mother has a cut lip and bruising to her cheek.",
        "There was bruising to mother's face.",
        "Injuries to the father were treated at the scene.",
        "The baby's mother was bleeding from the nose.",
        "Grandmother fell and fractured her hip.",
        "Dad had burned his hand on the oven.",
    ] {
        assert!(!injury(text), "{text}: {:?}", verdicts(text));
    }
}

#[test]
fn an_injury_in_a_sentence_about_the_child_is_the_childs() {
    for text in [
        "Mother said the baby had a bruise.",
        "The baby's cheek was bruised.",
        "Mother and baby both had bruises.",
        "Baby and mother had bruises.",
        "Mother had a swollen lip and the baby had a bruise on his leg.",
        "There was a bruise on the baby's arm.",
        "Injuries to mother and baby.",
        "Mother had bitten the baby on the arm.",
        "Father has burned him with a cigarette.",
        "Father held the baby and burned her hand.",
        "The baby was handed to the father, who had a bruise, and the baby had a burn.",
    ] {
        assert!(injury(text), "{text}: {:?}", verdicts(text));
    }
    // An adult's injury that the child shares counts, with doubt.
    let shared = "Mother had a swollen lip and the baby had one too.";
    assert_eq!(
        find_injury(shared, &signals(), &People::default()).map(|m| m.doubt),
        Some(Some(Doubt::SharedWithAdult))
    );
}

#[test]
fn names_and_titles_are_not_injury_words() {
    for text in [
        "Seen by Dr Marks.",
        "PC Burns attended with PC 4471 Marks.",
        "Mrs Bruce, the health visitor, visited.",
        "Referred by Dr. J. Marks at the surgery.",
        "The child is marking time at school.",
        "Mother was embarrassed and remarked on the weather.",
        "The injured party, the mother, declined to give a statement.",
        "A blood test was arranged.",
    ] {
        assert!(!injury(text), "{text}: {:?}", verdicts(text));
    }
    let mut people = People::default();
    people.add("Mark O\u{2019}Brien", Owner::Adult);
    people.add("Ava-Rose Burns", Owner::Child);
    let s = signals();
    assert!(!mentions_injury("Mark shouted at the baby.", &s, &people));
    assert!(!mentions_injury("MARK shouted at the baby.", &s, &people));
    assert!(mentions_injury("Mark shouted; the baby had a mark on her arm.", &s, &people));
    assert!(!mentions_injury("Mark had a black eye.", &s, &people), "an adult named in the contact");
    assert!(mentions_injury("Ava-Rose had a black eye.", &s, &people), "a child named in the contact");
    assert!(!mentions_injury("Ms Burns said the baby was asleep.", &s, &people));
    // The referrer's and adults' names match without regard to accents, hyphens or apostrophes.
    assert!(!mentions_injury("Mr OBrien said the baby was well.", &s, &people));
    // Known limit: a capitalised injury word that is also a name is taken for the name.
    assert!(!mentions_injury("Mark on her arm.", &s, &people));
}

#[test]
fn hypotheticals_and_risks_are_not_injuries() {
    for text in [
        "The baby is at risk of serious injury.",
        "Mother said he could bruise easily.",
        "Father threatened to burn the house down.",
        "Stairgate fitted to prevent injury.",
    ] {
        assert!(!injury(text), "{text}: {:?}", verdicts(text));
    }
    assert!(injury("The baby is at risk of further injury."), "further says there was one");
}

#[test]
fn when_it_cannot_tell_it_counts_and_says_why_and_where() {
    let s = signals();
    let people = People::default();
    let cases = [
        ("Home visit completed. I checked the baby for bruising.", 2, Doubt::Hypothetical),
        ("All well. Possible fracture of the left wrist.", 2, Doubt::Hypothetical),
        ("Nothing to add. Is that a bruise?", 2, Doubt::Hypothetical),
        ("Not without marks.", 1, Doubt::NegationUnclear),
        ("No bruising was seen at first, but it developed later.", 1, Doubt::NegationUnclear),
        ("Seen by Jo Marks at the clinic.", 1, Doubt::PossibleName),
        ("Mother stated that she had bruising to her arm.", 1, Doubt::AdultNearby),
    ];
    for (text, sentence, doubt) in cases {
        assert_eq!(find_injury(text, &s, &people), Some(Mention { sentence, doubt: Some(doubt) }), "{text}");
    }
    // A certain mention wins over an earlier uncertain one.
    let both = "Possible burn. The baby had a bruise on his cheek.";
    assert_eq!(find_injury(both, &s, &people), Some(Mention { sentence: 2, doubt: None }));
}

#[test]
fn sentences_are_counted_as_a_reader_counts_them() {
    let s = signals();
    let at = |text: &str| find_injury(text, &s, &People::default()).map(|m| m.sentence);
    assert_eq!(at("Seen by Dr. Marks at 10.30 today. He is well.\nThe baby had a bruise."), Some(3));
    assert_eq!(at("Mother said the baby\nhad a bruise on his cheek."), Some(1), "a wrapped line");
    assert_eq!(at("Why? Because. Bruise on arm!"), Some(3));
    assert_eq!(at("Seen with Mrs J. Bruce. A bruise on the arm."), Some(2));
}

/// Near-misses in the other direction: wordings where a negation, a search, an adult or a list
/// is close to an injury that is still the child's. Each must count.
#[test]
fn negations_owners_and_lists_never_swallow_a_childs_injury() {
    for text in [
        "No bruises but a burn on the baby's hand.",
        "There was no bruising, but a burn on his hand.",
        "No bruising, a burn on the hand.",
        "No bruising and a burn on his hand.",
        "The baby was with mother, who had a bruise on her face, and had a burn on his hand.",
        "Dad, who had been drinking, dropped the baby, who now has a swollen head.",
        "The officer saw that the baby had been burned.",
        "Mother was holding the baby, whose arm was bruised.",
        "Mother said the bruise on the baby's head came from the cot.",
        "Partner threw hot tea over mother and the baby, scalding them both.",
        "Father was burning him with a cigarette.",
        "Mother took the baby to hospital with a burn.",
        "No marks on his face; bruises on his back.",
        "Nobody saw the baby fall, but he has a lump on his head.",
        "None of the staff saw it happen but the bruise is there.",
        "Mum was not at home and dad had left the baby with a burn on his arm.",
        "Not seen by a doctor; the baby has a swollen wrist.",
        "He had a bruise when he arrived and none of us know why.",
        "Mother has no idea; the baby's arm is swollen.",
        "She said no one hurt him but he has bruises on his legs.",
        "Dad denies it. The baby has bruising to his ear.",
        "Mother could not have caused the fracture, she says.",
        "The fracture was not seen on the first X-ray but was confirmed later.",
        "Bruising: yes, to the left cheek.",
        "Injuries: bruise to left cheek.",
        "He said he never hit her, but she has a black eye.",
        "Mum had a bruise too, and so did the baby.",
        "The baby's father said the baby fell from the bed and broke her arm.",
        "Checked for marks when he changed and found a bruise on his back.",
        "Mother said he fell and broke his arm.",
        "The baby's sister had a bruise on her cheek.",
    ] {
        assert!(injury(text), "{text}: {:?}", verdicts(text));
    }
}

#[test]
fn searches_lists_relatives_and_attached_injuries_are_read() {
    for text in [
        "Staff checked for marks when he changed and found none.",
        "We looked for bruising when she changed and none was seen.",
        "The victim, the mother's sister, had a bloodied nose.",
        "Mum came to pick-up with a black eye and a cut lip.",
        "Mother has a bandaged hand from a burn at work.",
        "Her partner had scratches and a bleeding lip.",
        "His mother fell last week, breaking her wrist.",
        "Mother broke her arm last year.",
        "He bites his nails and is anxious.",
    ] {
        assert!(!injury(text), "{text}: {:?}", verdicts(text));
    }
}

/// The corpus's remaining false positives of issue 15 (N292, N296, N298, N305) and the pattern
/// behind them: "he" or "she" standing for an adult named just before, with no child the text
/// could mean. Each counted as an injury before `[narrative.pronouns]`.
#[test]
fn a_pronoun_whose_adult_is_named_just_before_is_the_adults() {
    for text in [
        "PPN: Officers attended a report of a man shouting in the street. He had a cut on his hand and was \
         bleeding. He is the father of the baby at the address. The baby and mother were inside and well.",
        "Police were called by the father, who reported that mother had bitten him during an argument. He had a \
         bite mark on his forearm. No children were harmed; the 5-month-old was asleep.",
        "Antenatal contact. Mother is 30 weeks pregnant and reports that her partner kicked her in the stomach. \
         She has bruising to her abdomen. Midwife has referred to MARAC.",
        "The father was arrested for breaching his bail. He had a fractured wrist from a previous fight and was \
         taken to custody via hospital. The children were at school.",
        "The father was arrested. He had a fractured wrist.",
        "Mother was arrested for being drunk. She had a cut lip and bruising to her cheek.",
        "The father was arrested. He was drunk. He had a swollen hand.",
        "The stepfather was restrained; he had a bloodied nose.",
        "Mr. J. Hale was detained. He had burns to both forearms.",
        "The mother's sister was there. She had a black eye.",
        "Grandfather is the main carer. He had a fall last month and fractured his hip.",
        // A gendered child is no one "he" could mean if she is a girl.
        "The girls were in bed. Father was arrested. He had a bruise on his face.",
    ] {
        assert!(!injury(text), "{text}: {:?}", verdicts(text));
    }
    assert_eq!(verdicts("The father was arrested. He had a fractured wrist."), vec![Verdict::Adults]);
}

/// The near-misses: a pronoun the text may mean a child by (a child or a baby's things nearby, a
/// pronoun of the same gender no one explains, the wrong gender, an object its own clause's
/// subject acts on, no adult just before). Each must still count.
#[test]
fn a_pronoun_that_may_be_a_child_is_never_given_to_an_adult() {
    for text in [
        "Father was changing his nappy. He had a bruise on his cheek.",
        "Mother was arrested. She had a cut lip. The baby had a bruise.",
        "Father was holding him when police arrived. He had a bruise on his ear.",
        "Father was arrested. He had burned him with a lighter.",
        "Mother was arrested for assault. He had a bruise on his cheek.",
        "Mrs Hale was arrested. He had a bruise on his face.",
        "The parents were arrested. He had a bruise on his face.",
        "The parent hit her. She had a swollen lip.",
        "Dad said he rolled off the sofa. He had a lump on his head.",
        "Mother brought the baby to ED. She had a bruise on her cheek.",
        "The boys were in bed. Father was arrested. He had a bruise on his face.",
        "The baby is 3 months old. Father was arrested. He had a bruise on his face.",
        "Noah is 3 months old. Mother was drunk. She had a bruise on her forehead.",
        "Father came home drunk and shook him. He had a bruise on his face.",
        "Father came home. Mother had bitten him. He had a bruise on his cheek.",
        "Mother went out and father was left in charge. He had a bruise on his cheek when she came back.",
        "Mother was arrested. She was taken into foster care with a bruise on her arm.",
        "Dad lost his temper and hit his hand. He had a bruise on his cheek.",
        "The father was arrested. He had a bruise and the baby was crying.",
        "Father was arrested. He said he had a bruise.",
        "Dad picked her up from nursery. She had a bruise on her arm.",
        "He had a bruise on his cheek.",
    ] {
        assert!(injury(text), "{text}: {:?}", verdicts(text));
    }
    let s = signals();
    let mut people = People::default();
    people.add("Leo Hart", Owner::Child);
    people.add("Dean Cole", Owner::Adult);
    assert!(mentions_injury("Mum brought Leo in. He had a scald on his arm.", &s, &people));
    assert!(mentions_injury("Leo is poorly. Mother was drunk. She had a bruise on her forehead.", &s, &people));
    // Known limit: the contact does not give an adult's gender, so a named adult is no one's "he".
    assert!(mentions_injury("Dean Cole was arrested. He had a bruise on his cheek.", &s, &people));
}

/// A policy without `[narrative.pronouns]` (the format before 2026.3) reads no pronoun as an
/// adult's: the behaviour before the table existed.
#[test]
fn without_the_pronouns_table_no_pronoun_is_an_adults() {
    let default = crate::policy::DEFAULT_POLICY;
    let start = default.find("[narrative.pronouns]\n").unwrap();
    let end = default
        .find("# ------------------------------------------------------------------------------------- calendar")
        .unwrap();
    let text = format!("{}{}", &default[..start], &default[end..]);
    let without = Policy::parse(&text).unwrap().narrative;
    assert!(without.child_context.is_empty());
    let passage = "The father was arrested. He had a fractured wrist.";
    assert!(mentions_injury(passage, &without, &People::default()));
    assert!(!injury(passage));
}

/// Wordings two reviews found that looser readings would have missed (tried on 2026-12-04 to
/// meet the precision goal, and withdrawn): plural children and adults' possessors as no one a
/// pronoun means, school places stopping a pronoun only in their own sentence, "the child was
/// not injured" cancelling an injury nothing ties to a child, a treated body part's cause, a
/// possessive bound by the adult just before it, "her new/own ...", and school subjects' marks
/// as ignore phrases. Each is, or may be, an injury to a child, and must count.
#[test]
fn wordings_that_looser_readings_missed_still_count() {
    for text in [
        "The pupil was in class. Dad came to the school. He had a bruise on his cheek.",
        "He came into school with a bruise on his cheek.",
        "The twins are 4 months old. Father was arrested. He had a bruise on his face.",
        "The baby's father shook him. He had a bruise on his head.",
        "Mother came in with her hand bandaged after a burn to the baby.",
        "Her arm was in a cast after a fracture.",
        "The baby had her arm in a sling after a fracture.",
        "Mother had the baby's leg in a splint after a fracture.",
        "Father had his son's arm in a sling after a fracture.",
        "Mum's arms were wet after a scald in the bath.",
        "Dad was changing the baby. He had a bruise on his cheek.",
        // "The child was not injured" may be about a birth, a fall, somewhere else, another child
        // or what someone said.
        "There was blood on the kitchen floor. The child was not injured.",
        "Skeletal survey showed multiple healing fractures. The baby was not injured during delivery.",
        "Fractures confirmed on skeletal survey. The other children were not injured.",
        "Fracture confirmed on X-ray. The child was not injured elsewhere.",
        "Bruising was noted. The baby was not injured in the fall.",
        "Petechiae and bruising seen. The child was not injured in the fall, per mother.",
        "Bleeding noted by paramedics. The twin was not injured.",
        "Bite marks seen on examination. The children were not injured by the dog.",
        // A child named as an adult's possessor may be the one "he" or "she" means.
        "The toddler's mother called 999. She had fallen down the stairs and had a head injury.",
        "The baby's father called an ambulance. He had stopped breathing and had bruising to his chest.",
        "The girl's mother rang the school. She had a burn on her hand.",
        "The pupils' mother came in. She had a black eye.",
        // So may one of several children.
        "Father brought the boys to school. He had a bruise on his cheek.",
        "The children were at home with father. He had a bruise on his cheek.",
        "Mother and the babies were seen at home. She had a bruise on her forehead.",
        "The siblings were seen at school with mum. She had a black eye.",
        "Mum came to collect the children. She had a black eye and was upset.",
        // And a pupil a school's note leaves unnamed.
        "Collected from school by dad. He had a bruise on his neck.",
        "Arrived at school late with mum. She had a burn on her arm.",
        "Dad brought into class this morning. He had a black eye.",
        // A treatment by an adult, "after" meaning later, an adult's treated body part.
        "Nan had bandaged the burns at home rather than take him to hospital.",
        "Mother had bandaged the burns herself and did not seek medical advice.",
        "The doctor had splinted the fractured wrist before he was transferred.",
        "The paramedic had bandaged the head wound before arrival at A&E.",
        "Mother brought him in with a bandaged burn to his hand.",
        "The midwife had stitched the torn frenulum.",
        "Mother had splinted the broken finger with a lolly stick.",
        "Father had his hand bandaged after bruises were found on the baby.",
        "Mother's arm was in a sling after bruising appeared on her son's back.",
        "Father had his knuckles bandaged after a fracture was confirmed in his son's arm.",
        // Marks seen during a lesson.
        "Teacher noticed marks in maths on his arms when he rolled up his sleeves.",
        "I noticed bite marks in reading group on his forearm.",
        "Class teacher saw finger marks in science today on both of her upper arms.",
        // A possessive bound by the adult before it does not say who "he" is next.
        "Dad had his hand bandaged. He is 4 and had a burn on his arm.",
        "Police attended. Father had his knuckles bandaged. He was hiding under the table with a bruise on his cheek.",
    ] {
        assert!(injury(text), "{text}: {:?}", verdicts(text));
    }
    let s = signals();
    let mut people = People::default();
    people.add("Noah Reid", Owner::Child);
    assert!(mentions_injury("Noah's father called 999. He had a head injury and was not responding.", &s, &people));
}
