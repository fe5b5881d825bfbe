"""MoldUDP64 packet checks and sequence status (rtl/rx/mold/; the sequencer's events
come from rtl/rx/merge/)."""
from ...regmap.dsl import Block, Field, Reg

BLOCK = Block("mold", "MoldUDP64: packet checks per port, sequence tracking and gaps.", (
    Reg("cmd", "strobe", "Command bits (write 1 to run).", width=1, fields=(
        Field("RESET", 0, "Forget the session and expected sequence number."),)),
    Reg("packets", "counter", "MoldUDP64 packets received (both feeds, before arbitration).",
        step=2),
    Reg("packets_a", "counter", "Packets received on feed A."),
    Reg("packets_b", "counter", "Packets received on feed B."),
    Reg("messages", "counter", "Messages forwarded to the ITCH decoder."),
    Reg("heartbeats", "counter", "Heartbeat packets (message count 0).", step=2),
    Reg("end_of_session", "counter", "End-of-session packets (message count 0xFFFF).", step=2),
    Reg("dup_packets", "counter", "Packets whose first message was already delivered "
        "(the trailing feed's copies, repeats).", step=3),
    Reg("dup_messages", "counter", "Messages discarded as already delivered.", step=3),
    Reg("gaps", "counter", "Gaps declared: sequence ranges lost on both feeds (hold window "
        "expired, or a confirmed jump)."),
    Reg("gap_messages", "counter", "Messages lost in gaps, in total.", step=64),
    Reg("short_packets", "counter", "UDP payloads shorter than the 20-byte MoldUDP64 header.",
        step=2),
    Reg("overruns", "counter", "Packets whose last block overran the payload (dropped from "
        "there).", step=2),
    Reg("bad_lengths", "counter", "Packets with a block shorter than 12 bytes or not its "
        "ITCH type's length (dropped from there).", step=2),
    Reg("session_mismatch", "counter", "Packets from a session other than the current one "
        "(dropped).", step=2),
    Reg("count_mismatch", "counter", "Packets whose message count disagrees with their "
        "blocks (blocks past the count dropped).", step=2),
    Reg("bad_forwarded", "counter", "Frames found bad at their end (FCS, UDP checksum, or "
        "shorter than their IPv4 length) after some of their messages were forwarded "
        "cut-through: the books are flagged stale and a snapshot is asked for "
        "(inject.state).", step=2),
    Reg("expected_seq", "status", "Next sequence number expected.", width=64),
    Reg("session_lo", "status", "Current session, bytes 2..9 (big-endian, last byte in bits 7:0).", width=64),
    Reg("session_hi", "status", "Current session, bytes 0..1 and whether one is established.",
        width=17, fields=(Field("SESSION", 0, "Session bytes 0..1.", width=16),
                          Field("ESTABLISHED", 16, "A session is established."))),
    Reg("last_gap_first", "status", "First missing sequence number of the most recent gap.", width=64),
    Reg("last_gap_len", "status", "Length in messages of the most recent gap.", width=64),
))
