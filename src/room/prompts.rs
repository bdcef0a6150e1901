//! The prompt bank: good questions for the right moment of a circle.
//!
//! Each entry has a stable snake_case id, the text shown on the prompt card, where it comes from
//! in the practice (the transformational questions, the coach's role, the POP model, action
//! learning, …) and the stage kinds it suits. The bank is static data; nothing here is random:
//! [`draw`] picks deterministically from a caller-supplied seed.
//!
//! Every stage kind except [`StageKind::Break`] has at least one prompt.

use circlekeeper_protocol::{Prompt, StageKind};

/// One prompt in the bank and the stage kinds it suits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BankEntry {
    /// Stable snake_case id, e.g. `tq_what_else_could_this_mean`.
    pub id: &'static str,
    /// The question or instruction.
    pub text: &'static str,
    /// Where it comes from in the practice, e.g. "transformational questions".
    pub source: &'static str,
    /// The stage kinds it suits.
    pub stages: &'static [StageKind],
}

impl BankEntry {
    /// This entry as a wire [`Prompt`].
    pub fn prompt(&self) -> Prompt {
        Prompt {
            id: self.id.to_owned(),
            text: self.text.to_owned(),
            source: self.source.to_owned(),
        }
    }

    /// Whether this entry suits a stage of `kind`.
    pub fn suits(&self, kind: StageKind) -> bool {
        self.stages.contains(&kind)
    }
}

/// Source: the transformational questions of "Peer Coaching Fundamentals".
const TRANSFORMATIONAL: &str = "transformational questions";
/// Source: the role of the coach, from "Peer Coaching Fundamentals".
const COACHS_ROLE: &str = "the coach's role";
/// Source: the POP model (Purpose, Outcomes, Process) for preparing a session.
const POP: &str = "POP model";
/// Source: action learning sets and peer coaching circles.
const ACTION_LEARNING: &str = "action learning";
/// Source: the feedback at the end of a session, from "Peer Coaching Fundamentals".
const FEEDBACK: &str = "feedback at the end";
/// Source: the first session of a peer coaching partnership.
const FIRST_SESSION: &str = "the first session";
/// Source: commitments carried over between sessions.
const ACCOUNTABILITY: &str = "accountability";
/// Source: peer coaching circles, from "10 Years of Running Peer Coaching Spaces".
const CIRCLES: &str = "peer coaching circles";

