//! Browser end-to-end tests: the web client in a real headless Chromium, driven over the Chrome
//! DevTools Protocol (`tests/common/browser/`), against a real server on 127.0.0.1.
//!
//! Without Chromium these tests say plainly that they were skipped, and why; under CI
//! (`CI` set) a missing browser fails them instead. `.ci/run` installs Debian's `chromium`.
//! Screenshots land in `target/browser-artifacts/`.

#[path = "common/browser/mod.rs"]
mod browser;
mod common;

use std::sync::Arc;

use browser::{artifacts, chromium, Browser, Modifier, Page};
use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use common::TestServer;
use serde_json::json;

#[tokio::test]
async fn a_facilitator_and_three_participants_run_a_circle_in_real_browsers() {
    let Some(path) = chromium() else { return };
    let store = SledStore::temporary().expect("store");
    let server = TestServer::start_with(Arc::new(store), Clock::System, |_| {}).await;
    let browser = Browser::launch(&path).await;
    let url = server.url();

    // The facilitator opens a room from the front page.
    let fran = browser.page("Fran", 1280, 900, false).await;
    fran.goto(&format!("{url}/")).await;
    fran.fill("create-title", "Tuesday action learning set")
        .await;
    fran.eval("const s = await until(() => $('create-format') && $('create-format').options.length > 0 && $('create-format'), 10000, 'formats'); s.value = 'action_learning_set'; s.dispatchEvent(new Event('change', {bubbles: true}));")
        .await;
    fran.click("create-submit").await;
    let join_link = fran.text("join-link").await;
    let host_link = fran.text("host-link").await;
    assert!(join_link.contains("#join="), "{join_link}");
    assert!(host_link.contains("#host="), "{host_link}");
    let front = fran.screenshot("create.png").await;
    assert!(front.exists());
    fran.enter_room(&host_link, "Fran").await;

    // Three participants join from the link, each on their own phone.
    let mut people = Vec::new();
    for name in ["Ada", "Ben", "Chen"] {
        let p = browser.page(name, 390, 844, true).await;
        p.enter_room(&join_link, name).await;
        people.push(p);
    }
    let [ada, ben, chen] = [&people[0], &people[1], &people[2]];
    fran.wait_for("$$('participants').length > 0 && document.querySelectorAll('[data-test=participants] [data-participant]').length === 4", "four people")
        .await;

    // Start: the check-in round goes around; Ada passes.
    fran.click("start").await;
    for p in [&fran, ada, ben, chen] {
        p.wait_for(
            "$('stage-title') && /check/i.test(txt($('stage-title')))",
            "the check-in",
        )
        .await;
    }
    fran.click("done").await;
    ada.wait_for("visible($('pass'))", "Ada's turn").await;
    ada.click("pass").await;
    ben.wait_for("visible($('done'))", "Ben's turn").await;
    ben.click("done").await;
    chen.wait_for("visible($('done'))", "Chen's turn").await;
    let speaking = ada.text("speaker").await;
    assert!(
        speaking.contains("Chen"),
        "Ada sees Chen speaking: {speaking}"
    );
    chen.click("done").await;

    // Presentation, then clarifying questions: hands go up and the facilitator gives the floor.
    fran.click("next-stage").await;
    fran.click("next-stage").await;
    for p in [ben, chen] {
        p.wait_for("visible($('raise-hand'))", "a hand to raise")
            .await;
    }
    ben.click("raise-hand").await;
    fran.wait_for(
        "document.querySelectorAll('[data-test=queue] [data-participant]').length === 1",
        "Ben's hand",
    )
    .await;
    chen.click("raise-hand").await;
    fran.wait_for(
        "document.querySelectorAll('[data-test=queue] [data-participant]').length === 2",
        "Chen's hand",
    )
    .await;
    fran.click("give-floor").await;
    for p in [&fran, ada, chen] {
        p.wait_for(
            "$('speaker') && /Ben/.test(txt($('speaker')))",
            "Ben has the floor",
        )
        .await;
    }

    // Pause and extend: everyone sees the same remaining time, within a second.
    fran.click("pause").await;
    for p in [ada, ben, chen] {
        p.wait_for(
            "window.circlekeeper.state.view.session.status === 'paused' && /paused/i.test(txt(document.body))",
            "paused",
        )
        .await;
    }
    let before = fran.remaining_ms().await;
    fran.click("timer-plus-1").await;
    fran.wait_for(
        &format!(
            "Number($('timer').dataset.remainingMs) >= {}",
            before + 50_000
        ),
        "a minute more",
    )
    .await;
    fran.click("resume").await;
    for p in [&fran, ada, ben, chen] {
        p.wait_for(
            "window.circlekeeper.state.view.session.status === 'running'",
            "running again",
        )
        .await;
    }
    let mut readings = Vec::new();
    for p in [&fran, ada, ben, chen] {
        readings.push(p.remaining_ms().await);
    }
    let spread =
        readings.iter().max().expect("readings") - readings.iter().min().expect("readings");
    assert!(
        spread < 1000,
        "remaining times differ by {spread} ms: {readings:?}"
    );
    assert!(
        readings[0] > before + 50_000,
        "the minute was added: {before} → {readings:?}"
    );

    // Ben reloads mid-session: same person, still holding the floor.
    let ben_id = ben.me().await;
    ben.reload().await;
    ben.live().await;
    assert_eq!(
        ben.me().await,
        ben_id,
        "the same participant after a reload"
    );
    ben.wait_for(
        "$('speaker') && /Ben/.test(txt($('speaker')))",
        "Ben still has the floor",
    )
    .await;
    fran.wait_for(
        "document.querySelectorAll('[data-test=participants] [data-participant]').length === 4",
        "no duplicate",
    )
    .await;

    let participant = ada.screenshot("participant.png").await;
    let console = fran.screenshot("facilitator.png").await;
    assert!(participant.exists() && console.exists());
    let problems = browser.problems.lock().await.clone();
    assert!(
        problems.is_empty(),
        "the pages logged errors: {problems:#?}"
    );
}

