#!/usr/bin/env python3
"""Writes Gazette's labelled story fixture: several hundred articles over
eight days, as a wire desk receives them.

    python3 benches/stories/make_fixture.py tests/data/stories/fixture.jsonl

Each event has a wire story; wire copies of it as other outlets republish
them (a new headline, paragraphs dropped or reordered, boilerplate added,
words swapped); independent write-ups of the same event in other words;
and hard negatives: another event at the same place, with the same
organisation, in the same section, days or hours apart. Every line is an
article in the ingest API's format plus its labels: `event` (the story it
belongs to) and `wire` (the original it is a version of: a wire story or an outlet's
own write-up and the copies of either; null for an article nobody copied).

Deterministic: the same file every run. All names are invented.
"""

import json
import random
import sys

START = 1_767_600_000  # a Monday, 08:00 UTC

PLACES = ["Kestrel Bay", "Norrholm", "Aldmere", "Port Saffron", "Vellacourt", "Brindlewick",
          "Osterley Vale", "Tamsin Falls", "Hallow Ridge", "Carrow Mead", "Linden Cross", "Maraval"]
SURNAMES = ["Okafor", "Lindqvist", "Moreau", "Haddad", "Petrov", "Tanaka", "Mwangi", "Castellano",
            "Byrne", "Novak", "Adeyemi", "Halvorsen", "Quispe", "Rahman", "Dubois", "Kowalski"]
FIRST = ["Amara", "Jonas", "Lucia", "Tomas", "Ingrid", "Kofi", "Mei", "Rafael", "Sanna", "Yusuf",
         "Elena", "Dmitri", "Nadia", "Felix", "Zainab", "Oskar"]
OUTLETS = ["Daily Courier", "Coast Radio", "Evening Ledger", "Valley Herald", "Metro Wire Digest",
           "The Observer Post", "Northern Gazette", "Civic Times", "Harbour Times", "Market Monitor"]
WIRES = ["Example Wire", "Continental Press", "Union News Service"]

