//! The staff console: server-rendered pages at `/console` for hub staff, on the same domain
//! services as the API (no rule is implemented twice). Only this module and `api` know HTTP.
//!
//! Invariants:
//! - A page is served only within a live session (`auth::session`): a random token in an
//!   `HttpOnly`, `SameSite=Strict` cookie scoped to `/console` (`Secure` when the service's public
//!   URL is https); anything else is sent to the sign-in page.
//! - Every form carries the session's CSRF token (sign-in a token of its own, in a cookie of its
//!   own); a post without the right one changes nothing (403).
//! - Every page is `Cache-Control: no-store`: pages carry case data.
//! - Roles are the API's: admins see no case data.
//!
//! Pages: sign-in and sign-out; the board (what will breach by close today, refreshed in place
//! while visible); a queue in working order with Take next; the contact (its reasons, children,
//! adults, related contacts, clocks and ladder steps, deliveries, notes, history) with claim,
//! renew, release, note and decide, and a manager's re-rate, assign, move, pause and resume,
//! authorise and send back; the auditor's search of the trail.

use std::sync::Arc;

use askama::Template;
use chrono::{DateTime, Utc};
use poem::{
    Endpoint, EndpointExt, Request, Response, Route, get, handler,
    http::{StatusCode, header},
    web::{Data, Form},
};
use serde::Deserialize;

use crate::{
    auth::{
        AuthError, Role,
        session::{self, Session, SignIn},
    },
    state::AppState,
    worklist,
};

/// The session cookie.
const SESSION_COOKIE: &str = "mash_session";
/// The sign-in form's own CSRF cookie (there is no session yet to hold its token).
const SIGN_IN_COOKIE: &str = "mash_sign_in";

/// The console's routes, to nest at `/console`.
pub fn routes(state: Arc<AppState>) -> impl Endpoint {
    Route::new()
        .at("/", get(board))
        .at("/board/queues", get(board_queues))
        .at("/audit", get(audit_page))
        .at("/static/board.js", get(board_script))
        .at("/sign-in", get(sign_in_page).post(sign_in))
        .at("/sign-out", poem::post(sign_out))
        .at("/queues/:queue", get(queue_page))
        .at("/queues/:queue/take-next", poem::post(take_next))
        .at("/contacts/:id", get(contact_page))
        .at("/contacts/:id/notes", poem::post(add_note))
        .at("/contacts/:id/decision", poem::post(decide))
        .at("/contacts/:id/rerate", poem::post(rerate))
        .at("/contacts/:id/claim", poem::post(claim))
        .at("/contacts/:id/assign", poem::post(assign))
        .at("/contacts/:id/move", poem::post(move_contact))
        .at("/contacts/:id/clock", poem::post(pause_or_resume))
        .at("/contacts/:id/release", poem::post(release))
        .at("/contacts/:id/decision/authorise", poem::post(authorise))
        .at("/contacts/:id/decision/send-back", poem::post(send_back))
        .at("/assets/*path", get(asset))
        .data(state)
        .after(|result: poem::Result<Response>| async move {
            // Every page may carry case data, and none may be kept by a browser or proxy (the
            // static assets say otherwise for themselves).
            let mut resp = result.unwrap_or_else(poem::Error::into_response);
            if !resp.headers().contains_key(header::CACHE_CONTROL) {
                resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            }
            Ok(resp)
        })
}

/// GOV.UK Frontend's files, embedded at build time (`build.rs`).
mod assets {
    include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));
}

/// A GOV.UK Frontend file: the same for everyone and versioned with the binary, so cacheable.
#[handler]
fn asset(poem::web::Path(path): poem::web::Path<String>) -> Response {
    match assets::ASSETS.iter().find(|(name, ..)| *name == path) {
        Some((_, kind, bytes)) => {
            Response::builder().content_type(*kind).header(header::CACHE_CONTROL, "public, max-age=86400").body(*bytes)
        }
        None => Response::builder().status(StatusCode::NOT_FOUND).header(header::CACHE_CONTROL, "no-store").finish(),
    }
}

/// The value of cookie `name` in the request, if any.
fn cookie<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn secure(state: &AppState) -> bool {
    state.settings.http.public_base_url.starts_with("https://")
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, scoped to `path`, `Secure` behind https;
/// `None` for `max_age` makes a session cookie, `Some(0)` deletes it.
fn set_cookie(state: &AppState, name: &str, value: &str, path: &str, max_age: Option<i64>) -> String {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict");
    if secure(state) {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str("; Max-Age=");
        c.push_str(&age.to_string());
    }
    c
}

fn see_other(to: &str) -> Response {
    Response::builder().status(StatusCode::SEE_OTHER).header(header::LOCATION, to).finish()
}

fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => Response::builder().status(status).content_type("text/html; charset=utf-8").body(body),
        Err(err) => {
            tracing::error!(error = %err, "a console page failed to render");
            Response::builder().status(StatusCode::INTERNAL_SERVER_ERROR).finish()
        }
    }
}

fn unavailable(err: &dyn std::fmt::Display) -> Response {
    tracing::warn!(error = %err, "console: a store failed");
    Response::builder()
        .status(StatusCode::SERVICE_UNAVAILABLE)
        .header(header::RETRY_AFTER, "5")
        .content_type("text/plain; charset=utf-8")
        .body("The service is temporarily unavailable. Try again in a few seconds.")
}

/// The live session of the request, or the response that replaces the page (to sign in).
async fn session_of(state: &AppState, req: &Request) -> Result<Session, Response> {
    let Some(token) = cookie(req, SESSION_COOKIE) else { return Err(see_other("/console/sign-in")) };
    // The live board's own refreshes say so; they are not the member of staff using the console.
    let used = !req.headers().contains_key("x-console-refresh");
    match session::resume(state, token, used).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => {
            let mut resp = see_other("/console/sign-in");
            if let Ok(v) = set_cookie(state, SESSION_COOKIE, "", "/console", Some(0)).parse() {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            Err(resp)
        }
        Err(err) => Err(unavailable(&err)),
    }
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    csrf_token: String,
    error: Option<&'static str>,
    /// The error summary's one line, at the key field.
    errors: Vec<(String, String)>,
}

fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The sign-in page, with a fresh token for its form (and the same in its cookie).
fn sign_in_form(state: &AppState, status: StatusCode, error: Option<&'static str>) -> Response {
    let token = random_token();
    let errors = error.iter().map(|m| ("key".to_owned(), (*m).to_owned())).collect();
    let mut resp = html(status, &SignInPage { csrf_token: token.clone(), error, errors });
    if let Ok(v) = set_cookie(state, SIGN_IN_COOKIE, &token, "/console/sign-in", None).parse() {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

#[handler]
#[allow(clippy::needless_pass_by_value)] // poem hands extractors over by value
fn sign_in_page(state: Data<&Arc<AppState>>) -> Response {
    sign_in_form(&state, StatusCode::OK, None)
}

#[derive(Debug, Deserialize)]
struct SignInForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    csrf_token: String,
}

#[handler]
async fn sign_in(state: Data<&Arc<AppState>>, req: &Request, form: Form<SignInForm>) -> Response {
    let state = &**state;
    let expected = cookie(req, SIGN_IN_COOKIE).unwrap_or_default();
    if expected.is_empty() || expected != form.csrf_token {
        return forbidden();
    }
    let key = form.key.trim();
    if key.is_empty() {
        return sign_in_form(state, StatusCode::UNPROCESSABLE_ENTITY, Some("Enter your staff key"));
    }
    match session::start(state, SignIn::StaffKey(key)).await {
        Ok((token, _)) => {
            let mut resp = see_other("/console");
            if let Ok(v) = set_cookie(state, SESSION_COOKIE, &token, "/console", None).parse() {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            if let Ok(v) = set_cookie(state, SIGN_IN_COOKIE, "", "/console/sign-in", Some(0)).parse() {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
        Err(AuthError::Forbidden) => sign_in_form(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("This is an agency's key: only hub staff can sign in to the console"),
        ),
        Err(AuthError::Unauthenticated) => sign_in_form(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("Enter a staff key that is current: this one is not known, revoked or expired"),
        ),
        Err(err) => unavailable(&err),
    }
}

fn forbidden() -> Response {
    Response::builder()
        .status(StatusCode::FORBIDDEN)
        .content_type("text/plain; charset=utf-8")
        .body("This form has expired or did not come from this service. Go back, reload the page and try again.")
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf_token: String,
}

#[handler]
async fn sign_out(state: Data<&Arc<AppState>>, req: &Request, form: Form<CsrfForm>) -> Response {
    let state = &**state;
    let session = match session_of(state, req).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    if !session::csrf_matches(&session, &form.csrf_token) {
        return forbidden();
    }
    if let Some(token) = cookie(req, SESSION_COOKIE)
        && let Err(err) = session::end(state, token).await
    {
        return unavailable(&err);
    }
    let mut resp = see_other("/console/sign-in");
    if let Ok(v) = set_cookie(state, SESSION_COOKIE, "", "/console", Some(0)).parse() {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// One queue's row on the board.
struct BoardRow {
    name: String,
    by_urgency: Vec<i64>,
    unclaimed: i64,
    claimed: i64,
    escalated: i64,
    oldest: String,
    next_deadline: String,
    breach_by_close: i64,
}

#[derive(Template)]
#[template(path = "console/board.html")]
struct BoardPage {
    csrf_token: String,
    role: &'static str,
    levels: Vec<String>,
    queues: Vec<BoardRow>,
    updated: String,
}

/// The board's table alone, for its live refresh.
#[derive(Template)]
#[template(path = "console/board_queues.html")]
struct BoardQueues {
    levels: Vec<String>,
    queues: Vec<BoardRow>,
    updated: String,
}

/// A time as staff read it on the hub's calendar, e.g. "Tue 24 Nov 10:30".
fn local(state: &AppState, at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "none".to_owned(),
        |t| t.with_timezone(&state.policy.clocks.calendar.tz).format("%a %-d %b %H:%M").to_string(),
    )
}

/// The board's rows, or the answer that replaces the page; none for roles that see no case data.
async fn board_rows(state: &AppState, role: Role) -> Result<Vec<BoardRow>, Response> {
    if !Role::CASE_READERS.contains(&role) {
        return Ok(Vec::new());
    }
    let queues = worklist::service::queues(state).await.map_err(|err| unavailable(&err))?;
    Ok(queues
        .into_iter()
        .map(|q| BoardRow {
            name: q.queue,
            by_urgency: q.by_urgency.into_iter().map(|(_, n)| n).collect(),
            unclaimed: q.unclaimed,
            claimed: q.claimed,
            escalated: q.escalated,
            oldest: q
                .oldest_unclaimed_at
                .map_or_else(|| "none".to_owned(), |t| format!("{} ago", hours_minutes(state.clock.now() - t))),
            next_deadline: local(state, q.next_deadline),
            breach_by_close: q.breach_by_close,
        })
        .collect())
}

fn updated(state: &AppState) -> String {
    state.clock.now().with_timezone(&state.policy.clocks.calendar.tz).format("%H:%M:%S").to_string()
}

#[handler]
async fn board(state: Data<&Arc<AppState>>, req: &Request) -> Response {
    let state = &**state;
    let session = match session_of(state, req).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let role = session.staff.role;
    let queues = match board_rows(state, role).await {
        Ok(q) => q,
        Err(resp) => return resp,
    };
    let page = BoardPage {
        csrf_token: session.csrf_token,
        role: role.into(),
        levels: state.policy.levels.iter().rev().cloned().collect(),
        queues,
        updated: updated(state),
    };
    html(StatusCode::OK, &page)
}

/// The board's table, for the page's script to refresh it in place (every 15 s while visible).
#[handler]
async fn board_queues(state: Data<&Arc<AppState>>, req: &Request) -> Response {
    let state = &**state;
    let session = match session_of(state, req).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let queues = match board_rows(state, session.staff.role).await {
        Ok(q) => q,
        Err(resp) => return resp,
    };
    let levels = state.policy.levels.iter().rev().cloned().collect();
    html(StatusCode::OK, &BoardQueues { levels, queues, updated: updated(state) })
}

/// The live board's script: progressive enhancement (the board works without it).
#[handler]
fn board_script() -> Response {
    Response::builder()
        .content_type("text/javascript; charset=utf-8")
        .header(header::CACHE_CONTROL, "public, max-age=3600")
        .body(include_str!("board.js"))
}

/// Contacts per queue page.
const PAGE_SIZE: i64 = 25;

/// One open contact on a queue page.
struct QueueRow {
    id: String,
    href: String,
    received: String,
    urgency: String,
    /// The GOV.UK tag colour of the urgency (its text says it too: never colour alone).
    urgency_class: &'static str,
    time_left: String,
    breached: bool,
    escalated: bool,
    holder: String,
}

#[derive(Template)]
#[template(path = "console/queue.html")]
struct QueuePage {
    csrf_token: String,
    role: &'static str,
    queue: String,
    can_work: bool,
    notice: Option<String>,
    items: Vec<QueueRow>,
    previous: Option<i64>,
    next: Option<i64>,
}

/// "2 h 10 m" of a positive duration.
fn hours_minutes(d: chrono::TimeDelta) -> String {
    let minutes = d.num_minutes().max(0);
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} m"),
        (h, m) => format!("{h} h {m} m"),
    }
}

/// The time left before `due`, in the terms of the urgency's budget: working time for a
/// working-time budget ("2 h 10 m working time left, due Tue 24 Nov 10:30"), elapsed time
/// otherwise.
fn time_left(state: &AppState, urgency: Option<&str>, due: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(due) = due else { return "Clock paused".to_owned() };
    let policy = &state.policy;
    let working = urgency
        .and_then(|u| policy.levels.iter().position(|l| l == u))
        .and_then(|l| policy.clocks.decision.get(l))
        .is_some_and(|b| b.is_working());
    let when = local(state, Some(due));
    if due <= now {
        return format!("Past its deadline ({when})");
    }
    if working {
        format!("{} working time left, due {when}", hours_minutes(policy.clocks.calendar.working_between(now, due)))
    } else {
        format!("{} left, due {when}", hours_minutes(due - now))
    }
}

fn urgency_class(urgency: &str) -> &'static str {
    match urgency {
        "red" => "govuk-tag--red",
        "amber" => "govuk-tag--orange",
        "green" => "govuk-tag--green",
        _ => "govuk-tag--grey",
    }
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    page: Option<i64>,
    notice: Option<String>,
    claimed: Option<uuid::Uuid>,
}

#[handler]
async fn queue_page(
    state: Data<&Arc<AppState>>,
    req: &Request,
    poem::web::Path(queue): poem::web::Path<String>,
    poem::web::Query(query): poem::web::Query<PageQuery>,
) -> Response {
    let state = &**state;
    let session = match session_of(state, req).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let staff = session.staff;
    if !Role::CASE_READERS.contains(&staff.role) {
        return Response::builder().status(StatusCode::FORBIDDEN).body("Your role does not show case data.");
    }
    let page = query.page.unwrap_or(1).clamp(1, 100_000);
    let actor = crate::audit::Actor::staff(staff.staff_id, staff.key_id);
    let items =
        match worklist::service::queue_contacts(state, &actor, &queue, (page - 1) * PAGE_SIZE, PAGE_SIZE + 1).await {
            Ok(items) => items,
            Err(worklist::WorklistError::UnknownQueue) => {
                return Response::builder().status(StatusCode::NOT_FOUND).body("There is no such queue.");
            }
            Err(err) => return unavailable(&err),
        };
    let now = state.clock.now();
    let more = i64::try_from(items.len()).is_ok_and(|n| n > PAGE_SIZE);
    let rows = items
        .into_iter()
        .take(usize::try_from(PAGE_SIZE).unwrap_or(25))
        .map(|i| {
            let urgency = i.urgency.clone().unwrap_or_else(|| "unrated".to_owned());
            QueueRow {
                id: i.id.to_string(),
                href: format!("/console/contacts/{}", i.id),
                received: local(state, Some(i.received_at)),
                urgency_class: urgency_class(&urgency),
                time_left: time_left(state, i.urgency.as_deref(), i.decision_due_at, now),
                breached: i.decision_due_at.is_some_and(|d| d <= now),
                escalated: i.escalated,
                holder: match i.claimed_by {
                    Some(s) if s == staff.staff_id => "Claimed by you".to_owned(),
                    Some(_) => "Claimed by a colleague".to_owned(),
                    None => "Unclaimed".to_owned(),
                },
                urgency,
            }
        })
        .collect();
    let notice = match (query.notice.as_deref(), query.claimed) {
        (_, Some(id)) => Some(format!("You now hold contact {id}.")),
        (Some("empty"), None) => Some("There is no unclaimed contact in this queue.".to_owned()),
        _ => None,
    };
    let page_view = QueuePage {
        csrf_token: session.csrf_token,
        role: staff.role.into(),
        can_work: Role::CASEWORKERS.contains(&staff.role),
        queue,
        notice,
        items: rows,
        previous: (page > 1).then_some(page - 1),
        next: more.then_some(page + 1),
    };
    html(StatusCode::OK, &page_view)
}

/// "Take next": claims the queue's next unclaimed contact for the member of staff, exactly as
/// `POST /v1/queues/{queue}/claim` does, and opens it.
#[handler]
async fn take_next(
    state: Data<&Arc<AppState>>,
    req: &Request,
    poem::web::Path(queue): poem::web::Path<String>,
    form: Form<CsrfForm>,
) -> Response {
    let state = &**state;
    let session = match post_as(state, req, &form.csrf_token, Role::CASEWORKERS).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    match worklist::service::claim_next(state, &session.staff, &queue).await {
        Ok(Some(claimed)) => see_other(&format!("/console/contacts/{}", claimed.contact_id)),
        Ok(None) => see_other(&format!("/console/queues/{queue}?notice=empty")),
        Err(worklist::WorklistError::UnknownQueue) => {
            Response::builder().status(StatusCode::NOT_FOUND).body("There is no such queue.")
        }
        Err(err) => unavailable(&err),
    }
}

/// What the decision and note forms hold: kept when a post is refused, so nothing typed is lost.
#[derive(Debug, Default, Deserialize)]
struct DecisionForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    version: i64,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    threshold_level: String,
    #[serde(default)]
    rationale: String,
    #[serde(default)]
    feedback: String,
    #[serde(default)]
    signpost_agency: String,
    #[serde(default)]
    late_reason: String,
    #[serde(default)]
    late_reason_text: String,
    /// The note form's text.
    #[serde(default, rename = "body")]
    note: String,
    /// The re-rating form's level and the reason of a re-rating or a send-back.
    #[serde(default)]
    urgency: String,
    #[serde(default)]
    reason: String,
    /// Assign: the member of staff; move: the queue; pause: the reason (`resume` resumes).
    #[serde(default)]
    staff_id: String,
    #[serde(default)]
    queue: String,
    #[serde(default)]
    pause: String,
}

/// The contact as the page shows it.
#[allow(clippy::struct_excessive_bools)] // the template's yes/no facts, each shown on its own
struct ContactView {
    id: String,
    reference: String,
    agency: String,
    urgency: String,
    urgency_class: &'static str,
    status: String,
    queue: Option<String>,
    time_left: String,
    received: String,
    re_referral: bool,
    policy_version: String,
    /// (rule, explanation)
    reasons: Vec<(String, String)>,
    /// Re-ratings by managers, oldest first: (when, from, to, why).
    rerates: Vec<(String, String, String, String)>,
    /// (name, born, NHS number)
    children: Vec<(String, String, String)>,
    /// (name, relationship, born)
    adults: Vec<[String; 3]>,
    concerns: String,
    narrative: String,
    referrer: String,
    anonymous: bool,
    decision: Option<String>,
    /// (when and who, text)
    notes: Vec<(String, String)>,
    /// (when, what, who)
    history: Vec<(String, String, String)>,
    version: i64,
    open: bool,
    /// A decision waits for a manager's authorisation.
    awaiting: bool,
    /// Other contacts about its children: (child, received, agency kind, urgency, status, matched on, link).
    related: Vec<[String; 7]>,
    /// Its clocks: (kind, state, budget, deadline or stop, used, left) and their ladder steps
    /// (step, status, due or fired).
    clocks: Vec<([String; 6], Vec<[String; 3]>)>,
    /// Webhook deliveries: (event, status, attempts, delivered).
    deliveries: Vec<[String; 4]>,
    /// "Claimed by you until 10:30", "Claimed by a colleague", "Unclaimed".
    holder: String,
    held_by_me: bool,
    claimable: bool,
}

#[derive(Template)]
#[template(path = "console/contact.html")]
#[allow(clippy::struct_excessive_bools)] // what the page may offer this member of staff, each on its own
struct ContactPage<'a> {
    csrf_token: String,
    role: &'static str,
    c: ContactView,
    notice: Option<String>,
    /// (field id, message)
    errors: Vec<(String, String)>,
    form: DecisionForm,
    can_work: bool,
    can_decide: bool,
    /// A manager's actions: re-rate an open contact, authorise or send back a decision.
    can_manage: bool,
    levels: &'a [String],
    queues: &'a [String],
    pause_reasons: &'a [String],
    /// (id, "name (role)") of who a manager may assign to.
    caseworkers: Vec<(String, String)>,
    /// The decision clock is paused.
    paused: bool,
    outcomes: &'a [String],
    threshold_levels: &'a [String],
    late_reasons: &'a [String],
}

