"""Turns the bench results into reports/bench.md and the summary table in docs/measurements.md."""

from __future__ import annotations

import re
from pathlib import Path

from bench.public_nlu import PUBLISHED_BRAUN, PUBLISHED_HWU64

TARGETS = {  # name -> (threshold, higher is better)
    "held-out routing accuracy": (0.95, True),
    "held-out out-of-scope accuracy": (0.90, True),
    "German held-out routing accuracy": (0.95, True),
    "German held-out out-of-scope accuracy": (0.90, True),
    "Braun 2017 overall intent accuracy": (0.93, True),
    "HWU64 fold 1 intent accuracy": (0.88, True),
    "CLINC150 false acceptance": (0.03, False),
    "p95 latency at 10 conversations (ms)": (100.0, False),
    "turn 200 over turn 10, default layout": (1.3, False),
    "turn 200 over turn 10, production layout": (1.3, False),
}


def _level(speed: dict, concurrency: int) -> dict:
    return next(level for level in speed["levels"] if level["concurrency"] == concurrency)


def measured(results: dict) -> dict:
    return {
        "held-out routing accuracy": results["heldout"]["en"]["routing_accuracy"],
        "held-out out-of-scope accuracy": results["heldout"]["en"]["out_of_scope_accuracy"],
        "German held-out routing accuracy": results["heldout"]["de"]["routing_accuracy"],
        "German held-out out-of-scope accuracy": results["heldout"]["de"]["out_of_scope_accuracy"],
        "Braun 2017 overall intent accuracy": results["braun"]["overall"]["mean"],
        "HWU64 fold 1 intent accuracy": results["hwu64"]["accuracy"],
        "CLINC150 false acceptance": results["clinc"]["false_acceptance"],
        "p95 latency at 10 conversations (ms)": _level(results["speed"]["ours"], 10)["p95_ms"],
        **{
            f"turn 200 over turn 10, {layout} layout": results["length"][layout]["growth"]
            for layout in ("default", "production")
            if "growth" in results.get("length", {}).get(layout, {})
        },
    }


def _fmt(name: str, value: float) -> str:
    if name.startswith("turn "):
        return f"{value:.2f}×"
    return f"{value:.0f}" if "ms" in name else f"{value:.1%}"


def targets_table(results: dict) -> list[str]:
    rows = ["| target | measured | goal | verdict |", "|---|---|---|---|"]
    for name, value in measured(results).items():
        threshold, higher = TARGETS[name]
        met = value >= threshold if higher else value <= threshold
        gap = abs(value - threshold)
        verdict = "met" if met else f"missed by {_fmt(name, gap)}"
        goal = f"{'≥' if higher else '≤'} {_fmt(name, threshold)}"
        rows.append(f"| {name} | {_fmt(name, value)} | {goal} | {verdict} |")
    return rows


def _run(measurement: dict) -> str:
    return f"{measurement['seconds']:.0f} s, peak {measurement['peak_mb']:.0f} MB"


def _memory(memory: dict) -> str:
    rasa = f"Rasa {memory['rasa_mb']:.0f} MB"
    return f"{rasa} + actions {memory['actions_mb']:.0f} MB" if memory["actions_mb"] else rasa


def speed_table(results: dict) -> list[str]:
    ours, stock = results["speed"]["ours"], results["speed"]["stock"]
    rows = [
        "| concurrent conversations | this assistant p50 / p95 / p99 (ms) | msg/s |"
        " stock `rasa init` p50 / p95 / p99 (ms) | msg/s | throughput ratio |",
        "|---|---|---|---|---|---|",
    ]
    for level in ours["levels"]:
        c = level["concurrency"]
        s = _level(stock, c)
        rows.append(
            f"| {c} | {level['p50_ms']:.0f} / {level['p95_ms']:.0f} / {level['p99_ms']:.0f} | "
            f"{level['messages_per_s']:.0f} | {s['p50_ms']:.0f} / {s['p95_ms']:.0f} / "
            f"{s['p99_ms']:.0f} | {s['messages_per_s']:.1f} | "
            f"{level['messages_per_s'] / s['messages_per_s']:.1f}× |"
        )
    rows += [
        "",
        "| | this assistant | stock `rasa init` |",
        "|---|---|---|",
        f"| training | {_run(ours['training'])} | {_run(stock['training'])} |",
        f"| start to first answer | {ours['startup_s']:.1f} s | {stock['startup_s']:.1f} s |",
        f"| peak memory serving | {_memory(ours['memory'])} | "
        f"Rasa {stock['memory']['rasa_mb']:.0f} MB |",
        f"| errors under load | {sum(x['errors'] for x in ours['levels'])} |"
        f" {sum(x['errors'] for x in stock['levels'])} |",
    ]
    return rows


