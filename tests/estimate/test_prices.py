"""Price learning on a handmade result whose unit prices are known."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubebill.errors import InputError
from kubebill.estimate.prices import MIN_LINES, learn
from kubebill.layout import Layout
from kubebill.store.local import LocalStore
from tests.estimate.handmade import KNOWN, write_store


def test_prices_are_the_known_ones(tmp_path: Path) -> None:
    book, rows = learn(LocalStore(write_store(tmp_path)), Layout(), days=7)
    assert book.cluster == "c1" and book.currency == "USD" and len(book.days) == 1
    m5, c5 = book.groups["m5"], book.groups["c5"]
    assert (m5.cpu_core_hour.effective, m5.cpu_core_hour.list) == pytest.approx(KNOWN.cpu)
    assert (m5.ram_gib_hour.effective, m5.ram_gib_hour.list) == pytest.approx(KNOWN.ram)
    assert (c5.cpu_core_hour.effective, c5.cpu_core_hour.list) == pytest.approx(KNOWN.cpu2)
    assert (c5.ram_gib_hour.effective, c5.ram_gib_hour.list) == pytest.approx(KNOWN.ram2)
    assert (c5.gpu_hour.effective, c5.gpu_hour.list) == pytest.approx(KNOWN.gpu)
    assert m5.gpu_hour.effective is None  # no GPU-hours on n1: nothing to learn from
    # the cluster: weighted by the core-hours (48 on n1, 48 on n2) and GiB-hours (96, 48)
    whole = book.compute
    assert whole.cpu_core_hour.effective == pytest.approx((KNOWN.cpu[0] + KNOWN.cpu2[0]) / 2)
    assert whole.ram_gib_hour.list == pytest.approx((96 * KNOWN.ram[1] + 48 * KNOWN.ram2[1]) / 144)
    assert whole.cpu_core_hour.quantity == pytest.approx(96) and whole.cpu_core_hour.days == 1
    assert whole.cpu_core_hour.lines == 48 and not whole.cpu_core_hour.thin
    assert whole.nodes == 2 and m5.nodes == 1
    [gp3] = book.storage
    assert gp3.sku == "EBS:gp3" and (gp3.gib_month.effective, gp3.gib_month.list) == pytest.approx(KNOWN.pv)
    assert (book.load_balancer_hour.effective, book.load_balancer_hour.list) == pytest.approx(KNOWN.lb)
    assert book.load_balancer_hour.quantity == pytest.approx(24)
    # burst: only train-1 asked for less than it was allocated (1 core requested, 2 allocated)
    assert book.burst.cpu == pytest.approx(96 / 72) and book.burst.ram == pytest.approx(1.0)
    workload = 2 * 24 * KNOWN.cpu[0] + 4 * 24 * KNOWN.ram[0] + 100 * 24 / 730 * KNOWN.pv[0] + 24 * KNOWN.lb[0]
    workload += 2 * 24 * KNOWN.cpu2[0] + 2 * 24 * KNOWN.ram2[0] + 24 * KNOWN.gpu[0]
    assert book.overhead.effective_ratio == pytest.approx(KNOWN.idle[0] / workload)
    assert rows.num_rows == 24 * 5  # the cluster's rows only, not the line outside it


def test_a_price_resting_on_few_lines_says_so(tmp_path: Path) -> None:
    book, _ = learn(LocalStore(write_store(tmp_path)), Layout())
    assert book.groups["m5"].cpu_core_hour.lines == 24 == MIN_LINES and not book.groups["m5"].cpu_core_hour.thin
    from kubebill.estimate.prices import Price

    assert Price.of(1.0, 2.0, 10.0, MIN_LINES - 1, 1).thin


def test_no_results_and_unknown_cluster_say_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="kubebill merge"):
        learn(LocalStore(tmp_path / "empty"), Layout())
    with pytest.raises(InputError, match=r"no results for cluster 'nope'.*kubebill export.*kubebill merge.*c1"):
        learn(LocalStore(write_store(tmp_path / "s")), Layout(), cluster="nope")
