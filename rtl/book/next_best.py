"""NextBest: refills a side's level cache in the background, while the book keeps issuing.

Why: when levels leave the top of a side, the cache (rtl/book/level_cache.py) holds
fewer than K; the next level is found in the price tree (rtl/book/price_tree.py) in a
bounded number of node reads, its exact aggregate read from the level table, and it
is appended. The first version held the book's input for every refill (drain ~33
cycles, then the search): ~60 cycles per level, which a burst of held messages from
the A/B merge turned into an input-queue overflow. Here the search runs *beside* the
operations in flight, so the book only loses one issue slot per cache access:

  * Reads of the level table and of tree nodes are probes (`en` = 0) that take a cycle
    in which the book sends that store nothing (`lreq.ready`, `treq.ready`): a probe
    one cycle behind an operation may miss that operation's write, which the
    conflict tracking below covers.
  * The cache is read and appended to through `creq` only in a gap of the issue
    stream (`hold` stops issue for 3 cycles; `creq.ready` says the gap has reached the
    cache: no operation one cycle before, at or after), so the cache's read-modify-
    write is exact and ordered with the operations around it.
  * Conflicts: `upd` shows every operation that changes a level of the book as it
    enters the cache. While a job runs, an operation on its slot and side beyond the
    last cached level is recorded (`t_any`, `t_min`: the smallest such tree key).
    An append of key k is only written when no level in (last cached, k] changed since
    the last exact cache read: then nothing the search read can have been stale (a
    level created, removed or changed in that range is the only way to make the
    found level wrong, not the next one, or its aggregate stale). Otherwise the append
    is dropped, the cache state it read becomes the new exact read, and the search
    starts again. Tree updates of operations from before an exact read may still be
    climbing the tree (one depth per 4 cycles), so after such a read the search waits
    `TREE_PROP` cycles before its first node read, or less: until `quiet` (nothing
    issued for as long as an operation takes to reach the tree's root), or until no
    operation that changed the job's own side's tree is younger than that
    (`_side_recent`, a look-back of RECENT cycles: only that side's nodes are read).
  * The cache itself refuses an append when its last level is no longer the one the
    search started from (`guard`: a full cache pushed it out for a better level, or
    it left); the append's result is then an exact read and the search starts again.
  * A search that finds nothing, or a level the table does not hold, is an
    inconsistency (`bad`: a hash-set collision dropped a node or level) only when no
    conflict was recorded; else it restarts.

Per job: one exact read, then the ancestor read: the leaf and depth 4 on the last
cached key's path at once (`NEAR`, no SETTLE: the operations before the read are
already in them), and all 6 nodes after SETTLE only when those two hold nothing beyond
the last key (`partial`, FAIL reads again); per level found: the node reads down
from the deepest depth with a digit left (the path's remaining digits are kept, `cands`:
usually one leaf read), one level read, one append. The search does not wait for an
append's result before looking for the next level (`need`: the levels the cache's
results say are missing, so it never searches past the side's last level). Up to two
levels found wait in a queue (`_found`) with their level reads out, and up to two
appends are in flight (`_appender`, in any state of the walk): each append's guard is
the key appended before it. Only the youngest append's result can end the job (an
older one refreshes `need` and `low`). Reusing the path read after SETTLE is as sound
as re-reading it: a node bit it shows stale beyond the last cached key means a level
created or removed there since the exact read, which the tracking records and which
refuses the append. A side drained best first (one order a level, whole cents) takes
6.8 cycles a level (10.7 before the lookahead, `_lookahead`: the next leaf of depth 4
is read while the search works on the current one, and on a penny book nearly every
next level is in another leaf; 7.7 with one level read and one append at a time). What
paces it now is that lookahead, one leaf probe a level (4 cycles of latency). The book
goes on meanwhile; a job loops until the cache is full or holds the whole side. The
job's last levels are appended in DRAIN, which goes back to the path (PICK_A) when a
result says more are wanted. The book holds issue itself only when a side's cache falls
below its low-water mark (rtl/book/order_book.py: `low`); such a side is requested as
`urgent`, and a job on another side (not itself below `low`) then stops after its
appends in flight, so the hold lasts one refill, not the rest of a background job.
A level's gap is asked for when the level is found (PICK2 in its leaf), ~9 cycles
before its append; asked again, the hold is longer and one window may take several
appends. The next job's exact read's gap goes with the last append. A gap that goes
by unused costs an issue slot and a re-arm (~15 cycles).
"""
from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..rx.merge.compare import below
from .price_tree import BITS, DEPTHS, digit, lowest_set, tree_key, two_set

#: Cycles from an exact cache read's result until every tree update of the operations
#: before it has reached the root and a probe sees it: an operation enters the leaf with
#: the cache, at least 2 cycles before the read (the gap); each depth's update enters the
#: next one up 4 cycles later (split stores), so the root's at most 4 * (DEPTHS - 1) - 2
#: cycles after the read, and a probe 2 cycles behind it sees it. The result comes 5
#: cycles after the read and the ancestor probe goes 1 cycle after SETTLE ends: 16 leaves
#: 3 cycles to spare (it was 24, 8 cycles of every job when the book is busy).
TREE_PROP = 16
#: Cycles of operations on the job's side that SETTLE looks back over (`_side_recent`):
#: an operation that changed the side's tree entered the leaf with the cache at u, its
#: update enters the root at u + 4 * (DEPTHS - 1) and a probe sees it from 2 cycles
#: later, so an ancestor probe 1 cycle after SETTLE ends sees the updates of every
#: operation at least 4 * (DEPTHS - 1) + 1 = 21 cycles old. The look-back covers ages
#: 2 .. RECENT + 1 (3 to spare; an operation younger than 6 cycles came after the
#: exact read, which the tracking covers).
RECENT = 4 * (DEPTHS - 1) + 2
#: Cycles `hold` stops issue for a cache access: three free cycles at the cache.
GAP = 3
#: Cycles after asking for a gap before an append still waiting asks again (the gap
#: reaches the cache TO_CACHE = 8 cycles after issue stops, and lasts GAP).
GAP_REARM = 14
#: Cycles a probe of the tree or the level table may still return after the search
#: that sent it was abandoned (SETTLE waits them out even when the book is quiet).
PROBE_LAT = 6