def summary_table(results: dict) -> str:
    m = results["machine"]
    return "\n".join(
        [
            f"Latest `make bench` ({m['date']}, {m['cpu']}, {m['cores']} cores):",
            "",
            *targets_table(results),
            "",
            *speed_table(results),
        ]
    )


def _failures(failures: list[dict]) -> list[str]:
    return [
        f'- [{f["category"]}] "{f["text"]}": expected {f["expected"]}, got {f["got"]} '
        f"(intent {f['intent']})"
        for f in failures
    ]


def _heldout_section(by_language: dict) -> list[str]:
    lines = ["| category | language | n | accuracy |", "|---|---|---|---|"]
    for language, summary in by_language.items():
        lines += [
            f"| {category} | {language} | {row['n']} | {row['accuracy']:.1%} |"
            for category, row in summary["by_category"].items()
        ]
    lines.append("")
    for language, summary in by_language.items():
        detection = summary["language_detection"]
        lines += [
            f"**{language}** ({summary['messages']} messages): routing "
            f"**{summary['routing_accuracy']:.1%}**, out of scope declined "
            f"**{summary['out_of_scope_accuracy']:.1%}**; language heard right "
            f"{detection['correct']:.1%}, unsure {detection['unsure']:.1%}, wrong "
            f"{detection['wrong']:.1%}. Failures:",
            "",
            *(_failures(summary["failures"]) or ["- none"]),
            "",
        ]
    return lines


def render(results: dict) -> str:
    m, clinc = results["machine"], results["clinc"]
    braun, hwu = results["braun"], results["hwu64"]
    lines = [
        "# Benchmark report",
        "",
        f"{m['date']} · {m['cpu']} · {m['cores']} cores · Python {m['python']}",
        "",
        "## Targets",
        "",
        *targets_table(results),
        "",
        "## 1. Held-out enquiries (`data/eval/heldout.yml`, `heldout_de.yml`)",
        "",
        "Messages written independently of the training data, each sent to the running "
        "assistant in a new conversation (no page language) and judged by what the visitor "
        "sees.",
        "",
        *_heldout_section(results["heldout"]),
        "## 2. The NLU pipeline on public data",
        "",
        "`config.yml` as it is (same components and settings, the classifier's seed varied), "
        "trained on each training split and tested on its test split. Where a data set has a "
        "`None` class, the assistant's fallback (confidence below the threshold) counts as "
        "`None`, as in the papers' threshold setting.",
        "",
        "### Braun et al. 2017 (intent accuracy)",
        "",
        "| system | Chatbot | AskUbuntu | WebApps | overall |",
        "|---|---|---|---|---|",
        "| **this assistant** (mean ± sd over "
        f"{len(braun['overall']['runs'])} seeds) | "
        + " | ".join(
            f"{braun[k]['mean']:.3f} ± {braun[k]['stdev']:.3f}"
            for k in ("Chatbot", "AskUbuntu", "WebApps", "overall")
        )
        + " |",
        *[
            f"| {name} | {r['Chatbot']:.2f} | {r['AskUbuntu']:.2f} | {r['WebApps']:.2f} | "
            f"{r['overall']:.2f} |"
            for name, r in PUBLISHED_BRAUN.items()
        ],
        "",
        "The logistic-regression classifier is trained by a deterministic solver, so the "
        "seeds do not change its result; the spread is reported as measured.",
        "",
        "### HWU64, fold 1",
        "",
        f"{hwu['train']} training / {hwu['test']} test utterances, {hwu['intents']} intents.",
        "",
        "| system | intent accuracy | macro F1 |",
        "|---|---|---|",
        f"| **this assistant** | {hwu['accuracy']:.3f} | {hwu['macro_f1']:.3f} |",
        *[f"| {name} | {value} | |" for name, value in PUBLISHED_HWU64.items()],
        "",
        "## 3. Out-of-scope robustness (CLINC150 test split)",
        "",
        f"{clinc['messages']} test utterances (in-scope test plus `oos_test`) without the "
        f"intents the assistant handles itself ({', '.join(clinc['excluded_intents'])}), sent "
        "to the assistant's own model. The assistant's out-of-scope training includes "
        "examples sampled from CLINC150's *training* split (`scripts/clinc_oos_training.py`), "
        "so these are new sentences of familiar domains; out-of-scope traffic unlike any "
        "CLINC domain may fare worse.",
        "",
        f"- false acceptance (treated as a hub question): **{clinc['false_acceptance']:.1%}**",
        f"- answered as small talk: {clinc['small_talk']:.1%}",
        "- intents that attract them: "
        + ", ".join(f"{name} ({count})" for name, count in clinc["attracting_intents"]),
        "",
        "Examples:",
        "",
        *[
            f'- "{e["text"]}" ({e["clinc_intent"]}) → {e["assistant"]}'
            for e in clinc["examples"][:15]
        ],
        "",
        "## 4. Speed",
        "",
        "REST round trips from an asyncio/aiohttp load generator on the same machine; each "
        "visitor holds conversations of ten typical messages one after the other (1 visitor × 6 "
        "conversations, 10 × 4, 50 × 1); figures are the medians of "
        f"{len(results['speed']['ours']['levels'][0]['runs'])} runs. The reference is a stock "
        "`rasa init` assistant trained and served on this machine in the same run, asked the "
        "same messages.",
        "",
        *speed_table(results),
        "",
        *(length_section(results["length"]) if "length" in results else []),
        *(growth_section(results["growth"]) if "growth" in results else []),
        *(hop_section(results["hop"]) if "hop" in results else []),
        *(scaling_section(results["scaling"]) if "scaling" in results else []),
        *(hostile_section(results["hostile"]) if "hostile" in results else []),
    ]
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


