//! Call links: the room's one link everyone sees, and each group's own link in a swap. This
//! module owns the rules on them — what a link may be, what a template's placeholders are, which
//! link a group gets — and `set_call_links`, which a facilitator sends to change them: it
//! becomes one `call_links_changed` event carrying the room's links and every group's link.
//!
//! A link is one web address: `https://`, or `http://` to `localhost` or `127.0.0.1` (a call
//! server on the facilitator's own machine), printable ASCII with no spaces, no quotes or angle
//! brackets, no user name before the host, and at most [`limits::MAX_URL_CHARS`] characters. So
//! a link can never be `javascript:` or `data:`, and never breaks out of an attribute.
//!
//! A group's link comes from the list first (group `n` gets the `n`-th), then from the template
//! (its placeholders filled in), else the group has none.

use circlekeeper_protocol::{limits, CallLinks, Command, ErrorCode, Event, GroupCall, Millis};

use super::{reject, Changes, Rejection, Room};

/// The placeholders a group call template may hold, each with the longest value it can take
/// (a room id, and `u32::MAX` for the numbers), to check the longest link a template can make.
const PLACEHOLDERS: &[(&str, &str)] = &[
    ("room", "0123456789abcdef0123456789abcdef"),
    ("group", "4294967295"),
    ("session", "4294967295"),
];

/// Characters that are printable ASCII but may not appear in a link: they would end an HTML
/// attribute or a markdown link, or are not allowed in a URL unescaped.
const REFUSED: &[char] = &['"', '\'', '<', '>', '\\', '^', '`', '{', '|', '}'];

/// Check call links as a client sent them: each link trimmed and checked ([`check_url`]), the
/// template's placeholders known, at most [`limits::MAX_GROUP_CALL_URLS`] group links.
/// `prefix` goes before the field names in messages (`options.` for `POST /api/rooms`).
pub fn check_call_links(prefix: &str, links: &CallLinks) -> Result<CallLinks, Rejection> {
    let call_url = match &links.call_url {
        Some(url) => Some(check_url(&format!("{prefix}call_url"), url)?),
        None => None,
    };
    let group_call_template = match &links.group_call_template {
        Some(t) => Some(check_template(&format!("{prefix}group_call_template"), t)?),
        None => None,
    };
    if links.group_call_urls.len() > limits::MAX_GROUP_CALL_URLS {
        return reject(
            ErrorCode::InvalidUrl,
            format!(
                "{prefix}group_call_urls: at most {} links",
                limits::MAX_GROUP_CALL_URLS
            ),
        );
    }
    let group_call_urls = links
        .group_call_urls
        .iter()
        .enumerate()
        .map(|(i, url)| check_url(&format!("{prefix}group_call_urls[{i}]"), url))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CallLinks {
        call_url,
        group_call_template,
        group_call_urls,
    })
}

/// Check one link (see the module docs). Returns it trimmed.
pub fn check_url(what: &str, text: &str) -> Result<String, Rejection> {
    let url = text.trim();
    let refuse = |why: String| reject(ErrorCode::InvalidUrl, format!("{what}: {why}"));
    if url.is_empty() {
        return refuse("must not be empty".into());
    }
    if url.chars().count() > limits::MAX_URL_CHARS {
        return refuse(format!("at most {} characters", limits::MAX_URL_CHARS));
    }
    if let Some(c) = url
        .chars()
        .find(|&c| !c.is_ascii_graphic() || REFUSED.contains(&c))
    {
        return refuse(format!(
            "one web address, with no spaces, quotes or control characters (it has U+{:04X})",
            u32::from(c)
        ));
    }
    let lower = url.to_ascii_lowercase();
    let (rest, secure) = if let Some(rest) = lower.strip_prefix("https://") {
        (rest, true)
    } else if let Some(rest) = lower.strip_prefix("http://") {
        (rest, false)
    } else {
        return refuse("must start with https://".into());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return refuse("must not hold a user name or password".into());
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let good_host = !host.is_empty()
        && !host.starts_with(['.', '-'])
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    let good_port =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()));
    if !good_host || !good_port {
        return refuse("must name a host (letters, digits, dots and dashes)".into());
    }
    if !secure && host != "localhost" && host != "127.0.0.1" {
        return refuse("must start with https:// (http:// only to localhost or 127.0.0.1)".into());
    }
    Ok(url.to_string())
}

