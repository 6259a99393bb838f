//! The staff console's sign-in, sessions and roles, server side: cookies, CSRF, timeouts,
//! revocation, audit and `no-store`. (The pages themselves are checked in a browser by the
//! end-to-end tests.)

use chrono::TimeDelta;
use mash_triage::auth::Role;

use crate::helpers::{TestApp, spawn_app};

/// A browser without JavaScript: keeps no cookies of its own and follows no redirects, so each
/// test sees exactly what the server sets and where it sends the user.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: Vec<(String, String)>,
}

impl Browser {
    /// The live board's refresh, as its script makes it.
    async fn refresh_board(&mut self) -> (u16, String) {
        let resp = self
            .http
            .get(format!("{}/console/board/queues", self.base))
            .header("cookie", self.cookie_header())
            .header("x-console-refresh", "1")
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    fn new(app: &TestApp) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { http, base: app.base().to_owned(), cookies: Vec::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    /// Applies the response's `Set-Cookie`s (a `Max-Age=0` deletes).
    fn take_cookies(&mut self, resp: &reqwest::Response) -> Vec<String> {
        let set: Vec<String> =
            resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        for c in &set {
            let (pair, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(name, _)| name != k);
            if !c.contains("Max-Age=0") {
                self.cookies.push((k.to_owned(), v.to_owned()));
            }
        }
        set
    }

    async fn get(&mut self, path: &str) -> (u16, String, String) {
        let resp =
            self.http.get(format!("{}{path}", self.base)).header("cookie", self.cookie_header()).send().await.unwrap();
        assert_eq!(resp.headers()["cache-control"], "no-store", "{path}");
        self.take_cookies(&resp);
        let status = resp.status().as_u16();
        let location = resp.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (status, location, resp.text().await.unwrap())
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (u16, String, String, Vec<String>) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()["cache-control"], "no-store", "{path}");
        let set = self.take_cookies(&resp);
        let status = resp.status().as_u16();
        let location = resp.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (status, location, resp.text().await.unwrap(), set)
    }

    /// The value of the hidden `csrf_token` field of a page.
    fn csrf(page: &str) -> String {
        let marker = r#"name="csrf_token" value=""#;
        let at = page.find(marker).expect("a form with a CSRF token") + marker.len();
        page[at..at + 64].to_owned()
    }

    /// Signs in with `key`; the sign-in answer's status, location, page and cookies.
    async fn sign_in(&mut self, key: &str) -> (u16, String, String, Vec<String>) {
        let (status, _, page) = self.get("/console/sign-in").await;
        assert_eq!(status, 200);
        let csrf = Self::csrf(&page);
        self.post("/console/sign-in", &[("key", key), ("csrf_token", &csrf)]).await
    }
}

#[tokio::test]
async fn staff_sign_in_with_their_key_to_a_strict_http_only_session_and_agencies_cannot() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    let (status, location, _) = browser.get("/console").await;
    assert_eq!((status, location.as_str()), (303, "/console/sign-in"), "no session: sign in first");

