import Mustache

/// The desk's pages: server-rendered HTML, no script, one style sheet; readable on a phone (one column below
/// 40em) and with a screen reader (landmarks, headings, labelled fields, status in words as well as colour).
enum Templates {
    static func library() throws -> MustacheLibrary {
        var library = MustacheLibrary()
        for (name, text) in [
            ("header", header), ("footer", footer), ("sign-in", signIn), ("inbox", inbox), ("item", item),
            ("fields", fields), ("message", message), ("triage", triage), ("missing", missing), ("panel", panel),
            ("episodes", episodes), ("contacts", contacts), ("contact-form", contactForm), ("contact", contact),
            ("screening", screening), ("consultations", consultations), ("consultation-form", consultationForm),
        ] {
            try library.register(text, named: name)
        }
        return library
    }

    static let header = """
        <!doctype html>
        <html lang="en-GB">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} — {{desk}}</title>
        <link rel="stylesheet" href="/style.css">
        </head>
        <body>
        <a class="skip" href="#main">Skip to content</a>
        <header>
        <p class="desk">MASH · {{desk}}</p>
        {{#staff}}
        <nav aria-label="Desk">
        <a href="/inbox">Inbox</a>
        {{#triage}}<a href="/triage">DAN triage</a>{{/triage}}
        {{#missing}}<a href="/missing">Missing: daily review</a><a href="/panel">Panel list</a>{{/missing}}
        {{#refer}}<a href="/contacts">My contacts</a><a href="/contacts/new">Make a contact</a>{{/refer}}
        {{#screen}}<a href="/screening">Contacts to screen</a>{{/screen}}
        {{#consult}}<a href="/consultations">No-name consultations</a>{{/consult}}
        <span>Signed in as {{name}} ({{id}})</span>
        <form method="post" action="/sign-out"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Sign out</button></form>
        </nav>
        {{/staff}}
        </header>
        <main id="main">
        """

    static let footer = """
        </main>
        <footer><p>Every view and action on this desk is recorded with your name. Personal data: handle it under the information sharing agreement.</p></footer>
        </body>
        </html>
        """

    static let signIn = """
        {{> header}}
        <h1>Sign in</h1>
        {{#problem}}<div class="problem" role="alert"><h2>There is a problem</h2><p>{{problem}}</p></div>{{/problem}}
        <form method="post" action="/sign-in">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p><label for="staff">Staff id</label><input id="staff" name="staff" autocomplete="username" required value="{{staffID}}"></p>
        <p><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required></p>
        <p><button type="submit">Sign in</button></p>
        </form>
        {{> footer}}
        """

    static let inbox = """
        {{> header}}
        <h1>Inbox</h1>
        <p>{{open}} to deal with, soonest due first. Times are UK time.</p>
        {{#hasItems}}
        <table>
        <caption class="visually-hidden">Items on this desk</caption>
        <thead><tr><th scope="col">Item</th><th scope="col">About</th><th scope="col">RAG</th><th scope="col">Due</th><th scope="col">Status</th></tr></thead>
        <tbody>
        {{#items}}
        <tr class="{{status}}">
        <td><a href="/items/{{id}}">{{title}}</a><br><span class="ref">{{reference}}</span></td>
        <td>{{about}}</td>
        <td>{{#rag}}<span class="rag rag-{{rag}}">{{ragText}}</span>{{/rag}}</td>
        <td>{{due}}{{#left}}<br><span class="left{{#overdue}} overdue{{/overdue}}">{{left}}</span>{{/left}}</td>
        <td>{{statusText}}</td>
        </tr>
        {{/items}}
        </tbody>
        </table>
        {{/hasItems}}
        {{^hasItems}}<p>Nothing has arrived yet.</p>{{/hasItems}}
        {{> footer}}
        """

