"""`ledgerdesk demo`: the same seed gives the same help desk, and its log verifies."""

from __future__ import annotations

import pytest

DEMO = ("demo", "--tickets", "60", "--seed", "3")


@pytest.mark.parametrize("store", ["sqlite"])  # the demo is slow enough on one store
def test_the_demo_with_a_seed_is_reproducible_and_verifies(ledgerdesk, tmp_path, store):
    elsewhere = ledgerdesk.with_env(LEDGERDESK_DATA_DIR=str(tmp_path / "second"))
    elsewhere("migrate")
    for cli in (ledgerdesk, elsewhere):
        cli(*DEMO)

    assert (
        ledgerdesk("tickets", "show", "T-7", "--json").stdout
        == elsewhere("tickets", "show", "T-7", "--json").stdout
    )
    listed = ledgerdesk.json("tickets", "list", "--limit", "1000")
    assert sorted(t["number"] for t in listed) == sorted(f"T-{n}" for n in range(1, 61))
    assert ledgerdesk("audit", "verify").code == 0