def layouts(sb, k):
    return dict(
        req=data.StructLayout({"slot": sb, "side": 1}),
        creq=data.StructLayout({"append": 1, "slot": sb, "side": 1, "px": 32, "qty": 32,
                                "orders": 16, "guard": 32, "empty": 1}),
        # registered by the book with the result, so NextBest compares nothing wide:
        # full (count == k), whole (depth == count: the whole side is cached), last_key
        # (last_px's tree key, for the side the access was made for), same_px (last_px
        # equals the access's own `px`: an append was taken; each append in flight is
        # compared with its own price), so the refusal test is a register, not a
        # 32-bit compare in front of the search's state, its tracking reset and the
        # next probe's hashed set
        cres=data.StructLayout({"count": range(k + 1), "depth": 16, "last_px": 32,
                                "last_key": 32, "full": 1, "whole": 1, "same_px": 1}),
        # la: a lookahead probe (the next leaf's, `_lookahead`), tagged through the leaf
        # store so its result is told from the search's own
        treq=data.StructLayout({"slot": sb, "side": 1, "tkey": 32, "depths": DEPTHS,
                                "la": 1}),
        tres=data.StructLayout({"got": DEPTHS, "hit": DEPTHS, "la": 1,
                                "bits": data.ArrayLayout(64, DEPTHS)}),
        lreq=data.StructLayout({"slot": sb, "side": 1, "px": 32}),
        lres=data.StructLayout({"hit": 1, "qty": 32, "orders": 16}),
        upd=data.StructLayout({"slot": sb, "side": 1, "px": 32, "tree": 1}),
    )