impl ContactPage<'_> {
    /// The error message for a field, if the post was refused for it.
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }
}

/// The contact's adults as the page lists them: (name, relationship, born).
fn adults(s: &crate::contact::NewContact) -> Vec<[String; 3]> {
    s.adults
        .iter()
        .map(|a| {
            let name = [a.given_name.as_deref(), a.family_name.as_deref()].into_iter().flatten().collect::<Vec<_>>();
            [
                name.join(" "),
                a.relationship.map_or_else(|| "not given".to_owned(), |r| <&str>::from(r).replace('_', " ")),
                a.date_of_birth.map_or_else(|| "not given".to_owned(), |d| d.format("%-d %b %Y").to_string()),
            ]
        })
        .collect()
}

fn contact_view(state: &AppState, c: &crate::contact::StaffContact) -> ContactView {
    let now = state.clock.now();
    let r = &c.record;
    let urgency = r.urgency.clone().unwrap_or_else(|| "unrated".to_owned());
    let s = &c.submission;
    let name = |given: &Option<String>, family: &Option<String>| {
        [given.as_deref(), family.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ")
    };
    let who = |kind: &str, id: Option<uuid::Uuid>| match (kind, id) {
        ("staff", Some(id)) => format!("staff {}", &id.to_string()[..8]),
        ("agency", _) => "the agency".to_owned(),
        _ => "the system".to_owned(),
    };
    ContactView {
        id: r.id.to_string(),
        reference: r.agency_reference.clone(),
        agency: format!("{} ({})", c.agency_name, c.agency_kind),
        urgency_class: urgency_class(&urgency),
        urgency,
        status: <&str>::from(r.status).replace('_', " "),
        queue: r.queue.clone(),
        time_left: if r.status.is_decided() {
            "Decided".to_owned()
        } else {
            time_left(state, r.urgency.as_deref(), r.decision_due_at, now)
        },
        received: local(state, Some(r.received_at)),
        re_referral: c.re_referral,
        policy_version: r.classification.as_ref().map(|k| k.policy_version.clone()).unwrap_or_default(),
        reasons: r
            .classification
            .as_ref()
            .map(|k| k.reasons.iter().map(|x| (x.rule.clone(), x.explanation.clone())).collect())
            .unwrap_or_default(),
        rerates: c
            .ratings
            .iter()
            .filter(|x| x.kind == "rerate")
            .map(|x| {
                let from = x.previous_urgency.clone().unwrap_or_default();
                (local(state, Some(x.at)), from, x.urgency.clone(), x.reason.clone().unwrap_or_default())
            })
            .collect(),
        children: s
            .children
            .iter()
            .map(|ch| {
                let born = match (ch.date_of_birth, ch.expected_date_of_birth) {
                    (Some(d), _) => d.format("%-d %b %Y").to_string(),
                    (None, Some(e)) => format!("unborn, due {}", e.format("%-d %b %Y")),
                    (None, None) => "not given".to_owned(),
                };
                (name(&ch.given_name, &ch.family_name), born, ch.nhs_number.clone().unwrap_or_default())
            })
            .collect(),
        adults: adults(s),
        concerns: s.concerns.iter().map(|k| <&str>::from(*k).replace('_', " ")).collect::<Vec<_>>().join(", "),
        narrative: s.narrative.clone(),
        referrer: format!("{}, {}", s.referrer.name, s.referrer.role),
        anonymous: s.referrer.anonymity_requested,
        decision: c.decision.as_ref().map(|d| {
            let mut text = format!(
                "{} ({}), {}",
                d.outcome.replace('_', " "),
                d.threshold_level.clone().unwrap_or_default(),
                local(state, Some(d.decided_at))
            );
            match d.authorisation.as_deref() {
                Some("awaiting") => text.push_str(": awaiting a manager's authorisation"),
                Some("authorised") => text.push_str(": authorised"),
                _ => {}
            }
            text
        }),
        notes: c
            .notes
            .iter()
            .map(|n| (format!("{}, {}", local(state, Some(n.created_at)), n.kind), n.body.clone()))
            .collect(),
        history: c
            .history
            .iter()
            .map(|e| (local(state, Some(e.occurred_at)), e.action.clone(), who(&e.actor_kind, e.actor_id)))
            .collect(),
        version: r.version,
        open: !r.status.is_decided(),
        awaiting: r.status == crate::contact::ContactStatus::AwaitingAuthorisation,
        related: Vec::new(),
        clocks: Vec::new(),
        deliveries: Vec::new(),
        holder: String::new(),
        held_by_me: false,
        claimable: false,
    }
}

/// Adds what the case file reads through other services: the other contacts about its children
/// (each listing audited, as the API's), its clocks (an audited read), its deliveries and who
/// holds it.
async fn fill_case(
    state: &AppState,
    actor: &crate::audit::Actor,
    me: crate::id::StaffId,
    contact: &crate::contact::StaffContact,
    c: &mut ContactView,
) -> Result<(), Response> {
    let id = contact.record.id;
    for child in contact.children.iter().filter(|ch| !ch.matched_contact_ids.is_empty()) {
        let name = c
            .children
            .get(usize::try_from(child.ordinal).unwrap_or(usize::MAX))
            .map(|x| x.0.clone())
            .unwrap_or_default();
        let others = crate::triage::service::contacts_about_child(state, actor, child.id)
            .await
            .map_err(|err| unavailable(&err))?;
        for o in others.into_iter().filter(|o| o.contact_id != id) {
            c.related.push([
                name.clone(),
                local(state, Some(o.received_at)),
                o.agency_kind,
                o.urgency.unwrap_or_else(|| "unrated".to_owned()),
                o.status.replace('_', " "),
                o.matched_on.replace('_', " "),
                format!("/console/contacts/{}", o.contact_id),
            ]);
        }
    }
    let clocks = crate::clocks::service::clocks_of(state, actor, id).await.map_err(|err| unavailable(&err))?;
    for v in clocks.unwrap_or_default() {
        let unit = if v.working_time { " working" } else { "" };
        let when = match (v.clock.stopped_at, v.clock.deadline) {
            (Some(t), _) => format!(
                "stopped {} ({})",
                local(state, Some(t)),
                v.clock.stop_reason.clone().unwrap_or_default().replace('_', " ")
            ),
            (None, Some(d)) => format!("due {}", local(state, Some(d))),
            (None, None) => "paused".to_owned(),
        };
        let steps = v
            .steps
            .iter()
            .map(|s| {
                let at = match (s.fired_at, s.due_at) {
                    (Some(t), _) => format!("fired {}", local(state, Some(t))),
                    (None, Some(d)) => format!("due {}", local(state, Some(d))),
                    (None, None) => "no due time (paused)".to_owned(),
                };
                [s.step.replace('_', " "), s.status.clone(), at]
            })
            .collect();
        c.clocks.push((
            [
                v.clock.kind.clone(),
                v.state.to_owned(),
                v.clock.budget.clone(),
                when,
                format!("{}{unit}", hours_minutes(v.used)),
                if v.left < chrono::TimeDelta::zero() {
                    "none: past its deadline".to_owned()
                } else {
                    format!("{}{unit}", hours_minutes(v.left))
                },
            ],
            steps,
        ));
    }
    c.deliveries = contact
        .deliveries
        .iter()
        .map(|d| {
            [
                d.event_kind.clone(),
                d.status.clone(),
                d.attempts.to_string(),
                d.delivered_at.map_or_else(|| "not yet".to_owned(), |t| local(state, Some(t))),
            ]
        })
        .collect();
    let held = worklist::service::claim_of(state, id).await.map_err(|err| unavailable(&err))?;
    c.holder = match held {
        Some((holder, until)) if holder == me => format!("Claimed by you until {}", local(state, Some(until))),
        Some(_) => "Claimed by a colleague".to_owned(),
        None => "Unclaimed".to_owned(),
    };
    c.held_by_me = held.is_some_and(|(holder, _)| holder == me);
    c.claimable = c.open && !c.awaiting && held.is_none_or(|(holder, _)| holder == me);
    Ok(())
}

/// Renders the contact page for the session's member of staff (an audited read, as the API's).
async fn render_contact(
    state: &AppState,
    session: Session,
    id: crate::id::ContactId,
    (status, notice, errors, form): (StatusCode, Option<String>, Vec<(String, String)>, DecisionForm),
) -> Response {
    let staff = session.staff;
    if !Role::CASE_READERS.contains(&staff.role) {
        return Response::builder().status(StatusCode::FORBIDDEN).body("Your role does not show case data.");
    }
    let actor = crate::audit::Actor::staff(staff.staff_id, staff.key_id);
    let contact = match crate::contact::service::read_contact_as_staff(state, &actor, id).await {
        Ok(c) => c,
        Err(crate::contact::ContactError::NotFound) => {
            return Response::builder().status(StatusCode::NOT_FOUND).body("There is no such contact.");
        }
        Err(err) => return unavailable(&err),
    };
    let mut c = contact_view(state, &contact);
    if let Err(resp) = fill_case(state, &actor, staff.staff_id, &contact, &mut c).await {
        return resp;
    }
    let can_work = Role::CASEWORKERS.contains(&staff.role) && c.open;
    let caseworkers = if staff.role == Role::Manager && c.open {
        match crate::auth::service::caseworkers(state).await {
            Ok(list) => list.into_iter().map(|(id, name, role)| (id.to_string(), format!("{name} ({role})"))).collect(),
            Err(err) => return unavailable(&err),
        }
    } else {
        Vec::new()
    };
    let paused = c.clocks.iter().any(|(k, _)| k[0] == "decision" && k[1] == "paused");
    let page = ContactPage {
        csrf_token: session.csrf_token,
        role: staff.role.into(),
        can_decide: can_work,
        can_work,
        can_manage: staff.role == Role::Manager,
        levels: &state.policy.levels,
        queues: &state.policy.queues,
        pause_reasons: &state.policy.clocks.pause_reasons,
        caseworkers,
        paused,
        c,
        notice,
        errors,
        form,
        outcomes: &state.policy.outcomes,
        threshold_levels: &state.policy.threshold_levels,
        late_reasons: &state.policy.late_reasons,
    };
    html(status, &page)
}

#[derive(Debug, Deserialize)]
struct ContactQuery {
    notice: Option<String>,
}

#[handler]
async fn contact_page(
    state: Data<&Arc<AppState>>,
    req: &Request,
    poem::web::Path(id): poem::web::Path<String>,
    poem::web::Query(query): poem::web::Query<ContactQuery>,
) -> Response {
    let state = &**state;
    let session = match session_of(state, req).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return Response::builder().status(StatusCode::NOT_FOUND).body("There is no such contact.");
    };
    let notice = match query.notice.as_deref() {
        Some("note") => Some("Your note was added.".to_owned()),
        Some("decided") => Some("The decision was recorded.".to_owned()),
        Some("rerated") => Some("The contact was re-rated.".to_owned()),
        Some("claimed") => Some("You hold this contact.".to_owned()),
        Some("released") => Some("You released this contact: it is back in its queue.".to_owned()),
        Some("assigned") => Some("The contact was assigned.".to_owned()),
        Some("moved") => Some("The contact was moved.".to_owned()),
        Some("clock") => Some("The decision clock was changed.".to_owned()),
        Some("authorised") => Some("The decision was authorised: the referrer will be told.".to_owned()),
        Some("sent_back") => Some("The decision was sent back to its author.".to_owned()),
        _ => None,
    };
    render_contact(state, session, id.into(), (StatusCode::OK, notice, Vec::new(), DecisionForm::default())).await
}