# Each kind of event: its section, the organisation involved, the facts
# that vary, the wire's headline and paragraphs, other outlets' headlines,
# and an independent write-up's lead and paragraphs (other words, the same
# facts), and a second event of the same place and organisation (the hard
# negative's headline and text).
KINDS = [
    dict(
        section="World", org="{place} port authority",
        wire_title="Storm shuts {place} harbour for {n} days",
        alt_titles=["{place} harbour closed after storm damage", "Storm closes harbour at {place}",
                    "{place}: harbour shut as storm wrecks cranes"],
        wire=["The {org} said on {day} that the northern harbour would stay closed for at least {n} days after a storm damaged {k} cranes and a stretch of the breakwater.",
              "Ships bound for {place} are being sent to the southern terminal, where officials expect delays of up to two days for container traffic and longer for bulk carriers.",
              "{person}, a spokeswoman for the authority, said engineers were inspecting the breakwater by boat and that repairs to the cranes could take longer than first announced.",
              "Fishing boats may use the inner basin from {day2}, she added, once divers have checked the channel for debris left by the storm surge.",
              "The storm brought gusts of {gust} kilometres an hour to the coast overnight and cut power to about {homes} homes, most of which had electricity again by the afternoon.",
              "The harbour handled a little over {tonnes} million tonnes of cargo last year, most of it grain and timber bound for inland mills."],
        own_title="{place} cranes wrecked as storm closes port",
        own_lead="Container ships are queuing off {place} after {k} cranes and part of the breakwater were wrecked by the storm, and the port will stay shut for {n} days, {person} of the {org} said.",
        own=["Our reporter on the quay watched divers go down to check the channel on {day2}.",
             "Fishermen said the closure had come without warning and asked for compensation.",
             "Gusts of {gust} km/h were recorded at the lighthouse, the highest in a decade."],
        neg_title="{place} port authority names new harbour master",
        neg_lead="The {org} has appointed {person2}, a skipper from the northern fishing cooperative, as harbour master; she starts in the spring after twenty years at sea.",
        neg=["{person2} succeeds a harbour master who retired in the autumn after a decade in the post.",
             "The authority said the appointment followed an open competition with {k} candidates."],
    ),
    dict(
        section="Politics", org="{place} city council",
        wire_title="{place} council approves tram extension to airport",
        alt_titles=["Tram line to {place} airport approved", "{place} votes for airport tram link",
                    "Council backs {place} airport tram"],
        wire=["The {org} voted {n} to {k} on {day} to extend the tram line to the airport, a project that has been debated for a decade.",
              "The extension will cost {tonnes} hundred million, more than the budget set aside last year, and work is due to begin in the spring once contracts are signed.",
              "Mayor {person} said the line would take {homes} cars off the ring road every day and cut the journey to the terminal to eighteen minutes.",
              "Opposition councillors argued that buses could serve the airport for a fraction of the cost and called for a referendum.",
              "Construction is expected to close two lanes of the harbour road for about eighteen months.",
              "The existing tram network carried {gust} million passengers last year, according to the transport board."],
        own_title="Airport trams for {place} after decade of debate",
        own_lead="Trams will run to {place} airport after the {org} backed the extension by {n} votes to {k}, despite warnings that the cost has grown; Mayor {person} promised an eighteen-minute ride.",
        own=["Residents along the harbour road fear a year and a half of roadworks.",
             "Critics in the chamber wanted a referendum and a cheaper bus link instead."],
        neg_title="{place} council raises parking charges in city centre",
        neg_lead="The {org} has voted to raise parking charges in the city centre by a third from {day2}, saying the money will pay for street cleaning; Councillor {person2} opposed the rise.",
        neg=["Shop owners warned that fewer visitors would come into town on weekends.",
             "The new charges apply to the {k} council car parks near the market."],
    ),
    dict(
        section="Business", org="Aldmere Steelworks",
        wire_title="{org} to cut {homes} jobs as orders fall",
        alt_titles=["{org} announces {homes} job cuts", "Job losses at {org} as demand slumps",
                    "{homes} jobs to go at {org}"],
        wire=["{org} said on {day} it would cut {homes} jobs at its {place} plant over the next {n} months after orders fell for a third straight quarter.",
              "Chief executive {person} blamed cheaper imports and higher energy prices, and said the company would close one of its {k} furnaces.",
              "Unions called the decision a betrayal and said they would meet managers on {day2} to discuss voluntary redundancies.",
              "Shares in the company fell {gust} percent in early trading before recovering part of the loss.",
              "The plant employs about {tonnes} thousand people and is the largest private employer in the region.",
              "The regional government said it would set up a task force to help workers find new jobs."],
        own_title="Furnace to close at {place} steel plant, {homes} jobs go",
        own_lead="{org} will shut one of its {k} furnaces in {place} and lay off {homes} workers within {n} months, {person} told staff, citing imports and energy costs; unions are furious.",
        own=["Workers leaving the morning shift said they had expected bad news for weeks.",
             "The region has lost several factories in the past decade."],
        neg_title="{org} wins contract for bridge steel",
        neg_lead="{org} has won a contract to supply steel for the new river bridge at {place}, securing work for its rolling mill until next year, chief executive {person} said.",
        neg=["The contract is worth about {tonnes} hundred million.",
             "Deliveries start on {day2}."],
    ),
    dict(
        section="Courts", org="the high court in {place}",
        wire_title="Court blocks {place} quarry expansion",
        alt_titles=["{place} quarry expansion halted by judges", "Judges rule against {place} quarry plan",
                    "Quarry expansion near {place} stopped"],
        wire=["Judges at {org} on {day} blocked the expansion of a limestone quarry near {place}, ruling that the environmental assessment had ignored a rare colony of bats.",
              "Judge {person} said the planning authority had failed to consult the nature agency and ordered it to reconsider the application.",
              "The quarry operator said it was disappointed and would study the ruling before deciding whether to appeal.",
              "Campaigners who brought the case gathered outside the court and said the decision protected {k} hectares of woodland.",
              "The expansion would have extended the life of the quarry by {n} years and kept {homes} jobs.",
              "The planning authority has {gust} days to respond."],
        own_title="Bats win the day in {place} quarry fight",
        own_lead="A colony of rare bats has halted plans to enlarge the limestone quarry at {place}: Judge {person} ruled the environmental assessment unlawful and sent the application back.",
        own=["Campaigners cheered on the steps of the court.",
             "The operator may appeal, a spokesman said."],
        neg_title="{place} quarry operator fined over dust",
        neg_lead="Judges at {org} fined the operator of the limestone quarry near {place} for letting dust blow over nearby homes last summer; Judge {person2} called the breaches careless.",
        neg=["The fine was set at {k} hundred thousand.",
             "Residents had complained for months about dust on cars and washing."],
    ),
    dict(
        section="Sport", org="{place} Rovers",
        wire_title="{org} reach cup final with late winner",
        alt_titles=["Late goal sends {org} to cup final", "{org} into final after {n}-{k} win",
                    "Cup final for {org}"],
        wire=["{org} reached the cup final for the first time in {tonnes} decades on {day}, beating the league leaders {n}-{k} with a goal in stoppage time.",
              "Striker {person} headed in a corner in the {gust}th minute after the visitors had equalised from the penalty spot.",
              "The manager said his players had shown the character the club had lacked all season.",
              "More than {homes} supporters travelled to the semi-final, and the club said tickets for the final would go on sale on {day2}.",
              "The visitors finished with ten men after a second yellow card early in the second half.",
              "The final will be played at the national stadium next month."],
        own_title="{person}'s header puts {place} in the final",
        own_lead="A stoppage-time header from {person} took {org} to their first cup final in {tonnes} decades, a {n}-{k} win over the league leaders that sent {homes} travelling fans wild.",
        own=["The away end emptied onto the pitch at the final whistle.",
             "Ticket sales for the final open on {day2}."],
        neg_title="{org} sack manager after league defeat",
        neg_lead="{org} have dismissed their manager after a home defeat left them fourth from bottom of the league; {person2} will take charge of training until a successor is found.",
        neg=["The club said the decision had been taken with regret.",
             "{org} have won {k} of their last fourteen league matches."],
    ),
    dict(
        section="Science", org="the observatory at {place}",
        wire_title="Astronomers at {place} find planet in habitable zone",
        alt_titles=["Habitable-zone planet found by {place} team", "New world spotted from {place} observatory",
                    "{place} observatory discovers possible habitable planet"],
        wire=["Astronomers at {org} said on {day} they had found a planet about {n} times the mass of Earth orbiting a nearby red dwarf within its habitable zone.",
              "The planet takes {gust} days to circle its star and may have liquid water on its surface, team leader {person} said.",
              "The discovery was made by measuring tiny wobbles in the star's light over {k} years of observations.",
              "Other scientists cautioned that red dwarfs often blast their planets with flares that could strip away an atmosphere.",
              "The findings were published in a peer-reviewed journal and will be checked by a space telescope next year.",
              "The star lies about {tonnes} light years away."],
        own_title="A second Earth? {place} team spots watery world",
        own_lead="A world {n} times heavier than Earth, circling a red dwarf every {gust} days where water could be liquid, has been found by {person}'s team at {org} after {k} years of watching the star wobble.",
        own=["Flares from the star may have stripped any air away, sceptics note.",
             "A space telescope will look for an atmosphere next year."],
        neg_title="{place} observatory to close for telescope upgrade",
        neg_lead="{org} will close to visitors for {k} months while its main telescope gets a new mirror and camera, director {person2} said.",
        neg=["The upgrade is paid for by a grant from the science council.",
             "School visits will move to the planetarium in the meantime."],
    ),
    dict(
        section="Health", org="{place} general hospital",
        wire_title="{place} hospital suspends surgery after water contamination",
        alt_titles=["Water contamination halts operations at {place} hospital", "Surgery suspended at {place} hospital",
                    "{place} hospital cancels operations over bacteria in water"],
        wire=["{org} suspended all planned surgery on {day} after bacteria were found in the water supply of its operating theatres.",
              "About {homes} operations will be postponed over the next {n} days while pipes are flushed and tested, medical director {person} said.",
              "Emergency surgery will continue in a separate wing that has its own supply.",
              "Patients whose operations are cancelled will be contacted directly and offered new dates within {k} weeks.",
              "The hospital said no patient was known to have been harmed.",
              "Inspectors from the health agency will visit on {day2}."],
        own_title="Bacteria in pipes: {place} operations on hold",
        own_lead="Planned operations at {org} are on hold for {n} days after bacteria turned up in the theatres' water; {person} said {homes} patients would be offered new dates within {k} weeks.",
        own=["Emergency cases are being treated in the new wing.",
             "Health inspectors are due on {day2}."],
        neg_title="{place} hospital opens new maternity ward",
        neg_lead="{org} has opened a maternity ward with {k} birthing rooms, replacing a unit built in the 1960s; medical director {person} said it would ease pressure on staff.",
        neg=["The ward cost about {tonnes} million to build.",
             "The first baby was born there on {day2}."],
    ),
    dict(
        section="Business", org="Vellacourt Air",
        wire_title="{org} cancels {homes} flights as pilots strike",
        alt_titles=["Pilots' strike grounds {org} flights", "{homes} {org} flights cancelled in strike",
                    "Strike by pilots hits {org}"],
        wire=["{org} cancelled {homes} flights on {day} as pilots began a {n}-day strike over pay, stranding thousands of passengers at {place} airport.",
              "The pilots' union said its members had not had a pay rise for {k} years and accused the airline of refusing to negotiate.",
              "The airline's chief operating officer, {person}, said the demands were unaffordable and urged the union to return to talks.",
              "Passengers were offered refunds or seats on later flights, but many complained of long queues at the help desks.",
              "The strike is the first at the airline in {tonnes} decades.",
              "Talks are scheduled to resume on {day2}."],
        own_title="Queues and anger at {place} as {org} pilots walk out",
        own_lead="Thousands were stranded at {place} airport as pilots at {org} walked out for {n} days over pay, grounding {homes} flights; {person} called their demands unaffordable.",
        own=["Families slept on the floor of the departure hall overnight.",
             "Union leaders say pay has been frozen for {k} years."],
        neg_title="{org} orders new jets for regional routes",
        neg_lead="{org} has ordered {k} new jets for its regional routes from {place}, replacing ageing turboprops from next year, chief operating officer {person} said.",
        neg=["The order is worth about {tonnes} hundred million at list prices.",
             "The first aircraft arrives on {day2}."],
    ),
]

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
BOILERPLATE = ["(c) 2026 {wire}. All rights reserved. Republished under licence.",
               "Additional reporting by staff. This story was first published by {wire}.",
               "Sign up for our morning newsletter to get the day's top stories."]
