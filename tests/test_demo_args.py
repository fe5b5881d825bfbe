"""The demo's risk section calls `risk-replay` with a Namespace: it must carry every option
the command's parser defines (a --build added to the command once broke `make demo`)."""
import argparse

from tickwire.tools import demo, risk_replay


def test_demo_risk_args_have_every_risk_replay_option():
    p = argparse.ArgumentParser()
    risk_replay.add_arguments(p)
    defaults = vars(p.parse_args(["--feed", "f", "--orders", "o", "--limits", "l",
                                  "--verdicts-out", "v"]))
    ns = vars(demo.risk_replay_args("feed.itch", "out.csv", "rtl"))
    assert set(defaults) <= set(ns)
    assert ns["build"] == "sim" and ns["engine"] == "rtl" and ns["verdicts_out"] == "out.csv"