    // An agency's key, an unknown key and an empty one are refused with the error summary.
    let (status, _, page, set) = browser.sign_in(app.police_key()).await;
    assert_eq!(status, 422);
    assert!(page.contains("govuk-error-summary") && page.contains("agency"), "{page}");
    assert!(!set.iter().any(|c| c.starts_with("mash_session=")));
    let (status, _, page, _) = browser.sign_in("mash_not_a_key").await;
    assert_eq!(status, 422);
    assert!(page.contains(r##"<a href="#key">"##), "the summary links to the field");

    // A form without the token its page gave changes nothing.
    let (status, ..) =
        browser.post("/console/sign-in", &[("key", app.staff_key(Role::Manager)), ("csrf_token", "x")]).await;
    assert_eq!(status, 403);

    let (status, location, _, set) = browser.sign_in(app.staff_key(Role::Manager)).await;
    assert_eq!((status, location.as_str()), (303, "/console"));
    let session = set.iter().find(|c| c.starts_with("mash_session=")).expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(!session.contains("Secure"), "plain http on loopback: not Secure");
    assert!(!session.contains("Max-Age") && !session.contains("Expires"), "a browser-session cookie");
    let (status, _, page) = browser.get("/console").await;
    assert_eq!(status, 200);
    assert!(page.contains("<h1 class=\"govuk-heading-l\">Board</h1>") && page.contains("screening"), "{page}");
    let trail = app.auditor().audit(&[]).await.ok().to_string();
    assert!(trail.contains("session.started"), "{trail}");
}

#[tokio::test]
async fn signing_out_needs_the_sessions_csrf_token_and_ends_the_session() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(app.staff_key(Role::Practitioner)).await;
    let (_, _, page) = browser.get("/console").await;
    let csrf = Browser::csrf(&page);
    let stolen = browser.cookies.clone();
    let (status, ..) = browser.post("/console/sign-out", &[("csrf_token", "0".repeat(64).as_str())]).await;
    assert_eq!(status, 403, "a cross-site post carries no token");
    assert_eq!(browser.get("/console").await.0, 200, "still signed in");
    let (status, location, ..) = browser.post("/console/sign-out", &[("csrf_token", &csrf)]).await;
    assert_eq!((status, location.as_str()), (303, "/console/sign-in"));
    // The old cookie is worth nothing now.
    browser.cookies = stolen;
    assert_eq!(browser.get("/console").await.0, 303);
    let trail = app.auditor().audit(&[]).await.ok().to_string();
    assert!(trail.contains(r#""reason":"signed_out""#), "{trail}");
}

#[tokio::test]
async fn a_session_ends_when_idle_when_its_lifetime_is_over_and_when_its_key_is_revoked() {
    let app = spawn_app().await;
    let mut idle = Browser::new(&app);
    idle.sign_in(app.staff_key(Role::Manager)).await;
    app.advance_time(TimeDelta::minutes(29));
    assert_eq!(idle.get("/console").await.0, 200, "used within 30 minutes");
    app.advance_time(TimeDelta::minutes(29));
    assert_eq!(idle.get("/console").await.0, 200, "each use restarts the idle timeout");
    // An unattended live board refreshes itself, which is not use: it does not hold the session open.
    app.advance_time(TimeDelta::minutes(20));
    let (status, table) = idle.refresh_board().await;
    assert!(status == 200 && table.contains("screening") && !table.contains("<html"), "the table alone: {table}");
    app.advance_time(TimeDelta::minutes(10));
    assert_eq!(idle.refresh_board().await.0, 303, "30 minutes since the member of staff last used it");
    assert_eq!(idle.get("/console").await.0, 303, "30 minutes unused");

    let mut busy = Browser::new(&app);
    busy.sign_in(app.staff_key(Role::Manager)).await;
    for _ in 0..40 {
        app.advance_time(TimeDelta::minutes(15));
        if busy.get("/console").await.0 != 200 {
            break;
        }
    }
    let (status, ..) = busy.get("/console").await;
    assert_eq!(status, 303, "ten hours after sign-in, however busy");

    let mut revoked = Browser::new(&app);
    revoked.sign_in(app.staff_key(Role::Auditor)).await;
    assert_eq!(revoked.get("/console").await.0, 200);
    sqlx::query("update api_keys set revoked_at = now() where staff_id is not null")
        .execute(app.owner_db())
        .await
        .unwrap();
    assert_eq!(revoked.get("/console").await.0, 303, "the key it signed in with was revoked");
    let ended = "select count(*) from console_sessions where end_reason = $1";
    for reason in ["idle", "expired", "key_revoked"] {
        assert_eq!(app.value::<i64>(ended, reason).await, 1, "{reason}");
    }
}

#[tokio::test]
async fn an_admin_signs_in_but_the_board_shows_no_case_data() {
    let app = spawn_app().await;
    app.police().submit(crate::fixtures::amber_contact(app.today(), "CONSOLE-1")).await;
    let mut admin = Browser::new(&app);
    admin.sign_in(app.staff_key(Role::Admin)).await;
    let (status, _, page) = admin.get("/console").await;
    assert_eq!(status, 200);
    assert!(page.contains("does not show case data") && !page.contains("screening"), "{page}");
    let mut practitioner = Browser::new(&app);
    practitioner.sign_in(app.staff_key(Role::Practitioner)).await;
    let (_, _, page) = practitioner.get("/console").await;
    assert!(page.contains(r#"href="/console/queues/screening">screening</a>"#), "{page}");
}

#[tokio::test]
async fn a_queue_shows_working_time_left_and_take_next_claims_through_the_worklist() {
    let app = spawn_app().await;
    app.set_time(crate::fixtures::london(2026, 11, 23, 10, 0));
    let id = app.school().submit(crate::fixtures::amber_contact(app.today(), "CONSOLE-Q")).await;
    let mut practitioner = Browser::new(&app);
    practitioner.sign_in(app.staff_key(Role::Practitioner)).await;
    let (status, _, page) = practitioner.get("/console/queues/screening").await;
    assert_eq!(status, 200);
    assert!(page.contains(">amber</strong>"), "urgency as text, not colour alone: {page}");
    assert!(page.contains("8 h 0 m working time left, due Tue 24 Nov 10:00"), "{page}");
    assert!(page.contains("Unclaimed") && page.contains("Take next contact"), "{page}");
    app.set_time(crate::fixtures::london(2026, 11, 23, 10, 20));
    let (_, _, board) = practitioner.get("/console").await;
    assert!(board.contains("20 m ago"), "the oldest unclaimed contact's age: {board}");
    assert_eq!(practitioner.get("/console/queues/nowhere").await.0, 404);

    let csrf = Browser::csrf(&page);
    let (status, ..) = practitioner.post("/console/queues/screening/take-next", &[("csrf_token", "forged")]).await;
    assert_eq!(status, 403);
    let (status, location, ..) =
        practitioner.post("/console/queues/screening/take-next", &[("csrf_token", &csrf)]).await;
    assert_eq!((status, location), (303, format!("/console/contacts/{id}")), "taken, and opened");
    assert_eq!(app.manager().get_contact(&id).await.ok()["status"], "in_screening", "claimed through the worklist");
    let (_, _, page) = practitioner.get("/console/queues/screening").await;
    assert!(page.contains("Claimed by you") && page.contains(&format!(r#"href="/console/contacts/{id}""#)), "{page}");
    let (_, location, ..) = practitioner.post("/console/queues/screening/take-next", &[("csrf_token", &csrf)]).await;
    assert_eq!(location, "/console/queues/screening?notice=empty");

    // An auditor reads the queue but works nothing; the listing is audited as the API's is.
    let mut auditor = Browser::new(&app);
    auditor.sign_in(app.staff_key(Role::Auditor)).await;
    let (status, _, page) = auditor.get("/console/queues/screening").await;
    assert_eq!(status, 200);
    assert!(!page.contains("Take next contact") && page.contains("Claimed by a colleague"), "{page}");
    let csrf = Browser::csrf(&page);
    assert_eq!(auditor.post("/console/queues/screening/take-next", &[("csrf_token", &csrf)]).await.0, 403);
    let mut admin = Browser::new(&app);
    admin.sign_in(app.staff_key(Role::Admin)).await;
    assert_eq!(admin.get("/console/queues/screening").await.0, 403);
    let trail = app.auditor().audit(&[]).await.ok().to_string();
    assert!(trail.contains("queue.listed") && trail.contains("contact.claimed"), "{trail}");
}

#[tokio::test]
async fn the_contact_page_shows_why_it_was_rated_takes_notes_and_decides_keeping_what_was_typed() {
    let app = spawn_app().await;
    app.set_time(crate::fixtures::london(2026, 11, 23, 10, 0));
    let id = app.school().submit(crate::fixtures::amber_contact(app.today(), "CONSOLE-C")).await;
    let mut practitioner = Browser::new(&app);
    practitioner.sign_in(app.staff_key(Role::Practitioner)).await;
    let (_, _, page) = practitioner.get("/console/queues/screening").await;
    practitioner.post("/console/queues/screening/take-next", &[("csrf_token", &Browser::csrf(&page))]).await;
    let path = format!("/console/contacts/{id}");
    let (status, _, page) = practitioner.get(&path).await;
    assert_eq!(status, 200);
    for shown in
        ["Why it is amber", "Teacher saw father hit the child in the playground.", "Ella CONSOLE-C", "physical abuse"]
    {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    let csrf = Browser::csrf(&page);
    let reads = "select count(*) from audit_events where action = 'contact.read' and contact_id = $1::uuid";
    assert!(app.value::<i64>(reads, &id).await >= 1, "a page view is an audited read, as the API's");

    let (status, location, ..) =
        practitioner.post(&format!("{path}/notes"), &[("csrf_token", &csrf), ("body", "Rang school.")]).await;
    assert_eq!((status, location.as_str()), (303, format!("{path}?notice=note").as_str()));
    let (_, _, page) = practitioner.get(&location).await;
    assert!(page.contains("Rang school.") && page.contains("Your note was added."), "{page}");

    // No outcome: the error summary names the field, and the typed rationale is kept.
    let version = app.manager().get_contact(&id).await.ok()["version"].to_string();
    let mut decision = vec![
        ("csrf_token", csrf.as_str()),
        ("version", version.as_str()),
        ("outcome", ""),
        ("threshold_level", "early_help"),
        ("rationale", "Family known to early help."),
        ("feedback", "Early help will contact the family."),
    ];
    let (status, _, page, _) = practitioner.post(&format!("{path}/decision"), &decision).await;
    assert_eq!(status, 422);
    assert!(
        page.contains(r##"<a href="#outcome">Choose an outcome"##) && page.contains("Family known to early help."),
        "{page}"
    );
    assert!(page.contains("<title>Error: "), "{page}");
    assert!(page.contains(r#"<p id="outcome-error" class="govuk-error-message">"#), "and at the field: {page}");
    assert!(
        page.contains(r#"class="govuk-select govuk-select--error" id="outcome" aria-describedby="outcome-error""#),
        "{page}"
    );

    // Someone else changes the contact meanwhile: a conflict, with everything typed kept.
    let rerate = serde_json::json!({"urgency": "red", "reason": "Disclosure to the school nurse."});
    assert_eq!(app.manager().rerate(&id, &rerate, Some("*")).await.status(), 200);
    decision[2] = ("outcome", "early_help");
    let (status, _, page, _) = practitioner.post(&format!("{path}/decision"), &decision).await;
    assert_eq!(status, 412, "a stale update, as the API's");
    assert!(
        page.contains("Someone else changed this contact") && page.contains("Family known to early help."),
        "{page}"
    );
    assert!(
        page.contains("re-rated it from amber to red: Disclosure to the school nurse."),
        "the current state: {page}"
    );
    let current = app.manager().get_contact(&id).await.ok()["version"].to_string();
    decision[1] = ("version", current.as_str());
    let (status, location, ..) = practitioner.post(&format!("{path}/decision"), &decision).await;
    assert_eq!((status, location), (303, format!("{path}?notice=decided")));
    let agency = app.school().get_contact(&id).await.ok();
    assert_eq!(agency["outcome"], "early_help", "decided through the worklist, as the API does");
    let (_, _, page) = practitioner.get(&path).await;
    assert!(!page.contains("Record the decision"), "no form once decided");

    // An auditor reads it but has no forms; an admin sees nothing.
    let mut auditor = Browser::new(&app);
    auditor.sign_in(app.staff_key(Role::Auditor)).await;
    let (status, _, page) = auditor.get(&path).await;
    assert!(status == 200 && !page.contains("Add a note"), "{page}");
    let mut admin = Browser::new(&app);
    admin.sign_in(app.staff_key(Role::Admin)).await;
    assert_eq!(admin.get(&path).await.0, 403);
    assert_eq!(auditor.get(&format!("/console/contacts/{}", uuid::Uuid::now_v7())).await.0, 404);
}

#[tokio::test]
async fn a_manager_re_rates_and_authorises_or_sends_back_from_the_contact_page() {
    let app = spawn_app().await;
    app.set_time(crate::fixtures::london(2026, 11, 23, 10, 0));
    let id = app.school().submit(crate::fixtures::amber_contact(app.today(), "CONSOLE-M")).await;
    let path = format!("/console/contacts/{id}");
    let mut manager = Browser::new(&app);
    manager.sign_in(app.staff_key(Role::Manager)).await;
    let (_, _, page) = manager.get(&path).await;
    assert!(page.contains("Re-rate") && !page.contains("Authorise decision"), "{page}");
    let csrf = Browser::csrf(&page);
    let v = version_of(&app, &id).await;
    let (status, _, page, _) = manager
        .post(&format!("{path}/rerate"), &[("csrf_token", &csrf), ("version", &v), ("urgency", "red"), ("reason", "")])
        .await;
    assert_eq!(status, 422);
    assert!(page.contains(r##"<a href="#rerate-reason">"##), "{page}");
    let rerate =
        [("csrf_token", csrf.as_str()), ("version", v.as_str()), ("urgency", "red"), ("reason", "Disclosure.")];
    let (status, location, ..) = manager.post(&format!("{path}/rerate"), &rerate).await;
    assert_eq!((status, location), (303, format!("{path}?notice=rerated")));
    assert_eq!(app.manager().get_contact(&id).await.ok()["urgency"], "red");

    // A practitioner closes the red contact: it waits for a manager, who sees the actions.
    let mut practitioner = Browser::new(&app);
    practitioner.sign_in(app.staff_key(Role::Practitioner)).await;
    let (_, _, page) = practitioner.get("/console/queues/immediate").await;
    practitioner.post("/console/queues/immediate/take-next", &[("csrf_token", &Browser::csrf(&page))]).await;
    let (_, _, page) = practitioner.get(&path).await;
    assert!(!page.contains("Re-rate"), "no manager actions for a practitioner: {page}");
    let p_csrf = Browser::csrf(&page);
    let decide = |v: String| {
        vec![
            ("csrf_token".to_owned(), p_csrf.clone()),
            ("version".to_owned(), v),
            ("outcome".to_owned(), "no_further_action".to_owned()),
            ("threshold_level".to_owned(), "universal".to_owned()),
            ("rationale".to_owned(), "Explained.".to_owned()),
            ("feedback".to_owned(), "No further action.".to_owned()),
        ]
    };
    let form = decide(version_of(&app, &id).await);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(practitioner.post(&format!("{path}/decision"), &form).await.0, 303);
    assert_eq!(practitioner.post(&format!("{path}/rerate"), &rerate).await.0, 403);
    let (_, _, page) = manager.get(&path).await;
    assert!(page.contains("Authorise decision") && page.contains("awaiting a manager"), "{page}");
    let v = version_of(&app, &id).await;
    let (status, _, page, _) = manager
        .post(&format!("{path}/decision/send-back"), &[("csrf_token", &csrf), ("version", &v), ("reason", " ")])
        .await;
    assert_eq!(status, 422);
    assert!(page.contains(r##"<a href="#reason">"##), "{page}");
    let back = [("csrf_token", csrf.as_str()), ("version", v.as_str()), ("reason", "Speak to the school first.")];
    let (status, location, ..) = manager.post(&format!("{path}/decision/send-back"), &back).await;
    assert_eq!((status, location), (303, format!("{path}?notice=sent_back")));
    let form = decide(version_of(&app, &id).await);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(practitioner.post(&format!("{path}/decision"), &form).await.0, 303);
    let v = version_of(&app, &id).await;
    let (status, location, ..) =
        manager.post(&format!("{path}/decision/authorise"), &[("csrf_token", &csrf), ("version", &v)]).await;
    assert_eq!((status, location), (303, format!("{path}?notice=authorised")));
    assert_eq!(app.school().get_contact(&id).await.ok()["outcome"], "no_further_action");
}

/// The contact's current version, as the API reads it.
async fn version_of(app: &TestApp, id: &str) -> String {
    app.manager().get_contact(id).await.ok()["version"].to_string()
}

#[tokio::test]
async fn the_contact_page_shows_the_childs_other_contacts_the_clocks_and_claims_and_releases() {
    let app = spawn_app().await;
    app.set_time(crate::fixtures::london(2026, 11, 23, 10, 0));
    let child = serde_json::json!({"given_name": "Noah", "family_name": "Okafor", "date_of_birth": "2018-03-14"});
    let about = |reference: &str| {
        crate::fixtures::contact_about(app.today(), reference, child.clone(), "neglect", "Often hungry at school.")
    };
    let first = app.police().submit(about("REL-1")).await;
    app.set_time(crate::fixtures::london(2026, 11, 23, 11, 0));
    let second = app.school().submit(about("REL-2")).await;
    let path = format!("/console/contacts/{second}");
    let mut practitioner = Browser::new(&app);
    practitioner.sign_in(app.staff_key(Role::Practitioner)).await;
    let (status, _, page) = practitioner.get(&path).await;
    assert_eq!(status, 200);
    assert!(page.contains("Other contacts about these children"), "{page}");
    assert!(page.contains(&format!(r#"href="/console/contacts/{first}">Mon 23 Nov 10:00</a>"#)), "{page}");
    assert!(page.contains("decision clock: running") && page.contains("breach"), "the clock and its ladder: {page}");
    assert!(page.contains("Unclaimed") && page.contains("Claim this contact"), "{page}");
    let csrf = Browser::csrf(&page);
    let (status, location, ..) = practitioner.post(&format!("{path}/claim"), &[("csrf_token", &csrf)]).await;
    assert_eq!((status, location.as_str()), (303, format!("{path}?notice=claimed").as_str()));
    let (_, _, page) = practitioner.get(&location).await;
    assert!(page.contains("Claimed by you until Mon 23 Nov 11:30") && page.contains("Renew my claim"), "{page}");
    // A colleague sees it held and cannot take it.
    let mut colleague = Browser::new(&app);
    colleague.sign_in(app.staff_key(Role::Manager)).await;
    let (_, _, page) = colleague.get(&path).await;
    assert!(page.contains("Claimed by a colleague") && !page.contains("Claim this contact"), "{page}");
    let version = version_of(&app, &second).await;
    let (status, location, ..) =
        practitioner.post(&format!("{path}/release"), &[("csrf_token", &csrf), ("version", &version)]).await;
    assert_eq!((status, location), (303, format!("{path}?notice=released")));
    assert_eq!(app.manager().get_contact(&second).await.ok()["status"], "awaiting_screening", "back in its queue");
}

#[tokio::test]
async fn a_manager_assigns_moves_and_pauses_from_the_contact_page() {
    let app = spawn_app().await;
    app.set_time(crate::fixtures::london(2026, 11, 23, 10, 0));
    let id = app.school().submit(crate::fixtures::green_contact(app.today(), "CONSOLE-A")).await;
    let path = format!("/console/contacts/{id}");
    let mut manager = Browser::new(&app);
    manager.sign_in(app.staff_key(Role::Manager)).await;
    let (_, _, page) = manager.get(&path).await;
    assert!(page.contains("Test practitioner (practitioner)") && page.contains("Pause the clock"), "{page}");
    let csrf = Browser::csrf(&page);
    let marker = r#"<option value=""#;
    let practitioner_id = page
        .split(marker)
        .find(|o| o.contains("Test practitioner (practitioner)"))
        .map(|o| o[..36].to_owned())
        .expect("the practitioner is offered");

    let v = version_of(&app, &id).await;
    let (status, _, page, _) = manager
        .post(
            &format!("{path}/assign"),
            &[("csrf_token", &csrf), ("version", &v), ("staff_id", &practitioner_id), ("reason", "")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains(r##"<a href="#assign-reason">"##), "{page}");
    let form = [
        ("csrf_token", csrf.as_str()),
        ("version", v.as_str()),
        ("staff_id", &practitioner_id),
        ("reason", "Knows the family."),
    ];
    let (status, location, ..) = manager.post(&format!("{path}/assign"), &form).await;
    assert_eq!((status, location), (303, format!("{path}?notice=assigned")));

    let v = version_of(&app, &id).await;
    let form = [
        ("csrf_token", csrf.as_str()),
        ("version", v.as_str()),
        ("queue", "domestic-abuse"),
        ("reason", "DA disclosed."),
    ];
    let (status, location, ..) = manager.post(&format!("{path}/move"), &form).await;
    assert_eq!((status, location), (303, format!("{path}?notice=moved")));
    assert_eq!(app.manager().get_contact(&id).await.ok()["queue"], "domestic-abuse");

    let (status, _, page, _) = manager.post(&format!("{path}/clock"), &[("csrf_token", &csrf), ("pause", "")]).await;
    assert_eq!(status, 422);
    assert!(page.contains(r##"<a href="#pause">"##), "{page}");
    let (status, ..) =
        manager.post(&format!("{path}/clock"), &[("csrf_token", &csrf), ("pause", "family_unreachable")]).await;
    assert_eq!(status, 303);
    let (_, _, page) = manager.get(&path).await;
    assert!(page.contains("decision clock: paused") && page.contains("Resume the clock"), "{page}");
    let (status, ..) = manager.post(&format!("{path}/clock"), &[("csrf_token", &csrf), ("pause", "resume")]).await;
    assert_eq!(status, 303);
    assert!(manager.get(&path).await.2.contains("decision clock: running"));
    let trail = app.auditor().audit(&[("contact_id", id.as_str())]).await.ok().to_string();
    for action in ["contact.assigned", "contact.moved", "clock.paused", "clock.resumed"] {
        assert!(trail.contains(action), "{action}: {trail}");
    }
}

#[tokio::test]
async fn an_auditor_searches_the_trail_by_contact_staff_member_action_and_period() {
    let app = spawn_app().await;
    app.set_time(crate::fixtures::london(2026, 11, 23, 10, 0));
    let id = app.school().submit(crate::fixtures::amber_contact(app.today(), "CONSOLE-AU")).await;
    let other = app.school().submit(crate::fixtures::amber_contact(app.today(), "CONSOLE-AU2")).await;
    app.set_time(crate::fixtures::london(2026, 11, 24, 10, 0));
    let mut manager = Browser::new(&app);
    manager.sign_in(app.staff_key(Role::Manager)).await;
    manager.get(&format!("/console/contacts/{id}")).await;
    let manager_id: String = app.value("select staff_id::text from console_sessions where staff_id in (select id from staff where role = $1) limit 1", "manager").await;

    let mut auditor = Browser::new(&app);
    auditor.sign_in(app.staff_key(Role::Auditor)).await;
    let (status, _, page) = auditor.get("/console/audit").await;
    assert!(status == 200 && page.contains("Audit trail") && !page.contains("Events, oldest first"), "{page}");
    let (_, _, page) = auditor.get(&format!("/console/audit?contact_id={id}&action=contact.read")).await;
    assert!(page.contains("contact.read") && page.contains(&manager_id) && !page.contains(&other), "{page}");
    let (_, _, page) =
        auditor.get(&format!("/console/audit?staff_id={manager_id}&from=2026-11-24&to=2026-11-24")).await;
    assert!(page.contains("session.started") && !page.contains("contact.submitted"), "{page}");
    let (_, _, page) = auditor.get("/console/audit?from=2026-11-23&to=2026-11-23&action=contact.submitted").await;
    assert!(page.contains(&id) && page.contains(&other), "{page}");
    let (status, _, page) = auditor.get("/console/audit?contact_id=nonsense&from=yesterday").await;
    assert_eq!(status, 422);
    assert!(
        page.contains(r##"<a href="#contact_id">"##) && page.contains(r##"<a href="#from">"##),
        "every field at fault: {page}"
    );
    assert_eq!(manager.get("/console/audit").await.0, 403, "auditors only");
    // The API takes the same filters.
    let listed = app.auditor().audit(&[("actor_id", manager_id.as_str()), ("action", "contact.read")]).await.ok();
    let events = listed["events"].as_array().unwrap();
    assert!(
        !events.is_empty()
            && events.iter().all(|e| e["action"] == "contact.read" && e["actor_id"] == manager_id.as_str())
    );
}

#[tokio::test]
async fn sign_in_attempts_count_against_the_address_like_the_apis_keys() {
    let app =
        crate::helpers::spawn_app_with(crate::helpers::Overrides { rate_limit: Some(3), ..Default::default() }).await;
    let mut browser = Browser::new(&app);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(browser.sign_in("mash_guess").await.0);
    }
    assert_eq!(statuses, [422, 422, 422, 429, 429], "three tries a window, then Retry-After");
    let (_, _, page) = browser.get("/console/sign-in").await;
    assert!(page.contains("Sign in"), "the form itself is never limited");
}
