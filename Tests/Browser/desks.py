"""The desks in a real browser: headless Chromium (Debian's chromium and chromium-driver) driven by Selenium,
each page checked with axe-core (axe-selenium-python). Run by Tests/Browser/run-desks.sh against a hub that
`make run` started and `make demo` fed; every check names what it saw when it fails.

What it shows:
- the decision maker signs in, opens the Red package, records a decision; the SPA's desk then shows the
  outcome; a second submission of the same form has no effect (one decision in the desk's outbox);
- the school's key adult opens an Encompass notice and acknowledges it: the coordinator records the
  acknowledgement, so the escalation at the school day's start does not fire;
- the Practice Manager opens the DAN triage list, finds the demo's Standard DAN, and records that a MASH enquiry
  is opened about one of its children on an override agreed at the meeting: the coordinator records the
  outcome and opens the enquiry, and the list shows the DAN as triaged;
- the Missing and Exploitation Co-ordinator sees the day's review (the placed child found, his interview due with
  the time left; the Medway child still missing), records the offer and then the interview on his found report
  (a form without the interview's record refused), the coordinator concludes the episode, and the panel list
  holds both children with their exploitation flags;
- refusals, each logged in the desk's access log: a wrong password, a missing and a forged CSRF token, a session
  cookie replayed after sign-out, another school's item opened by URL, and the lockout after repeated failures;
- corrections reach the desk (with --corrections, after run-desks.sh sent each through mashctl): an opinion
  marked incorrect is shown on the decided package; while the child's data is restricted the inbox does not show
  whom the package is about and the package itself is not shown (the refusal logged); lifted, it is again;
- the front door: the demo's contact shows its outcome on the teacher's portal; a contact made in the browser is
  refused without its consent reason and sent with it, is not found by another professional by URL, may not be
  screened by the SPA's reader (no spa role) nor into an enquiry without consent, is screened into a Red enquiry,
  answered, decided, and its outcome and timeline reach the teacher; a no-name consultation holding an NHS number
  is refused, an anonymous one reaches the professional, who asks for a correction that reaches the SPA;
- no page has a serious or critical accessibility violation; screenshots of each page are kept.
"""

import argparse
import http.cookiejar
import json
import os
import sqlite3
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

from axe_selenium_python import Axe
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.support.ui import Select, WebDriverWait

failures = []


def check(what, condition, detail=""):
    print(("ok   " if condition else "FAIL ") + what + ("" if condition else f" ({detail})"), flush=True)
    if not condition:
        failures.append(what)
    return condition


def eventually(what, probe, seconds=60):
    """The probe's first truthy value within `seconds` (polled by Selenium's wait); falsy, and a failed check,
    if none came."""
    try:
        return WebDriverWait(probe, seconds, poll_frequency=0.5).until(lambda _: probe())
    except TimeoutException:
        check(what, False, f"not within {seconds} s")
        return probe()


class Desks:
    def __init__(self, args):
        self.args = args
        self.desks = {}
        with open(args.desks) as listing:
            for line in listing:
                party, url, staff, password_file = line.split()
                with open(password_file) as f:
                    self.desks[party] = {"url": url, "staff": staff, "password": f.read().strip()}
        self.context = ssl.create_default_context(cafile=args.ca)
        os.makedirs(args.screenshots, exist_ok=True)
        options = webdriver.ChromeOptions()
        options.binary_location = args.chromium
        for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1024"]:
            options.add_argument(flag)
        # The desks' certificate comes from the hub's development CA, which this browser profile does not hold.
        options.accept_insecure_certs = True
        self.driver = webdriver.Chrome(service=Service(args.chromedriver), options=options)
        self.driver.set_page_load_timeout(30)

    def close(self):
        self.driver.quit()

    def url(self, party, path="/"):
        return self.desks[party]["url"].rstrip("/") + path

    def page(self, name):
        """A screenshot and an axe-core check of the page the browser shows."""
        self.driver.save_screenshot(os.path.join(self.args.screenshots, f"{name}.png"))
        axe = Axe(self.driver)
        axe.inject()
        results = axe.run()
        serious = [
            f"{v['id']} ({v['impact']}): {v['help']}" for v in results["violations"]
            if v.get("impact") in ("serious", "critical")
        ]
        check(f"{name}: no serious or critical accessibility violations", not serious, "; ".join(serious))

    def submit(self, button):
        """Clicks a form's button and waits for the next page."""
        # A mark on the current window: the next page's window does not have it. (Waiting for the old body to go
        # stale can meet Chromium between documents, which it reports as an error rather than staleness.)
        self.driver.execute_script("window.mashPageBeforeSubmit = true")
        button.click()

        def next_page(driver):
            try:
                return driver.execute_script(
                    "return window.mashPageBeforeSubmit === undefined && document.readyState === 'complete'")
            except WebDriverException:
                return False
        WebDriverWait(self.driver, 30).until(next_page)

    def text(self):
        return self.driver.find_element(By.TAG_NAME, "body").text

    def sign_in(self, party, password=None, staff=None):
        desk = self.desks[party]
        self.driver.delete_all_cookies()
        self.driver.get(self.url(party, "/sign-in"))
        self.driver.find_element(By.ID, "staff").send_keys(staff or desk["staff"])
        self.driver.find_element(By.ID, "password").send_keys(password or desk["password"])
        self.submit(self.driver.find_element(By.CSS_SELECTOR, "main button[type=submit]"))

    def sign_out(self):
        self.submit(self.driver.find_element(By.CSS_SELECTOR, "header nav button"))

    def session_cookie(self):
        cookie = self.driver.get_cookie("mash_session")
        return cookie["value"] if cookie else None

    def request(self, party, path, cookie=None, form=None):
        """A request outside the browser (to forge what a browser would not send): status, final URL, text."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.url(party, path), data=data)
        if cookie:
            request.add_header("Cookie", f"mash_session={cookie}")
        try:
            with urllib.request.urlopen(request, context=self.context) as response:
                return response.status, response.url, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.url, error.read().decode()

    def access_log(self, party):
        path = os.path.join(self.args.state, "desks", party, "access.log")
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def logged(self, party, event, **fields):
        return any(
            entry["event"] == event and all(entry.get(k) == v for k, v in fields.items())
            for entry in self.access_log(party))

    def rows(self):
        """The inbox's rows: (link text, href, row text)."""
        rows = []
        for row in self.driver.find_elements(By.CSS_SELECTOR, "tbody tr"):
            link = row.find_element(By.TAG_NAME, "a")
            rows.append((link.text, link.get_attribute("href"), row.text))
        return rows


