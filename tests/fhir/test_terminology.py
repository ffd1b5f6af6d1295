"""Value sets and matching (contract §1: system + code, ICD-10 hierarchy, name fallback)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from igwatch.fhir import terminology as tx
from igwatch.fhir.ingest import vocabulary
from igwatch.fhir.terminology import (
    CVX,
    ICD10,
    ICD10CM,
    LOINC,
    RXNORM,
    SNOMED,
    Terminology,
    ValueSetError,
    get_terminology,
)

SD = tx.IGWATCH_SD


def cc(text: str | None = None, *codings: tuple[str, str]) -> dict[str, Any]:
    concept: dict[str, Any] = {}
    if text is not None:
        concept["text"] = text
    if codings:
        concept["coding"] = [{"system": s, "code": c} for s, c in codings]
    return concept


def sets(concept: object, within: set[str] | None = None) -> set[str]:
    return set(get_terminology().sets_of(concept, within))


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(tx.VALUESETS_ENV, raising=False)
    tx.clear_cache()
    yield
    tx.clear_cache()


# -- the shipped value sets -------------------------------------------------------------------


def _files() -> list[Path]:
    return sorted(tx.PACKAGE_VALUESETS_DIR.glob("*.json"))


def test_every_file_is_a_valueset_named_after_its_id() -> None:
    files = _files()
    assert len(files) >= 30
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["resourceType"] == "ValueSet"
        # *-icd10-blocks.json extend the set of their id (scripts/expand_icd10_blocks.py)
        assert data["id"] == path.stem.removesuffix("-icd10-blocks")
        assert data["url"] == tx.VALUESET_URL + data["id"]
        assert data["status"] == "active"


def test_every_concept_says_where_its_code_comes_from() -> None:
    for path in _files():
        data = json.loads(path.read_text(encoding="utf-8"))
        includes = data.get("compose", {}).get("include")
        if "compose" in data:
            assert includes, path.name  # FHIR: compose.include is 1..*
        for include in includes or []:
            assert include["system"].startswith("http")
            for concept in include["concept"]:
                sources = [e for e in concept.get("extension", []) if e["url"] == tx.EXT_CODE_SOURCE]
                assert len(sources) == 1 and sources[0]["valueString"].strip(), (path.name, concept["code"])


def test_the_sets_ingest_relies_on_exist() -> None:
    names = set(get_terminology().valuesets)
    needed = {
        *vocabulary.LAB_VALUESETS,
        vocabulary.SEROLOGY_VALUESET,
        vocabulary.INFECTION_VALUESET,
        *vocabulary.INFECTION_CONCEPTS,
        *vocabulary.DIAGNOSIS_VALUESETS,
        *vocabulary.ORGANISM_VALUESETS,
        vocabulary.LIVE_VACCINE_VALUESET,
        vocabulary.PPSV_VALUESET,
        "immune-globulin",
        "antibiotic",
        "ofatumumab",
        "ocrelizumab",
        "rituximab",
        "ublituximab",
        "obinutuzumab",
        "inebilizumab",
    }
    assert needed <= names


def test_name_fallback_only_where_the_contract_allows_it() -> None:
    with_fallback = {name for name, info in get_terminology().valuesets.items() if info.has_name_fallback}
    assert with_fallback == {
        "pneumococcal-serotype-igg",
        "specific-antibody-deficiency",
        "ofatumumab",
        "ocrelizumab",
        "rituximab",
        "ublituximab",
        "obinutuzumab",
        "inebilizumab",
        "immune-globulin",
        "antibiotic",
        "live-vaccine",
        "viral-serology",
        # contract §1 (revision 2): infections are recognised by name too
        "infection",
        "bacterial-infection",
        "opportunistic-infection",
        "severe-by-nature",
        "life-threatening-by-nature",
        "viral-or-fungal-infection",
    }


# -- system + code ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("2465-3", "igg"),
        ("2472-9", "igm"),
        ("2458-8", "iga"),
        ("8116-6", "cd19-absolute"),
        ("8117-4", "cd19-percent"),
        ("29463-7", "body-weight"),
        ("8302-2", "body-height"),
    ],
)
def test_loinc_labs(code: str, expected: str) -> None:
    assert sets(cc(None, (LOINC, code))) == {expected}


def test_system_must_match() -> None:
    assert sets(cc(None, (SNOMED, "2465-3"))) == set()
    assert sets(cc(None, ("http://example.org/local", "2465-3"))) == set()
    assert sets(cc(None, (LOINC, "2465-3 "))) == {"igg"}  # surrounding blanks are not part of a code


def test_oid_and_trailing_slash_aliases() -> None:
    assert sets(cc(None, ("urn:oid:2.16.840.1.113883.6.1", "2465-3"))) == {"igg"}
    assert "infection" in sets(cc(None, ("http://snomed.info/sct/", "91302008")))


def test_conditions() -> None:
    assert sets(cc(None, (SNOMED, "190980000"))) == {"selective-igm-deficiency"}
    assert sets(cc(None, (ICD10CM, "D80.4"))) == {"selective-igm-deficiency"}
    assert sets(cc(None, (SNOMED, "24700007"))) == {"multiple-sclerosis"}
    assert "autoimmune" not in sets(cc(None, (ICD10CM, "G35")))
    pneumococcal_sepsis = sets(cc(None, (SNOMED, "448421008")))
    assert {
        "infection",
        "bacterial-infection",
        "severe-by-nature",
        "life-threatening-by-nature",
        "streptococcus-pneumoniae",
        "bacterial-organism",
    } <= pneumococcal_sepsis
    # PML: JC virus, so never bacterial (revision 2)
    assert sets(cc(None, (SNOMED, "22255007"))) == {
        "infection",
        "opportunistic-infection",
        "viral-or-fungal-infection",
    }
    # Revision 2 (F4): sepsis other than viral or fungal is bacterial by nature, organism or not
    assert "bacterial-infection" in sets(cc(None, (SNOMED, "91302008")))
    assert "bacterial-infection" in sets(cc(None, (ICD10CM, "A41.9")))
    assert "bacterial-infection" not in sets(cc(None, (SNOMED, "770349000")))  # sepsis caused by virus


def test_organism_keys() -> None:
    t = get_terminology()
    for code, key in [
        ("9861002", "streptococcus-pneumoniae"),
        ("44470000", "haemophilus-influenzae"),
        ("17872004", "neisseria-meningitidis"),
        ("3092008", "staphylococcus-aureus"),
    ]:
        keys = {m.get("organism") for m in t.match(cc(None, (SNOMED, code)), vocabulary.ORGANISM_VALUESETS)}
        assert keys == {key}


def test_cvx_leading_zeros() -> None:
    assert sets(cc(None, (CVX, "03"))) == {"live-vaccine"}
    assert sets(cc(None, (CVX, "3"))) == {"live-vaccine"}
    assert sets(cc(None, (CVX, "33"))) == {"pneumococcal-polysaccharide"}
    assert sets(cc(None, (CVX, "187"))) == set()  # recombinant zoster vaccine is not live


def test_antibiotic_agent_from_code() -> None:
    matches = get_terminology().match(cc(None, (RXNORM, "723")), {"antibiotic"})
    assert [m.get("agent") for m in matches] == ["amoxicillin"]
    assert matches[0].get("medication-category") == "antibiotic"
    assert not matches[0].by_name


# -- ICD-10 hierarchy ---------------------------------------------------------------------------


def _icd_terminology() -> Terminology:
    t = Terminology()
    t.add_valueset(
        {
            "resourceType": "ValueSet",
            "id": "test-icd",
            "compose": {"include": [{"system": ICD10CM, "concept": [{"code": "J01.9"}, {"code": "M32"}]}]},
        }
    )
    return t


@pytest.mark.parametrize(
    ("system", "code", "matches"),
    [
        (ICD10CM, "J01.9", True),
        (ICD10CM, "J01.90", True),  # a listed code matches the codes under it
        (ICD10CM, "J01.91", True),
        (ICD10CM, "J0190", True),  # compared without the dot
        (ICD10CM, "j01.90", True),
        (ICD10CM, "J01", False),  # …but not its parent
        (ICD10CM, "J01.0", False),
        (ICD10CM, "J019", True),
        (ICD10CM, "M32", True),
        (ICD10CM, "M32.9", True),
        (ICD10CM, "M32.14", True),
        (ICD10CM, "M3", False),
        (ICD10CM, "M33", False),
        (ICD10, "M32.9", True),  # WHO ICD-10 is the same family
        (ICD10, "J01", False),
        (SNOMED, "M32.9", False),
    ],
)
def test_icd10_hierarchy(system: str, code: str, matches: bool) -> None:
    assert bool(_icd_terminology().match(cc(None, (system, code)))) is matches


def test_icd10_hierarchy_in_shipped_sets() -> None:
    assert "autoimmune" in sets(cc(None, (ICD10CM, "M32.14")))
    assert "autoimmune" in sets(cc(None, (ICD10, "E10.9")))
    assert "infection" in sets(cc(None, (ICD10CM, "J01.90")))
    assert "multiple-sclerosis" in sets(cc(None, (ICD10CM, "G35")))


# -- name fallback ----------------------------------------------------------------------------


def test_name_fallback_for_anti_cd20() -> None:
    t = get_terminology()
    for text, agent in [
        ("Kesimpta 20 MG in 0.4 ML Auto-Injector", "ofatumumab"),
        ("OCREVUS 300 mg", "ocrelizumab"),
        ("rituximab-abbs (Truxima)", "rituximab"),
        ("Briumvi", "ublituximab"),
        ("Gazyva", "obinutuzumab"),
        ("Uplizna 100 mg", "inebilizumab"),
    ]:
        matches = [m for m in t.match(cc(text)) if m.get("medication-category")]
        assert [m.get("agent") for m in matches] == [agent], text
        assert matches[0].by_name


def test_name_fallback_matches_display_case_insensitively() -> None:
    concept = {"coding": [{"system": "http://local", "code": "X1", "display": "KESIMPTA pen"}]}
    assert sets(concept) == {"ofatumumab"}


def test_no_name_fallback_when_a_code_is_known() -> None:
    # A known code decides; its text is not searched.
    assert sets(cc("Kesimpta", (LOINC, "2465-3"))) == {"igg"}


def test_unknown_code_still_gets_name_fallback() -> None:
    assert sets(cc("Kesimpta", (RXNORM, "99999999"))) == {"ofatumumab"}


def test_no_name_fallback_where_not_marked() -> None:
    assert sets(cc("Full-time employment (finding)")) == set()
    assert sets(cc("IgG [Mass/volume] in Serum")) == set()  # immunoglobulins: codes only
    assert sets(cc("Multiple sclerosis")) == set()
    assert sets(cc("Selective IgM deficiency")) == set()


def test_infections_by_name_say_so_and_leave_out_what_is_not_an_infection() -> None:
    """Contract §1 (revision 2): a name fallback for infections, reported as recognised-by-name."""
    t = get_terminology()
    matches = t.match(cc("Infection of tooth (disorder)"))
    assert [(m.valueset, m.by_name) for m in matches] == [("infection", True)]
    assert sets(cc("Pneumococcal pneumonia")) >= {"infection", "bacterial-infection"}
    assert "bacterial-infection" not in sets(cc("Acute viral pharyngitis (disorder)"))
    for text in (
        "Suspected COVID-19",
        "History of infection",
        "Exposure to SARS-CoV-2",
        "Sequela of tuberculosis",
    ):
        assert sets(cc(text)) == set(), text


def test_name_fallback_words_are_whole_words() -> None:
    assert sets(cc("Abacavir 300 mg")) == set()  # "Ab" is not a word here
    assert sets(cc("Probiotic about varicella")) == set()


def test_specific_antibody_deficiency_by_name() -> None:
    matches = get_terminology().match(cc("Specific antibody deficiency (SAD)"))
    assert [(m.valueset, m.by_name) for m in matches] == [("specific-antibody-deficiency", True)]


def test_immune_globulin_names_and_routes() -> None:
    t = get_terminology()

    def ig(text: str) -> tuple[bool, str | None]:
        found = [m for m in t.match(cc(text)) if m.valueset == "immune-globulin"]
        return bool(found), (found[0].get("route") if found else None)

    assert ig("Privigen (immune globulin intravenous, human) 10% liquid") == (True, "IV")
    assert ig("Hizentra 20% 10 g") == (True, "SC")
    assert ig("HyQvia") == (True, "SC")
    assert ig("Gamunex-C 10%") == (True, None)  # IV or SC product: route from the dosage
    assert ig("IVIG 30 g") == (True, "IV")
    assert ig("SCIG weekly") == (True, "SC")
    assert ig("Immunoglobulin infusion") == (True, None)
    assert ig("Rho(D) immune globulin") == (False, None)
    assert ig("hepatitis B immune globulin") == (False, None)
    assert ig("VariZIG") == (False, None)


def test_antibiotic_names_map_to_ingredient_keys() -> None:
    t = get_terminology()

    def agent(text: str) -> str | None:
        found = [m for m in t.match(cc(text)) if m.valueset == "antibiotic"]
        return found[0].get("agent") if found else None

    assert agent("amoxicillin 500 MG Oral Capsule") == "amoxicillin"
    assert agent("amoxicillin 875 MG / clavulanate potassium 125 MG Oral Tablet") == "amoxicillin-clavulanate"
    assert agent("Augmentin") == "amoxicillin-clavulanate"
    assert agent("sulfamethoxazole 800 MG / trimethoprim 160 MG") == "sulfamethoxazole-trimethoprim"
    assert agent("Bactrim DS") == "sulfamethoxazole-trimethoprim"
    assert agent("trimethoprim 100 mg") == "trimethoprim"
    assert agent("Doxycycline hyclate 100 mg") == "doxycycline"
    assert agent("penicillin V potassium 500 mg") == "penicillin-v"
    assert agent("metformin 500 mg") is None


def test_live_vaccine_names() -> None:
    def live(text: str) -> bool:
        return "live-vaccine" in sets(cc(text))

    for text in [
        "MMR vaccine",
        "Varivax",
        "Zostavax",
        "zoster vaccine live",
        "Yellow fever vaccine",
        "YF-Vax",
        "FluMist Quadrivalent",
        "LAIV",
        "Vivotif",
        "oral typhoid vaccine",
        "BCG vaccine",
        "Rotarix",
    ]:
        assert live(text), text
    for text in [
        "Shingrix (zoster vaccine recombinant)",
        "Measles IgG antibody",
        "Yellow fever virus Ab",
        "Rotavirus antigen, stool",
        "Typhoid Vi polysaccharide vaccine",
        "Varicella zoster immune globulin",
        "Influenza vaccine, inactivated",
    ]:
        assert not live(text), text


def test_viral_serology_needs_antibody_word_and_virus() -> None:
    assert sets(cc("Varicella zoster virus IgG Ab")) == {"viral-serology"}
    assert sets(cc("HIV 1+2 antibodies")) == {"viral-serology"}
    assert sets(cc("Hepatitis B core antibody")) == {"viral-serology"}
    assert sets(cc("SARS-CoV-2 serology")) == {"viral-serology"}
    assert sets(cc("HIV viral load")) == set()
    assert sets(cc("Antinuclear antibody")) == set()


def test_pneumococcal_serotype_by_name() -> None:
    assert sets(cc("Streptococcus pneumoniae Danish serotype 6B IgG Ab [Mass/volume] in Serum")) == {
        "pneumococcal-serotype-igg"
    }
    assert sets(cc("Streptococcus pneumoniae Ag [Presence] in Urine")) == set()


# -- site additions -----------------------------------------------------------------------------


def test_site_directory_adds_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "site-igg.json").write_text(
        json.dumps(
            {
                "resourceType": "ValueSet",
                "id": "igg",
                "compose": {
                    "include": [{"system": "http://lab.example.org/codes", "concept": [{"code": "IGG-S"}]}]
                },
            }
        )
    )
    (tmp_path / "site-new.json").write_text(
        json.dumps(
            {
                "resourceType": "ValueSet",
                "id": "site-extra",
                "extension": [
                    {"url": SD + "name-fallback", "extension": [{"url": "words", "valueString": "foo|bar"}]}
                ],
                "compose": {"include": []},
            }
        )
    )
    assert sets(cc(None, ("http://lab.example.org/codes", "IGG-S"))) == set()
    monkeypatch.setenv(tx.VALUESETS_ENV, str(tmp_path))
    assert sets(cc(None, ("http://lab.example.org/codes", "IGG-S"))) == {"igg"}
    assert sets(cc(None, (LOINC, "2465-3"))) == {"igg"}  # the shipped codes stay
    assert sets(cc("Bar reading")) == {"site-extra"}
    info = get_terminology().valuesets["igg"]
    assert len(info.files) == 2


def test_broken_site_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    monkeypatch.setenv(tx.VALUESETS_ENV, str(tmp_path))
    with pytest.raises(ValueSetError, match=r"bad\.json"):
        get_terminology()


def test_missing_site_directory_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(tx.VALUESETS_ENV, str(tmp_path / "nope"))
    with pytest.raises(ValueSetError, match="nope"):
        get_terminology()


def test_value_sets_load_once() -> None:
    assert get_terminology() is get_terminology()


def test_malformed_concepts_do_not_crash() -> None:
    t = get_terminology()
    for concept in [
        None,
        3,
        "2465-3",
        [],
        {"coding": "x"},
        {"coding": [None, 3, {"system": 5, "code": []}]},
        {"text": 5, "coding": [{"display": 7}]},
    ]:
        assert t.match(concept) == ()


def test_every_live_product_has_a_name_rule() -> None:
    """Contract §1: the name rules cover the live products of the CVX list (an oral adenovirus
    type 4/7 order had none)."""
    for text in (
        "Adenovirus type 4 and type 7 vaccine, live, oral",
        "Measles vaccine",
        "Oral polio vaccine (OPV)",
        "Dengue tetravalent vaccine, live",
        "Cholera vaccine, live, oral",
    ):
        assert "live-vaccine" in sets(cc(text)), text
    for text in ("Measles IgG antibody", "Inactivated polio vaccine", "Rubella antibody test"):
        assert "live-vaccine" not in sets(cc(text)), text
