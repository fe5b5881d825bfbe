"""LimitTables: host writes and reads the shadow bank, `commit` swaps, an order reads
one whole set from the active bank (docs/limits.md, "Loading" and "Table words")."""
import random

from clocked import simulate
from tickwire.rtl.risk.limits import LimitTables

ACCOUNTS, SLOTS = 2, 4
# words per entry and window sizes, from docs/limits.md
WORDS = {"acct": 8, "sym": 4, "pos": 2}
ENTRIES = {"acct": ACCOUNTS, "sym": SLOTS, "pos": ACCOUNTS * SLOTS}


class Ref:
    def __init__(self):
        self.banks = [{t: [0] * (ENTRIES[t] * WORDS[t]) for t in WORDS} for _ in range(2)]
        self.active, self.loaded = 0, False

    def shadow(self, table):
        return self.banks[1 - self.active][table]

    def lookup(self, account, slot):
        """Decoded limits of (account, slot) in the active set, as docs/limits.md words."""
        b = self.banks[self.active]
        a = b["acct"][account * 8:account * 8 + 8]
        y = b["sym"][slot * 4:slot * 4 + 4]
        p = b["pos"][(account * SLOTS + slot) * 2:][:2]
        return {
            "acct": dict(enabled=a[0] & 1 & self.loaded, max_notional=a[1] | a[2] << 32,
                         credit=a[3] | a[4] << 32, interval=a[5], burst=a[6] & 0xFFFF,
                         window=a[7]),
            "sym": dict(enabled=y[0] & 1, restricted=y[0] >> 1 & 1, allow_no_book=y[0] >> 2 & 1,
                        bps=y[0] >> 3 & 1, max_qty=y[1], collar=y[2]),
            "pos": {"long": p[0], "short": p[1]},
        }


def run(steps):
    """steps: dicts with optional write=(table, addr, word), read=(table, addr),
    commit=1, look=(account, slot). Checks every lookup and window read one cycle later."""
    dut, ref = LimitTables(ACCOUNTS, SLOTS), Ref()
    stats = {"looks": 0, "reads": 0, "enabled": 0, "read_values": [], "max_notional": []}
    ports = {"acct": dut.w_acct, "sym": dut.w_sym, "pos": dut.w_pos}

    async def bench(ctx):
        want_look = want_read = None
        for st in steps + [{}]:
            if want_look is not None:
                for part, fields in want_look.items():
                    view = ctx.get(getattr(dut, part))
                    assert {k: getattr(view, k) for k in fields} == fields, part
                stats["looks"] += 1
                stats["enabled"] += want_look["acct"]["enabled"]
                stats["max_notional"].append(want_look["acct"]["max_notional"])
            if want_read is not None:
                assert ctx.get(ports[want_read[0]].r_data) == want_read[1]
                stats["reads"] += 1
                stats["read_values"].append(want_read[1])
            want_look = want_read = None
            for p in ports.values():
                ctx.set(p.w_stb, 0)
            if "write" in st or "read" in st:
                table, addr = st.get("write", st.get("read"))[:2]
                ctx.set(ports[table].addr, addr)
                want_read = (table, ref.shadow(table)[addr])
                if "write" in st:
                    ctx.set(ports[table].w_stb, 1)
                    ctx.set(ports[table].w_data, st["write"][2])
            ctx.set(dut.en, "look" in st)
            if "look" in st:
                ctx.set(dut.account, st["look"][0])
                ctx.set(dut.slot, st["look"][1])
                want_look = ref.lookup(*st["look"])
            ctx.set(dut.commit, st.get("commit", 0))
            if "write" in st:
                table, addr, word = st["write"]
                ref.shadow(table)[addr] = word
            if st.get("commit"):
                ref.active, ref.loaded = 1 - ref.active, True
            await ctx.tick()
    simulate(dut, bench)
    return stats


def test_nothing_enabled_before_the_first_commit():
    steps = [{"write": ("acct", a, 1)} for a in (0, 8)] + [{"look": (0, 0)}]
    assert run(steps)["enabled"] == 0


def test_commit_swaps_whole_set_and_shadow_keeps_the_previous():
    steps = [{"write": ("acct", 0, 1)}, {"write": ("acct", 1, 1234)},
             {"write": ("sym", 4, 0b1011)}, {"write": ("pos", 3, 77)},
             {"commit": 1, "look": (0, 1)},          # the order in the commit cycle: old set
             {"look": (0, 1)}, {"write": ("acct", 1, 99)},
             {"read": ("acct", 1)}, {"look": (0, 1)}, {"commit": 1}, {"look": (0, 1)},
             {"read": ("acct", 1)}]
    stats = run(steps)
    assert stats["enabled"] == 2 and stats["max_notional"] == [0, 1234, 1234, 99]
    assert stats["read_values"][-2:] == [99, 1234], "after a commit the shadow is the old set"


def test_random_against_reference():
    rng = random.Random(3)
    steps = []
    for _ in range(600):
        st = {}
        r = rng.random()
        table = rng.choice(list(WORDS))
        addr = rng.randrange(ENTRIES[table] * WORDS[table])
        if r < 0.5:
            st["write"] = (table, addr, rng.choice([0, 1, rng.randrange(1 << 32)]))
        elif r < 0.7:
            st["read"] = (table, addr)
        if rng.random() < 0.05:
            st["commit"] = 1
        if rng.random() < 0.6:
            st["look"] = (rng.randrange(ACCOUNTS), rng.randrange(SLOTS))
        steps.append(st)
    stats = run(steps)
    assert stats["looks"] > 300 and stats["reads"] > 300 and stats["enabled"] > 20
