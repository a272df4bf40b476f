"""Classification speed: messages per second and latency, on the shipped knowledge base and on
one 100× larger (synthetic intents made by recombining the real examples' words).

Run: ``python benchmarks/classify.py [--scale 100] [--rounds 5]``. Timings are printed,
never asserted: compare runs on the same machine.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from bot.knowledge import Example, load_knowledge
from bot.matcher import Matcher
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT.parent / "shared" / "eval" / "dev.jsonl"


def _queries(knowledge_examples: list[Example]) -> list[str]:
    if QUERIES.exists():
        return [json.loads(line)["text"] for line in QUERIES.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [example.text for example in knowledge_examples[::5]]


def _synthetic(examples: list[Example], scale: int, seed: int = 7) -> list[Example]:
    """``scale`` times as many examples: the real ones plus shuffled-word variants under new intents."""
    rng = random.Random(seed)
    out = list(examples)
    for copy in range(1, scale):
        for example in examples:
            if example.language == "en":
                words = example.text.split()
                rng.shuffle(words)
                text = " ".join(words) + f" x{copy}"
            else:
                chars = list(example.text)
                rng.shuffle(chars)
                text = "".join(chars) + f"{copy}"
            out.append(Example(f"{example.intent}_{copy}", example.language, text, example.where))
    return out


def _measure(matcher: Matcher, queries: list[str], rounds: int) -> dict[str, float]:
    latencies: list[float] = []
    for _ in range(rounds):
        for text in queries:
            start = time.perf_counter()
            matcher.match(text)
            latencies.append(time.perf_counter() - start)
    latencies.sort()
    return {
        "messages_per_second": round(len(latencies) / sum(latencies), 1),
        "median_ms": round(statistics.median(latencies) * 1000, 3),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    knowledge = load_knowledge(Settings().faqbot_kb_dir)
    examples = list(knowledge.examples)
    queries = _queries(examples)
    for label, kb_examples in (("shipped", examples), (f"{args.scale}x synthetic", _synthetic(examples, args.scale))):
        start = time.perf_counter()
        matcher = Matcher(kb_examples, knowledge.lexicon)
        build = time.perf_counter() - start
        matcher.match("warm up 预热")
        result = _measure(matcher, queries, args.rounds)
        print(
            json.dumps(
                {"knowledge_base": label, "examples": len(kb_examples), "build_s": round(build, 2), **result},
                ensure_ascii=False,
            )
        )


if __name__ == "__main__":
    main()
