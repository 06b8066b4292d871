/// The front door's pages: the portal's referral form and contacts, the SPA's screening list and the No-Name
/// Consultation Service's records.
extension Templates {
    static let contacts = """
        {{> header}}
        <h1>My contacts</h1>
        <p>The contacts you sent to the Single Point of Access, the latest first. Only you see them. <a href="/contacts/new">Make a contact</a>.</p>
        {{#hasContacts}}
        <table>
        <caption class="visually-hidden">Your contacts</caption>
        <thead><tr><th scope="col">Reference</th><th scope="col">Child</th><th scope="col">Sent</th><th scope="col">Where it stands</th></tr></thead>
        <tbody>
        {{#contacts}}
        <tr><td><a href="/contacts/{{id}}">{{reference}}</a></td><td>{{child}}</td><td>{{sent}}</td><td>{{status}}</td></tr>
        {{/contacts}}
        </tbody>
        </table>
        {{/hasContacts}}
        {{^hasContacts}}<p>You have not sent a contact from this portal.</p>{{/hasContacts}}
        {{> footer}}
        """

    static let contactForm = """
        {{> header}}
        <h1>Make a contact to the Single Point of Access</h1>
        <p>If a child is in immediate danger, call the police on 999 first. The SPA screens every contact by the end of the next working day and tells you the outcome here.</p>
        {{#problem}}<div class="problem" role="alert"><h2>There is a problem</h2><p>{{problem}}</p></div>{{/problem}}
        <form method="post" action="/contacts">
        <input type="hidden" name="csrf" value="{{staff.csrf}}">
        <input type="hidden" name="contactID" value="{{v_contactID}}">
        {{#v_consultation}}<input type="hidden" name="consultation" value="{{v_consultation}}"><p>This contact follows no-name consultation {{v_consultation}}.</p>{{/v_consultation}}
        <fieldset>
        <legend>The child</legend>
        <p><label for="child_forename">First name</label><input id="child_forename" name="child_forename" required autocomplete="off" value="{{v_child_forename}}"></p>
        <p><label for="child_surname">Last name</label><input id="child_surname" name="child_surname" required autocomplete="off" value="{{v_child_surname}}"></p>
        <p><label for="child_dateOfBirth">Date of birth (if known)</label><input id="child_dateOfBirth" name="child_dateOfBirth" type="date" max="{{today}}" value="{{v_child_dateOfBirth}}"></p>
        <p><label for="child_address">Address (if known)</label><input id="child_address" name="child_address" autocomplete="off" value="{{v_child_address}}"></p>
        <p><label for="child_postcode">Postcode (if known)</label><input id="child_postcode" name="child_postcode" autocomplete="off" value="{{v_child_postcode}}"></p>
        <p><label for="child_nhsNumber">NHS number (if known)</label><input id="child_nhsNumber" name="child_nhsNumber" inputmode="numeric" autocomplete="off" value="{{v_child_nhsNumber}}"></p>
        <p><label for="child_upn">Unique pupil number (if known)</label><input id="child_upn" name="child_upn" autocomplete="off" value="{{v_child_upn}}"></p>
        </fieldset>
        <fieldset>
        <legend>The household (as far as you know; leave a row empty if there is no one more)</legend>
        <p><label for="member1_role">First person: relationship to the child (mother, stepfather, sibling)</label><input id="member1_role" name="member1_role" value="{{v_member1_role}}"></p>
        <p><label for="member1_forename">First name</label><input id="member1_forename" name="member1_forename" autocomplete="off" value="{{v_member1_forename}}"></p>
        <p><label for="member1_surname">Last name</label><input id="member1_surname" name="member1_surname" autocomplete="off" value="{{v_member1_surname}}"></p>
        <p><label for="member2_role">Second person: relationship to the child</label><input id="member2_role" name="member2_role" value="{{v_member2_role}}"></p>
        <p><label for="member2_forename">First name</label><input id="member2_forename" name="member2_forename" autocomplete="off" value="{{v_member2_forename}}"></p>
        <p><label for="member2_surname">Last name</label><input id="member2_surname" name="member2_surname" autocomplete="off" value="{{v_member2_surname}}"></p>
        </fieldset>
        <p><label for="concern">Your concern: what you saw or were told, when, and by whom</label><textarea id="concern" name="concern" rows="6" required>{{v_concern}}</textarea></p>
        <p><label for="actionsTaken">What you have done about it so far</label><textarea id="actionsTaken" name="actionsTaken" rows="3" required>{{v_actionsTaken}}</textarea></p>
        <fieldset>
        <legend>Do the parents or carers know you are making this contact?</legend>
        <p class="choice"><input type="radio" id="parentsAware-yes" name="parentsAware" value="yes" required {{#parentsAware_yes}}checked{{/parentsAware_yes}}><label for="parentsAware-yes">Yes</label></p>
        <p class="choice"><input type="radio" id="parentsAware-no" name="parentsAware" value="no" {{#parentsAware_no}}checked{{/parentsAware_no}}><label for="parentsAware-no">No</label></p>
        </fieldset>
        <fieldset>
        <legend>Did they consent to it?</legend>
        <p class="choice"><input type="radio" id="consent-given" name="consent" value="given" required {{#consent_given}}checked{{/consent_given}}><label for="consent-given">Yes, they consented</label></p>
        <p class="choice"><input type="radio" id="consent-refused" name="consent" value="refused" {{#consent_refused}}checked{{/consent_refused}}><label for="consent-refused">No, they refused</label></p>
        <p class="choice"><input type="radio" id="consent-not-sought" name="consent" value="not-sought" {{#consent_not-sought}}checked{{/consent_not-sought}}><label for="consent-not-sought">Not asked (asking could put the child at risk, or they could not be reached)</label></p>
        </fieldset>
        <p><label for="consentReason">If they did not consent or were not asked: why</label><textarea id="consentReason" name="consentReason" rows="2">{{v_consentReason}}</textarea></p>
        <fieldset>
        <legend>You</legend>
        <p>{{staff.name}}, {{jobTitle}}, {{organisation}}</p>
        <p><label for="phone">A phone number the SPA can reach you on</label><input id="phone" name="phone" type="tel" autocomplete="tel" value="{{v_phone}}"></p>
        <p><label for="email">Your work e-mail</label><input id="email" name="email" type="email" autocomplete="email" value="{{v_email}}"></p>
        </fieldset>
        <p><button type="submit">Send the contact</button></p>
        </form>
        {{> footer}}
        """