#[tokio::test]
async fn two_participants_swap_coaching_roles_in_a_pair_in_real_browsers() {
    let Some(path) = chromium() else { return };
    let store = SledStore::temporary().expect("store");
    let server = TestServer::start_with(Arc::new(store), Clock::System, |_| {}).await;
    let browser = Browser::launch(&path).await;
    let url = server.url();

    // The facilitator opens a coaching swap from the front page.
    let fran = browser.page("Fran", 1280, 900, false).await;
    fran.goto(&format!("{url}/")).await;
    fran.fill("create-title", "June coaching swap").await;
    fran.eval("const s = await until(() => $('create-format') && [...$('create-format').options].some((o) => o.value === 'coaching_swap') && $('create-format'), 10000, 'formats'); s.value = 'coaching_swap'; s.dispatchEvent(new Event('change', {bubbles: true}));")
        .await;
    fran.click("create-submit").await;
    let join_link = fran.text("join-link").await;
    let host_link = fran.text("host-link").await;
    fran.enter_room(&host_link, "Fran").await;

    // Two participants join from the link, each on their own phone.
    let ada = browser.page("Ada", 390, 844, true).await;
    ada.enter_room(&join_link, "Ada").await;
    let ben = browser.page("Ben", 390, 844, true).await;
    ben.enter_room(&join_link, "Ben").await;
    fran.wait_for(
        "document.querySelectorAll('[data-test=participants] [data-participant]').length === 3",
        "three people",
    )
    .await;

    // Welcome, check-in, then the pairing stage.
    fran.click("start").await;
    fran.wait_for("/Welcome/.test(txt($('stage-title')))", "the welcome")
        .await;
    fran.click("next-stage").await;
    fran.wait_for("/Check-in/.test(txt($('stage-title')))", "the check-in")
        .await;
    fran.click("next-stage").await;
    fran.wait_for("/Pairing/.test(txt($('stage-title')))", "the pairing")
        .await;

    // Propose, lock and unlock the pair, confirm.
    fran.click("propose-pairs").await;
    fran.wait_for(
        "document.querySelectorAll('[data-test=proposal] [data-group]').length === 1",
        "one proposed pair",
    )
    .await;
    let proposed = fran
        .eval("return txt($('proposal'));")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        proposed.contains("Ada") && proposed.contains("Ben"),
        "the proposal pairs Ada and Ben: {proposed}"
    );
    fran.click("lock-group").await;
    fran.wait_for(
        "$('lock-group').getAttribute('aria-pressed') === 'true'",
        "the pair locked",
    )
    .await;
    fran.click("lock-group").await;
    fran.wait_for(
        "$('lock-group').getAttribute('aria-pressed') === 'false'",
        "the pair unlocked",
    )
    .await;
    fran.click("confirm-pairs").await;
    for (p, other) in [(&ada, "Ben"), (&ben, "Ada")] {
        p.wait_for(
            &format!(
                "visible($('pairing-note')) && txt($('pairing-note')).includes('paired with {other}')"
            ),
            "the pairing note",
        )
        .await;
    }

    // The pairs stage: each sees the other as partner, with opposite roles.
    fran.click("next-stage").await;
    fran.wait_for(
        "document.querySelector('[data-test=pairs-dashboard] [data-group][data-phase=coaching][data-round=\"1\"]')",
        "the dashboard's tile",
    )
    .await;
    for (p, other) in [(&ada, "Ben"), (&ben, "Ada")] {
        p.wait_for("visible($('pair-view'))", "the pair view").await;
        assert_eq!(p.text("partner").await, other, "{}'s partner", p.name);
        assert_eq!(p.text("pair-round").await, "Half 1 of 2");
    }
    let ada_role = ada.text("pair-role").await;
    let ben_role = ben.text("pair-role").await;
    let (coach, client) = match (ada_role.as_str(), ben_role.as_str()) {
        ("coaching", "being coached") => (&ada, &ben),
        ("being coached", "coaching") => (&ben, &ada),
        roles => panic!("opposite roles expected, got {roles:?}"),
    };
    // The pair's own timer counts down from the half's 45 minutes.
    let left = coach
        .eval("const el = await until(() => $('pair-timer') && $('pair-timer').dataset.remainingMs && $('pair-timer'), 10000, 'pair timer'); return Number(el.dataset.remainingMs);")
        .await
        .as_i64()
        .expect("remaining ms");
    // The page estimates the server's clock from a frame's server_time plus the time since it
    // arrived, so just after the start it may read a few milliseconds over the 45 minutes.
    assert!(
        (44 * 60_000..=45 * 60_000 + 1_000).contains(&left),
        "half time left: {left}"
    );
    // Only the coach draws prompts.
    client
        .wait_for(
            "!visible($('draw-prompt')) && visible($('end-half'))",
            "the client's actions",
        )
        .await;
    coach.click("draw-prompt").await;
    coach
        .wait_for(
            "visible($('prompt-card')) && $('prompt-card').dataset.source === 'drawn'",
            "the drawn prompt",
        )
        .await;
    coach.screenshot("pair.png").await;
    fran.screenshot("pairs-dashboard.png").await;

    // The coach ends the half; the client is asked for feedback.
    coach.click("end-half").await;
    coach.click("confirm-ok").await;
    for p in [coach, client] {
        p.wait_for(
            "$('pair-view').dataset.phase === 'feedback' && visible($('confirm-switch'))",
            "feedback",
        )
        .await;
    }
    let coach_name = coach.name.clone();
    let client_name = client.name.clone();
    let ask = client.text("feedback-ask").await;
    assert!(
        ask.contains(&format!(
            "tell {coach_name} what helped and what helped less"
        )),
        "{ask}"
    );

    // Both confirm the switch: the first waits for the second.
    client.click("confirm-switch").await;
    client
        .wait_for(
            &format!(
                "visible($('switch-waiting')) && txt($('switch-waiting')).includes('waiting for {coach_name}')"
            ),
            "waiting for the coach",
        )
        .await;
    fran.wait_for(
        &format!("$('tile-state') && txt($('tile-state')).includes('waiting for {coach_name}')"),
        "the dashboard's ready state",
    )
    .await;
    assert_eq!(coach.text("pair-role").await, "coaching", "no switch yet");
    coach.click("confirm-switch").await;

    // Switched: the roles are reversed on both screens, and said so.
    for (p, role) in [(coach, "being coached"), (client, "coaching")] {
        p.wait_for(
            &format!(
                "txt($('pair-round')) === 'Half 2 of 2' && txt($('pair-role')) === '{role}' && visible($('pair-switched')) && !visible($('switch-waiting'))"
            ),
            "the switch",
        )
        .await;
        p.wait_for(
            "/Roles switched/.test(txt(document.getElementById('announcer')))",
            "the switch announced",
        )
        .await;
    }
    fran.wait_for(
        "document.querySelector('[data-test=pairs-dashboard] [data-group][data-phase=coaching][data-round=\"2\"]')",
        "the tile's second half",
    )
    .await;

    // The second half ends (the new coach ends it); both confirm: done.
    client.click("end-half").await;
    client.click("confirm-ok").await;
    coach
        .wait_for(
            "$('pair-view').dataset.phase === 'feedback'",
            "feedback again",
        )
        .await;
    let ask = coach.text("feedback-ask").await;
    assert!(
        ask.contains(&format!("tell {client_name} what helped")),
        "{ask}"
    );
    coach.click("confirm-switch").await;
    coach
        .wait_for(
            &format!("txt($('switch-waiting')).includes('waiting for {client_name}')"),
            "waiting for the other",
        )
        .await;
    client.click("confirm-switch").await;
    for p in [coach, client] {
        p.wait_for(
            "visible($('pair-done')) && txt($('pair-done')) === 'Both halves done — back to plenary soon'",
            "done",
        )
        .await;
    }
    fran.wait_for(
        "document.querySelector('[data-test=pairs-dashboard] [data-group][data-phase=done]')",
        "the tile done",
    )
    .await;

    // Everyone is called back to the plenary check-out.
    fran.click("call-back").await;
    for p in [&ada, &ben] {
        p.wait_for(
            "/Check-out/.test(txt($('stage-title'))) && !visible($('pair-view'))",
            "the check-out",
        )
        .await;
    }

    assert!(
        artifacts().join("pair.png").exists() && artifacts().join("pairs-dashboard.png").exists()
    );
    let problems = browser.problems.lock().await.clone();
    assert!(
        problems.is_empty(),
        "the pages logged errors: {problems:#?}"
    );
}

