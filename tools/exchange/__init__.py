"""A test exchange on loopback: a MoldUDP64 request server and a GLIMPSE 5.0 server
over SoupBinTCP 4.0, both serving a recorded ITCH session, so gap recovery and late
join run end to end on one machine (docs/recovery.md)."""
