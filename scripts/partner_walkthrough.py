"""The README's "first integration" walkthrough, run as a partner would run it, against a sandbox.

A local receiver verifies every webhook with the Standard Webhooks reference library from PyPI
(`standardwebhooks`); the rest is plain HTTP with the standard library. Steps:

 1. an admin registers the agency's webhook (the hub generates the whsec_ secret);
 2. the agency makes itself sandbox staff keys (a practitioner and a manager);
 3. it submits a contact with an Idempotency-Key, and repeats it safely;
 4. it moves its test clock past the contact's deadline: the breach fires on its time;
 5. the sandbox practitioner claims and decides it, late; the sandbox manager authorises;
 6. the decision's webhook arrives and the library verifies it;
 7. a test delivery after a secret rotation verifies with the old and the new secret;
 8. the change feed lists the contact once, decided, and then nothing more;
 9. the agency's deliveries show every delivery delivered.

Usage: partner_walkthrough.py BASE_URL AGENCY_KEY ADMIN_KEY AGENCY_ID
Exits non-zero, naming the step, on the first thing that is not as the guide says.
"""

import datetime as dt
import http.server
import json
import queue
import sys
import threading
import urllib.error
import urllib.request
import uuid

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

BASE, AGENCY_KEY, ADMIN_KEY, AGENCY_ID = sys.argv[1:5]
received: "queue.Queue[tuple[dict, bytes]]" = queue.Queue()
secrets: list[str] = []


class Receiver(http.server.BaseHTTPRequestHandler):
    """Verifies each delivery with every secret the test knows; 204 if one verifies, else 400."""

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["content-length"]))
        headers = {k: v for k, v in self.headers.items()}
        verified_by = []
        for s in secrets:
            try:
                Webhook(s).verify(body, headers)
                verified_by.append(s)
            except WebhookVerificationError:
                pass
        headers["x-verified-by"] = verified_by
        received.put((headers, body))
        self.send_response(204 if verified_by else 400)
        self.end_headers()

    def log_message(self, *args):
        pass