/// A refusal of the worklist as the page shows it: the field (error summary) or a notice.
fn refusal(err: &worklist::WorklistError) -> (StatusCode, Option<String>, Vec<(String, String)>) {
    use worklist::WorklistError as E;
    let notice = |status, text: &str| (status, Some(text.to_owned()), Vec::new());
    match err {
        E::Invalid { pointer, detail } => {
            let field = pointer.trim_start_matches('/');
            let label = match field {
                "outcome" => "Choose an outcome",
                "threshold_level" => "Choose a threshold level",
                "rationale" => "Enter the rationale",
                "feedback" => "Enter the feedback for the referrer",
                "signpost_agency" => "Enter the agency signposted to",
                "late_reason" => "Late reason",
                "late_reason_text" => "The late reason's sentence",
                "body" => "Enter the note",
                "reason" => "Enter why",
                _ => "This field",
            };
            let field = if field == "body" { "note-body" } else { field };
            (StatusCode::UNPROCESSABLE_ENTITY, None, vec![(field.to_owned(), format!("{label}: {detail}"))])
        }
        E::VersionMismatch { .. } => notice(
            StatusCode::PRECONDITION_FAILED,
            "Someone else changed this contact since you opened it. Its current state is shown below; what you typed is kept: check it and record the decision again.",
        ),
        E::OwnDecision => {
            notice(StatusCode::FORBIDDEN, "A decision is authorised or sent back by a manager other than its author.")
        }
        E::NotAwaitingAuthorisation => {
            notice(StatusCode::CONFLICT, "No decision on this contact awaits authorisation.")
        }
        E::NotClaimHolder => {
            notice(StatusCode::FORBIDDEN, "Only the member of staff holding this contact, or a manager, can decide it.")
        }
        E::AlreadyDecided => notice(StatusCode::CONFLICT, "This contact has already been decided."),
        E::ClaimedByOther => notice(StatusCode::CONFLICT, "A colleague holds this contact; a manager can reassign it."),
        E::UnknownQueue => {
            (StatusCode::UNPROCESSABLE_ENTITY, None, vec![("queue".to_owned(), "Choose a queue".to_owned())])
        }
        _ => notice(StatusCode::CONFLICT, "That could not be done. The contact's current state is shown below."),
    }
}

