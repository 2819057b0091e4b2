"""bench_drift's tables: rates with Wilson intervals, the best single member per row, the peers,
the issue's goals checked, and the cost ratio."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

from benchmarks.bench_drift import ALPHA, PEERS

FAR_BOUNDS = (0.02, 0.08)
GOALS = {  # issue #18: (scenario prefix, n) -> the power the new check must reach
    ("two strong models", 100): 0.7,
    ("10% GSM8K intrusion", 100): 0.7,
    ("style", 30): 0.8,
}
COST_LIMIT = 2.0  # the new check at n = 200 within 2x of today's


def wilson(hits: int, runs: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson interval of a binomial rate."""
    if runs == 0:
        return float("nan"), float("nan")
    p = hits / runs
    centre = (p + z * z / (2 * runs)) / (1 + z * z / runs)
    half = z * math.sqrt(p * (1 - p) / runs + z * z / (4 * runs * runs)) / (1 + z * z / runs)
    return max(0.0, centre - half), min(1.0, centre + half)


def summarise(tasks, ours, peers) -> list[dict]:
    rows = []
    groups: dict[tuple, list[dict]] = {}
    for task in tasks:
        groups.setdefault((task["kind"], task["scenario"], task["n"]), []).append(task)
    groups[("far", "same distribution", "all")] = [t for t in tasks if t["scenario"] == "same distribution"]
    for (kind, scenario, n), members in groups.items():
        peer_members = [t for t in members if t["peer"]]
        hits = sum(ours[t["id"]]["ours"] for t in members)
        names = sorted({m for t in members for m in ours[t["id"]]["members"]})
        singles = {m: float(np.mean([ours[t["id"]]["members"].get(m, False) for t in members])) for m in names}
        best = max(singles, key=lambda m: singles[m])
        row = dict(kind=kind, scenario=scenario, n=n, runs=len(members),
                   ours=hits / len(members), ours_ci=wilson(hits, len(members)),
                   today=float(np.mean([ours[t["id"]]["today"] for t in members])),
                   mmd=singles["mmd"], best_member=best, best_member_rate=singles[best],
                   paired=float(np.mean([ours[t["id"]]["paired"] > 0 for t in members])),
                   named_on_alarms=named_on_alarms([ours[t["id"]] for t in members]))
        for peer in PEERS:
            results = peers.get(peer)
            scored = [results[str(t["id"])][0] for t in peer_members if str(t["id"]) in results] if results else []
            row[peer] = float(np.mean(scored)) if scored else None
            row[f"{peer}_runs"] = len(scored)
        rows.append(row)
    return rows


def named_on_alarms(results: list[dict]) -> dict[str, int]:
    """How often each member is named (moved family-wise) among the family's alarms, most first;
    "none" counts alarms that name no member (several moved a little and the sum decided)."""
    counts: Counter[str] = Counter()
    for r in results:
        if r["ours"]:
            counts.update(r.get("named") or ["none"])
    return dict(counts.most_common())


def goals(rows, timing) -> dict[str, bool]:
    """Issue #18's goals, each measured (False = not met, reported as measured)."""
    out = {}
    for r in rows:
        if r["kind"] == "far":
            out[f"false alarms in bounds: {r['scenario']} n={r['n']}"] = FAR_BOUNDS[0] <= r["ours"] <= FAR_BOUNDS[1]
            continue
        label = f"{r['scenario']} n={r['n']}"
        out[f"{label}: >= best single member ({r['best_member']})"] = r["ours"] >= r["best_member_rate"]
        if r["alibi"] is not None:
            out[f"{label}: >= MMDDrift"] = r["ours"] >= r["alibi"]
        for (prefix, n), goal in GOALS.items():
            if r["scenario"].startswith(prefix) and r["n"] == n:
                out[f"{label}: >= {goal}"] = r["ours"] >= goal
    if 200 in timing:
        out[f"cost at n=200 within {COST_LIMIT}x of today's"] = timing[200]["full"] <= COST_LIMIT * timing[200]["today"]
    return out


def print_tables(rows, timing, threads: int, permutations: int, our_permutations: int) -> None:
    def fmt(v: float | None) -> str:
        return "   -  " if v is None else f"{v:6.1%}"

    print(f"\nRate of drift alarms at alpha {ALPHA}; ours {our_permutations} permutations, alibi {permutations}."
          " new = this check (95% Wilson CI);"
          " today = the check before #18; best member = the family's best single test alone; MMD = our MMD at the"
          " median bandwidth alone; alibi = MMDDrift (pytorch); evid. = Evidently default embedding drift")
    print(f"{'':66s} {'n':>4s} {'runs':>4s} {'new':>6s} {'95% CI':>13s} {'today':>6s} {'best member':>22s}"
          f" {'MMD':>6s} {'runs':>4s} {'alibi':>6s} {'runs':>4s} {'evid.':>6s}")
    for kind, title in (("far", "False alarms (no drift: should be ~5%)"), ("power", "Detection power")):
        print(title)
        for r in (r for r in rows if r["kind"] == kind):
            low, high = r["ours_ci"]
            best = f"{r['best_member'][:14]} {r['best_member_rate']:6.1%}"
            print(f"  {r['scenario'][:64]:64s} {str(r['n']):>4s} {r['runs']:4d} {fmt(r['ours'])} "
                  f"[{low:5.1%},{high:6.1%}] {fmt(r['today'])} {best:>22s} {fmt(r['mmd'])} "
                  f"{r['alibi_runs']:4d} {fmt(r['alibi'])} {r['evidently_runs']:4d} {fmt(r['evidently'])}")
    if timing:
        print(f"\nWall clock of one check from precomputed windows, {permutations} permutations, {threads} thread(s)")
        print(f"  {'n per side':>10s} {'new':>10s} {'today':>10s} {'new/today':>10s} {'alibi':>10s} {'alibi/new':>10s}")
        for n, t in timing.items():
            alibi = t.get("alibi")
            print(f"  {n:>10d} {t['full']:9.3f}s {t['today']:9.3f}s {t['full'] / t['today']:9.2f}x "
                  f"{alibi or float('nan'):9.3f}s {(alibi / t['full'] if alibi else float('nan')):9.1f}x")