def decision_maker(d):
    party = "decision-maker"
    d.driver.get(d.url(party))
    check("an unsigned visitor is sent to sign in", d.driver.current_url.endswith("/sign-in"), d.driver.current_url)
    d.page("sign-in")

    d.sign_in(party, password="not the password at all")
    check("a wrong password is refused", "not right" in d.text(), d.text()[:200])
    check("the refusal is in the access log",
          d.logged(party, "sign-in-refused", staff=d.desks[party]["staff"]))
    d.page("sign-in-refused")

    d.sign_in(party)
    check("the decision maker signs in to the inbox", d.driver.current_url.endswith("/inbox"), d.driver.current_url)
    rows = eventually("the Red package is in the inbox",
                      lambda: (d.driver.refresh(), [r for r in d.rows() if "Red" in r[2]])[1])
    d.page("decision-maker-inbox")
    if not rows:
        return None
    title, href, _ = rows[0]
    check("the package is listed as a decision package", title.startswith("Decision package"), title)
    item = href.rsplit("/", 1)[1]
    d.driver.get(href)
    check("the item page lays the package out for a person",
          "Decision due" in d.text() and "Responses" in d.text() and "{" not in d.text(), d.text()[:300])
    check("viewing the package is in the access log", d.logged(party, "view", item=item))
    d.page("decision-maker-package")

    csrf = d.driver.find_element(By.CSS_SELECTOR, "form[action$='/decide'] input[name=csrf]").get_attribute("value")
    cookie = d.session_cookie()
    # Forgeries first: without the token, and with a wrong one. Nothing may be recorded.
    for name, form in [("a missing", {"outcome": "no-further-action", "rationale": "forged"}),
                       ("a forged", {"csrf": "0" * len(csrf), "outcome": "no-further-action", "rationale": "forged"})]:
        status, _, _ = d.request(party, f"/items/{item}/decide", cookie=cookie, form=form)
        check(f"a decision with {name} CSRF token is refused (403)", status == 403, status)
    check("the CSRF refusals are in the access log", d.logged(party, "csrf-refused", item=item))

    d.driver.find_element(By.ID, "outcome-strategy-discussion").click()
    d.driver.find_element(By.ID, "rationale").send_keys(
        "Police and Health both hold concerning information; a strategy discussion is needed today.")
    d.submit(d.driver.find_element(By.CSS_SELECTOR, "form[action$='/decide'] button"))
    check("the decision is recorded", "Decision recorded" in d.text(), d.text()[:300])
    check("the item says what was decided and by whom",
          f"Strategy discussion (s47): decided by {d.desks[party]['staff']}" in d.text(), d.text()[:300])
    d.page("decision-maker-decided")

    # The same form again (a double click, a resubmission): one effect.
    status, _, text = d.request(party, f"/items/{item}/decide", cookie=cookie,
                                form={"csrf": csrf, "outcome": "no-further-action", "rationale": "again"})
    check("a second submission says it was already decided", status == 200 and "already dealt with" in text, status)
    store = sqlite3.connect(os.path.join(d.args.state, "desks", party, "desk.sqlite"))
    decisions = store.execute("SELECT COUNT(*) FROM outbox WHERE type = 'mash.decision/1'").fetchone()[0]
    store.close()
    check("exactly one decision went to the hub", decisions == 1, decisions)
    check("the decision is in the access log", d.logged(party, "decide", item=item))

    d.sign_out()
    check("signing out says so", "signed out" in d.text().lower(), d.text()[:200])
    status, url, _ = d.request(party, "/inbox", cookie=cookie)
    check("the session cookie replayed after sign-out is refused", url.endswith("/sign-in"), (status, url))
    check("the replay is in the access log", d.logged(party, "session-refused"))
    return item


def spa(d):
    party = "spa"
    d.sign_in(party)
    rows = eventually("the SPA's desk shows the outcome",
                      lambda: (d.driver.refresh(), [r for r in d.rows() if "Strategy discussion" in r[0]])[1])
    d.page("spa-inbox")
    if rows:
        d.driver.get(rows[0][1])
        check("the outcome carries the rationale", "strategy discussion is needed today" in d.text(), d.text()[:300])
        d.page("spa-outcome")


