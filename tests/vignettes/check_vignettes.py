#!/usr/bin/env python3
"""Runs igwatch vignette files (see ../vignettes/README.md) through the real command line and
checks each expectation.

usage: check_vignettes.py [--igwatch CMD] [PATH ...]
PATH is a vignette file or a folder of them (default: ../vignettes beside this script); CMD the
igwatch executable (default: igwatch on PATH). Prints one line per failing case, then
'vignettes: P/T pass'. Exits 0 only when all pass."""

import json
import os
import subprocess
import sys
import tempfile


def dig(obj, dotted):
    for part in dotted.split("."):
        if obj is None:
            return None
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def check_assessment(out, exp):
    errs = []
    recs = {r.get("id"): r for r in out.get("recommendations", [])}
    for rid in exp.get("present", []):
        if rid not in recs:
            errs.append(f"missing {rid}")
    for rid in exp.get("absent", []):
        if rid in recs:
            errs.append(f"unexpected {rid}")
    for rid, codes in exp.get("reasons", {}).items():
        got = {r.get("code") for r in (recs.get(rid) or {}).get("reasons", [])}
        for code in codes:
            if code not in got:
                errs.append(f"{rid} lacks reason {code} (has {sorted(x for x in got if x)})")
    for rid, prio in exp.get("priority", {}).items():
        if rid in recs and recs[rid].get("priority") != prio:
            errs.append(f"{rid} priority {recs[rid].get('priority')} != {prio}")
    mons = {m.get("test"): m for m in out.get("monitoring", [])}
    for test, want in exp.get("monitoring", {}).items():
        got = mons.get(test)
        if not got:
            errs.append(f"no monitoring entry {test}")
            continue
        for k, v in want.items():
            if got.get(k) != v:
                errs.append(f"monitoring {test}.{k} = {got.get(k)!r}, want {v!r}")
    if exp.get("dosing_null") and out.get("dosing") is not None:
        errs.append("dosing block present, want null")
    for path, want in exp.get("dosing", {}).items():
        got = dig(out.get("dosing"), path)
        if isinstance(want, (int, float)) and isinstance(got, (int, float)):
            ok = abs(got - want) < 1e-6
        else:
            ok = got == want
        if not ok:
            errs.append(f"dosing.{path} = {got!r}, want {want!r}")
    if "applicable" in exp and out.get("applicable") != exp["applicable"]:
        errs.append(f"applicable = {out.get('applicable')!r}")
    if "populations" in exp and sorted(out.get("populations") or []) != sorted(exp["populations"]):
        errs.append(f"populations = {out.get('populations')!r}")
    di = exp.get("data_issue")
    if di:
        found = False
        for issue in out.get("data_issues", []):
            if di.get("severity") and issue.get("severity") != di["severity"]:
                continue
            if di.get("resource_type") and not str(issue.get("resource", "")).startswith(di["resource_type"]):
                continue
            if (
                di.get("match")
                and di["match"] not in (str(issue.get("code", "")) + str(issue.get("message", ""))).lower()
            ):
                continue
            found = True
        if not found:
            errs.append(f"no data issue like {di}")
    return errs


def check_cards(out, exp):
    errs = []
    cards = {}
    for card in out.get("cards", []):
        rid = (card.get("extension") or {}).get("org.igwatch.recommendation-id")
        cards.setdefault(rid, card)
    for rid in exp.get("present", []):
        if rid not in cards:
            errs.append(f"no card {rid} (cards: {sorted(str(k) for k in cards)})")
    for rid in exp.get("absent", []):
        if rid in cards:
            errs.append(f"unexpected card {rid}")
    for rid, ind in exp.get("indicator", {}).items():
        if rid in cards and cards[rid].get("indicator") != ind:
            errs.append(f"card {rid} indicator {cards[rid].get('indicator')} != {ind}")
    for rid, action in exp.get("suggestion_action", {}).items():
        acts = [
            a.get("type") for s in (cards.get(rid) or {}).get("suggestions", []) for a in s.get("actions", [])
        ]
        if action not in acts:
            errs.append(f"card {rid} has no {action} suggestion (has {acts})")
    return errs


def run_command(cmd):
    """Run igwatch as a subprocess: (exit code, stdout, stderr), or an error list."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return ["timed out after 60 s"]
    except OSError as e:
        return [f"cannot run {cmd[0]}: {e}"]
    return p.returncode, p.stdout, p.stderr


def run_case(igwatch, case, tmp, execute=run_command):
    path = os.path.join(tmp, case["name"] + ".json")
    exp = case["expect"]
    with open(path, "w") as f:
        if "raw" in case:
            f.write(case["raw"])
        else:
            json.dump(case.get("hook_request") or case["bundle"], f)
    if case.get("hook_request"):
        cmd = [igwatch, "hook", path, "--as-of", case["as_of"]]
    else:
        cmd = [igwatch, "assess", path, "--as-of", case["as_of"], "--format", "json"]
        if case.get("profile") and case["profile"] != "default":
            cmd += ["--profile", case["profile"]]
    ran = execute(cmd)
    if isinstance(ran, list):
        return ran
    returncode, stdout, stderr = ran
    want_exit = exp.get("exit", 0)
    if returncode != want_exit:
        return [f"exit {returncode}, want {want_exit}: {stderr.strip()[-300:]}"]
    if want_exit != 0:
        errs = []
        if "Traceback" in stderr:
            errs.append("stack trace on stderr")
        if not stderr.strip():
            errs.append("no message on stderr")
        return errs
    try:
        out = json.loads(stdout)
    except ValueError:
        return [f"stdout is not JSON: {stdout[:200]!r}"]
    if case.get("hook_request"):
        return check_cards(out, exp["cards"])
    return check_assessment(out, exp)


def main(argv):
    igwatch = "igwatch"
    paths = []
    while argv:
        arg = argv.pop(0)
        if arg == "--igwatch":
            igwatch = argv.pop(0)
        else:
            paths.append(arg)
    if not paths:
        paths = [os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vignettes")]
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith(".json"))
        else:
            files.append(p)
    passed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            with open(path) as f:
                case = json.load(f)
            errs = run_case(igwatch, case, tmp)
            if errs:
                print(f"FAIL {case['name']}: " + "; ".join(errs)[:600])
            else:
                passed += 1
    print(f"vignettes: {passed}/{len(files)} pass")
    return 0 if passed == len(files) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
