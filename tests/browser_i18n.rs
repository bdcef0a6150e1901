//! The web client speaks Spanish and German, proven in a real headless Chromium against a real
//! server on 127.0.0.1: the language comes from the browser's (its `Accept-Language`,
//! `navigator.languages` and `Intl` locale); the switch on every page (home, join, room, series
//! member, community host) changes the words at once and the choice stays on the device across
//! a reload, even in an English browser; a room's built-in texts (stage titles, ground rules, a
//! pushed prompt) follow each reader's language while a custom stage title stays as written;
//! dates and plurals are formatted per language; and Spanish pages (and a German console)
//! pass axe.
//!
//! Without Chromium the tests say plainly that they were skipped, and why; under CI (`CI` set)
//! a missing browser fails them instead.

#[path = "common/browser/mod.rs"]
mod browser;
mod common;

use std::sync::Arc;

use browser::{chromium, report, Browser, Page};
use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use common::TestServer;
use serde_json::{json, Value};

/// The community host's key for this test's server.
const HOST_KEY: &str = "community-host-key-for-i18n-tests";

/// A server on real time (the pages' clocks are real) with a community host key.
async fn server() -> TestServer {
    let store = SledStore::temporary().expect("store");
    TestServer::start_with(Arc::new(store), Clock::System, |s| {
        s.host_key = Some(HOST_KEY.into());
    })
    .await
}

/// Enter a room from `link` whatever the page's language: wait for the room's ground rules to
/// contain `rules` (their words in this language), then name, consent, enter, and wait until
/// the connection is live.
async fn enter(page: &Page<'_>, link: &str, name: &str, rules: &str) {
    page.goto(link).await;
    page.wait_for(
        &format!("$('ground-rules') && txt($('ground-rules')).includes({rules:?})"),
        &format!("the room's ground rules, in words of {rules:?}"),
    )
    .await;
    page.fill("name-input", name).await;
    page.check("consent-checkbox").await;
    page.click("enter-button").await;
    page.wait_for(
        "window.circlekeeper && window.circlekeeper.state.status === 'live'",
        "live (whatever the language calls it)",
    )
    .await;
}