    static let item = """
        {{> header}}
        <p><a href="/inbox">Back to the inbox</a></p>
        <h1>{{title}}</h1>
        <dl class="summary">
        <dt>Reference</dt><dd>{{reference}}</dd>
        {{#about}}<dt>About</dt><dd>{{about}}</dd>{{/about}}
        {{#rag}}<dt>RAG rating</dt><dd><span class="rag rag-{{rag}}">{{ragText}}</span></dd>{{/rag}}
        {{#due}}<dt>Due</dt><dd>{{due}} ({{left}})</dd>{{/due}}
        {{#meeting}}<dt>Triage meeting</dt><dd>{{meeting}}</dd>{{/meeting}}
        <dt>Received</dt><dd>{{received}}</dd>
        <dt>Status</dt><dd id="status">{{statusText}}</dd>
        </dl>
        {{#notice}}<div class="notice" role="status"><p>{{notice}}</p></div>{{/notice}}
        {{#corrections}}<div class="notice correction" role="note"><p>{{text}}</p></div>{{/corrections}}
        {{#decide}}
        <section aria-labelledby="decide-heading">
        <h2 id="decide-heading">Record the decision</h2>
        <form method="post" action="/items/{{id}}/decide">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <fieldset>
        <legend>Outcome</legend>
        {{#outcomes}}<p class="choice"><input type="radio" id="outcome-{{value}}" name="outcome" value="{{value}}" required><label for="outcome-{{value}}">{{text}}</label></p>{{/outcomes}}
        </fieldset>
        <p><label for="rationale">Rationale (it goes to the referrer with the outcome)</label><textarea id="rationale" name="rationale" rows="5" required></textarea></p>
        <p><button type="submit">Record the decision</button></p>
        </form>
        </section>
        {{/decide}}
        {{#triage}}
        <section aria-labelledby="triage-heading">
        <h2 id="triage-heading">Record the triage outcome</h2>
        <form method="post" action="/items/{{id}}/triage">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <fieldset>
        <legend>Outcome of the triage</legend>
        {{#decisions}}<p class="choice"><input type="radio" id="decision-{{value}}" name="decision" value="{{value}}" required><label for="decision-{{value}}">{{text}}</label></p>{{/decisions}}
        </fieldset>
        <p><label for="rationale">Rationale (recorded with the outcome; an Early Help notice carries it to CSC)</label><textarea id="rationale" name="rationale" rows="4" required></textarea></p>
        {{#canOpen}}
        <fieldset>
        <legend>Only if a MASH enquiry is opened</legend>
        <p><label for="child">About which child</label><select id="child" name="child"><option value="">Choose a child</option>{{#children}}<option value="{{index}}">{{name}}</option>{{/children}}</select></p>
        <p><label for="rag">RAG rating</label><select id="rag" name="rag"><option value="">Choose a rating</option><option value="red">Red (4 working hours)</option><option value="amber">Amber (1 working day)</option><option value="green">Green (1 working day)</option></select></p>
        <fieldset>
        <legend>Consent</legend>
        <p class="choice"><input type="radio" id="consent-given" name="consent" value="given"><label for="consent-given">Consent given</label></p>
        <p class="choice"><input type="radio" id="consent-override" name="consent" value="override"><label for="consent-override">Overridden, agreed at the meeting by {{meeting}} (they are the agencies asked)</label></p>
        </fieldset>
        <p><label for="givenBy">If consent was given: by whom (a role, such as mother; not a name)</label><input id="givenBy" name="givenBy"></p>
        <p><label for="ground">If overridden: the ground</label><select id="ground" name="ground"><option value="">Choose a ground</option>{{#grounds}}<option value="{{value}}">{{text}}</option>{{/grounds}}</select></p>
        <p><label for="details">Details of the override</label><textarea id="details" name="details" rows="3"></textarea></p>
        </fieldset>
        {{/canOpen}}
        <p><button type="submit">Record the triage outcome</button></p>
        </form>
        </section>
        {{/triage}}
        {{#interview}}
        <section aria-labelledby="interview-heading">
        <h2 id="interview-heading">Record the return interview</h2>
        <p>Record the offer when it is made, and the interview once it is held. The hub stops the 72-hour clock when the interview is held, declined or the child cannot be reached.</p>
        <form method="post" action="/items/{{id}}/interview">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <fieldset>
        <legend>What happened</legend>
        <p class="choice"><input type="radio" id="response-offered" name="response" value="offered" required><label for="response-offered">Offered and accepted, not yet held</label></p>
        <p class="choice"><input type="radio" id="response-held" name="response" value="held"><label for="response-held">The interview was held</label></p>
        <p class="choice"><input type="radio" id="response-declined" name="response" value="declined"><label for="response-declined">The child declined</label></p>
        <p class="choice"><input type="radio" id="response-not-reachable" name="response" value="not-reachable"><label for="response-not-reachable">The child could not be reached</label></p>
        </fieldset>
        <p><label for="offeredAt">Offered at (UK time)</label><input id="offeredAt" name="offeredAt" type="datetime-local" required value="{{now}}"></p>
        <p><label for="offeredBy">Offered by</label><input id="offeredBy" name="offeredBy" value="{{staffID}}"></p>
        <fieldset>
        <legend>Is the interviewer independent of the child's care?</legend>
        <p class="choice"><input type="radio" id="independent-yes" name="independent" value="yes" required><label for="independent-yes">Yes</label></p>
        <p class="choice"><input type="radio" id="independent-no" name="independent" value="no"><label for="independent-no">No</label></p>
        </fieldset>
        <p><label for="heldAt">If held: when (UK time)</label><input id="heldAt" name="heldAt" type="datetime-local" value="{{now}}"></p>
        <fieldset>
        <legend>If held: what it touched on</legend>
        {{#themes}}<p class="choice"><input type="checkbox" id="theme-{{value}}" name="theme" value="{{value}}"><label for="theme-{{value}}">{{text}}</label></p>{{/themes}}
        </fieldset>
        <fieldset>
        <legend>Exploitation the child is at risk of (for the panel)</legend>
        {{#flags}}<p class="choice"><input type="checkbox" id="flag-{{value}}" name="flag" value="{{value}}"><label for="flag-{{value}}">{{text}}</label></p>{{/flags}}
        </fieldset>
        <p><label for="record">What was said and agreed (required once held)</label><textarea id="record" name="record" rows="5"></textarea></p>
        <p><button type="submit">Record and send to the hub</button></p>
        </form>
        </section>
        {{/interview}}
        {{#meet}}
        <section aria-labelledby="meet-heading">
        <h2 id="meet-heading">Record the meeting</h2>
        <p>Invited: {{invited}}{{^invited}}no agency has answered an enquiry on this list yet{{/invited}}. Each outcome you record here is the enquiry's decision: the referrer and the agencies that answered are sent it, so they update their own records.</p>
        <form method="post" action="/items/{{id}}/meet">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p><label for="heldAt">Held at (UK time)</label><input id="heldAt" name="heldAt" type="datetime-local" required value="{{now}}"></p>
        <p><label for="attendees">Who attended, one per line: staff id, name, agency (for example: ds.hughes, DS Hughes, police)</label><textarea id="attendees" name="attendees" rows="5" required>{{attendees}}</textarea></p>
        {{#hasItems}}
        <table>
        <caption>The enquiries on the list</caption>
        <thead><tr><th scope="col">Enquiry</th><th scope="col">RAG</th><th scope="col">Why it is here</th><th scope="col">Agencies that answered</th></tr></thead>
        <tbody>
        {{#items}}<tr><td>{{reference}}</td><td><span class="rag rag-{{rag}}">{{rag}}</span></td><td>{{why}}</td><td>{{invited}}</td></tr>{{/items}}
        </tbody>
        </table>
        {{#items}}
        {{#decidable}}
        <fieldset>
        <legend>Agreed for {{reference}}</legend>
        <p><label for="agreed-{{index}}">Outcome</label><select id="agreed-{{index}}" name="agreed-{{index}}"><option value="">Not decided at this meeting</option>{{#outcomes}}<option value="{{value}}">{{text}}</option>{{/outcomes}}</select></p>
        <p><label for="note-{{index}}">What was agreed and why</label><textarea id="note-{{index}}" name="note-{{index}}" rows="3"></textarea></p>
        </fieldset>
        {{/decidable}}
        {{/items}}
        {{/hasItems}}
        {{^hasItems}}<p>Nothing was on the list.</p>{{/hasItems}}
        <p><button type="submit">Record the meeting</button></p>
        </form>
        </section>
        {{/meet}}
        {{#challenge}}
        <section aria-labelledby="challenge-heading">
        <h2 id="challenge-heading">Challenge this decision</h2>
        <p>If you disagree with the decision, say why in writing. It goes to the First Response Area Manager, who may discuss it at the MASH meeting, resolve it, raise it with the agencies' senior staff or take it to the MASH Operation Group. You are told of each stage on this desk.</p>
        <form method="post" action="/items/{{id}}/challenge">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="formID" value="{{formID}}">
        <p><label for="grounds">Why the decision is wrong, and what you ask for instead</label><textarea id="grounds" name="grounds" rows="5" required></textarea></p>
        <p><button type="submit">Send the challenge</button></p>
        </form>
        </section>
        {{/challenge}}
        {{#stageForm}}
        <section aria-labelledby="stage-heading">
        <h2 id="stage-heading">Move this challenge on</h2>
        <p>It is {{current}} now. The party that raised it is told of each stage.</p>
        {{#discuss}}
        <form method="post" action="/items/{{id}}/discuss">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="formID" value="{{formID}}">
        <p><label for="discuss-note">What the MASH meeting discussed and agreed</label><textarea id="discuss-note" name="note" rows="4" required></textarea></p>
        <p><button type="submit">Record the discussion at the MASH</button></p>
        </form>
        {{/discuss}}
        {{#stage}}
        <form method="post" action="/items/{{id}}/stage">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="formID" value="{{formID}}">
        <fieldset>
        <legend>Where it goes next</legend>
        {{#stages}}<p class="choice"><input type="radio" id="stage-{{value}}" name="stage" value="{{value}}" required><label for="stage-{{value}}">{{text}}</label></p>{{/stages}}
        </fieldset>
        <p><label for="stage-note">What was discussed or decided (the party that raised it reads this)</label><textarea id="stage-note" name="note" rows="4" required></textarea></p>
        <p><label for="resolution">If resolved: how (the decision stands, or what changes)</label><textarea id="resolution" name="resolution" rows="3"></textarea></p>
        <p><button type="submit">Record the stage</button></p>
        </form>
        {{/stage}}
        </section>
        {{/stageForm}}
        {{#screen}}
        <section aria-labelledby="screen-heading">
        <h2 id="screen-heading">Screen this contact</h2>
        {{^mayScreen}}<p class="problem">Only staff with the SPA role may screen contacts. Ask the desk's administrator.</p>{{/mayScreen}}
        <form method="post" action="/items/{{id}}/screen">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <fieldset>
        <legend>Screening decision</legend>
        {{#decisions}}<p class="choice"><input type="radio" id="decision-{{value}}" name="decision" value="{{value}}" required><label for="decision-{{value}}">{{text}}</label></p>{{/decisions}}
        </fieldset>
        <p><label for="rationale">Rationale (kept on the record; not sent to the referrer)</label><textarea id="rationale" name="rationale" rows="4" required></textarea></p>
        <p><label for="feedback">What the referrer is told (the advice, or what happens next; never a partner's information)</label><textarea id="feedback" name="feedback" rows="3" required></textarea></p>
        <fieldset>
        <legend>Only for a MASH enquiry</legend>
        <p><label for="rag">RAG rating</label><select id="rag" name="rag"><option value="">Choose a rating</option><option value="red">Red (partners within 4 working hours)</option><option value="amber">Amber (decision within 1 working day)</option><option value="green">Green (decision within 1 working day)</option></select></p>
        <p><label for="dateOfBirth">The child's date of birth, if the contact does not give it (an enquiry needs it)</label><input id="dateOfBirth" name="dateOfBirth" type="date"></p>
        <p><label for="agencies">Agencies to ask, separated by commas (leave empty for the RAG rating's usual agencies; required with an override)</label><input id="agencies" name="agencies"></p>
        <fieldset>
        <legend>Consent</legend>
        <p class="choice"><input type="radio" id="consent-given" name="consent" value="given"><label for="consent-given">Consent given</label></p>
        <p class="choice"><input type="radio" id="consent-override" name="consent" value="override"><label for="consent-override">Consent overridden, agreed with the agencies that own the information</label></p>
        </fieldset>
        <p><label for="givenBy">If consent was given: by whom (a role, such as mother; not a name)</label><input id="givenBy" name="givenBy"></p>
        <p><label for="ground">If overridden: the ground</label><select id="ground" name="ground"><option value="">Choose a ground</option>{{#grounds}}<option value="{{value}}">{{text}}</option>{{/grounds}}</select></p>
        <p><label for="details">Details of the override</label><textarea id="details" name="details" rows="3"></textarea></p>
        <p><label for="agreedBy">Who agreed for the agencies (role and agency, such as "DS Patel, Police MASH")</label><input id="agreedBy" name="agreedBy"></p>
        </fieldset>
        <p><button type="submit">Record the screening</button></p>
        </form>
        </section>
        {{/screen}}
        {{#consultation}}
        <section aria-labelledby="correction-heading">
        <h2 id="correction-heading">Is this summary wrong?</h2>
        <form method="post" action="/items/{{id}}/correction">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p><label for="text">What is wrong and what it should say (do not name the child or family)</label><textarea id="text" name="text" rows="3" required></textarea></p>
        <p><button type="submit">Ask for a correction</button></p>
        </form>
        <p><a href="/contacts/new?consultation={{reference}}">Make a contact from this consultation</a></p>
        </section>
        {{/consultation}}
        {{#acknowledge}}
        <form method="post" action="/items/{{id}}/acknowledge">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <p><button type="submit">{{acknowledge}}</button></p>
        </form>
        {{/acknowledge}}
        <section aria-labelledby="document-heading">
        <h2 id="document-heading">The {{lowerTitle}}</h2>
        {{> fields}}
        </section>
        {{> footer}}
        """