def front_door(d):
    """The front door: the demo's contact shows its outcome on the teacher's portal; a teacher makes a contact in
    the browser, another professional cannot open it, the SPA's reader may not screen it and a screening without
    consent is refused; screened into a Red enquiry, answered and decided, its outcome reaches the teacher's
    portal with its timeline; a no-name consultation holding an NHS number is refused, an anonymous one reaches
    the professional, who asks for a correction."""
    portal = "portal"
    coordinator = sqlite3.connect(os.path.join(d.args.state, "coordinator", "coordinator.sqlite"))
    d.sign_in(portal)
    d.driver.get(d.url(portal, "/contacts"))
    check("the demo's contact shows the decision maker's outcome on the teacher's portal",
          eventually("the demo's outcome reaches the portal",
                     lambda: (d.driver.refresh(), "Outcome: Strategy discussion (s47)" in d.text())[1]), d.text()[:300])
    d.page("portal-contacts")

    d.driver.get(d.url(portal, "/contacts/new"))
    d.page("portal-contact-form")
    fields = {"child_forename": "Ruby", "child_surname": "Testcase", "child_postcode": "ME5 9ZZ",
              "concern": "Ruby (Year 3) came in with a burn on her hand and would not say how it happened.",
              "actionsTaken": "Spoke to Ruby with the class teacher; first aid given; logged on CPOMS."}
    for field, value in fields.items():
        d.driver.find_element(By.ID, field).send_keys(value)
    d.driver.find_element(By.ID, "parentsAware-yes").click()
    d.driver.find_element(By.ID, "consent-refused").click()
    d.submit(d.driver.find_element(By.CSS_SELECTOR, "form[action='/contacts'] button"))
    check("a contact whose consent was refused without a reason is sent back, saying what to put right",
          "why consent was not given" in d.text(), d.text()[:300])
    check("what was typed is kept", d.driver.find_element(By.ID, "child_forename").get_attribute("value") == "Ruby")
    d.page("portal-contact-refused")
    d.driver.find_element(By.ID, "consent-given").click()
    d.submit(d.driver.find_element(By.CSS_SELECTOR, "form[action='/contacts'] button"))
    check("the contact is sent, with a reference to keep", "Your reference is MC-" in d.text(), d.text()[:300])
    reference = d.driver.find_element(By.TAG_NAME, "h1").text.removeprefix("Contact ")
    d.page("portal-contact-sent")
    d.driver.get(d.url(portal, "/contacts"))
    link = d.driver.find_element(By.LINK_TEXT, reference).get_attribute("href")
    contact = link.rsplit("/", 1)[1]

    d.sign_in("portal:other")
    d.driver.get(link)
    check("another professional opening the contact by its URL is refused", "no such contact among yours" in d.text(),
          d.text()[:200])
    check("the refusal is in the portal's access log", d.logged(portal, "not-found", item=contact))
    d.driver.get(d.url(portal, "/contacts"))
    check("their own list does not hold it", reference not in d.text(), d.text()[:300])
    d.page("portal-other-professional")

    def on_screening_list():
        d.driver.get(d.url("spa", "/screening"))
        found = [a.get_attribute("href") for a in d.driver.find_elements(By.LINK_TEXT, reference)]
        return found[0] if found else None
    d.sign_in("spa:reader")
    item_url = eventually("the contact reaches the SPA's screening list", on_screening_list)
    if not item_url:
        return
    item = item_url.rsplit("/", 1)[1]
    d.driver.get(item_url)
    check("the reader is told only the SPA role may screen", "Only staff with the SPA role" in d.text(), d.text()[:300])
    csrf = d.driver.find_element(By.CSS_SELECTOR, "form[action$='/screen'] input[name=csrf]").get_attribute("value")
    status, _, text = d.request("spa", f"/items/{item}/screen", cookie=d.session_cookie(), form={
        "csrf": csrf, "decision": "no-further-action", "rationale": "x", "feedback": "y"})
    check("a member of staff without the SPA role screening is refused", status == 400 and "spa role" in text, status)
    check("that refusal is in the SPA desk's access log", d.logged("spa", "refused", item=item))

    d.sign_in("spa")
    d.driver.get(d.url("spa", "/screening"))
    check("the screening list holds the contact with its time left", reference in d.text(), d.text()[:300])
    d.page("spa-screening-list")
    d.driver.get(item_url)
    check("the contact is laid out for the SPA", "Ruby Testcase" in d.text() and "burn on her hand" in d.text(),
          d.text()[:300])
    d.page("spa-contact")

    def screen(consent, born=None):
        d.driver.get(item_url)
        d.driver.find_element(By.ID, "decision-mash-enquiry").click()
        Select(d.driver.find_element(By.ID, "rag")).select_by_value("red")
        d.driver.find_element(By.ID, "rationale").send_keys("An unexplained burn on a 7-year-old's hand.")
        d.driver.find_element(By.ID, "feedback").send_keys(
            "Thank you. The MASH is finding out what the partner agencies know today.")
        if consent:
            d.driver.find_element(By.ID, "consent-given").click()
            d.driver.find_element(By.ID, "givenBy").send_keys("mother")
        if born:
            # A date input takes the date as typed in the browser's locale (day, month, year for en-GB).
            d.driver.execute_script("document.getElementById('dateOfBirth').value = arguments[0]", born)
        d.submit(d.driver.find_element(By.CSS_SELECTOR, "form[action$='/screen'] button"))
    screen(consent=False)
    check("an SPA screening into a MASH enquiry without consent or an override is refused",
          "consent or an override" in d.text(), d.text()[:300])
    d.page("spa-screening-refused")
    screen(consent=True)
    check("a MASH enquiry about a child without a date of birth is refused, saying how to put it right",
          "needs the child's date of birth" in d.text(), d.text()[:300])
    screen(consent=True, born="2019-05-02")
    check("the screening is recorded", "Screening recorded" in d.text(), d.text()[:300])
    d.page("spa-screened")

    d.sign_in("decision-maker")
    rows = eventually("the agencies answer and the contact's package reaches the decision maker",
                      lambda: (d.driver.refresh(), [r for r in d.rows() if reference in r[2]])[1], seconds=180)
    if not rows:
        return
    d.driver.get(rows[0][1])
    d.driver.find_element(By.ID, "outcome-child-in-need-assessment").click()
    d.driver.find_element(By.ID, "rationale").send_keys("Police and Health hold nothing; an assessment is needed.")
    d.submit(d.driver.find_element(By.CSS_SELECTOR, "form[action$='/decide'] button"))
    check("the decision maker decides the contact's enquiry", "Decision recorded" in d.text(), d.text()[:300])

    d.sign_in(portal)
    d.driver.get(link)
    check("the teacher's portal shows the outcome in words",
          eventually("the outcome reaches the teacher's portal",
                     lambda: (d.driver.refresh(), "A social worker will assess" in d.text())[1]), d.text()[:300])
    check("the timeline says when the teacher was told",
          "The SPA recorded the outcome and told you" in d.text() and "The outcome reached this portal" in d.text(),
          d.text()[:600])
    check("no partner's findings or the decision's rationale reach the referrer",
          "Police and Health hold nothing" not in d.text(), d.text()[:600])
    d.page("portal-outcome")
    delivered = eventually("the portal's receipt reaches the hub", lambda: coordinator.execute(
        "SELECT delivered_at IS NOT NULL FROM contact WHERE reference = ?", (reference,)).fetchone() == (1,))
    check("the hub records that the referrer's portal holds the outcome", delivered)

    d.sign_in("spa")
    d.driver.get(d.url("spa", "/consultations/new"))
    d.page("spa-consultation-form")

    def consult(concern):
        d.driver.get(d.url("spa", "/consultations/new"))
        d.driver.find_element(By.ID, "professional").send_keys(d.desks[portal]["staff"])
        d.driver.find_element(By.ID, "organisation").send_keys("Riverside Primary School")
        d.driver.find_element(By.ID, "role").send_keys("Designated Safeguarding Lead")
        d.driver.find_element(By.ID, "concern").send_keys(concern)
        d.driver.find_element(By.ID, "advice").send_keys("Talk to the family about Early Help; keep recording.")
        d.driver.find_element(By.ID, "recommendation-early-help").click()
        d.submit(d.driver.find_element(By.CSS_SELECTOR, "form[action='/consultations'] button"))
    consult("A Year 5 pupil (NHS number 943 476 5919) often arrives hungry.")
    check("a consultation holding an NHS number is refused", "an NHS number" in d.text(), d.text()[:300])
    d.page("spa-consultation-refused")
    consult("A Year 5 pupil often arrives hungry and tired; mum says money is short.")
    check("an anonymous consultation is recorded", "recorded; its summary goes" in d.text(), d.text()[:300])
    d.page("spa-consultations")

    d.sign_in(portal)
    rows = eventually("the consultation's summary reaches the professional's portal",
                      lambda: (d.driver.refresh(), [r for r in d.rows() if "No-name consultation" in r[0]])[1])
    if not rows:
        return
    d.driver.get(rows[0][1])
    check("the professional reads the advice", "Talk to the family about Early Help" in d.text(), d.text()[:300])
    d.page("portal-consultation")
    d.driver.find_element(By.ID, "text").send_keys("It is most days this term, not some days.")
    d.submit(d.driver.find_element(By.CSS_SELECTOR, "form[action$='/correction'] button"))
    check("the professional asks for a correction", "Your correction was sent" in d.text(), d.text()[:300])
    d.sign_in("spa")
    check("the correction reaches the SPA's desk",
          eventually("the correction reaches the SPA", lambda: (
              d.driver.refresh(), [r for r in d.rows() if "Correction asked" in r[0]])[1]))
    coordinator.close()