#[handler]
async fn add_note(
    state: Data<&Arc<AppState>>,
    req: &Request,
    poem::web::Path(id): poem::web::Path<uuid::Uuid>,
    form: Form<DecisionForm>,
) -> Response {
    let state = &**state;
    let session = match post_as(state, req, &form.csrf_token, Role::CASEWORKERS).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let result = worklist::service::add_note(state, &session.staff, id.into(), &form.note).await;
    changed(state, session, (id, form.0), result, ("note", "note-body")).await
}

#[handler]
async fn decide(
    state: Data<&Arc<AppState>>,
    req: &Request,
    poem::web::Path(id): poem::web::Path<uuid::Uuid>,
    form: Form<DecisionForm>,
) -> Response {
    let state = &**state;
    let session = match post_as(state, req, &form.csrf_token, Role::CASEWORKERS).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let some = |s: &str| Some(s.trim().to_owned()).filter(|t| !t.is_empty());
    let input = worklist::DecisionInput {
        outcome: form.outcome.clone(),
        rationale: form.rationale.clone(),
        signpost_agency: some(&form.signpost_agency),
        feedback: form.feedback.clone(),
        late_reason: some(&form.late_reason),
        late_reason_text: some(&form.late_reason_text),
        threshold_level: form.threshold_level.clone(),
    };
    let expected = Some(crate::contact::IfMatch::Version(form.version));
    let result = worklist::service::decide(state, &session.staff, id.into(), &input, expected).await;
    changed(state, session, (id, form.0), result, ("decided", "reason")).await
}

