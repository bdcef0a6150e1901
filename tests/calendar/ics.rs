//! A strict iCalendar (RFC 5545) reader for the calendar tests: CRLF only, lines of at most
//! 75 octets, folding, well-formed names and parameters, BEGIN/END balanced, the properties a
//! VCALENDAR, VEVENT and VTIMEZONE must have, every TZID defined; and the UTC instant of a local
//! time through the calendar's own VTIMEZONE.

/// One property: name, parameters, raw value.
#[derive(Debug, Clone)]
pub struct Prop {
    pub name: String,
    pub params: Vec<(String, String)>,
    pub value: String,
}

/// One component with its properties and sub-components.
#[derive(Debug, Clone, Default)]
pub struct Component {
    pub name: String,
    pub props: Vec<Prop>,
    pub children: Vec<Component>,
}

impl Component {
    pub fn all(&self, name: &str) -> Vec<&Prop> {
        self.props.iter().filter(|p| p.name == name).collect()
    }

    /// The one property `name` (it must occur exactly once).
    pub fn one(&self, name: &str) -> &Prop {
        let found = self.all(name);
        assert_eq!(
            found.len(),
            1,
            "{} must have one {name}: {found:?}",
            self.name
        );
        found[0]
    }

    pub fn value(&self, name: &str) -> &str {
        &self.one(name).value
    }

    pub fn param(&self, name: &str, param: &str) -> Option<&str> {
        self.one(name)
            .params
            .iter()
            .find(|(k, _)| k == param)
            .map(|(_, v)| v.as_str())
    }

    pub fn children(&self, name: &str) -> Vec<&Component> {
        self.children.iter().filter(|c| c.name == name).collect()
    }
}

/// Parse iCalendar text strictly: CRLF only, lines of at most 75 octets, folding, names and
/// parameters well formed, BEGIN/END balanced, one VCALENDAR with VERSION and PRODID, every
/// VEVENT with its required properties, every TZID defined by a VTIMEZONE.
pub fn parse_ics(text: &str) -> Component {
    assert!(text.ends_with("\r\n"), "the text ends with CRLF");
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            assert!(i > 0 && bytes[i - 1] == b'\r', "a bare LF at octet {i}");
        }
        if b == b'\r' {
            assert_eq!(bytes.get(i + 1), Some(&b'\n'), "a bare CR at octet {i}");
        }
    }
    let physical: Vec<&str> = text[..text.len() - 2].split("\r\n").collect();
    let mut lines: Vec<String> = Vec::new();
    for line in physical {
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
        if let Some(rest) = line.strip_prefix(' ').or_else(|| line.strip_prefix('\t')) {
            lines
                .last_mut()
                .expect("a continuation follows a line")
                .push_str(rest);
        } else {
            assert!(!line.is_empty(), "an empty line");
            lines.push(line.to_string());
        }
    }
    let mut stack: Vec<Component> = vec![Component::default()];
    for line in lines {
        let prop = parse_line(&line);
        match prop.name.as_str() {
            "BEGIN" => stack.push(Component {
                name: prop.value.clone(),
                ..Component::default()
            }),
            "END" => {
                let done = stack.pop().expect("an open component");
                assert_eq!(
                    done.name, prop.value,
                    "END:{} closes {}",
                    prop.value, done.name
                );
                stack
                    .last_mut()
                    .expect("END:VCALENDAR closes the last")
                    .children
                    .push(done);
            }
            _ => {
                assert!(stack.len() > 1, "a property outside any component: {line}");
                stack.last_mut().expect("open").props.push(prop);
            }
        }
    }
    assert_eq!(stack.len(), 1, "every BEGIN has its END");
    let root = stack.pop().expect("root");
    assert_eq!(root.children.len(), 1, "one VCALENDAR");
    let cal = root.children[0].clone();
    assert_eq!(cal.name, "VCALENDAR");
    assert_eq!(cal.value("VERSION"), "2.0");
    assert!(!cal.value("PRODID").is_empty());
    let zones: Vec<String> = cal
        .children("VTIMEZONE")
        .iter()
        .map(|z| z.value("TZID").to_string())
        .collect();
    for z in cal.children("VTIMEZONE") {
        let parts = z.children.len();
        assert!(parts >= 1, "a VTIMEZONE has a STANDARD or DAYLIGHT part");
        for part in &z.children {
            assert!(["STANDARD", "DAYLIGHT"].contains(&part.name.as_str()));
            for p in ["DTSTART", "TZOFFSETFROM", "TZOFFSETTO"] {
                part.one(p);
            }
        }
    }
    for e in cal.children("VEVENT") {
        for p in ["UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "URL"] {
            e.one(p);
        }
        assert!(e.value("DTSTAMP").ends_with('Z'), "DTSTAMP is UTC");
        for p in ["DTSTART", "DTEND"] {
            match e.param(p, "TZID") {
                Some(tz) => assert!(zones.iter().any(|z| z == tz), "TZID {tz} has a VTIMEZONE"),
                None => assert!(e.value(p).ends_with('Z'), "{p} without TZID is UTC"),
            }
        }
    }
    cal
}