class NextBest(wiring.Component):
    def __init__(self, slot_bits, k, low=0):
        # low: the book's low-water mark; a job on a side below it does not yield
        self.sb, self.k, self.low = slot_bits, k, low
        L = layouts(slot_bits, k)
        super().__init__({
            "req": In(stream.Signature(L["req"])),
            # the request waiting is for a side below the low-water mark (the book holds
            # its input for it): a job on another side stops after its append in flight
            "urgent": In(1),
            "busy": Out(1),
            "hold": Out(1),
            "quiet": In(1),
            "creq": Out(stream.Signature(L["creq"])),
            "cres": In(stream.Signature(L["cres"], always_ready=True)),
            "treq": Out(stream.Signature(L["treq"])),
            "tres": In(stream.Signature(L["tres"], always_ready=True)),
            "lreq": Out(stream.Signature(L["lreq"])),
            "lres": In(stream.Signature(L["lres"], always_ready=True)),
            "upd": In(stream.Signature(L["upd"], always_ready=True)),
            "bad": Out(stream.Signature(slot_bits, always_ready=True)),
            # the probe key's registers (slot, side, cur) as they are next cycle, so the
            # book can register the tree sets of the next probes (hashed a cycle early)
            "slot_n": Out(slot_bits), "side_n": Out(1), "cur_n": Out(32),
            # the next tree probe's key (cur_n, or the lookahead's): the book hashes its
            # sets a cycle early, and the probe's key (`treq.tkey`) is its register
            "pk_n": Out(32),
        })

    def _pick_tkey(self, m, base, d, pos):
        """base with depth d's digit = pos and every lower digit 0."""
        out = Signal(32, name="picked")
        with m.Switch(d):
            for dd in range(DEPTHS):
                with m.Case(dd):
                    lo = 32 - sum(BITS[:dd + 1])
                    m.d.comb += out.eq(Cat(Const(0, lo), pos[:BITS[dd]], base[lo + BITS[dd]:]))
        return out

    def _track(self, m, r, reset):
        """Record operations that change a level beyond the last cached one of the job.

        While a cache access is in flight (its request taken, its result not yet back)
        the last cached key is not known: `last` still holds the one before (another
        side's, for a new job's exact read), so an operation then is kept aside (`f_*`:
        whether any, its smallest and largest key) and judged against the result's last
        key in the cycle the result arrives, with that cycle's own operation; a reset
        in that cycle (a refused append) keeps what it finds. Why: an operation that
        entered the cache 5 cycles after a job's exact read, removing the only level
        beyond the read's last, was compared with the previous job's last key and not
        recorded; the search then found nothing and reported a false miss (`bad`: a slot
        flagged unreliable; the thin-levels flood with one background level).
        With two appends in flight (`_appender`) only the youngest access's result
        ends the window (`last_res`): the operations kept since its request are judged
        against its last key, the older's result changes nothing here (the younger's
        request restarted the window: it is the read that matters if refused)."""
        u, c = self.upd.payload, self.cres.payload
        last_res = self.cres.valid & ~r["nout"][1] & ~(r["nout"][0] & r["app_go"])
        uk = tree_key(u.px, u.side)
        mine = self.upd.valid & (u.slot == r["slot"]) & (u.side == r["side"])
        rec = mine & (~r["from_valid"] | below(m, r["last"], uk))
        fl, f_any = Signal(name="trk_fl"), Signal(name="trk_any")
        f_min, f_max = Signal(32, name="trk_min"), Signal(32, name="trk_max")
        # every key compare reads registers or the operation's key, side by side; the
        # selects come after (the smallest of l_min and t_min was a compare on a mux of
        # compares: 12.75 LUT levels, the book's deepest, tools/build/lut_depth.py);
        # each compare is the borrow of a subtraction, one carry chain (rtl/rx/merge/
        # compare.py: `>` mapped to a chain and an equality tree, 5 LUTs deep here)
        u_lt_f, u_lt_t = below(m, uk, f_min), below(m, uk, r["t_min"])
        f_lt_t = below(m, f_min, r["t_min"])
        with m.If(self.creq.valid & self.creq.ready):
            m.d.sync += [fl.eq(1), f_any.eq(0)]
        with m.Elif(last_res):
            m.d.sync += fl.eq(0)
        with m.Elif(fl & mine):
            m.d.sync += [f_any.eq(1),
                         f_min.eq(Mux(~f_any | u_lt_f, uk, f_min)),
                         f_max.eq(Mux(~f_any | below(m, f_max, uk), uk, f_max))]
        # judged against the result's last key (cres is registered, so are f_*)
        nl, nfv = c.last_key, c.count != 0
        kept = fl & f_any & (~nfv | below(m, nl, f_max))
        now = mine & (~nfv | below(m, nl, uk))
        late = last_res & (kept | now)
        take_u = ~kept | (now & u_lt_f)             # l_min is uk, else f_min
        l_min = Mux(take_u, uk, f_min)
        l_lt_t = Mux(take_u, u_lt_t, f_lt_t)        # l_min < t_min
        with m.If(reset):
            m.d.sync += [r["t_any"].eq(late), r["t_min"].eq(l_min)]
        with m.Elif(late):
            m.d.sync += [r["t_any"].eq(1),
                         r["t_min"].eq(Mux(~r["t_any"] | l_lt_t, l_min, r["t_min"]))]
        with m.Elif(rec):
            m.d.sync += [r["t_any"].eq(1),
                         r["t_min"].eq(Mux(~r["t_any"] | u_lt_t, uk, r["t_min"]))]

    def _side_recent(self, m, r):
        """Whether an operation that changed a level's presence on the job's side
        (`upd.tree`) entered the cache in the last 2 .. RECENT + 1 cycles (registered).
        Why: SETTLE waited TREE_PROP cycles after every exact read for the tree updates
        of the operations before it, though only the job's own side's tree matters and,
        in a flood spread over many symbols, that side was rarely touched in that time:
        ~16 cycles of every job's ~40 of overhead. A shift register of the recent
        operations' sides, compared with the job's (its registers)."""
        u = self.upd.payload
        hist = [Signal(self.sb + 2, name=f"recent{j}") for j in range(RECENT)]
        m.d.sync += hist[0].eq(Cat(self.upd.valid & u.tree, u.side, u.slot))
        m.d.sync += [hist[j].eq(hist[j - 1]) for j in range(1, RECENT)]
        mine = Cat(Const(1, 1), r["side"], r["slot"])
        recent = Signal()
        m.d.sync += recent.eq(Cat(*[h == mine for h in hist]).any())
        return recent

    def _masks(self, m, r):
        """Per depth, the digits beyond the last cached key's (all of the root when the
        cache is empty): where the next level can be. Registered: they are read only in
        ANC_WAIT, and `last` and `from_valid` never change in ANC or ANC_WAIT (the
        ancestor results come at least 4 cycles after the last change), so a mask a
        cycle old is the current one; the register takes the mask's decode out of the
        path into `cands` and its `any` (nb.last -> mask -> 64-bit OR: 11.35 LUT levels)."""
        masks = []
        for d in range(DEPTHS):
            w = 1 << BITS[d]
            above = ~((Const(2, w + 1) << digit(r["last"], d)) - 1)
            mk = Signal(w, name=f"mask{d}")
            m.d.sync += mk.eq(Mux(r["from_valid"], above[:w], (1 << w) - 1 if d == 0 else 0))
            masks.append(mk)
        return masks

    def _exact_read(self, m, r, c):
        """A cache result read in a gap: where the job stands; done or search again."""
        # cur (dead until PICK_A sets it) follows last here, so a probe's key is always
        # cur, a register: ANC reads last's path, and last == cur there
        last = c.last_key
        m.d.comb += self.cur_n.eq(last)
        return self._read_state(m, r, c)

    def _read_state(self, m, r, c):
        """From a cache result: the last cached key, the levels still to find (less
        those found and waiting for their appends, `nf`, or found this cycle, a level
        read sent); done?"""
        m.d.sync += [r["from_valid"].eq(c.count != 0), r["last"].eq(c.last_key),
                     r["last_px"].eq(c.last_px),
                     r["low"].eq(Cat(Const(0, 1), *[c.count == i for i in range(self.low)]).any()),
                     r["need"].eq(Mux(c.depth < self.k, c.depth, self.k) - c.count - r["nf"]
                                  - (self.lreq.valid & self.lreq.ready))]
        return c.full | c.whole

    def _latch(self, m, r, gap):
        """The gap counter and its re-arm timer."""
        with m.If(gap != 0):
            m.d.sync += gap.eq(gap - 1)
        with m.If(gap == GAP):
            m.d.sync += r["gap_t"].eq(GAP_REARM)
        with m.Elif(r["gap_t"] != 0):
            m.d.sync += r["gap_t"].eq(r["gap_t"] - 1)

    def _found(self, m, r):
        """The levels found and read, waiting for their appends, oldest first (`fq`, two
        entries, `nf` of them used): each its key and price, and the level probe's
        result once it is back (`ok`; `rq`: its probe is out). Why: one level read and
        one append in flight at a time made each level wait for the append before it
        (~7 cycles a level); with two, the search reads the next level while the one
        before waits for its gap. Results come back in order, to the oldest entry whose
        probe is out; `fq_clr` (a job starting over) empties it, and a probe then still
        out finds no entry waiting (`rq`) and is dropped."""
        S = data.StructLayout({"key": 32, "px": 32, "qty": 32, "orders": 16, "ok": 1,
                               "hit": 1, "rq": 1})
        fq = [Signal(S, name=f"fq{i}") for i in range(2)]
        u = [Signal(S, name=f"fq{i}_u") for i in range(2)]
        v = [Signal(S, name=f"fq{i}_v") for i in range(2)]
        m.d.comb += [u[i].eq(fq[i]) for i in range(2)]
        lr, app, lgo = self.lres.payload, r["app_go"], self.lreq.valid & self.lreq.ready
        for i in (0, 1):
            with m.If(self.lres.valid & fq[i].rq & (~fq[0].rq if i else 1)):
                m.d.comb += [u[i].ok.eq(1), u[i].rq.eq(0), u[i].hit.eq(lr.hit),
                             u[i].qty.eq(lr.qty), u[i].orders.eq(lr.orders)]
        # an append takes the oldest (the other moves up); a level read enters after
        m.d.comb += [v[0].eq(Mux(app, u[1], u[0])), v[1].eq(Mux(app, 0, u[1]))]
        with m.If(lgo):
            with m.If((r["nf"] - app) == 0):
                m.d.comb += [v[0].key.eq(r["cur"]), v[0].px.eq(self.lreq.payload.px),
                             v[0].ok.eq(0), v[0].rq.eq(1)]
            with m.Else():
                m.d.comb += [v[1].key.eq(r["cur"]), v[1].px.eq(self.lreq.payload.px),
                             v[1].ok.eq(0), v[1].rq.eq(1)]
        m.d.sync += [fq[i].eq(Mux(r["fq_clr"], 0, v[i])) for i in range(2)]
        m.d.sync += r["nf"].eq(Mux(r["fq_clr"], 0, r["nf"] + lgo - app))
        r["fq"] = fq
        return fq

    def _appender(self, m, r, reset_t, gap, walking, draining):
        """Appends the oldest level found (`fq`) whenever its level is back, a gap has
        reached the cache and fewer than two appends are in flight (`nout`), in any
        state of the walk: the search goes on meanwhile. Each append's guard is the key
        appended before it (`last_px` moves when it is sent), so a second one needs no
        result: if the first was refused, so is it, or the cache's last level is its
        guard all the same and it is right (the tracking covers (guard, key] since the
        job's exact read). An append the tracking refuses (`ok` = 0) is sent as an
        exact read (`aborted`); no append follows it, and its result restarts the job."""
        h, cp = r["fq"][0], self.creq.payload
        ok = ~(r["t_any"] & ~below(m, h.key, r["t_min"]))
        # never two cycles in a row: the cache (a HashStore) takes an operation every 2
        # cycles at most, and an append right behind another read the word without it
        # (the first was lost, and its result said taken)
        go_r = Signal(name="app_go_r")
        m.d.sync += go_r.eq(r["app_go"])
        rdy = (walking & (r["nf"] != 0) & h.ok & h.hit & ~r["nout"][1] & ~r["aborted"]
               & ~go_r)
        go = rdy & self.creq.ready
        m.d.comb += [r["app_go"].eq(go), cp.px.eq(h.px), cp.qty.eq(h.qty),
                     cp.orders.eq(h.orders)]
        with m.If(rdy):
            m.d.comb += [self.creq.valid.eq(1), cp.append.eq(ok)]
        with m.If(rdy & ~self.creq.ready & (r["gap_t"] == 0) & (gap == 0)):
            m.d.sync += gap.eq(GAP)             # the gap went by: ask again
        m.d.sync += r["nout"].eq(r["nout"] + go - (self.cres.valid & (r["nout"] != 0)))
        with m.If(go):
            m.d.comb += reset_t.eq(~ok)
            m.d.sync += r["aborted"].eq(~ok)
            with m.If(ok):                      # tracking now starts beyond the new last
                m.d.sync += [r["last"].eq(h.key), r["last_px"].eq(h.px),
                             r["from_valid"].eq(1)]
            # the job's last level, another job waits: its exact read's gap sets out
            # now, to reach the cache as READ does (~6 cycles of ~9 saved a job)
            with m.If(draining & (r["nf"] == 1) & (r["need"] == 0) & self.req.valid):
                m.d.sync += [gap.eq(GAP), r["pre"].eq(1)]

    def _early_result(self, m, r, reset_t, wait, drain=False, miss=True):
        """The result of the youngest append in flight (an older one's changes nothing:
        `_appender`), arriving while the search looks for the next level: done, or
        refused (then an exact read: search again after SETTLE, whose minimum wait lets
        the probes in flight return), else go on. In DRAIN (the job's last levels found)
        the last append's result also ends the job or searches again from the path."""
        c, h = self.cres.payload, r["fq"][0]
        # the oldest level found is not in the level table: a conflict, or a real miss
        if miss:
            with m.If((r["nf"] != 0) & h.ok & ~h.hit):
                m.next = "FAIL"
        fin = self.cres.valid & (r["nout"] == 1) & ~r["app_go"]
        # an older append's result: only the levels still to find, less the younger
        # append in flight (a drain best first takes cached levels away meanwhile: a
        # job that counted only at its last append ran out early and read the path
        # again, ~20 cycles)
        # and whether the side is below the low-water mark: a job must not yield to an
        # urgent side while its own is below it too (a stale `low` let one yield, and
        # the book, its hold released when the refills were done, emptied the side)
        with m.If(self.cres.valid & (r["nout"] != 0) & ~fin):
            m.d.sync += [r["need"].eq(Mux(c.depth < self.k, c.depth, self.k) - c.count
                                      - r["nf"] - (self.lreq.valid & self.lreq.ready)
                                      - r["nout"][1]),
                         r["low"].eq(Cat(Const(0, 1), *[c.count == i for i in range(self.low)]).any())]
        with m.If(fin):
            refused = (c.count == 0) | ~c.same_px | r["aborted"]
            done = self._read_state(m, r, c)
            if drain:
                with m.If(r["nf"] == 0):
                    m.d.comb += self.cur_n.eq(c.last_key)
                    m.d.sync += [wait.eq(TREE_PROP), r["pre"].eq(0)]
                    m.next = "ANC"
                    with m.If(r["yield"]):
                        m.next = "IDLE"     # an urgent side waits: this one later
            with m.If(done | refused):
                m.d.comb += self.cur_n.eq(c.last_key)
                m.next = "IDLE"
            with m.If(~done & refused):
                m.d.comb += reset_t.eq(1)
                m.d.sync += [wait.eq(TREE_PROP + PROBE_LAT), r["pre"].eq(0)]
                m.next = "SETTLE"

    def elaborate(self, platform):
        m = Module()
        r = {n: Signal(w, name=n) for n, w in (
            ("slot", self.sb), ("side", 1), ("from_valid", 1), ("last", 32), ("cur", 32),
            ("t_any", 1), ("t_min", 32), ("aborted", 1), ("pos", 6), ("val", 64),
            ("got", DEPTHS), ("need", range(self.k + 1)), ("nout", range(3)),
            ("nf", range(3)), ("last_px", 32), ("gap_t", range(GAP_REARM + 1)),
            ("low", 1), ("pre", 1), ("near", 1), ("partial", 1))}
        # last_px: last as a price (tree_key); app_go: an append sent (`_appender`);
        # fq_clr: the levels found are dropped (a job starts over)
        r["app_go"], r["fq_clr"] = Signal(name="app_go"), Signal(name="fq_clr")
        cur_d = Signal(range(DEPTHS))
        wait = Signal(range(TREE_PROP + PROBE_LAT + 1))
        gap = Signal(range(GAP + 1))
        cands = Signal(data.ArrayLayout(64, DEPTHS))
        # cands[d].any() as a register written with cands[d] (PICK_A's depth pick was a
        # 64-bit OR, a priority pick and the 6:1 select into `val`: 10 LUT levels)
        r["c_any"] = Signal(DEPTHS, name="cands_any")
        # slot, side and cur through their next-value outputs (defaults: unchanged)
        m.d.comb += [self.slot_n.eq(r["slot"]), self.side_n.eq(r["side"]),
                     self.cur_n.eq(r["cur"])]
        m.d.sync += [r["slot"].eq(self.slot_n), r["side"].eq(self.side_n),
                     r["cur"].eq(self.cur_n)]
        reset_t = Signal()
        self._track(m, r, reset_t)
        settled = ~self._side_recent(m, r)
        # an urgent request for another side waits: the job stops after its append,
        # unless its own side is below the low-water mark too (as its last cache result
        # said: no urgent request names it again while the book holds)
        yld_r = Signal()
        m.d.sync += yld_r.eq(self.req.valid & self.urgent
                             & ~((self.req.payload.slot == self.slot_n)
                                 & (self.req.payload.side == self.side_n)))
        yld = r["yield"] = yld_r & ~r["low"]
        masks = self._masks(m, r)
        self._pick_a(m, r, cur_d, cands)
        r["leaf_left"] = r["c_any"][DEPTHS - 1]
        m.d.comb += [self.bad.payload.eq(r["slot"]), self.hold.eq(gap != 0)]
        self._latch(m, r, gap)
        self._found(m, r)
        for port in (self.creq, self.treq, self.lreq):
            m.d.comb += [port.payload.slot.eq(r["slot"]), port.payload.side.eq(r["side"])]
        la = self._lookahead_regs(m, r, cur_d, cands)
        # the level probe's price and the append's guard from registers in every state
        # (read only with lreq.valid / an append): the level table's probe key and set
        # do not wait for the state decode
        cp = self.creq.payload
        m.d.comb += [self.lreq.payload.px.eq(r["lpx"]),
                     cp.guard.eq(r["last_px"]), cp.empty.eq(~r["from_valid"])]
        res, c = self.tres.payload, self.cres.payload
        clear = [r["fq_clr"].eq(1), r["aborted"].eq(0)]
        with m.FSM() as fsm:
            with m.State("IDLE"):
                m.d.comb += self.req.ready.eq(1)
                with m.If(self.req.valid):
                    m.d.comb += [self.slot_n.eq(self.req.payload.slot),
                                 self.side_n.eq(self.req.payload.side)]
                    m.d.comb += clear[0]
                    m.d.sync += [clear[1], r["pre"].eq(0), r["near"].eq(1)]
                    with m.If(~r["pre"]):   # unless the last append sent its gap out
                        m.d.sync += gap.eq(GAP)
                    m.next = "READ"
            with m.State("READ"):           # exact cache read in a gap; tracking restarts
                m.d.comb += [self.creq.valid.eq(1), reset_t.eq(self.creq.ready), clear[0]]
                m.d.sync += clear[1]
                with m.If(self.creq.ready):
                    m.next = "READ_RES"
                with m.Elif((r["gap_t"] == 0) & (gap == 0)):
                    m.d.sync += gap.eq(GAP)     # the gap went by: ask again
            with m.State("READ_RES"):       # (near: the path's lowest nodes at once)
                with m.If(self.cres.valid):
                    m.d.sync += wait.eq(TREE_PROP)
                    m.next = "SETTLE"
                    with m.If(r["near"] & (c.count != 0)):
                        m.next = "NEAR"
                    with m.If(self._exact_read(m, r, c)):
                        m.next = "IDLE"
            with m.State("SETTLE"):         # tree updates from before the read climb
                m.d.comb += clear[0]
                m.d.sync += [wait.eq(wait - 1), clear[1]]
                # nothing on the side's tree still climbing (or nothing in flight at all):
                # the ancestor probe sees every operation before the read
                with m.If((wait == 0) | ((self.quiet | settled) & (wait <= TREE_PROP))):
                    m.next = "ANC"
                    with m.If(yld):         # no probe in flight: stop for the urgent side
                        m.next = "IDLE"
            self._ancestors(m, r, cands, masks, "ANC", range(DEPTHS))
            self._ancestors(m, r, cands, masks, "NEAR", range(DEPTHS - 2, DEPTHS))
            self._walk(m, r, cur_d, cands, reset_t, wait, gap)
            self._l_req(m, r, reset_t, wait)
            with m.State("FAIL"):           # nothing found: a conflict, or a real miss
                with m.If(r["nout"] != 0):
                    pass                    # the appends' results first
                with m.Elif(r["t_any"] | r["partial"]):   # (partial: read the whole path)
                    m.d.sync += [gap.eq(GAP), r["near"].eq(~r["partial"])]
                    m.next = "READ"
                with m.Else():
                    m.next = "BAD"
                self._early_result(m, r, reset_t, wait, miss=False)
            with m.State("BAD"):
                m.d.comb += self.bad.valid.eq(1)
                m.next = "IDLE"
        walking = self._lookahead(m, r, la, cur_d, cands, fsm)
        self._appender(m, r, reset_t, gap, walking, fsm.ongoing("DRAIN"))
        m.d.comb += self.busy.eq(~fsm.ongoing("IDLE"))
        return m

    def _ancestors(self, m, r, cands, masks, name, depths):
        """The nodes on the last cached key's path at `depths`, read at once (`name`),
        then their digits beyond it into `cands` (`name`_WAIT), then PICK_A.

        NEAR reads the leaf and depth 4 only, right after an exact read: an operation
        before the read entered the leaf at least 2 cycles before it and depth 4 4 cycles
        later, so a probe from the read's result on sees both (TREE_PROP waits for the
        root). Why: a job's exact read was followed by SETTLE, up to 16 cycles, and the
        next level is nearly always within depth 4's node (4,096 price units, 41 cents
        on a penny book). The other depths' candidates are cleared and `partial` set: a
        search that then finds nothing reads again and takes the whole path (FAIL)."""
        la, res = self._la, self.tres.payload
        want = sum(1 << d for d in depths)
        with m.State(name):
            m.d.comb += [self.treq.valid.eq(~la["fl"]), self.treq.payload.depths.eq(want)]
            m.d.sync += r["got"].eq(0)
            with m.If(self.treq.ready & ~la["fl"]):
                m.next = f"{name}_WAIT"
        with m.State(f"{name}_WAIT"):
            with m.If(self.tres.valid & ~res.la):
                for d in depths:
                    w = 1 << BITS[d]
                    with m.If(res.got[d]):
                        left = res.bits[d][:w] & masks[d]
                        m.d.sync += [cands[d].eq(Mux(res.hit[d], left, 0)),
                                     r["c_any"][d].eq(res.hit[d] & left.any())]
                m.d.sync += r["got"].eq(r["got"] | res.got)
            for d in range(DEPTHS):
                if d not in depths:
                    m.d.sync += [cands[d].eq(0), r["c_any"][d].eq(0)]
            m.d.sync += r["partial"].eq(len(depths) < DEPTHS)
            with m.If(((r["got"] | Mux(self.tres.valid & ~res.la, res.got, 0)) & want) == want):
                m.next = "PICK_A"

    def _lookahead_regs(self, m, r, cur_d, cands):
        """`_lookahead`'s registers, and the tree probe's key: cur (== last in ANC,
        _exact_read) unless the lookahead probes."""
        la = self._la = {n: Signal(w, name=f"la_{n}") for n, w in (
            ("go", 1), ("fl", 1), ("v", 1), ("stale", 1), ("pos", BITS[-1]), ("hit", 1),
            ("bits", 1 << BITS[-1]), ("nx", BITS[-1]), ("out", 1), ("skip", 1),
            ("take", 1))}
        r["cur_d"], r["cands"] = cur_d, cands
        # the level probe's price, tree_key(cur, side) as a register of its own, loaded
        # from cur_n a cycle early (cur's reset 0 is the bid key ~0): the placed board
        # book's worst path was cur -> tree_key -> the level table's hashed set (12.70 ns)
        r["lpx"] = Signal(32, name="lpx", init=0xFFFF_FFFF)
        m.d.sync += r["lpx"].eq(tree_key(self.cur_n, self.side_n))
        pkey = Signal(32, name="pkey")
        m.d.comb += [self.pk_n.eq(self.cur_n), self.treq.payload.tkey.eq(pkey)]
        m.d.sync += [pkey.eq(self.pk_n), la["skip"].eq(0)]
        return la

    def _lookahead(self, m, r, la, cur_d, cands, fsm):
        """Reads the next leaf of the path's depth-4 node while the search works on the
        current one, so the next level's leaf is often there when it is wanted.

        Why: real books sit on whole cents (100 price units) and a leaf spans 64, so
        nearly every next level is in another leaf: a drain best first cost a DOWN and
        its wait (~6 of ~11 cycles a level) for every level. The lookahead's probe is
        one more node read after the job's exact read, so what it shows stale beyond the
        last cached key is what the tracking records (as for the path's own reads). It
        probes only in a cycle the search cannot (the states before it never go to
        DOWN or ANC next), its result is tagged (`la`), the search does not probe while
        it is out, and it is dropped (`stale`) when the job starts over or leaves the
        walk."""
        res = self.tres.payload
        d4 = DEPTHS - 2
        # the next leaf's digit: the lowest left in depth 4's candidates, a register
        # (cands changes in PICK and ANC_WAIT, at least 2 cycles before an arming state)
        _, nx = lowest_set(m, cands[d4], "la_nx")
        m.d.sync += la["nx"].eq(nx)
        walk = Cat(*[fsm.ongoing(s) for s in ("PICK_A", "DOWN", "DOWN_WAIT", "LA_WAIT",
                                                "PICK", "PICK2", "L_REQ", "DRAIN")]).any()
        # states whose next state never probes (DOWN: once its probe is granted)
        arm_st = (fsm.ongoing("DOWN_WAIT") | fsm.ongoing("PICK") | fsm.ongoing("L_REQ")
                  | (fsm.ongoing("DOWN") & self.treq.ready & ~la["fl"]))
        # and LA_WAIT as it takes the leaf read ahead (it goes to PICK): the next leaf's
        # probe sets out a cycle or two earlier than from PICK (a drain best first on a
        # penny book is paced by these probes, one leaf a level)
        lw = fsm.ongoing("LA_WAIT") & (la["v"] | la["take"])
        arm = (((arm_st & ~la["fl"] & ~la["v"]) | lw) & (cur_d == DEPTHS - 1)
               & r["c_any"][d4] & ~la["go"] & ~la["stale"] & ~la["skip"])
        with m.If(arm):                 # the path's upper digits, the next leaf's, 0
            m.d.comb += self.pk_n.eq(Cat(Const(0, BITS[-1]), la["nx"],
                                         r["cur"][BITS[-1] + BITS[-2]:]))
            m.d.sync += la["pos"].eq(la["nx"])
        m.d.sync += la["go"].eq(arm)
        m.d.comb += la["out"].eq(la["fl"] | (la["go"] & walk & self.treq.ready))
        with m.If(la["go"] & walk):
            m.d.comb += [self.treq.valid.eq(1), self.treq.payload.la.eq(1),
                         self.treq.payload.depths.eq(1 << (DEPTHS - 1))]
            with m.If(self.treq.ready):
                m.d.sync += la["fl"].eq(1)
        with m.If(self.tres.valid & res.la):
            m.d.sync += [la["fl"].eq(0), la["stale"].eq(0),
                         la["v"].eq(~la["stale"] & walk & ~la["take"]),
                         la["bits"].eq(res.bits[DEPTHS - 1]), la["hit"].eq(res.hit[DEPTHS - 1])]
        with m.If(~walk):
            m.d.sync += la["v"].eq(0)
            with m.If(la["fl"] & ~(self.tres.valid & res.la)):
                m.d.sync += la["stale"].eq(1)
        return walk

    def _la_next(self, m, r):
        """In L_REQ, when the next level is in the next leaf of depth 4 and the lookahead
        has read it: PICK_A, PICK and PICK2 at depth 4 in one step (the leaf's bits into
        `val`, its digit off depth 4's candidates and into cur), then PICK in the leaf."""
        la, cands, d4 = self._la, r["cands"], DEPTHS - 2
        take = ~r["leaf_left"] & r["c_any"][d4] & la["v"] & (la["pos"] == la["nx"])
        with m.If(take):
            c4 = cands[d4]
            m.d.sync += [r["cur_d"].eq(DEPTHS - 1), r["val"].eq(Mux(la["hit"], la["bits"], 0)),
                         c4.eq(c4 & (c4 - 1)), r["c_any"][d4].eq(two_set(c4)),
                         la["v"].eq(0), la["skip"].eq(1)]
            m.d.comb += self.cur_n.eq(Cat(Const(0, BITS[-1]), la["pos"],
                                          r["cur"][BITS[-1] + BITS[-2]:]))

    @staticmethod
    def _pick_a(m, r, cur_d, cands):
        """What PICK_A registers (L_REQ takes the same step when it goes on searching):
        the deepest depth with a digit left on the path, and its digits."""
        sel = Signal(range(DEPTHS))
        for d in range(DEPTHS):
            with m.If(r["c_any"][d]):
                m.d.comb += sel.eq(d)
        r["pick_a"] = [cur_d.eq(sel), r["val"].eq(cands[sel])]

    def _walk(self, m, r, cur_d, cands, reset_t, wait, gap):
        """From the deepest ancestor with a digit beyond the last key's, down the lowest
        set bits to a leaf: the next level's tree key in `cur`."""
        res = self.tres.payload
        with m.State("PICK_A"):
            m.d.sync += r["pick_a"]
            m.next = "PICK"
            self._early_result(m, r, reset_t, wait)
        la = self._la
        with m.State("DOWN"):           # (not while a lookahead probe is out: one result
            m.d.comb += [self.treq.valid.eq(~la["fl"]),          # at a time per depth)
                         self.treq.payload.depths.eq(Const(1, DEPTHS) << cur_d)]
            with m.If(self.treq.ready & ~la["fl"]):
                m.next = "DOWN_WAIT"
            self._early_result(m, r, reset_t, wait)
        with m.State("DOWN_WAIT"):
            with m.If(self.tres.valid & ~res.la & res.got.bit_select(cur_d, 1)):
                m.d.sync += r["val"].eq(Mux(res.hit.bit_select(cur_d, 1), res.bits[cur_d], 0))
                m.next = "PICK"
            self._early_result(m, r, reset_t, wait)
        with m.State("LA_WAIT"):        # the lookahead's read of this leaf comes
            with m.If(la["v"]):
                m.d.sync += [r["val"].eq(Mux(la["hit"], la["bits"], 0)), la["v"].eq(0)]
                m.next = "PICK"
            with m.Elif(self.tres.valid & res.la):     # taken as it arrives (`take`)
                m.d.comb += la["take"].eq(1)
                m.d.sync += r["val"].eq(Mux(res.hit[DEPTHS - 1], res.bits[DEPTHS - 1], 0))
                m.next = "PICK"
            self._early_result(m, r, reset_t, wait)
        with m.State("PICK"):
            found, pos = lowest_set(m, r["val"], "nb")
            # what is left beyond the pick at this depth: where the level after it is
            # (the next search starts here, without reading the ancestors again)
            m.d.sync += [r["pos"].eq(pos), cands[cur_d].eq(r["val"] & (r["val"] - 1)),
                         r["c_any"].bit_select(cur_d, 1).eq(two_set(r["val"]))]
            m.next = "PICK2"
            with m.If(~found):
                m.next = "FAIL"
            self._early_result(m, r, reset_t, wait)
        with m.State("PICK2"):
            m.d.comb += self.cur_n.eq(self._pick_tkey(m, r["cur"], cur_d, r["pos"]))
            with m.If(cur_d == DEPTHS - 1):
                m.next = "L_REQ"
                # the level's append follows its read: its gap sets out now (it reaches
                # the cache ~9 cycles later; asked again, the hold is longer, and one
                # window may take the appends of several levels)
                m.d.sync += gap.eq(GAP)
            with m.Else():
                m.d.sync += cur_d.eq(cur_d + 1)
                m.next = "DOWN"
                # the leaf was read ahead (`_lookahead`): no DOWN, no DOWN_WAIT
                mine = (cur_d == DEPTHS - 2) & (la["pos"] == r["pos"][:BITS[-1]])
                with m.If(mine & la["v"]):
                    m.d.sync += [r["val"].eq(Mux(la["hit"], la["bits"], 0)), la["v"].eq(0)]
                    m.next = "PICK"
                with m.Elif(mine & la["out"] & ~la["stale"]):
                    m.next = "LA_WAIT"
                with m.Elif(la["v"]):
                    m.d.sync += la["v"].eq(0)
            self._early_result(m, r, reset_t, wait)

    def _l_req(self, m, r, reset_t, wait):
        """The found level's read (into `fq`, while it has room), then the search goes
        on (PICK, or the lookahead's leaf), or, the job's last level found, DRAIN: the
        appends finish (`_appender`) and the last one's result ends the job or sends it
        back to the path's ancestors."""
        with m.State("L_REQ"):
            m.d.comb += self.lreq.valid.eq(r["nf"] != 2)
            with m.If(self.lreq.valid & self.lreq.ready):
                m.d.sync += r["need"].eq(r["need"] - 1)
                # PICK_A's step here: the path is ready (unless an urgent side waits)
                with m.If((r["need"] > 1) & ~r["yield"]):
                    m.d.sync += r["pick_a"]
                    self._la_next(m, r)         # or in the next leaf, read ahead
                    m.next = "PICK"
                with m.Else():
                    m.next = "DRAIN"
            self._early_result(m, r, reset_t, wait)
        with m.State("DRAIN"):
            # a result says more levels are wanted now (a drain takes cached levels
            # away while the job appends): the search goes on from its path, as L_REQ
            # would have (re-reading the ancestors cost ~20 cycles)
            with m.If((r["need"] != 0) & ~r["yield"]):
                m.next = "PICK_A"
            self._early_result(m, r, reset_t, wait, drain=True)