LAYOUTS = {
    "default": "this assistant, default layout (in memory)",
    "production": "this assistant, production layout (PostgreSQL, Redis)",
    "stock": "stock `rasa init`",
}


def length_section(length: dict) -> list[str]:
    lines = ["## 5. Conversation length", ""]
    if "failed" in length:
        return [*lines, f"Not measured: it failed: {length['failed']}.", ""]
    measured = [length[key] for key in LAYOUTS if "p50_ms" in length.get(key, {})]
    marks = measured[0]["p50_ms"]
    rows = [
        "| | " + " | ".join(f"turn {m} (ms)" for m in marks) + " | turn 200 / turn 10 |",
        "|---" * (len(marks) + 2) + "|",
    ]
    for key, name in LAYOUTS.items():
        figures = length.get(key, {})
        if "p50_ms" not in figures:
            rows.append(f"| {name} | not measured: {figures.get('skipped', 'missing')} |")
            continue
        times = " | ".join(f"{v:.0f}" for v in figures["p50_ms"].values())
        rows.append(f"| {name} | {times} | {figures['growth']:.2f}× |")
    alone = f" (run alone on {length['run_alone_on']})" if length.get("run_alone_on") else ""
    conversations = measured[0]["conversations"]
    return [
        *lines,
        f"One Rasa server each, in one run{alone}: {conversations} conversations of 200 turns, "
        "one after the other, the ten messages of section 4 in turn. Each figure is the median "
        "answer time of the ten turns up to it, over all conversations. The tracker stores "
        "read a window of each conversation (`nlu/server/window.py`), so a long one costs "
        "what a short one does; stock Rasa reads, replays, featurises and sends its whole "
        "history with every message.",
        "",
        *rows,
        "",
    ]


def _growth_rows(label: str, measured: dict, describe) -> list[str]:
    rows = [
        f"| {label} | p50 / p95 (ms), 1 visitor | p50 / p95 (ms), 10 visitors | msg/s at 10 |",
        "|---|---|---|---|",
    ]
    for key, figures in measured.items():
        one, ten = figures["levels"]["1"], figures["levels"]["10"]
        rows.append(
            f"| {describe(key, figures)} | {_ms(one['p50_ms'])} / {_ms(one['p95_ms'])} | "
            f"{_ms(ten['p50_ms'])} / {_ms(ten['p95_ms'])} | {ten['messages_per_s']:.1f} |"
        )
    return rows