def send_contact(d):
    """Only makes one contact on the portal (for run-desks.sh's kill -9 while it cannot be published); prints its
    reference."""
    d.sign_in("portal")
    d.driver.get(d.url("portal", "/contacts/new"))
    for field, value in {"child_forename": "Kai", "child_surname": "Testcase",
                         "concern": "Kai said an older boy took him in a car after school.",
                         "actionsTaken": "Told his mother and the head."}.items():
        d.driver.find_element(By.ID, field).send_keys(value)
    d.driver.find_element(By.ID, "parentsAware-yes").click()
    d.driver.find_element(By.ID, "consent-given").click()
    d.submit(d.driver.find_element(By.CSS_SELECTOR, "form[action='/contacts'] button"))
    sent = "Your reference is MC-" in d.text()
    check("the contact is recorded on the portal", sent, d.text()[:300])
    if sent:
        print("reference " + d.driver.find_element(By.TAG_NAME, "h1").text.removeprefix("Contact "))


def schools(d):
    party = "school-990001"
    item = acknowledge(d, party, pages="school")
    if not item:
        return
    coordinator = sqlite3.connect(os.path.join(d.args.state, "coordinator", "coordinator.sqlite"))

    def acknowledged():
        rows = coordinator.execute(
            "SELECT COUNT(*) FROM encompass_notice WHERE recipient = ? AND acknowledged_at IS NOT NULL",
            (party,)).fetchone()[0]
        return rows > 0
    check("the coordinator records the acknowledgement, so the escalation stops",
          eventually("the acknowledgement reaches the coordinator", acknowledged))
    coordinator.close()

    # A key adult of the other school opens this school's notice by its URL.
    d.sign_in("school-990002")
    d.driver.get(d.url("school-990002", f"/items/{item}"))
    check("another school's item is not shown", "no such item" in d.text(), d.text()[:200])
    check("the attempt is in that desk's access log", d.logged("school-990002", "not-found", item=item))