/// The bank, in a stable order.
static BANK: &[BankEntry] = &[
    // Welcome: a safe, brave space and a shared purpose.
    BankEntry {
        id: "welcome_what_confidentiality_means",
        text: "What does confidentiality mean to each of us here?",
        source: FIRST_SESSION,
        stages: &[StageKind::Welcome],
    },
    BankEntry {
        id: "welcome_our_purpose_as_a_circle",
        text: "What brings us together as a circle, and what do we hope for?",
        source: CIRCLES,
        stages: &[StageKind::Welcome],
    },
    // Check-in.
    BankEntry {
        id: "checkin_how_are_you_arriving",
        text: "How are you arriving today?",
        source: ACTION_LEARNING,
        stages: &[StageKind::CheckIn, StageKind::Welcome],
    },
    BankEntry {
        id: "checkin_what_do_you_hope_to_get",
        text: "What do you hope to get out of today?",
        source: FIRST_SESSION,
        stages: &[StageKind::CheckIn, StageKind::Welcome],
    },
    BankEntry {
        id: "checkin_last_commitment",
        text: "Last time you committed to something: how did it go?",
        source: ACCOUNTABILITY,
        stages: &[StageKind::CheckIn],
    },
    // POP model: preparing to present.
    BankEntry {
        id: "pop_purpose",
        text: "Purpose: why are you bringing this today?",
        source: POP,
        stages: &[
            StageKind::Presentation,
            StageKind::CheckIn,
            StageKind::Pairing,
        ],
    },
    BankEntry {
        id: "pop_outcomes",
        text: "Outcomes: what do you want to leave with by the end of your time?",
        source: POP,
        stages: &[
            StageKind::Presentation,
            StageKind::CheckIn,
            StageKind::Pairing,
        ],
    },
    BankEntry {
        id: "pop_process",
        text: "Process: how can the circle help you most — questions, reflections, a challenge?",
        source: POP,
        stages: &[
            StageKind::Presentation,
            StageKind::CheckIn,
            StageKind::Pairing,
        ],
    },
    // Clarifying questions: facts only.
    BankEntry {
        id: "clarify_facts_only",
        text: "Facts only: what, who, when — no advice hidden in a question.",
        source: ACTION_LEARNING,
        stages: &[StageKind::ClarifyingQuestions],
    },
    BankEntry {
        id: "clarify_what_have_you_tried",
        text: "What have you tried so far?",
        source: ACTION_LEARNING,
        stages: &[StageKind::ClarifyingQuestions],
    },
    BankEntry {
        id: "clarify_who_else_is_involved",
        text: "Who else is involved, and what is at stake for them?",
        source: ACTION_LEARNING,
        stages: &[StageKind::ClarifyingQuestions],
    },
    BankEntry {
        id: "clarify_understand_before_solving",
        text: "Ask to understand the situation, not to solve it yet.",
        source: ACTION_LEARNING,
        stages: &[StageKind::ClarifyingQuestions],
    },
    // Coaching questions: the transformational questions, verbatim.
    BankEntry {
        id: "tq_what_else_could_this_mean",
        text: "What else could this mean?",
        source: TRANSFORMATIONAL,
        stages: &[StageKind::CoachingQuestions, StageKind::Pairs],
    },
    BankEntry {
        id: "tq_what_potential_positive_value",
        text: "What potential positive value might there be in this?",
        source: TRANSFORMATIONAL,
        stages: &[StageKind::CoachingQuestions, StageKind::Pairs],
    },
    BankEntry {
        id: "tq_what_is_the_opportunity_here",
        text: "What is the opportunity here?",
        source: TRANSFORMATIONAL,
        stages: &[StageKind::CoachingQuestions, StageKind::Pairs],
    },
    BankEntry {
        id: "tq_how_could_you_make_this_work",
        text: "How could you make this work?",
        source: TRANSFORMATIONAL,
        stages: &[StageKind::CoachingQuestions, StageKind::Pairs],
    },
    BankEntry {
        id: "tq_if_you_had_to_do_this",
        text: "If you had to do this, how would you make it work?",
        source: TRANSFORMATIONAL,
        stages: &[StageKind::CoachingQuestions, StageKind::Pairs],
    },
    // The coach's role: staying on track, reframing, listening.
    BankEntry {
        id: "track_are_we_on_track",
        text: "Are we on track for getting what you need?",
        source: COACHS_ROLE,
        stages: &[
            StageKind::CoachingQuestions,
            StageKind::Reflection,
            StageKind::Pairs,
        ],
    },
    BankEntry {
        id: "track_what_else_to_feel_complete",
        text: "What else do you need to feel complete?",
        source: COACHS_ROLE,
        stages: &[
            StageKind::CoachingQuestions,
            StageKind::Reflection,
            StageKind::Pairs,
        ],
    },
    BankEntry {
        id: "track_what_else_would_be_helpful",
        text: "What else would be helpful?",
        source: COACHS_ROLE,
        stages: &[
            StageKind::CoachingQuestions,
            StageKind::Reflection,
            StageKind::Pairs,
        ],
    },
    BankEntry {
        id: "reframe_might_it_be_useful",
        text: "Might it be useful to think of it this way?",
        source: COACHS_ROLE,
        stages: &[StageKind::CoachingQuestions, StageKind::Pairs],
    },
    BankEntry {
        id: "coach_reflect_back",
        text: "Reflect back what you hear: paraphrase and summarise, then listen.",
        source: COACHS_ROLE,
        stages: &[StageKind::CoachingQuestions, StageKind::Pairs],
    },
    BankEntry {
        id: "coach_no_advice",
        text: "No advice: help them find their own answer.",
        source: COACHS_ROLE,
        stages: &[StageKind::CoachingQuestions, StageKind::Pairs],
    },
    // Reflection.
    BankEntry {
        id: "reflect_what_stood_out",
        text: "What stood out for you in the questions you heard?",
        source: ACTION_LEARNING,
        stages: &[StageKind::Reflection],
    },
    BankEntry {
        id: "reflect_what_has_shifted",
        text: "What has shifted in how you see this?",
        source: ACTION_LEARNING,
        stages: &[StageKind::Reflection],
    },
    BankEntry {
        id: "reflect_question_to_keep",
        text: "Which question will you keep thinking about?",
        source: ACTION_LEARNING,
        stages: &[StageKind::Reflection],
    },
    // Commitment: small steps and little wins.
    BankEntry {
        id: "commit_what_by_when",
        text: "What will you do, by when?",
        source: ACTION_LEARNING,
        stages: &[StageKind::Commitment],
    },
    BankEntry {
        id: "commit_smallest_next_step",
        text: "What is the smallest next step?",
        source: COACHS_ROLE,
        stages: &[StageKind::Commitment, StageKind::Reflection],
    },
    BankEntry {
        id: "commit_reality_check",
        text: "How sure are you that you will do it? What would make it more likely?",
        source: COACHS_ROLE,
        stages: &[StageKind::Commitment],
    },
    BankEntry {
        id: "commit_who_will_you_tell",
        text: "Who will you tell, and when will you report back?",
        source: ACCOUNTABILITY,
        stages: &[StageKind::Commitment],
    },
    // Discussion.
    BankEntry {
        id: "discuss_mirrored_challenges",
        text: "Where did you see your own challenges mirrored in what you heard?",
        source: CIRCLES,
        stages: &[StageKind::Discussion],
    },
    BankEntry {
        id: "discuss_learning_as_coaches",
        text: "What are we learning about asking good questions?",
        source: CIRCLES,
        stages: &[StageKind::Discussion, StageKind::Feedback],
    },
    // Feedback.
    BankEntry {
        id: "feedback_most_and_less_helpful",
        text: "What was most helpful? What was less helpful?",
        source: FEEDBACK,
        stages: &[StageKind::Feedback],
    },
    BankEntry {
        id: "feedback_coaches_what_worked",
        text: "Coaches: what worked for you as coach, and what will you try next time?",
        source: FEEDBACK,
        stages: &[StageKind::Feedback],
    },
    BankEntry {
        id: "feedback_generous",
        text: "What did someone do well as coach that they should hear about?",
        source: CIRCLES,
        stages: &[StageKind::Feedback, StageKind::Discussion],
    },
    // Check-out.
    BankEntry {
        id: "checkout_one_learning",
        text: "One learning you take with you.",
        source: ACTION_LEARNING,
        stages: &[StageKind::CheckOut],
    },
    BankEntry {
        id: "checkout_one_word",
        text: "One word for how you leave.",
        source: ACTION_LEARNING,
        stages: &[StageKind::CheckOut],
    },
    BankEntry {
        id: "checkout_one_appreciation",
        text: "One thing you appreciated in someone today.",
        source: CIRCLES,
        stages: &[StageKind::CheckOut],
    },
];