    static let contact = """
        {{> header}}
        <p><a href="/contacts">Back to my contacts</a></p>
        <h1>Contact {{reference}}</h1>
        {{#notice}}<div class="notice" role="status"><p>{{notice}}</p></div>{{/notice}}
        {{#outcome}}
        <section aria-labelledby="outcome-heading" class="notice">
        <h2 id="outcome-heading">{{title}}</h2>
        <p id="feedback">{{feedback}}</p>
        {{#challengeable}}<p><a id="challenge-link" href="/items/{{itemID}}">Disagree with this decision? Challenge it in writing</a></p>{{/challengeable}}
        </section>
        {{/outcome}}
        {{^outcome}}<p id="status">{{status}}</p>{{/outcome}}
        <section aria-labelledby="timeline-heading">
        <h2 id="timeline-heading">What has happened (UK time)</h2>
        <ol class="timeline">{{#timeline}}<li><strong>{{at}}</strong>: {{#stageHref}}<a href="{{stageHref}}">{{what}}</a>{{/stageHref}}{{^stageHref}}{{what}}{{/stageHref}}</li>{{/timeline}}</ol>
        </section>
        <section aria-labelledby="document-heading">
        <h2 id="document-heading">What you sent</h2>
        {{> fields}}
        </section>
        {{> footer}}
        """