/// The session of a form post with its CSRF token checked and its role one of `roles`, or the
/// answer that replaces the page.
async fn post_as(state: &AppState, req: &Request, csrf: &str, roles: &[Role]) -> Result<Session, Response> {
    let session = session_of(state, req).await?;
    if !session::csrf_matches(&session, csrf) {
        return Err(forbidden());
    }
    if !roles.contains(&session.staff.role) {
        return Err(Response::builder().status(StatusCode::FORBIDDEN).body("Your role may not do this."));
    }
    Ok(session)
}

/// The answer to a contact form's worklist change: back to the contact with `notice` when done;
/// otherwise the page again with the refusal and everything typed (`reason_field` is the id of
/// the form's reason field, where a refused `/reason` is marked).
async fn changed<T>(
    state: &AppState,
    session: Session,
    (id, form): (uuid::Uuid, DecisionForm),
    result: Result<T, worklist::WorklistError>,
    (notice, reason_field): (&str, &str),
) -> Response {
    match result {
        Ok(_) => see_other(&format!("/console/contacts/{id}?notice={notice}")),
        Err(worklist::WorklistError::Store(err)) => unavailable(&err),
        Err(err) => {
            let (status, notice, mut errors) = refusal(&err);
            for e in errors.iter_mut().filter(|e| e.0 == "reason") {
                reason_field.clone_into(&mut e.0);
            }
            render_contact(state, session, id.into(), (status, notice, errors, form)).await
        }
    }
}