SWAPS = [("said", "stated"), ("about", "around"), ("after", "following"), ("more than", "over"),
         ("would", "will"), ("began", "started")]


def person(rng):
    return f"{rng.choice(FIRST)} {rng.choice(SURNAMES)}"


def facts(rng, place, day_index):
    return dict(place=place, person=person(rng), person2=person(rng), day=DAYS[day_index % 7],
                day2=DAYS[(day_index + 2) % 7], n=rng.randint(3, 12), k=rng.randint(2, 9),
                gust=rng.randint(20, 160), homes=rng.randint(2, 40) * 100, tonnes=rng.randint(2, 9))


def fill(template, values):
    text = template
    for _ in range(3):  # org names hold {place}
        text = text.format(**values)
    return text[:1].upper() + text[1:]


def edited_copy(rng, paragraphs, title, values, wire):
    """A republished wire story, edited as outlets edit them."""
    copy = list(paragraphs)
    edits = rng.sample(["drop", "reorder", "boilerplate", "swap", "truncate"], k=rng.randint(1, 3))
    if "drop" in edits and len(copy) > 4:
        del copy[rng.randrange(2, len(copy))]
    if "truncate" in edits and len(copy) > 4:
        copy = copy[: len(copy) - 1]
    if "reorder" in edits and len(copy) > 3:
        i = rng.randrange(1, len(copy) - 1)
        copy[i], copy[i + 1] = copy[i + 1], copy[i]
    if "swap" in edits:
        for old, new in rng.sample(SWAPS, k=3):
            copy = [p.replace(old, new, 1) for p in copy]
    if "boilerplate" in edits:
        copy.append(rng.choice(BOILERPLATE).format(wire=wire))
    return copy