def practice_manager(d):
    party = "practice-manager"
    d.sign_in(party)
    d.driver.find_element(By.LINK_TEXT, "DAN triage").click()
    rows = eventually("the Standard DAN is on the triage list",
                      lambda: (d.driver.refresh(), [r for r in d.rows() if "Maya Okafor" in r[2]])[1])
    check("the list says what is still to triage", "still to triage" in d.text(), d.text()[:300])
    d.page("practice-manager-triage-list")
    check("viewing the list is in the access log", d.logged(party, "triage-list"))
    if not rows:
        return
    href = rows[0][1]
    item = href.rsplit("/", 1)[1]
    d.driver.get(href)
    check("the DAN is laid out for triage", "Triage meeting" in d.text() and "Record the triage outcome" in d.text(),
          d.text()[:300])
    d.page("practice-manager-dan")

    # An enquiry without its child and RAG rating is refused, and nothing is recorded.
    d.driver.find_element(By.ID, "decision-open-enquiry").click()
    d.driver.find_element(By.ID, "rationale").send_keys("Second incident; Maya is known to the nursery.")
    d.submit(d.driver.find_element(By.CSS_SELECTOR, "form[action$='/triage'] button"))
    check("an enquiry without its child is refused, saying so",
          "Nothing was recorded" in d.text() and "choose the child" in d.text(), d.text()[:300])
    d.page("practice-manager-triage-refused")

    d.driver.get(href)
    d.driver.find_element(By.ID, "decision-open-enquiry").click()
    d.driver.find_element(By.ID, "rationale").send_keys("Second incident; Maya is known to the nursery.")
    maya = [o for o in d.driver.find_elements(By.CSS_SELECTOR, "#child option") if o.text.startswith("Maya")]
    check("the form offers Maya as the enquiry's subject", len(maya) == 1)
    if not maya:
        return
    maya[0].click()
    d.driver.find_element(By.CSS_SELECTOR, "#rag option[value=green]").click()
    d.driver.find_element(By.ID, "consent-override").click()
    d.driver.find_element(By.CSS_SELECTOR, "#ground option[value=risk-of-significant-harm]").click()
    d.driver.find_element(By.ID, "details").send_keys("Agreed at the meeting: repeat incidents, young children.")
    d.submit(d.driver.find_element(By.CSS_SELECTOR, "form[action$='/triage'] button"))
    check("the triage outcome is recorded", "Triage outcome recorded" in d.text(), d.text()[:300])
    check("the item says what was decided and by whom",
          f"Open a MASH enquiry: triaged by {d.desks[party]['staff']}" in d.text(), d.text()[:300])
    check("the triage outcome is in the access log", d.logged(party, "triage", item=item))
    d.page("practice-manager-triaged")

    coordinator = sqlite3.connect(os.path.join(d.args.state, "coordinator", "coordinator.sqlite"))

    def opened():
        return coordinator.execute(
            "SELECT e.sender, e.rag FROM dan d JOIN enquiry e ON e.id = d.triage_enquiry "
            "WHERE d.triage_decision = 'open-enquiry' AND d.triaged_by = ?", (d.desks[party]["staff"],)).fetchone()
    enquiry = eventually("the coordinator opens the enquiry", opened)
    check("the enquiry is the Practice Manager's, rated Green", enquiry == ("practice-manager", "green"), enquiry)
    coordinator.close()
    d.driver.find_element(By.LINK_TEXT, "DAN triage").click()
    check("the list shows the DAN triaged", "Open a MASH enquiry: triaged" in d.text(), d.text()[:400])
    d.driver.find_element(By.LINK_TEXT, "Inbox").click()
    high = [r for r in d.rows() if r[0] == "High-risk missing child"]
    check("the inbox holds the high-risk missing child, with her name", bool(high) and "Niamh O'Connor" in high[0][2],
          d.text()[:600])
    d.sign_out()