/// Check a group call template: only known placeholders, and the longest link it can make is
/// a good link ([`check_url`]). Returns it trimmed.
pub fn check_template(what: &str, text: &str) -> Result<String, Rejection> {
    let template = text.trim();
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        let after = &rest[open + 1..];
        let name = (rest.as_bytes()[open] == b'{')
            .then(|| after.split_once('}'))
            .flatten()
            .map(|(name, _)| name);
        match name {
            Some(name) if PLACEHOLDERS.iter().any(|(known, _)| *known == name) => {
                rest = &after[name.len() + 1..];
            }
            Some(name) => {
                return reject(
                    ErrorCode::InvalidUrl,
                    format!("{what}: unknown placeholder {{{name}}}; use {{room}}, {{group}} or {{session}}"),
                )
            }
            None => {
                return reject(
                    ErrorCode::InvalidUrl,
                    format!("{what}: a brace that opens no placeholder; use {{room}}, {{group}} or {{session}}"),
                )
            }
        }
    }
    let longest = PLACEHOLDERS
        .iter()
        .fold(template.to_string(), |t, (name, value)| {
            t.replace(&format!("{{{name}}}"), value)
        });
    check_url(what, &longest)?;
    Ok(template.to_string())
}

/// The template with its placeholders filled in.
pub fn fill(template: &str, room: &str, group: u32, session: u32) -> String {
    template
        .replace("{room}", room)
        .replace("{group}", &group.to_string())
        .replace("{session}", &session.to_string())
}

/// Group `group`'s link: the `group`-th of the list, else the template filled in, else none.
/// `session` is the session's number in its series, from 1.
pub fn group_link(links: &CallLinks, room: &str, session: u32, group: u32) -> Option<String> {
    let listed = usize::try_from(group)
        .ok()
        .and_then(|g| g.checked_sub(1))
        .and_then(|i| links.group_call_urls.get(i));
    match (listed, &links.group_call_template) {
        (Some(url), _) => Some(url.clone()),
        (None, Some(template)) => Some(fill(template, room, group, session)),
        (None, None) => None,
    }
}

impl Room {
    /// The room's call links, as its view holds them.
    pub fn call_links(&self) -> CallLinks {
        CallLinks {
            call_url: self.view.call_url.clone(),
            group_call_template: self.view.group_call_template.clone(),
            group_call_urls: self.view.group_call_urls.clone(),
        }
    }

    /// The link group `group` gets from the room's call links now.
    pub(super) fn group_call_url(&self, group: u32) -> Option<String> {
        self.group_call_url_from(&self.call_links(), group)
    }

    fn group_call_url_from(&self, links: &CallLinks, group: u32) -> Option<String> {
        let session = self.pairing.session.saturating_add(1);
        group_link(links, &self.view.id, session, group)
    }