    static let triage = """
        {{> header}}
        <h1>DAN triage for {{day}}</h1>
        <form method="get" action="/triage" class="day">
        <p><label for="date">Another day's list</label><input id="date" name="date" type="date" value="{{date}}"> <button type="submit">Show</button></p>
        </form>
        <p>{{waiting}} still to triage on this list. Open a DAN to record its outcome. Times are UK time.</p>
        {{#hasItems}}
        <table>
        <caption class="visually-hidden">DANs going to this triage</caption>
        <thead><tr><th scope="col">DAN</th><th scope="col">Children</th><th scope="col">Received</th><th scope="col">Outcome</th></tr></thead>
        <tbody>
        {{#items}}
        <tr class="{{status}}">
        <td><a href="/items/{{id}}">{{title}}</a><br><span class="ref">{{reference}}</span></td>
        <td>{{about}}</td>
        <td>{{received}}</td>
        <td>{{statusText}}</td>
        </tr>
        {{/items}}
        </tbody>
        </table>
        {{/hasItems}}
        {{^hasItems}}<p>No DANs go to this triage.</p>{{/hasItems}}
        {{#hasEarlier}}
        <h2>Still waiting from earlier meetings</h2>
        <ul>
        {{#earlier}}<li><a href="/items/{{id}}">{{reference}}</a>: {{about}} (meeting of {{meeting}})</li>{{/earlier}}
        </ul>
        {{/hasEarlier}}
        {{> footer}}
        """

