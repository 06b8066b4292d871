"""make demo's front door, as its people would use it (Python's standard library only, over HTTPS):

1. a teacher signs in to the SPA portal and makes a contact about a child on the referral form;
2. a Referral and Information Officer signs in to the SPA's desk, finds the contact on the screening list, and
   screens it into a MASH enquiry of the RAG given, with the parents' consent.

Prints one line, `contact <id> <reference>`; the hub then opens the enquiry (mashctl contacts list names it).
"""

import argparse
import http.cookiejar
import json
import re
import ssl
import sys
import time
import urllib.parse
import urllib.request


class Desk:
    def __init__(self, url, staff, password, context):
        self.url = url.rstrip("/")
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            urllib.request.HTTPSHandler(context=context))
        page = self.get("/sign-in")
        self.post("/sign-in", {"csrf": csrf(page), "staff": staff, "password": password})
        if "Sign out" not in self.get("/inbox"):
            sys.exit(f"demo-portal: {staff} could not sign in to {url}")

    def get(self, path):
        with self.opener.open(self.url + path, timeout=30) as response:
            return response.read().decode()

    def post(self, path, form):
        data = urllib.parse.urlencode(form).encode()
        try:
            with self.opener.open(self.url + path, data=data, timeout=30) as response:
                return response.read().decode()
        except urllib.error.HTTPError as error:
            text = error.read().decode()
            problem = re.search(r"<p>(Nothing was [^<]*|[^<]*: [^<]*)</p>", text)
            sys.exit(f"demo-portal: {path} refused ({error.code}): {problem.group(1) if problem else text[:300]}")


def csrf(page):
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    if not found:
        sys.exit("demo-portal: the page has no form token")
    return found.group(1)


def desks(listing):
    found = {}
    with open(listing) as lines:
        for line in lines:
            party, url, staff, password_file = line.split()
            with open(password_file) as f:
                found[party] = (url, staff, f.read().strip())
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--desks", required=True, help="scripts/run.sh desks' output")
    parser.add_argument("--ca", required=True, help="the development CA the desks' certificate comes from")
    parser.add_argument("--contact", required=True, help="the referral form's fields (JSON object)")
    parser.add_argument("--rag", default="red")
    args = parser.parse_args()
    context = ssl.create_default_context(cafile=args.ca)
    listing = desks(args.desks)
    with open(args.contact) as f:
        fields = json.load(f)

    portal = Desk(*listing["portal"], context)
    form = portal.get("/contacts/new")
    contact_id = re.search(r'name="contactID" value="([^"]+)"', form).group(1)
    sent = portal.post("/contacts", dict(fields, csrf=csrf(form), contactID=contact_id))
    reference = re.search(r"<h1>Contact (MC-[0-9A-Z-]+)</h1>", sent)
    if not reference:
        sys.exit("demo-portal: the portal did not confirm the contact")
    reference = reference.group(1)

    spa = Desk(*listing["spa"], context)
    item = None
    for _ in range(120):
        listed = re.search(r'<a href="/items/([^"]+)">' + re.escape(reference) + "</a>", spa.get("/screening"))
        if listed:
            item = listed.group(1)
            break
        time.sleep(0.5)
    if not item:
        sys.exit(f"demo-portal: contact {reference} did not reach the SPA's screening list within 60 s")
    page = spa.get(f"/items/{item}")
    spa.post(f"/items/{item}/screen", {
        "csrf": csrf(page), "decision": "mash-enquiry", "rag": args.rag, "consent": "given", "givenBy": "mother",
        "rationale": "A disclosure of physical harm at home: the partners' information is needed today.",
        "feedback": "Thank you. The MASH is finding out what the partner agencies know, and will tell you the outcome.",
    })
    print(f"contact {contact_id} {reference}")


if __name__ == "__main__":
    main()