    /// Apply `set_call_links`: check the links, then tell everyone the room's links and each
    /// group's.
    pub(super) fn calls_command(
        &mut self,
        now: Millis,
        cmd: &Command,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        let Command::SetCallLinks {
            call_url,
            group_call_template,
            group_call_urls,
        } = cmd
        else {
            return Ok(());
        };
        let links = check_call_links(
            "",
            &CallLinks {
                call_url: call_url.clone(),
                group_call_template: group_call_template.clone(),
                group_call_urls: group_call_urls.clone(),
            },
        )?;
        let groups = self
            .view
            .pairs
            .groups
            .iter()
            .map(|g| GroupCall {
                group: g.id,
                call_url: self.group_call_url_from(&links, g.id),
            })
            .collect();
        self.emit(
            now,
            out,
            Event::CallLinksChanged {
                call_url: links.call_url,
                group_call_template: links.group_call_template,
                group_call_urls: links.group_call_urls,
                groups,
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<String, Rejection>) -> Option<ErrorCode> {
        r.err().map(|r| r.code)
    }

    #[test]
    fn a_link_is_https_or_http_to_this_machine_and_is_trimmed() {
        for good in [
            "https://meet.example.org/room-1",
            "HTTPS://Meet.Example.org/a?b=c&d=e#f",
            "https://meet.example.org:8443/x",
            "http://localhost:3000/call",
            "http://127.0.0.1/call",
        ] {
            assert_eq!(check_url("u", good), Ok(good.to_string()), "{good}");
        }
        assert_eq!(
            check_url("u", "  https://meet.example.org/x\n"),
            Ok("https://meet.example.org/x".to_string())
        );
    }

    #[test]
    fn a_link_that_could_run_code_or_mislead_is_refused_as_invalid_url() {
        let long = format!("https://meet.example.org/{}", "a".repeat(500));
        for bad in [
            "",
            "   ",
            "javascript:alert(1)",
            "JavaScript://meet.example.org/%0Aalert(1)",
            "data:text/html,<b>x</b>",
            "//meet.example.org/x",
            "ftp://meet.example.org/x",
            "http://meet.example.org/x",
            "http://localhost.evil.org/x",
            "https://",
            "https:///path",
            "https://user:pw@meet.example.org/x",
            "https://meet.example.org/a b",
            "https://meet.example.org/a\u{0}b",
            "https://meet.example.org/\"onclick=\"x",
            "https://meet.example.org/<script>",
            "https://meet.example.org/ü",
            "https://meet.example.org:port/x",
            "https://-bad.example.org/x",
            long.as_str(),
        ] {
            assert_eq!(
                code(check_url("u", bad)),
                Some(ErrorCode::InvalidUrl),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_template_takes_only_known_placeholders_and_must_make_good_links() {
        let ok = "https://meet.example.org/{room}-{group}-s{session}";
        assert_eq!(check_template("t", ok), Ok(ok.to_string()));
        for bad in [
            "https://meet.example.org/{team}",
            "https://meet.example.org/{room",
            "https://meet.example.org/room}",
            "https://meet.example.org/{}",
            "javascript:{room}",
        ] {
            let refused = check_template("t", bad).err();
            assert_eq!(
                refused.map(|r| r.code),
                Some(ErrorCode::InvalidUrl),
                "{bad}"
            );
        }
        // 480 characters of template become more than 500 once the room id is filled in.
        let long = format!("https://meet.example.org/{}{{room}}", "a".repeat(450));
        assert_eq!(
            check_template("t", &long).err().map(|r| r.code),
            Some(ErrorCode::InvalidUrl)
        );
    }

    #[test]
    fn a_group_takes_its_place_in_the_list_then_the_template_then_nothing() {
        let mut links = CallLinks {
            call_url: None,
            group_call_template: Some("https://m.example.org/{room}-{group}-{session}".into()),
            group_call_urls: vec!["https://a.example.org/1".into()],
        };
        assert_eq!(
            group_link(&links, "r1", 3, 1).as_deref(),
            Some("https://a.example.org/1")
        );
        assert_eq!(
            group_link(&links, "r1", 3, 2).as_deref(),
            Some("https://m.example.org/r1-2-3")
        );
        assert_eq!(
            group_link(&links, "r1", 3, 12).as_deref(),
            Some("https://m.example.org/r1-12-3")
        );
        links.group_call_template = None;
        assert_eq!(group_link(&links, "r1", 3, 2), None);
    }

    #[test]
    fn too_many_group_links_are_refused_and_each_is_named_by_its_place() {
        let many = CallLinks {
            group_call_urls: vec![
                "https://a.example.org/x".into();
                limits::MAX_GROUP_CALL_URLS + 1
            ],
            ..CallLinks::default()
        };
        let refused = check_call_links("options.", &many).err();
        assert_eq!(refused.map(|r| r.code), Some(ErrorCode::InvalidUrl));
        let second_bad = CallLinks {
            group_call_urls: vec!["https://a.example.org/x".into(), "javascript:x".into()],
            ..CallLinks::default()
        };
        let refused = check_call_links("", &second_bad).err();
        assert!(refused.is_some_and(|r| r.message.starts_with("group_call_urls[1]:")));
    }
}
