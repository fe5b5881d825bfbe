"""Feed input/output tools: ITCH BinaryFILE, pcap/pcapng, MoldUDP64 framing and faults.

Pure Python, written from the public specs (Nasdaq TotalView-ITCH 5.0, MoldUDP64 1.00,
pcap/pcapng), independent of the gateware and of the reference models so a shared
misreading of a spec cannot hide in both.
"""