def call(method, path, key, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("authorization", f"Bearer {key}")
    if data is not None:
        req.add_header("content-type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return resp.status, dict(resp.headers), (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as err:
        raw = err.read()
        return err.code, dict(err.headers), (json.loads(raw) if raw else None)


def expect(step, condition, detail=""):
    if not condition:
        print(f"FAILED at {step}: {detail}", file=sys.stderr)
        sys.exit(1)
    print(f"ok   {step}")


def next_delivery(step):
    try:
        return received.get(timeout=15)
    except queue.Empty:
        expect(step, False, "no webhook arrived within 15 s")


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
hook_url = f"http://127.0.0.1:{server.server_address[1]}/hook"

# 1. The hub's admin registers the agency's receiver; the secret is shown once.
status, _, endpoint = call("POST", f"/v1/agencies/{AGENCY_ID}/webhook", ADMIN_KEY, {"url": hook_url})
expect("1 register the webhook", status == 201 and endpoint["secret"].startswith("whsec_"), endpoint)
secrets.append(endpoint["secret"])

# 2. Sandbox staff keys, on the agency's clock.
status, _, practitioner = call("POST", "/v1/sandbox/staff-keys", AGENCY_KEY, {"role": "practitioner"})
expect("2 a sandbox practitioner key", status == 201, practitioner)
status, _, manager = call("POST", "/v1/sandbox/staff-keys", AGENCY_KEY, {"role": "manager"})
expect("2 a sandbox manager key", status == 201, manager)

# 3. Submit with an Idempotency-Key; the retry is answered as the first request was.
reference = f"WALK-{uuid.uuid4().hex[:8]}"
contact = {
    "agency_reference": reference,
    "referrer": {"name": "Jo Head", "role": "Designated safeguarding lead"},
    "children": [{"given_name": "Ella", "family_name": "Walkthrough", "date_of_birth": "2019-05-01"}],
    "concerns": ["physical_abuse"],
    "narrative": "Teacher saw father hit the child in the playground.",
    "consent": {"status": "obtained"},
}
key = str(uuid.uuid4())
status, headers, created = call("POST", "/v1/contacts", AGENCY_KEY, contact, {"Idempotency-Key": key})
expect("3 submit", status == 201 and created["decision_due_at"], created)
status, headers, again = call("POST", "/v1/contacts", AGENCY_KEY, contact, {"Idempotency-Key": key})
replayed = {k.lower(): v for k, v in headers.items()}.get("idempotent-replayed")
expect("3 a safe retry", status == 201 and again["id"] == created["id"] and replayed == "true", (status, headers))
contact_id = created["id"]

# 4. Past the deadline on the agency's test clock: the breach fires.
due = dt.datetime.fromisoformat(created["decision_due_at"].replace("Z", "+00:00"))
advance_to = (due + dt.timedelta(minutes=1)).isoformat()
status, _, clock = call("POST", "/v1/sandbox/clock", AGENCY_KEY, {"advance_to": advance_to})
expect("4 move the test clock", status == 200 and clock["steps_fired"] >= 1, clock)
status, _, back = call("POST", "/v1/sandbox/clock", AGENCY_KEY, {"advance_to": created["received_at"]})
expect("4 never back", status == 422, back)

# 5. Claim, decide (late: a reason), authorise (another manager: four eyes).
status, headers, claimed = call("POST", f"/v1/contacts/{contact_id}/claim", practitioner["key"])
etag = {k.lower(): v for k, v in headers.items()}.get("etag")
expect("5 claim", status == 200 and etag, (status, claimed))
decision = {
    "outcome": "early_help",
    "rationale": "Support offered to the family.",
    "feedback": "Early help has been offered to the family.",
    "threshold_level": "early_help",
    "late_reason": "capacity",
}
status, _, decided = call("POST", f"/v1/contacts/{contact_id}/decision", practitioner["key"], decision, {"If-Match": etag})
expect("5 decide", status == 200, decided)
status, _, authorised = call("POST", f"/v1/contacts/{contact_id}/decision/authorise", manager["key"], None, {"If-Match": "*"})
expect("5 authorise", status == 200, authorised)

# 6. The decision's webhook, verified by the reference library.
headers, body = next_delivery("6 the decision webhook")
payload = json.loads(body)
expect("6 verified by standardwebhooks", headers["x-verified-by"] == secrets, headers)
expect("6 thin payload", payload["type"] == "contact.decided" and payload["data"] == {
    "contact_id": contact_id, "agency_reference": reference, "status": "decided", "outcome": "early_help"}, payload)
status, _, view = call("GET", f"/v1/contacts/{contact_id}", AGENCY_KEY)
expect("6 the rest through the API", view["feedback"] == decision["feedback"], view)
try:
    Webhook(secrets[0]).verify(body.replace(b"early_help", b"no_further_action"), headers)
    expect("6 a tampered body fails", False, "verified")
except WebhookVerificationError:
    expect("6 a tampered body fails", True)

# 7. Rotate the secret: during the overlap each delivery verifies with either secret.
status, _, rotated = call("POST", f"/v1/agencies/{AGENCY_ID}/webhook/rotate-secret", ADMIN_KEY, {"overlap_hours": 24})
expect("7 rotate the secret", status == 200 and rotated["secret"] != secrets[0], rotated)
secrets.append(rotated["secret"])
status, _, test = call("POST", "/v1/webhook-deliveries/test", AGENCY_KEY)
expect("7 ask for a test delivery", status == 202, test)
headers, body = next_delivery("7 the test delivery")
expect("7 verified with the old and the new secret", headers["x-verified-by"] == secrets, headers)
expect("7 two signatures", len(headers["webhook-signature"].split(" ")) == 2, headers["webhook-signature"])

# 8. The change feed: the contact once, as it is now; then nothing more.
status, _, page = call("GET", "/v1/contacts?limit=100", AGENCY_KEY)
mine = [c for c in page["contacts"] if c["id"] == contact_id]
expect("8 the change feed", status == 200 and len(mine) == 1 and mine[0]["status"] == "decided", page)
status, _, rest = call("GET", f"/v1/contacts?after={page['next_after']}", AGENCY_KEY)
expect("8 caught up", rest["contacts"] == [] and rest["next_after"] == page["next_after"], rest)

# 9. The agency's own record of its deliveries.
status, _, deliveries = call("GET", "/v1/webhook-deliveries", AGENCY_KEY)
states = sorted(d["status"] for d in deliveries["deliveries"])
expect("9 deliveries", status == 200 and states == ["delivered", "delivered"], deliveries)
print("the walkthrough works")
