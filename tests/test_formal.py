"""Formal proofs in `make test` (all of `make formal`'s jobs): SymbiYosys k-induction
through the YoWASP tools from PyPI.

Why deliberately false properties are here too: a proof flow that never fails proves
nothing; `bus_tight` and the risk gate's late kill record must be refuted. The risk
gate's proofs (tools/formal/risk.py) run on the whole 5-stage gate at the board
build's sizes, k-induction depth 1: about 10 s each here. The MoldUDP64 proof
(tools/formal/mold.py) runs on the Sequencer (rtl/rx/merge/sequencer.py) with free
inputs, k-induction depth 6: about 20 s here (19 s measured on the loaded 2-core
machine).
"""
import pytest

from tickwire.tools.formal import bus, mold, risk, sby

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


def _risk(name, props):
    p = sby.prove(name, risk.component(props), risk.DEPTH, timeout=600, script=risk.SCRIPT)
    return p, "\n".join(line for line in p.log.splitlines()
                        if "failed assertion" in line or "DONE" in line or "Error" in line)


def test_risk_gate_never_accepts_an_order_taken_while_killed():
    p, why = _risk("t_risk_kill", ("kill",))
    assert p.status == "PASS", why


def test_risk_gate_rejects_every_order_before_the_first_commit():
    p, why = _risk("t_risk_powerup", ("powerup",))
    assert p.status == "PASS", why


def test_risk_gate_checks_an_order_against_one_limits_bank():
    p, why = _risk("t_risk_banks", ("banks",))
    assert p.status == "PASS", why


def test_risk_gate_checks_an_order_against_the_collar_bounds_of_its_bank():
    p, why = _risk("t_risk_bounds", ("bounds",))
    assert p.status == "PASS", why


def test_a_risk_kill_record_one_stage_late_is_refuted():
    p = sby.prove("t_risk_late_kill", risk.late_kill(), risk.LATE_DEPTH, mode="bmc",
                  timeout=600, script=risk.SCRIPT)
    assert p.status == "FAIL", f"the late kill record should be violated: {p.status}"


def test_the_bounds_proof_refutes_the_commit_race_it_found(monkeypatch):
    """The pre-fix BookBounds (`busy` low in the cycle of a collar write) put back: the
    `bounds` property must be violated (BMC from power-up, 2 accounts x 2 slots)."""
    from amaranth.hdl import Const
    from tickwire.rtl.risk import collar

    snoop = collar.BookBounds._snoop

    def old_snoop(self, m, mirror, sbits):
        snoop(self, m, mirror, sbits)
        self._hit = Const(0, self.slots)           # busy without the write's own cycle

    monkeypatch.setattr(collar.BookBounds, "_snoop", old_snoop)
    comp = risk.RiskProps(("bounds",), accounts=2, slots=2, history=4, helpers=False)
    p = sby.prove("t_risk_bounds_race", comp, 8, mode="bmc", timeout=600, script=risk.SCRIPT)
    assert p.status == "FAIL", f"the commit/collar-write race should be found: {p.status}"