def missing_coordinator(d):
    """The Missing and Exploitation Co-ordinator: the daily review, the return interview recorded on the placed
    child's found report (an offer, a refused form, then the interview), and the panel list."""
    party = "missing-coordinator"
    d.sign_in(party)
    d.driver.find_element(By.LINK_TEXT, "Missing: daily review").click()
    eventually("the review shows the demo's two missing children",
               lambda: (d.driver.refresh(), "Tyler Brooks" in d.text() and "Niamh O'Connor" in d.text())[1])
    text = d.text()
    due, rest = text.split("Still missing", 1) if "Still missing" in text else (text, "")
    check("Tyler, found this morning, is under the interviews due, with the time left in words",
          "Tyler Brooks" in due and " left" in due and "placed by la-kent" in due, due[:600])
    check("Niamh, still missing, is under still missing", "Niamh O'Connor" in rest.split("New in the last")[0],
          rest[:400])
    check("viewing the review is in the access log", d.logged(party, "missing-review"))
    d.page("missing-coordinator-review")

    tyler = [a.get_attribute("href") for a in d.driver.find_elements(By.CSS_SELECTOR, ".episode h3 a")
             if a.text.startswith("Tyler Brooks")]
    if not check("the review links to Tyler's found report", bool(tyler)):
        return
    href = tyler[0]
    d.driver.get(href)
    check("the found report names the child and offers the interview form",
          "Tyler Brooks" in d.text() and "Record the return interview" in d.text(), d.text()[:400])
    d.page("missing-coordinator-found")

    def interview(response, record=None, theme=None, flag=None):
        d.driver.get(href)
        d.driver.find_element(By.ID, f"response-{response}").click()
        d.driver.find_element(By.ID, "independent-yes").click()
        if theme:
            d.driver.find_element(By.ID, f"theme-{theme}").click()
        if flag:
            d.driver.find_element(By.ID, f"flag-{flag}").click()
        if record:
            d.driver.find_element(By.ID, "record").send_keys(record)
        d.submit(d.driver.find_element(By.CSS_SELECTOR, "form[action$='/interview'] button"))

    interview("offered")
    check("the offer is recorded and the form stays for the interview",
          "The offer was recorded" in d.text() and "Record the return interview" in d.text(), d.text()[:400])
    interview("held")
    check("an interview held without its record is refused, saying so",
          "Nothing was recorded" in d.text() and "write what was said and agreed" in d.text(), d.text()[:300])
    d.page("missing-coordinator-refused")
    interview("held", record="Tyler talked about older boys paying him to carry parcels; agreed a safety plan "
              "with his carer and a referral to the exploitation team.", theme="peer-relationships", flag="cce")
    check("the interview is recorded and the clock stops",
          "return interview was recorded" in d.text() and "Interview held: interview recorded by" in d.text(),
          d.text()[:400])
    check("recording the interview is in the access log", d.logged(party, "interview", item=href.rsplit("/", 1)[1]))
    d.page("missing-coordinator-interviewed")

    coordinator = sqlite3.connect(os.path.join(d.args.state, "coordinator", "coordinator.sqlite"))

    def concluded():
        return coordinator.execute(
            "SELECT state, interview_by, held_at IS NOT NULL, placing_authority FROM missing_episode "
            "WHERE state = 'concluded' AND placing_authority = 'la-kent'").fetchone()
    episode = eventually("the coordinator records the interview and concludes the episode", concluded)
    check("the episode is concluded by the co-ordinator's held interview",
          episode == ("concluded", party, 1, "la-kent"), episode)
    coordinator.close()

    d.driver.find_element(By.LINK_TEXT, "Missing: daily review").click()
    concluded_section = d.text().split("Concluded", 1)[-1]
    check("the review shows Tyler's interview held", "Tyler Brooks" in concluded_section
          and "Interview held" in concluded_section, concluded_section[:300])
    d.driver.find_element(By.LINK_TEXT, "Panel list").click()
    check("the panel list holds both children, with their exploitation flags",
          "Tyler Brooks" in d.text() and "Niamh O'Connor" in d.text() and "County lines" in d.text()
          and "Child sexual exploitation" in d.text(), d.text()[:600])
    check("viewing the panel list is in the access log", d.logged(party, "panel-list"))
    d.page("missing-coordinator-panel")
    d.sign_out()


def acknowledge(d, party, pages=None):
    """Acknowledges the first Encompass notice on `party`'s desk and returns its item id; with `pages`, each
    page on the way is kept and checked as `<pages>-inbox`, `-notice` and `-acknowledged`."""
    d.sign_in(party)
    rows = eventually(f"{party}'s desk shows an Encompass notice",
                      lambda: (d.driver.refresh(), [r for r in d.rows() if "Encompass" in r[0]])[1])
    if pages:
        d.page(f"{pages}-inbox")
    if not rows:
        return None
    href = rows[0][1]
    d.driver.get(href)
    if pages:
        d.page(f"{pages}-notice")
    d.submit(d.driver.find_element(By.CSS_SELECTOR, "form[action$='/acknowledge'] button"))
    check(f"{party}'s notice is acknowledged on the desk", "Acknowledged" in d.text(), d.text()[:300])
    if pages:
        d.page(f"{pages}-acknowledged")
    return href.rsplit("/", 1)[1]


def lockout(d):
    # A desk no later stage signs in to: the lockout lasts 15 minutes, past make run's restarts.
    party = "school-990001"
    for _ in range(5):
        d.sign_in(party, password="wrong password, again")
    check("repeated failures lock the account", "locked" in d.text(), d.text()[:200])
    d.sign_in(party)
    check("the right password is refused while locked", "locked" in d.text() and
          not d.driver.current_url.endswith("/inbox"), d.text()[:200])
    check("the lockout is in the access log", d.logged(party, "locked", staff=d.desks[party]["staff"]))
    d.page("locked")


def corrections(d, stage):
    """The decision maker's decided Red package after a correction: `noted`, `restricted` or `lifted`."""
    party = "decision-maker"
    coordinator = sqlite3.connect(os.path.join(d.args.state, "coordinator", "coordinator.sqlite"))
    # The demo's Red enquiry came from the teacher's contact: its package carries the contact's reference.
    reference = coordinator.execute(
        "SELECT contact.reference FROM contact JOIN enquiry ON enquiry.id = contact.enquiry_id "
        "WHERE enquiry.rag = 'red' ORDER BY enquiry.opened_at LIMIT 1").fetchone()[0]
    coordinator.close()
    d.sign_in(party)
    rows = [r for r in d.rows() if reference in r[2] and "decided" in r[2]]
    check("the decided Red package is in the inbox", len(rows) == 1, [r[2] for r in d.rows()])
    if not rows:
        return
    _, href, row = rows[0]
    item = href.rsplit("/", 1)[1]
    if stage == "restricted":
        check("the inbox does not say whom a restricted package is about", "Restricted: not shown" in row, row)
        d.page("decision-maker-inbox-restricted")
        d.driver.get(href)
        check("the restricted package is not shown, and the page says why",
              "Restricted" in d.text() and "Responses" not in d.text(), d.text()[:300])
        check("the refused view is in the access log", d.logged(party, "restricted", item=item))
        d.page("decision-maker-restricted")
        return
    check("the inbox says whom the package is about again", "Restricted" not in row, row)
    d.driver.get(href)
    check("the package is shown", "Responses" in d.text(), d.text()[:300])
    check("the opinion marked incorrect is shown on the package, with the DPO's note",
          "An opinion in this item was found incorrect: The referral's view of the father was wrong" in d.text(),
          d.text()[:600])
    d.page(f"decision-maker-{stage}")