/// The room's stage count line ("Etapa 1 de 6"), as a person reads it.
async fn stage_count(page: &Page<'_>) -> String {
    page.eval("const el = await until(() => document.querySelector('.stage-count'), 10000, 'the stage count'); return txt(el).trim();")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// `document.documentElement.lang` and the first heading's text, as a person reads it.
async fn lang_and_heading(page: &Page<'_>) -> Value {
    page.eval("return [document.documentElement.lang, txt(document.querySelector('h1')).trim()];")
        .await
}

/// Wait until the page is in `lang` and its text contains `words` (a known translation).
async fn wait_words(page: &Page<'_>, lang: &str, words: &str) {
    page.wait_for(
        &format!(
            "document.documentElement.lang === {lang:?} && txt(document.body).includes({words:?})"
        ),
        &format!("{} in {lang}: {words:?}", page.name),
    )
    .await;
}

/// Click the switch's button for `lang` and wait until the page reads `words` in it; then
/// reload and check the page comes back in `lang` with the same words.
async fn switch_and_reload(page: &Page<'_>, lang: &str, words: &str) {
    page.click(&format!("lang-{lang}")).await;
    wait_words(page, lang, words).await;
    let pressed = page
        .eval(&format!(
            "return $('lang-{lang}').getAttribute('aria-pressed');"
        ))
        .await;
    assert_eq!(pressed, json!("true"), "{}: {lang} is pressed", page.name);
    page.reload().await;
    wait_words(page, lang, words).await;
}

#[tokio::test]
async fn the_browser_language_chooses_spanish_or_german_and_each_reader_sees_built_in_texts_in_theirs(
) {
    let Some(path) = chromium() else { return };
    let server = server().await;
    let browser = Browser::launch(&path).await;
    let url = server.url();

    // The home page, in a Spanish and in a German browser.
    let es = browser.page("Ana", 390, 844, true).await;
    es.set_language(&["es-ES", "es"]).await;
    es.goto(&format!("{url}/")).await;
    assert_eq!(
        lang_and_heading(&es).await,
        json!(["es", "Abre un círculo"])
    );
    let de = browser.page("Dirk", 390, 844, true).await;
    de.set_language(&["de-DE", "de"]).await;
    de.goto(&format!("{url}/")).await;
    assert_eq!(
        lang_and_heading(&de).await,
        json!(["de", "Einen Kreis eröffnen"])
    );
    // A built-in format's summary: its description and stage titles in the reader's language,
    // and the count of stages with the language's plural.
    for (page, words) in [
        (&es, ["etapas · unos", "Bienvenida"]),
        (&de, ["Phasen · etwa", "Willkommen"]),
    ] {
        page.eval("const s = await until(() => $('create-format') && [...$('create-format').options].some((o) => o.value === 'coaching_circle') && $('create-format'), 10000, 'formats'); s.value = 'coaching_circle'; s.dispatchEvent(new Event('change', {bubbles: true}));")
            .await;
        for w in words {
            page.wait_for(
                &format!("txt(document.querySelector('details')).includes({w:?})"),
                &format!("the format's summary says {w:?}"),
            )
            .await;
        }
    }

    // The join page and the room: a Spanish and a German participant, an English facilitator.
    let room = server.create_builtin_room("coaching_circle").await;
    let join = format!("{url}/r/{}#join={}", room.room_id, room.join_key);
    let host = format!("{url}/r/{}#host={}", room.room_id, room.host_key);
    es.goto(&join).await;
    assert_eq!(
        lang_and_heading(&es).await,
        json!(["es", "Únete al círculo"])
    );
    de.goto(&join).await;
    assert_eq!(
        lang_and_heading(&de).await,
        json!(["de", "Dem Kreis beitreten"])
    );
    enter(&es, &join, "Ana", "se queda en este círculo").await;
    enter(&de, &join, "Dirk", "bleibt in diesem Kreis").await;
    let fran = browser.page("Fran", 1280, 900, false).await;
    fran.set_language(&["en-GB", "en"]).await;
    fran.enter_room(&host, "Fran").await;
    wait_words(&es, "es", "Esperando para empezar").await;
    wait_words(&de, "de", "Wartet auf den Start").await;

    // The same stage, each reader in their own language.
    fran.click("start").await;
    for (page, title) in [(&fran, "Welcome"), (&es, "Bienvenida"), (&de, "Willkommen")] {
        page.wait_for(
            &format!("$('stage-title') && txt($('stage-title')).trim() === {title:?}"),
            &format!("{}: the stage title {title:?}", page.name),
        )
        .await;
    }
    let counts = [stage_count(&es).await, stage_count(&de).await];
    assert!(
        counts[0].starts_with("Etapa 1 de ") && counts[1].starts_with("Phase 1 von "),
        "{counts:?}"
    );
    // The ground rules the participants agreed to, in each reader's language.
    let rules = de
        .eval("return $$('ground-rules').map(txt).join(' ');")
        .await;
    assert!(
        rules
            .as_str()
            .is_some_and(|r| r.contains("bleibt in diesem Kreis")),
        "{rules}"
    );

    // A prompt from the bank, pushed to everyone by the English facilitator: the German reader's
    // card shows the server's German text for it, and so does Fran's once she switches.
    fran.click("push-prompt").await;
    fran.wait_for(
        "visible($('prompt-card')) && $('prompt-card').dataset.source === 'pushed'",
        "the pushed prompt",
    )
    .await;
    let english = fran
        .eval("return txt(document.querySelector('.prompt-card .prompt-text'));")
        .await;
    let want = format!(
        "const texts = (await (await fetch('/api/texts/de')).json()).texts;
         const want = texts[{english}];
         await until(() => want && visible($('prompt-card')) && txt(document.querySelector('.prompt-card .prompt-text')) === want, 10000, 'the prompt in German');
         return want;"
    );
    let german = de.eval(&want).await;
    assert!(
        german.is_string() && german != english,
        "the pushed prompt {english} has a German text, shown to Dirk: {german}"
    );
    fran.click("lang-de").await;
    assert_eq!(fran.eval(&want).await, german, "Fran's card in German");
    fran.click("lang-en").await;

    // A custom stage title stays as written; the words around it are the reader's.
    let custom = server
        .create_room(json!({
            "title": "Kreis der Freitage",
            "format": {"name": "Own", "stages": [
                {"kind": "discussion", "title": "Ronda de Ana", "timebox_ms": 600_000, "speaking": "open"},
                {"kind": "check_out", "title": "Cierre", "timebox_ms": 600_000, "speaking": "open"}
            ]}
        }))
        .await;
    let custom_host = format!("{url}/r/{}#host={}", custom.room_id, custom.host_key);
    let gerd = browser.page("Gerd", 1280, 900, false).await;
    gerd.set_language(&["de-DE", "de"]).await;
    enter(&gerd, &custom_host, "Gerd", "bleibt in diesem Kreis").await;
    gerd.click("start").await;
    gerd.wait_for(
        "txt($('stage-title')).trim() === 'Ronda de Ana' && txt(document.querySelector('.stage-count')).trim().startsWith('Phase 1 von 2')",
        "the custom title as written, in a German stage count",
    )
    .await;
}

#[tokio::test]
async fn the_switch_on_every_page_changes_the_language_at_once_and_the_device_keeps_it() {
    let Some(path) = chromium() else { return };
    let server = server().await;
    let browser = Browser::launch(&path).await;
    let url = server.url();
    let room = server.create_builtin_room("coaching_circle").await;
    let join = format!("{url}/r/{}#join={}", room.room_id, room.join_key);

    // One device with an English browser: home, join, room.
    let eve = browser.page("Eve", 390, 844, true).await;
    eve.set_language(&["en-US", "en"]).await;
    eve.goto(&format!("{url}/")).await;
    assert_eq!(lang_and_heading(&eve).await, json!(["en", "Open a circle"]));
    switch_and_reload(&eve, "de", "Einen Kreis eröffnen").await;
    eve.goto(&join).await;
    assert_eq!(
        lang_and_heading(&eve).await,
        json!(["de", "Dem Kreis beitreten"]),
        "the choice made on the home page holds on the join page"
    );
    switch_and_reload(&eve, "es", "Únete al círculo").await;
    enter(&eve, &join, "Eve", "se queda en este círculo").await;
    wait_words(&eve, "es", "Esperando para empezar").await;
    switch_and_reload(&eve, "de", "Wartet auf den Start").await;
    let screen = eve
        .eval("await until(() => window.circlekeeper.state.status === 'live', 10000, 'live'); return window.circlekeeper.state.screen;")
        .await;
    assert_eq!(screen, json!("room"), "the reload came back into the room");

    // A series member's page, on another English device.
    let (_, answer, _) = server.series_with_a_session().await;
    let member = answer["members"][0]["url"].as_str().expect("member url");
    let mia = browser.page("Mia", 390, 844, true).await;
    mia.set_language(&["en-US", "en"]).await;
    mia.goto(member).await;
    wait_words(&mia, "en", "Sessions").await;
    switch_and_reload(&mia, "es", "Sesiones").await;
    switch_and_reload(&mia, "de", "Sitzungen").await;

    // The community host's page, on a third.
    let hal = browser.page("Hal", 1280, 900, false).await;
    hal.set_language(&["en-US", "en"]).await;
    hal.goto(&format!("{url}/host")).await;
    wait_words(&hal, "en", "Community host").await;
    switch_and_reload(&hal, "es", "Anfitrión de la comunidad").await;
    hal.fill("host-key", HOST_KEY).await;
    hal.click("host-enter").await;
    wait_words(&hal, "es", "Salas").await;
    hal.click("lang-de").await;
    wait_words(&hal, "de", "Räume").await;
}

#[tokio::test]
async fn dates_and_plurals_follow_the_language_and_a_spanish_room_passes_axe() {
    let Some(path) = chromium() else { return };
    let server = server().await;
    let browser = Browser::launch(&path).await;
    let url = server.url();

    // A member's page shows the series' planned dates in the reader's format.
    let (_, answer, _) = server.series_with_a_session().await;
    let series_id = answer["series_id"].as_str().expect("series id");
    let member = answer["members"][0]["url"].as_str().expect("member url");
    let key = member.rsplit("#member=").next().expect("member key");
    let planned = server
        .http(
            "POST",
            &format!("/api/series/{series_id}/me"),
            json!({ "key": key, "planned": ["2099-03-01"] })
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(planned.status, 200, "{}", planned.text);
    let mut seen = Vec::new();
    for (lang, tag, date) in [
        ("de", "de-DE", "1. März 2099"),
        ("es", "es-ES", "1 mar 2099"),
        ("en", "en-US", "Mar 1, 2099"),
    ] {
        let page = browser
            .page(&format!("Member ({lang})"), 390, 844, true)
            .await;
        page.set_language(&[tag, lang]).await;
        page.goto(member).await;
        let text = page.text("member-planned").await;
        assert!(text.contains(date), "{lang}: {text:?} has {date:?}");
        seen.push(text);
    }
    assert!(
        !seen[0].contains("Mar 1") && !seen[1].contains("Mar 1"),
        "{seen:?}"
    );

    // Plurals: one stage and several, in Spanish and German.
    let one = server
        .create_room(json!({
            "title": "Uno",
            "format": {"name": "One", "stages": [
                {"kind": "discussion", "title": "Talk", "timebox_ms": 600_000, "speaking": "open"}
            ]}
        }))
        .await;
    let one_join = format!("{url}/r/{}#join={}", one.room_id, one.join_key);
    let ana = browser.page("Ana", 390, 844, true).await;
    ana.set_language(&["es-MX", "es"]).await;
    enter(&ana, &one_join, "Ana", "se queda en este círculo").await;
    assert_eq!(stage_count(&ana).await, "Esperando para empezar · 1 etapa");
    ana.click("lang-de").await;
    wait_words(&ana, "de", "Wartet auf den Start · 1 Phase").await;

    // axe on Spanish pages: the join page, the facilitator's console and a participant's room,
    // in light and dark (Spanish accessible names must still contain their visible labels).
    let room = server.create_builtin_room("coaching_swap").await;
    let join = format!("{url}/r/{}#join={}", room.room_id, room.join_key);
    let host = format!("{url}/r/{}#host={}", room.room_id, room.host_key);
    let lola = browser.page("Lola", 390, 844, true).await;
    lola.set_language(&["es-ES", "es"]).await;
    lola.goto(&join).await;
    lola.wait_for(
        "visible($('name-input')) && $('ground-rules') && txt($('ground-rules')).includes('se queda en este círculo')",
        "the Spanish join form",
    )
    .await;
    let mut found = Vec::new();
    found.push(("join page", axe_both(&lola).await));
    let paco = browser.page("Paco", 1280, 900, false).await;
    paco.set_language(&["es-ES", "es"]).await;
    enter(&paco, &host, "Paco", "se queda en este círculo").await;
    enter(&lola, &join, "Lola", "se queda en este círculo").await;
    let several = stage_count(&lola).await;
    assert!(
        several.starts_with("Esperando para empezar · ") && several.ends_with(" etapas"),
        "{several:?}"
    );
    let juan = browser.page("Juan", 390, 844, true).await;
    juan.set_language(&["es-ES", "es"]).await;
    enter(&juan, &join, "Juan", "se queda en este círculo").await;
    paco.click("start").await;
    paco.click("next-stage").await;
    paco.wait_for("txt($('stage-title')).includes('Check-in')", "the check-in")
        .await;
    found.push(("console, check-in", axe_both(&paco).await));
    found.push(("participant, check-in", axe_both(&lola).await));
    // The pairs stage: the dashboard's named buttons (Fijar, Terminar mitad …) and the pair view.
    paco.click("next-stage").await;
    paco.click("propose-pairs").await;
    paco.click("confirm-pairs").await;
    paco.wait_for(
        "window.circlekeeper.state.view.pairs.groups.length === 1",
        "the pair",
    )
    .await;
    paco.click("next-stage").await;
    lola.wait_for(
        "visible($('pair-view')) && $('pair-timer') && $('pair-timer').dataset.remainingMs",
        "the pair view",
    )
    .await;
    paco.wait_for(
        "document.querySelector('[data-test=pairs-dashboard] [data-group][data-phase=coaching]')",
        "the dashboard's tile",
    )
    .await;
    found.push(("pairs dashboard", axe_both(&paco).await));
    found.push(("pair view", axe_both(&lola).await));
    // And the same console in German (its named buttons: Fixieren, Hälfte beenden, Wechseln …).
    paco.click("lang-de").await;
    wait_words(&paco, "de", "Paare").await;
    found.push(("pairs dashboard, in German", axe_both(&paco).await));
    let broken: String = found
        .iter()
        .flat_map(|(screen, schemes)| {
            schemes
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(move |(scheme, v)| format!("\n== {screen} ({scheme})\n{v}"))
        })
        .collect();
    assert!(
        broken.is_empty(),
        "axe found violations on Spanish (and German) pages:{broken}"
    );
}

/// axe's report on `page` in the light and the dark colour scheme (empty when clean).
async fn axe_both(page: &Page<'_>) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for scheme in ["light", "dark"] {
        page.set_color_scheme(scheme).await;
        page.eval(
            "const ending = document.getAnimations()
               .filter((a) => a.effect && Number.isFinite(a.effect.getComputedTiming().endTime))
               .map((a) => a.finished.catch(() => null));
             await Promise.race([Promise.all(ending), new Promise((ok) => setTimeout(ok, 3000))]);",
        )
        .await;
        let violations = page.axe().await;
        out.push((
            scheme,
            if violations.is_empty() {
                String::new()
            } else {
                report(&violations)
            },
        ));
    }
    out
}
