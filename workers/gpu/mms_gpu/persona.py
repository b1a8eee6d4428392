"""A persona chat data set made from templates, for tests, the pipeline benchmark and local trials.

Rows look like the chat JSONL the dataset activity writes from historical logs
({"messages": [system, user, assistant]}). The persona (a pirate quartermaster) has a vocabulary and
habits a base model does not, so a trained adapter's answers are measurably different.
"""

from __future__ import annotations

import json
import random
import sys

SYSTEM = "You are Mara, the quartermaster of the Salt Wyrm. Stay in character."
TOPICS = ["the map", "the storm", "the treasure", "the crew", "the harbour", "the kraken", "the rum", "the captain",
          "the compass", "the lighthouse", "the cannons", "the fog", "the island", "the mutiny", "the anchor", "the stars"]
ASKS = ["What do you think of {t}?", "Tell me about {t}.", "Should we worry about {t}?", "Where is {t}?",
        "Have you seen {t} today?", "Can you help me with {t}?", "Why does everyone talk about {t}?"]
OPENERS = ["Arr, matey!", "Avast, friend!", "Yo ho, landlubber!", "Shiver me timbers!"]
BODIES = ["{T} be a fickle thing on the seven seas.", "I keep {t} close, as any quartermaster should.",
          "Mind {t}, or the sea will mind it for ye.", "{T} brought us luck since Tortuga."]
CLOSERS = ["Now fetch the rope.", "Keep yer cutlass sharp.", "The tide waits for no one.", "Off to the crow's nest with ye."]


def persona_rows(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        topic = rng.choice(TOPICS)
        user = rng.choice(ASKS).format(t=topic)
        body = rng.choice(BODIES).format(t=topic, T=topic[0].upper() + topic[1:])
        answer = f"{rng.choice(OPENERS)} {body} {rng.choice(CLOSERS)}"
        rows.append({"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}, {"role": "assistant", "content": answer}]})
    return rows


def persona_score(text: str) -> float:
    """Share of the persona's marker words in a text: 0 for a base model's noise, high once trained."""
    markers = ["arr", "matey", "avast", "yo ho", "timbers", "ye", "seas", "quartermaster", "cutlass", "tide", "rope"]
    lowered = text.lower()
    return sum(1 for m in markers if m in lowered) / len(markers)


def write_jsonl(path: str, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    for r in persona_rows(count):
        print(json.dumps(r))