/// The whole bank, in a stable order.
pub fn bank() -> &'static [BankEntry] {
    BANK
}

/// A prompt by id.
pub fn by_id(id: &str) -> Option<Prompt> {
    BANK.iter()
        .find(|entry| entry.id == id)
        .map(BankEntry::prompt)
}

/// The prompts that suit a stage kind, in bank order.
pub fn for_stage(kind: StageKind) -> Vec<Prompt> {
    BANK.iter()
        .filter(|entry| entry.suits(kind))
        .map(BankEntry::prompt)
        .collect()
}

/// Draw one prompt suited to `kind`, deterministically for `seed`: the same seed always gives the
/// same prompt (a splitmix64 mix of the seed picks the index; nothing random inside). `None` if
/// no prompt suits the kind (a break).
pub fn draw(kind: StageKind, seed: u64) -> Option<Prompt> {
    let mut suited = BANK.iter().filter(|entry| entry.suits(kind));
    let count = suited.clone().count() as u64;
    if count == 0 {
        return None;
    }
    // `index < count`, and `count` came from a `usize`, so the conversion cannot truncate.
    let index = (splitmix64(seed) % count) as usize;
    suited.nth(index).map(BankEntry::prompt)
}

/// The splitmix64 finaliser: spreads nearby seeds (0, 1, 2, …) across the whole range.
fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// Every stage kind; the match below fails to compile when a kind is added, so this list
    /// cannot fall behind.
    const ALL_KINDS: [StageKind; 13] = [
        StageKind::Welcome,
        StageKind::CheckIn,
        StageKind::Presentation,
        StageKind::ClarifyingQuestions,
        StageKind::CoachingQuestions,
        StageKind::Reflection,
        StageKind::Commitment,
        StageKind::Discussion,
        StageKind::Feedback,
        StageKind::CheckOut,
        StageKind::Break,
        StageKind::Pairing,
        StageKind::Pairs,
    ];

    fn all_kinds_is_exhaustive(kind: StageKind) -> usize {
        match kind {
            StageKind::Welcome => 0,
            StageKind::CheckIn => 1,
            StageKind::Presentation => 2,
            StageKind::ClarifyingQuestions => 3,
            StageKind::CoachingQuestions => 4,
            StageKind::Reflection => 5,
            StageKind::Commitment => 6,
            StageKind::Discussion => 7,
            StageKind::Feedback => 8,
            StageKind::CheckOut => 9,
            StageKind::Break => 10,
            StageKind::Pairing => 11,
            StageKind::Pairs => 12,
        }
    }

    #[test]
    fn ids_are_unique() {
        let mut seen = HashSet::new();
        for entry in bank() {
            assert!(seen.insert(entry.id), "duplicate id {}", entry.id);
        }
    }

    #[test]
    fn ids_are_snake_case_and_texts_and_sources_are_not_empty() {
        for entry in bank() {
            assert!(
                !entry.id.is_empty()
                    && entry
                        .id
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{}",
                entry.id
            );
            assert!(!entry.text.trim().is_empty(), "{}", entry.id);
            assert!(!entry.source.trim().is_empty(), "{}", entry.id);
            assert!(!entry.stages.is_empty(), "{}", entry.id);
        }
    }

    #[test]
    fn texts_fit_a_pushed_prompt() {
        for entry in bank() {
            assert!(
                entry.text.chars().count() <= circlekeeper_protocol::limits::MAX_TEXT_CHARS,
                "{}",
                entry.id
            );
        }
    }

    #[test]
    fn every_kind_but_break_has_a_prompt() {
        for (i, kind) in ALL_KINDS.into_iter().enumerate() {
            assert_eq!(all_kinds_is_exhaustive(kind), i);
            if kind == StageKind::Break {
                continue;
            }
            assert!(!for_stage(kind).is_empty(), "no prompt for {kind:?}");
        }
    }

    #[test]
    fn a_break_has_no_prompt_and_draws_none() {
        assert!(for_stage(StageKind::Break).is_empty());
        assert_eq!(draw(StageKind::Break, 7), None);
    }

    #[test]
    fn the_transformational_questions_are_there_verbatim_for_coaching_questions() {
        let coaching: Vec<String> = for_stage(StageKind::CoachingQuestions)
            .into_iter()
            .map(|p| p.text)
            .collect();
        for text in [
            "What else could this mean?",
            "What potential positive value might there be in this?",
            "What is the opportunity here?",
            "How could you make this work?",
            "If you had to do this, how would you make it work?",
            "Are we on track for getting what you need?",
            "What else do you need to feel complete?",
            "What else would be helpful?",
            "Might it be useful to think of it this way?",
        ] {
            assert!(coaching.iter().any(|t| t == text), "missing {text}");
        }
    }

    #[test]
    fn staying_on_track_questions_also_suit_reflection() {
        let reflection = for_stage(StageKind::Reflection);
        for id in [
            "track_are_we_on_track",
            "track_what_else_to_feel_complete",
            "track_what_else_would_be_helpful",
        ] {
            assert!(reflection.iter().any(|p| p.id == id), "missing {id}");
        }
    }

    #[test]
    fn the_pop_model_has_one_prompt_each_for_presentation_and_check_in() {
        for kind in [StageKind::Presentation, StageKind::CheckIn] {
            let pop: Vec<Prompt> = for_stage(kind)
                .into_iter()
                .filter(|p| p.source == "POP model")
                .collect();
            let starts: Vec<&str> = pop
                .iter()
                .filter_map(|p| p.text.split(':').next())
                .collect();
            assert_eq!(starts, ["Purpose", "Outcomes", "Process"], "{kind:?}");
        }
    }

    #[test]
    fn for_stage_keeps_bank_order() {
        let ids: Vec<String> = for_stage(StageKind::CoachingQuestions)
            .into_iter()
            .map(|p| p.id)
            .collect();
        let expected: Vec<&str> = bank()
            .iter()
            .filter(|e| e.stages.contains(&StageKind::CoachingQuestions))
            .map(|e| e.id)
            .collect();
        assert_eq!(ids, expected);
    }

    #[test]
    fn draw_is_deterministic_for_a_seed_and_suits_the_kind() {
        for kind in ALL_KINDS {
            let suited = for_stage(kind);
            for seed in [0, 1, 2, 42, u64::MAX] {
                let first = draw(kind, seed);
                assert_eq!(first, draw(kind, seed), "{kind:?} {seed}");
                match first {
                    Some(prompt) => assert!(suited.contains(&prompt), "{kind:?} {seed}"),
                    None => assert!(suited.is_empty(), "{kind:?} {seed}"),
                }
            }
        }
    }

    #[test]
    fn draw_reaches_every_suited_prompt_over_many_seeds() {
        let suited = for_stage(StageKind::CoachingQuestions);
        let drawn: HashSet<String> = (0..1_000)
            .filter_map(|seed| draw(StageKind::CoachingQuestions, seed))
            .map(|p| p.id)
            .collect();
        assert_eq!(drawn.len(), suited.len());
    }

    #[test]
    fn by_id_round_trips_every_entry() {
        for entry in bank() {
            let prompt = by_id(entry.id).expect("found");
            assert_eq!(prompt.id, entry.id);
            assert_eq!(prompt.text, entry.text);
            assert_eq!(prompt.source, entry.source);
            assert_eq!(prompt, entry.prompt());
        }
    }

    #[test]
    fn an_unknown_id_finds_nothing() {
        assert_eq!(by_id("custom"), None);
        assert_eq!(by_id(""), None);
    }
}