#[handler]
async fn rerate(
    state: Data<&Arc<AppState>>,
    req: &Request,
    poem::web::Path(id): poem::web::Path<uuid::Uuid>,
    form: Form<DecisionForm>,
) -> Response {
    use crate::triage::TriageError as E;
    let state = &**state;
    let session = match post_as(state, req, &form.csrf_token, &[Role::Manager]).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let actor = crate::audit::Actor::staff(session.staff.staff_id, session.staff.key_id);
    let change = crate::triage::service::Rerate {
        urgency: &form.urgency,
        reason: &form.reason,
        expected_version: Some(crate::contact::IfMatch::Version(form.version)),
    };
    let refused = |field: &str, message: &str| {
        (StatusCode::UNPROCESSABLE_ENTITY, None, vec![(field.to_owned(), message.to_owned())])
    };
    let (status, notice, errors) = match crate::triage::service::rerate(state, &actor, id.into(), &change).await {
        Ok(_) => return see_other(&format!("/console/contacts/{id}?notice=rerated")),
        Err(E::Store(err)) => return unavailable(&err),
        Err(E::UnknownLevel) => refused("urgency", "Choose a new urgency"),
        Err(E::SameLevel) => refused("urgency", "Choose an urgency other than the contact's"),
        Err(E::ReasonRequired) => refused("rerate-reason", "Enter why, in 1 to 2000 characters"),
        Err(E::VersionMismatch { .. }) => (
            StatusCode::PRECONDITION_FAILED,
            Some("Someone else changed this contact since you opened it. Its current state is shown below; what you typed is kept.".to_owned()),
            Vec::new(),
        ),
        Err(E::Decided) => (StatusCode::CONFLICT, Some("This contact has been decided; its urgency no longer changes.".to_owned()), Vec::new()),
        Err(E::NotFound | E::UnknownChild) => {
            return Response::builder().status(StatusCode::NOT_FOUND).body("There is no such contact.");
        }
    };
    render_contact(state, session, id.into(), (status, notice, errors, form.0)).await
}

#[handler]
async fn authorise(
    state: Data<&Arc<AppState>>,
    req: &Request,
    poem::web::Path(id): poem::web::Path<uuid::Uuid>,
    form: Form<DecisionForm>,
) -> Response {
    let state = &**state;
    let session = match post_as(state, req, &form.csrf_token, &[Role::Manager]).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let expected = Some(crate::contact::IfMatch::Version(form.version));
    let result = worklist::service::authorise(state, &session.staff, id.into(), expected).await;
    changed(state, session, (id, form.0), result, ("authorised", "reason")).await
}

#[handler]
async fn send_back(
    state: Data<&Arc<AppState>>,
    req: &Request,
    poem::web::Path(id): poem::web::Path<uuid::Uuid>,
    form: Form<DecisionForm>,
) -> Response {
    let state = &**state;
    let session = match post_as(state, req, &form.csrf_token, &[Role::Manager]).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let expected = Some(crate::contact::IfMatch::Version(form.version));
    let result = worklist::service::send_back(state, &session.staff, id.into(), &form.reason, expected).await;
    changed(state, session, (id, form.0), result, ("sent_back", "reason")).await
}

/// Claims the contact (or renews the caller's own claim), as `POST /v1/contacts/{id}/claim`.
#[handler]
async fn claim(
    state: Data<&Arc<AppState>>,
    req: &Request,
    poem::web::Path(id): poem::web::Path<uuid::Uuid>,
    form: Form<DecisionForm>,
) -> Response {
    let state = &**state;
    let session = match post_as(state, req, &form.csrf_token, Role::CASEWORKERS).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let result = worklist::service::claim_contact(state, &session.staff, id.into()).await;
    changed(state, session, (id, form.0), result, ("claimed", "reason")).await
}

/// Gives the caller's claim back: the contact returns to its queue, as the API's release.
#[handler]
async fn release(
    state: Data<&Arc<AppState>>,
    req: &Request,
    poem::web::Path(id): poem::web::Path<uuid::Uuid>,
    form: Form<DecisionForm>,
) -> Response {
    let state = &**state;
    let session = match post_as(state, req, &form.csrf_token, Role::CASEWORKERS).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let expected = Some(crate::contact::IfMatch::Version(form.version));
    let result = worklist::service::release(state, &session.staff, id.into(), expected).await;
    changed(state, session, (id, form.0), result, ("released", "reason")).await
}

/// A manager assigns the contact to a named practitioner or manager, as the API's assign.
#[handler]
async fn assign(
    state: Data<&Arc<AppState>>,
    req: &Request,
    poem::web::Path(id): poem::web::Path<uuid::Uuid>,
    form: Form<DecisionForm>,
) -> Response {
    let state = &**state;
    let session = match post_as(state, req, &form.csrf_token, &[Role::Manager]).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let Ok(to) = form.staff_id.parse::<uuid::Uuid>() else {
        let errors = vec![("staff_id".to_owned(), "Choose who to assign it to".to_owned())];
        return render_contact(state, session, id.into(), (StatusCode::UNPROCESSABLE_ENTITY, None, errors, form.0))
            .await;
    };
    let expected = Some(crate::contact::IfMatch::Version(form.version));
    let result = worklist::service::assign(state, &session.staff, id.into(), to.into(), &form.reason, expected).await;
    changed(state, session, (id, form.0), result, ("assigned", "assign-reason")).await
}

/// A manager moves the contact to another queue, as the API's move.
#[handler]
async fn move_contact(
    state: Data<&Arc<AppState>>,
    req: &Request,
    poem::web::Path(id): poem::web::Path<uuid::Uuid>,
    form: Form<DecisionForm>,
) -> Response {
    let state = &**state;
    let session = match post_as(state, req, &form.csrf_token, &[Role::Manager]).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let expected = Some(crate::contact::IfMatch::Version(form.version));
    let result =
        worklist::service::move_to(state, &session.staff, id.into(), &form.queue, &form.reason, expected).await;
    changed(state, session, (id, form.0), result, ("moved", "move-reason")).await
}