    static let screening = """
        {{> header}}
        <h1>Contacts to screen</h1>
        {{#overdue}}<div class="problem" role="alert"><p>{{overdue}}</p></div>{{/overdue}}
        {{^mayScreen}}<p class="problem">You can read contacts here, but only staff with the SPA role may screen them.</p>{{/mayScreen}}
        <p>{{count}} waiting, soonest due first. Each is due screened by the end of the next working day. Times are UK time.</p>
        {{#hasWaiting}}
        <table>
        <caption class="visually-hidden">Contacts waiting to be screened</caption>
        <thead><tr><th scope="col">Contact</th><th scope="col">Child</th><th scope="col">Received</th><th scope="col">Due</th></tr></thead>
        <tbody>
        {{#waiting}}
        <tr class="{{status}}"><td><a href="/items/{{id}}">{{reference}}</a></td><td>{{about}}</td><td>{{received}}</td><td>{{due}}{{#left}}<br><span class="left{{#overdue}} overdue{{/overdue}}">{{left}}</span>{{/left}}</td></tr>
        {{/waiting}}
        </tbody>
        </table>
        {{/hasWaiting}}
        {{^hasWaiting}}<p>No contact is waiting.</p>{{/hasWaiting}}
        {{#hasScreened}}
        <h2>Screened</h2>
        <table>
        <caption class="visually-hidden">Contacts screened</caption>
        <thead><tr><th scope="col">Contact</th><th scope="col">Child</th><th scope="col">Outcome</th></tr></thead>
        <tbody>
        {{#screened}}<tr class="done"><td><a href="/items/{{id}}">{{reference}}</a></td><td>{{about}}</td><td>{{statusText}}</td></tr>{{/screened}}
        </tbody>
        </table>
        {{/hasScreened}}
        {{> footer}}
        """

    static let consultations = """
        {{> header}}
        <h1>No-name consultations</h1>
        <p>{{open}}</p>
        {{#notice}}<div class="notice" role="status"><p>{{notice}}</p></div>{{/notice}}
        {{#mayConsult}}<p><a href="/consultations/new">Record a consultation</a></p>{{/mayConsult}}
        {{^mayConsult}}<p class="problem">Only staff with the SPA role may record consultations.</p>{{/mayConsult}}
        {{#hasConsultations}}
        <table>
        <caption class="visually-hidden">Consultations recorded on this desk</caption>
        <thead><tr><th scope="col">Reference</th><th scope="col">Professional</th><th scope="col">Recommendation</th><th scope="col">Summary</th></tr></thead>
        <tbody>
        {{#consultations}}
        <tr><td>{{reference}}<br><span class="ref">{{held}} · {{socialWorker}}</span></td><td>{{professional}}</td><td>{{recommendation}}</td><td>{{delivered}}{{#hasCorrections}}<br><strong>Correction asked:</strong> {{#corrections}}<a href="/items/{{id}}">open</a> {{/corrections}}{{/hasCorrections}}</td></tr>
        {{/consultations}}
        </tbody>
        </table>
        {{/hasConsultations}}
        {{^hasConsultations}}<p>No consultation is recorded yet.</p>{{/hasConsultations}}
        {{> footer}}
        """

    static let consultationForm = """
        {{> header}}
        <p><a href="/consultations">Back to the consultations</a></p>
        <h1>Record a no-name consultation</h1>
        <p>{{open}}</p>
        <p>Describe the concern without identifying the child or family: no names with dates of birth, NHS numbers, pupil numbers or full postcodes. The summary goes to the professional's portal.</p>
        {{#problem}}<div class="problem" role="alert"><h2>There is a problem</h2><p>{{problem}}</p></div>{{/problem}}
        <form method="post" action="/consultations">
        <input type="hidden" name="csrf" value="{{staff.csrf}}">
        <input type="hidden" name="consultationID" value="{{v_consultationID}}">
        <p><label for="heldAt">When (UK time)</label><input id="heldAt" name="heldAt" type="datetime-local" required value="{{v_heldAt}}"></p>
        <fieldset>
        <legend>The professional</legend>
        <p><label for="professional">Their portal account (for the summary)</label><input id="professional" name="professional" required autocomplete="off" value="{{v_professional}}"></p>
        <p><label for="organisation">Their organisation</label><input id="organisation" name="organisation" required value="{{v_organisation}}"></p>
        <p><label for="role">Their role</label><input id="role" name="role" required value="{{v_role}}"></p>
        </fieldset>
        <p><label for="concern">The concern, without identifying the child or family</label><textarea id="concern" name="concern" rows="5" required>{{v_concern}}</textarea></p>
        <p><label for="advice">The advice given</label><textarea id="advice" name="advice" rows="4" required>{{v_advice}}</textarea></p>
        <fieldset>
        <legend>Recommendation</legend>
        {{#recommendations}}<p class="choice"><input type="radio" id="recommendation-{{value}}" name="recommendation" value="{{value}}" required {{#checked}}checked{{/checked}}><label for="recommendation-{{value}}">{{text}}</label></p>{{/recommendations}}
        </fieldset>
        <p><button type="submit">Record and send the summary</button></p>
        </form>
        {{> footer}}
        """
}