    static let missing = """
        {{> header}}
        <h1>Missing children: daily review</h1>
        <p>Every missing and found report from the police, and the return interviews due: each child is offered one within 72 hours of coming back. Times are UK time.</p>
        {{#overdue}}<div class="problem" role="alert"><p>{{overdue}}</p></div>{{/overdue}}
        <h2 id="due-heading">Return interviews due, soonest first</h2>
        {{#hasDue}}{{#due}}{{> episodes}}{{/due}}{{/hasDue}}{{^hasDue}}<p>None due.</p>{{/hasDue}}
        <h2>Still missing</h2>
        {{#hasStillMissing}}{{#stillMissing}}{{> episodes}}{{/stillMissing}}{{/hasStillMissing}}{{^hasStillMissing}}<p>No child is missing.</p>{{/hasStillMissing}}
        <h2>New in the last 24 hours</h2>
        {{#hasFresh}}{{#fresh}}{{> episodes}}{{/fresh}}{{/hasFresh}}{{^hasFresh}}<p>Nothing new.</p>{{/hasFresh}}
        <h2>Concluded</h2>
        {{#hasConcluded}}{{#concluded}}{{> episodes}}{{/concluded}}{{/hasConcluded}}{{^hasConcluded}}<p>None yet.</p>{{/hasConcluded}}
        {{> footer}}
        """