def meetings(d):
    """The MASH meeting and the dispute route: the Practice Manager opens the MASH meeting's list (sent by
    `mashctl meeting send` just before), records who attended and an outcome for each enquiry with its answers in;
    the SPA challenges the Red decision; the First Response Area Manager records its discussion at the MASH and
    resolves it; the SPA is told each stage. Then the teacher challenges the decision on their contact from the
    portal (portal_challenge)."""
    coordinator = sqlite3.connect(os.path.join(d.args.state, "coordinator", "coordinator.sqlite"))
    d.sign_in("practice-manager")
    rows = eventually("the MASH meeting's list is on the Practice Manager's desk",
                      lambda: (d.driver.refresh(), [r for r in d.rows() if r[0] == "Meeting list: MASH meeting"])[1])
    d.page("practice-manager-inbox-meeting")
    if rows:
        d.driver.get(rows[0][1])
        check("the list page has the meeting form", "Record the meeting" in d.text(), d.text()[:400])
        outcomes = d.driver.find_elements(By.CSS_SELECTOR, "select[id^=agreed-]")
        check("an enquiry with its answers in can be decided at the meeting", len(outcomes) >= 1, d.text()[:600])
        d.page("practice-manager-meeting")
        attendees = d.driver.find_element(By.ID, "attendees")
        attendees.send_keys("\nds.hughes, DS Hughes, police\nhv.shah, Health visitor, health")
        for select in outcomes:
            index = select.get_attribute("id").split("-", 1)[1]
            select.find_element(By.CSS_SELECTOR, "option[value=early-help]").click()
            d.driver.find_element(By.ID, f"note-{index}").send_keys("Agreed at the meeting: Early Help via school.")
        d.submit(d.driver.find_element(By.CSS_SELECTOR, "form[action$='/meet'] button"))
        check("the meeting is recorded", "The meeting was recorded" in d.text(), d.text()[:400])
        d.page("practice-manager-meeting-recorded")

        def recorded():
            return coordinator.execute("SELECT attendees, agencies FROM meeting").fetchone()
        meeting = eventually("the coordinator records the meeting", recorded)
        check("with who attended and their agencies",
              meeting is not None and "ds.hughes" in meeting[0] and meeting[1] == "csc,health,police", meeting)
        decided = eventually("each enquiry agreed at the meeting is decided", lambda: coordinator.execute(
            "SELECT COUNT(*) FROM meeting_item i JOIN enquiry e ON e.id = i.enquiry_id "
            "WHERE e.status = 'decided' AND e.decision_outcome = 'early-help'").fetchone()[0] >= len(outcomes))
        check("the meeting's outcomes became the enquiries' decisions", decided)
    d.sign_out()

    d.sign_in("spa")
    rows = [r for r in d.rows() if "Strategy discussion" in r[0]]
    check("the SPA's desk has the Red outcome to challenge", bool(rows), d.text()[:400])
    if rows:
        d.driver.get(rows[0][1])
        d.driver.find_element(By.ID, "grounds").send_keys(
            "The school reports a further disclosure this morning; we ask for the decision to be looked at again.")
        d.submit(d.driver.find_element(By.CSS_SELECTOR, "form[action$='/challenge'] button"))
        check("the challenge is sent", "Your challenge was sent" in d.text(), d.text()[:400])
        d.page("spa-challenge-sent")
    d.sign_out()

    d.sign_in("area-manager")
    rows = eventually("the challenge reaches the Area Manager's desk",
                      lambda: (d.driver.refresh(), [r for r in d.rows() if r[0] == "Challenge to a decision"])[1])
    d.page("area-manager-inbox")
    if rows:
        href = rows[0][1]
        d.driver.get(href)
        check("the challenge page offers its discussion at the MASH", "Record the discussion at the MASH" in d.text(),
              d.text()[:400])
        d.page("area-manager-challenge")
        d.driver.find_element(By.ID, "discuss-note").send_keys("Discussed at the 15:00 meeting with police and SPA.")
        d.submit(d.driver.find_element(By.CSS_SELECTOR, "form[action$='/discuss'] button"))
        check("the discussion is recorded", "The stage was recorded" in d.text(), d.text()[:400])
        eventually("the hub returns the stage to the Area Manager's desk", lambda: coordinator.execute(
            "SELECT stage FROM challenge").fetchone() == ("discussed-at-mash",))

        def resolvable():
            d.driver.get(href)
            return d.driver.find_elements(By.ID, "stage-resolved")
        if eventually("the page offers the later stages", resolvable):
            d.driver.find_element(By.ID, "stage-resolved").click()
            d.driver.find_element(By.ID, "stage-note").send_keys("Reviewed with the Head of Service.")
            d.driver.find_element(By.ID, "resolution").send_keys("The decision stands; the school is told why.")
            d.page("area-manager-resolve")
            d.submit(d.driver.find_element(By.CSS_SELECTOR, "form[action$='/stage'] button"))
            check("the challenge is resolved", "The challenge is resolved" in d.text(), d.text()[:400])
            d.page("area-manager-resolved")
        resolved = eventually("the hub records it resolved", lambda: coordinator.execute(
            "SELECT stage, resolved_at IS NOT NULL FROM challenge").fetchone() == ("resolved", 1))
        check("the challenge is resolved at the hub", resolved)
    d.sign_out()

    d.sign_in("spa")
    told = eventually("the SPA is told it was resolved", lambda: (d.driver.refresh(), [
        r for r in d.rows() if r[0] == "Challenge resolved"])[1])
    if told:
        d.driver.get(told[0][1])
        check("with the resolution", "The decision stands" in d.text(), d.text()[:400])
        d.page("spa-challenge-resolved")
    d.sign_out()
    portal_challenge(d, coordinator)
    coordinator.close()


