//! Prompts in the room: a coach or facilitator draws one for themselves (answered in the ack,
//! seeded), a facilitator pushes one from the bank or their own text to everyone or one role,
//! and clears it. A pushed prompt belongs to its stage (see `session`).

use circlekeeper_protocol::{
    limits, AckResult, Command, ErrorCode, Event, Millis, ParticipantView, Prompt, PushedPrompt,
    Role,
};

use super::{clean_paragraphs, reject, Changes, Rejection, Room};
use crate::room::prompts;

impl Room {
    /// Apply `draw_prompt` (the ack carries the prompt), `push_prompt` or `clear_prompt`.
    pub(super) fn prompting_command(
        &mut self,
        now: Millis,
        me: &ParticipantView,
        cmd: &Command,
        out: &mut Changes,
    ) -> Result<Option<AckResult>, Rejection> {
        match cmd {
            Command::DrawPrompt { seed } => {
                return Ok(Some(AckResult::Prompt {
                    prompt: self.draw_prompt(me, seed.unwrap_or(0))?,
                }))
            }
            Command::PushPrompt { prompt, text, to } => {
                let prompt = match (prompt, text) {
                    (Some(id), None) => prompts::by_id(id).ok_or_else(|| {
                        Rejection::new(
                            ErrorCode::UnknownPrompt,
                            format!("no prompt with id {id:?}"),
                        )
                    })?,
                    (None, Some(text)) => Prompt {
                        id: "custom".into(),
                        text: clean_paragraphs("text", text, limits::MAX_TEXT_CHARS)?,
                        source: "facilitator".into(),
                    },
                    _ => {
                        return reject(
                            ErrorCode::InvalidMessage,
                            "give either a prompt id or a text, not both",
                        )
                    }
                };
                let prompt = Some(PushedPrompt {
                    prompt,
                    to: *to,
                    by: me.id,
                    at: now,
                });
                self.emit(now, out, Event::PromptChanged { prompt });
            }
            Command::ClearPrompt if self.view.prompt.is_some() => {
                self.emit(now, out, Event::PromptChanged { prompt: None });
            }
            // Clearing a clear card changes nothing.
            _ => {}
        }
        Ok(None)
    }

    fn draw_prompt(&self, me: &ParticipantView, seed: u64) -> Result<Prompt, Rejection> {
        let stage = self.turn_stage()?;
        let role = self.stage_role(me.id);
        if !matches!(role, Role::Coach | Role::Facilitator) {
            return reject(
                ErrorCode::Forbidden,
                "prompts are drawn by coaches and facilitators",
            );
        }
        if role == Role::Coach && !me.consented {
            return reject(ErrorCode::ConsentRequired, "accept the ground rules first");
        }
        prompts::draw(stage.kind, seed).ok_or_else(|| {
            Rejection::new(
                ErrorCode::NotInStage,
                format!("no prompts for {}", stage.title),
            )
        })
    }
}