    /// One episode on the review or the panel list.
    static let episodes = """
        <section class="entry episode">
        <h3><a href="/items/{{item}}">{{child}}</a></h3>
        <dl>
        <dt>Status</dt><dd>{{status}}{{#left}} — <span class="left{{#overdue}} overdue{{/overdue}}">{{left}}</span>{{/left}}</dd>
        {{#due}}<dt>Interview due by</dt><dd>{{due}}</dd>{{/due}}
        <dt>Police risk</dt><dd>{{risk}}</dd>
        <dt>Missing from</dt><dd>{{from}}{{#placed}} (placed by {{authority}}){{/placed}}</dd>
        <dt>Reported missing</dt><dd>{{reported}}</dd>
        {{#found}}<dt>Found</dt><dd>{{found}}</dd>{{/found}}
        {{#flags}}<dt>Exploitation flags</dt><dd>{{flags}}</dd>{{/flags}}
        </dl>
        </section>
        """

    static let panel = """
        {{> header}}
        <h1>Missing and Exploitation Panel</h1>
        <p>Children with {{rule}}.</p>
        {{#hasChildren}}
        {{#children}}
        <section aria-label="{{child}}">
        <h2>{{child}}</h2>
        <p>{{count}}. Exploitation: {{flags}}.</p>
        {{#episodes}}{{> episodes}}{{/episodes}}
        </section>
        {{/children}}
        {{/hasChildren}}
        {{^hasChildren}}<p>No child meets the panel's criteria.</p>{{/hasChildren}}
        {{> footer}}
        """

