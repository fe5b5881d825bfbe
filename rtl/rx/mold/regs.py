"""MoldUDP64 session tracking and A/B arbitration (rtl/rx/mold/)."""
from ...regmap.dsl import Block, Field, Reg

BLOCK = Block("mold", "MoldUDP64: sequence tracking, gaps and A/B arbitration.", (
    Reg("cmd", "strobe", "Command bits (write 1 to run).", width=1, fields=(
        Field("RESET", 0, "Forget the session and expected sequence number."),)),
    Reg("packets", "counter", "MoldUDP64 packets received (both feeds, before arbitration)."),
    Reg("packets_a", "counter", "Packets received on feed A."),
    Reg("packets_b", "counter", "Packets received on feed B."),
    Reg("messages", "counter", "Messages forwarded to the ITCH decoder."),
    Reg("heartbeats", "counter", "Heartbeat packets (message count 0)."),
    Reg("end_of_session", "counter", "End-of-session packets (message count 0xFFFF)."),
    Reg("dup_packets", "counter", "Packets whose every message was already delivered (A/B or repeat)."),
    Reg("dup_messages", "counter", "Messages dropped as already delivered."),
    Reg("gaps", "counter", "Packets (heartbeats and end-of-session included) whose first "
        "sequence number was ahead of the expected one."),
    Reg("gap_messages", "counter", "Messages skipped over by gaps, in total.", step=64),
    Reg("short_packets", "counter", "UDP payloads shorter than the 20-byte MoldUDP64 header."),
    Reg("overruns", "counter", "Message blocks whose length overran the packet end (partial message dropped)."),
    Reg("bad_lengths", "counter", "Message blocks shorter than the shortest ITCH message (rest dropped)."),
    Reg("session_mismatch", "counter", "Packets from a session other than the current one (dropped)."),
    Reg("expected_seq", "status", "Next sequence number expected.", width=64),
    Reg("session_lo", "status", "Current session, bytes 2..9 (big-endian, last byte in bits 7:0).", width=64),
    Reg("session_hi", "status", "Current session, bytes 0..1 and whether one is established.",
        width=17, fields=(Field("SESSION", 0, "Session bytes 0..1.", width=16),
                          Field("ESTABLISHED", 16, "A session is established."))),
    Reg("last_gap_first", "status", "First missing sequence number of the most recent gap.", width=64),
    Reg("last_gap_len", "status", "Length in messages of the most recent gap.", width=64),
))
