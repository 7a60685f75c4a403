#!/usr/bin/env python3
"""A generated, labelled corpus of helpdesk tickets for `make eval-triage`
(docs/benchmarks.md, "Auto-triage evaluation"). It is synthetic: no real
tenant's tickets are in the repository. To be a fair test it has

- eight categories whose vocabularies overlap (a "network printer" is
  network or hardware, "login" is account or security, "charged" is billing
  or subscription, ...), generic helpdesk filler shared by all, and short
  tickets that say little;
- priorities that depend on the category (security and outages run higher)
  and on urgency cues in the text ("asap", "whole team", "production down"),
  which also appear in tickets that are not urgent;
- label noise: a share of tickets (default 10 %) gets a category, and
  another share its priority, drawn at random, as agents mislabel.

Output: CSV with header split,subject,description,category,priority; split
is "train" or "test" (default 80/20). Deterministic for a seed.
Usage: triage-corpus.py [--n 4000] [--seed 1] [--noise 0.1] [--test 0.2]
"""
import argparse
import csv
import random
import sys

CATEGORIES = {
    "hardware": {
        "nouns": ["printer", "laptop", "monitor", "keyboard", "docking station", "mouse",
                  "toner", "battery", "screen", "headset", "scanner", "charger"],
        "verbs": ["is broken", "jams", "does not turn on", "flickers", "makes a noise",
                  "overheats", "is cracked", "stopped charging", "prints blank pages"],
        "base": [0.15, 0.55, 0.25, 0.05],
    },
    "network": {
        "nouns": ["wifi", "vpn", "network printer", "internet", "ethernet port", "router",
                  "dns", "proxy", "network drive", "connection"],
        "verbs": ["keeps dropping", "is slow", "cannot connect", "times out",
                  "is down", "disconnects every hour", "refuses my laptop"],
        "base": [0.05, 0.45, 0.35, 0.15],
    },
    "account": {
        "nouns": ["password", "login", "account", "username", "profile", "email address",
                  "two factor code", "single sign-on"],
        "verbs": ["is locked", "does not work", "was reset", "needs a change", "expired",
                  "shows the wrong name", "cannot be found"],
        "base": [0.2, 0.55, 0.2, 0.05],
    },
    "billing": {
        "nouns": ["invoice", "refund", "credit card", "payment", "receipt", "charge",
                  "vat number", "billing address"],
        "verbs": ["was charged twice", "is wrong", "is missing", "failed", "needs correcting",
                  "has not arrived", "shows the wrong amount"],
        "base": [0.15, 0.6, 0.2, 0.05],
    },
    "subscription": {
        "nouns": ["subscription", "plan", "licence", "seat", "trial", "renewal", "upgrade",
                  "charge"],
        "verbs": ["should be cancelled", "renewed without asking", "needs more seats",
                  "expired", "was downgraded", "cannot be upgraded", "was charged"],
        "base": [0.25, 0.55, 0.15, 0.05],
    },
    "software": {
        "nouns": ["app", "spreadsheet", "browser", "update", "plugin", "report",
                  "calendar", "mail client", "installer", "dashboard"],
        "verbs": ["crashes", "freezes on start", "shows an error", "will not install",
                  "is very slow", "lost my changes", "does not sync", "does not work"],
        "base": [0.15, 0.5, 0.28, 0.07],
    },
    "security": {
        "nouns": ["phishing email", "suspicious login", "virus warning", "stolen laptop",
                  "leaked password", "unknown device", "ransomware note", "login"],
        "verbs": ["was reported", "appeared", "needs checking", "was clicked",
                  "was found", "came from outside", "is spreading"],
        "base": [0.02, 0.2, 0.43, 0.35],
    },
    "shipping": {
        "nouns": ["order", "parcel", "delivery", "replacement", "return label", "tracking number",
                  "package", "courier"],
        "verbs": ["has not arrived", "is damaged", "went to the wrong address", "is late",
                  "was lost", "needs a return", "is stuck in customs"],
        "base": [0.2, 0.6, 0.17, 0.03],
    },
}
PRIORITIES = ["low", "normal", "high", "urgent"]
URGENT_CUES = ["asap", "urgent", "the whole team is blocked", "production is down",
               "customers are waiting", "we lose money every minute", "right now"]
CALM_CUES = ["no rush", "when you have time", "just a question", "low priority",
             "for next week"]
FILLER = ["hello", "hi team", "please help", "thanks in advance", "it worked yesterday",
          "since this morning", "I tried restarting", "see the screenshot",
          "this happens again", "not sure who to ask", "my colleague has the same",
          "can you have a look", "regards", "it is not working", "issue"]


def ticket(rng):
    cat = rng.choice(list(CATEGORIES))
    spec = CATEGORIES[cat]
    # a share of tickets borrow words of another category (overlap)
    other = CATEGORIES[rng.choice(list(CATEGORIES))] if rng.random() < 0.25 else spec
    noun, verb = rng.choice(spec["nouns"]), rng.choice(spec["verbs"])
    subject = f"{noun} {verb}" if rng.random() < 0.8 else rng.choice(FILLER)
    parts = [rng.choice(FILLER)]
    parts += [f"the {rng.choice(spec['nouns'])} {rng.choice(spec['verbs'])}"
              for _ in range(rng.randint(0, 2))]
    if other is not spec:
        parts.append(f"also the {rng.choice(other['nouns'])} {rng.choice(other['verbs'])}")
    prio = rng.choices(PRIORITIES, weights=spec["base"])[0]
    level = PRIORITIES.index(prio)
    if rng.random() < 0.25:  # an urgency cue raises, mostly
        parts.append(rng.choice(URGENT_CUES))
        level = min(3, level + (1 if rng.random() < 0.8 else 0))
    elif rng.random() < 0.15:  # a calm cue lowers, mostly
        parts.append(rng.choice(CALM_CUES))
        level = max(0, level - (1 if rng.random() < 0.8 else 0))
    parts += [rng.choice(FILLER) for _ in range(rng.randint(0, 2))]
    rng.shuffle(parts)
    return subject, ". ".join(parts) + ".", cat, PRIORITIES[level]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--noise", type=float, default=0.1)
    ap.add_argument("--test", type=float, default=0.2)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    out = csv.writer(sys.stdout)
    out.writerow(["split", "subject", "description", "category", "priority"])
    for i in range(args.n):
        subject, description, cat, prio = ticket(rng)
        if rng.random() < args.noise:
            cat = rng.choice(list(CATEGORIES))
        if rng.random() < args.noise:
            prio = rng.choice(PRIORITIES)
        split = "test" if i >= args.n * (1 - args.test) else "train"
        out.writerow([split, subject, description, cat, prio])


if __name__ == "__main__":
    main()
