//! Accessibility of every screen of the web client, checked with axe-core (vendored in
//! `tests/vendor/axe-core/`) in a real headless Chromium against a real server on 127.0.0.1:
//! the front page, a room's join page (also on a small phone), the participant's room (lobby,
//! a round, the pair view of a coaching swap, the survey after the end), the facilitator's
//! console (lobby, a round, the prompt bank with every prompt, the pairing, the pairs
//! dashboard, the end), a series member's page, the community host's sign-in and report pages,
//! and the not-found page; each in the light and the dark colour scheme. Any violation on any
//! of them fails the test, and the message lists them all, screen by screen.
//!
//! Without Chromium the test says plainly that it was skipped, and why; under CI (`CI` set) a
//! missing browser fails it instead. `.ci/run` installs Debian's `chromium`.

#[path = "common/browser/mod.rs"]
mod browser;
mod common;

use std::sync::Arc;

use browser::{chromium, report, Browser, Page, Violation};
use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use common::TestServer;
use serde_json::json;

/// The community host's key for this test's server.
const HOST_KEY: &str = "community-host-key-for-a11y-tests";

/// What axe found on one screen in one colour scheme.
struct Finding {
    screen: String,
    scheme: &'static str,
    violations: Vec<Violation>,
}

/// Every screen checked so far, and what was found.
#[derive(Default)]
struct Audit {
    findings: Vec<Finding>,
}

impl Audit {
    /// Check `page` as it is now in the light and then the dark colour scheme.
    async fn check(&mut self, page: &Page<'_>, screen: &str) {
        for scheme in ["light", "dark"] {
            page.set_color_scheme(scheme).await;
            // Colours change with a short transition: let the finite ones end (bounded) so axe
            // measures the scheme's own colours, not a blend.
            page.eval(
                "const ending = document.getAnimations()
                   .filter((a) => a.effect && Number.isFinite(a.effect.getComputedTiming().endTime))
                   .map((a) => a.finished.catch(() => null));
                 await Promise.race([Promise.all(ending), new Promise((ok) => setTimeout(ok, 3000))]);",
            )
            .await;
            let violations = page.axe().await;
            self.findings.push(Finding {
                screen: screen.to_string(),
                scheme,
                violations,
            });
        }
    }

    /// Fail, listing every violation on every screen, if there were any.
    fn assert_clean(&self) {
        let mut out = String::new();
        for f in self.findings.iter().filter(|f| !f.violations.is_empty()) {
            out.push_str(&format!(
                "\n== {} ({} scheme): {} rule(s) broken\n{}",
                f.screen,
                f.scheme,
                f.violations.len(),
                report(&f.violations)
            ));
        }
        let screens: Vec<String> = self
            .findings
            .iter()
            .map(|f| format!("{} ({})", f.screen, f.scheme))
            .collect();
        assert!(
            !screens.is_empty(),
            "no screen was checked, so nothing was proved"
        );
        assert!(
            out.is_empty(),
            "axe found accessibility violations:{out}\nscreens checked: {screens:#?}"
        );
    }
}