#[tokio::test]
async fn series_members_keep_private_commitments_private_in_real_browsers() {
    let Some(path) = chromium() else { return };
    let store = SledStore::temporary().expect("store");
    let server = TestServer::start_with(Arc::new(store), Clock::System, |_| {}).await;
    let browser = Browser::launch(&path).await;

    // A monthly series of three members, and its first session: a coaching swap.
    let answer = server
        .http(
            "POST",
            "/api/series",
            json!({ "title": "Alumni coaching swap", "cadence": "monthly", "cycle_months": 6, "members": ["Ada", "Ben", "Chen"] })
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let series = answer.json;
    let series_id = series["series_id"].as_str().expect("series id").to_string();
    let member_url = |i: usize| {
        let url = series["members"][i]["url"].as_str().expect("member url");
        assert!(url.contains(&format!("/s/{series_id}#member=")), "{url}");
        url.to_string()
    };
    let answer = server
        .http(
            "POST",
            &format!("/api/series/{series_id}/rooms"),
            json!({ "key": series["host_key"] }).to_string().as_bytes(),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let host_link = answer.json["host_url"]
        .as_str()
        .expect("host url")
        .to_string();

    let fran = browser.page("Fran", 1280, 900, false).await;
    fran.enter_room(&host_link, "Fran").await;

    // Ada and Ben open their personal links, each on their own phone, and enter: no name to
    // type, the room's ground rules to agree to.
    let ada = browser.page("Ada", 390, 844, true).await;
    let ben = browser.page("Ben", 390, 844, true).await;
    for (p, i) in [(&ada, 0), (&ben, 1)] {
        p.goto(&member_url(i)).await;
        p.wait_for("visible($('member-page'))", "the member page")
            .await;
        assert_eq!(p.text("member-name").await, p.name);
        assert_eq!(
            p.eval("return location.hash;").await,
            json!(""),
            "the key leaves the address bar"
        );
        p.click("member-enter").await;
        p.wait_for(
            "$('ground-rules') && /stays in this circle/.test(txt($('ground-rules')))",
            "the room's ground rules",
        )
        .await;
        p.check("consent-checkbox").await;
        p.click("enter-button").await;
        p.live().await;
    }
    fran.wait_for(
        "document.querySelectorAll('[data-test=participants] [data-participant]').length === 3",
        "three people",
    )
    .await;

    // Welcome, check-in, pairing; the pair coaches until the first half ends.
    fran.click("start").await;
    for stage in ["Check-in", "Pairing"] {
        fran.click("next-stage").await;
        fran.wait_for(&format!("txt($('stage-title')).includes('{stage}')"), stage)
            .await;
    }
    fran.click("propose-pairs").await;
    fran.click("confirm-pairs").await;
    fran.wait_for(
        "window.circlekeeper.state.view.pairs.groups.length === 1",
        "the pair",
    )
    .await;
    fran.click("next-stage").await;
    for p in [&ada, &ben] {
        p.wait_for("visible($('pair-view'))", "the pair view").await;
        p.wait_for(
            "!visible($('commitment-text'))",
            "no commitment form while coaching",
        )
        .await;
    }
    let (coach, client) = if ada.text("pair-role").await == "coaching" {
        (&ada, &ben)
    } else {
        (&ben, &ada)
    };
    coach.click("end-half").await;
    coach.click("confirm-ok").await;

    // The client tells the coach what helped, shared with the circle: the coach reads it.
    client
        .wait_for(
            "visible($('feedback-save')) && $('feedback-visibility').checked && $('feedback-visibility').value === 'private'",
            "the feedback form, private by default",
        )
        .await;
    client.choose("feedback-rating", "5").await;
    client
        .fill("feedback-helped", "The silence after my answer")
        .await;
    client
        .fill("feedback-helped-less", "Jumping to the next question")
        .await;
    client.choose("feedback-visibility", "circle").await;
    client.click("feedback-save").await;
    client
        .wait_for("visible($('feedback-saved'))", "the feedback saved")
        .await;
    coach
        .wait_for(
            "visible($('feedback-received')) && txt($('feedback-received')).includes('The silence after my answer')",
            "the feedback, read by the coach",
        )
        .await;
    coach
        .wait_for(
            "/shared feedback with you/.test(txt(document.getElementById('announcer')))",
            "the feedback announced to the coach",
        )
        .await;

    // Ada commits privately (the default); Ben shares his commitment with the circle.
    let private_text = "Tell my manager I am leaving by spring";
    let circle_text = "Ask the board for a mentor";
    for p in [&ada, &ben] {
        p.wait_for(
            "visible($('commitment-text')) && document.querySelector('[data-test=commitment-visibility][value=private]').checked",
            "the commitment form, private by default",
        )
        .await;
    }
    ada.fill("commitment-text", private_text).await;
    ada.fill("commitment-due", "2027-03-01").await;
    ada.click("commitment-save").await;
    ada.wait_for(
        &format!(
            "document.querySelectorAll('[data-test=my-commitments] [data-commitment]').length === 1 && txt($('my-commitments')).includes('{private_text}') && txt($('my-commitments')).includes('only you')"
        ),
        "Ada's own commitment",
    )
    .await;
    ben.fill("commitment-text", circle_text).await;
    ben.choose("commitment-visibility", "circle").await;
    ben.click("commitment-save").await;
    for p in [&ada, &ben, &fran] {
        p.wait_for(
            &format!(
                "window.circlekeeper.state.view.commitments.some((c) => c.text === '{circle_text}') && txt(document.body).includes('{circle_text}')"
            ),
            "Ben's shared commitment",
        )
        .await;
    }
    for p in [&ben, &fran] {
        let leaked = p
            .eval(&format!(
                "return txt(document.body).includes('{private_text}') || JSON.stringify(window.circlekeeper.state.view).includes('{private_text}');"
            ))
            .await;
        assert_eq!(
            leaked,
            json!(false),
            "{} saw Ada's private commitment",
            p.name
        );
    }
    ada.screenshot_of("commitment.png", "$('commitment-text').closest('section')")
        .await;

    // After the end, Ada answers the short survey and is thanked.
    fran.click("end-session").await;
    fran.click("confirm-ok").await;
    ada.wait_for("visible($('survey-save'))", "the survey")
        .await;
    ada.choose("survey-rating", "4").await;
    ada.fill("survey-comment", "A calm evening").await;
    ada.click("survey-save").await;
    ada.wait_for(
        "visible($('survey-thanks')) && !visible($('survey-save'))",
        "the thank-you",
    )
    .await;
    let leaked = ben
        .eval(&format!(
            "return txt(document.body).includes('{private_text}') || JSON.stringify(window.circlekeeper.state.view).includes('{private_text}');"
        ))
        .await;
    assert_eq!(leaked, json!(false), "Ben saw Ada's private commitment");

    // Chen chooses to be re-matched at the end of the cycle; the page opens again from this
    // device without the key in the address.
    let chen = browser.page("Chen", 390, 844, true).await;
    chen.goto(&member_url(2)).await;
    chen.wait_for("visible($('member-page'))", "Chen's page")
        .await;
    chen.choose("cycle-choice", "rematch").await;
    chen.wait_for(
        "$('cycle-choice-status').dataset.choice === 'rematch'",
        "the choice saved",
    )
    .await;
    chen.reload().await;
    chen.wait_for(
        "visible($('member-page')) && document.querySelector('[data-test=cycle-choice][value=rematch]').checked",
        "the choice, shown again",
    )
    .await;
    let me = server
        .http(
            "POST",
            &format!("/api/series/{series_id}/me"),
            json!({ "key": series["members"][2]["key"] })
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(me.json["choice"], json!("rematch"), "{}", me.text);

    assert!(artifacts().join("commitment.png").exists());
    let problems = browser.problems.lock().await.clone();
    assert!(
        problems.is_empty(),
        "the pages logged errors: {problems:#?}"
    );
}

#[tokio::test]
async fn a_facilitator_exports_the_session_summary_in_a_real_browser() {
    let Some(path) = chromium() else { return };
    let store = SledStore::temporary().expect("store");
    let server = TestServer::start_with(Arc::new(store), Clock::System, |s| {
        s.host_key = Some("community-host-key-for-tests".into());
    })
    .await;
    let browser = Browser::launch(&path).await;
    let url = server.url();

    // The facilitator opens a room from the front page and enters through the host link.
    let fran = browser.page("Fran", 1280, 900, false).await;
    fran.goto(&format!("{url}/")).await;
    fran.fill("create-title", "Thursday peer circle").await;
    fran.eval("const s = await until(() => $('create-format') && $('create-format').options.length > 0 && $('create-format'), 10000, 'formats'); s.value = 'action_learning_set'; s.dispatchEvent(new Event('change', {bubbles: true}));")
        .await;
    fran.click("create-submit").await;
    let join_link = fran.text("join-link").await;
    let host_link = fran.text("host-link").await;
    fran.enter_room(&host_link, "Fran").await;
    let shown = fran
        .eval("return txt(document.body).includes(localStorage.getItem('circlekeeper.hostkey.' + window.circlekeeper.state.roomId));")
        .await;
    assert_eq!(shown, json!(false), "the host key is never shown");

    // One participant joins and consents.
    let ada = browser.page("Ada", 390, 844, true).await;
    ada.enter_room(&join_link, "Ada").await;
    fran.wait_for(
        "document.querySelectorAll('[data-test=participants] [data-participant]').length === 2",
        "two people",
    )
    .await;

    // Start, then end the session.
    fran.click("start").await;
    ada.wait_for(
        "window.circlekeeper.state.view.session.status === 'running'",
        "running",
    )
    .await;
    fran.click("end-session").await;
    fran.click("confirm-ok").await;
    for p in [&fran, &ada] {
        p.wait_for(
            "window.circlekeeper.state.view.session.status === 'ended'",
            "ended",
        )
        .await;
    }

    // Export the summary as Markdown.
    fran.eval("const s = await until(() => visible($('export-format')) && $('export-format'), 10000, 'export format'); s.value = 'markdown'; s.dispatchEvent(new Event('change', {bubbles: true}));")
        .await;
    fran.click("export-summary").await;
    fran.wait_for(
        "window.circlekeeper.lastExport && window.circlekeeper.lastExport.format === 'markdown'",
        "the exported summary",
    )
    .await;
    let text = fran
        .eval("return window.circlekeeper.lastExport.text;")
        .await
        .as_str()
        .expect("summary text")
        .to_string();
    assert!(text.starts_with("# "), "{text}");
    assert!(text.contains("Thursday peer circle"), "{text}");
    assert!(text.contains("Ada"), "names are shown: {text}");
    let filename = fran
        .eval("return window.circlekeeper.lastExport.filename;")
        .await;
    assert_eq!(filename, json!("summary-thursday-peer-circle.md"));
    assert!(fran.screenshot("export.png").await.exists());

    // Hidden names: the pseudonymised summary leaves them out.
    fran.check("export-pseudonymise").await;
    fran.eval("window.__before = window.circlekeeper.lastExport;")
        .await;
    fran.click("export-summary").await;
    fran.wait_for(
        "window.circlekeeper.lastExport !== window.__before",
        "the pseudonymised summary",
    )
    .await;
    let hidden = fran
        .eval("return window.circlekeeper.lastExport.text;")
        .await
        .as_str()
        .expect("summary text")
        .to_string();
    assert!(!hidden.contains("Ada"), "{hidden}");

    // The community host's page: a series with this room's figures, charted.
    let answer = server
        .http(
            "POST",
            "/api/series",
            json!({ "title": "Spring cohort", "cadence": "monthly", "cycle_months": 3, "members": ["Ada", "Ben"] })
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let series_id = answer.json["series_id"]
        .as_str()
        .expect("series id")
        .to_string();
    let series = answer.json;
    let open_session = || async {
        let opened = server
            .http(
                "POST",
                &format!("/api/series/{series_id}/rooms"),
                json!({ "key": series["host_key"] }).to_string().as_bytes(),
            )
            .await;
        assert_eq!(opened.status, 201, "{}", opened.text);
    };
    // Both members come to the first session, only Ada to the second.
    let ben = browser.page("Ben", 390, 844, true).await;
    open_session().await;
    for (i, p) in [&ada, &ben].into_iter().enumerate() {
        let link = series["members"][i]["url"].as_str().expect("member url");
        p.goto(link).await;
        p.click("member-enter").await;
        p.check("consent-checkbox").await;
        p.click("enter-button").await;
        p.live().await;
    }
    open_session().await;
    ada.goto(series["members"][0]["url"].as_str().expect("member url"))
        .await;
    ada.click("member-enter").await;
    ada.check("consent-checkbox").await;
    ada.click("enter-button").await;
    ada.live().await;
    let host = browser.page("Host", 1280, 900, false).await;
    host.goto(&format!("{url}/host")).await;
    host.fill("host-key", "not the key").await;
    host.click("host-enter").await;
    host.wait_for("visible($('error')) && $('host-key')", "a refusal")
        .await;
    host.fill("host-key", "community-host-key-for-tests").await;
    host.click("host-enter").await;
    host.wait_for(
        &format!("document.querySelector('[data-test=host-series] [data-series=\"{series_id}\"]')"),
        "the series",
    )
    .await;
    host.wait_for(
        "document.querySelectorAll('[data-test=host-rooms] [data-room]').length === 3",
        "the rooms",
    )
    .await;
    host.wait_for(
        "$('chart-attendance') && $('chart-attendance').querySelectorAll('rect.bar').length === 2 && txt($('table-attendance')).includes('2') && $('chart-ratings') && $('chart-ratings').querySelector('title')",
        "the charts",
    )
    .await;
    host.eval("document.querySelector('[data-test=host-rooms] [data-room] [data-test=host-download][data-format=markdown]').click();")
        .await;
    host.wait_for(
        "window.circlekeeper.lastExport && window.circlekeeper.lastExport.text.startsWith('# ')",
        "a room's summary",
    )
    .await;
    let remembered = host
        .eval("return sessionStorage.getItem('circlekeeper.community-host') !== null && localStorage.length === 0;")
        .await;
    assert_eq!(remembered, json!(true), "the key is kept for the tab only");
    let shot = host
        .screenshot_of(
            "host.png",
            &format!("document.querySelector('[data-series=\"{series_id}\"]')"),
        )
        .await;
    assert!(shot.exists());

    let problems = browser.problems.lock().await.clone();
    assert!(
        problems.is_empty(),
        "the pages logged errors: {problems:#?}"
    );
}

/// A facilitator's page: a room opened from the front page (default format), entered by its host link.
async fn open_console<'a>(browser: &'a Browser, url: &str, title: &str) -> Page<'a> {
    let page = browser.page("Fran", 1280, 900, false).await;
    page.goto(&format!("{url}/")).await;
    page.fill("create-title", title).await;
    page.click("create-submit").await;
    let host_link = page.text("host-link").await;
    page.enter_room(&host_link, "Fran").await;
    page
}

#[tokio::test]
async fn the_room_screen_speaks_a_new_language_at_once_keeping_what_was_typed() {
    let Some(path) = chromium() else { return };
    let store = SledStore::temporary().expect("store");
    let server = TestServer::start_with(Arc::new(store), Clock::System, |_| {}).await;
    let browser = Browser::launch(&path).await;
    let fran = open_console(&browser, &server.url(), "Language circle").await;
    fran.wait_for(
        "document.querySelector('.stages-panel h2').textContent === 'Stages'",
        "the console in English",
    )
    .await;

    // Half-written prompt, focus still in it: then the language changes.
    fran.fill("prompt-own", "A question of my own").await;
    fran.eval(
        "const w = await import('/words.js');
         w.CATALOGS.de['room.stage.stages'] = 'Etappen';
         await w.setLanguage('de');",
    )
    .await;
    fran.wait_for(
        "document.documentElement.lang === 'de' && document.querySelector('.stages-panel h2').textContent === 'Etappen'",
        "the console rebuilt in the new language",
    )
    .await;
    let kept = fran
        .eval("return [$('prompt-own').value, document.activeElement === $('prompt-own'), document.querySelectorAll('main.room').length];")
        .await;
    assert_eq!(
        kept,
        json!(["A question of my own", true, 1]),
        "typed text and focus survive the switch"
    );

    // And back: English again, still one room screen.
    fran.eval("const w = await import('/words.js'); await w.setLanguage('en');")
        .await;
    fran.wait_for(
        "document.documentElement.lang === 'en' && document.querySelector('.stages-panel h2').textContent === 'Stages' && $('prompt-own').value === 'A question of my own'",
        "the console back in English",
    )
    .await;
}

#[tokio::test]
async fn a_facilitator_replaces_and_turns_off_the_join_link_in_a_real_browser() {
    let Some(path) = chromium() else { return };
    let server = TestServer::start().await;
    let room = server.create_builtin_room("action_learning_set").await;
    let browser = Browser::launch(&path).await;
    let url = server.url();
    let old_join = format!("{url}/r/{}#join={}", room.room_id, room.join_key);
    let host_link = format!("{url}/r/{}#host={}", room.room_id, room.host_key);

    let fran = browser.page("Fran", 1280, 900, false).await;
    fran.enter_room(&host_link, "Fran").await;
    let ada = browser.page("Ada", 390, 844, true).await;
    ada.enter_room(&old_join, "Ada").await;

    // Replace the join link: the console shows the new one, and only the console.
    fran.click("rotate-join").await;
    fran.click("confirm-ok").await;
    fran.wait_for(
        &format!(
            "$('invite-link') && /#join=/.test(txt($('invite-link'))) && !txt($('invite-link')).includes({:?})",
            room.join_key
        ),
        "the new join link",
    )
    .await;
    let new_join = fran.text("invite-link").await;
    assert!(
        new_join.starts_with(&format!("{url}/r/{}#join=", room.room_id)),
        "{new_join}"
    );
    let new_key = new_join.rsplit('=').next().expect("a key").to_string();
    assert!(fran.text("link-notice").await.contains("replaced"));
    ada.live().await;
    let leaked = ada
        .eval(&format!(
            "return document.documentElement.outerHTML.includes({new_key:?});"
        ))
        .await;
    assert_eq!(leaked, json!(false), "a participant never sees the new key");

    // The old link no longer opens the room; the new one does.
    let ben = browser.page("Ben", 390, 844, true).await;
    ben.goto(&old_join).await;
    ben.fill("name-input", "Ben").await;
    ben.check("consent-checkbox").await;
    ben.click("enter-button").await;
    ben.wait_for(
        "$('closed-title') && /does not open/.test(txt($('closed-title')))",
        "the old link refused",
    )
    .await;
    let lin = browser.page("Lin", 390, 844, true).await;
    lin.enter_room(&new_join, "Lin").await;
    fran.wait_for(
        "document.querySelectorAll('[data-test=participants] [data-participant]').length === 3",
        "Fran, Ada and Lin",
    )
    .await;

    // Turn it off: nobody new gets in with it.
    fran.click("revoke-join").await;
    fran.click("confirm-ok").await;
    fran.wait_for(
        &format!(
            "!txt($('invite-link')).includes({new_key:?}) && /turned off/.test(txt($('invite-hint'))) && !visible($('revoke-join'))"
        ),
        "the join link gone from the console, which says it is off",
    )
    .await;
    let sam = browser.page("Sam", 390, 844, true).await;
    sam.goto(&new_join).await;
    sam.fill("name-input", "Sam").await;
    sam.check("consent-checkbox").await;
    sam.click("enter-button").await;
    sam.wait_for(
        "$('closed-title') && /does not open/.test(txt($('closed-title')))",
        "the turned-off link refused",
    )
    .await;
    fran.eval("document.querySelector('[data-test=links]').scrollIntoView();")
        .await;
    assert!(fran.screenshot("links.png").await.exists());
}

#[tokio::test]
async fn the_language_switch_redraws_each_page_and_keeps_what_was_typed_in_a_real_browser() {
    let Some(path) = chromium() else { return };
    let store = SledStore::temporary().expect("store");
    let server = TestServer::start_with(Arc::new(store), Clock::System, |_| {}).await;
    let browser = Browser::launch(&path).await;
    let url = server.url();

    // The home page: the switch is in its header; a switch keeps the title and format chosen.
    let fran = browser.page("Fran", 360, 800, true).await;
    fran.goto(&format!("{url}/")).await;
    fran.fill("create-title", "Circle of Thursdays").await;
    fran.eval("const s = await until(() => $('create-format') && $('create-format').options.length > 1 && $('create-format'), 10000, 'formats'); s.value = 'coaching_swap'; s.dispatchEvent(new Event('change', {bubbles: true}));")
        .await;
    fran.eval("document.querySelector('h1').dataset.old = 'yes';")
        .await;
    // As a keyboard user does: the button has the focus, and keeps it once the page is drawn again.
    fran.eval("$('lang-de').focus(); $('lang-de').click();")
        .await;
    fran.wait_for(
        "document.documentElement.lang === 'de' && !document.querySelector('h1[data-old]') && $('lang-de').getAttribute('aria-pressed') === 'true' && $('lang-en').getAttribute('aria-pressed') === 'false'",
        "the home page drawn again in German",
    )
    .await;
    let kept = fran
        .eval("await until(() => $('create-format').value === 'coaching_swap', 10000, 'the format kept'); return [$('create-title').value, document.activeElement.dataset.test, $$('lang-switch').length];")
        .await;
    assert_eq!(kept, json!(["Circle of Thursdays", "lang-de", 1]));
    // Back to English: the page reads as before.
    fran.click("lang-en").await;
    fran.wait_for(
        "document.documentElement.lang === 'en' && document.querySelector('h1').textContent === 'Open a circle'",
        "the home page in English again",
    )
    .await;
    fran.click("create-submit").await;
    let join_link = fran.text("join-link").await;

    // The join page: a switch keeps the name typed and the consent ticked; entering still works,
    // and the room's top bar carries the switch.
    let ada = browser.page("Ada", 360, 800, true).await;
    ada.goto(&join_link).await;
    ada.wait_for("$('ground-rules')", "the room's ground rules")
        .await;
    ada.fill("name-input", "Ada").await;
    ada.check("consent-checkbox").await;
    ada.eval("document.querySelector('h1').dataset.old = 'yes';")
        .await;
    ada.click("lang-es").await;
    ada.wait_for(
        "document.documentElement.lang === 'es' && !document.querySelector('h1[data-old]') && $('lang-es').getAttribute('aria-pressed') === 'true'",
        "the join page drawn again in Spanish",
    )
    .await;
    let typed = ada
        .eval("return [$('name-input').value, $('consent-checkbox').checked, !!$('ground-rules')];")
        .await;
    assert_eq!(typed, json!(["Ada", true, true]));
    ada.click("enter-button").await;
    ada.wait_for(
        "window.circlekeeper.state.status === 'live'",
        "live (whatever the language calls it)",
    )
    .await;
    ada.wait_for(
        "document.querySelector('.topbar [data-test=lang-switch]') && $('lang-es').getAttribute('aria-pressed') === 'true'",
        "the switch in the room's top bar",
    )
    .await;
    // The choice is kept on the device: a reload comes back in Spanish, as the same person.
    ada.reload().await;
    ada.wait_for(
        "window.circlekeeper.state.status === 'live'",
        "live (whatever the language calls it)",
    )
    .await;
    let after = ada
        .eval("return [document.documentElement.lang, window.circlekeeper.state.screen];")
        .await;
    assert_eq!(after, json!(["es", "room"]));
}

#[tokio::test]
async fn the_harness_sets_language_viewport_and_theme_and_sends_real_keys() {
    let Some(path) = chromium() else { return };
    let server = TestServer::start().await;
    let browser = Browser::launch(&path).await;
    let page = browser.page("Probe", 390, 844, true).await;

    // The language is set before the page loads and the page sees it.
    page.set_language(&["de-DE", "de"]).await;
    page.goto(&format!("{}/", server.url())).await;
    assert_eq!(page.languages().await, ["de-DE", "de"]);
    let locale = page
        .eval("return Intl.DateTimeFormat().resolvedOptions().locale;")
        .await;
    assert_eq!(locale, json!("de-DE"));

    // The viewport and the colour scheme change on demand.
    assert_eq!(page.eval("return innerWidth;").await, json!(390));
    page.set_viewport(1280, 900, false).await;
    assert_eq!(
        page.eval("return [innerWidth, innerHeight];").await,
        json!([1280, 900])
    );
    page.set_color_scheme("dark").await;
    page.set_color_scheme("light").await;

    // Layout: an element on screen, one below it, and one that makes the page scroll sideways.
    page.eval(
        "const add = (tag, id, style) => { const el = document.createElement(tag); el.id = id; el.style.cssText = style; el.textContent = id; document.body.prepend(el); return el; };
         add('div', 'probe-below', 'position: absolute; top: 5000px; left: 0; width: 10px; height: 10px');
         add('div', 'probe-in', 'position: fixed; top: 0; left: 0; width: 10px; height: 10px');
         const b2 = add('button', 'probe-2', '');
         const b1 = add('button', 'probe-1', '');
         const input = add('input', 'probe-input', '');
         b2.addEventListener('click', () => { window.__pressed = true; });",
    )
    .await;
    assert!(page.in_viewport("#probe-in").await);
    assert!(!page.in_viewport("#probe-below").await);
    let before = page.horizontal_scroll().await;
    assert!(
        before.iter().all(|s| !s.contains("probe-wide")),
        "{before:?}"
    );
    page.eval("const w = document.createElement('div'); w.id = 'probe-wide'; w.style.cssText = 'width: 3000px; height: 1px'; document.body.append(w);")
        .await;
    let wide = page.horizontal_scroll().await;
    assert!(
        wide.iter().any(|s| s.starts_with("the document is"))
            && wide.iter().any(|s| s.contains("div#probe-wide")),
        "{wide:?}"
    );

    // Keys: typing goes into the focused field; Tab and Shift+Tab move the focus; Enter
    // activates the focused button.
    page.eval("document.getElementById('probe-input').focus();")
        .await;
    assert_eq!(page.focused().await, "input#probe-input");
    page.press_key("a", &[]).await;
    page.press_key("b", &[Modifier::Shift]).await;
    page.press_key("7", &[]).await;
    page.press_key("Backspace", &[]).await;
    assert_eq!(
        page.eval("return document.getElementById('probe-input').value;")
            .await,
        json!("aB")
    );
    page.tab().await;
    assert_eq!(page.focused().await, "button#probe-1");
    page.tab().await;
    assert_eq!(page.focused().await, "button#probe-2");
    page.shift_tab().await;
    assert_eq!(page.focused().await, "button#probe-1");
    page.tab().await;
    page.press_key("Enter", &[]).await;
    assert_eq!(
        page.eval("return window.__pressed === true;").await,
        json!(true)
    );
}
