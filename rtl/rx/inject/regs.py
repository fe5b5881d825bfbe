"""Host injection and recovery state (rtl/rx/inject/window.py, issue 14)."""
from ...regmap.dsl import Block, Field, Reg


#: Stale bitmap words: 256 book slots at most (the board build); one map for every
#: build, so bits past a build's slots read 0.
STALE_WORDS = 8

BLOCK = Block("inject", "Host injection of MoldUDP64 messages (gap fills, snapshot "
              "loads), gap reports and stale books.", (
    Reg("seq_hi", "strobe", "Stages bits 63:32 of the next injected sequence number."),
    Reg("seq_lo", "strobe", "Sets the next injected sequence number to {staged bits "
        "63:32, this word}; each sequenced commit adds 1."),
    Reg("data", "strobe", "The next 4 bytes of the message being assembled (first byte "
        "in bits 7:0); a commit starts the next message at byte 0."),
    Reg("commit", "strobe", "Hands the assembled message to the sequencer.", fields=(
        Field("LENGTH", 0, "Message length in bytes (the MoldUDP64 block length).",
              width=16),
        Field("FIRST", 16, "First message of its MoldUDP64 packet."),
        Field("SNAPSHOT", 17, "A snapshot message: delivered at once, unsequenced, "
              "with the staged sequence number (not incremented)."))),
    Reg("cmd", "strobe", "Recovery commands (write 1 to run).", width=3, fields=(
        Field("JOIN", 0, "Late join: expect the next injected sequence number; live "
              "messages below it are duplicates."),
        Field("SKIP", 1, "Give up the gap the sequencer waits on: declare it, move on."),
        Field("CLEAR_STALE", 2, "Recovery complete: clear every stale bit and "
              "SNAPSHOT_NEEDED."))),
    Reg("gap_wait", "control", "1: an expired hold window reports the gap and waits for "
        "the host to fill it (or SKIP); 0: the gap is declared at once.", width=1),
    Reg("state", "status", "Injection and recovery state.", width=4, fields=(
        Field("BUSY", 0, "A committed message waits for its turn (sequence number "
              "ahead of the expected one); the next commit would be dropped."),
        Field("WAITING", 1, "The sequencer waits for the host to fill a reported gap."),
        Field("STALE", 2, "Books are stale (a gap was reported, or a message lost or "
              "corrupted after sequencing, not yet cleared)."),
        Field("SNAPSHOT_NEEDED", 3, "A hold buffer overflowed while books were stale, "
              "a frame found bad at its end had forwarded messages (mold.bad_forwarded), "
              "or the book's input queue dropped a message (book.fifo_overflow): a fill "
              "cannot make the books exact, load a snapshot."))),
    Reg("next_seq", "status", "Sequence number the next sequenced commit carries.",
        width=64),
    Reg("gap_first", "status", "First missing sequence number of the latest gap report.",
        width=64),
    Reg("gap_count", "status", "Messages missing in the latest gap report.", width=64),
    Reg("gaps", "counter", "Gap reports (hold window expired or jump confirmed)."),
    Reg("messages", "counter", "Injected messages delivered (snapshot ones included)."),
    Reg("dup_messages", "counter", "Injected messages discarded as duplicates."),
    Reg("overruns", "counter", "Commits dropped because a message was still waiting."),
    Reg("stale_overflows", "counter", "Live messages lost to a full hold buffer while "
        "books were stale.", step=2),
    Reg("stale", "status", "Stale bitmap: bit s of word w is book slot 32w+s (every slot "
        "is marked on a gap; the host reads it against its subscriptions).",
        count=STALE_WORDS),
))