    /// Recursive: a group's fields are rendered by this same partial.
    static let fields = """
        <dl>
        {{#fields}}
        <dt>{{label}}</dt>
        <dd>{{#text}}{{text}}{{/text}}{{#group}}{{> fields}}{{/group}}{{#list}}<section class="entry"><h3>{{heading}}</h3>{{> fields}}</section>{{/list}}</dd>
        {{/fields}}
        </dl>
        """

    static let message = """
        {{> header}}
        <h1>{{heading}}</h1>
        <p>{{text}}</p>
        <p><a href="{{link}}">{{linkText}}</a></p>
        {{> footer}}
        """

    static let style = """
        body { font-family: system-ui, Arial, sans-serif; font-size: 1.1rem; line-height: 1.5; margin: 0; color: #0b0c0c; background: #fff; }
        header, main, footer { padding: 0.75rem 1rem; max-width: 60rem; margin: 0 auto; }
        header { border-bottom: 4px solid #1d70b8; }
        header nav { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; }
        header form { display: inline; }
        .desk { font-weight: bold; margin: 0; }
        a { color: #1d5a8e; } a:focus, button:focus, input:focus, textarea:focus { outline: 3px solid #fd0; }
        .skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: 1rem; background: #fd0; }
        .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
        table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 0.5rem; border-bottom: 1px solid #b1b4b6; vertical-align: top; }
        tr.done { color: #505a5f; }
        .ref { font-size: 0.9rem; color: #505a5f; }
        .rag { font-weight: bold; padding: 0 0.4rem; border: 2px solid; }
        .rag-red { color: #942514; } .rag-amber { color: #6f3c00; } .rag-green { color: #005a30; }
        .overdue { color: #942514; font-weight: bold; }
        .problem { border: 4px solid #942514; padding: 0 1rem; } .notice { border-left: 8px solid #005a30; padding: 0 1rem; }
        dl { margin: 0; } dt { font-weight: bold; } dd { margin: 0 0 0.5rem 1rem; }
        .entry { border-left: 3px solid #b1b4b6; padding-left: 0.75rem; }
        label { display: block; font-weight: bold; } input[type=radio] + label { display: inline; font-weight: normal; }
        fieldset { border: 1px solid #b1b4b6; margin: 0 0 1rem; } select { font-size: 1rem; padding: 0.3rem; max-width: 100%; }
        input, textarea { font-size: 1rem; padding: 0.3rem; max-width: 100%; } textarea { width: 100%; }
        button { font-size: 1rem; padding: 0.5rem 1rem; background: #00703c; color: #fff; border: 0; cursor: pointer; }
        header button { background: #505a5f; padding: 0.2rem 0.6rem; }
        footer { font-size: 0.9rem; color: #505a5f; border-top: 1px solid #b1b4b6; }
        @media (max-width: 40em) { thead { display: none; } tr, td { display: block; } td { border: 0; padding: 0.2rem 0; } tr { border-bottom: 1px solid #b1b4b6; padding: 0.5rem 0; } }
        """
}