def portal_challenge(d, coordinator):
    """The teacher who made a contact challenges the MASH's decision on it from the portal; the Area Manager
    resolves it; the teacher (only) sees each stage on the contact's page."""
    portal = "portal"
    teacher = d.desks[portal]["staff"]
    decided = coordinator.execute(
        "SELECT c.reference FROM contact c JOIN enquiry e ON e.id = c.enquiry_id "
        "WHERE e.status = 'decided' AND c.referrer = ? ORDER BY c.received_at DESC", (teacher,)).fetchone()
    check("the teacher has a contact whose MASH enquiry is decided", decided is not None)
    if decided is None:
        return
    grounds = "Since the decision the child has told us more about home; we ask for it to be looked at again."
    d.sign_in(portal)
    d.driver.get(d.url(portal, "/contacts"))
    d.driver.get(d.driver.find_element(By.LINK_TEXT, decided[0]).get_attribute("href"))
    contact_page = d.driver.current_url
    links = d.driver.find_elements(By.ID, "challenge-link")
    check("the contact's outcome offers a challenge", bool(links), d.text()[:600])
    if not links:
        return
    d.page("portal-contact-challengeable")
    d.driver.get(links[0].get_attribute("href"))
    d.driver.find_element(By.ID, "grounds").send_keys(grounds)
    d.page("portal-challenge-form")
    d.submit(d.driver.find_element(By.CSS_SELECTOR, "form[action$='/challenge'] button"))
    check("the teacher's challenge is sent", "Your challenge was sent" in d.text(), d.text()[:400])
    d.page("portal-challenge-sent")
    d.sign_out()

    raised = eventually("the hub records the teacher's challenge", lambda: coordinator.execute(
        "SELECT id FROM challenge WHERE raised_by = 'portal' AND raiser_staff = ?", (teacher,)).fetchone())
    check("the hub has the challenge from the portal, raised by the teacher", raised is not None)
    d.sign_in("area-manager")

    def challenge_page():
        d.driver.get(d.url("area-manager", "/"))
        for text, href, _ in d.rows():
            if text == "Challenge to a decision":
                d.driver.get(href)
                if grounds in d.text() and d.driver.find_elements(By.ID, "stage-resolved"):
                    return href
        return None
    if eventually("the teacher's challenge reaches the Area Manager's desk", challenge_page):
        d.driver.find_element(By.ID, "stage-resolved").click()
        d.driver.find_element(By.ID, "stage-note").send_keys("Reviewed with the Head of Service and the school.")
        d.driver.find_element(By.ID, "resolution").send_keys("A social worker visits this week; the school is told.")
        d.submit(d.driver.find_element(By.CSS_SELECTOR, "form[action$='/stage'] button"))
        check("the Area Manager resolves the teacher's challenge", "The challenge is resolved" in d.text(),
              d.text()[:400])
    d.sign_out()

    d.sign_in(portal)
    shown = eventually("the teacher sees the challenge resolved on the contact's page", lambda: (
        d.driver.get(contact_page), "Your challenge resolved" in d.text())[1])
    check("the contact's timeline has each stage of the teacher's challenge",
          shown and "Your challenge raised" in d.text(), d.text()[:800])
    d.page("portal-challenge-resolved")
    stage_links = d.driver.find_elements(By.LINK_TEXT, "Your challenge resolved")
    check("the timeline's stage opens the Area Manager's resolution", bool(stage_links), d.text()[:800])
    if stage_links:
        d.driver.get(stage_links[0].get_attribute("href"))
        check("with the Area Manager's resolution", "A social worker visits this week" in d.text(), d.text()[:400])
    d.driver.get(d.url(portal, "/"))
    rows = [r for r in d.rows() if r[0] == "Challenge resolved"]
    check("the resolution is in the teacher's inbox", bool(rows), d.text()[:400])
    d.sign_in("portal:other")
    d.driver.get(d.url(portal, "/"))
    check("another professional on the portal sees none of it",
          not [r for r in d.rows() if r[0].startswith("Challenge")], d.text()[:400])
    d.sign_out()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--desks", required=True, help="scripts/run.sh desks output")
    parser.add_argument("--state", required=True, help="the run's state folder (MASH_RUN_STATE)")
    parser.add_argument("--ca", required=True, help="the CA that issued the desks' certificate")
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    parser.add_argument("--acknowledge", metavar="PARTY", help="only acknowledge PARTY's first Encompass notice")
    parser.add_argument("--corrections", choices=["noted", "restricted", "lifted"],
                        help="only check the decided Red package after a correction")
    parser.add_argument("--contact", action="store_true", help="only make one contact on the portal")
    parser.add_argument("--meetings", action="store_true", help="only the MASH meeting and the dispute route")
    args = parser.parse_args()
    d = Desks(args)
    try:
        if args.acknowledge:
            acknowledge(d, args.acknowledge)
            return finish()
        if args.corrections:
            corrections(d, args.corrections)
            return finish()
        if args.contact:
            send_contact(d)
            return finish()
        if args.meetings:
            meetings(d)
            return finish()
        decision_maker(d)
        spa(d)
        front_door(d)
        schools(d)
        practice_manager(d)
        missing_coordinator(d)
        lockout(d)
    finally:
        d.close()
    finish()


def finish():
    if failures:
        print(f"desks: {len(failures)} checks failed", file=sys.stderr)
        sys.exit(1)
    print("desks: every check passed")


if __name__ == "__main__":
    main()