def growth_section(growth: dict) -> list[str]:
    lines = ["## 6. Knowledge-base size and stored conversations", ""]
    if "failed" in growth:
        return [*lines, f"Not measured: it failed: {growth['failed']}.", ""]
    alone = f" (run alone on {growth['run_alone_on']})" if growth.get("run_alone_on") else ""
    stored = growth["stored"]
    lines += [
        f"Section 4's conversations{alone}, one run each: 1 visitor × 2 conversations, then "
        "10 visitors × 2.",
        "",
        "**Knowledge-base size.** `data/knowledge_base.yml` with its organisations and topics "
        'multiplied by generated ones ("Generated Partner 7", split between the hubs), '
        "loaded into the assistant's database, and a spaCy pipeline built from it; the default "
        "layout.",
        "",
        *_growth_rows(
            "knowledge base",
            growth["knowledge_base"],
            lambda factor, f: (
                f"{factor}× ({f['organisations']} organisations, {f['topics']} topics)"
            ),
        ),
        "",
        "**Stored conversations.** The production layout (PostgreSQL); before each row "
        "PostgreSQL copies one real ten-turn conversation into the tracker database until it "
        "holds that many others.",
        "",
    ]
    if "skipped" in stored:
        return [*lines, f"Not measured: {stored['skipped']}.", ""]
    return [
        *lines,
        *_growth_rows("other conversations", stored, lambda count, _f: f"{int(count):,}"),
        "",
    ]


def hop_section(hop: dict) -> list[str]:
    lines = ["## 7. Actions over HTTP or in the Rasa server", ""]
    if "failed" in hop:
        return [*lines, f"Not measured: it failed: {hop['failed']}.", ""]
    alone = f" (run alone on {hop['run_alone_on']})" if hop.get("run_alone_on") else ""
    rows = [
        "| concurrent conversations | over HTTP p50 / p95 (ms) | msg/s |"
        " in the Rasa server p50 / p95 (ms) | msg/s |",
        "|---|---|---|---|---|",
    ]
    for http, inside in zip(hop["http"], hop["in_process"], strict=True):
        rows.append(
            f"| {http['concurrency']} | {_ms(http['p50_ms'])} / {_ms(http['p95_ms'])} | "
            f"{http['messages_per_s']:.1f} | {_ms(inside['p50_ms'])} / "
            f"{_ms(inside['p95_ms'])} | {inside['messages_per_s']:.1f} |"
        )
    return [
        *lines,
        "The default layout twice, running side by side: custom actions called over HTTP on "
        "the action server (one kept connection), and run by the Rasa server itself "
        "(`action_endpoint: {actions_module: actions}`, nlu/server/in_process_actions.py). "
        f"Section 4's conversations, each level on one and at once on the other; the medians of "
        f"{hop['runs']} runs{alone}. On {hop['cores']} cores the action server is a second "
        "process the other core can run; in the Rasa server the actions share its one.",
        "",
        *rows,
        "",
    ]