#[tokio::test]
async fn every_screen_passes_axe_in_light_and_dark() {
    let Some(path) = chromium() else { return };
    let store = SledStore::temporary().expect("store");
    let server = TestServer::start_with(Arc::new(store), Clock::System, |s| {
        s.host_key = Some(HOST_KEY.into());
    })
    .await;
    let browser = Browser::launch(&path).await;
    let url = server.url();
    let mut audit = Audit::default();

    // The front page, where a facilitator opens a room.
    let visitor = browser.page("Visitor", 1280, 900, false).await;
    visitor.goto(&format!("{url}/")).await;
    visitor
        .wait_for(
            "$('create-format') && $('create-format').options.length > 0",
            "the formats",
        )
        .await;
    audit.check(&visitor, "front page (create a room)").await;

    // A coaching swap opened through the API; its join page, before entering.
    let room = server.create_builtin_room("coaching_swap").await;
    let join = format!("{url}/r/{}#join={}", room.room_id, room.join_key);
    let host = format!("{url}/r/{}#host={}", room.room_id, room.host_key);
    let joining = browser.page("Joining", 390, 844, true).await;
    joining.goto(&join).await;
    joining
        .wait_for(
            "visible($('name-input')) && $('ground-rules') && /stays in this circle/.test(txt($('ground-rules')))",
            "the join form",
        )
        .await;
    audit.check(&joining, "join page").await;
    // On a small phone (320 CSS pixels wide, WCAG's reflow width) the ground rules scroll.
    joining.set_viewport(320, 568, true).await;
    audit
        .check(&joining, "join page, small phone (320x568)")
        .await;

    // The facilitator and two participants in the lobby.
    let fran = browser.page("Fran", 1280, 900, false).await;
    fran.enter_room(&host, "Fran").await;
    let ada = browser.page("Ada", 390, 844, true).await;
    ada.enter_room(&join, "Ada").await;
    let ben = browser.page("Ben", 390, 844, true).await;
    ben.enter_room(&join, "Ben").await;
    fran.wait_for(
        "document.querySelectorAll('[data-test=participants] [data-participant]').length === 3",
        "three people",
    )
    .await;
    audit.check(&fran, "facilitator console, lobby").await;
    audit.check(&ada, "participant room, lobby").await;

    // A round: the check-in.
    fran.click("start").await;
    fran.wait_for("/Welcome/.test(txt($('stage-title')))", "the welcome")
        .await;
    fran.click("next-stage").await;
    for p in [&fran, &ada] {
        p.wait_for(
            "$('stage-title') && /Check-in/.test(txt($('stage-title')))",
            "the check-in",
        )
        .await;
    }
    audit
        .check(&fran, "facilitator console, check-in round")
        .await;
    // The prompt bank with every prompt, not only this stage's: a long list in its own box.
    fran.eval(
        "const all = await until(() => document.getElementById('prompt-all'), 10000, 'the prompt bank');
         if (!all.checked) all.click();",
    )
    .await;
    fran.wait_for(
        "$('prompt-bank') && $('prompt-bank').querySelectorAll('li:not(.hint)').length > 5",
        "every prompt in the bank",
    )
    .await;
    audit
        .check(
            &fran,
            "facilitator console, check-in round, every prompt shown",
        )
        .await;
    audit.check(&ada, "participant room, check-in round").await;

    // The pairing, with a proposal on the console.
    fran.click("next-stage").await;
    fran.wait_for("/Pairing/.test(txt($('stage-title')))", "the pairing")
        .await;
    fran.click("propose-pairs").await;
    fran.wait_for(
        "document.querySelectorAll('[data-test=proposal] [data-group]').length === 1",
        "the proposed pair",
    )
    .await;
    audit
        .check(&fran, "facilitator console, pairing (a proposal)")
        .await;

    // The pairs stage: the pair view and the facilitator's dashboard.
    fran.click("confirm-pairs").await;
    fran.wait_for(
        "window.circlekeeper.state.view.pairs.groups.length === 1",
        "the pair",
    )
    .await;
    fran.click("next-stage").await;
    for p in [&ada, &ben] {
        p.wait_for(
            "visible($('pair-view')) && $('pair-timer') && $('pair-timer').dataset.remainingMs",
            "the pair view",
        )
        .await;
    }
    fran.wait_for(
        "document.querySelector('[data-test=pairs-dashboard] [data-group][data-phase=coaching]')",
        "the dashboard's tile",
    )
    .await;
    audit
        .check(&ada, "pair view, coaching swap pairs stage")
        .await;
    audit
        .check(&fran, "facilitator console, pairs dashboard")
        .await;

    // After the end: the survey.
    fran.click("end-session").await;
    fran.click("confirm-ok").await;
    ada.wait_for("visible($('survey-save'))", "the survey")
        .await;
    audit.check(&ada, "participant room, ended (survey)").await;
    audit.check(&fran, "facilitator console, ended").await;

    // A series member's page, then its session's room through it (so the host's report has
    // figures to chart).
    let (series_id, answer, series_host) = server.series_with_a_session().await;
    let member = answer["members"][0]["url"]
        .as_str()
        .expect("member url")
        .to_string();
    assert!(
        member.contains(&format!("/s/{series_id}#member=")),
        "{member}"
    );
    let chen = browser.page("Chen", 390, 844, true).await;
    chen.goto(&member).await;
    chen.wait_for(
        "visible($('member-page')) && visible($('member-enter'))",
        "the member page",
    )
    .await;
    audit.check(&chen, "series member page").await;
    let lead = browser.page("Lead", 1280, 900, false).await;
    lead.enter_room(&series_host, "Lead").await;
    chen.click("member-enter").await;
    chen.check("consent-checkbox").await;
    chen.click("enter-button").await;
    chen.live().await;

    // The community host: the sign-in, then every series and room with their figures.
    let community = browser.page("Host", 1280, 900, false).await;
    community.goto(&format!("{url}/host")).await;
    community
        .wait_for("visible($('host-key'))", "the host's sign-in")
        .await;
    audit.check(&community, "community host, sign-in").await;
    community.fill("host-key", HOST_KEY).await;
    community.click("host-enter").await;
    community
        .wait_for(
            &format!(
                "document.querySelector('[data-test=host-series] [data-series=\"{series_id}\"]')"
            ),
            "the series",
        )
        .await;
    community
        .wait_for(
            "$$('series-figures').length > 0 && $$('series-figures').every((f) => f.dataset.loaded === 'true') && $('chart-attendance')",
            "the series' figures",
        )
        .await;
    audit
        .check(&community, "community host, series and rooms with figures")
        .await;

    // An address that is not a circle.
    // (It has nothing marked for tests, so it is waited for by its heading.)
    visitor
        .cmd(
            "Page.navigate",
            json!({ "url": format!("{url}/r/not.a.room") }),
        )
        .await;
    visitor
        .wait_for(
            "document.readyState === 'complete' && document.querySelector('h1') && /Nothing here/.test(document.querySelector('h1').textContent)",
            "the not-found page",
        )
        .await;
    audit.check(&visitor, "not found").await;

    for f in &audit.findings {
        eprintln!(
            "{} ({}): {} violation(s){}",
            f.screen,
            f.scheme,
            f.violations.len(),
            f.violations
                .iter()
                .map(|v| format!(" {}", v.id))
                .collect::<String>()
        );
    }
    audit.assert_clean();
}
