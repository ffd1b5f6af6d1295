"""Builds the igwatch clinical cases (tests/vignettes/cases/v-*.json) from every area's
``tests/rules/<area>/cases.py``, validates them against the catalog and prints the coverage.

Run:   python -m tests.rules.build_cases [--coverage] [--out DIR]
Check: python3 ../shared/tools/check_vignettes.py --igwatch igwatch tests/vignettes/cases
"""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import date

from tests.rules.anti_cd20 import cases as anti_cd20
from tests.rules.casebuilder import (
    BEYOND_SPEC_REASONS,
    CASES,
    CATALOG,
    DATA_ISSUE_CODES,
    MONITORING_TESTS,
    OUT,
    REASONS,
    ROOT,
)
from tests.rules.data_quality import cases as data_quality
from tests.rules.dosing import cases as dosing
from tests.rules.facts import cases as facts
from tests.rules.igm_deficiency import cases as igm_deficiency
from tests.rules.monitoring import cases as monitoring
from tests.rules.prophylaxis import cases as prophylaxis
from tests.rules.replacement import cases as replacement
from tests.rules.revision2 import cases as revision2


def spec_catalog():
    """Ids and reason codes as written in clinical-spec §5, when the design folder is reachable."""
    for path in (
        os.environ.get("IGWATCH_SPEC", ""),
        "/work/shared/design/clinical-spec.md",
        os.path.join(ROOT, "..", "shared", "design", "clinical-spec.md"),
    ):
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            sec = text.split("## 5.")[1].split("## 6.")[0]
            return set(re.findall(r"^\| `([a-z0-9.\-]+)` \|", sec, re.M)), sec
    return None, None


def validate(cases):
    errors = []
    names = set()
    ids_in_spec, sec5 = spec_catalog()
    if ids_in_spec is not None:
        if ids_in_spec != set(CATALOG):
            errors.append(f"catalog differs from spec §5: {sorted(ids_in_spec ^ set(CATALOG))}")
        for codes in REASONS.values():
            for code in codes:
                if f"`{code}`" not in sec5 and code not in BEYOND_SPEC_REASONS:
                    errors.append(f"reason {code} not in spec §5")
    for c in cases:
        n = c["name"]
        if n in names:
            errors.append(f"duplicate name {n}")
        names.add(n)
        if not n.startswith("v-"):
            errors.append(f"{n}: name must start with v-")
        for key in ("name", "as_of", "profile", "description", "expect"):
            if key not in c:
                errors.append(f"{n}: missing {key}")
        if ("bundle" in c) == ("raw" in c):
            errors.append(f"{n}: needs exactly one of bundle / raw")
        if c["profile"] not in ("default", "trough-500-700", "stewardship"):
            errors.append(f"{n}: unknown profile")
        date.fromisoformat(c["as_of"])
        exp = c["expect"]
        allowed = {
            "present",
            "absent",
            "reasons",
            "priority",
            "monitoring",
            "dosing",
            "dosing_null",
            "applicable",
            "populations",
            "data_issue",
            "exit",
        }
        if set(exp) - allowed:
            errors.append(f"{n}: unknown expect keys {set(exp) - allowed}")
        if not exp:
            errors.append(f"{n}: empty expect")
        for rid in exp.get("present", []) + exp.get("absent", []):
            if rid not in CATALOG:
                errors.append(f"{n}: unknown recommendation {rid}")
        both = set(exp.get("present", [])) & set(exp.get("absent", []))
        if both:
            errors.append(f"{n}: both present and absent: {both}")
        for rid, codes in exp.get("reasons", {}).items():
            if rid not in REASONS:
                errors.append(f"{n}: reasons for {rid} which has no reason codes")
                continue
            for code in codes:
                if code not in REASONS[rid]:
                    errors.append(f"{n}: unknown reason {rid}/{code}")
            if rid in exp.get("absent", []):
                errors.append(f"{n}: reasons for an absent {rid}")
        for rid, prio in exp.get("priority", {}).items():
            if rid not in CATALOG or prio not in ("info", "warning", "critical"):
                errors.append(f"{n}: bad priority {rid}={prio}")
            if rid not in exp.get("present", []) and rid not in exp.get("reasons", {}):
                errors.append(f"{n}: priority for {rid} without asserting it is present")
        for test in exp.get("monitoring", {}):
            if test not in MONITORING_TESTS:
                errors.append(f"{n}: unknown monitoring test {test}")
        di = exp.get("data_issue")
        if di:
            if di.get("match") and di["match"] != di["match"].lower():
                errors.append(f"{n}: data_issue match must be lower case (checker lowercases)")
            if di.get("match") in DATA_ISSUE_CODES and di.get("severity") not in (
                None,
                DATA_ISSUE_CODES[di["match"]],
            ):
                errors.append(f"{n}: severity of {di['match']} is {DATA_ISSUE_CODES[di['match']]}")
        if exp.get("dosing_null") and exp.get("dosing"):
            errors.append(f"{n}: dosing_null with dosing")
        if "raw" in c:
            if exp != {"exit": 2}:
                errors.append(f"{n}: raw cases expect exit 2 only")
            continue
        b = c["bundle"]
        if b.get("resourceType") != "Bundle" or b.get("type") != "collection":
            errors.append(f"{n}: not a collection Bundle")
        res = [e["resource"] for e in b["entry"]]
        pats = [r for r in res if r["resourceType"] == "Patient"]
        if len(pats) != 1:
            errors.append(f"{n}: {len(pats)} patients")
        urls = {e["fullUrl"] for e in b["entry"]}
        keys = {f"{r['resourceType']}/{r['id']}" for r in res}

        def refs(o):
            if isinstance(o, dict):
                for k, v in o.items():
                    if k == "reference" and isinstance(v, str):
                        yield v
                    else:
                        yield from refs(v)
            elif isinstance(o, list):
                for x in o:
                    yield from refs(x)

        for r in res:
            for ref in refs(r):
                if ref.startswith("#"):
                    if not any(x.get("id") == ref[1:] for x in r.get("contained", [])):
                        errors.append(f"{n}: unresolved {ref}")
                elif ref not in keys and ref not in urls:
                    errors.append(f"{n}: unresolved reference {ref}")
            for fld in ("effectiveDateTime", "onsetDateTime", "occurrenceDateTime"):
                if (
                    fld in r
                    and not r[fld].startswith("2099")
                    and r[fld][:10] > c["as_of"]
                    and not n.endswith("after-as-of-ignored")
                ):
                    errors.append(f"{n}: {r['resourceType']}/{r['id']} dated after as_of")
        if "applicable" in exp and exp["applicable"] is False and exp.get("present"):
            errors.append(f"{n}: present recommendations in a not-applicable case")
    return errors