def scaling_section(scaling: dict) -> list[str]:
    lines = ["## 8. Scaling across instances (production layout)", ""]
    if "skipped" in scaling or "failed" in scaling:
        why = scaling.get("skipped") or f"it failed: {scaling['failed']}"
        return [*lines, f"Not measured: {why}.", ""]
    levels = scaling["levels"]
    rows = [
        "| Rasa instances | concurrent conversations | messages/s | p50 (ms) | p95 (ms) | errors |",
        "|---|---|---|---|---|---|",
        *(
            f"| {x['instances']} | {x['concurrency']} | {x['messages_per_s']:.1f} | "
            f"{_ms(x['p50_ms'])} | {_ms(x['p95_ms'])} | {x['errors']} |"
            for x in levels
        ),
    ]
    one = {x["concurrency"]: x["messages_per_s"] for x in levels if x["instances"] == 1}
    two = {x["concurrency"]: x["messages_per_s"] for x in levels if x["instances"] == 2}
    ratios = ", ".join(f"{two[c] / one[c]:.2f}× at {c}" for c in one if c in two and one[c])
    limited = sum(x.get("error_kinds", {}).get("429", 0) for x in levels)
    runs = scaling["runs"]
    how = f"the medians of {runs} runs" if runs > 1 else "from one run, indicative only"
    if scaling.get("run_alone_on"):
        how += f" (this section run alone on {scaling['run_alone_on']})"
    return [
        *lines,
        "`make run-prod`'s layout: Rasa servers with `endpoints.prod.yml` (SQL tracker store "
        "on PostgreSQL, a fresh database dropped afterwards; Redis lock store; no RabbitMQ), "
        "the action server, and nginx in front (`deploy/nginx.conf`) with production's rate limits. "
        "The same load generator as section 4 sends its messages through one front door over "
        "one Rasa server and through another over two; each level runs on one layout, then at once on "
        "the other, so that the machine's other work weighs on both alike (the second server "
        f"idles while one serves). Figures are {how}. Section 4 keeps conversations in memory, "
        "so its figures also differ by the cost of PostgreSQL and Redis.",
        "",
        *rows,
        "",
        f"Throughput of two instances relative to one: {ratios} concurrent conversations. "
        f"This machine has {scaling['cores']} cores: the two Rasa servers, the action server, "
        "nginx, PostgreSQL, Redis and the load generator all compete for them, so this "
        "is a floor for what a second instance adds, not what two machines would give.",
        "",
        "Each bench conversation is a new sender with ten messages, within the "
        f"per-sender burst of 10; responses refused as rate-limited (429): {limited}.",
        "",
    ]


def hostile_section(hostile: dict) -> list[str]:
    lines = ["## 9. Hostile input", ""]
    if "failed" in hostile:
        return [*lines, f"Not measured: it failed: {hostile['failed']}.", ""]
    flood, before, during = hostile["flood"], hostile["visitor_before"], hostile["visitor_during"]
    statuses = ", ".join(
        f"{count} × {status}" for status, count in sorted(flood["statuses"].items())
    )
    shapes = hostile["long_message_seconds"]
    refused = hostile["ten_mb_message"]
    how = (
        f" (this section run alone on {hostile['run_alone_on']})"
        if "run_alone_on" in hostile
        else ""
    )
    return [
        *lines,
        f"One Rasa server with the default rate limits{how}. One client (127.0.0.2) sends "
        f"{flood['messages']:,} REST messages, each under a new sender id, "
        f"{hostile['flood_concurrency']} at a time, while a second visitor (127.0.0.1) holds "
        "ordinary ten-message conversations, 0.2 s between messages.",
        "",
        "| second visitor | answers | p50 (ms) | p95 (ms) |",
        "|---|---|---|---|",
        f"| alone | {before['answers']} | {_ms(before['p50_ms'])} | {_ms(before['p95_ms'])} |",
        f"| during the flood | {during['answers']} | {_ms(during['p50_ms'])} | "
        f"{_ms(during['p95_ms'])} |",
        "",
        f"The flood took {flood['seconds']:.1f} s; its answers: {statuses}.",
        "",
        f"A 10 MB message: answered {refused['status']} after {refused['seconds'] * 1000:.0f} ms. "
        "The slowest answers to messages of 5,000 characters (the most a message is read): "
        + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in shapes.items())
        + ".",
        "",
    ]


SECTIONS_ALONE = {
    "length": length_section,
    "growth": growth_section,
    "hop": hop_section,
    "scaling": scaling_section,
    "hostile": hostile_section,
}


def render_alone(results: dict, section: str) -> str:
    """One section alone, when no full report exists to put it into."""
    m = results["machine"]
    header = ["# Benchmark report", "", f"{m['date']} · {m['cpu']} · {m['cores']} cores", ""]
    return "\n".join([*header, *SECTIONS_ALONE[section](results[section])])


START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def update_summary(document: Path, table: str) -> None:
    text = document.read_text(encoding="utf-8")
    block = f"{START}\n{table}\n{END}"
    if START in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _m: block, text, flags=re.S)
    else:
        text = text.rstrip() + f"\n\n## Benchmarks\n\nFull report: `reports/bench.md`.\n\n{block}\n"
    document.write_text(text, encoding="utf-8")
