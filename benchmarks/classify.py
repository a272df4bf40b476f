"""Classification speed: latency per message on the shipped knowledge base, and on one grown
``--scale`` times (synthetic examples made by shuffling the real ones' words, under the same
intents, so the vocabulary grows too).

Two figures per knowledge base: ``match`` (one message against every intent, as the old
matcher measured) and ``classify`` (a whole reading: clauses, details, dates — what
``faqbot classify`` and every turn do). Queries are the checkout's own labelled questions.

Run: ``python benchmarks/classify.py [--scale 10] [--rounds 5]``. Timings are printed,
never asserted: compare runs on the same machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from bot.knowledge import Example, KnowledgeBase
from bot.understanding.compiled import compile_knowledge, load
from bot.understanding.reading import Reader

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT / "tests" / "data" / "questions.jsonl"
TODAY = date(2026, 11, 25)


def queries() -> list[str]:
    """The questions of the project's own labelled set."""
    lines = QUERIES.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()]


def grown(knowledge: KnowledgeBase, scale: int, seed: int = 7) -> KnowledgeBase:
    """``knowledge`` with ``scale`` times as many examples: shuffled-word variants of the real ones."""
    rng = random.Random(seed)
    examples: list[Example] = list(knowledge.examples)
    for copy in range(1, scale):
        for example in knowledge.examples:
            parts = example.text.split() if example.language == "en" else list(example.text)
            rng.shuffle(parts)
            text = (" " if example.language == "en" else "").join(parts) + f" v{copy}"
            examples.append(dataclasses.replace(example, text=text))
    return dataclasses.replace(knowledge, examples=tuple(examples))


def measure(call: Callable[[str], object], texts: list[str], rounds: int) -> dict[str, float]:
    """Median, p95 and p99 latency in milliseconds, and messages per second."""
    latencies: list[float] = []
    for _ in range(rounds):
        for text in texts:
            start = time.perf_counter()
            call(text)
            latencies.append(time.perf_counter() - start)
    latencies.sort()
    return {
        "median_ms": round(statistics.median(latencies) * 1000, 3),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 3),
        "messages_per_second": round(len(latencies) / sum(latencies), 1),
    }


def report(label: str, reader: Reader, examples: int, texts: list[str], rounds: int) -> None:
    for text in texts[:50]:  # warm the caches a long-running process has
        reader.read(reader.message(text), TODAY)
    for name, call in (
        ("match", lambda text: reader.matcher.match(text)),
        ("classify", lambda text: reader.read(reader.message(text), TODAY)),
    ):
        row = {"knowledge_base": label, "examples": examples, "measure": name, **measure(call, texts, rounds)}
        print(json.dumps(row, ensure_ascii=False), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=int, default=10, help="grow the knowledge base this many times (1: skip)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    knowledge, compiled = load(ROOT)
    texts = queries()
    report("shipped", Reader(knowledge, compiled), len(knowledge.examples), texts, args.rounds)
    if args.scale > 1:
        bigger = grown(knowledge, args.scale)
        started = time.perf_counter()
        reader = Reader(bigger, compile_knowledge(bigger))
        print(json.dumps({"knowledge_base": f"{args.scale}x", "compile_s": round(time.perf_counter() - started, 1)}))
        report(f"{args.scale}x", reader, len(bigger.examples), texts, args.rounds)


if __name__ == "__main__":
    main()