def coverage(cases):
    rows = []
    for rid in CATALOG:
        p = sum(rid in c["expect"].get("present", []) for c in cases)
        a = sum(rid in c["expect"].get("absent", []) for c in cases)
        rows.append((rid, p, a))
    return rows


def main(argv):
    out = argv[argv.index("--out") + 1] if "--out" in argv else OUT
    for make_cases in (
        replacement.cases_k8a,
        facts.cases_window_merge,
        replacement.cases_k8b,
        replacement.cases_k8c_k8d,
        anti_cd20.cases_kesimpta,
        facts.cases_limits,
        facts.cases_units,
        anti_cd20.cases_exposure_bcells,
        monitoring.cases_baseline,
        monitoring.cases_ig_due,
        replacement.cases_igrt,
        replacement.cases_review,
        prophylaxis.cases_prophylaxis,
        igm_deficiency.cases_population_d,
        igm_deficiency.cases_pneumococcal,
        dosing.cases_dosing,
        data_quality.cases_data_issues,
        data_quality.cases_misc,
        revision2.cases_second_pass,
        revision2.cases_revision2,
    ):
        make_cases()
    errors = validate(CASES)
    rows = coverage(CASES)
    for rid, p, a in rows:
        if p == 0 or a == 0:
            errors.append(f"coverage: {rid} present in {p}, absent in {a}")
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    os.makedirs(out, exist_ok=True)
    wanted = set()
    for c in CASES:
        fname = c["name"] + ".json"
        wanted.add(fname)
        with open(os.path.join(out, fname), "w", encoding="utf-8") as f:
            json.dump(c, f, indent=1, sort_keys=True, ensure_ascii=False)
            f.write("\n")
    for stale in sorted(set(os.listdir(out)) - wanted):
        if stale.startswith("v-") and stale.endswith(".json"):
            os.remove(os.path.join(out, stale))
    for fname in sorted(wanted):  # round-trip: every file is valid JSON
        with open(os.path.join(out, fname), encoding="utf-8") as f:
            json.load(f)
    print(f"wrote {len(CASES)} cases to {os.path.relpath(out)}")
    if "--coverage" in argv:
        print(f"{'recommendation':40} present absent")
        for rid, p, a in rows:
            print(f"{rid:40} {p:7} {a:6}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