/// A manager pauses the decision clock with a reason the policy allows, or resumes it.
#[handler]
async fn pause_or_resume(
    state: Data<&Arc<AppState>>,
    req: &Request,
    poem::web::Path(id): poem::web::Path<uuid::Uuid>,
    form: Form<DecisionForm>,
) -> Response {
    use crate::clocks::service::ClockError as E;
    let state = &**state;
    let session = match post_as(state, req, &form.csrf_token, &[Role::Manager]).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let actor = crate::audit::Actor::staff(session.staff.staff_id, session.staff.key_id);
    let result = if form.pause == "resume" {
        crate::clocks::service::resume(state, &actor, id.into(), "decision").await
    } else {
        crate::clocks::service::pause(state, &actor, id.into(), "decision", &form.pause).await
    };
    let (status, notice, errors) = match result {
        Ok(()) => return see_other(&format!("/console/contacts/{id}?notice=clock")),
        Err(E::Store(err)) => return unavailable(&err),
        Err(E::ReasonNotAllowed) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            vec![("pause".to_owned(), "Choose why the clock is paused".to_owned())],
        ),
        Err(E::NotFound) => return Response::builder().status(StatusCode::NOT_FOUND).body("There is no such contact."),
        Err(E::NotRunning | E::NotPaused | E::Stopped) => (
            StatusCode::CONFLICT,
            Some("The clock has changed since you opened the contact: see it below.".to_owned()),
            Vec::new(),
        ),
    };
    render_contact(state, session, id.into(), (status, notice, errors, form.0)).await
}

/// Events per audit page.
const AUDIT_PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    csrf_token: String,
    role: &'static str,
    /// (name, label, value, hint)
    fields: Vec<(&'static str, &'static str, String, &'static str)>,
    errors: Vec<(String, String)>,
    searched: bool,
    /// (when, action, who, contact id)
    events: Vec<[String; 4]>,
    next: Option<String>,
}

impl AuditPage {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }
}

#[derive(Debug, Default, Deserialize)]
struct AuditQuery {
    contact_id: Option<String>,
    staff_id: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    after: Option<i64>,
}

/// The next page's address: the same search after event `last`.
fn next_audit_page(q: &AuditQuery, last: i64) -> String {
    let keep = |k: &str, v: &Option<String>| {
        v.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(|t| {
            format!("{k}={}&", t.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '.' && c != '_', ""))
        })
    };
    let query: String = [
        keep("contact_id", &q.contact_id),
        keep("staff_id", &q.staff_id),
        keep("action", &q.action),
        keep("from", &q.from),
        keep("to", &q.to),
    ]
    .into_iter()
    .flatten()
    .collect();
    format!("/console/audit?{query}after={last}")
}

/// An event as the audit page lists it: (when, action, who, contact id).
fn audit_row(state: &AppState, e: crate::audit::AuditEvent) -> [String; 4] {
    let who = match (e.actor_kind.as_str(), e.actor_id) {
        ("system", _) | (_, None) => "the system".to_owned(),
        (kind, Some(id)) => format!("{kind} {id}"),
    };
    [local(state, Some(e.occurred_at)), e.action, who, e.contact_id.map(|c| c.to_string()).unwrap_or_default()]
}

/// The auditor's search of the audit trail: by contact, member of staff, action and period
/// (local days), through the same audited listing as `GET /v1/audit`.
#[handler]
async fn audit_page(
    state: Data<&Arc<AppState>>,
    req: &Request,
    poem::web::Query(q): poem::web::Query<AuditQuery>,
) -> Response {
    let state = &**state;
    let session = match session_of(state, req).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    if session.staff.role != Role::Auditor {
        return Response::builder().status(StatusCode::FORBIDDEN).body("Only auditors search the audit trail.");
    }
    let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
    let mut errors = Vec::new();
    let mut uuid_of = |field: &str, v: &Option<String>, what: &str| {
        text(v).and_then(|t| {
            t.parse::<uuid::Uuid>().ok().or_else(|| {
                errors.push((field.to_owned(), format!("Enter {what} as an id, like 0193a1b2-...")));
                None
            })
        })
    };
    let contact_id = uuid_of("contact_id", &q.contact_id, "the contact");
    let actor_id = uuid_of("staff_id", &q.staff_id, "the member of staff");
    let calendar = &state.policy.clocks.calendar;
    let mut day = |field: &str, v: &Option<String>, next_day: bool| {
        text(v).and_then(|t| {
            let Ok(d) = chrono::NaiveDate::parse_from_str(&t, "%Y-%m-%d") else {
                errors.push((field.to_owned(), "Enter a date like 2026-11-30".to_owned()));
                return None;
            };
            let d = if next_day { d.succ_opt().unwrap_or(d) } else { d };
            d.and_hms_opt(0, 0, 0).and_then(|x| x.and_local_timezone(calendar.tz).earliest()).map(|x| x.to_utc())
        })
    };
    let from = day("from", &q.from, false);
    let to = day("to", &q.to, true);
    let searched = [&q.contact_id, &q.staff_id, &q.action, &q.from, &q.to].iter().any(|v| v.is_some());
    let mut events = Vec::new();
    let mut next = None;
    if searched && errors.is_empty() {
        let filter = crate::audit::AuditFilter {
            contact_id: contact_id.map(Into::into),
            actor_id,
            action: text(&q.action),
            from,
            to,
            after: q.after,
            limit: AUDIT_PAGE,
        };
        let actor = crate::audit::Actor::staff(session.staff.staff_id, session.staff.key_id);
        let found = match crate::audit::list(state, &actor, &filter).await {
            Ok(found) => found,
            Err(err) => return unavailable(&err),
        };
        next = (i64::try_from(found.len()).is_ok_and(|n| n == AUDIT_PAGE))
            .then(|| found.last().map(|last| next_audit_page(&q, last.id)))
            .flatten();
        events = found.into_iter().map(|e| audit_row(state, e)).collect();
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = AuditPage {
        csrf_token: session.csrf_token,
        role: session.staff.role.into(),
        fields: vec![
            ("contact_id", "Contact", text(&q.contact_id).unwrap_or_default(), "The contact's id"),
            ("staff_id", "Member of staff", text(&q.staff_id).unwrap_or_default(), "Their staff id"),
            (
                "action",
                "Action",
                text(&q.action).unwrap_or_default(),
                "For example contact.read or decision.authorised",
            ),
            ("from", "From", text(&q.from).unwrap_or_default(), "A day, like 2026-11-01"),
            ("to", "To", text(&q.to).unwrap_or_default(), "A day, like 2026-11-30 (included)"),
        ],
        errors,
        searched,
        events,
        next,
    };
    html(status, &page)
}