/// `NAME;P=V;Q="V":value`, checked.
pub fn parse_line(line: &str) -> Prop {
    let mut in_quotes = false;
    let mut colon = None;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ':' if !in_quotes => {
                colon = Some(i);
                break;
            }
            _ => {}
        }
    }
    let colon = colon.unwrap_or_else(|| panic!("no ':' in {line:?}"));
    let (head, value) = (&line[..colon], &line[colon + 1..]);
    let mut parts = head.split(';');
    let name = parts.next().expect("a name").to_string();
    assert!(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-'),
        "property name {name:?}"
    );
    let params = parts
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or_else(|| panic!("param {p:?}"));
            (k.to_string(), v.trim_matches('"').to_string())
        })
        .collect();
    Prop {
        name,
        params,
        value: value.to_string(),
    }
}

/// A TEXT value unescaped; an unknown escape fails.
pub fn unescape(value: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') | Some('N') => out.push('\n'),
                Some(c @ ('\\' | ';' | ',')) => out.push(c),
                other => panic!("bad escape \\{other:?} in {value:?}"),
            }
        } else {
            assert!(c != ',' && c != ';', "unescaped {c:?} in {value:?}");
            out.push(c);
        }
    }
    out
}

/// `20260326T180000` as seconds since the epoch, read as UTC.
pub fn local_seconds(v: &str) -> i64 {
    let v = v.trim_end_matches('Z');
    assert_eq!(v.len(), 15, "{v}");
    let n = |a: usize, b: usize| v[a..b].parse::<i64>().expect("digits");
    let (y, mo, d, h, mi, s) = (n(0, 4), n(4, 6), n(6, 8), n(9, 11), n(11, 13), n(13, 15));
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + h * 3600 + mi * 60 + s
}

/// `+0100` as seconds.
pub fn offset_seconds(v: &str) -> i64 {
    let sign = if v.starts_with('-') { -1 } else { 1 };
    let n = |a: usize, b: usize| v[a..b].parse::<i64>().expect("digits");
    let secs = if v.len() == 7 { n(5, 7) } else { 0 };
    sign * (n(1, 3) * 3600 + n(3, 5) * 60 + secs)
}

/// The UTC instant (epoch seconds) of an event's `DTSTART` or `DTEND`, through the calendar's
/// VTIMEZONE: the offset is the one of the last observance that began before it.
pub fn instant(cal: &Component, event: &Component, prop: &str) -> i64 {
    let value = event.value(prop);
    let Some(tzid) = event.param(prop, "TZID") else {
        assert!(value.ends_with('Z'));
        return local_seconds(value);
    };
    let zone = cal
        .children("VTIMEZONE")
        .into_iter()
        .find(|z| z.value("TZID") == tzid)
        .expect("its VTIMEZONE");
    let local = local_seconds(value);
    let mut best: Option<(i64, i64)> = None;
    for part in &zone.children {
        let from = offset_seconds(part.value("TZOFFSETFROM"));
        let to = offset_seconds(part.value("TZOFFSETTO"));
        let onset = local_seconds(part.value("DTSTART")) - from;
        let at = local - to;
        if onset <= at && best.is_none_or(|(o, _)| onset > o) {
            best = Some((onset, to));
        }
    }
    let (_, offset) = best.unwrap_or_else(|| panic!("no observance of {tzid} covers {value}"));
    local - offset
}
