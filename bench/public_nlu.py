"""The assistant's NLU pipeline (config.yml, same components and settings) trained
and tested on public intent data sets, next to their published results."""

from __future__ import annotations

import asyncio
import csv
import json
import statistics
import tempfile
from pathlib import Path

import yaml

from bot.settings import PROJECT_ROOT

BENCHMARKS = PROJECT_ROOT.parent / "shared" / "benchmarks"
BRAUN_CORPORA = {
    "Chatbot": "ChatbotCorpus.json",
    "AskUbuntu": "AskUbuntuCorpus.json",
    "WebApps": "WebApplicationsCorpus.json",
}
PUBLISHED_BRAUN = {  # benchmarks/README.md
    "LUIS (2017)": {"Chatbot": 0.98, "AskUbuntu": 0.90, "WebApps": 0.81, "overall": 0.91},
    "Watson (2017)": {"Chatbot": 0.97, "AskUbuntu": 0.92, "WebApps": 0.83, "overall": 0.92},
    "Dialogflow (2017)": {"Chatbot": 0.93, "AskUbuntu": 0.85, "WebApps": 0.80, "overall": 0.87},
    "Rasa (2017, spaCy + sklearn)": {
        "Chatbot": 0.98,
        "AskUbuntu": 0.86,
        "WebApps": 0.74,
        "overall": 0.88,
    },
    "NLP.js v3": {"Chatbot": 0.99, "AskUbuntu": 0.94, "WebApps": 0.80, "overall": 0.93},
    "Subword Semantic Hashing (best run)": {
        "Chatbot": 0.99,
        "AskUbuntu": 0.93,
        "WebApps": 0.85,
        "overall": 0.93,
    },
}
PUBLISHED_HWU64 = {
    "Dialogflow (~10 examples per intent)": 0.656,
    "LUIS (~10 examples per intent)": 0.655,
    "Watson (~10 examples per intent)": 0.69,
    "DIET-style, full fold 1 (reported range, not verified)": "0.86-0.90",
}


def config_with_seed(seed: int, workdir: Path) -> Path:
    """config.yml as it is, with the classifier's seed set; NLU part only."""
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if "random_state" in component:
            component["random_state"] = seed
    config["policies"] = []
    path = workdir / f"config-{seed}.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _rasa_json(examples: list[tuple[str, str]], path: Path) -> Path:
    common = [{"text": text, "intent": intent, "entities": []} for text, intent in examples]
    path.write_text(json.dumps({"rasa_nlu_data": {"common_examples": common}}), encoding="utf-8")
    return path


def classifier_intent(parse: dict, none_label: str | None = None) -> str | None:
    """The classifier's top intent. Where a data set has a "None" class, the
    assistant's fallback (too unsure to answer) is that class, as in the papers'
    threshold setting; elsewhere the fallback is not a class of the data set."""
    top = (parse.get("intent") or {}).get("name")
    if top == "nlu_fallback" and none_label:
        return none_label
    ranking = [r for r in parse.get("intent_ranking", []) if r["name"] != "nlu_fallback"]
    return ranking[0]["name"] if ranking else top


def train_and_predict(
    train: list[tuple[str, str]], test: list[str], seed: int, workdir: Path
) -> list[str | None]:
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    data = _rasa_json(train, workdir / f"train-{seed}.json")
    model = train_nlu(
        str(config_with_seed(seed, workdir)), str(data), str(workdir), fixed_model_name=f"m{seed}"
    )
    agent = Agent.load(model)
    none_label = "None" if any(intent == "None" for _, intent in train) else None

    async def parse_all() -> list[str | None]:
        return [classifier_intent(await agent.parse_message(t), none_label) for t in test]

    return asyncio.run(parse_all())


def braun(seeds: list[int]) -> dict:
    results: dict[str, list[float]] = {name: [] for name in [*BRAUN_CORPORA, "overall"]}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            correct_all = total_all = 0
            for name, filename in BRAUN_CORPORA.items():
                sentences = json.loads((BENCHMARKS / "braun2017" / filename).read_text())[
                    "sentences"
                ]
                train = [(s["text"], s["intent"]) for s in sentences if s["training"]]
                test = [(s["text"], s["intent"]) for s in sentences if not s["training"]]
                predicted = train_and_predict(train, [t for t, _ in test], seed, Path(tmp))
                correct = sum(p == gold for p, (_, gold) in zip(predicted, test, strict=True))
                results[name].append(correct / len(test))
                correct_all += correct
                total_all += len(test)
            results["overall"].append(correct_all / total_all)
    return {
        name: {
            "mean": statistics.mean(values),
            "stdev": statistics.pstdev(values),
            "runs": values,
        }
        for name, values in results.items()
    }


def _hwu_split(split: str) -> list[tuple[str, str]]:
    examples = []
    for path in sorted((BENCHMARKS / "hwu64-fold1" / split).glob("*.csv")):
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter=";"):
                text = (row.get("answer_from_anno") or row.get("answer") or "").strip()
                if text:
                    examples.append((text, f"{row['scenario']}_{row['intent']}"))
    return examples


def hwu64(seed: int) -> dict:
    from sklearn.metrics import f1_score

    train, test = _hwu_split("train"), _hwu_split("test")
    with tempfile.TemporaryDirectory() as tmp:
        predicted = train_and_predict(train, [t for t, _ in test], seed, Path(tmp))
    gold = [intent for _, intent in test]
    return {
        "train": len(train),
        "test": len(test),
        "intents": len({i for _, i in train}),
        "accuracy": sum(p == g for p, g in zip(predicted, gold, strict=True)) / len(gold),
        "macro_f1": f1_score(gold, [p or "" for p in predicted], average="macro"),
    }
