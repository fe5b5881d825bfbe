"""Formal proofs in `make test` (the quick ones; `make formal` runs them all, the risk
gate's whole-gate kill and power-up proofs included): SymbiYosys k-induction through the YoWASP tools from PyPI.

Why a deliberately false property is here too: a proof flow that never fails proves
nothing; `bus_tight` must be refuted. The MoldUDP64 proof (tools/formal/mold.py) runs
on the Sequencer (rtl/rx/merge/sequencer.py) with free inputs, k-induction depth 6:
about 20 s here (19 s measured on the loaded 2-core machine).
"""
import pytest

from tickwire.tools.formal import bus, mold, risk, risk_checks, sby

pytestmark = pytest.mark.xdist_group("formal")


@pytest.fixture(scope="module", autouse=True)
def _warm():
    sby.warm()


def _check(name, comp, depth, mode="prove"):
    p = sby.prove(name, comp, depth, mode=mode, timeout=600)
    return p, "\n".join(line for line in p.log.splitlines()
                        if "failed assertion" in line or "DONE" in line or "Error" in line)


def test_bus_arbiter_answers_every_request_exactly_once():
    p, why = _check("t_bus", bus.component(), bus.DEPTH)
    assert p.status == "PASS", why


def test_a_false_bound_on_the_arbiter_is_refuted():
    p, why = _check("t_bus_tight", bus.ArbiterProps(3, bound=2), 8, mode="bmc")
    assert p.status == "FAIL", f"the 2-cycle bound should be violated: {p.status}\n{why}"


def test_moldudp64_delivers_no_number_twice_and_never_goes_back():
    p, why = _check("t_mold", mold.component(), mold.DEPTH)
    assert p.status == "PASS", why


_PIPELINED = pytest.mark.xfail(
    strict=True, raises=StopIteration,
    reason="the risk wrappers (tools/formal/risk*.py) pick the gate's internal registers "
           "by name from the pre-pipeline gate; the 5-stage gate (rtl/risk) needs new ones")


@_PIPELINED
def test_risk_stage_one_rejects_killed_orders_and_disabled_accounts():
    p, why = _check("t_risk_checks", risk_checks.component(), risk_checks.DEPTH)
    assert p.status == "PASS", why


@_PIPELINED
def test_risk_gate_checks_an_order_against_one_limits_bank():
    p, why = _check("t_risk_banks", risk.component(("banks",)), 1)
    assert p.status == "PASS", why