def main(out):
    rng = random.Random(26)
    articles = []
    event = 0
    used_places = {}
    for day in range(8):
        for kind_index, kind in enumerate(KINDS):
            # Most kinds have news most days, somewhere.
            if rng.random() < 0.15:
                continue
            # A kind of event comes back, but somewhere else: the same
            # event at the same place is one story, however many days.
            used = used_places.setdefault(kind_index, set())
            place = rng.choice([p for p in PLACES if p not in used])
            used.add(place)
            values = facts(rng, place, day)
            values["org"] = kind["org"].format(**values)
            at = START + day * 86_400 + rng.randint(0, 10 * 3600)
            wire = rng.choice(WIRES)
            event += 1
            paragraphs = [fill(p, values) for p in kind["wire"]]
            wire_id = f"w{event}"
            articles.append(dict(at=at, event=event, wire=wire_id, title=fill(kind["wire_title"], values),
                                 section=kind["section"], source=wire, body="\n\n".join(paragraphs)))
            for copy_n in range(rng.randint(1, 4)):
                outlet = rng.choice(OUTLETS)
                title = fill(rng.choice(kind["alt_titles"] + [kind["wire_title"]]), values)
                body = edited_copy(rng, paragraphs, title, values, wire)
                articles.append(dict(at=at + rng.randint(600, 20 * 3600), event=event, wire=wire_id, title=title,
                                     section=rng.choice([kind["section"], kind["section"], "World"]),
                                     source=outlet, body="\n\n".join(body)))
            # An outlet's own write-up, in other words; other outlets may
            # carry it in turn (syndicated: copies of it, not of the wire).
            if rng.random() < 0.7:
                outlet = rng.choice(OUTLETS)
                own = [fill(p, values) for p in kind["own"]]
                rng.shuffle(own)
                own[0] = f"{values['place'].upper()} — {own[0]}"
                own.append(f"{outlet} asked {values['org']} for further comment on {values['day2']}.")
                own_at = at + rng.randint(1800, 30 * 3600)
                own_id = f"o{event}"
                summary = fill(kind["own_lead"], values)
                articles.append(dict(at=own_at, event=event, wire=own_id, title=fill(kind["own_title"], values),
                                     section=kind["section"], source=outlet, summary=summary,
                                     body="\n\n".join(own)))
                for _ in range(rng.randint(0, 2)):
                    body = edited_copy(rng, own, "", values, outlet)
                    articles.append(dict(at=own_at + rng.randint(600, 10 * 3600), event=event, wire=own_id,
                                         title=fill(kind["own_title"], values), section=kind["section"],
                                         source=rng.choice(OUTLETS), summary=summary, body="\n\n".join(body)))
            # The hard negative: same place, organisation and section, another event.
            if rng.random() < 0.7:
                event += 1
                neg_at = at + rng.randint(-20 * 3600, 40 * 3600)
                neg_text = [fill(p, values) for p in kind["neg"]]
                articles.append(dict(at=neg_at, event=event, wire=None, title=fill(kind["neg_title"], values),
                                     section=kind["section"], source=rng.choice(OUTLETS + WIRES),
                                     summary=fill(kind["neg_lead"], values), body="\n\n".join(neg_text)))
    articles.sort(key=lambda a: (a["at"], a["title"]))
    with open(out, "w") as f:
        for n, a in enumerate(articles):
            item = {
                "title": a["title"], "section": a["section"], "source": a["source"], "body": a["body"],
                "external_id": f"fixture-{n}",
                "published_at": __import__("datetime").datetime.fromtimestamp(a["at"], __import__("datetime").timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            if a.get("summary"):
                item["summary"] = a["summary"]
            f.write(json.dumps({"article": item, "event": a["event"], "wire": a["wire"]}) + "\n")
    print(f"{len(articles)} articles, {event} events", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
